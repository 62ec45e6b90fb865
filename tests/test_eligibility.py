"""Eligibility assessed at full text against the protocol's criteria from what extractions record."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from flagship_helpers import NAME, copy_flagship
from typer.testing import CliRunner

from synth.cli.app import app
from synth.errors import SynthError
from synth.extraction.eligibility import assess
from synth.extraction.files import ExtractionFile
from synth.protocol.load import parse_protocol, read_toml
from synth.store import open_store
from synth.store.screening import resolution_rows, resolve

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _data() -> dict:
    return read_toml(REPO / "protocols" / f"{NAME}.toml")


def _file(study: str, sectors: object, reviewer: str | None = None) -> ExtractionFile:
    chars = {} if sectors is None else {"sectors": sectors}
    return ExtractionFile(Path(f"{study}.toml"), study, reviewer, {"characteristics": chars})


def test_a_recorded_field_without_the_required_value_fails_and_an_unrecorded_one_is_not_assessable() -> None:
    protocol = parse_protocol(_data(), "flagship")
    files = [_file("joint", ["health", "social-care"]), _file("rehab", ["health"]), _file("unknown", "NR"),
             _file("blank", None), _file("draft", ["health"], reviewer="ab")]   # a reviewer's draft: not assessed
    verdicts = {a.study: a.verdict for a in assess(files, protocol)}
    assert verdicts == {"joint": "meets", "rehab": "fails", "unknown": "not assessable", "blank": "not assessable"}
    rehab = next(a for a in assess(files, protocol) if a.study == "rehab")
    assert rehab.criterion == "intervention"
    assert rehab.note.startswith("sectors = health; the protocol's criterion 'Not a health and social care "
                                 "partnership' needs one of social-care")


def test_a_rule_must_name_a_study_field_and_allowed_values() -> None:
    data = _data()
    wrong_field = copy.deepcopy(data)
    wrong_field["criteria"][1]["requires"] = {"field": "sector", "any_of": ["social-care"]}
    with pytest.raises(SynthError, match=r"criteria\[1\]\.requires\.field: 'sector' is not a study field"):
        parse_protocol(wrong_field, "p.toml")
    wrong_value = copy.deepcopy(data)
    wrong_value["criteria"][1]["requires"] = {"field": "sectors", "any_of": ["social care"]}
    with pytest.raises(SynthError, match=r"requires\.any_of: social care not allowed for the study field 'sectors'"):
        parse_protocol(wrong_value, "p.toml")
    empty = copy.deepcopy(data)
    empty["criteria"][1]["requires"] = {"field": "sectors", "any_of": []}
    with pytest.raises(SynthError, match="any_of"):
        parse_protocol(empty, "p.toml")


def test_the_run_excludes_failing_studies_once_and_analyses_only_included_ones(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    first = json.loads(runner.invoke(app, ["-w", str(ws), "run", "--format", "json"]).stdout)
    stage = next(s for s in first["stages"] if s["stage"] == "eligibility")
    excluded = set(stage["details"]["excluded"])
    assert excluded and stage["details"]["recorded"] == len(excluded)
    assert set(stage["details"]["excluded"].values()) == {"intervention"}
    again = json.loads(runner.invoke(app, ["-w", str(ws), "run", "--format", "json"]).stdout)
    assert next(s for s in again["stages"] if s["stage"] == "eligibility")["details"]["recorded"] == 0
    ev = json.loads((ws / "out" / NAME / "evidence.json").read_text())
    analysed = {s["id"] for o in ev["outcomes"] for s in o["studies"]}
    assert analysed and not analysed & excluded
    # the command line agrees with the run: an outcome's analysis uses only the included studies
    mortality = json.loads(runner.invoke(app, ["-w", str(ws), "meta", "pool", "--outcome", "mortality",
                                               "--format", "json"]).stdout)
    written = json.loads((ws / "out" / NAME / "meta" / "mortality.json").read_text())
    assert mortality["k"] == written["pool"]["k"] == next(o for o in ev["outcomes"] if o["id"] == "mortality")["k"]
    # the excluded studies' files are the rule's evidence, not "extracted but not included"
    check = runner.invoke(app, ["-w", str(ws), "extract", "check", "--format", "json"])
    assert check.exit_code == 0, check.output
    # and each exclusion is a full-text resolution in the store, with its reason and the recorded value
    url = os.environ.get("SYNTH_DB") or f"sqlite:///{ws / '.synth' / (NAME + '.sqlite')}"
    store = open_store(url)
    try:
        with store.connect() as conn:
            rows = [r for r in resolution_rows(conn, "full-text") if r["method"] == "protocol-rule"]
    finally:
        store.close()
    assert len(rows) == len(excluded)
    assert all(r["decision"] == "exclude" and r["reason"] == "intervention" and r["note"].startswith("sectors = ")
               for r in rows)


def test_evidence_mostly_from_studies_a_rule_could_not_assess_is_rated_down_for_indirectness() -> None:
    import math

    from synth.evidence.maturity import StudyEffect, assess_outcome

    def outcome(unverified: list[str]) -> dict:
        studies = [StudyEffect(f"s{i}", f"S{i}", math.log(0.8), 0.02, n=300, year=2010 + i, design="rct",
                               rob="low", unverified=u) for i, u in enumerate(unverified)]
        res = assess_outcome({"id": "m", "label": "Mortality", "measure": "RR", "minimal_important_effect": 0.2},
                             studies)
        return next(r for r in res["certainty"]["reasons"] if r["domain"] == "indirectness")

    flagged = outcome(["sectors not recorded", "sectors not recorded", ""])     # two of three equal weights
    assert flagged["change"] == -1 and "67% of the weight" in flagged["text"] and "sectors not recorded" in flagged["text"]
    assert outcome(["sectors not recorded", "", ""])["change"] == 0            # a third: below half


def test_a_person_who_included_a_study_is_never_overruled_by_a_rule(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    runner.invoke(app, ["-w", str(ws), "run", "--format", "json"])
    url = os.environ.get("SYNTH_DB") or f"sqlite:///{ws / '.synth' / (NAME + '.sqlite')}"
    store = open_store(url)
    try:
        with store.begin() as conn:
            ruled = [r for r in resolution_rows(conn, "full-text") if r["method"] == "protocol-rule"]
            target = int(ruled[0]["record_id"])
            resolve(conn, record_id=target, stage="full-text", decision="include", reason=None, method="consensus",
                    resolved_by="lead reviewer", note="sectors misrecorded: the trial had a social-care partner")
    finally:
        store.close()
    again = json.loads(runner.invoke(app, ["-w", str(ws), "run", "--format", "json"]).stdout)
    stage = next(s for s in again["stages"] if s["stage"] == "eligibility")
    assert stage["details"]["recorded"] == 0
    assert any(w.startswith("eligibility: failing a protocol rule but included at full text by a person: ")
               for w in again["warnings"])
    store = open_store(url)
    try:
        with store.connect() as conn:
            now = {int(r["record_id"]): r for r in resolution_rows(conn, "full-text")}
    finally:
        store.close()
    assert now[target]["method"] == "consensus" and now[target]["decision"] == "include"


def test_a_study_that_no_longer_fails_a_rule_is_reported_not_silently_kept_out(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    first = json.loads(runner.invoke(app, ["-w", str(ws), "run", "--format", "json"]).stdout)
    study = sorted(next(s for s in first["stages"] if s["stage"] == "eligibility")["details"]["excluded"])[0]
    path = ws / "extractions" / NAME / f"{study}.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('"health",\n]', '"health",\n    "social-care",\n]', 1),
                    encoding="utf-8")
    again = json.loads(runner.invoke(app, ["-w", str(ws), "run", "--format", "json"]).stdout)
    assert any(w.startswith("eligibility: no longer failing the protocol rule that excluded them in an earlier run: "
                            f"{study};") for w in again["warnings"])
