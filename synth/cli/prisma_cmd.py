"""`synth prisma`: PRISMA 2020 counts and flow diagram computed from the store, and the PRISMA-S search report."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synth.cli.context import get
from synth.cli.output import emit_json, info
from synth.errors import InputError, WorkspaceError

if TYPE_CHECKING:
    from synth.cli.context import Context
    from synth.protocol.model import Protocol

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

HELP = ("PRISMA 2020 flow counts computed from the store (never typed), as JSON, the PRISMA2020 R package's CSV "
        "template, or the flow diagram (SVG/PNG). Accounting identities are checked; breaks are warned about "
        "with the numbers.\n\nExample: synth prisma --format svg -o prisma.svg")


class PrismaFormat(StrEnum):
    json = "json"
    csv = "csv"
    svg = "svg"
    png = "png"


def _protocol(c: Context) -> Protocol | None:
    try:
        return c.protocol
    except WorkspaceError:
        return None


def _warn(data: dict[str, Any]) -> None:
    for message in data.get("warnings", []):
        info(f"Warning: {message}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def prisma(
        ctx: typer.Context,
        fmt: Annotated[PrismaFormat, typer.Option("--format", "-f", help="json, csv (PRISMA2020 template), svg or png.")]
        = PrismaFormat.json,
        output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file (required for png).")]
        = None,
        previous_studies: Annotated[int | None, typer.Option("--previous-studies", min=0,
                                                             help="Updated review: studies in the previous version.")]
        = None,
        previous_reports: Annotated[int | None, typer.Option("--previous-reports", min=0,
                                                             help="Updated review: reports in the previous version.")]
        = None,
    ) -> None:
        """PRISMA 2020 counts and flow diagram.

        Example: synth prisma --format csv -o prisma.csv
        """
        if ctx.invoked_subcommand is not None:
            return
        from synth.prisma import prisma_from_store

        c = get(ctx)
        if fmt is PrismaFormat.png and output is None:
            raise InputError("--format png writes a binary file: give -o FILE (e.g. -o prisma.png).")
        data = prisma_from_store(c.store, _protocol(c), previous_studies=previous_studies,
                                 previous_reports=previous_reports)
        _warn(data)
        if fmt is PrismaFormat.json:
            if output is None:
                emit_json(data)
                return
            import json

            output.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        elif fmt is PrismaFormat.csv:
            from synth.prisma.csvtemplate import render_csv

            text = render_csv(data, meta_analysis=bool(data.get("total_studies_ma")))
            if output is None:
                typer.echo(text, nl=False)
                return
            output.write_text(text, encoding="utf-8")
        elif fmt is PrismaFormat.svg:
            from synth.prisma.diagram import render_svg

            svg = render_svg(data)
            if output is None:
                typer.echo(svg, nl=False)
                return
            output.write_text(svg, encoding="utf-8")
        else:
            from synth.prisma.diagram import render_png

            assert output is not None
            render_png(data, output)
        info(f"Wrote {output}")

    @group.command("search-report")
    def search_report(
        ctx: typer.Context,
        output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the Markdown to this file.")] = None,
    ) -> None:
        """PRISMA-S search report (16 items) written from the search log, imports and dedup events.

        Example: synth prisma search-report -o search-report.md
        """
        from synth.prisma import search_report_from_store

        c = get(ctx)
        text = search_report_from_store(c.store, _protocol(c))
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            info(f"Wrote {output}")

    app.add_typer(group, name="prisma")
