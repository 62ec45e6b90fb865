"""Per-outcome evidence maturity and the whole-review conclusion, from plain inputs.

For each protocol outcome: studies and participants, designs (share randomised), countries and settings, the
risk-of-bias profile (share of random-effects weight at each judgement), the pooled estimate with CI and
prediction interval, tau^2 and I^2, small-study tests only where k >= the protocol's minimum (10), the power
of the random-effects meta-analysis to detect the minimal important effect (:mod:`~synth.evidence.power`), the
optimal and heterogeneity-adjusted required information sizes (:mod:`~synth.evidence.ois`), a cumulative
meta-analysis by year with the first year (if any) the required information size was reached with a CI that
excludes no effect (or a CI excluded important effects), and the GRADE-style
certainty (:mod:`~synth.evidence.grade`).

Every pooled number comes from the meta-analysis module :mod:`synth.meta` through the adapter
:mod:`~synth.analysis.pooled`, with the protocol's estimator, CI method, level and prediction interval. A
caller may pass a synth.meta result dict (``pool_effects``/``pool_frame`` shape: ``estimate``, ``ci_low``,
``ci_high``, ``pi_low``, ``pi_high``, ``tau2``, ``i2``, ``studies`` with percent weights, optional
``small_study`` and ``cumulative``) instead. When synth.meta cannot pool, the outcome's estimate, CI, tau^2,
power and information size are ``None``, its notes say why, certainty is not rated and maturity is at most
``emerging``; no number is computed with another method.

Maturity stage per outcome (yardsticks from Jackson & Turner 2017, Sterne et al. 2011, Wetterslev et al. 2009):

* ``none`` — no quantitative study measured it;
* ``nascent`` — one study, nothing to pool;
* ``emerging`` — fewer than 5 studies (below which a random-effects meta-analysis rarely has more power than
  its studies), or power < the protocol's target, or the required information size not reached, or k >= 2
  but synth.meta could not pool the studies;
* ``developing`` — k >= 5, information size reached, but certainty low or very low;
* ``established`` — k >= 5, information size reached, certainty moderate or high.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synth.analysis.options import pool_options
from synth.analysis.pooled import cumulative_by_year, cumulative_clustered, egger, pool_clustered
from synth.analysis.pooled import pool as pool_studies
from synth.errors import InputError
from synth.evidence.grade import GradeInputs, rate
from synth.evidence.ois import information_size
from synth.evidence.power import meta_power, studies_needed, typical_variance
from synth.evidence.sof import summary_of_findings
from synth.wording import agree, count

if TYPE_CHECKING:
    from synth.meta.pooling import PoolOptions

RANDOMISED = ("rct", "cluster-rct", "randomised", "randomized")
RATIO = ("RR", "OR")


@dataclass(frozen=True)
class StudyEffect:
    """One study's effect on one outcome (analysis scale: log for RR/OR) and what the report needs about it."""

    study_id: str
    label: str
    yi: float
    vi: float
    n: int = 0
    year: int | None = None
    design: str = ""
    rob: str = "unknown"
    country: str = ""
    setting: str = ""
    model: str = ""
    control_risk: float | None = None
    sd: float | None = None
    #: why the study's eligibility under a protocol rule is unknown ("sectors not recorded"), or ""
    unverified: str = ""


@dataclass(frozen=True)
class Settings:
    """Yardsticks and the pooling choices (the protocol's ``[analysis]``; see :func:`synth.evidence.settings_from`).

    ``method`` is the tau^2 estimator, ``ci_method`` the test/CI (``hksj``, ``hksj-adhoc``, ``z``, ``t``),
    ``pi`` the prediction interval (``default``, ``hts`` or ``none``), all passed to :mod:`synth.meta`.
    """

    alpha: float = 0.05
    power: float = 0.8
    level: float = 95.0
    ci_method: str = "hksj"
    method: str = "REML"
    pi: str = "default"
    small_study_min_k: int = 10
    min_k: int = 2
    power_reps: int = 4000

    def pool_options(self) -> PoolOptions:
        """The pooling options these settings stand for (``pi = "none"``: the engine's default, not reported)."""
        return pool_options(method=self.method, test=self.ci_method, level=self.level,
                            pi=None if self.pi == "none" else self.pi)


def _share(counter: Mapping[str, float], total: float) -> dict[str, float]:
    return {k: (v / total if total else 0.0) for k, v in sorted(counter.items())}


def assess_outcome(
    outcome: Mapping[str, Any],
    studies: Sequence[StudyEffect],
    pooled: Mapping[str, Any] | None = None,
    settings: Settings = Settings(),
    *,
    indirectness: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the report says about one outcome, as JSON-ready data.

    ``outcome`` needs ``id``, ``label``, ``measure``; optional ``domain``, ``direction``
    (``lower-is-better``/``higher-is-better``), ``minimal_important_effect``, ``priority``, ``timepoint`` and
    ``notes`` (notes from gathering the data, kept first). ``pooled``: a synth.meta result for ``studies``
    (same order), or ``None`` to pool here with synth.meta (:mod:`~synth.analysis.pooled`).
    """
    measure = str(outcome.get("measure", "SMD")).upper()
    mie = outcome.get("minimal_important_effect")
    notes: list[str] = [str(n) for n in outcome.get("notes") or []]
    # k counts studies: with several effects per study (scales, subgroups, sites) each study is counted,
    # and its participants added, once
    units = _one_per_study(studies)
    dependent = len(units) < len(studies)
    base: dict[str, Any] = {
        "id": outcome["id"], "label": outcome.get("label", outcome["id"]), "domain": outcome.get("domain"),
        "priority": outcome.get("priority"), "measure": measure, "direction": outcome.get("direction"),
        "timepoint": outcome.get("timepoint"), "minimal_important_effect": mie, "k": len(units),
        "status": "measured" if studies else str(outcome.get("status") or "not measured"),
        "other_timepoints": list(outcome.get("other_timepoints") or []),
        "effects": len(studies), "participants": int(sum(s.n for s in units if s.n > 0)),
        "participants_not_reported": sum(1 for s in units if s.n <= 0),
    }
    if not studies:
        cert = rate(GradeInputs(k=0, participants=0, estimate=None, ci_low=None, ci_high=None))
        base.update({
            "estimate": None, "ci_low": None, "ci_high": None, "pi_low": None, "pi_high": None, "tau2": None,
            "i2": None, "natural": None, "power": None, "power_analytic": None, "ois": None, "ois_fraction": None,
            "ris": None, "ris_fraction": None, "diversity": None, "designs": {}, "share_randomised": None,
            "countries": {}, "settings": {}, "models": {}, "rob_weight": {}, "share_weight_high_rob": None,
            "small_study": None, "cumulative": [], "first_ris_year": None, "first_ris_kind": None,
            "certainty": cert.to_dict(),
            "maturity": "none", "studies": [], "pooled_method": None, "implausible": [],
            "notes": [*notes, _no_data_note(outcome)],
        })
        base["sof"] = _sof(outcome, base, [])
        return base

    yi = [s.yi for s in studies]
    vi = [s.vi for s in studies]
    if pooled is None:
        try:
            if dependent:
                pooled = pool_clustered(yi, vi, [s.study_id for s in studies], settings.pool_options(),
                                        measure=measure, labels=[s.label for s in studies],
                                        report_pi=settings.pi != "none")
                notes.append(f"{pooled['warnings'][0]}; power and information size use each study's most precise "
                             "effect.")
            else:
                pooled = pool_studies(yi, vi, settings.pool_options(), measure=measure,
                                      labels=[s.label for s in studies], report_pi=settings.pi != "none")
        except InputError as exc:
            notes.append(f"Not pooled: {exc} No estimate, confidence or prediction interval, tau^2, I^2, power, "
                         "information size or cumulative analysis is reported for this outcome, and its certainty "
                         "is not rated.")
            return _not_pooled(base, studies, notes, settings)
    elif len(studies) >= 2 and pooled.get("estimate") is None:  # a supplied synth.meta result that did not pool
        why = "; ".join(str(w) for w in pooled.get("warnings") or []) or "no pooled estimate"
        notes.append(f"Not pooled: synth.meta returned no pooled result ({why}). No estimate, confidence or "
                     "prediction interval, tau^2, I^2, power, information size or cumulative analysis is reported "
                     "for this outcome, and its certainty is not rated.")
        return _not_pooled(base, studies, notes, settings)
    weights = _weights(pooled, len(studies))
    tau2 = pooled.get("tau2")

    designs = Counter(s.design or "not reported" for s in units)
    w_design: dict[str, float] = defaultdict(float)
    w_rob: dict[str, float] = defaultdict(float)
    for s, w in zip(studies, weights, strict=True):
        w_design["randomised" if s.design.lower() in RANDOMISED else "non-randomised"] += w
        w_rob[s.rob or "unknown"] += w
    share_rand = w_design["randomised"]
    rob_weight = _share(w_rob, 1.0)
    indirectness = [*indirectness, *_unverified_indirectness(studies, weights)]
    implausible = implausible_effects(measure, studies)
    notes += [f"Check {x['label']}: {x['why']}" for x in implausible]

    small_study = pooled.get("small_study")
    if len(units) < settings.small_study_min_k:
        small_study = None
        notes.append(f"Small-study tests not run: k = {len(units)} < {settings.small_study_min_k}.")
    elif dependent:
        small_study = None
        notes.append("Small-study tests not run: Egger's test assumes one effect per study.")
    elif small_study is None:
        small_study = egger(yi, vi)
    # the information in each study: its most precise effect (effects of one study are correlated, so adding
    # their information as if independent would overstate it)
    least: dict[str, float] = {}
    for s in studies:
        least[s.study_id] = min(s.vi, least.get(s.study_id, math.inf))
    vi_units = [least[u.study_id] for u in units]

    delta = abs(float(mie)) if mie else None
    power = power_analytic = None
    k_needed = None
    tau2_power = float(tau2) if tau2 is not None else 0.0
    if delta:
        if tau2 is None:
            notes.append("tau^2 is not estimable from a single study: power and information size assume tau^2 = 0.")
        pw = meta_power(delta, vi_units, tau2_power, alpha=settings.alpha, test=settings.ci_method,
                        method=settings.method, reps=settings.power_reps)
        power, power_analytic = pw.simulated, pw.analytic
        k_needed = studies_needed(delta, typical_variance(vi_units), tau2_power, settings.power, settings.alpha)
    else:
        notes.append("No minimal important effect in the protocol: power and information size not computed.")

    info = None
    missing_n = [s.label for s in units if s.n <= 0]
    if delta and missing_n:
        notes.append(f"Information size not assessed: participants not reported for {len(missing_n)} of "
                     f"{len(units)} studies ({', '.join(missing_n[:5])}{', ...' if len(missing_n) > 5 else ''}).")
    elif delta:
        p0 = None
        if measure in RATIO or measure == "RD":
            risks = [s.control_risk for s in units if s.control_risk is not None]
            p0 = statistics.median(risks) if risks else None
        sds = [s.sd for s in units if s.sd]
        sd = statistics.median(sds) if sds else None
        try:
            info = information_size(measure, delta, base["participants"], vi_units, tau2_power, p0=p0, sd=sd,
                                    alpha=settings.alpha, power=settings.power)
        except ValueError as exc:
            notes.append(f"Information size not computed: {exc}.")

    cum = pooled.get("cumulative")
    if cum is None and dependent:
        cum = cumulative_clustered([s.year for s in studies], yi, vi, [s.study_id for s in studies],
                                   {u.study_id: u.n for u in units}, settings.pool_options())
    elif cum is None:
        cum = cumulative_by_year([s.year for s in studies], yi, vi, [s.n for s in studies],
                                       settings.pool_options())
    cum = list(cum)
    failed = [r for r in cum if r.get("ci_low") is None or r.get("ci_high") is None or r.get("estimate") is None]
    if failed:
        notes.append(f"Cumulative meta-analysis: synth.meta could not pool the {agree(len(failed), 'step', 'steps')} "
                     "ending in " + ", ".join(str(r.get("year") or "n.d.") for r in failed)
                     + f"; {agree(len(failed), 'it is', 'they are')} left out.")
        cum = [r for r in cum if r not in failed]
    ris = info.ris if info else None
    cum_rows, first_year, first_kind = _information_reached(cum, delta, ris)

    cert = rate(GradeInputs(
        k=len(units), participants=base["participants"], estimate=pooled.get("estimate"),
        ci_low=pooled.get("ci_low"), ci_high=pooled.get("ci_high"), measure=measure, mie=delta,
        share_randomised=share_rand, share_weight_high_rob=rob_weight.get("high", 0.0),
        share_weight_some_concerns=rob_weight.get("some-concerns", 0.0),
        share_weight_unknown_rob=rob_weight.get("unknown", 0.0),
        i2=pooled.get("i2") if len(units) >= 2 else None, pi_low=pooled.get("pi_low"), pi_high=pooled.get("pi_high"),
        ois_fraction=info.ois_fraction if info else None,
        small_study_p=(small_study or {}).get("p") if small_study else None, indirectness=tuple(indirectness),
    ))
    base.update({
        "estimate": pooled.get("estimate"), "ci_low": pooled.get("ci_low"), "ci_high": pooled.get("ci_high"),
        "pi_low": pooled.get("pi_low"), "pi_high": pooled.get("pi_high"), "tau2": tau2, "i2": pooled.get("i2"),
        "natural": pooled.get("natural"), "pooled_method": pooled.get("pooled_method") or pooled.get("methods"),
        "power": power, "power_analytic": power_analytic, "studies_needed_for_power": k_needed,
        "ois": info.ois if info else None, "ois_fraction": info.ois_fraction if info else None,
        "ris": info.ris if info else None, "ris_fraction": info.ris_fraction if info else None,
        "diversity": info.diversity if info else None, "ois_assumptions": info.assumptions if info else None,
        **_descriptive(units), "designs": dict(sorted(designs.items())), "share_randomised": share_rand,
        "rob_weight": rob_weight, "share_weight_high_rob": rob_weight.get("high", 0.0),
        "small_study": small_study, "cumulative": cum_rows, "first_ris_year": first_year,
        "first_ris_kind": first_kind, "certainty": cert.to_dict(),
        "studies": [{**_study_row(s), "weight": w} for s, w in zip(studies, weights, strict=True)],
        "implausible": implausible,
        "notes": notes,
    })
    base["maturity"] = maturity_stage(base, settings)
    base["sof"] = _sof(outcome, base, units)
    return base


#: A study effect beyond these is flagged for the reviewer to check (a typo, a swapped arm, a wrong scale): a ratio
#: of 10 or 1/10 is twice GRADE's "very large" effect (5 or 0.2, GRADE 9), and 2 standard deviations is 2.5 times
#: Cohen's "large" (0.8); service and care interventions rarely reach either.
IMPLAUSIBLE_RATIO = 10.0
IMPLAUSIBLE_SMD = 2.0


def implausible_effects(measure: str, studies: Sequence[StudyEffect]) -> list[dict[str, Any]]:
    """The studies whose effect is implausibly large for the reviewer to check; never dropped or changed."""
    out = []
    for s in studies:
        if measure in RATIO and abs(s.yi) > math.log(IMPLAUSIBLE_RATIO):
            why = (f"{measure} {math.exp(s.yi):.2f} is beyond {IMPLAUSIBLE_RATIO:g} or 1/{IMPLAUSIBLE_RATIO:g}, twice "
                   "GRADE's 'very large' effect; check the extracted numbers (arms, events, scale)")
        elif measure == "SMD" and abs(s.yi) > IMPLAUSIBLE_SMD:
            why = (f"SMD {s.yi:.2f} is beyond ±{IMPLAUSIBLE_SMD:g} standard deviations; check the extracted means, SDs "
                   "(an SE entered as an SD shrinks the SD) and the scale's direction")
        else:
            continue
        out.append({"study": s.study_id, "label": s.label, "yi": s.yi, "why": why})
    return out


#: Indirectness is rated down when at least this share of the weight comes from studies whose extraction does
#: not record what a protocol eligibility rule needs (the same yardstick as unassessed risk of bias).
UNVERIFIED_SHARE = 0.5


def _unverified_indirectness(studies: Sequence[StudyEffect], weights: Sequence[float]) -> list[str]:
    """The indirectness flag for evidence whose fit to the question is mostly unverified, or nothing."""
    share = sum(w for s, w in zip(studies, weights, strict=True) if s.unverified)
    if share < UNVERIFIED_SHARE:
        return []
    why = sorted({s.unverified for s in studies if s.unverified})
    return [f"{100 * share:.0f}% of the weight comes from studies whose extraction does not record what the "
            f"protocol's eligibility rules assess ({'; '.join(why)}), so whether they answer the review question "
            "is unknown"]


def _no_data_note(outcome: Mapping[str, Any]) -> str:
    if outcome.get("status") == "not extracted":
        silent, total = outcome.get("silent_studies"), outcome.get("included_studies")
        return (f"Not extracted: no included study's extraction has data for this outcome, and {silent} of {total} "
                "do not say whether the study measured it (their reports may hold it).")
    return "No included quantitative study measured this outcome."


def _sof(outcome: Mapping[str, Any], base: Mapping[str, Any], units: Sequence[StudyEffect]) -> dict[str, Any]:
    """The outcome's Summary of Findings row (:mod:`~synth.evidence.sof`); footnotes are the certainty reasons
    that rated it down."""
    cert = base["certainty"]
    reasons = [f"{r['domain'].capitalize()} ({r['change']:+d}): {r['text']}" for r in cert["reasons"]
               if r["change"] < 0]
    return summary_of_findings(
        measure=str(base["measure"]), estimate=base.get("estimate"), ci_low=base.get("ci_low"),
        ci_high=base.get("ci_high"), control_risks=[u.control_risk for u in units if u.control_risk is not None],
        certainty=str(cert["rating"]), reasons=reasons, mie=base.get("minimal_important_effect"),
        intervention=str(outcome.get("intervention") or "The intervention"), outcome=str(base["label"]),
        k=int(base["k"]), participants=int(base["participants"]), status=str(base.get("status") or "measured"))


def _weights(pooled: Mapping[str, Any], k: int) -> list[float]:
    """Study weights (fractions) from a synth.meta result: ``weights`` or ``studies[].weight`` (percent)."""
    if pooled.get("weights") is not None and len(pooled["weights"]) == k:
        return [float(w) for w in pooled["weights"]]
    rows = pooled.get("studies") or []
    if len(rows) == k and all(r.get("weight") is not None for r in rows):
        return [float(r["weight"]) / 100 for r in rows]
    raise ValueError(f"the pooled result has no weights for its {k} studies: pass a synth.meta result "
                     "(synth.meta.analysis.pool_effects) or None to pool with synth.meta")


def _one_per_study(studies: Sequence[StudyEffect]) -> list[StudyEffect]:
    """One entry per study (first appearance order): the study's effect with the most participants, for what
    is said of the study rather than of an effect (participants, design, setting, control risk)."""
    best: dict[str, StudyEffect] = {}
    for s in studies:
        if s.study_id not in best or s.n > best[s.study_id].n:
            best[s.study_id] = s
    return list(best.values())


def _study_row(s: StudyEffect) -> dict[str, Any]:
    return {"id": s.study_id, "label": s.label, "year": s.year, "yi": s.yi, "vi": s.vi, "n": s.n, "design": s.design,
            "rob": s.rob, "country": s.country, "setting": s.setting, "model": s.model, "unverified": s.unverified}


def _descriptive(studies: Sequence[StudyEffect]) -> dict[str, Any]:
    return {
        "countries": dict(sorted(Counter(s.country or "not reported" for s in studies).items())),
        "settings": dict(sorted(Counter(s.setting or "not reported" for s in studies).items())),
        "models": dict(sorted(Counter(s.model or "not reported" for s in studies).items())),
    }


def _not_pooled(base: dict[str, Any], studies: Sequence[StudyEffect], notes: list[str],
                settings: Settings) -> dict[str, Any]:
    """The outcome when synth.meta could not pool it: counts and descriptions only, no statistic."""
    units = _one_per_study(studies)
    cert = rate(GradeInputs(k=len(units), participants=base["participants"], estimate=None, ci_low=None,
                            ci_high=None))
    base.update({
        "estimate": None, "ci_low": None, "ci_high": None, "pi_low": None, "pi_high": None, "tau2": None,
        "i2": None, "natural": None, "pooled_method": None, "power": None, "power_analytic": None,
        "studies_needed_for_power": None, "ois": None, "ois_fraction": None, "ris": None, "ris_fraction": None,
        "diversity": None, "ois_assumptions": None, **_descriptive(units),
        "designs": dict(sorted(Counter(s.design or "not reported" for s in units).items())),
        "share_randomised": None, "rob_weight": {}, "share_weight_high_rob": None, "small_study": None,
        "cumulative": [], "first_ris_year": None, "first_ris_kind": None, "certainty": cert.to_dict(),
        "studies": [_study_row(s) for s in studies], "implausible": implausible_effects(base["measure"], studies),
        "notes": notes,
    })
    base["maturity"] = maturity_stage(base, settings)
    base["sof"] = _sof({}, base, units)
    return base


#: Statuses of a cumulative step. No sequential boundary is applied: the Cochrane Handbook (v6.4, chapter 22)
#: discourages formal sequential methods for updated meta-analyses, so no step is given a sequential verdict.
RIS_EFFECT = "ris-reached-ci-excludes-no-effect"
NO_IMPORTANT_EFFECT = "ci-excludes-important-effects"
RIS_NOT_REACHED = "ci-excludes-no-effect-ris-not-reached"
INCLUDES_NO_EFFECT = "ci-includes-no-effect"
STEP_TEXT = {
    RIS_EFFECT: "required information size reached and the CI excludes no effect",
    NO_IMPORTANT_EFFECT: "the CI excludes important effects in both directions",
    RIS_NOT_REACHED: "the CI excludes no effect but the required information size is not reached",
    INCLUDES_NO_EFFECT: "the CI includes no effect",
}


def _information_reached(rows: list[dict[str, Any]], mie: float | None,
                         ris: float | None) -> tuple[list[dict[str, Any]], Any, Any]:
    """Mark each cumulative step (:data:`STEP_TEXT`) and return the first year with a CI that excludes no effect
    once the required information size is reached, or that excludes important effects either way. The RIS is
    the one computed from all studies (its heterogeneity is known only at the end), so an early year that
    reaches it is a description, not a sequential test: nominal CIs, no alpha spending."""
    first_year = first_kind = None
    out = []
    for r in rows:
        lo, hi = r["ci_low"], r["ci_high"]
        excludes_null = lo > 0 or hi < 0
        enough = ris is not None and math.isfinite(ris) and r.get("participants", 0) >= ris
        if int(r.get("k") or 0) >= 2 and hi == lo:  # a zero-width interval from studies that agree exactly
            status = INCLUDES_NO_EFFECT
        elif excludes_null and enough:
            status = RIS_EFFECT
        elif mie and -mie < lo and hi < mie:
            status = NO_IMPORTANT_EFFECT
        elif excludes_null:
            status = RIS_NOT_REACHED
        else:
            status = INCLUDES_NO_EFFECT
        row = dict(r, status=status)
        out.append(row)
        if first_year is None and status in (RIS_EFFECT, NO_IMPORTANT_EFFECT):
            first_year, first_kind = r.get("year"), status
    return out, first_year, first_kind


def maturity_stage(res: Mapping[str, Any], settings: Settings = Settings()) -> str:
    k = int(res.get("k") or 0)
    if k == 0:
        return "none"
    if k == 1:
        return "nascent"
    if res.get("estimate") is None:  # synth.meta could not pool: maturity cannot be shown
        return "emerging"
    power = res.get("power")
    ris_fraction = res.get("ris_fraction")
    if k < 5 or (power is not None and power < settings.power) or (ris_fraction is not None and ris_fraction < 1):
        return "emerging"
    if res["certainty"]["rating"] in ("low", "very low"):
        return "developing"
    return "established"


def conclusion(outcomes: Sequence[Mapping[str, Any]], gap_map: Mapping[str, Any] | None = None,
               unmeasured_valued: Sequence[str] = (), unextracted_valued: Sequence[str] = ()) -> dict[str, Any]:
    """A plain-language summary of how developed the evidence base is, with the numbers behind it."""
    n = len(outcomes)
    stages = Counter(str(o.get("maturity")) for o in outcomes)
    certainty = Counter(str(o["certainty"]["rating"]) for o in outcomes if o.get("k"))
    measured = [o for o in outcomes if o.get("k")]
    below5 = [o for o in measured if int(o["k"]) < 5]
    powered = [o for o in measured if o.get("power") is not None and o["power"] >= 0.8]
    ris_reached = [o for o in measured if o.get("ris_fraction") is not None and o["ris_fraction"] >= 1]
    settled = [o for o in measured if o.get("first_ris_year") is not None]
    lines = []
    rest = [o for o in outcomes if not o.get("k")]
    not_extracted = sum(1 for o in rest if o.get("status") == "not extracted")
    lines.append(f"Of {count(n, 'outcome')} in the protocol, {len(measured)} {agree(len(measured), 'has', 'have')} "
                 f"data from at least one included quantitative study and {len(rest)} {agree(len(rest), 'has', 'have')} "
                 f"none ({len(rest) - not_extracted} not measured by any included study, {not_extracted} not "
                 "extracted from them).")
    if unmeasured_valued:
        lines.append("Valued outcomes (the protocol's domains that matter to the people the review is about) that no "
                     "included quantitative study measured: " + "; ".join(unmeasured_valued) + ".")
    if unextracted_valued:
        lines.append("Valued outcomes with no data extracted from the included studies (they may have measured them; "
                     "their extractions do not say): " + "; ".join(unextracted_valued) + ".")
    if measured:
        lines.append(f"{len(below5)} of the {len(measured)} measured {agree(len(measured), 'outcome', 'outcomes')} "
                     f"{agree(len(below5), 'rests', 'rest')} on fewer than 5 studies; {len(powered)} "
                     f"{agree(len(powered), 'has', 'have')} a meta-analysis with at least 80% power to detect the minimal "
                     f"important effect; {len(ris_reached)} reached the heterogeneity-adjusted required information "
                     f"size; in the cumulative analysis {len(settled)} reached it with a CI that excludes no effect, or had a "
                     "CI that excludes important effects (nominal intervals: no sequential boundaries, which the "
                     "Cochrane Handbook, chapter 22, discourages for updated meta-analyses).")
        lines.append("Certainty: " + ", ".join(f"{v} {k}" for k, v in sorted(certainty.items(), key=lambda kv: kv[0])) + ".")
    if gap_map:
        n_cells = int(gap_map.get("n_cells") or 0)
        empty = len(gap_map.get("empty_cells", []))
        single = len(gap_map.get("single_study_cells", []))
        rows = str(gap_map.get("rows_label") or "Studies").lower()
        lines.append(f"The evidence-gap map has {count(n_cells, 'cell')} ({rows} x outcome domains): {empty} "
                     f"{agree(empty, 'is', 'are')} empty and {single} {agree(single, 'holds', 'hold')} a single study.")
    mature = stages.get("established", 0)
    if not measured:
        verdict = "absent"
    elif mature == 0 and stages.get("developing", 0) == 0:
        verdict = "underdeveloped"
    elif mature < len(measured) / 2:
        verdict = "partly developed"
    else:
        verdict = "well developed"
    lines.append(f"Overall the evidence base is {verdict}: " + ", ".join(
        f"{stages.get(s, 0)} {s}" for s in ("none", "nascent", "emerging", "developing", "established")) + ".")
    return {"verdict": verdict, "text": " ".join(lines), "stages": dict(stages), "certainty": dict(certainty)}
