"""`synth protocol`: validate, show and export the review protocol."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from synth.cli import context
from synth.cli.output import emit_json, info

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.


class ShowFormat(StrEnum):
    md = "md"
    json = "json"


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Validate, show and export the review protocol (protocols/<name>.toml).\n\nExample: synth protocol validate",
        no_args_is_help=True,
    )

    @group.command("validate")
    def validate(ctx: typer.Context) -> None:
        """Check the protocol and report every problem at once, each with its TOML path and a fix.

        Example: synth protocol validate
        """
        from synth.protocol.load import placeholders, read_toml
        from synth.wording import agree, count

        c = context.get(ctx)
        p = c.protocol
        apis = len(p.sources.api_sources()) + len(p.sources.files)
        todo = placeholders(read_toml(c.protocol_path))
        counts = (f"{len(p.criteria)} criteria, {len(p.domains)} outcome domains, {len(p.outcomes)} outcomes, "
                  f"{apis} sources, {len(p.amendments)} amendments")
        if todo:  # well-formed, but not yet a protocol anyone could follow
            shown = ", ".join(todo[:6]) + (f" and {len(todo) - 6} more" if len(todo) > 6 else "")
            typer.echo(f"{c.protocol_path}: well-formed ({counts}), but not ready: {count(len(todo), 'field')} still "
                       f"{agree(len(todo), 'says', 'say')} TODO ({shown}). Write them in before searching.")
            typer.echo(f"Warning: {count(len(todo), 'TODO placeholder')} in the protocol.", err=True)
            return
        typer.echo(f"{c.protocol_path}: valid ({counts}).")

    @group.command("show")
    def show(
        ctx: typer.Context,
        fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="md (readable) or json.")] = ShowFormat.md,
    ) -> None:
        """Render the protocol: readable Markdown, or the validated data as JSON.

        Example: synth protocol show --format json
        """
        p = context.get(ctx).protocol
        if fmt is ShowFormat.json:
            emit_json(p.model_dump(mode="json"))
        else:
            from synth.protocol.export import to_markdown

            typer.echo(to_markdown(p))

    @group.command("export")
    def export(
        ctx: typer.Context,
        fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="md: PROSPERO-style registration text.")] = ShowFormat.md,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    ) -> None:
        """Write the PROSPERO-style registration text of the protocol.

        Example: synth protocol export --format md -o registration.md
        """
        import json

        from synth.protocol.export import to_markdown

        p = context.get(ctx).protocol
        text = to_markdown(p) if fmt is ShowFormat.md else json.dumps(p.model_dump(mode="json"), indent=2)
        if output is None:
            typer.echo(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
            info(f"wrote {output}")

    app.add_typer(group, name="protocol")
