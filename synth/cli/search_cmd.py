"""`synth search`: search PubMed, Europe PMC, OpenAlex, Crossref and ClinicalTrials.gov for the protocol's strategies.

Not built yet: issue 5 fills this group in. Until then it says so and exits 1, never pretending to work.
"""

from __future__ import annotations

import typer

from synth.errors import NotYetAvailable

HELP = "Search PubMed, Europe PMC, OpenAlex, Crossref and ClinicalTrials.gov for the protocol's strategies. (Not available yet: issue 5.)\n\nExample: synth search run --source pubmed"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def search(ctx: typer.Context) -> None:
        raise NotYetAvailable("`synth search` is not available yet (issue #5). Nothing was changed.")

    app.add_typer(group, name="search")
