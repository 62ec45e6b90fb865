"""'Not measured' and 'not extracted' are different: only an extraction that says so makes an outcome 'not
measured'; silence is 'not extracted'."""

from __future__ import annotations

import re
from pathlib import Path

from flagship_helpers import NAME, copy_flagship

from synth.evidence import evidence_from_workspace
from synth.extraction.files import ExtractionFile
from synth.extraction.validate import validate_file
from synth.protocol.load import load_protocol
from synth.workspace import find_workspace

REPO = Path(__file__).resolve().parent.parent


def _declare(ws: Path, studies: list[str], outcomes: list[str]) -> None:
    for study in studies:
        path = ws / "extractions" / NAME / f"{study}.toml"
        text = path.read_text(encoding="utf-8")
        line = "not_measured = [" + ", ".join(f'"{o}"' for o in outcomes) + "]\n"
        path.write_text(re.sub(r"^(status = .*\n)", r"\1" + line, text, count=1, flags=re.M), encoding="utf-8")


def _evidence(ws: Path, studies: set[str]) -> dict:
    protocol = load_protocol(ws / "protocols" / f"{NAME}.toml")
    return evidence_from_workspace(find_workspace(explicit=ws), protocol, NAME, studies=studies)


def test_silence_is_not_extracted_and_only_every_study_saying_so_is_not_measured(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    studies = {"caplan-1999", "davies-2000", "harris-2005"}  # hospital-at-home trials: no symptoms data
    ev = _evidence(ws, studies)
    symptoms = next(o for o in ev["outcomes"] if o["id"] == "symptoms")
    assert symptoms["status"] == "not extracted" and symptoms["k"] == 0
    assert "3 of 3 do not say whether the study measured it" in " ".join(symptoms["notes"])
    assert any(x.startswith("Symptoms") for x in ev["unextracted_valued_outcomes"])
    assert symptoms["sof"]["statement"].endswith("no data were extracted from the included studies.")

    _declare(ws, ["caplan-1999", "davies-2000"], ["symptoms"])          # two say so, one is silent
    assert next(o for o in _evidence(ws, studies)["outcomes"] if o["id"] == "symptoms")["status"] == "not extracted"
    _declare(ws, ["harris-2005"], ["symptoms"])                          # now all three say so
    ev = _evidence(ws, studies)
    symptoms = next(o for o in ev["outcomes"] if o["id"] == "symptoms")
    assert symptoms["status"] == "not measured"
    assert any(x.startswith("Symptoms") for x in ev["unmeasured_valued_outcomes"])
    assert not any(x.startswith("Symptoms") for x in ev["unextracted_valued_outcomes"])
    assert "No included study measured symptoms and mental state." in ev["headline"]["text"]


def test_not_measured_must_name_protocol_outcomes_without_data() -> None:
    protocol = load_protocol(REPO / "protocols" / f"{NAME}.toml")

    def problems(value: object) -> list[str]:
        data = {"schema_version": 1, "study": "x-2020", "protocol": NAME, "reviewer": "consensus",
                "status": "complete", "citation": {"label": "X 2020"}, "not_measured": value,
                "outcomes": [{"outcome": "mortality", "timepoint": "6 months", "events_t": 1, "n_t": 10,
                              "events_c": 2, "n_c": 10}]}
        return [f"{p.path}: {p.message}" for p in validate_file(ExtractionFile(Path("x-2020.toml"), "x-2020", None,
                                                                                 data), protocol, NAME)
                if p.path.startswith("not_measured")]

    assert problems(["symptoms"]) == []
    assert problems(["symptom"]) == ["not_measured[0]: 'symptom' is not an outcome id in the protocol"]
    assert problems(["mortality"]) == ["not_measured[0]: 'mortality' is listed as not measured but has "
                                       "[[outcomes]] rows"]
    assert problems("symptoms") == ["not_measured: not_measured must be a list of outcome ids"]


def test_every_other_timepoint_is_pooled_as_the_meta_command_pools_it(tmp_path: Path) -> None:
    import pytest

    from synth.analysis.options import pool_options
    from synth.analysis.outcome import outcome_analysis

    ws = copy_flagship(tmp_path / "ws")
    studies = {"caplan-1999", "davies-2000", "harris-2005", "ricauda-2008", "shepperd-2021", "tibaldi-2004",
               "tibaldi-2009", "wilson-1999", "mendoza-2009"}                       # the hospital-at-home trials
    ev = _evidence(ws, studies)
    mortality = next(o for o in ev["outcomes"] if o["id"] == "mortality")
    assert mortality["timepoint"] == "6 months"                                   # the protocol's primary
    others = {t["timepoint"]: t for t in mortality["other_timepoints"]}
    assert "6 months" not in others and others["3 months"]["k"] >= 2
    protocol = load_protocol(ws / "protocols" / f"{NAME}.toml")
    direct = outcome_analysis(find_workspace(explicit=ws), protocol, "mortality", protocol_name=NAME,
                              timepoint="3 months", opts=pool_options(protocol.analysis), studies=studies)
    assert others["3 months"]["estimate"] == pytest.approx(direct["pool"]["estimate"], rel=1e-12)
    assert others["3 months"]["k"] == direct["pool"]["k"]
