"""`synth dedup`: find duplicate records as reversible, explainable clusters.

Not built yet: issue 6 fills this group in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

import typer

from synth.errors import NotYetAvailable

HELP = "Find duplicate records as reversible, explainable clusters. (Not available yet: issue 6.)\n\nExample: synth dedup --format json"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def dedup(ctx: typer.Context) -> None:
        raise NotYetAvailable("`synth dedup` is not available yet (issue #6). Nothing was changed.")

    app.add_typer(group, name="dedup")
