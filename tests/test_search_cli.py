"""`synth search run|update|log` end to end on a workspace, against the loopback APIs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from search_server import FakeApis
from typer.testing import CliRunner

from synth.cli.app import app
from synth.protocol.templates import init_workspace

pytestmark = pytest.mark.corpus

runner = CliRunner()


@pytest.fixture
def apis(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch):
    server = FakeApis(corpus_dir, {"pubmed": 40, "europepmc": 60, "openalex": 30, "crossref": 70,
                                   "clinicaltrials": 50}).start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    for key in ("SYNTH_MAILTO", "SYNTH_NCBI_API_KEY", "SYNTH_OPENALEX_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    yield server
    server.stop()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    init_workspace(tmp_path / "review", "partnership-outcomes", "review")
    return tmp_path / "review"


def synth(ws: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--workspace", str(ws), *args])


def test_dry_run_prints_requests_and_hits_and_stores_nothing(apis: FakeApis, ws: Path) -> None:
    result = synth(ws, "search", "run", "--dry-run", "--source", "pubmed", "--source", "clinicaltrials")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"pubmed: POST {apis.base}/pubmed/esearch.fcgi  [form: db=pubmed&term=%28%28%22Delivery")
    assert lines[1] == "pubmed: 40 hits"
    assert lines[2].startswith(f"clinicaltrials: GET {apis.base}/ctgov/studies?query.term=")
    assert lines[3] == "clinicaltrials: 50 hits"
    log = synth(ws, "search", "log", "--format", "json")
    assert json.loads(log.stdout) == []


def test_run_then_log_then_update(apis: FakeApis, ws: Path) -> None:
    result = synth(ws, "search", "run", "--source", "clinicaltrials", "--source", "europepmc")
    assert result.exit_code == 0, result.output
    assert "clinicaltrials: complete: 50 of 50 records, 50 new, 0 already known" in result.stderr
    assert "europepmc: complete: 60 of 60 records, 60 new, 0 already known" in result.stderr
    log = json.loads(synth(ws, "search", "log", "--format", "json").stdout)
    assert [(r["source"], r["kind"], r["hits"], r["new"], r["status"]) for r in log] == [
        ("clinicaltrials", "register", 50, 50, "complete"), ("europepmc", "database", 60, 60, "complete")]
    assert log[0]["query"].startswith('("integrated care" OR "hospital at home"')
    md = synth(ws, "search", "log", "--format", "md").stdout
    assert md.startswith("## Search log (PRISMA-S)\n")
    again = synth(ws, "search", "run", "--source", "europepmc")
    assert "europepmc: complete - already searched; use `synth search update` to search again" in again.stderr
    apis.pool.sizes["europepmc"] = 65
    update = synth(ws, "search", "update", "--source", "europepmc")
    assert update.exit_code == 0, update.output
    assert "europepmc: complete: 65 of 65 records, 5 new, 60 already known" in update.stderr
    table = synth(ws, "search", "log").stdout
    assert re.findall(r"^│ (\d+) ", table, re.M) == ["1", "2", "3"]


def test_unknown_source_is_an_error(apis: FakeApis, ws: Path) -> None:
    result = synth(ws, "search", "run", "--source", "scopus")
    assert result.exit_code == 1
    assert result.stderr == ("Error: unknown source 'scopus'. Choose from: pubmed, europepmc, openalex, crossref, "
                             "clinicaltrials.\n")


def test_rejected_query_names_api_message_and_field_others_complete(apis: FakeApis, ws: Path) -> None:
    protocol = ws / "protocols" / "review.toml"
    text = protocol.read_text()
    protocol.write_text(re.sub(r"(\[sources\.pubmed\]\nquery = )'.*?'\n", r"\1'BADQUERY'\n", text, flags=re.S))
    result = synth(ws, "search", "run", "--source", "pubmed", "--source", "clinicaltrials")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: pubmed rejected the search: Invalid query: unbalanced parentheses. Query from protocol field "
        "sources.pubmed.query. Fix the query and run again. (the other sources completed)")
    log = json.loads(synth(ws, "search", "log", "--format", "json").stdout)
    assert [(r["source"], r["status"]) for r in log] == [("pubmed", "failed"), ("clinicaltrials", "complete")]


def test_cache_serves_a_repeated_search(apis: FakeApis, ws: Path) -> None:
    first = synth(ws, "search", "run", "--cache", "--source", "europepmc")
    assert first.exit_code == 0, first.output
    sent = len(apis.requests_to("europepmc"))
    update = synth(ws, "search", "update", "--cache", "--source", "europepmc")
    assert update.exit_code == 0, update.output
    assert "europepmc: complete: 60 of 60 records, 0 new, 60 already known" in update.stderr
    assert len(apis.requests_to("europepmc")) == sent
    assert any((ws / ".synth" / "search-cache").rglob("*.body"))
