"""`synth import FILE...`: import bibliographic exports into the store.

Not built yet: issue 4 fills this command in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synth.errors import NotYetAvailable


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_(files: Annotated[list[Path], typer.Argument(help="Export files to import.")]) -> None:
        """Import bibliographic export files (RIS, MEDLINE, BibTeX, ...). (Not available yet: issue 4.)

        Example: synth import scopus.ris --source Scopus
        """
        raise NotYetAvailable("`synth import` is not available yet (issue #4). Nothing was imported.")
