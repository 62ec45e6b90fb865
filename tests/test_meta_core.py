"""Core behaviour not covered by the metafor comparison: non-convergence, boundaries, small k, API shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth.errors import InputError
from synth.meta import estimators
from synth.meta.analysis import pool_by, pool_frame
from synth.meta.effects import compute_effects
from synth.meta.pooling import PoolOptions, pool_arrays

Y = np.array([-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339, 0.446, -0.017])
V = np.array([0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071])


def test_non_convergence_is_reported_and_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimators, "MAXITER", 2)
    res = pool_frame(pd.DataFrame({"yi": Y, "vi": V}), opts=PoolOptions(method="REML"))
    assert res["converged"] is False and res["pooled"] is False
    assert res["estimate"] is None and res["tau2"] is None and res["ci_low"] is None
    assert "the REML estimator of tau^2 did not converge; no pooled result is reported" in res["warnings"]


def test_boundary_tau2_is_exactly_zero_for_homogeneous_data() -> None:
    y = np.array([0.10, 0.11, 0.09, 0.10, 0.105])
    v = np.array([0.04, 0.05, 0.03, 0.06, 0.05])
    for method in ("REML", "ML", "DL", "PM", "EB", "HE", "HS"):
        r = pool_arrays(y, v, PoolOptions(method=method, test="z"))
        assert r.tau2[0] == 0.0, method
        assert r.i2[0] == 0.0
        assert r.tau2_ci_low[0] == 0.0 and r.tau2_ci_high[0] == 0.0  # Q below the lower quantile: null set


def test_k2_hts_prediction_interval_is_not_reported() -> None:
    res = pool_frame(pd.DataFrame({"yi": [0.1, 0.4], "vi": [0.01, 0.02]}), opts=PoolOptions(pi="hts"))
    assert res["k"] == 2 and res["pi_low"] is None and res["pi_high"] is None
    assert "the t(k-2) prediction interval needs k >= 3; it is not reported" in res["warnings"]
    assert res["ci_low"] is not None


def test_pool_by_handles_single_study_and_fully_excluded_groups() -> None:
    df = pd.DataFrame({"g": ["a", "a", "b", "c", "c"], "study": list("12345"),
                       "events_t": [3, 4, 2, 0, 0], "n_t": [20] * 5, "events_c": [1, 2, 1, 0, 0], "n_c": [20] * 5})
    res = pool_by(df, "g", "OR")
    assert [r["group"] for r in res] == ["a", "b", "c"]
    assert res[0]["k"] == 2 and res[0]["pooled"] is True
    assert res[1]["k"] == 1 and res[1]["pooled"] is False and res[1]["tau2"] is None
    assert res[2]["k"] == 0 and len(res[2]["excluded"]) == 2 and res[2]["estimate"] is None


def test_generic_measure_from_confidence_interval() -> None:
    lo, hi = np.log(0.5), np.log(0.9)
    t = compute_effects(pd.DataFrame({"yi": [np.log(0.67)], "ci_low": [lo], "ci_high": [hi]}))
    assert t.vi[0] == pytest.approx(((hi - lo) / (2 * 1.959963984540054)) ** 2, rel=1e-12)


def test_estimate_outside_its_interval_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"Study 'row 1': field yi = 2 but the estimate must lie inside its"):
        compute_effects(pd.DataFrame({"yi": [2.0], "ci_low": [0.0], "ci_high": [1.0]}))


def test_non_numeric_cell_in_a_dataframe_names_the_study() -> None:
    df = pd.DataFrame({"study": ["A", "B"], "yi": [0.1, "x"], "vi": [0.01, 0.02]})
    with pytest.raises(InputError, match=r"^Study 'B': field yi is 'x', not a number"):
        compute_effects(df)


def test_fisher_scoring_solution_satisfies_the_reml_score_equation() -> None:
    r = pool_arrays(Y, V, PoolOptions(method="REML"))
    tau2 = r.tau2[0]
    w = 1 / (V + tau2)
    mu = np.sum(w * Y) / np.sum(w)
    score = np.sum(w**2 * (Y - mu) ** 2) - (np.sum(w) - np.sum(w**2) / np.sum(w))
    assert abs(score) < 1e-8 and tau2 > 0


def test_iterative_estimators_converge_on_hard_simulated_batches() -> None:
    """Plain Fisher scoring oscillates on some of these (tau^2 near 0); the safeguarded solver must not."""
    from synth.meta.pooling import pad

    rng = np.random.default_rng(7)
    groups = []
    for _ in range(1500):
        k = int(rng.integers(2, 51))
        v = rng.uniform(0.01, 0.5, k)
        groups.append((rng.normal(0, np.sqrt(v + rng.choice([0.0, 0.02, 0.1]))), v))
    Y, V, M = pad(groups)
    for method in ("REML", "ML", "EB"):
        fit = estimators.estimate_tau2(method, Y, V, M)
        assert fit.converged.all(), method
        assert fit.iterations.max() < 300
    fit = estimators.estimate_tau2("REML", Y, V, M)
    W = estimators.weights(V, M, fit.tau2)
    sw = W.sum(1)
    mu = (W * Y).sum(1) / sw
    R = np.where(M, Y - mu[:, None], 0)
    score = (W**2 * R**2).sum(1) - (sw - (W**2).sum(1) / sw)
    inner = fit.tau2 > 0
    assert np.all(np.abs(score[inner]) < 1e-6 * (W**2).sum(1)[inner])
    assert np.all(score[~inner] <= 1e-9)


@pytest.mark.corpus
def test_hospital_at_home_review_summary_of_findings_is_reproduced(domain_dir) -> None:  # type: ignore[no-untyped-def]
    """Cochrane CD007491 (Edgar 2024) generic inverse-variance data: fixed-effect pooling reproduces the review's
    Summary-of-findings RRs (mortality 0.88 [0.68, 1.13]; readmission 1.14 [0.97, 1.34]; living in residential
    care 0.53 [0.41, 0.69]) as documented in shared/domain/SOURCES.md."""
    raw = pd.read_csv(domain_dir / "pairwise70_CD007491_pub3.csv")
    df = pd.DataFrame({"analysis": raw["Analysis.group"].astype(str) + "." + raw["Analysis.number"].astype(str),
                       "study": raw["Study"], "yi": raw["GIV.Mean"], "sei": raw["GIV.SE"]})
    res = {r["group"]: r for r in pool_by(df, "analysis", None, PoolOptions(method="EE", test="z", back="exp"))}
    got = {a: [round(res[a]["natural"][k], 2) for k in ("estimate", "ci_low", "ci_high")] for a in ("1.2", "1.3", "1.5")}
    assert got == {"1.2": [0.88, 0.68, 1.13], "1.3": [1.14, 0.97, 1.34], "1.5": [0.53, 0.41, 0.69]}


def test_bimodal_reml_likelihood_uses_zero_and_says_so() -> None:
    """metafor: 'Fisher scoring algorithm may have gotten stuck at a local maximum. Setting tau^2 = 0.'"""
    res = pool_frame(pd.DataFrame({"yi": [-2.0, -2.0, 2.0], "vi": [0.03125, 0.03125, 2.0]}),
                     opts=PoolOptions(method="REML", test="z"))
    assert res["tau2"] == 0.0
    assert res["tau2_ci_low"] == pytest.approx(0.1020326, rel=1e-4)  # metafor confint(), default uniroot tol
    assert any("local maximum" in w for w in res["warnings"])
