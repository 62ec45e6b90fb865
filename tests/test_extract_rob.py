"""Risk of bias: the RoB 2 algorithms, ROBINS-I overall, the interactive assessment and the plot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synth.errors import InputError
from synth.extraction import rob
from synth.extraction.files import read_file
from synth.extraction.robassess import assess, save_assessment
from synth.extraction.table import rob_rows
from synth.figures.rob import traffic_light

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "extraction"


def _d(domain: str, answers: dict[str, str], effect: str = "assignment") -> str:
    return rob.suggest_rob2(answers, effect, cluster=domain == "D1b")[domain][0]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"1.1": "Y", "1.2": "Y", "1.3": "N"}, "low"),
        ({"1.1": "NI", "1.2": "PY", "1.3": "NI"}, "low"),
        ({"1.1": "N", "1.2": "Y", "1.3": "N"}, "some-concerns"),
        ({"1.1": "Y", "1.2": "Y", "1.3": "Y"}, "some-concerns"),
        ({"1.1": "Y", "1.2": "NI", "1.3": "N"}, "some-concerns"),
        ({"1.1": "Y", "1.2": "NI", "1.3": "PY"}, "high"),
        ({"1.1": "Y", "1.2": "PN", "1.3": "N"}, "high"),
    ],
)
def test_domain1(answers: dict[str, str], expected: str) -> None:
    assert _d("D1", answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"2.1": "N", "2.2": "N", "2.6": "Y"}, "low"),
        ({"2.1": "Y", "2.2": "Y", "2.3": "N", "2.6": "Y"}, "low"),
        ({"2.1": "Y", "2.2": "Y", "2.3": "NI", "2.6": "Y"}, "some-concerns"),
        ({"2.1": "Y", "2.3": "Y", "2.4": "N", "2.6": "Y"}, "some-concerns"),
        ({"2.1": "Y", "2.3": "Y", "2.4": "Y", "2.5": "Y", "2.6": "Y"}, "some-concerns"),
        ({"2.1": "Y", "2.3": "Y", "2.4": "PY", "2.5": "PN", "2.6": "Y"}, "high"),
        ({"2.1": "N", "2.2": "N", "2.6": "N", "2.7": "N"}, "some-concerns"),
        ({"2.1": "N", "2.2": "N", "2.6": "N", "2.7": "NI"}, "high"),
    ],
)
def test_domain2_assignment(answers: dict[str, str], expected: str) -> None:
    assert _d("D2", answers) == expected


def test_domain2_adherence() -> None:
    assert _d("D2", {"2.1": "N", "2.2": "N", "2.4": "N", "2.5": "N"}, "adherence") == "low"
    assert _d("D2", {"2.1": "N", "2.2": "N", "2.4": "Y", "2.6": "Y"}, "adherence") == "some-concerns"
    assert _d("D2", {"2.1": "Y", "2.3": "N", "2.6": "N"}, "adherence") == "high"


@pytest.mark.parametrize(
    ("domain", "answers", "expected"),
    [
        ("D3", {"3.1": "Y"}, "low"),
        ("D3", {"3.1": "N", "3.2": "Y"}, "low"),
        ("D3", {"3.1": "N", "3.2": "N", "3.3": "PN"}, "low"),
        ("D3", {"3.1": "N", "3.2": "N", "3.3": "Y", "3.4": "N"}, "some-concerns"),
        ("D3", {"3.1": "N", "3.2": "N", "3.3": "NI", "3.4": "NI"}, "high"),
        ("D4", {"4.1": "Y"}, "high"),
        ("D4", {"4.1": "N", "4.2": "PY"}, "high"),
        ("D4", {"4.1": "N", "4.2": "N", "4.3": "N"}, "low"),
        ("D4", {"4.1": "N", "4.2": "NI", "4.3": "N"}, "some-concerns"),
        ("D4", {"4.1": "N", "4.2": "N", "4.3": "Y", "4.4": "N"}, "low"),
        ("D4", {"4.1": "N", "4.2": "N", "4.3": "Y", "4.4": "Y", "4.5": "N"}, "some-concerns"),
        ("D4", {"4.1": "N", "4.2": "N", "4.3": "Y", "4.4": "Y", "4.5": "NI"}, "high"),
        ("D5", {"5.1": "Y", "5.2": "N", "5.3": "N"}, "low"),
        ("D5", {"5.1": "NI", "5.2": "N", "5.3": "PN"}, "some-concerns"),
        ("D5", {"5.1": "Y", "5.2": "NI", "5.3": "N"}, "some-concerns"),
        ("D5", {"5.1": "Y", "5.2": "N", "5.3": "PY"}, "high"),
        ("D1b", {"1b.1": "Y", "1b.3": "N"}, "low"),
        ("D1b", {"1b.1": "N", "1b.2": "Y"}, "high"),
        ("D1b", {"1b.1": "N", "1b.2": "NI", "1b.3": "N"}, "some-concerns"),
    ],
)
def test_domains_3_to_5_and_cluster(domain: str, answers: dict[str, str], expected: str) -> None:
    assert _d(domain, answers) == expected


def test_conditional_questions() -> None:
    assert not rob.applies("2.3", {"2.1": "N", "2.2": "PN"})
    assert rob.applies("2.3", {"2.1": "N", "2.2": "NI"})
    assert rob.applies("3.3", {"3.1": "N", "3.2": "PN"}) and not rob.applies("3.3", {"3.1": "N", "3.2": "NI"})
    assert not rob.applies("4.3", {"4.1": "N", "4.2": "Y"})
    assert rob.applies("2.6", {"2.1": "Y", "2.3": "Y", "2.4": "NI"}, "adherence")
    assert not rob.applies("2.6", {"2.1": "N", "2.2": "N", "2.3": "NA", "2.4": "N", "2.5": "N"}, "adherence")
    assert rob.applies("1.1", {})


def test_overall_judgements() -> None:
    assert rob.overall_rob2(dict.fromkeys(["D1", "D2", "D3", "D4", "D5"], "low"))[0] == "low"
    two = {"D1": "low", "D2": "some-concerns", "D3": "some-concerns", "D4": "low", "D5": "low"}
    value, rule = rob.overall_rob2(two)
    assert value == "some-concerns" and "may justify High" in rule
    assert rob.overall_rob2({**two, "D5": "high"})[0] == "high"
    assert rob.overall_robins({"D1": "moderate", "D2": "low"})[0] == "moderate"
    assert rob.overall_robins({"D1": "serious", "D2": "no-information"})[0] == "serious"
    assert rob.overall_robins({"D1": "low", "D2": "no-information"})[0] == "no-information"
    assert rob.overall_robins({"D1": "critical", "D2": "serious"})[0] == "critical"
    assert rob.normalise("Some concerns") == "some-concerns" and rob.normalise("High risk") == "high"


def _scripted(answers: list[str]) -> tuple[list[str], object]:
    asked: list[str] = []
    queue = list(answers)

    def ask(question: str) -> str:
        asked.append(question)
        return queue.pop(0)

    return asked, ask


def test_interactive_rob2_with_override() -> None:
    answers = [
        "Y", "Y", "N", "y",  # D1 -> low, accepted
        "Y", "Y", "N", "Y", "y",  # D2: aware, 2.3 N so 2.4 and 2.5 are NA; 2.6 Y so 2.7 is NA -> low
        "maybe", "N", "N", "Y", "N",  # D3: an invalid answer is asked again; suggestion some-concerns
        "n", "high", "", "many drop-outs in one arm",  # overridden; an empty reason is asked again
        "N", "N", "N", "y",  # D4: assessors unaware (4.3 N) so 4.4 and 4.5 are NA -> low
        "Y", "N", "N", "y",  # D5 low
        "y",  # overall high (a domain is high), accepted
    ]
    asked, ask = _scripted(answers)
    said: list[str] = []
    entry = assess("rob2", "mortality", "", "assignment", ask, said.append, "alice")  # type: ignore[arg-type]
    assert entry["judgements"] == {"D1": "low", "D2": "low", "D3": "high", "D4": "low", "D5": "low", "overall": "high"}
    assert entry["reasons"] == {"D3": "many drop-outs in one arm"}
    assert entry["answers"]["3.4"] == "N"
    assert (entry["answers"]["2.4"], entry["answers"]["2.7"], entry["answers"]["4.5"]) == ("NA", "NA", "NA")
    assert any(q.startswith("Please answer one of Y, PY, PN, N, NI, NA. 3.1") for q in asked)
    assert "D3: suggested judgement 'some-concerns' (missingness could, but is unlikely to, depend on the true value (3.4 N/PN))." in said


def test_interactive_mmat_and_robins() -> None:
    _, ask = _scripted(["rct", "yes", "yes", "yes", "no", "can't tell", "yes", "yes"])
    entry = assess("mmat", "*", "", "assignment", ask, lambda s: None)  # type: ignore[arg-type]
    assert entry["category"] == "rct" and entry["answers"]["2.3"] == "cant-tell"
    _, ask = _scripted(["low", "moderate", "low", "low", "serious", "low", "low", "y"])
    entry = assess("robins-i", "*", "", "assignment", ask, lambda s: None)  # type: ignore[arg-type]
    assert entry["judgements"]["overall"] == "serious"
    with pytest.raises(InputError, match="unknown risk-of-bias tool 'cochrane'"):
        assess("cochrane", "*", "", "assignment", ask, lambda s: None)  # type: ignore[arg-type]


def test_save_assessment_appends_keeps_comments_and_asks_before_replacing(tmp_path: Path) -> None:
    path = tmp_path / "demo-2020.alice.toml"
    shutil.copy(FIXTURES / "demo-2020.alice.toml", path)
    entry = {"tool": "rob2", "outcome": "mortality", "judgements": {"D1": "low"}}
    save_assessment(read_file(path), entry, confirm=lambda q: False)
    text = path.read_text()
    assert text.startswith("# SYNTHETIC test fixture")
    assert [e["outcome"] for e in read_file(path).data["rob"]] == ["*", "mortality"]
    with pytest.raises(InputError, match="already has that assessment and it was not replaced"):
        save_assessment(read_file(path), {**entry, "judgements": {"D1": "high"}}, confirm=lambda q: False)
    assert path.read_text() == text
    save_assessment(read_file(path), {**entry, "judgements": {"D1": "high"}}, confirm=lambda q: True)
    assert read_file(path).data["rob"][1]["judgements"] == {"D1": "high"}


def test_traffic_light_plot(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "demo-2020.alice.toml", tmp_path / "demo-2020.toml")
    text = (tmp_path / "demo-2020.toml").read_text().replace('reviewer = "alice"', 'reviewer = "consensus"')
    (tmp_path / "demo-2020.toml").write_text(text)
    from synth.extraction.files import load_folder

    files, _ = load_folder(tmp_path)
    rows = rob_rows(files, "rob2")
    assert rows[0]["judgements"]["D4"] == "some-concerns"
    svg = traffic_light(rows, tmp_path / "rob.svg")
    content = svg.read_text()
    assert content.startswith("<?xml") and "Demo 2020" in content and "#e2df07" in content.lower()
    assert traffic_light(rows, tmp_path / "rob.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InputError, match="no robins-i assessments in the reconciled extraction files"):
        traffic_light(rob_rows(files, "robins-i"), tmp_path / "x.svg", tool="robins-i")
    with pytest.raises(InputError, match="unknown file type"):
        traffic_light(rows, tmp_path / "x.gif")


def test_tidy_table_gives_an_epoc_assessment_its_summary_class() -> None:
    from synth.extraction.files import ExtractionFile
    from synth.extraction.table import tidy_rows
    from synth.protocol import load_protocol

    protocol = load_protocol(REPO / "protocols" / "partnership-outcomes.toml")
    data = {"study": "cba-2015", "reviewer": "consensus", "status": "complete", "citation": {"label": "CBA 2015"},
            "outcomes": [{"outcome": "mortality", "timepoint": "follow-up", "events_t": 3, "n_t": 40,
                          "events_c": 5, "n_c": 41}],
            "rob": [{"tool": "epoc", "outcome": "mortality",
                     "judgements": {"E1": "high", "E2": "high", "E3": "low", "E5": "unclear"}}]}
    row = tidy_rows([ExtractionFile(Path("cba-2015.toml"), "cba-2015", None, data)], protocol, "mortality")[0]
    assert row["rob_tool"] == "epoc" and row["rob_overall"] == "high"
    assert rob.rob_class(row["rob_overall"]) == "high"  # counted by GRADE, not as "not assessed"
