"""The root ``synth`` command: global options, the pipeline groups, and the one place where domain errors
become ``Error: ...`` lines with exit code 1.

:func:`main` registers only the group a command line names (importing every group costs ~50 ms, a tenth of
a small ``synth meta pool``); :mod:`synth.cli.app` holds the app with every group, for help, tests and docs."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from synth import __version__
from synth.cli.context import Context
from synth.errors import SynthError
from synth.secrets import redact_text

if TYPE_CHECKING:
    from typer._click import Context as ClickContext


class SynthGroup(TyperGroup):
    """Root group: lists commands in pipeline order and translates library errors once, for every command
    below it."""

    def list_commands(self, ctx: ClickContext) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(COMMANDS)}
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"synth {__version__}")
        raise typer.Exit()


COMMANDS = ("init", "protocol", "search", "import", "records", "dedup", "screen", "extract", "meta", "evidence",
            "prisma", "run", "team")
"""Each top-level command, registered by ``synth.cli.<name>_cmd.register``."""
GLOBAL_VALUE_OPTIONS = ("--workspace", "-w", "--protocol", "-p", "--db")


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
        str | None, typer.Option("--db", envvar="SYNTH_DB", show_envvar=True, help=(
            "Database URL, e.g. postgresql+psycopg://alice@db.example.org/review for a team server "
            "(default: sqlite:///.synth/<protocol>.sqlite)."))
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    ctx.obj = Context(workspace_opt=workspace, protocol_opt=protocol, db_opt=db, debug=debug)


def build(only: str | None = None) -> typer.Typer:
    """The ``synth`` app with every command, or with ``only`` that one."""
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
    app.callback()(root)
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(f"synth.cli.{name}_cmd").register(app)
    return app


def command_name(argv: list[str]) -> str | None:
    """The top-level command an argument list names (after the global options), if it is one of ours."""
    it = iter(argv)
    for token in it:
        if token in GLOBAL_VALUE_OPTIONS:
            next(it, None)
        elif not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def main() -> None:
    """Console-script entry point."""
    build(command_name(sys.argv[1:]))(prog_name="synth")
