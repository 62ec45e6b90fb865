"""Meta-regression, subgroup analyses, small-study tests and sensitivity analyses vs R metafor
(validation/metafor/expected.json); tolerance 1e-6 relative + 1e-8 absolute."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synth.errors import InputError
from synth.meta.effects import compute_effects
from synth.meta.pooling import PoolOptions, pool_arrays
from synth.meta.regression import meta_regression_frame

DATA = json.loads((Path(__file__).resolve().parent.parent / "validation" / "metafor" / "expected.json").read_text())
BCG = pd.DataFrame(next(d for d in DATA["datasets"] if d["id"] == "bcg")["data"])


def close(a: Any, e: Any, rel: float = 1e-6, abs_: float = 1e-8) -> bool:
    a, e = np.asarray(a, float), np.asarray(e, float)
    return bool(np.all(np.abs(a - e) <= rel * np.abs(e) + abs_))


@pytest.mark.parametrize("case", DATA["regression"], ids=lambda c: c["id"])
def test_meta_regression_matches_rma_mods(case: dict[str, Any]) -> None:
    table = compute_effects(BCG, "RR")
    res = meta_regression_frame(table, case["mods"], PoolOptions(method=case["method"], test=case["test"]))
    exp = case["expected"]
    got = {k: [c[k] for c in res["coefficients"]] for k in ("estimate", "se", "p", "ci_low", "ci_high")}
    assert close(got["estimate"], exp["coef"])
    assert close(got["se"], exp["se"])
    assert close(got["p"], exp["p"])
    assert close(got["ci_low"], exp["ci_low"]) and close(got["ci_high"], exp["ci_high"])
    assert close(res["tau2"], exp["tau2"])
    assert close([res["qm"], res["qm_p"], res["qe"], res["qe_p"], res["i2_residual"]],
                 [exp["qm"], exp["qm_p"], exp["qe"], exp["qe_p"], exp["i2"]])
    assert close(res["r2"], exp["r2"], abs_=1e-6)
    assert len(res["coefficients"]) == len(exp["names"])


def test_categorical_moderator_names_levels_against_the_first_sorted_level() -> None:
    res = meta_regression_frame(compute_effects(BCG, "RR"), ["alloc"], PoolOptions())
    assert [c["name"] for c in res["coefficients"]] == ["intercept", "alloc[random]", "alloc[systematic]"]


def test_unknown_moderator_is_an_input_error() -> None:
    with pytest.raises(InputError, match="Moderator column 'latitude' is not in the data"):
        meta_regression_frame(compute_effects(BCG, "RR"), ["latitude"], PoolOptions())


@pytest.mark.parametrize("case", DATA["bias"], ids=lambda c: c["id"])
def test_small_study_tests_match_regtest_ranktest_trimfill(case: dict[str, Any]) -> None:
    from synth.meta.bias import begg, egger, trimfill

    y, v, exp = np.array(case["yi"]), np.array(case["vi"]), case["expected"]
    e = egger(y, v)
    assert close([e["stat"], e["p"], e["intercept"], e["limit_estimate"]],
                 [exp["egger_stat"], exp["egger_p"], exp["egger_intercept"], exp["egger_limit"]])
    assert e["df"] == exp["egger_df"]
    b = begg(y, v)
    assert close([b["stat"], b["p"]], [exp["begg_tau"], exp["begg_p"]])
    opts = PoolOptions(method=case["method"], test="z")
    t = trimfill(y, v, opts)
    assert (t["k0"], t["side"]) == (exp["tf_k0"], exp["tf_side"])
    # metafor's trimming iterations use its default (loose, 1e-5) convergence, so the filled values it mirrors
    # around carry ~1e-6 relative error: compare the end result at 1e-5 ...
    assert close([t["estimate"], t["se"], t["ci_low"], t["ci_high"], t["tau2"]],
                 [exp["tf_estimate"], exp["tf_se"], exp["tf_ci_low"], exp["tf_ci_high"], exp["tf_tau2"]], rel=1e-5,
                 abs_=1e-5)
    # ... and the filled values themselves, and the re-pooling of metafor's filled data at 1e-6
    assert close(t["filled"], exp["tf_yi"][len(y):], rel=1e-5, abs_=1e-5)
    r = pool_arrays(np.array(exp["tf_yi"]), np.array(exp["tf_vi"]), opts)
    assert close([r.estimate[0], r.se[0], r.ci_low[0], r.ci_high[0], r.tau2[0]],
                 [exp["tf_estimate"], exp["tf_se"], exp["tf_ci_low"], exp["tf_ci_high"], exp["tf_tau2"]])


@pytest.mark.parametrize("case", DATA["sensitivity"], ids=lambda c: c["id"])
def test_leave1out_influence_cumul_match_metafor(case: dict[str, Any]) -> None:
    from synth.meta.sensitivity import sensitivity_report

    res = sensitivity_report(compute_effects(BCG, "RR"), PoolOptions(method=case["method"], test=case["test"]),
                             order_by=case["order_by"])
    exp = case["expected"]
    loo = res["leave_one_out"]
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q"):
        assert close([r[key] for r in loo], exp["loo"][key]), key
    inf = res["influence"]
    for ours, theirs in (("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"), ("cov_r", "cov_r"),
                         ("tau2_del", "tau2_del"), ("q_del", "qe_del"), ("hat", "hat"), ("weight", "weight"),
                         ("dfbetas", "dfbetas")):
        assert close([r[ours] for r in inf], exp["influence"][theirs]), ours
    assert [r["influential"] for r in inf] == exp["influence"]["flagged"]
    cum = res["cumulative"]
    assert [r["study"] for r in cum] == [BCG["study"][i - 1] for i in exp["cumulative"]["order"]]
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2"):
        assert close([r[key] for r in cum], exp["cumulative"][key]), key


@pytest.mark.parametrize("case", DATA["subgroup"], ids=lambda c: c["id"])
def test_subgroups_separate_tau2_match_metafor(case: dict[str, Any]) -> None:
    from synth.meta.subgroup import subgroup_analysis

    res = subgroup_analysis(compute_effects(BCG, "RR"), case["by"], PoolOptions(method=case["method"], test="z"))
    exp = case["expected"]
    groups = {g["group"]: g for g in res["subgroups"]}
    for i, name in enumerate(exp["groups"]):
        g = groups[name]
        assert g["k"] == exp["k"][i]
        assert close([g["estimate"], g["se"], g["tau2"]], [exp["estimate"][i], exp["se"][i], exp["tau2"][i]])
    t = res["test_separate"]
    assert close([t["q"], t["p"]], [exp["q_between"], exp["p_between"]]) and t["df"] == exp["df_between"]


def test_common_tau2_subgroup_model_equals_categorical_meta_regression() -> None:
    from synth.meta.subgroup import subgroup_analysis

    case = next(c for c in DATA["regression"] if c["id"] == "bcg_alloc_REML_z")
    res = subgroup_analysis(compute_effects(BCG, "RR"), "alloc", PoolOptions(method="REML", test="z"))
    common = res["common_tau2"]
    assert close([common["tau2"], common["qm"], common["qm_p"]],
                 [case["expected"]["tau2"], case["expected"]["qm"], case["expected"]["qm_p"]])
