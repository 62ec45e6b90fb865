"""`synth screen` subcommands end to end: import with bad rows, status, agreement, conflicts, resolve,
export, retrieve, stop, simulate."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from screening_helpers import FIXTURES, make_workspace, runner

from synth.cli.app import app


@pytest.fixture
def ws(tmp_path: Path) -> tuple[Path, str]:
    return make_workspace(tmp_path)


def synth(ws: tuple[Path, str], *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    folder, url = ws
    return runner.invoke(app, ["--workspace", str(folder), "--db", url, "screen", *args], prog_name="synth",
                         env=env)


def test_import_lists_every_bad_row_and_imports_the_good(ws) -> None:  # type: ignore[no-untyped-def]
    result = synth(ws, "import", str(FIXTURES / "decisions_mixed.csv"), "--reviewer", "alice")
    assert result.exit_code == 1
    assert result.output == (
        f"Imported 4 of 8 decisions from {FIXTURES / 'decisions_mixed.csv'}.\n"
        "  line 6: no record matches '999' (as a synth id, DOI, PMID or source record id)\n"
        "  line 7: unknown reason 'not-a-criterion' at title-abstract (the protocol's criteria: population, "
        "intervention, comparator, outcome, design, publication)\n"
        "  line 8: unknown decision 'reject' (use one of: include, exclude, maybe)\n"
        "  line 9: record 6 was screened out by dedup: it is a duplicate in cluster 5, whose kept record is 5. "
        "Screen record 5 instead.\n"
        f"Error: 4 of 8 rows in {FIXTURES / 'decisions_mixed.csv'} were not imported (listed above). Fix those "
        "rows and import the file again; rows already imported are simply replaced.\n"
    )
    out = synth(ws, "export")
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert [(r["record"], r["reviewer"], r["decision"], r["reason"], r["note"]) for r in rows] == [
        ("1", "alice", "include", "", ""),
        ("2", "alice", "exclude", "population", "a note\nover two lines"),
        ("3", "alice", "maybe", "", ""),
        ("7", "alice", "include", "", ""),
    ]


def test_import_unknown_reviewer_and_stage(ws) -> None:  # type: ignore[no-untyped-def]
    result = synth(ws, "import", str(FIXTURES / "decisions_reviewers.csv"), "--reviewer", "alice")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"Imported 1 of 3 decisions from {FIXTURES / 'decisions_reviewers.csv'}."
    assert lines[1] == "  line 3: unknown reviewer 'mallory' (known: alice, synth review team)"
    assert lines[2] == "  line 4: unknown stage 'final' (use one of: title-abstract, full-text)"


def test_import_missing_columns_and_reviewer(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\n1,1\n")
    result = synth(ws, "import", str(bad), "--reviewer", "alice")
    assert result.output == (f"Error: {bad}: missing columns record, decision (found: id, label). A decisions "
                             "file needs 'record' and 'decision'; 'reason', 'note', 'reviewer' and 'stage' are "
                             "optional.\n")
    result = synth(ws, "import", str(bad), env={"SYNTH_REVIEWER": ""})
    assert result.output == "Error: no reviewer given. Pass --reviewer NAME or set SYNTH_REVIEWER.\n"
    result = synth(ws, "import", str(bad), "--stage", "final", "--reviewer", "a")
    assert result.exit_code == 2  # an invalid option value is a usage error
    assert "Invalid value for '--stage' / '-s': 'final' is not one of: title-abstract, full-text." in result.output


def _dual(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("record,decision,reason\n1,include,\n2,exclude,population\n3,exclude,design\n4,exclude,population\n5,include,\n")
    b.write_text("record,decision,reason\n1,include,\n2,exclude,population\n3,include,\n4,exclude,design\n")
    assert synth(ws, "import", str(a), "--reviewer", "alice").exit_code == 0
    assert synth(ws, "import", str(b), "--reviewer", "bob", env={"SYNTH_REVIEWER": "bob"}).exit_code == 0


def test_status_agreement_conflicts_resolve(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _dual(ws, tmp_path)
    status = json.loads(synth(ws, "status", "--format", "json").output)
    ta = status["stages"][0]
    assert (ta["stage"], ta["records"], ta["included"], ta["excluded"], ta["conflicts"], ta["pending"]) == (
        "title-abstract", 7, 1, 2, 1, 3)
    assert ta["excluded_by_reason"] == {"population": 2}
    alice = next(r for r in ta["reviewers"] if r["reviewer"] == "alice")
    assert alice == {"reviewer": "alice", "screened": 5, "included": 2, "maybe": 0, "excluded": 3,
                     "excluded_by_reason": {"design": 1, "population": 2}, "conflicts": 1, "remaining": 2}
    ag = json.loads(synth(ws, "agreement", "--format", "json").output)
    pair = ag["pairs"][0]
    assert pair["reviewers"] == ["alice", "bob"] and pair["n"] == 4
    assert pair["decisions"]["percent"] == 0.75
    assert pair["reasons"]["n"] == 2 and pair["reasons"]["percent"] == 0.5
    table = synth(ws, "agreement")
    assert "alice & bob" in table.output and "kappa" in table.output
    conflicts = json.loads(synth(ws, "conflicts", "--format", "json").output)
    assert [c["record"] for c in conflicts] == [3]
    result = synth(ws, "resolve", "3", "exclude", "--reason", "design", "--reviewer", "carol")
    assert result.exit_code == 0
    assert result.output == "Record 3 resolved at title-abstract: exclude (design) by consensus.\n"
    assert json.loads(synth(ws, "conflicts", "--format", "json").output) == []


def test_export_ris_carries_asreview_labels(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _dual(ws, tmp_path)
    out = synth(ws, "export", "--format", "ris").output
    entries = out.split("ER  - ")
    first = next(e for e in entries if "ID  - 1\n" in e)
    assert "N1  - ASReview_relevant\n" in first
    assert "N1  - synth_reviewer: alice: include\n" in first
    second = next(e for e in entries if "ID  - 2\n" in e)
    assert "N1  - ASReview_irrelevant\nN1  - synth_decision: exclude (title-abstract)\nN1  - synth_reason: population\n" in second
    pending = next(e for e in entries if "ID  - 5\n" in e)
    assert "N1  - ASReview_not_seen\n" in pending
    assert "ID  - 6\n" not in out  # the dedup-removed duplicate is not screened


def test_retrieve_and_stop_check(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _dual(ws, tmp_path)
    result = synth(ws, "retrieve", "1", "--status", "retrieved", "--location", "pdfs/1.pdf", "--reviewer", "alice")
    assert result.exit_code == 0 and result.output == "Record 1: retrieved.\n"
    result = synth(ws, "retrieve", "2", "--status", "not-retrieved")
    assert result.output == "Error: record 2: 'not-retrieved' needs a reason (--reason). Say why it was not found.\n"
    listing = json.loads(synth(ws, "retrieve", "--format", "json").output)
    assert [(r["record"], r["status"], r["location"]) for r in listing] == [(1, "retrieved", "pdfs/1.pdf")]
    check = json.loads(synth(ws, "stop", "--check", "--format", "json").output)
    assert check["records"] == 7 and check["rule"] == "hypergeometric"
    assert [(r["rule"], r["chosen"], r["stop"]) for r in check["rules"]] == [
        ("hypergeometric", True, False), ("knee", False, False), ("random-sample", False, False),
        ("composite", False, False)]
    table = synth(ws, "stop", "--check").output
    assert "hypergeometric (protocol)" in table and "consecutive-excludes" in table
    refused = synth(ws, "stop", "--reviewer", "alice")
    assert refused.exit_code == 1 and refused.output.startswith(
        "Error: the hypergeometric stopping rule does not allow stopping yet at title-abstract: p = ")


def test_simulate_json_has_exactly_the_issue_keys() -> None:
    result = runner.invoke(app, ["screen", "simulate", str(FIXTURES / "sim_small.csv"), "--seed", "3",
                                 "--format", "json"], prog_name="synth")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["runs", "summary"]
    (run,) = data["runs"]
    assert list(run) == ["dataset", "seed", "n", "n_included", "records_to_95", "wss@95", "wss@100", "rrf@10",
                         "loss", "stopping"]
    assert [s["rule"] for s in run["stopping"]] == ["hypergeometric", "knee", "random-sample", "composite"]
    assert (run["dataset"], run["seed"], run["n"], run["n_included"]) == ("sim_small.csv", 3, 240, 20)
    assert run["wss@95"] == pytest.approx((240 - run["records_to_95"]) / 240 - 0.05, abs=1e-4)
    assert run["wss@95"] > 0.3


def test_simulate_over_seeds_and_sets_summarises_each_rule(tmp_path: Path) -> None:
    second = tmp_path / "second.csv"
    second.write_text((FIXTURES / "sim_small.csv").read_text())
    result = runner.invoke(app, ["screen", "simulate", str(FIXTURES / "sim_small.csv"), str(second),
                                 "--seeds", "0-1,5", "-f", "json"], prog_name="synth")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(r["dataset"], r["seed"]) for r in data["runs"]] == [
        ("sim_small.csv", 0), ("sim_small.csv", 1), ("sim_small.csv", 5),
        ("second.csv", 0), ("second.csv", 1), ("second.csv", 5)]
    by_rule = {s["rule"]: s for s in data["summary"]}
    assert list(by_rule) == ["hypergeometric", "knee", "random-sample", "composite"]
    assert by_rule["hypergeometric"]["default"] and not by_rule["knee"]["default"]
    for rule, summary in by_rule.items():
        stops = [next(s for s in r["stopping"] if s["rule"] == rule) for r in data["runs"]]
        assert summary["runs"] == 6
        assert summary["target_met"] == sum(s["recall_at_stop"] >= 0.95 for s in stops)
        assert summary["mean_screened"] == pytest.approx(sum(s["screened"] for s in stops) / 6, abs=1e-4)
        assert summary["min_recall"] == min(s["recall_at_stop"] for s in stops)
    table = runner.invoke(app, ["screen", "simulate", str(FIXTURES / "sim_small.csv"), "--seeds", "0,1"],
                          prog_name="synth")
    assert "(default)" in table.stdout and "Stopping rules at 95% recall" in table.stdout
    bad = runner.invoke(app, ["screen", "simulate", str(FIXTURES / "sim_small.csv"), "--seeds", "a-b"],
                        prog_name="synth")
    assert bad.exit_code == 2 and "'a-b' is not a list of seeds" in bad.output


def test_simulate_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "d.csv"
    bad.write_text("title,abstract,label_included\na,b,1\nc,d,?\ne,f,0\n")
    result = runner.invoke(app, ["screen", "simulate", str(bad)], prog_name="synth")
    assert result.output == (f"Error: {bad}: 1 rows without a 0/1 label in 'label_included': line 3: label '?'. "
                             "Fix or remove those rows.\n")
    result = runner.invoke(app, ["screen", "simulate", str(bad), "--label-column", "included"], prog_name="synth")
    assert result.output == (f"Error: {bad}: no column 'included' (columns: title, abstract, label_included). "
                             "Name the label column with --label-column.\n")
    result = runner.invoke(app, ["screen", "simulate", str(FIXTURES / "sim_small.csv"), "--model", "bert"],
                           prog_name="synth")
    assert result.exit_code == 2
    assert "Invalid value for '--model': 'bert' is not one of: svm, logistic, nb." in result.output


def test_interactive_screen_from_the_cli(ws) -> None:  # type: ignore[no-untyped-def]
    folder, url = ws
    result = runner.invoke(app, ["--workspace", str(folder), "--db", url, "screen", "--reviewer", "alice"],
                           input="i\ne\n1\nq\n", prog_name="synth")
    assert result.exit_code == 0, result.output
    assert "Hospital at home versus inpatient care" in result.output
    assert result.output.rstrip().endswith("Saved. alice at title-abstract: 2/7 screened, 1 included, 0 maybe.")
    rows = list(csv.DictReader(io.StringIO(synth(ws, "export").output)))
    assert [(r["record"], r["decision"], r["reason"]) for r in rows] == [("1", "include", ""),
                                                                        ("2", "exclude", "population")]
    result = runner.invoke(app, ["--workspace", str(folder), "--db", url, "screen"], input="q\n",
                           prog_name="synth", env={"SYNTH_REVIEWER": ""})
    assert result.output == "Error: no reviewer given. Pass --reviewer NAME or set SYNTH_REVIEWER.\n"


def test_tags_from_the_cli_and_their_list(ws) -> None:  # type: ignore[no-untyped-def]
    added = synth(ws, "tags", "2", "--add", "Ask author", "--add", "qualitative", "--reviewer", "alice")
    assert added.exit_code == 0, added.output
    assert "Record 2: ask author, qualitative." in added.output
    synth(ws, "tags", "3", "--add", "qualitative", "--reviewer", "bob")
    mine = synth(ws, "tags", "--reviewer", "alice", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(mine.output)))
    assert [(r["record"], r["tag"]) for r in rows] == [("2", "ask author"), ("2", "qualitative")]
    both = synth(ws, "tags", "--all", "--tag", "qualitative", "--format", "json")
    assert [(r["record"], r["reviewer"]) for r in json.loads(both.output)] == [(2, "alice"), (3, "bob")]
    removed = synth(ws, "tags", "2", "--remove", "qualitative", "--reviewer", "alice")
    assert "Record 2: ask author." in removed.output
    nothing = synth(ws, "tags", "2", "--reviewer", "alice")
    assert nothing.exit_code == 1 and "give --add TAG or --remove TAG" in nothing.output
    dup = synth(ws, "tags", "6", "--add", "x", "--reviewer", "alice")
    assert dup.exit_code == 1 and "screened out by dedup" in dup.output
