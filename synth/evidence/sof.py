"""A Cochrane-style Summary of Findings row for one outcome, from plain numbers.

Follows the Cochrane Handbook (v6.4) chapter 14 (Schünemann et al., "Completing 'Summary of findings' tables and
grading the certainty of the evidence") and GRADE guidance 26 on informative statements (Santesso et al. 2020,
J Clin Epidemiol 119:126-135):

* **Assumed risk** (binary outcomes): the median control-group risk of the included studies (Handbook 14.1.5.1:
  "the median control group risk across studies"), stated with how many studies it comes from.
* **Corresponding risk** = the assumed risk with the pooled relative effect applied: RR x p0 for a risk ratio,
  OR p0 / (1 - p0 + OR p0) for an odds ratio (Handbook 14.1.5.1), p0 + RD for a risk difference; its interval
  applies the CI bounds the same way. Risks are shown per 1000, each rounded to the nearest whole number from
  the unrounded risk; the **difference** per 1000 (corresponding minus assumed, with its interval) is rounded
  the same way, so it can differ by 1 from the difference of the rounded figures, as in GRADEpro.
* **Statement** (Santesso 2020, table 3): the certainty sets the verb (high: "reduces", moderate: "probably
  reduces", low: "may reduce", very low: "the evidence is very uncertain about the effect"), and the size sets
  the object: a point estimate at least the minimal important effect is an effect ("reduces"/"increases"),
  below it "little or no difference". With no minimal important effect in the protocol the size cannot be
  judged, and the statement says whether the CI excludes no effect instead.
* **SMD re-expression** (Handbook 15.5.3): Cohen's rule of thumb (0.2 small, 0.5 moderate, 0.8 large) and the
  odds ratio the SMD corresponds to under a logistic distribution (ln OR = SMD x pi / sqrt(3), Chinn 2000).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

RISK_MEASURES = ("RR", "OR", "RD")


def corresponding_risk(measure: str, p0: float, effect: float) -> float:
    """The intervention-group risk implied by control risk ``p0`` and ``effect`` on the analysis scale (log RR,
    log OR, or RD), kept inside [0, 1]."""
    if not 0 <= p0 <= 1:
        raise ValueError(f"a control-group risk must be between 0 and 1, not {p0}")
    m = measure.upper()
    if m == "RR":
        p1 = p0 * math.exp(effect)
    elif m == "OR":
        odds = math.exp(effect)
        p1 = odds * p0 / (1 - p0 + odds * p0)
    elif m == "RD":
        p1 = p0 + effect
    else:
        raise ValueError(f"no corresponding risk for the measure {measure}")
    return min(1.0, max(0.0, p1))


def _per_1000(p: float) -> int:
    return math.floor(1000 * p + 0.5)


def _size(estimate: float, ci_low: float, ci_high: float, mie: float | None) -> str:
    """``effect``, ``little`` (below the minimal important effect) or, with no MIE, ``effect``/``unclear``."""
    if mie:
        return "effect" if abs(estimate) >= abs(mie) else "little"
    return "effect" if (ci_low > 0 or ci_high < 0) else "unclear"


def statement(certainty: str, estimate: float, ci_low: float, ci_high: float, mie: float | None,
              intervention: str, outcome: str) -> str:
    """The GRADE informative statement (Santesso et al. 2020) for one outcome."""
    subject = intervention.strip() or "The intervention"
    what = outcome.strip().lower() or "the outcome"
    rating = certainty.lower()
    if rating == "very low":
        return f"The evidence is very uncertain about the effect of {subject.lower()} on {what}."
    if rating not in ("high", "moderate", "low"):
        return f"The effect of {subject.lower()} on {what} cannot be stated: certainty is {rating}."
    size = _size(estimate, ci_low, ci_high, mie)
    hedge = {"high": "", "moderate": "probably ", "low": "may "}[rating]
    if size == "little":
        verb = {"high": "results", "moderate": "probably results", "low": "may result"}[rating]
        return f"{subject} {verb} in little or no difference in {what}."
    if size == "unclear":
        verb = {"high": "has", "moderate": "probably has", "low": "may have"}[rating]
        return (f"{subject} {verb} an effect on {what} whose importance cannot be judged: the protocol gives no "
                "minimal important effect, and the confidence interval includes no effect.")
    direction = "reduce" if estimate < 0 else "increase"
    verb = (direction + "s") if not hedge or hedge == "probably " else direction
    return f"{subject} {hedge}{verb} {what}."


def smd_re_expression(estimate: float, ci_low: float, ci_high: float) -> str:
    """An SMD in words: Cohen's size band and the odds ratio it corresponds to (Chinn 2000)."""
    size = abs(estimate)
    band = ("a large" if size >= 0.8 else "a moderate" if size >= 0.5 else "a small" if size >= 0.2
            else "a less than small")
    k = math.pi / math.sqrt(3)
    return (f"SMD {estimate:.2f} ({ci_low:.2f} to {ci_high:.2f}): {band} effect by Cohen's rule of thumb "
            f"(0.2 small, 0.5 moderate, 0.8 large); about OR {math.exp(k * estimate):.2f} "
            f"({math.exp(k * ci_low):.2f} to {math.exp(k * ci_high):.2f}) if the outcome were dichotomised "
            "(ln OR = SMD x 1.81).")


def summary_of_findings(
    *,
    measure: str,
    estimate: float | None,
    ci_low: float | None,
    ci_high: float | None,
    control_risks: Sequence[float],
    certainty: str,
    reasons: Sequence[str],
    mie: float | None,
    intervention: str,
    outcome: str,
    k: int,
    participants: int,
    status: str = "not measured",
) -> dict[str, Any]:
    """The ``sof`` entry of one outcome in ``evidence.json``; per-1000 fields are ``None`` unless the measure is
    a risk measure (RR, OR, RD) with a pooled estimate and at least one control-group risk."""
    m = measure.upper()
    out: dict[str, Any] = {
        "assumed_per_1000": None, "corresponding_per_1000": None, "corresponding_ci_per_1000": None,
        "difference_per_1000": None, "difference_ci_per_1000": None, "assumed_risk_basis": None,
        "relative_effect": None, "participants": participants, "studies": k, "certainty": certainty,
        "reasons": list(reasons), "statement": None, "re_expression": None,
    }
    if estimate is None or ci_low is None or ci_high is None:
        out["statement"] = (f"No pooled estimate for {outcome.strip().lower() or 'this outcome'}: "
                            + ("see the outcome's notes." if k else
                               "no data were extracted from the included studies." if status == "not extracted"
                               else "no included study measured it."))
        return out
    out["statement"] = statement(certainty, estimate, ci_low, ci_high, mie, intervention, outcome)
    if m in ("RR", "OR"):
        out["relative_effect"] = {"measure": m, "estimate": math.exp(estimate), "ci": [math.exp(ci_low),
                                                                                        math.exp(ci_high)]}
    elif m == "SMD":
        out["re_expression"] = smd_re_expression(estimate, ci_low, ci_high)
    risks = [float(r) for r in control_risks if r is not None and 0 <= r <= 1]
    if m in RISK_MEASURES and risks:
        p0 = statistics.median(risks)
        p1, lo, hi = (corresponding_risk(m, p0, x) for x in (estimate, ci_low, ci_high))
        lo, hi = min(lo, hi), max(lo, hi)
        out.update({
            "assumed_per_1000": _per_1000(p0), "corresponding_per_1000": _per_1000(p1),
            "corresponding_ci_per_1000": [_per_1000(lo), _per_1000(hi)],
            "difference_per_1000": _per_1000(p1 - p0) if p1 >= p0 else -_per_1000(p0 - p1),
            "difference_ci_per_1000": [(_per_1000(x - p0) if x >= p0 else -_per_1000(p0 - x)) for x in (lo, hi)],
            "assumed_risk_basis": f"median control-group risk of {len(risks)} "
                                  f"{'study' if len(risks) == 1 else 'studies'}",
        })
    return out
