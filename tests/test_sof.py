"""Summary of Findings arithmetic and statements, pinned by hand (Cochrane Handbook 14.1.5.1; Santesso et al.
2020). Every expected number below is worked out in the comment beside it."""

from __future__ import annotations

import math

import pytest

from synth.evidence.maturity import StudyEffect, assess_outcome
from synth.evidence.sof import corresponding_risk, smd_re_expression, statement, summary_of_findings

LN = math.log


def sof(measure: str = "RR", est: float = LN(0.88), lo: float = LN(0.68), hi: float = LN(1.13),
        risks: tuple[float, ...] = (0.10, 0.20, 0.30), certainty: str = "moderate", mie: float | None = LN(0.8),
        **kw: object) -> dict:
    return summary_of_findings(measure=measure, estimate=est, ci_low=lo, ci_high=hi, control_risks=risks,
                               certainty=certainty, reasons=kw.pop("reasons", ()), mie=mie,  # type: ignore[arg-type]
                               intervention="Joint teams", outcome="Mortality", k=3, participants=900)


def test_risk_ratio_per_1000() -> None:
    out = sof()
    # median control risk 0.20 -> 200 per 1000; 0.20 x 0.88 = 0.176 -> 176; CI 0.20 x 0.68 = 0.136, x 1.13 = 0.226
    assert out["assumed_per_1000"] == 200
    assert out["corresponding_per_1000"] == 176
    assert out["corresponding_ci_per_1000"] == [136, 226]
    # difference 0.176 - 0.200 = -0.024 -> 24 fewer; CI -0.064 to +0.026
    assert out["difference_per_1000"] == -24
    assert out["difference_ci_per_1000"] == [-64, 26]
    assert out["assumed_risk_basis"] == "median control-group risk of 3 studies"
    assert out["relative_effect"]["estimate"] == pytest.approx(0.88)


def test_odds_ratio_uses_the_odds_not_the_risk() -> None:
    # p0 = 0.20 (odds 0.25); OR 0.5 -> odds 0.125 -> risk 0.125 / 1.125 = 0.1111 -> 111 per 1000 (RR would give 100)
    assert corresponding_risk("OR", 0.20, LN(0.5)) == pytest.approx(0.125 / 1.125)
    out = sof("OR", LN(0.5), LN(0.25), LN(1.0))
    # CI: OR 0.25 -> odds 0.0625 -> 0.0588 -> 59; OR 1.0 -> 0.200 -> 200
    assert (out["corresponding_per_1000"], out["corresponding_ci_per_1000"]) == (111, [59, 200])
    assert out["difference_per_1000"] == -89   # 0.1111 - 0.2 = -0.0889


def test_risk_difference_and_bounds() -> None:
    out = sof("RD", -0.05, -0.09, -0.01, mie=0.03)
    assert (out["assumed_per_1000"], out["corresponding_per_1000"], out["corresponding_ci_per_1000"]) == (200, 150,
                                                                                                          [110, 190])
    assert out["relative_effect"] is None
    assert corresponding_risk("RR", 0.6, LN(3.0)) == 1.0   # a risk is never above 1
    with pytest.raises(ValueError, match="between 0 and 1"):
        corresponding_risk("RR", 1.5, 0.0)


def test_continuous_outcomes_have_no_per_1000_figures_and_smds_are_re_expressed() -> None:
    out = sof("SMD", -0.45, -0.70, -0.20, risks=(), mie=0.2)
    assert out["assumed_per_1000"] is None and out["corresponding_ci_per_1000"] is None
    # 0.45 is small (>= 0.2, < 0.5); OR = exp(-0.45 x 1.8138) = 0.442
    assert "a small effect" in out["re_expression"]
    assert "about OR 0.44" in out["re_expression"]
    assert "a large effect" in smd_re_expression(0.9, 0.5, 1.3)
    assert sof("MD", -2.0, -3.0, -1.0, risks=(0.2,))["assumed_per_1000"] is None


@pytest.mark.parametrize(("certainty", "est", "expected"), [
    ("high", LN(0.7), "Joint teams reduces mortality."),
    ("moderate", LN(0.7), "Joint teams probably reduces mortality."),
    ("low", LN(0.7), "Joint teams may reduce mortality."),
    ("low", LN(1.4), "Joint teams may increase mortality."),
    ("moderate", LN(0.95), "Joint teams probably results in little or no difference in mortality."),
    ("low", LN(0.95), "Joint teams may result in little or no difference in mortality."),
    ("very low", LN(0.5), "The evidence is very uncertain about the effect of joint teams on mortality."),
])
def test_grade_plain_language_statements(certainty: str, est: float, expected: str) -> None:
    assert statement(certainty, est, est - 0.2, est + 0.2, LN(0.8), "Joint teams", "Mortality") == expected


def test_without_a_minimal_important_effect_the_size_is_not_claimed() -> None:
    text = statement("moderate", LN(0.9), LN(0.7), LN(1.1), None, "Joint teams", "Mortality")
    assert "cannot be judged" in text
    assert statement("moderate", LN(0.7), LN(0.6), LN(0.8), None, "Joint teams", "Mortality") == \
        "Joint teams probably reduces mortality."


def test_assess_outcome_puts_a_sof_row_in_every_outcome() -> None:
    studies = [StudyEffect(f"s{i}", f"S{i}", LN(rr), 0.04, n=200, year=2010 + i, design="rct", rob="low",
                           control_risk=cr) for i, (rr, cr) in enumerate([(0.8, 0.1), (0.7, 0.3), (0.9, 0.2)])]
    out = assess_outcome({"id": "m", "label": "Mortality", "measure": "RR", "minimal_important_effect": LN(0.8),
                          "intervention": "Joint teams"}, studies)
    row = out["sof"]
    assert row["assumed_per_1000"] == 200 and row["studies"] == 3 and row["participants"] == 600
    assert row["certainty"] == out["certainty"]["rating"]
    assert row["reasons"] == [f"{r['domain'].capitalize()} ({r['change']:+d}): {r['text']}"
                              for r in out["certainty"]["reasons"] if r["change"] < 0]
    assert row["statement"].startswith("Joint teams ")
    empty = assess_outcome({"id": "q", "label": "Quality of life", "measure": "SMD"}, [])
    assert empty["sof"]["statement"] == "No pooled estimate for quality of life: no included study measured it."


def test_implausibly_large_study_effects_are_flagged_for_the_reviewer_not_dropped() -> None:
    from synth.evidence.maturity import implausible_effects

    studies = [StudyEffect("a", "A", LN(0.08), 0.3, n=100), StudyEffect("b", "B", LN(0.5), 0.1, n=100),
               StudyEffect("c", "C", LN(12), 0.4, n=100)]
    assert [x["study"] for x in implausible_effects("RR", studies)] == ["a", "c"]
    assert [x["study"] for x in implausible_effects("SMD", [StudyEffect("d", "D", 2.5, 0.1),
                                                           StudyEffect("e", "E", -1.9, 0.1)])] == ["d"]
    out = assess_outcome({"id": "m", "label": "Mortality", "measure": "RR"}, studies)
    assert out["k"] == 3 and [x["study"] for x in out["implausible"]] == ["a", "c"]
    assert any(n.startswith("Check A: RR 0.08 is beyond 10 or 1/10") for n in out["notes"])
