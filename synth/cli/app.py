"""The root ``synth`` command: global options, the pipeline groups, and the one place where domain errors
become ``Error: ...`` lines with exit code 1."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from synth import __version__
from synth.cli import (
    dedup_cmd,
    evidence_cmd,
    extract_cmd,
    import_cmd,
    init_cmd,
    meta_cmd,
    prisma_cmd,
    protocol_cmd,
    records_cmd,
    run_cmd,
    screen_cmd,
    search_cmd,
)
from synth.cli.context import Context
from synth.errors import SynthError
from synth.secrets import redact_text

if TYPE_CHECKING:
    from typer._click import Context as ClickContext


class SynthGroup(TyperGroup):
    """Root group: lists commands in pipeline order and translates library errors once, for every command
    below it."""

    ORDER = ("init", "protocol", "search", "import", "records", "dedup", "screen", "extract", "meta", "evidence",
             "prisma", "run")

    def list_commands(self, ctx: ClickContext) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(self.ORDER)}
        return sorted(names, key=lambda n: rank.get(n, len(rank)))

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except SynthError as exc:
            if isinstance(ctx.obj, Context) and ctx.obj.debug:
                raise
            typer.echo(f"Error: {redact_text(str(exc))}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted. Everything saved so far is kept.", err=True)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except OSError as exc:  # the machine's files, not synth's logic: a folder that is read-only, full, absent
            if isinstance(ctx.obj, Context) and ctx.obj.debug:
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            typer.echo(f"Error: {redact_text(str(exc.strerror or exc))}{where}. Check that the folder exists, is writable and has "
                       "free space, then run again.", err=True)
            raise typer.Exit(1) from None
        except Exception as exc:
            if isinstance(ctx.obj, Context) and ctx.obj.debug:
                raise
            typer.echo(
                f"Error: internal error ({type(exc).__name__}: {redact_text(str(exc))}). This is a bug in synth; "
                "re-run with --debug for the traceback and report it.",
                err=True,
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=SynthGroup,
    name="synth",
    help="Systematic evidence synthesis: protocol → search/import → dedup → screen → extract → meta → PRISMA.\n\n"
    "Example: synth run",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"synth {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Review workspace folder (default: nearest folder upward holding protocols/)."),
    ] = None,
    protocol: Annotated[
        str | None, typer.Option("--protocol", "-p", help="Protocol name in protocols/ (default: the only one).")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: sqlite:///.synth/<protocol>.sqlite).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    ctx.obj = Context(workspace_opt=workspace, protocol_opt=protocol, db_opt=db, debug=debug)


init_cmd.register(app)
protocol_cmd.register(app)
search_cmd.register(app)
import_cmd.register(app)
records_cmd.register(app)
dedup_cmd.register(app)
screen_cmd.register(app)
extract_cmd.register(app)
meta_cmd.register(app)
evidence_cmd.register(app)
prisma_cmd.register(app)
run_cmd.register(app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="synth")
