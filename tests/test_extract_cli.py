"""`synth extract ...` end to end through the CLI: a pair of reviewers extract, compare, reconcile, assess
risk of bias, plot and tabulate."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synth.cli.app import app

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "extraction"
TEMPLATE = REPO / "synth" / "protocol" / "templates" / "partnership-outcomes.toml"
runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "protocols").mkdir()
    shutil.copy(TEMPLATE, tmp_path / "protocols" / "partnership-outcomes.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNTH_REVIEWER", raising=False)
    return tmp_path


def _folder(ws: Path) -> Path:
    return ws / "extractions" / "partnership-outcomes"


def _pair(ws: Path) -> None:
    _folder(ws).mkdir(parents=True, exist_ok=True)
    for name in ("demo-2020.alice.toml", "demo-2020.bob.toml"):
        shutil.copy(FIXTURES / name, _folder(ws) / name)


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def test_new_writes_template_and_never_overwrites_silently(ws: Path) -> None:
    result = run("extract", "new", "smith-2019", "--reviewer", "alice")
    path = _folder(ws) / "smith-2019.alice.toml"
    assert result.exit_code == 0, result.output
    assert f"Wrote {path}." in result.output
    text = path.read_text()
    assert "# Study design; choice; required. One of: rct, cluster-rct, nrsi, cba, its, mixed-methods, qualitative." in text
    assert 'reviewer = "alice"' in text and "#   mortality (RR): Mortality." in text
    path.write_text(text + "# my notes\n")
    result = run("extract", "new", "smith-2019", "--reviewer", "alice", input="n\n")
    assert result.exit_code == 1
    assert f"Error: {path} exists and was not overwritten. Nothing was changed." in result.output
    assert path.read_text().endswith("# my notes\n")
    assert run("extract", "new", "smith-2019", "--reviewer", "alice", input="y\n").exit_code == 0
    assert not path.read_text().endswith("# my notes\n")
    result = run("extract", "new", "Smith 2019")
    assert "Error: 'Smith 2019' is not a valid study id." in result.output


def test_interactive_new_refuses_impossible_numbers_as_check_does(ws: Path) -> None:
    answers = "\n".join(["Lee 2017", "rct", "UK", "community", "integrated-team", "health", "", "no",
                         "Older people", "many", "90", "6",
                         "mortality", "follow-up", "binary",
                         "60", "50", "6", "52",  # 60 events among 50 people
                         "",  # Enter, to type them again
                         "6", "50", "7", "52", "Death", "Table 1",
                         ""]) + "\n"
    result = run("extract", "new", "lee-2017", "-r", "bob", "--interactive", input=answers)
    assert result.exit_code == 0, result.output
    assert "events_t: events (60) exceed the group size n_t = 50." in result.output
    assert "participants. Press Enter to type the numbers again" in result.output
    from synth.extraction.files import read_file

    data = read_file(_folder(ws) / "lee-2017.bob.toml").data
    assert data["outcomes"][0]["events_t"] == 6 and data["outcomes"][0]["events_c"] == 7


@pytest.mark.sqlite_only  # opens the workspace's SQLite file itself
def test_new_prefills_citation_from_records(ws: Path) -> None:
    from synth.records.model import Author, Record
    from synth.store import open_store
    from synth.store.records import insert_records

    store = open_store(f"sqlite:///{ws / '.synth' / 'partnership-outcomes.sqlite'}")
    with store.begin() as conn:
        ids = insert_records(conn, [Record(title="Integrated teams trial", authors=[Author("Smith", "J")], year=2019,
                                           doi="10.1/x", journal="BMJ")]).inserted_ids
    result = run("extract", "new", "smith-2019", "--record", str(ids[0]))
    assert result.exit_code == 0, result.output
    text = (_folder(ws) / "smith-2019.toml").read_text()
    assert 'label = "Smith 2019"' in text and 'doi = "10.1/x"' in text and f"records = [\n    {ids[0]},\n]" in text
    result = run("extract", "new", "jones-2020", "--record", "999")
    assert "Error: no record with id 999 in the store." in result.output


def test_interactive_new(ws: Path) -> None:
    answers = "\n".join(["Kim 2018", "rct", "UK", "community", "integrated-team", "health, social-care", "", "yes",
                         "Older people", "many", "120", "12",
                         "death", "mortality", "next year", "follow-up", "continuous", "binary",
                         "4", "x", "50", "6", "52", "Death", "Table 2",
                         ""]) + "\n"
    result = run("extract", "new", "kim-2018", "-r", "bob", "--interactive", input=answers)
    assert result.exit_code == 0, result.output
    assert "Not a valid integer." in result.output
    text = (_folder(ws) / "kim-2018.bob.toml").read_text()
    assert 'sectors = [\n    "health",\n    "social-care",\n]' in text
    assert "n_randomised = 120" in text and "pooled_budget = true" in text and "follow_up_months = 12.0" in text
    assert "Not a valid whole number. n_t" in result.output
    from synth.extraction.files import read_file

    data = read_file(_folder(ws) / "kim-2018.bob.toml").data
    assert data["outcomes"] == [{"outcome": "mortality", "timepoint": "follow-up", "events_t": 4, "n_t": 50,
                                 "events_c": 6, "n_c": 52, "instrument": "Death", "source_location": "Table 2"}]
    assert run("extract", "check").exit_code == 0


def test_check_reports_every_problem(ws: Path) -> None:
    _pair(ws)
    shutil.copy(FIXTURES / "bad-2021.toml", _folder(ws) / "bad-2021.toml")
    (_folder(ws) / "broken.toml").write_text('study = "broken"\n[citation\n')
    result = run("extract", "check", "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert len(problems) == 20
    broken = [p for p in problems if p["file"].endswith("broken.toml")]
    assert broken == [{"file": "extractions/partnership-outcomes/broken.toml", "path": "",
                       "message": "TOML syntax error (line 2, column 10): Expected ']' at the end of a table declaration",
                       "fix": "Fix the syntax there (text needs quotes, tables are [name], outcome rows [[outcomes]]) and save again"}]
    assert "3 files checked" in result.stderr and "20 problems" in result.stderr
    (_folder(ws) / "broken.toml").unlink()
    (_folder(ws) / "bad-2021.toml").unlink()
    result = run("extract", "check")
    assert result.exit_code == 0 and result.stdout == ""
    assert f"2 files checked in {_folder(ws)}: 0 problems." in result.stderr


def test_compare_and_reconcile(ws: Path) -> None:
    _pair(ws)
    result = run("extract", "compare", "demo-2020", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pairs"] == [{"study": "demo-2020", "a": "alice", "b": "bob"}]
    assert len(data["discrepancies"]) == 9
    assert {r["field_type"]: r["agreed"] for r in data["agreement"]}["count"] == 5
    result = run("extract", "compare", "demo-2020", "--rel-tol", "0", "--format", "json")
    assert len(json.loads(result.stdout)["discrepancies"]) == 10  # 0.71 vs 0.7104 now differs
    # 9 discrepancies: setting, mortality row (5 fields), residential events_t, D4, overall
    answers = "1\n" + "2\n" * 5 + "e\n12\n" + "2\n2\n"
    result = run("extract", "reconcile", "demo-2020", input=answers)
    assert result.exit_code == 0, result.output
    path = _folder(ws) / "demo-2020.toml"
    assert f"Wrote {path} (9 discrepancies resolved)." in result.output
    text = path.read_text()
    assert text.startswith("# Reconciled from demo-2020.alice.toml and demo-2020.bob.toml.")
    assert run("extract", "check").exit_code == 0
    result = run("extract", "reconcile", "demo-2020", input="n\n")
    assert f"Error: {path} exists and was not overwritten. Nothing was changed." in result.output
    assert path.read_text() == text
    table = run("extract", "table", "--outcome", "residential-care", "--format", "json")
    rows = json.loads(table.stdout)
    assert [(r["study"], r["events_t"], r["n_t"], r["events_c"], r["n_c"], r["rob_overall"]) for r in rows] == [
        ("demo-2020", 12, 100, 20, 100, "low")]
    result = run("extract", "compare", "nobody-1999")
    assert "Error: no extraction files for study 'nobody-1999'" in result.output


def test_table_refuses_invalid_reconciled_files_and_unknown_outcomes(ws: Path) -> None:
    _folder(ws).mkdir(parents=True)
    shutil.copy(FIXTURES / "bad-2021.toml", _folder(ws) / "bad-2021.toml")
    result = run("extract", "table")
    assert result.exit_code == 1
    assert "Error: 19 problems in the extraction files, first:" in result.output
    (_folder(ws) / "bad-2021.toml").unlink()
    result = run("extract", "table", "--outcome", "happiness")
    assert "Error: 'happiness' is not an outcome id in the protocol." in result.output


def test_rob_interactive_and_plot(ws: Path) -> None:
    _pair(ws)
    answers = ["Y", "Y", "N", "y",  # D1
               "N", "N", "Y", "y",  # D2: unaware, so 2.3-2.5 are not asked; 2.6 Y so 2.7 is not asked
               "Y", "y",  # D3: data for all, 3.2-3.4 not asked
               "N", "N", "N", "y",  # D4: assessors unaware, 4.4-4.5 not asked
               "Y", "N", "N", "y",  # D5
               "y"]  # overall
    result = run("extract", "rob", "demo-2020", "--outcome", "mortality", "-r", "alice", input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "D1: suggested judgement 'low' (1.1 Y/PY/NI, 1.2 Y/PY, 1.3 N/PN/NI)." in result.output
    from synth.extraction.files import read_file

    entry = read_file(_folder(ws) / "demo-2020.alice.toml").data["rob"][-1]
    assert entry["outcome"] == "mortality" and entry["judgements"]["overall"] == "low" and entry["assessor"] == "alice"
    assert run("extract", "check").exit_code == 0
    result = run("extract", "rob", "demo-2020", "--outcome", "wellbeing", "-r", "alice")
    assert "Error: 'wellbeing' is not an outcome id in the protocol." in result.output
    result = run("extract", "robplot", "-o", str(ws / "rob.svg"))
    assert "Error: no rob2 assessments in the reconciled extraction files." in result.output
    shutil.copy(_folder(ws) / "demo-2020.alice.toml", _folder(ws) / "demo-2020.toml")
    text = (_folder(ws) / "demo-2020.toml").read_text().replace('reviewer = "alice"', 'reviewer = "consensus"')
    (_folder(ws) / "demo-2020.toml").write_text(text)
    result = run("extract", "robplot", "-o", str(ws / "rob.svg"))
    assert result.exit_code == 0, result.output
    assert (ws / "rob.svg").read_text().count("Demo 2020") == 2


def test_edit_validates_on_save(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pair(ws)
    editor = ws / "fake_editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "t = p.read_text()\n"
        "p.write_text(t.replace('n_t = 100', 'n_t = 5', 1) if 'n_t = 100' in t else t.replace('n_t = 5', 'n_t = 100', 1))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    result = run("extract", "edit", "demo-2020", "-r", "alice", input="y\n")
    assert result.exit_code == 0, result.output
    assert "outcomes[1].events_t: events (10) exceed the group size n_t = 5." in result.output
    assert "1 problem. Edit again?" in result.output
    assert "demo-2020.alice.toml: no problems." in result.output
    monkeypatch.delenv("EDITOR")
    monkeypatch.delenv("VISUAL", raising=False)
    result = run("extract", "edit", "demo-2020", "-r", "alice")
    assert "Error: no editor configured: set $EDITOR" in result.output


def test_bundled_flagship_through_the_cli(ws: Path) -> None:
    shutil.copytree(REPO / "extractions" / "partnership-outcomes", _folder(ws))
    result = run("extract", "check")
    assert result.exit_code == 0 and "34 files checked" in result.stderr
    result = run("extract", "table", "--outcome", "function", "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("study,outcome,timepoint,effect,label,year,measure,data_kind,events_t,")
    assert len(lines) == 1 + 20
    assert any(line.startswith("kennie-1988,function,discharge,,Kennie 1988,1988,OR,generic,") for line in lines)


@pytest.mark.sqlite_only  # opens the workspace's SQLite file itself
def test_check_reports_studies_not_included_at_full_text(ws: Path) -> None:
    from synth.records.model import Author, Record
    from synth.store import open_store
    from synth.store.records import insert_records
    from synth.store.screening import link_report, record_decision

    store = open_store(f"sqlite:///{ws / '.synth' / 'partnership-outcomes.sqlite'}")
    with store.begin() as conn:
        ids = insert_records(conn, [Record(title=f"Trial {i}", authors=[Author("Smith")], year=2000 + i,
                                           doi=f"10.1/t{i}") for i in range(4)]).inserted_ids
    assert run("extract", "check").exit_code == 0  # no full-text screening yet: nothing to check against
    with store.begin() as conn:
        for reviewer in ("alice", "bob"):
            record_decision(conn, record_id=ids[0], stage="full-text", reviewer=reviewer, decision="include")
            record_decision(conn, record_id=ids[1], stage="full-text", reviewer=reviewer, decision="exclude",
                            reason="design")
        link_report(conn, ids[2], ids[0])
    _folder(ws).mkdir(parents=True)
    base = (FIXTURES / "demo-2020.alice.toml").read_text().replace('reviewer = "alice"', 'reviewer = "consensus"')
    for study, citation in (("inc-2000", f"records = [{ids[0]}]"), ("doi-2000", 'doi = "https://doi.org/10.1/T0"'),
                            ("linked-2000", f"records = [{ids[2]}]"), ("exc-2001", 'doi = "10.1/t1"'),
                            ("none-2003", "")):
        text = base.replace('study = "demo-2020"', f'study = "{study}"').replace("year = 2020", f"year = 2020\n{citation}")
        (_folder(ws) / f"{study}.toml").write_text(text)
    result = run("extract", "check", "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert [(Path(p["file"]).name, p["message"]) for p in problems] == [
        ("exc-2001.toml", "study 'exc-2001' is not included at full text"),
        ("none-2003.toml", "study 'none-2003' is not included at full text"),
    ]


def test_status(ws: Path) -> None:
    _pair(ws)
    shutil.copy(FIXTURES / "bad-2021.toml", _folder(ws) / "bad-2021.toml")
    result = run("extract", "status", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"study": "bad-2021", "reviewers": "", "reconciled": True, "outcome_rows": 6, "rob": 1, "problems": 19},
        {"study": "demo-2020", "reviewers": "alice, bob", "reconciled": False, "outcome_rows": None, "rob": None,
         "problems": 0},
    ]
    assert "2 studies, 1 reconciled, 19 problems." in result.stderr
