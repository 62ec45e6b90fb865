"""PRISMA counts gathered from a real store: records, dedup, screening decisions, full text; CLI; corpus review."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from synth.cli.app import app
from synth.prisma import prisma_from_store, search_report_from_store, write_outputs
from synth.records.model import Provenance, Record
from synth.store import open_store
from synth.store import screening as sstore
from synth.store.records import insert_records
from synth.store.schema import records

runner = CliRunner()


def _rec(i: int, source: str) -> Record:
    return Record(title=f"Trial {i} of integrated care", year=2000 + i % 20, doi=f"10.1/x{i}",
                  provenance=Provenance(source=source))


def _build(tmp_path: Path) -> str:
    """60 PubMed + 40 Embase records (20 cross-database duplicates), 3 register records, 2 from citations."""
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    store = open_store(url)
    with store.begin() as conn:
        insert_records(conn, [_rec(i, "PubMed") for i in range(60)], source_kind="database")
        insert_records(conn, [_rec(i, "Embase") for i in range(40, 80)], source_kind="database")
        insert_records(conn, [_rec(i, "ClinicalTrials.gov") for i in range(200, 203)], source_kind="register")
        insert_records(conn, [_rec(i, "Reference lists") for i in range(300, 302)], source_kind="citation")
        rows = list(conn.execute(sa.select(records.c.id, records.c.doi).order_by(records.c.id)))
        first: dict[str, int] = {}
        for rid, doi in rows:
            if doi in first:
                conn.execute(records.update().where(records.c.id == rid).values(duplicate_of=first[doi],
                                                                                cluster_id=first[doi]))
            else:
                first[doi] = rid
                conn.execute(records.update().where(records.c.id == rid).values(cluster_id=rid))
    reps = sorted(first.values())
    dbr = reps[:83]  # 60 + 20 new Embase + 3 register = 83 unique in the databases/registers column
    other = reps[83:]
    assert len(other) == 2
    with store.begin() as conn:
        for n, rid in enumerate(dbr):
            for reviewer in ("ann", "bob"):
                if n < 60:
                    sstore.record_decision(conn, record_id=rid, stage="title-abstract", reviewer=reviewer,
                                           decision="exclude", reason="population")
                elif n < 70:
                    sstore.record_decision(conn, record_id=rid, stage="title-abstract", reviewer=reviewer,
                                           decision="include")
        # 10 left undecided (n 70..79) plus 3 with one reviewer only -> pending; then a stopping rule fires.
        for rid in dbr[80:83]:
            sstore.record_decision(conn, record_id=rid, stage="title-abstract", reviewer="ann", decision="exclude")
        included_ta = dbr[60:70]
        sstore.set_retrieval(conn, included_ta[0], status="not-retrieved", reason="no library access")
        for rid in included_ta[1:]:
            sstore.set_retrieval(conn, rid, status="retrieved", location=f"pdf/{rid}.pdf")
        for k, rid in enumerate(included_ta[1:]):
            for reviewer in ("ann", "bob"):
                if k < 3:
                    sstore.record_decision(conn, record_id=rid, stage="full-text", reviewer=reviewer,
                                           decision="exclude", reason="design")
                elif k < 4:
                    sstore.record_decision(conn, record_id=rid, stage="full-text", reviewer=reviewer,
                                           decision="exclude", reason="outcome")
                else:
                    sstore.record_decision(conn, record_id=rid, stage="full-text", reviewer=reviewer,
                                           decision="include")
        # Two included reports of one study.
        sstore.link_report(conn, included_ta[-1], included_ta[-2])
        for rid in other:
            sstore.set_retrieval(conn, rid, status="retrieved", location=f"pdf/{rid}.pdf")
            for reviewer in ("ann", "bob"):
                sstore.record_decision(conn, record_id=rid, stage="full-text", reviewer=reviewer, decision="include")
    return url


def _protocol():  # type: ignore[no-untyped-def]
    from synth.protocol import load_protocol

    return load_protocol(Path(__file__).resolve().parent.parent / "protocols" / "partnership-outcomes.toml")


def test_counts_from_store_before_stopping(tmp_path: Path) -> None:
    url = _build(tmp_path)
    data = prisma_from_store(open_store(url), _protocol())  # two reviewers per record, as the protocol says
    assert data["database_specific_results"] == {"PubMed": 60, "Embase": 40}
    assert data["register_results"] == 3
    assert data["citations_results"] == 2
    assert data["duplicates"] == 20
    assert data["records_screened"] == 70
    assert data["records_excluded"] == 60
    assert data["pending"]["records_not_screened"] == 13
    assert data["dbr_sought_reports"] == 10
    assert data["dbr_notretrieved_reports"] == 1
    assert data["dbr_assessed"] == 9
    assert data["dbr_excluded"] == {"Ineligible study design": 3, "No eligible outcome": 1}
    assert data["other_sought_reports"] == 2 and data["other_assessed"] == 2
    assert data["new_reports"] == 5 + 2
    assert data["new_studies"] == 4 + 2
    assert any("13 unique records not yet screened" in w for w in data["warnings"])


def test_stopping_rule_turns_unscreened_into_automation_exclusions(tmp_path: Path) -> None:
    url = _build(tmp_path)
    store = open_store(url)
    with store.begin() as conn:
        sstore.record_stop(conn, stage="title-abstract", reviewer="ann", rule="hypergeometric",
                           params={"recall": 0.95}, result={"stop": True})
    data = prisma_from_store(store, _protocol())
    # The 10 records nobody screened are excluded by automation; the 3 with one of two reviews stay pending.
    assert data["records_excluded_detail"] == {"human": 60, "automation": 10}
    assert data["records_screened"] == 80
    assert data["pending"]["records_not_screened"] == 3
    assert [w["rule"] for w in data["identity_checks"]] == ["screened"]
    assert any("10 records nobody screened count as excluded by automation tools" in w for w in data["warnings"])


def test_without_protocol_one_reviewer_suffices_and_reasons_are_ids(tmp_path: Path) -> None:
    data = prisma_from_store(open_store(_build(tmp_path)))
    assert data["records_screened"] == 73
    assert data["records_excluded"] == 63
    assert data["dbr_excluded"] == {"design": 3, "outcome": 1}


def test_write_outputs_and_search_report(tmp_path: Path) -> None:
    url = _build(tmp_path)
    store = open_store(url)
    data = prisma_from_store(store, _protocol())
    paths = write_outputs(data, tmp_path / "out", png=False)
    assert json.loads(paths["json"].read_text())["records_screened"] == 70
    rows = {r["data"]: r["n"] for r in csv.DictReader(paths["csv"].open())}
    assert rows["database_specific_results"] == "PubMed, 60; Embase, 40"
    assert paths["svg"].read_text().startswith("<svg")
    text = search_report_from_store(store)
    assert "**Item 15 – Total records.**" in text
    assert "| PubMed | 60 |" in text


def test_cli_prisma_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _build(tmp_path)
    monkeypatch.chdir(tmp_path)  # no workspace here: no protocol, one reviewer per record suffices
    result = runner.invoke(app, ["--db", url, "prisma", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["duplicates"] == 20
    assert ("Warning: records_screened (73) != identified 103 - duplicates 20 - automation 0 - other 0 = 83 "
            "(10 unique records not yet screened).") in result.stderr
    result = runner.invoke(app, ["--db", url, "prisma", "--format", "csv"])
    assert result.exit_code == 0
    assert next(iter(csv.reader(io.StringIO(result.stdout))))[0] == "data"
    out = tmp_path / "p.svg"
    result = runner.invoke(app, ["--db", url, "prisma", "--format", "svg", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("<svg")
    result = runner.invoke(app, ["--db", url, "prisma", "--format", "png"])
    assert result.exit_code == 1
    assert result.output.strip().endswith("Error: --format png writes a binary file: give -o FILE (e.g. -o prisma.png).")
    result = runner.invoke(app, ["--db", url, "prisma", "search-report"])
    assert result.exit_code == 0 and "# PRISMA-S search report" in result.stdout


@pytest.mark.corpus
def test_corpus_review_identities_hold(tmp_path: Path, corpus_dir: Path) -> None:
    """Several real database exports -> import -> dedup -> screening and full text -> identities hold."""
    from synth.dedup.service import policy_from_protocol, run
    from synth.importers.pipeline import import_file

    ris = corpus_dir / "exports" / "ris"
    files = {"PsycINFO": "citesource_problem_gambling_psycinfo_64.ris", "PubMed": "citesource_problem_gambling_pubmed_46.ris",
             "Web of Science": "citesource_problem_gambling_wos_79.ris"}
    store = open_store(f"sqlite:///{tmp_path / 'c.sqlite'}")
    for source, name in files.items():
        import_file(store, ris / name, source=source)
    run(store, policy_from_protocol(None))
    with store.begin() as conn:
        reps = sstore.screenable_ids(conn)
        n_raw = int(conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one())
        for i, rid in enumerate(reps):
            decision = "include" if i % 7 == 0 else "exclude"
            sstore.record_decision(conn, record_id=rid, stage="title-abstract", reviewer="ann", decision=decision)
            if decision == "include":
                if i % 21 == 0:
                    sstore.set_retrieval(conn, rid, status="not-retrieved", reason="not held")
                    continue
                sstore.set_retrieval(conn, rid, status="retrieved", location="x.pdf")
                ft = "include" if i % 2 == 0 else "exclude"
                sstore.record_decision(conn, record_id=rid, stage="full-text", reviewer="ann", decision=ft,
                                       reason="design" if ft == "exclude" else None)
    from synth.prisma.counts import compute_counts
    from synth.prisma.gather import gather_inputs
    from synth.prisma.identities import check_identities

    with store.connect() as conn:
        inputs = gather_inputs(conn, None)  # no protocol: one reviewer per record suffices
    counts = compute_counts(inputs)
    assert counts["database_results"] == n_raw
    assert counts["database_results"] - counts["duplicates"] == len(reps)
    assert counts["duplicates"] > 0
    assert counts["records_screened"] == len(reps)
    assert check_identities(counts) == []


def test_search_run_records_named_by_run_label_and_search_report(tmp_path: Path) -> None:
    from synth.store import searches

    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with store.begin() as conn:
        run_id = searches.create_run(conn, source="pubmed", database="PubMed (MEDLINE)", kind="database",
                                     endpoint="https://eutils.ncbi.nlm.nih.gov/entrez/eutils/", query="care[tiab]",
                                     limits={"languages": ["eng"]}, params={}, fingerprint="f" * 64)
        searches.update_run(conn, run_id, hits=3, retrieved=3)
        searches.finish_run(conn, run_id, "complete")
        recs = [_rec(i, "PubMed") for i in range(3)]
        for r in recs:
            r.provenance.search_run_id = run_id
        insert_records(conn, recs, source_kind="database")
    data = prisma_from_store(store)
    assert data["database_specific_results"] == {"PubMed (MEDLINE)": 3}
    text = search_report_from_store(store)
    assert "| PubMed (MEDLINE) | 3 | 3 |" in text
    assert "care[tiab]" in text
