"""`synth screen`: screen records in the terminal, alone or in pairs, blinded.

Not built yet: issue 7 fills this group in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

import typer

from synth.errors import NotYetAvailable

HELP = "Screen records in the terminal, alone or in pairs, blinded. (Not available yet: issue 7.)\n\nExample: synth screen --reviewer alice"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def screen(ctx: typer.Context) -> None:
        raise NotYetAvailable("`synth screen` is not available yet (issue #7). Nothing was changed.")

    app.add_typer(group, name="screen")
