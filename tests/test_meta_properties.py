"""Property-based tests (hypothesis) of effect sizes and pooling invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synth.meta.analysis import pool_by, pool_effects
from synth.meta.effects import compute_effects, hedges_j
from synth.meta.estimators import METHODS
from synth.meta.pooling import PoolOptions, pool_arrays

counts = st.integers(min_value=1, max_value=400)


@st.composite
def binary_table(draw: st.DrawFn) -> pd.DataFrame:
    k = draw(st.integers(2, 8))
    rows = []
    for i in range(k):
        n_t, n_c = draw(counts), draw(counts)
        rows.append({"study": f"S{i}", "events_t": draw(st.integers(0, n_t)), "n_t": n_t,
                     "events_c": draw(st.integers(0, n_c)), "n_c": n_c})
    return pd.DataFrame(rows)


def swap_binary(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={"events_t": "events_c", "n_t": "n_c", "events_c": "events_t", "n_c": "n_t"})


@settings(max_examples=40, deadline=None)
@given(binary_table(), st.sampled_from(["OR", "RR", "RD"]))
def test_swapping_arms_negates_binary_effects(df: pd.DataFrame, measure: str) -> None:
    a = compute_effects(df, measure)
    b = compute_effects(swap_binary(df), measure)
    np.testing.assert_array_equal(np.isnan(a.yi), np.isnan(b.yi))
    ok = ~np.isnan(a.yi)
    np.testing.assert_allclose(a.yi[ok], -b.yi[ok], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.vi[ok], b.vi[ok], rtol=1e-12)


@st.composite
def continuous_table(draw: st.DrawFn) -> pd.DataFrame:
    k = draw(st.integers(2, 8))
    pos = st.floats(0.1, 100, allow_nan=False)
    return pd.DataFrame([{"study": f"S{i}", "mean_t": draw(pos), "sd_t": draw(pos), "n_t": draw(st.integers(2, 500)),
                          "mean_c": draw(pos), "sd_c": draw(pos), "n_c": draw(st.integers(2, 500))} for i in range(k)])


@settings(max_examples=40, deadline=None)
@given(continuous_table(), st.sampled_from(["MD", "SMD", "ROM"]))
def test_swapping_arms_negates_continuous_effects(df: pd.DataFrame, measure: str) -> None:
    swapped = df.rename(columns={"mean_t": "mean_c", "sd_t": "sd_c", "n_t": "n_c",
                                 "mean_c": "mean_t", "sd_c": "sd_t", "n_c": "n_t"})
    a, b = compute_effects(df, measure), compute_effects(swapped, measure)
    np.testing.assert_allclose(a.yi, -b.yi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.vi, b.vi, rtol=1e-10)


@st.composite
def yv(draw: st.DrawFn, kmin: int = 2, kmax: int = 15) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(kmin, kmax))
    y = np.array(draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k)))
    v = np.array(draw(st.lists(st.floats(0.001, 2, allow_nan=False), min_size=k, max_size=k)))
    return y, v


OPTS = [PoolOptions(method=m, test=t) for m in METHODS for t in ("z", "hksj")]


@settings(max_examples=40, deadline=None)
@given(yv(), st.randoms(use_true_random=False), st.sampled_from(OPTS))
def test_permuting_studies_leaves_the_pooled_result_unchanged(data, rnd, opts: PoolOptions) -> None:  # type: ignore[no-untyped-def]
    y, v = data
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    a, b = pool_arrays(y, v, opts), pool_arrays(y[perm], v[perm], opts)
    for key in ("estimate", "se", "tau2", "ci_low", "ci_high", "q", "i2", "pi_low", "pi_high", "tau2_ci_high"):
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), rtol=1e-7, atol=1e-9, err_msg=key)


@settings(max_examples=40, deadline=None)
@given(yv(), st.floats(-5, 5, allow_nan=False), st.sampled_from(OPTS))
def test_shifting_all_effects_shifts_the_estimate_only(data, c: float, opts: PoolOptions) -> None:  # type: ignore[no-untyped-def]
    y, v = data
    a, b = pool_arrays(y, v, opts), pool_arrays(y + c, v, opts)
    np.testing.assert_allclose(b.estimate, a.estimate + c, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(b.tau2, a.tau2, rtol=1e-6, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(yv(), st.sampled_from(OPTS))
def test_intervals_are_ordered_and_statistics_in_range(data, opts: PoolOptions) -> None:  # type: ignore[no-untyped-def]
    y, v = data
    r = pool_arrays(y, v, opts)
    assert r.tau2[0] >= 0 and 0 <= r.i2[0] <= 100 and r.q[0] >= 0
    assert r.ci_low[0] <= r.estimate[0] <= r.ci_high[0]
    if opts.method != "EE":
        assert r.pi_low[0] <= r.ci_low[0] + 1e-12 and r.pi_high[0] >= r.ci_high[0] - 1e-12


@settings(max_examples=40, deadline=None)
@given(yv(kmin=2, kmax=10), st.sampled_from(["REML", "DL", "PM"]))
def test_adhoc_hksj_is_never_narrower_than_wald(data, method: str) -> None:  # type: ignore[no-untyped-def]
    y, v = data
    z = pool_arrays(y, v, PoolOptions(method=method, test="z"))
    adhoc = pool_arrays(y, v, PoolOptions(method=method, test="hksj-adhoc"))
    assert adhoc.ci_high[0] - adhoc.ci_low[0] >= z.ci_high[0] - z.ci_low[0] - 1e-12


@settings(max_examples=25, deadline=None)
@given(st.lists(yv(kmin=1, kmax=12), min_size=1, max_size=6), st.sampled_from(OPTS))
def test_vectorised_by_path_equals_one_analysis_at_a_time(groups, opts: PoolOptions) -> None:  # type: ignore[no-untyped-def]
    rows = [{"g": f"G{i}", "study": f"G{i}-{j}", "yi": y, "vi": vv}
            for i, (ys, vs) in enumerate(groups) for j, (y, vv) in enumerate(zip(ys, vs, strict=True))]
    df = pd.DataFrame(rows)
    batch = pool_by(df, "g", None, opts)
    for res, (ys, vs) in zip(batch, groups, strict=True):
        one = pool_effects(compute_effects(pd.DataFrame({"yi": ys, "vi": vs})), opts)
        for key in ("k", "estimate", "se", "ci_low", "ci_high", "tau2", "i2", "pi_low", "pi_high", "tau2_ci_low"):
            if one[key] is None:
                assert res[key] is None, key
            else:
                assert res[key] == pytest.approx(one[key], rel=1e-9, abs=1e-12), key


def test_hedges_correction_stays_finite_for_large_samples() -> None:
    j = hedges_j(np.array([10.0, 400.0, 1e6]))
    assert np.all(np.isfinite(j))
    assert j[0] == pytest.approx(1 - 3 / (4 * 10 - 1), rel=1e-3)
    assert j[2] == pytest.approx(1.0, abs=1e-6)
