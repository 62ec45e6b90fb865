"""`synth records`: list, show and export the records in the store.

Not built yet: issue 4 fills this group in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

import typer

from synth.errors import NotYetAvailable

HELP = "List, show and export the records in the store. (Not available yet: issue 4.)\n\nExample: synth records list"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def records(ctx: typer.Context) -> None:
        raise NotYetAvailable("`synth records` is not available yet (issue #4). Nothing was changed.")

    app.add_typer(group, name="records")
