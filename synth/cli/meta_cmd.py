"""`synth meta`: effect sizes and random-effects meta-analysis, validated against metafor.

Not built yet: issue 3 fills this group in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

import typer

from synth.errors import NotYetAvailable

HELP = "Effect sizes and random-effects meta-analysis, validated against metafor. (Not available yet: issue 3.)\n\nExample: synth meta pool data.csv --measure OR"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def meta(ctx: typer.Context) -> None:
        raise NotYetAvailable("`synth meta` is not available yet (issue #3). Nothing was changed.")

    app.add_typer(group, name="meta")
