"""`synth run` on a copy of the bundled flagship review: every stage real, offline, idempotent; the report
true to the extraction files and rendered in a real headless browser."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from flagship_helpers import copy_flagship
from typer.testing import CliRunner

from synth.cli.app import app

REPO = Path(__file__).resolve().parent.parent
NAME = "partnership-outcomes"
runner = CliRunner()


def _run(ws: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["-w", str(ws), "run", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def flagship(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    ws = copy_flagship(tmp_path_factory.mktemp("flagship"))
    first = _run(ws)
    second = _run(ws)
    return ws, first, second


def _stage(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in summary["stages"] if s["stage"] == name)


def _studies() -> list[str]:
    return sorted(p.stem for p in (REPO / "extractions" / NAME).glob("*.toml") if "." not in p.stem)


def _sectors() -> dict[str, Any]:
    import tomllib

    return {study: tomllib.loads((REPO / "extractions" / NAME / f"{study}.toml").read_text("utf-8")).get(
        "characteristics", {}).get("sectors") for study in _studies()}


def _single_sector() -> list[str]:
    """Studies whose extraction records the sectors involved without social care: the protocol's rule for its
    "Not a health and social care partnership" criterion excludes them at full text."""
    return [s for s, v in _sectors().items() if isinstance(v, list) and v and "social-care" not in v]


def test_every_stage_runs_offline(flagship: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, first, _ = flagship
    status = {s["stage"]: s["status"] for s in first["stages"]}
    assert status == {"protocol": "done", "store": "done", "search": "skipped", "import": "done", "dedup": "done",
                      "screening": "done", "eligibility": "done", "extraction": "done", "meta": "done", "prisma": "done",
                      "evidence": "done"}
    n = len(_studies())
    assert _stage(first, "import")["details"]["files"][0]["added"] == n
    assert _stage(first, "screening")["details"]["history"]["applied"] == 2 * n
    assert _stage(first, "extraction")["details"] == {"files": n, "reconciled": n, "problems": 0}
    # the one warning: studies whose extraction does not record the sectors cannot be assessed by the rule
    unclear = sum(1 for v in _sectors().values() if not (isinstance(v, list) and v))
    assert [w.split(":")[0] + ": " + w.split(": ")[1].split(" (")[0] for w in first["warnings"]] == [
        f"eligibility: {unclear} studies not assessable by the protocol's rules"]
    assert first["conclusion"]


def test_second_run_changes_nothing(flagship: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, first, second = flagship
    n = len(_studies())
    assert _stage(second, "store")["details"]["records"] == n
    assert _stage(second, "import")["details"]["files"][0] == {**_stage(first, "import")["details"]["files"][0],
                                                               "status": "already imported", "added": 0}
    assert _stage(second, "screening")["details"]["history"] == {
        **_stage(first, "screening")["details"]["history"], "applied": 0, "already": 2 * n}
    for name in ("dedup", "meta", "prisma", "evidence"):
        assert _stage(second, name)["message"] == _stage(first, name)["message"]


def test_outputs_written(flagship: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    ws, _, _ = flagship
    out = ws / "out" / NAME
    for name in ("report.html", "report.md", "evidence.json", "prisma.json", "prisma.csv", "prisma.svg",
                 "prisma.png", "search-report.md", "summary.json", "summary.md"):
        assert (out / name).stat().st_size > 100, name
    ev = json.loads((out / "evidence.json").read_text())
    pooled = [o["id"] for o in ev["outcomes"] if o["k"] >= 2]
    for oid in pooled:
        assert (out / "meta" / f"{oid}.json").is_file()
        svg = (out / "figures" / f"forest-{oid}.svg").read_text()
        assert svg.lstrip().startswith(("<?xml", "<svg"))
    assert (out / "prisma.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_prisma_counts_follow_the_bundled_history(flagship: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    ws, _, _ = flagship
    out = ws / "out" / NAME
    prisma = json.loads((out / "prisma.json").read_text())
    with (REPO / "data" / NAME / "citation-records.csv").open(encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    n = len(records)
    assert prisma["citations_results"] == n and prisma["database_results"] == 0
    assert prisma["other_sought_reports"] == prisma["other_assessed"] == n
    excluded = len(_single_sector())
    assert excluded > 0  # the bundle holds single-sector trials, and the protocol's rule finds them
    assert prisma["other_excluded"] == {"Not a health and social care partnership": excluded}
    assert prisma["total_studies"] == prisma["total_reports"] == n - excluded
    # nobody assessed the remaining inclusions against this protocol: the flow says so instead of hiding it
    assert prisma["adopted_inclusions"] == n - excluded
    assert prisma["warnings"] == [] and prisma["identity_checks"] == []
    ev = json.loads((out / "evidence.json").read_text())
    in_ma = {s["id"] for o in ev["outcomes"] if o["k"] >= 2 for s in o["studies"]}
    assert prisma["total_studies_ma"] == len(in_ma)
    rows = {r[0]: r for r in csv.reader((out / "prisma.csv").read_text().splitlines())}
    assert "citations_results" in str(rows)


@pytest.mark.sqlite_only  # needs the module's run store: the PostgreSQL pass gives each test a fresh database
def test_meta_outputs_match_synth_meta_outcome(flagship: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    """What the run wrote for an outcome is what `synth meta pool --outcome` gives, and what the report shows."""
    ws, _, _ = flagship
    out = ws / "out" / NAME
    ev = {o["id"]: o for o in json.loads((out / "evidence.json").read_text())["outcomes"]}
    for oid in ("mortality", "quality-of-life"):
        written = json.loads((out / "meta" / f"{oid}.json").read_text())
        result = runner.invoke(app, ["-w", str(ws), "meta", "pool", "--outcome", oid, "--format", "json"])
        assert result.exit_code == 0, result.output
        cli = json.loads(result.stdout)
        assert cli["estimate"] == pytest.approx(written["pool"]["estimate"], rel=1e-12)
        assert cli["k"] == written["pool"]["k"] == ev[oid]["k"]
        assert ev[oid]["estimate"] == pytest.approx(cli["estimate"], rel=1e-9)


def test_extraction_files_are_all_included(flagship: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    ws, _, _ = flagship
    result = runner.invoke(app, ["-w", str(ws), "extract", "check", "--format", "json"])
    assert result.exit_code == 0, result.output
    # the check against full-text inclusion ran: every study's record was included via the adopted history
    history = list(csv.DictReader((REPO / "data" / NAME / "screening-history.csv").open(encoding="utf-8")))
    assert {r["record"] for r in history if r["stage"] == "full-text"} == set(_studies())


def test_report_renders_in_headless_chromium(flagship: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    browser = next((p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None)
    if browser is None:
        pytest.skip("no chromium installed: `apt-get install -y chromium` to run the browser check")
    ws, _, _ = flagship
    out = ws / "out" / NAME
    from synth.report.render import figure_ids

    ids = figure_ids(json.loads((out / "evidence.json").read_text()))
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                           "--dump-dom", (out / "report.html").as_uri()],
                          capture_output=True, text=True, timeout=180, check=False)
    dom = proc.stdout
    assert "<body" in dom, proc.stderr[-2000:]
    rendered = {m for m in re.findall(r'<figure data-figure="([^"]+)"[^>]*data-rendered="yes"', dom)}
    assert rendered == set(ids), f"not rendered: {set(ids) - rendered}"
    assert "prisma" in rendered and any(i.startswith("forest-") for i in ids)


def test_protocol_declares_the_bundled_file() -> None:
    protocol = tomllib.loads((REPO / "protocols" / f"{NAME}.toml").read_text(encoding="utf-8"))
    paths = [f["path"] for f in protocol["sources"]["files"]]
    assert paths == [f"data/{NAME}/citation-records.csv"]
    assert all((REPO / p).is_file() for p in paths)


def test_missing_declared_file_is_one_clear_error(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    (ws / "data" / NAME / "citation-records.csv").unlink()
    result = runner.invoke(app, ["-w", str(ws), "run"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"Error: {NAME}.toml: sources.files path 'data/{NAME}/citation-records.csv' does not exist")


@pytest.mark.corpus
def test_online_run_searches_every_source_then_reports(tmp_path: Path, corpus_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`synth run --online` against the loopback APIs: every configured source searched once, the new records
    deduplicated and waiting for title/abstract screening, and PRISMA counting them per database."""
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    from search_server import FakeApis

    sizes = {"pubmed": 40, "europepmc": 60, "openalex": 30, "crossref": 70, "clinicaltrials": 50}
    server = FakeApis(corpus_dir, sizes).start()
    try:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        ws = copy_flagship(tmp_path / "ws")
        result = runner.invoke(app, ["-w", str(ws), "run", "--online", "--format", "json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        search = _stage(summary, "search")
        assert search["status"] == "done" and search["details"]["errors"] == []
        assert {r["source"]: r["retrieved"] for r in search["details"]["runs"]} == sizes
        again = json.loads(runner.invoke(app, ["-w", str(ws), "run", "--online", "--format", "json"]).stdout)
        assert sum(r["new"] for r in _stage(again, "search")["details"]["runs"]) == 0  # searched once, not twice
    finally:
        server.stop()
    prisma = json.loads((ws / "out" / NAME / "prisma.json").read_text())
    assert prisma["register_results"] == sizes["clinicaltrials"]
    assert sum(prisma["database_specific_results"].values()) == sum(sizes.values()) - sizes["clinicaltrials"]
    dedup = _stage(summary, "dedup")["details"]
    assert dedup["records"] == sum(sizes.values()) + len(_studies())
    assert prisma["duplicates"] == dedup["duplicates"]
    ta = next(s for s in _stage(summary, "screening")["details"]["stages"] if s["stage"] == "title-abstract")
    assert ta["pending"] == dedup["clusters"] - len(_studies()) and ta["included"] == len(_studies())
    assert prisma["total_studies"] == len(_studies()) - len(_single_sector())
    # screening of the searched records has not started: the one identity that cannot hold yet says why
    (check,) = prisma["identity_checks"]
    assert check["rule"] == "screened" and check["right"] - check["left"] == prisma["pending"]["records_not_screened"]
    assert prisma["pending"]["records_not_screened"] == ta["pending"]


def test_online_run_without_network_uses_what_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on the API addresses: the first source fails after its retries (real sockets, real
    backoff), the others are not tried, and the run still writes the full report from the bundled data."""
    import socket

    with socket.socket() as sock:  # a loopback port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for var in ("SYNTH_PUBMED_URL", "SYNTH_EUROPEPMC_URL", "SYNTH_OPENALEX_URL", "SYNTH_CROSSREF_URL",
                "SYNTH_CTGOV_URL"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{port}/api")
    ws = copy_flagship(tmp_path / "ws")
    result = runner.invoke(app, ["-w", str(ws), "run", "--online", "--format", "json"])
    assert result.exit_code == 1, result.output  # a stage the user asked for failed: said, after writing it all
    assert [line for line in result.stderr.splitlines() if line.startswith("Error:")] == [
        "Error: the search stage failed (0 source(s) searched, 0 new records; 1 failed (network unreachable: stored "
        "records used); see the warnings); the results were written from what is stored. Fix the cause above and "
        "run again."]
    assert "pubmed: ConnectionError" in result.stderr and "retry 2 of 6 in" in result.stderr  # waits are shown
    summary = json.loads(result.stdout)
    search = _stage(summary, "search")
    assert search["status"] == "failed" and search["details"]["runs"] == []
    assert search["details"]["not_reached"] == ["pubmed", "europepmc", "openalex", "crossref", "clinicaltrials"]
    assert len(search["details"]["errors"]) == 1 and "failed after 6 attempts" in search["details"]["errors"][0]
    assert any(w.startswith("no network: europepmc, openalex, crossref, clinicaltrials not searched")
               for w in summary["warnings"])
    assert _stage(summary, "evidence")["status"] == "done" and (ws / "out" / NAME / "report.html").is_file()
