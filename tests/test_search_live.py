"""Real calls to the public APIs (off by default: run with ``pytest -m live``). Each source is searched for a
handful of records with the production client (real rate limits, identification from SYNTH_MAILTO/keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synth.sources.base import Strategy
from synth.sources.runner import make_source, run_source
from synth.sources.session import make_client
from synth.store import open_store

QUERIES = {
    "pubmed": '"hospital at home"[tiab] AND randomized controlled trial[pt]',
    "europepmc": '"hospital at home" AND randomised',
    "openalex": '"hospital at home" randomised',
    "crossref": "hospital at home randomised trial",
    "clinicaltrials": '"hospital at home"',
}


@pytest.mark.live
@pytest.mark.parametrize("name", list(QUERIES))
def test_live_source_returns_records(name: str, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'live.sqlite'}")
    client = make_client()
    result = run_source(store, client, make_source(name, client.settings),
                        Strategy(name, QUERIES[name], max_records=5))
    assert result.hits and result.hits > 0
    assert result.retrieved == min(5, result.hits) and result.new == result.retrieved
