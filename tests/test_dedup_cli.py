"""`synth dedup` end to end on a store: run, idempotence, explain, split, reset, review, evaluate, events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from synth.cli.app import app
from synth.dedup.goldcsv import read_records_csv
from synth.store import open_store
from synth.store.events import read
from synth.store.records import insert_records
from synth.store.schema import records

FIXTURES = Path(__file__).parent / "fixtures" / "dedup"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    store = open_store(url)
    with store.begin() as conn:
        insert_records(conn, read_records_csv(FIXTURES / "small_records.csv"))
    store.close()
    return url


def synth(db: str, *args: str, input: str | None = None):
    return runner.invoke(app, ["--db", db, "dedup", *args], input=input, prog_name="synth")


def ids(db: str) -> dict[str, int]:
    store = open_store(db)
    with store.connect() as conn:
        out = {r.source_record_id: int(r.id) for r in conn.execute(sa.select(records.c.id, records.c.source_record_id))}
    store.close()
    return out


def assignments(db: str) -> dict[int, tuple[int | None, int | None]]:
    store = open_store(db)
    with store.connect() as conn:
        rows = conn.execute(sa.select(records.c.id, records.c.cluster_id, records.c.duplicate_of))
        out = {int(r.id): (r.cluster_id, r.duplicate_of) for r in rows}
    store.close()
    return out


def events(db: str) -> list[dict]:
    store = open_store(db)
    with store.connect() as conn:
        out = read(conn)
    store.close()
    return [e for e in out if e["kind"].startswith("dedup")]


def test_dedup_json_summary_and_links(db: str) -> None:
    result = synth(db, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"records": 18, "clusters": 15, "duplicates": 3, "maybe_pairs": 0}
    rid = ids(db)
    state = assignments(db)
    # r01 has the DOI and abstract: it represents its cluster; r02 points to it; nothing is deleted
    assert state[rid["r02"]] == (rid["r01"], rid["r01"])
    assert state[rid["r01"]] == (rid["r01"], None)
    assert state[rid["r05"]][1] is None and state[rid["r06"]][1] is None  # different DOIs stay apart
    kinds = [e["kind"] for e in events(db)]
    assert kinds == ["dedup_merge"]
    payload = events(db)[0]["payload"]
    assert payload["duplicates"] == 3
    # provenance survives: records and duplicates per database, for PRISMA
    per_source: dict[str, int] = {}
    for r in read_records_csv(FIXTURES / "small_records.csv"):
        per_source[r.provenance.source] = per_source.get(r.provenance.source, 0) + 1
    assert {k: v["records"] for k, v in payload["by_source"].items()} == per_source
    assert sum(v["duplicates"] for v in payload["by_source"].values()) == 3


def test_rerun_is_idempotent_and_logs_nothing_new(db: str) -> None:
    synth(db)
    before = assignments(db)
    result = synth(db, "--format", "json")
    assert result.exit_code == 0
    assert assignments(db) == before
    assert "0 records changed." in result.output
    assert len(events(db)) == 1


def test_explain_names_the_rule(db: str) -> None:
    synth(db)
    rid = ids(db)
    result = synth(db, "explain", str(rid["r02"]), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["representative"] == rid["r01"]
    assert [m["id"] for m in data["members"]] == sorted([rid["r01"], rid["r02"]])
    assert data["links"][0]["rule"] == "same doi" or data["links"][0]["rule"].startswith("title >=")
    table = synth(db, "explain", str(rid["r02"]))
    assert f"Record {rid['r02']}: cluster {rid['r01']} with 2 records; representative {rid['r01']}." in table.stdout
    link = data["links"][0]
    assert "{" not in table.stdout  # a table, not a printed dict
    assert f"{link['a']} + {link['b']}" in table.stdout and "merged" in table.stdout
    assert link["similarities"]["title"] == 1.0 and "title 1.00" in table.stdout


def test_explain_unknown_record_is_an_error(db: str) -> None:
    result = synth(db, "explain", "999")
    assert result.exit_code == 1
    assert "Error: no record with id 999. List record ids with `synth records list`." in result.output


def test_split_is_respected_by_later_runs_and_reset_undoes_everything(db: str) -> None:
    synth(db)
    rid = ids(db)
    result = synth(db, "split", str(rid["r02"]), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["duplicates"] == 2
    again = synth(db, "--format", "json")
    assert json.loads(again.stdout)["duplicates"] == 2
    assert assignments(db)[rid["r02"]] == (rid["r02"], None)
    # reset keeps decisions by default: the next run still keeps r02 apart
    reset = synth(db, "reset", "--format", "json")
    assert json.loads(reset.stdout)["duplicates_restored"] == 2
    assert all(v == (None, None) for v in assignments(db).values())
    assert json.loads(synth(db, "--format", "json").stdout)["duplicates"] == 2
    synth(db, "reset", "--forget-decisions")
    assert json.loads(synth(db, "--format", "json").stdout)["duplicates"] == 3
    kinds = [e["kind"] for e in events(db)]
    assert kinds.count("dedup_split") == 1 and kinds.count("dedup_reset") == 2


def test_split_of_a_singleton_is_an_error(db: str) -> None:
    synth(db)
    rid = ids(db)
    result = synth(db, "split", str(rid["r03"]))
    assert result.exit_code == 1
    assert f"record {rid['r03']} is not in a cluster with other records; nothing to split." in result.output


def _maybe_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'maybe.sqlite'}"
    store = open_store(url)
    rows = list(read_records_csv(FIXTURES / "small_records.csv"))
    # two pairs the rules cannot settle: same venue name missing, authors differ
    extra = list(read_records_csv(FIXTURES / "maybe_records.csv"))
    with store.begin() as conn:
        insert_records(conn, rows + extra)
    store.close()
    return url


def test_review_same_different_undo_and_quit(tmp_path: Path) -> None:
    url = _maybe_db(tmp_path)
    first = synth(url, "--format", "json")
    summary = json.loads(first.stdout)
    assert summary["maybe_pairs"] == 2
    # first pair: same; second pair: different, then (at the end) undo it, then skip it; end of input quits
    result = synth(url, "review", input="s\nd\nu\nk\n")
    assert result.exit_code == 0, result.output
    assert "Maybe pair 1/2" in result.stdout and "Maybe pair 2/2" in result.stdout
    assert "undone: records" in result.stdout
    assert "Reviewed 3 pairs: 1 same, 0 different, 1 skipped, 1 undone." in result.output
    after = json.loads(synth(url, "--format", "json").stdout)
    assert after["duplicates"] == summary["duplicates"] + 1
    assert after["maybe_pairs"] == 1
    # the remaining pair: quit without deciding changes nothing
    quit_ = synth(url, "review", input="x\nq\n")
    assert "unknown key 'x': use one of s, d, k, u, q" in quit_.stdout
    assert "Reviewed 2 pairs: 0 same, 0 different, 0 skipped, 0 undone." in quit_.output
    different = synth(url, "review", input="d\nq\n")
    assert "1 different" in different.output
    final = json.loads(synth(url, "--format", "json").stdout)
    assert final["maybe_pairs"] == 0 and final["duplicates"] == after["duplicates"]


def test_review_without_maybe_pairs(db: str) -> None:
    synth(db)
    result = synth(db, "review")
    assert result.exit_code == 0
    assert "No maybe pairs to review." in result.output


def test_evaluate_against_gold(db: str) -> None:
    before = synth(db, "evaluate", "--gold", str(FIXTURES / "small_gold.csv"))
    assert before.exit_code == 1
    assert "no deduplication has been run yet. Run `synth dedup` first, then evaluate." in before.output
    synth(db)
    result = synth(db, "evaluate", "--gold", str(FIXTURES / "small_gold.csv"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pairwise"]["precision"] == 1.0
    assert data["pairwise"]["recall"] == 1.0
    assert data["pairwise"]["false_positive_pairs"] == 0
    assert data["record_level"]["tp"] == 3


def test_evaluate_with_unknown_ids_is_an_error(db: str, tmp_path: Path) -> None:
    synth(db)
    gold = tmp_path / "gold.csv"
    gold.write_text('merged_ids\n"x1;x2"\n', encoding="utf-8")
    result = synth(db, "evaluate", "--gold", str(gold))
    assert result.exit_code == 1
    assert "none of the gold ids (e.g. 'x1') matches a record's source id or synth id." in result.output


def test_lean_linkage_reader_gives_the_same_clusters_as_full_records(tmp_path: Path) -> None:
    from synth.dedup.core import deduplicate
    from synth.store.dedup import iter_linkage_records
    from synth.store.records import iter_records

    url = _maybe_db(tmp_path)
    store = open_store(url)
    with store.connect() as conn:
        full = deduplicate(iter_records(conn))
        lean = deduplicate(iter_linkage_records(conn))
    store.close()
    assert lean.assignments() == full.assignments()
    assert [(m.a, m.b, m.rule) for m in lean.maybe_pairs] == [(m.a, m.b, m.rule) for m in full.maybe_pairs]
