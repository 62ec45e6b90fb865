"""Resumable runs into the store: every injected fault ends in a complete, correct result or a clear error with
the run resumable; none loses or duplicates a record. Also updates, record limits and the PRISMA-S log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from search_server import FakeApis, fast_client

from synth.sources import searchlog
from synth.sources.base import Strategy
from synth.sources.errors import MalformedResponse, NetworkError
from synth.sources.runner import make_source, run_source
from synth.store import open_store, searches
from synth.store.events import EventKind, read
from synth.store.schema import records

pytestmark = pytest.mark.corpus

SIZES = {"pubmed": 120, "europepmc": 230, "openalex": 230, "crossref": 230, "clinicaltrials": 150}
PAGE = {"pubmed": ("batch", 50), "europepmc": ("page_size", 100), "openalex": ("per_page", 50),
        "crossref": ("rows", 100), "clinicaltrials": ("page_size", 100)}


@pytest.fixture
def apis(corpus_dir: Path):
    server = FakeApis(corpus_dir, SIZES).start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'review.sqlite'}")
    yield s
    s.close()


def stored_ids(store: Any, label: str) -> list[str]:
    with store.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(records.c.source_record_id).where(records.c.source == label))]


def expected_ids(apis: FakeApis, name: str) -> set[str]:
    n = apis.pool.sizes[name]
    make = {"pubmed": lambda i: str(40000000 + i), "europepmc": lambda i: f"MED:{50000000 + i}",
            "openalex": lambda i: f"W{900000000 + i}", "crossref": lambda i: f"10.9999/cr.{i}",
            "clinicaltrials": lambda i: f"NCT9{i:07d}"}[name]
    return {make(i) for i in range(n)}


LABELS = {"pubmed": "PubMed", "europepmc": "Europe PMC", "openalex": "OpenAlex", "crossref": "Crossref",
          "clinicaltrials": "ClinicalTrials.gov"}


def run(store: Any, client: Any, name: str, **kw: Any) -> Any:
    strategy = Strategy(name, "integrated care", max_records=kw.pop("max_records", None))
    source = make_source(name, client.settings)
    setattr(source, *PAGE[name])  # small pages keep the tests fast; real sizes are tested elsewhere
    return run_source(store, client, source, strategy, **kw)


def assert_complete(store: Any, apis: FakeApis, name: str, result: Any) -> None:
    ids = stored_ids(store, LABELS[name])
    assert result.status == "complete"
    assert len(ids) == len(set(ids)), "duplicates stored"
    assert set(ids) == expected_ids(apis, name), "records lost"
    assert result.retrieved == result.hits == apis.pool.sizes[name]


@pytest.mark.parametrize(("name", "kind", "options"), [
    ("pubmed", "429", {"retry_after": 0.2}),
    ("pubmed", "html", {"path": "efetch"}),
    ("pubmed", "ncbi_error", {"path": "efetch", "at": 3}),
    ("pubmed", "expire", {"at": 3}),
    ("europepmc", "500", {"at": 2, "times": 2}),
    ("europepmc", "cut", {"at": 2}),
    ("openalex", "truncate", {"at": 2}),
    ("crossref", "expire", {"at": 2}),
    ("crossref", "html", {"at": 3}),
    ("crossref", "500", {"at": 2}),
    ("clinicaltrials", "slow", {"at": 2, "seconds": 1.0}),
])
def test_fault_ends_in_complete_result(apis: FakeApis, store: Any, name: str, kind: str, options: dict[str, Any]) -> None:
    client = fast_client(apis, timeout=(1.0, 0.4) if kind == "slow" else (2.0, 5.0))
    apis.fault(name, kind, **options)
    result = run(store, client, name)
    assert_complete(store, apis, name, result)
    assert all(f.times == 0 for f in apis.faults), "the fault never fired"


def test_network_outage_leaves_resumable_run(apis: FakeApis, store: Any) -> None:
    client = fast_client(apis)
    apis.fault("crossref", "500", at=2, times=1000)
    with pytest.raises(NetworkError, match="resumes from its last completed page"):
        run(store, client, "crossref")
    with store.connect() as conn:
        (row,) = searches.list_runs(conn)
    assert (row["status"], row["pages"], row["retrieved"]) == ("failed", 1, 100)
    assert "HTTP 500" in row["error"]
    apis.faults.clear()
    result = run(store, client, "crossref")
    assert result.resumed and result.run_id == row["id"]
    assert_complete(store, apis, "crossref", result)
    first_pages = [q for _, _, q, _ in apis.requests_to("crossref") if q.get("cursor") == "*"]
    assert len(first_pages) == 1, "the resumed run started again from the first page"


def test_ctrl_c_then_resume(apis: FakeApis, store: Any) -> None:
    client = fast_client(apis)

    def interrupt(source: str, retrieved: int, hits: int | None) -> None:
        if retrieved >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(store, client, "europepmc", progress=interrupt)
    with store.connect() as conn:
        (row,) = searches.list_runs(conn)
    assert row["status"] == "interrupted" and row["retrieved"] == 100
    result = run(store, client, "europepmc")
    assert result.resumed
    assert_complete(store, apis, "europepmc", result)


def test_persistent_malformed_page_stops_with_position_and_nothing_half_stored(apis: FakeApis, store: Any) -> None:
    client = fast_client(apis)
    apis.fault("europepmc", "html", at=2, times=100)
    with pytest.raises(MalformedResponse) as err:
        run(store, client, "europepmc")
    message = str(err.value)
    assert message.startswith("europepmc: page at cursorMark ")
    assert "returned an HTML page instead of JSON at byte 0 of " in message
    assert message.endswith("Nothing from this page was stored; run `synth search run` again to resume from this page.")
    assert len(stored_ids(store, "Europe PMC")) == 100
    apis.faults.clear()
    assert_complete(store, apis, "europepmc", run(store, client, "europepmc"))


def test_max_records_limits_exactly(apis: FakeApis, store: Any) -> None:
    client = fast_client(apis)
    result = run(store, client, "pubmed", max_records=73)
    assert (result.status, result.retrieved, result.new) == ("limited", 73, 73)
    assert len(stored_ids(store, "PubMed")) == 73


def test_update_adds_only_new_records_and_run_is_not_repeated(apis: FakeApis, store: Any) -> None:
    client = fast_client(apis)
    first = run(store, client, "clinicaltrials")
    again = run(store, client, "clinicaltrials")
    assert again.skipped and again.run_id == first.run_id
    apis.pool.sizes["clinicaltrials"] = 175
    update = run(store, client, "clinicaltrials", mode="update")
    assert (update.status, update.hits, update.retrieved, update.new, update.known) == ("complete", 175, 175, 25, 150)
    assert_complete(store, apis, "clinicaltrials", update)
    with store.connect() as conn:
        kinds = set(conn.execute(sa.select(records.c.source_kind).distinct()).scalars())
        events = read(conn, EventKind.SEARCH_RUN)
    assert kinds == {"register"}
    assert [(e["payload"]["mode"], e["payload"]["new"]) for e in events] == [("run", 150), ("update", 25)]


def test_same_work_in_two_sources_is_linked(apis: FakeApis, store: Any) -> None:
    apis.pool.share_dois = True
    client = fast_client(apis)
    run(store, client, "crossref")
    result = run(store, client, "openalex")
    with store.connect() as conn:
        runs = searches.list_runs(conn)
    assert result.new == 230 and runs[1]["linked"] == 230 and runs[0]["linked"] == 0


def test_search_log_redacts_secrets(apis: FakeApis, store: Any, tmp_path: Path) -> None:
    client = fast_client(apis, env={"SYNTH_OPENALEX_API_KEY": "sekret-key", "SYNTH_MAILTO": "me@x.org"})
    run(store, client, "openalex")
    run(store, client, "clinicaltrials", max_records=10)
    with store.connect() as conn:
        runs = searches.list_runs(conn)
        pages = searches.pages(conn, runs[0]["id"])
    assert runs[0]["params"]["api_key"] == "***" and runs[0]["params"]["mailto"] == "***"
    assert pages[0]["requests"][0]["params"]["api_key"] == "***"
    assert b"sekret-key" not in (tmp_path / "review.sqlite").read_bytes()
    rows = searchlog.rows(runs)
    assert [(r["database"], r["kind"], r["hits"], r["retrieved"], r["status"]) for r in rows] == [
        ("OpenAlex", "database", 230, 230, "complete"), ("ClinicalTrials.gov", "register", 150, 10, "limited")]
    assert rows[1]["limits"] == "first 10 records only"
    md = searchlog.markdown(runs)
    assert "| ClinicalTrials.gov (register) |" in md and "```text\nintegrated care\n```" in md
    assert "sekret-key" not in md


def test_resumed_crossref_run_with_stale_cursor_restarts_without_duplicates(apis: FakeApis, store: Any) -> None:
    from synth.sources.crossref import Crossref

    now = [1000.0]
    client = fast_client(apis)
    source = Crossref(client.settings, rows=100, clock=lambda: now[0])
    strategy = Strategy("crossref", "integrated care")
    apis.fault("crossref", "500", at=2, times=1000)
    with pytest.raises(NetworkError):
        run_source(store, client, source, strategy)
    apis.faults.clear()
    now[0] += 600  # Crossref has long forgotten the stored cursor
    result = run_source(store, client, source, strategy)
    assert result.resumed
    assert_complete(store, apis, "crossref", result)
    starts = [q for _, _, q, _ in apis.requests_to("crossref") if q.get("cursor") == "*"]
    assert len(starts) == 2  # first run, then the restart; the stale cursor was never sent
    with store.connect() as conn:
        (row,) = searches.list_runs(conn)
    assert (row["new"], row["known"]) == (230, 0)
