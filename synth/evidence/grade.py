"""GRADE-style certainty of evidence for one outcome, with every rating change stating its rule and numbers.

GRADE (Guyatt et al. 2008, 2011; Schünemann et al. 2022 GRADE guidance 34-35 on imprecision) is a judgement;
this module applies explicit, published-threshold rules so the judgement is reproducible and arguable. The
rules (all documented in ``docs/evidence.md``):

* No study: ``no evidence``; studies but no pooled estimate (synth.meta could not pool): ``not rated``.
* Start: **High** when at least half of the analysis weight comes from randomised studies, otherwise **Low**.
* Risk of bias (one rating for the domain, the most severe rule that applies): share of weight from studies at
  high risk >= 50 % -> -2; share not assessed >= 50 % -> -2 (nothing is known about the bias of most of the
  evidence, so it supports at most low certainty); high >= 25 %, or high and not assessed together >= 50 % ->
  -1; otherwise share at high risk or with some concerns >= 50 % -> -1 (Cochrane Handbook ch. 14: rate down
  when most of the information comes from studies at high or unclear risk).
* Inconsistency (k >= 2): I^2 >= 75 % and the prediction interval includes both benefit and harm -> -2;
  I^2 >= 50 % -> -1 (Higgins et al. 2003 bands; GRADE 7, Guyatt 2011).
* Indirectness: -1 when flagged: by :mod:`synth.evidence.maturity` when >= 50 % of the weight comes from
  studies whose extraction does not record what a protocol eligibility rule assesses (their fit to the question
  is unverified), or as supplied by the caller; otherwise not rated down and said so.
* Imprecision (GRADE 34/35). With a minimal important effect ``mie``, partly contextualised (the threshold is
  the MIE): CI includes both an important benefit and an important harm -> -2; else CI includes both an
  important and a trivial effect -> -1; else (CI wholly beyond or wholly within the MIE) participants below the
  optimal information size -> -1 (GRADE 6). Without an MIE, minimally contextualised (the threshold is no
  effect): CI includes no effect -> -1; else participants below the OIS -> -1. k = 1 -> at least -1.
  When the participants are below half the OIS, one more level (GRADE 35: "if the sample size is far below
  the OIS consider rating down more than one level"), at most -3 in all.
* Publication bias: assessed only where k >= 10 (Sterne et al. 2011); Egger's test p < 0.10 -> -1; with
  k < 10 it is not assessable and the reason says so.
* Rate up (non-randomised start only, no risk-of-bias downgrade): ratio >= 2 or <= 0.5 -> +1; >= 5 or
  <= 0.2 -> +2 (large effect, GRADE 9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

LEVELS = {4: "high", 3: "moderate", 2: "low", 1: "very low"}


@dataclass(frozen=True)
class GradeInputs:
    """Plain numbers for one outcome (effect on the analysis scale; log for ratio measures)."""

    k: int
    participants: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    measure: str = "SMD"
    mie: float | None = None
    share_randomised: float = 1.0
    share_weight_high_rob: float = 0.0
    share_weight_some_concerns: float = 0.0
    share_weight_unknown_rob: float = 0.0
    i2: float | None = None
    pi_low: float | None = None
    pi_high: float | None = None
    ois_fraction: float | None = None
    small_study_p: float | None = None
    indirectness: tuple[str, ...] = ()


@dataclass
class Certainty:
    rating: str
    level: int
    start: str
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rating": self.rating, "level": self.level, "start": self.start, "reasons": self.reasons}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _reason(domain: str, change: int, rule: str, numbers: dict[str, Any], text: str) -> dict[str, Any]:
    return {"domain": domain, "change": change, "rule": rule, "numbers": numbers, "text": text}


def rate(inp: GradeInputs) -> Certainty:
    """Apply the rules in the module docstring; ``reasons`` lists every domain, including those not rated down."""
    reasons: list[dict[str, Any]] = []
    if inp.k == 0 or inp.estimate is None:
        if inp.k:
            return Certainty("not rated", 0, "none",
                             [_reason("evidence", 0, "no pooled estimate", {"k": inp.k},
                                      f"{inp.k} studies measured this outcome but no pooled estimate could be "
                                      "computed (see the outcome's notes): certainty is not rated.")])
        return Certainty("no evidence", 0, "none",
                         [_reason("evidence", 0, "no study measured this outcome", {"k": inp.k},
                                  "No included study reported this outcome: certainty cannot be rated.")])
    randomised = inp.share_randomised >= 0.5
    level = 4 if randomised else 2
    start = "high (randomised evidence)" if randomised else "low (non-randomised evidence)"
    reasons.append(_reason("start", 0, "start high if >= 50% of weight is randomised, else low",
                           {"share_randomised": round(inp.share_randomised, 3)},
                           f"Starts {start.split(' ')[0]}: {_pct(inp.share_randomised)} of the weight is from randomised studies."))

    # Risk of bias.
    hi, sc, un = inp.share_weight_high_rob, inp.share_weight_some_concerns, inp.share_weight_unknown_rob
    if hi >= 0.5:
        rob = _reason("risk of bias", -2, "weight at high risk >= 50% -> -2", {"share_weight_high_rob": round(hi, 3)},
                      f"{_pct(hi)} of the weight comes from studies at high risk of bias (>= 50%): very serious.")
    elif un >= 0.5:
        # nothing is known about the bias of most of the evidence: it cannot support more than low certainty
        rob = _reason("risk of bias", -2, "weight with no risk-of-bias assessment >= 50% -> -2 (at most low)",
                      {"share_weight_unknown_rob": round(un, 3)},
                      f"{_pct(un)} of the weight comes from studies whose risk of bias was not assessed (>= 50%): "
                      "very serious, as the bias of most of the evidence is unknown.")
    elif hi >= 0.25 or hi + un >= 0.5:
        rob = _reason("risk of bias", -1, "weight at high risk >= 25%, or at high risk or not assessed >= 50% -> -1",
                      {"share_weight_high_rob": round(hi, 3), "share_weight_unknown_rob": round(un, 3)},
                      f"{_pct(hi)} of the weight comes from studies at high risk of bias and {_pct(un)} from studies "
                      "not assessed: serious.")
    elif hi + sc >= 0.5:
        rob = _reason("risk of bias", -1, "weight at high risk or some concerns >= 50% -> -1",
                      {"share_weight_high_rob": round(hi, 3), "share_weight_some_concerns": round(sc, 3)},
                      f"{_pct(hi + sc)} of the weight comes from studies at high risk or with some concerns (>= 50%).")
    else:
        rob = _reason("risk of bias", 0, "weight at high risk < 25% and high/some concerns < 50%",
                      {"share_weight_high_rob": round(hi, 3), "share_weight_some_concerns": round(sc, 3)},
                      f"Not serious: {_pct(hi)} of the weight at high risk, {_pct(sc)} with some concerns.")
    reasons.append(rob)

    # Inconsistency.
    if inp.k < 2 or inp.i2 is None:
        reasons.append(_reason("inconsistency", 0, "k < 2: not assessable", {"k": inp.k},
                               "Not assessable with a single study (not rated down; imprecision covers it)."))
    else:
        i2 = inp.i2
        pi_both = (inp.pi_low is not None and inp.pi_high is not None and inp.pi_low < 0 < inp.pi_high)
        if i2 >= 75 and pi_both:
            reasons.append(_reason("inconsistency", -2, "I^2 >= 75% and prediction interval spans benefit and harm -> -2",
                                   {"i2": round(i2, 1), "pi_low": inp.pi_low, "pi_high": inp.pi_high},
                                   f"I^2 = {i2:.0f}% and the 95% prediction interval includes both benefit and harm."))
        elif i2 >= 50:
            reasons.append(_reason("inconsistency", -1, "I^2 >= 50% -> -1", {"i2": round(i2, 1)},
                                   f"Substantial heterogeneity: I^2 = {i2:.0f}% (>= 50%)."))
        else:
            reasons.append(_reason("inconsistency", 0, "I^2 < 50%", {"i2": round(i2, 1)},
                                   f"Not serious: I^2 = {i2:.0f}%."))

    # Indirectness.
    if inp.indirectness:
        reasons.append(_reason("indirectness", -1, "indirectness flagged (the protocol's eligibility rules or the review)",
                               {"flags": list(inp.indirectness)},
                               "Serious indirectness: " + "; ".join(inp.indirectness) + "."))
    else:
        reasons.append(_reason("indirectness", 0, "no indirectness flagged", {},
                               "Not rated down: no study was flagged as indirect to the review question."))

    reasons.append(_imprecision(inp))

    # Publication bias.
    if inp.k >= 10 and inp.small_study_p is not None:
        if inp.small_study_p < 0.10:
            reasons.append(_reason("publication bias", -1, "k >= 10 and Egger p < 0.10 -> -1",
                                   {"k": inp.k, "egger_p": inp.small_study_p},
                                   f"Funnel asymmetry: Egger's test p = {inp.small_study_p:.3f} with {inp.k} studies."))
        else:
            reasons.append(_reason("publication bias", 0, "k >= 10 and Egger p >= 0.10",
                                   {"k": inp.k, "egger_p": inp.small_study_p},
                                   f"No funnel asymmetry detected (Egger p = {inp.small_study_p:.3f}, k = {inp.k})."))
    else:
        reasons.append(_reason("publication bias", 0, "k < 10: small-study tests not applied", {"k": inp.k},
                               f"Not assessable: {inp.k} studies (small-study tests need at least 10); not rated down, "
                               "but undetected publication bias remains possible."))

    # Rate up for large effects in non-randomised evidence.
    if not randomised and rob["change"] == 0 and inp.measure.upper() in ("RR", "OR"):
        ratio = math.exp(inp.estimate)
        if ratio >= 5 or ratio <= 0.2:
            reasons.append(_reason("large effect", 2, "ratio >= 5 or <= 0.2 -> +2", {"ratio": round(ratio, 3)},
                                   f"Very large effect (ratio {ratio:.2f})."))
        elif ratio >= 2 or ratio <= 0.5:
            reasons.append(_reason("large effect", 1, "ratio >= 2 or <= 0.5 -> +1", {"ratio": round(ratio, 3)},
                                   f"Large effect (ratio {ratio:.2f})."))

    total = level + sum(int(r["change"]) for r in reasons)
    final = min(4, max(1, total))
    return Certainty(LEVELS[final], final, start, reasons)


def _shown(inp: GradeInputs, x: float) -> str:
    """``x`` (analysis scale) as the report's tables show it: on the measure's natural scale (a ratio, not its
    log), 2 decimals, so a reason quotes the numbers the reader sees."""
    from synth.meta.effects import back_transform

    natural = back_transform(inp.measure, float(x))
    return f"{float(natural if natural is not None else x):.2f}"


def _ci_text(inp: GradeInputs, lo: float, hi: float) -> str:
    return f"the CI ({inp.measure} {_shown(inp, lo)} to {_shown(inp, hi)})"


def _imprecision(inp: GradeInputs) -> dict[str, Any]:
    lo, hi = inp.ci_low, inp.ci_high
    mie = abs(inp.mie) if inp.mie else None
    nums: dict[str, Any] = {"ci_low": lo, "ci_high": hi, "mie": mie, "participants": inp.participants,
                            "ois_fraction": None if inp.ois_fraction is None else round(inp.ois_fraction, 3), "k": inp.k}
    if lo is None or hi is None:
        return _reason("imprecision", -1, "no confidence interval -> -1", nums, "No confidence interval could be computed.")
    change = 0
    parts: list[str] = []
    rule: list[str] = []
    if mie is not None and lo < -mie and hi > mie:
        change = -2
        rule.append("CI includes important benefit and important harm -> -2")
        parts.append(f"{_ci_text(inp, lo, hi)} includes important effects in both directions (beyond "
                     f"{_shown(inp, -mie)} and {_shown(inp, mie)})")
    elif mie is not None:
        # partly contextualised (GRADE 32, Zeng et al. 2021): the threshold is the minimal important effect,
        # not no effect
        important = lo <= -mie or hi >= mie
        trivial = lo < mie and hi > -mie
        if important and trivial:
            change = -1
            rule.append("CI includes an important and a trivial effect -> -1")
            parts.append(f"{_ci_text(inp, lo, hi)} includes both important effects (beyond {_shown(inp, -mie)} or "
                         f"{_shown(inp, mie)}) and trivial ones")
        elif inp.ois_fraction is not None and inp.ois_fraction < 1:
            change = -1
            rule.append("CI on one side of the minimal important effect but participants < OIS -> -1")
            parts.append(f"{inp.participants} participants are {_pct(inp.ois_fraction)} of the optimal information "
                         "size")
    elif lo < 0 < hi:
        change = -1
        rule.append("CI includes no effect -> -1")
        parts.append(f"{_ci_text(inp, lo, hi)} includes no effect ({_shown(inp, 0.0)})")
    elif inp.ois_fraction is not None and inp.ois_fraction < 1:
        change = -1
        rule.append("CI excludes no effect but participants < OIS -> -1")
        parts.append(f"{inp.participants} participants are {_pct(inp.ois_fraction)} of the optimal information size")
    if change < 0 and inp.ois_fraction is not None and inp.ois_fraction < 0.5:
        change -= 1
        rule.append("participants < 50% of OIS -> one more level")
        parts.append(f"only {_pct(inp.ois_fraction)} of the optimal information size was reached")
    if inp.k == 1 and change == 0:
        change = -1
        rule.append("single study -> -1")
        parts.append("a single study")
    change = max(change, -3)
    ois_text = ("the optimal information size is reached." if inp.ois_fraction is not None else
                "the optimal information size could not be computed, so it was not checked.")
    if change == 0 and mie is not None:
        side = "beyond" if (lo >= mie or hi <= -mie) else "within"
        return _reason("imprecision", 0, "CI wholly on one side of the minimal important effect and OIS reached", nums,
                       f"Not serious: {_ci_text(inp, lo, hi)} lies wholly {side} the minimal important effect "
                       f"({_shown(inp, -mie)} to {_shown(inp, mie)}), and " + ois_text)
    if change == 0:
        return _reason("imprecision", 0, "CI excludes no effect and OIS reached", nums,
                       f"Not serious: {_ci_text(inp, lo, hi)} excludes no effect ({_shown(inp, 0.0)}) and " + ois_text)
    return _reason("imprecision", change, "; ".join(rule), nums, "Imprecise: " + "; ".join(parts) + ".")
