"""`synth evidence`: the evidence-maturity report, outcome by outcome.

Not built yet: issue 9 fills this group in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

import typer

from synth.errors import NotYetAvailable

HELP = "The evidence-maturity report, outcome by outcome. (Not available yet: issue 9.)\n\nExample: synth evidence --format html -o out/"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def evidence(ctx: typer.Context) -> None:
        raise NotYetAvailable("`synth evidence` is not available yet (issue #9). Nothing was changed.")

    app.add_typer(group, name="evidence")
