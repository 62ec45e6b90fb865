"""`synth evidence`: the evidence-maturity report, outcome by outcome, and for the whole review."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from synth.cli.context import get
from synth.cli.output import info

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

HELP = ("The evidence-maturity report: per outcome, studies, participants, designs, risk of bias, pooled effect with "
        "CI and prediction interval, power, information size, cumulative analysis and GRADE-style certainty with "
        "every downgrade's rule and numbers; then the evidence-gap map and a plain-language conclusion.\n\n"
        "Example: synth evidence --format html -o out/")


class EvidenceFormat(StrEnum):
    html = "html"
    md = "md"
    json = "json"


FILE_NAMES = {"html": "report.html", "md": "report.md", "json": "evidence.json"}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def evidence(
        ctx: typer.Context,
        fmt: Annotated[EvidenceFormat, typer.Option("--format", "-f", help="html (self-contained, figures embedded), md or json.")]
        = EvidenceFormat.html,
        out_dir: Annotated[Path | None, typer.Option("-o", "--output", help="Write report.html / report.md / "
                                                     "evidence.json into this folder instead of stdout.")] = None,
        prisma: Annotated[bool, typer.Option("--prisma/--no-prisma", help="Include the PRISMA flow from the store.")]
        = True,
    ) -> None:
        """Write the evidence-maturity report.

        Example: synth evidence --format json -o out/partnership-outcomes
        """
        if ctx.invoked_subcommand is not None:
            return
        from synth.report.outputs import evidence_report, outcome_forests
        from synth.report.render import figure_svgs, to_html, to_markdown

        c = get(ctx)
        info(f"Assessing {len(c.protocol.outcomes)} outcomes of {c.protocol_name} ...")
        ev = evidence_report(c.workspace, c.protocol, c.protocol_name, c.store if prisma else c.existing_store(),
                             prisma=prisma)
        for note in ev.get("notes", []):
            info(f"Note: {note}")
        if fmt is EvidenceFormat.json:
            import json

            text = json.dumps(ev, indent=2, ensure_ascii=False, default=str) + "\n"
        elif fmt is EvidenceFormat.md:
            text = to_markdown(ev)
        else:
            text = to_html(ev, figure_svgs(ev, outcome_forests(c.workspace, c.protocol, c.protocol_name, ev)))
        if out_dir is None:
            typer.echo(text, nl=False)
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / FILE_NAMES[fmt.value]
        path.write_text(text, encoding="utf-8")
        info(f"Wrote {path}")
        info(ev["conclusion"]["text"])

    app.add_typer(group, name="evidence")
