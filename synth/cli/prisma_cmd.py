"""`synth prisma`: pRISMA 2020 counts and flow diagram computed from the event log.

Not built yet: issue 9 fills this group in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

import typer

from synth.errors import NotYetAvailable

HELP = "PRISMA 2020 counts and flow diagram computed from the event log. (Not available yet: issue 9.)\n\nExample: synth prisma --format json"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def prisma(ctx: typer.Context) -> None:
        raise NotYetAvailable("`synth prisma` is not available yet (issue #9). Nothing was changed.")

    app.add_typer(group, name="prisma")
