"""`synth extract`: extraction forms, double extraction and risk of bias.

Not built yet: issue 8 fills this group in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

import typer

from synth.errors import NotYetAvailable

HELP = "Extraction forms, double extraction and risk of bias. (Not available yet: issue 8.)\n\nExample: synth extract check"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def extract(ctx: typer.Context) -> None:
        raise NotYetAvailable("`synth extract` is not available yet (issue #8). Nothing was changed.")

    app.add_typer(group, name="extract")
