"""Evidence-maturity yardsticks: power, information size, GRADE rules, gap map, pooling through synth.meta."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synth.analysis.pooled import cumulative_by_year, egger, pool
from synth.errors import InputError
from synth.evidence.gapmap import Evidence, build_gap_map
from synth.evidence.grade import GradeInputs, rate
from synth.evidence.maturity import Settings
from synth.evidence.ois import diversity, information_size, ois_binary, ois_continuous, treated_risk
from synth.evidence.power import re_power_analytic, re_power_simulated, studies_needed, typical_variance


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


# --- power ---------------------------------------------------------------------------------------------------

def test_analytic_power_matches_hedges_pigott_formula_by_hand() -> None:
    # delta 0.2, k 10, v 0.04, tau2 = v/3 ("small" heterogeneity in Hedges & Pigott 2001).
    v_star = (0.04 + 0.04 / 3) / 10
    lam = 0.2 / math.sqrt(v_star)
    expected = 1 - _phi(1.959963985 - lam) + _phi(-1.959963985 - lam)
    assert re_power_analytic(0.2, 10, 0.04, 0.04 / 3) == pytest.approx(expected, abs=1e-6)
    assert 0.77 < expected < 0.80


def test_power_at_zero_effect_is_alpha() -> None:
    assert re_power_analytic(0.0, 5, 0.1, 0.05, alpha=0.05) == pytest.approx(0.05, abs=1e-9)


def test_simulated_power_agrees_with_analytic_when_tau2_zero_and_many_studies() -> None:
    v = [0.05] * 30
    analytic = re_power_analytic(0.1, 30, 0.05, 0.0)
    for method in ("REML", "DL"):
        simulated = re_power_simulated(0.1, v, 0.0, test="z", method=method, reps=6000)
        # Close to the plug-in value; slightly below it, as tau^2 is sometimes estimated > 0 when it is 0.
        assert analytic - 0.06 < simulated < analytic + 0.02, method


def test_simulated_power_below_plug_in_for_few_heterogeneous_studies() -> None:
    """Jackson & Turner (2017): the plug-in formula overstates power when tau^2 is estimated and k is small."""
    v = [0.02, 0.03, 0.04]
    analytic = re_power_analytic(0.3, 3, typical_variance(v), 0.02)
    simulated = re_power_simulated(0.3, v, 0.02, test="hksj", reps=6000)
    assert simulated < analytic - 0.1


def test_simulated_power_pools_every_replicate_with_synth_meta() -> None:
    """The replicates are pooled by synth.meta with the protocol's estimator and test (same seed, same data)."""
    import numpy as np

    from synth.meta.pooling import PoolOptions, pool_arrays

    v, reps, seed = [0.02, 0.05, 0.03, 0.04], 40, 7
    rng = np.random.default_rng(seed)
    theta = 0.25 + rng.standard_normal((reps, 4)) * math.sqrt(0.01)
    y = theta + rng.standard_normal((reps, 4)) * np.sqrt(v)[None, :]
    for method, test in (("REML", "hksj"), ("DL", "z"), ("PM", "t")):
        opts = PoolOptions(method=method, test=test)
        expected = sum(float(pool_arrays(row, np.array(v), opts).p[0]) < 0.05 for row in y) / reps
        got = re_power_simulated(0.25, v, 0.01, test=test, method=method, reps=reps, seed=seed)
        assert got == pytest.approx(expected), (method, test)
    with pytest.raises(ValueError, match="'XX'"):
        re_power_simulated(0.25, v, 0.01, method="XX", reps=10)


def test_typical_variance_is_harmonic_mean_and_rejects_nonpositive() -> None:
    assert typical_variance([0.1, 0.4]) == pytest.approx(2 / (10 + 2.5))
    with pytest.raises(ValueError, match="must be positive"):
        typical_variance([0.1, 0.0])


def test_studies_needed_reaches_target() -> None:
    k = studies_needed(0.2, 0.04, 0.01, power=0.8)
    assert k is not None
    assert re_power_analytic(0.2, k, 0.04, 0.01) >= 0.8 > re_power_analytic(0.2, k - 1, 0.04, 0.01)


# --- information size -----------------------------------------------------------------------------------------

def test_ois_continuous_matches_textbook_393_per_arm() -> None:
    # Cohen's d = 0.2, alpha .05 two-sided, power .8: about 393 per arm (786 total).
    assert ois_continuous(0.2) == pytest.approx(785, abs=2)


def test_ois_binary_by_hand() -> None:
    z = 1.959963985 + 0.841621234
    expected = 2 * z**2 * (0.2 * 0.8 + 0.15 * 0.85) / 0.05**2
    assert ois_binary(0.2, 0.15) == pytest.approx(expected, rel=1e-6)


def test_treated_risk_for_rr_or_rd() -> None:
    assert treated_risk("RR", 0.2, math.log(0.75)) == pytest.approx(0.15)
    assert treated_risk("OR", 0.5, math.log(0.5)) == pytest.approx(1 / 3)
    assert treated_risk("RD", 0.2, -0.05) == pytest.approx(0.15)


def test_diversity_equal_variances_is_tau2_share() -> None:
    assert diversity([0.1] * 5, 0.0) == 0.0
    assert diversity([0.1] * 5, 0.1) == pytest.approx(0.5)


def test_information_size_fractions() -> None:
    info = information_size("SMD", 0.2, 400, [0.05] * 4, 0.05)
    assert info.ois == pytest.approx(ois_continuous(0.2))
    assert info.diversity == pytest.approx(0.5)
    assert info.ris == pytest.approx(2 * info.ois)
    assert info.ois_fraction == pytest.approx(400 / info.ois)
    assert info.ris_fraction == pytest.approx(200 / info.ois)
    with pytest.raises(ValueError, match="control-group risk p0 is needed"):
        information_size("RR", 0.223, 100, [0.1], 0.0)
    with pytest.raises(ValueError, match="an outcome SD is needed"):
        information_size("MD", 1.0, 100, [0.1], 0.0)


# --- GRADE ------------------------------------------------------------------------------------------------------

def _by_domain(cert) -> dict:  # type: ignore[no-untyped-def]
    return {r["domain"]: r for r in cert.reasons}


def test_grade_high_when_nothing_wrong() -> None:
    cert = rate(GradeInputs(k=12, participants=5000, estimate=-0.5, ci_low=-0.7, ci_high=-0.3, measure="RR",
                            mie=0.223, i2=10, ois_fraction=2.0, small_study_p=0.5))
    assert cert.rating == "high"
    assert all(r["change"] == 0 for r in cert.reasons)


def test_grade_every_downgrade_states_rule_and_numbers() -> None:
    cert = rate(GradeInputs(k=4, participants=300, estimate=-0.2, ci_low=-0.6, ci_high=0.3, measure="SMD", mie=0.2,
                            share_weight_high_rob=0.6, i2=80, pi_low=-1.2, pi_high=0.8, ois_fraction=0.38))
    d = _by_domain(cert)
    assert d["risk of bias"]["change"] == -2 and d["risk of bias"]["numbers"]["share_weight_high_rob"] == 0.6
    assert d["inconsistency"]["change"] == -2 and d["inconsistency"]["numbers"]["i2"] == 80
    # CI -0.6..0.3 includes important benefit (< -0.2) and harm (> 0.2): -2, and < 50% of OIS: one more.
    assert d["imprecision"]["change"] == -3
    assert "participants < 50% of OIS" in d["imprecision"]["rule"]
    assert "k < 10" in d["publication bias"]["rule"]
    assert cert.rating == "very low" and cert.level == 1
    for r in cert.reasons:
        assert r["rule"] and r["text"]


def test_grade_imprecision_when_only_ois_missed() -> None:
    cert = rate(GradeInputs(k=6, participants=500, estimate=-0.4, ci_low=-0.6, ci_high=-0.2, mie=0.2, i2=0,
                            ois_fraction=0.64))
    d = _by_domain(cert)
    assert d["imprecision"]["change"] == -1
    assert "64% of the optimal information size" in d["imprecision"]["text"]
    assert cert.rating == "moderate"


def test_grade_egger_downgrade_only_with_ten_studies() -> None:
    args = dict(participants=5000, estimate=-0.5, ci_low=-0.7, ci_high=-0.3, mie=0.1, i2=0, ois_fraction=3.0,
                small_study_p=0.01)
    assert _by_domain(rate(GradeInputs(k=10, **args)))["publication bias"]["change"] == -1  # type: ignore[arg-type]
    assert _by_domain(rate(GradeInputs(k=9, **args)))["publication bias"]["change"] == 0  # type: ignore[arg-type]


def test_grade_non_randomised_starts_low_and_large_effect_rates_up() -> None:
    cert = rate(GradeInputs(k=5, participants=5000, estimate=math.log(0.3), ci_low=math.log(0.2),
                            ci_high=math.log(0.45), measure="RR", mie=0.223, share_randomised=0.0, i2=0,
                            ois_fraction=5.0))
    assert cert.start.startswith("low")
    assert _by_domain(cert)["large effect"]["change"] == 1
    assert cert.rating == "moderate"


def test_grade_no_evidence() -> None:
    cert = rate(GradeInputs(k=0, participants=0, estimate=None, ci_low=None, ci_high=None))
    assert cert.rating == "no evidence"


# --- gap map ----------------------------------------------------------------------------------------------------

def test_gap_map_cells_and_flags() -> None:
    ev = [
        Evidence("s1", "hospital-at-home", "service", "low"),
        Evidence("s1", "hospital-at-home", "service", "high"),  # worst judgement counts
        Evidence("s2", "hospital-at-home", "service", "high"),
        Evidence("s3", "case-management", "carers", "low"),
    ]
    gm = build_gap_map(ev, [("service", "Service"), ("carers", "Carers"), ("quality-of-life", "QoL")],
                       [("hospital-at-home", "HaH"), ("case-management", "CM")])
    cells = {(c["model"], c["domain"]): c for c in gm["cells"]}
    assert cells[("hospital-at-home", "service")]["n_studies"] == 2
    assert cells[("hospital-at-home", "service")]["only_high_risk"] is True
    assert cells[("case-management", "carers")]["single_study"] is True
    assert cells[("case-management", "carers")]["only_high_risk"] is False
    assert len(gm["empty_cells"]) == 4
    assert gm["n_cells"] == 6
    assert gm["studies_per_domain"] == {"service": 2, "carers": 1, "quality-of-life": 0}


def test_gap_map_keeps_unlisted_ids() -> None:
    gm = build_gap_map([Evidence("s1", "other-model", "other-domain")], [("a", "A")], [("m", "M")])
    assert [d["id"] for d in gm["domains"]] == ["a", "other-domain"]
    assert [m["id"] for m in gm["models"]] == ["m", "other-model"]


ev_st = st.builds(Evidence, study_id=st.sampled_from(["s1", "s2", "s3", "s4"]),
                  model=st.sampled_from(["m1", "m2", "m3"]), domain=st.sampled_from(["d1", "d2"]),
                  rob=st.sampled_from(["low", "some-concerns", "high", "unknown"]))


@settings(max_examples=100, deadline=None)
@given(st.lists(ev_st, max_size=30))
def test_gap_map_conservation(ev: list[Evidence]) -> None:
    gm = build_gap_map(ev, [("d1", "D1"), ("d2", "D2")], [("m1", "M1"), ("m2", "M2"), ("m3", "M3")])
    assert gm["n_cells"] == 6 == len(gm["cells"])
    assert sum(c["n_studies"] for c in gm["cells"]) == len({(e.study_id, e.model, e.domain) for e in ev})
    assert len(gm["empty_cells"]) == sum(1 for c in gm["cells"] if c["n_studies"] == 0)
    for c in gm["cells"]:
        assert sum(c["rob"].values()) == c["n_studies"]


# --- pooling through synth.meta (synth.analysis.pooled) against metafor's published-example values ----------

LIPSEY_Y = [-0.33, 0.32, 0.39, 0.31, 0.17, 0.64, -0.33, 0.15, -0.02, 0.00]
LIPSEY_V = [0.084, 0.035, 0.017, 0.034, 0.072, 0.117, 0.102, 0.093, 0.012, 0.067]


def test_pool_dl_matches_lipsey_wilson_2001() -> None:
    res = pool(LIPSEY_Y, LIPSEY_V, Settings(method="DL", ci_method="z").pool_options())
    assert res["estimate"] == pytest.approx(0.1534, abs=1e-4)
    assert res["se"] == pytest.approx(0.0858, abs=1e-4)
    assert res["ci_low"] == pytest.approx(-0.0146, abs=1e-4)
    assert res["ci_high"] == pytest.approx(0.3215, abs=1e-4)
    assert res["tau2"] == pytest.approx(0.025955, abs=1e-6)
    assert res["q"] == pytest.approx(14.7640, abs=1e-3)
    assert sum(res["weights"]) == pytest.approx(1.0)
    fixed = pool(LIPSEY_Y, LIPSEY_V, Settings(method="EE", ci_method="z").pool_options())
    assert fixed["estimate"] == pytest.approx(0.1549, abs=1e-4)


def test_pool_uses_the_protocol_estimator_and_test() -> None:
    dl = pool(LIPSEY_Y, LIPSEY_V, Settings(method="DL", ci_method="z").pool_options())
    reml = pool(LIPSEY_Y, LIPSEY_V, Settings(method="REML", ci_method="hksj").pool_options())
    assert reml["tau2"] != pytest.approx(dl["tau2"], abs=1e-6)
    assert reml["pooled_method"] == "REML tau^2, HKSJ CI (synth.meta)"
    # HKSJ: t with k-1 df and the SE scaled by sqrt(s2w); the CI is the estimate +- t * se.
    from scipy import stats

    half = stats.t.isf(0.025, len(LIPSEY_Y) - 1) * reml["se"]
    assert reml["ci_high"] - reml["estimate"] == pytest.approx(half)
    assert reml["df"] == len(LIPSEY_Y) - 1


def test_pool_labels_ratio_measures_and_back_transforms() -> None:
    res = pool(LIPSEY_Y, LIPSEY_V, Settings().pool_options(), measure="RR")
    assert res["measure"] == "RR"
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert res["natural"][key] == pytest.approx(math.exp(res[key]))


def test_pool_without_prediction_interval_when_the_protocol_says_none() -> None:
    assert pool(LIPSEY_Y, LIPSEY_V, Settings().pool_options())["pi_low"] is not None
    res = pool(LIPSEY_Y, LIPSEY_V, Settings(pi="none").pool_options(), measure="OR", report_pi=False)
    assert res["pi_low"] is None and res["pi_high"] is None and res["natural"]["pi_low"] is None


def test_pool_raises_when_synth_meta_cannot_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    import synth.meta.pooling as pooling
    from synth.meta.estimators import Tau2Fit

    real = pooling.estimate_tau2

    def never_converges(method, Y, V, M):  # type: ignore[no-untyped-def]
        fit = real(method, Y, V, M)
        return Tau2Fit(fit.tau2, np.zeros_like(fit.converged), fit.iterations)

    monkeypatch.setattr(pooling, "estimate_tau2", never_converges)
    with pytest.raises(InputError, match=r"synth\.meta could not pool the 10 studies with REML/hksj .*did not converge"):
        pool(LIPSEY_Y, LIPSEY_V, Settings().pool_options())


def test_cumulative_last_row_is_full_pool_and_years_grouped() -> None:
    years = [1990, 1990, 1995, 2000, 2000, 2001, 2003, 2005, 2010, 2012]
    rows = cumulative_by_year(years, LIPSEY_Y, LIPSEY_V, [100] * 10, Settings().pool_options())
    assert [r["year"] for r in rows] == [1990, 1995, 2000, 2001, 2003, 2005, 2010, 2012]
    assert rows[0]["k"] == 2 and rows[-1]["k"] == 10 and rows[-1]["participants"] == 1000
    full = pool(LIPSEY_Y, LIPSEY_V, Settings().pool_options())
    assert rows[-1]["estimate"] == pytest.approx(full["estimate"])
    assert rows[-1]["ci_low"] == pytest.approx(full["ci_low"])
    assert rows[-1]["tau2"] == pytest.approx(full["tau2"])
    # undated studies go last, after every dated one
    undated = cumulative_by_year([None, 2001, 1999], LIPSEY_Y[:3], LIPSEY_V[:3], [10, 20, 30], Settings().pool_options())
    assert [(r["year"], r["k"], r["participants"]) for r in undated] == [(1999, 1, 30), (2001, 2, 50), (None, 3, 60)]


def test_egger_detects_planted_asymmetry() -> None:
    se = [0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45]
    noise = [0.01, -0.02, 0.015, -0.01, 0.02, -0.015, 0.01, -0.02, 0.015, -0.01]
    y = [0.1 + 2.0 * s + e for s, e in zip(se, noise, strict=True)]  # effects grow with SE: small-study effect
    res = egger(y, [s * s for s in se])
    assert res["test"] == "egger" and res["k"] == 10
    assert res["p"] < 0.01 and res["intercept"] > 0
    sym = egger([0.1 + e for e in noise], [s * s for s in se])
    assert sym["p"] > 0.1


def test_imprecision_quotes_the_interval_on_the_scale_the_tables_use() -> None:
    from synth.evidence.grade import GradeInputs, rate

    def text(**kw: object) -> str:
        cert = rate(GradeInputs(k=5, participants=400, estimate=0.0, **kw))  # type: ignore[arg-type]
        return next(r["text"] for r in cert.reasons if r["domain"] == "imprecision")

    ratio = text(ci_low=math.log(0.7), ci_high=math.log(1.1), measure="RR", mie=math.log(1.25))
    assert ratio == ("Imprecise: the CI (RR 0.70 to 1.10) includes both important effects (beyond 0.80 or 1.25) "
                     "and trivial ones.")  # not its logs
    null = text(ci_low=math.log(0.7), ci_high=math.log(1.1), measure="RR")   # no MIE: the threshold is no effect
    assert null == "Imprecise: the CI (RR 0.70 to 1.10) includes no effect (1.00)."
    both = text(ci_low=math.log(0.5), ci_high=math.log(1.6), measure="OR", mie=math.log(1.25))
    assert "the CI (OR 0.50 to 1.60) includes important effects in both directions (beyond 0.80 and 1.25)" in both
    smd = text(ci_low=0.1, ci_high=0.5, measure="SMD")
    assert smd.startswith("Not serious: the CI (SMD 0.10 to 0.50) excludes no effect (0.00)")
    assert "could not be computed, so it was not checked" in smd  # no information size claimed without one
    reached = text(ci_low=0.1, ci_high=0.5, measure="SMD", ois_fraction=1.2)
    assert reached.endswith("the optimal information size is reached.")


def test_imprecision_is_partly_contextualised_by_the_minimal_important_effect() -> None:
    def imprecision(lo: float, hi: float, ois: float | None = 2.0) -> dict:
        cert = rate(GradeInputs(k=6, participants=3000, estimate=(lo + hi) / 2, ci_low=lo, ci_high=hi, mie=0.2,
                                i2=0, ois_fraction=ois))
        return _by_domain(cert)["imprecision"]

    # wholly trivial (inside -0.2..0.2), though it includes no effect: precise about "no important effect"
    within = imprecision(-0.15, 0.1)
    assert within["change"] == 0 and "wholly within the minimal important effect" in within["text"]
    # wholly important: precise
    assert imprecision(-0.6, -0.25)["change"] == 0
    # from important to trivial, even without including no effect: -1
    crossing = imprecision(-0.5, -0.05)
    assert crossing["change"] == -1 and "important and a trivial effect" in crossing["rule"]
    # important benefit and important harm: -2; one side but below the OIS: -1
    assert imprecision(-0.5, 0.4)["change"] == -2
    assert imprecision(-0.6, -0.25, ois=0.7)["change"] == -1


def test_unassessed_risk_of_bias_caps_certainty_at_low() -> None:
    base = dict(k=12, participants=5000, estimate=-0.5, ci_low=-0.7, ci_high=-0.3, measure="RR", mie=0.223, i2=10,
                ois_fraction=2.0, small_study_p=0.5)
    unknown = rate(GradeInputs(share_weight_unknown_rob=0.8, **base))  # type: ignore[arg-type]
    assert _by_domain(unknown)["risk of bias"]["change"] == -2 and unknown.rating == "low"
    mixed = rate(GradeInputs(share_weight_high_rob=0.2, share_weight_unknown_rob=0.35, **base))  # type: ignore[arg-type]
    assert _by_domain(mixed)["risk of bias"]["change"] == -1 and mixed.rating == "moderate"
    # one cause, one rating: high risk and unknown together never cost more than the domain's -2
    both = rate(GradeInputs(share_weight_high_rob=0.5, share_weight_unknown_rob=0.5, **base))  # type: ignore[arg-type]
    assert _by_domain(both)["risk of bias"]["change"] == -2
