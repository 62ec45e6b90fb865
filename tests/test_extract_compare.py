"""Double extraction: comparison with tolerances, agreement statistics, interactive reconciliation."""

from __future__ import annotations

from pathlib import Path

import pytest

from synth.extraction.compare import agreement, compare, methods_text, values_agree
from synth.extraction.files import dumps, parse_text, read_file
from synth.extraction.reconcile import parse_value, reconcile
from synth.extraction.validate import validate_file
from synth.protocol import load_protocol
from synth.protocol.model import Protocol

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "extraction"
TEMPLATE = REPO / "synth" / "protocol" / "templates" / "partnership-outcomes.toml"


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol(TEMPLATE)


def test_values_agree_rules() -> None:
    assert values_agree(0.7104, 0.71, "number")  # relative difference 0.06% < 0.1%
    assert not values_agree(0.72, 0.71, "number")
    assert not values_agree(0.7104, 0.71, "number", rel_tol=1e-5)
    assert values_agree(12, 12.0, "count") and not values_agree(12, 13, "count")
    assert values_agree("Older  People", "older people", "text")
    assert values_agree(["a", "b"], ["b", "a"], "multichoice")
    assert values_agree("Some concerns", "some-concerns", "rob-judgement")
    assert not values_agree(None, 1, "count") and values_agree(None, None, "count")
    assert not values_agree("NR", "", "text")


def test_compare_fixture_pair(protocol: Protocol) -> None:
    a = read_file(FIXTURES / "demo-2020.alice.toml")
    b = read_file(FIXTURES / "demo-2020.bob.toml")
    items = compare("demo-2020", a.data, b.data, protocol)
    disagree = {i.path: (i.a, i.b) for i in items if not i.agree}
    assert disagree == {
        "characteristics.setting": ("community", "hospital-to-home"),
        "outcomes[residential-care@follow-up].events_t": (10, 11),
        "outcomes[mortality@follow-up].events_t": (None, 5),
        "outcomes[mortality@follow-up].n_t": (None, 100),
        "outcomes[mortality@follow-up].events_c": (None, 6),
        "outcomes[mortality@follow-up].n_c": (None, 100),
        "outcomes[mortality@follow-up].source_location": (None, "Text, p. 6"),
        "rob[rob2:*@].judgements.D4": ("some-concerns", "low"),
        "rob[rob2:*@].judgements.overall": ("some-concerns", "low"),
    }
    stats = {r["field_type"]: r for r in agreement(items)}
    assert stats["count"]["compared"] == 10 and stats["count"]["agreed"] == 5 and stats["count"]["kappa"] is None
    # choice: design, setting, partnership_model, governance; 3 of 4 agree; categories pooled over fields:
    # p_o = 3/4, p_e = (1*1 [rct] + 1*1 [integrated-team] + 1*1 [joint-board] + 1*0 + 0*1) / 16 = 3/16
    assert stats["choice"]["kappa"] == round((0.75 - 3 / 16) / (1 - 3 / 16), 3)
    # judgements: 6 compared, 4 agree, both reviewers' labels: a = low x4, some x2; b = low x6
    assert stats["rob-judgement"]["percent"] == 66.7 and stats["rob-judgement"]["kappa"] == 0.0
    text = methods_text(agreement(items), 1)
    assert text.startswith("Two reviewers extracted 1 study independently; agreement before reconciliation by field type: ")
    assert "count 5/10 (50.0%)" in text and "rob-judgement 4/6 (66.7%, kappa 0.00)" in text


def test_parse_value() -> None:
    assert parse_value("42") == 42 and parse_value("1.5") == 1.5 and parse_value("true") is True
    assert parse_value('["a", "b"]') == ["a", "b"] and parse_value("free text") == "free text"


def test_reconcile_asks_about_each_discrepancy(protocol: Protocol) -> None:
    a = read_file(FIXTURES / "demo-2020.alice.toml")
    b = read_file(FIXTURES / "demo-2020.bob.toml")
    answers = {
        "characteristics.setting": ["x", "1"],  # an invalid answer is asked again
        "outcomes[residential-care@follow-up].events_t": ["e", "12"],
        "rob[rob2:*@].judgements.D4": ["2"],
        "rob[rob2:*@].judgements.overall": ["2"],
    }
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        for path, queue in answers.items():
            if question.startswith((f"{path}: ", f"Please answer 1, 2, e or s. {path}: ")):
                return queue.pop(0)
        return "2" if "mortality" in question else "s"

    merged, decisions = reconcile(a, b, protocol, ask)
    assert merged["reviewer"] == "consensus" and merged["status"] == "complete"
    assert merged["characteristics"]["setting"] == "community"
    rows = {(r["outcome"], r["timepoint"]): r for r in merged["outcomes"]}
    assert rows[("residential-care", "follow-up")]["events_t"] == 12
    assert rows[("mortality", "follow-up")] == {"outcome": "mortality", "timepoint": "follow-up", "events_t": 5,
                                                "n_t": 100, "events_c": 6, "n_c": 100, "source_location": "Text, p. 6"}
    assert merged["rob"][0]["judgements"]["D4"] == "low"
    assert len(decisions) == 9
    assert any(q.startswith("Please answer 1, 2, e or s. characteristics.setting") for q in asked)
    # the consensus round-trips through TOML and validates
    f = read_file(FIXTURES / "demo-2020.alice.toml")
    text = dumps(merged)
    reparsed = parse_text(text, "merged")
    assert reparsed["outcomes"][2]["events_c"] == 6
    assert validate_file(type(f)(Path("demo-2020.toml"), "demo-2020", None, reparsed), protocol, "partnership-outcomes") == []


def test_reconcile_leaving_a_row_out_removes_it(protocol: Protocol) -> None:
    a = read_file(FIXTURES / "demo-2020.alice.toml")
    b = read_file(FIXTURES / "demo-2020.bob.toml")
    merged, _ = reconcile(a, b, protocol, lambda q: "1")
    assert [r["outcome"] for r in merged["outcomes"]] == ["residential-care", "quality-of-life"]


def test_rows_of_several_effects_are_matched_by_effect_not_position(protocol: Protocol) -> None:
    from synth.extraction.files import ExtractionFile

    def row(effect: str, events_t: int) -> dict[str, object]:
        return {"outcome": "mortality", "timepoint": "follow-up", "effect": effect, "events_t": events_t, "n_t": 50,
                "events_c": 9, "n_c": 50, "source_location": "T2"}

    base = {"schema_version": 1, "study": "two-2021", "protocol": "partnership-outcomes", "status": "complete"}
    alice = ExtractionFile(Path("two-2021.alice.toml"), "two-2021", "alice",
                           {**base, "reviewer": "alice", "outcomes": [row("site A", 4), row("site B", 7)]})
    # bob lists the sites the other way round and reads site B's events differently
    bob = ExtractionFile(Path("two-2021.bob.toml"), "two-2021", "bob",
                         {**base, "reviewer": "bob", "outcomes": [row("site B", 8), row("site A", 4)]})
    diffs = [i for i in compare("two-2021", alice.data, bob.data, protocol) if not i.agree]
    assert [(i.path, i.a, i.b) for i in diffs] == [("outcomes[mortality@follow-up#site B].events_t", 7, 8)]
    merged, log = reconcile(alice, bob, protocol, lambda q: "2")
    assert {r["effect"]: r["events_t"] for r in merged["outcomes"]} == {"site A": 4, "site B": 8}
    assert len(merged["outcomes"]) == 2 and log[0]["chosen"] == 8
