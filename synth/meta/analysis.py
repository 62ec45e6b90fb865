"""Library entry points: pool a DataFrame (one analysis, or one per group) into plain result dicts.

>>> import pandas as pd
>>> from synth.meta.analysis import pool_frame
>>> res = pool_frame(pd.DataFrame({"yi": [0.1, 0.3, 0.2], "vi": [0.01, 0.02, 0.015]}))
>>> sorted(res)[:3]
['ci_high', 'ci_low', 'converged']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError
from synth.meta import dist
from synth.meta.effects import EffectTable, back_transform, compute_effects, ensure_k
from synth.meta.io import factorize, text
from synth.meta.pooling import BatchPool, PoolOptions, pool_batch, pool_ragged

if TYPE_CHECKING:
    import pandas as pd

TEST_TEXT = {
    "z": "Wald-type z test and CI (normal distribution)",
    "t": "t test and CI with k-1 df (unscaled SE)",
    "hksj": "Hartung-Knapp-Sidik-Jonkman (HKSJ) t test and CI with k-1 df",
    "hksj-adhoc": "HKSJ t test and CI with k-1 df, SE never smaller than the Wald SE (ad hoc variant)",
}
METHOD_TEXT = {
    "REML": "restricted maximum likelihood (REML)", "ML": "maximum likelihood (ML)",
    "DL": "DerSimonian-Laird (DL)", "PM": "Paule-Mandel (PM)", "HE": "Hedges (HE)",
    "SJ": "Sidik-Jonkman (SJ)", "HS": "Hunter-Schmidt (HS)", "EB": "empirical Bayes (EB)",
}
SUMMARY_KEYS = ("k", "measure", "method", "test", "estimate", "se", "ci_low", "ci_high", "stat", "p", "df",
                "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "i2", "i2_ci_low", "i2_ci_high", "h2", "q", "q_df",
                "q_p", "pi_low", "pi_high")


def methods_text(opts: PoolOptions, measure: str) -> str:
    """A one-paragraph statement of the methods behind a result."""
    lvl = f"{opts.level:g}%"
    if opts.method == "EE":
        return (f"Equal-effect (common-effect) inverse-variance meta-analysis of {measure}; {TEST_TEXT[opts.test]}; "
                f"{lvl} CI; I^2 = (Q - df)/Q; no prediction interval.")
    if opts.pi == "hts":
        pi = "t distribution with k-2 df (Higgins, Thompson & Spiegelhalter 2009)"
    elif opts.test == "z":
        pi = "normal distribution (metafor default for z)"
    else:
        pi = "t distribution with k-1 df and the test's SE (metafor default)"
    return (f"Random-effects inverse-variance meta-analysis of {measure}; tau^2 by {METHOD_TEXT[opts.method]}; "
            f"{TEST_TEXT[opts.test]}; {lvl} CI; Q-profile CI for tau^2 (and I^2, H^2); I^2 and H^2 from tau^2 "
            f"(I^2 = tau^2/(tau^2 + typical within-study variance)); Cochran's Q with inverse-variance weights; "
            f"{lvl} prediction interval from a {pi}.")


def _f(x: Any) -> float | None:
    """A JSON-safe float (None for NaN/inf)."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _back(measure: str, d: dict[str, Any], kind: str | None = None) -> dict[str, Any] | None:
    if back_transform(measure, 0.0, kind) is None:
        return None
    out: dict[str, Any] = {}
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        v = d.get(key)
        out[key] = None if v is None else _f(back_transform(measure, float(v), kind))
    return out


def _empty(measure: str, opts: PoolOptions) -> dict[str, Any]:
    d: dict[str, Any] = dict.fromkeys(SUMMARY_KEYS)
    d.update(measure=measure, method=opts.method, test=opts.test, level=opts.level, pi=opts.pi,
             iterations=None, tau2_at_boundary=None)
    return d


def _single(measure: str, opts: PoolOptions, study: str, y: float, v: float) -> dict[str, Any]:
    d = _empty(measure, opts)
    se = math.sqrt(v)
    z = dist.norm_isf((1 - opts.level / 100) / 2)
    d.update(k=1, estimate=y, se=se, ci_low=y - z * se, ci_high=y + z * se, stat=y / se,
             p=float(2 * dist.norm_sf(abs(y / se))), pooled=False, converged=None,
             studies=[{"study": study, "yi": y, "vi": v, "weight": 100.0}],
             warnings=[f"only 1 study ({study}): reported as that single study with a Wald CI, not a pooled result"],
             methods=f"Single study ({measure}); estimate with its own {opts.level:g}% Wald CI; nothing was pooled.")
    return d


SCALARS = ("estimate", "se", "ci_low", "ci_high", "stat", "p", "tau2", "tau2_ci_low", "tau2_ci_high", "i2",
           "i2_ci_low", "i2_ci_high", "h2", "q", "q_p", "pi_low", "pi_high")


def _from_batch(b: BatchPool, i: int, measure: str, opts: PoolOptions, studies: list[str],
                yi: list[float], vi: list[float], with_studies: bool = True, methods: str | None = None
                ) -> dict[str, Any]:
    d = _empty(measure, opts)
    k = len(studies)
    d.update(b.row(i, SCALARS))
    tau2 = d["tau2"]
    converged = bool(b.converged[i])
    d.update(
        df=None if opts.test == "z" else k - 1, k=k, tau=None if tau2 is None else math.sqrt(tau2), q_df=k - 1,
        pooled=converged, converged=converged,
        iterations=int(b.iterations[i]) if b.iterations is not None else None,
        tau2_at_boundary=bool(converged and opts.method != "EE" and tau2 == 0.0),
    )
    if with_studies:
        w = b.weights[i, :k].tolist()
        d["studies"] = [{"study": s, "yi": y, "vi": v, "weight": ww}
                        for s, y, v, ww in zip(studies, yi, vi, w, strict=True)]
    else:
        d["studies"] = None
    warns = list(b.notes[i])
    if opts.method == "EE" and opts.test != "z":
        warns.append(f"test {opts.test} is not meant for an equal-effect model")
    if opts.test == "hksj" and b.s2w[i] < 1:
        warns.append("the HKSJ interval is narrower than the Wald interval (s2w < 1); consider --test hksj-adhoc")
    # k >= 2 studies cannot give certainty: a zero-width interval (studies that agree exactly, so the HKSJ
    # variance is 0) is an artefact of the method, said in the result itself and not only as a warning
    se = d["se"]
    d["zero_width_ci"] = bool(se is not None and se == 0.0)
    if d["zero_width_ci"]:
        warns.insert(0, f"the {opts.level:g}% CI has zero width (SE 0): the {k} studies agree exactly, so the "
                        f"{opts.test} variance is 0 and its p-value means nothing; report the hksj-adhoc or z "
                        "interval (--test hksj-adhoc), which keep the studies' own uncertainty")
    d["warnings"] = warns
    d["methods"] = methods if methods is not None else methods_text(opts, measure)
    return d


def _finish(d: dict[str, Any], excluded: list[dict[str, str]], opts: PoolOptions,
            omitted: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    d["excluded"] = excluded
    d["omitted"] = omitted or []
    d["natural"] = _back(d["measure"], d, opts.back)
    return d


def pool_effects(table: EffectTable, opts: PoolOptions | None = None) -> dict[str, Any]:
    """Pool one :class:`EffectTable`; k = 1 gives the single study (``pooled`` False) with a warning."""
    opts = opts or PoolOptions()
    opts.validate()
    ensure_k(table)
    inc = table.included
    studies = [s for s, ok in zip(table.studies, inc, strict=True) if ok]
    yi, vi = table.yi[inc], table.vi[inc]
    if len(studies) == 1:
        return _finish(_single(table.measure, opts, studies[0], float(yi[0]), float(vi[0])), table.excluded, opts,
                       table.omitted)
    b = pool_batch(yi[None, :], vi[None, :], np.ones((1, len(yi)), dtype=bool), opts)
    return _finish(_from_batch(b, 0, table.measure, opts, studies, yi.tolist(), vi.tolist()), table.excluded, opts,
                   table.omitted)


def pool_dependent(yi: Any, vi: Any, study: list[str], labels: list[str], measure: str = "GEN",
                   method: str = "REML", level: float = 95.0, back: str | None = None) -> dict[str, Any]:
    """Pool effects of which several may come from one study: the multilevel model ``~ 1 | study/effect``
    (metafor ``rma.mv``; variance components by ``method`` when it is REML or ML, else REML) with
    cluster-robust CR2 inference clustered by study, Satterthwaite df (clubSandwich ``coef_test``; metafor
    ``robust(clubSandwich = TRUE)``), which stays valid when the within-study correlation is unknown
    (Pustejovsky & Tipton 2022).

    Returns the keys of :func:`pool_effects` (``k`` counts effects, ``clusters`` studies; ``tau2`` is the
    total ``sigma2_between + sigma2_within``, split in ``sigma2``; ``studies`` lists each effect with its
    weight), plus ``model`` = ``"multilevel"`` and the model-based z results under ``model_based``. The first
    warning says how many effects came from how many studies and which model pooled them."""
    from synth.meta.multilevel import (
        fit_multilevel,
        i2_levels,
        multilevel_method,
        prediction_interval,
        robust_cr,
        rowsum_weights,
        wald,
    )

    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    used = multilevel_method(method)
    fit = fit_multilevel(y, v, study, method=used)
    cr2 = robust_cr(fit, study, level)["cr2"][0]
    alpha = 1 - level / 100
    est = float(fit.estimate[0])
    pi_low, pi_high = prediction_interval(fit, cr2["se"], float(dist.t_isf(alpha / 2, cr2["df"])))
    i2, per_level = i2_levels(fit)
    opts = PoolOptions(method=used, level=level, back=back)
    d = _empty(measure, opts)
    model_based = wald(fit, "z", level)[0]
    d.update(
        k=fit.k, clusters=fit.clusters, model="multilevel", test="cr2", estimate=est, se=cr2["se"],
        ci_low=cr2["ci_low"], ci_high=cr2["ci_high"], stat=est / cr2["se"], p=cr2["p"], df=cr2["df"],
        tau2=sum(fit.sigma2), tau=math.sqrt(sum(fit.sigma2)), sigma2=fit.sigma2, i2=i2, i2_levels=per_level,
        q=fit.q, q_df=fit.q_df, q_p=fit.q_p, pi_low=pi_low, pi_high=pi_high, converged=fit.converged,
        pooled=fit.converged, iterations=fit.iterations, tau2_at_boundary=None,
        model_based={key: model_based[key] for key in ("se", "ci_low", "ci_high", "p")},
        studies=[{"study": s, "cluster": c, "yi": a, "vi": b, "weight": w}
                 for s, c, a, b, w in zip(labels, study, y.tolist(), v.tolist(), rowsum_weights(fit).tolist(),
                                          strict=True)],
    )
    warns = [f"{fit.k} effects come from {fit.clusters} studies, so they are not independent: pooled with the "
             "multilevel model (effects within studies) and cluster-robust CR2 inference"
             + ("" if used == method.upper() else f", by REML ({method} has no multilevel form)")]
    if not fit.converged:  # as pool_effects: no pooled result from an estimator that did not converge
        d.update(dict.fromkeys(("estimate", "se", "ci_low", "ci_high", "stat", "p", "pi_low", "pi_high")))
        warns.append(f"{fit.method} did not converge in {fit.iterations} iterations; no pooled result is reported")
    if cr2["df"] < 4:
        warns.append(f"the CR2 test has {cr2['df']:.1f} Satterthwaite df (< 4): with so few studies its CI and "
                     "p-value are unreliable (Tipton 2015); read the estimate with that caution")
    d["warnings"] = warns
    d["methods"] = (f"Multilevel random-effects model for dependent effects ({fit.k} effects within "
                    f"{fit.clusters} studies; ~ 1 | study/effect), variance components by {METHOD_TEXT[fit.method]}; "
                    f"{level:g}% CI, test and prediction interval from the cluster-robust CR2 variance clustered by "
                    "study with Satterthwaite df (clubSandwich; metafor robust(clubSandwich = TRUE)); "
                    "I^2 of the multilevel model (sum of sigma^2 over sigma^2 plus the typical sampling variance).")
    return _finish(d, [], opts)


def pool_frame(df: pd.DataFrame, measure: str | None = None, opts: PoolOptions | None = None) -> dict[str, Any]:
    """Effect sizes + pooling for a per-study DataFrame (see :mod:`synth.meta.effects` for the columns)."""
    return pool_effects(compute_effects(df, measure), opts)


def pool_by(df: Any, by: str, measure: str | None = None, opts: PoolOptions | None = None,
            with_studies: bool = True) -> list[dict[str, Any]]:
    """One pooled result per value of column ``by`` (groups in order of first appearance), vectorised.

    ``with_studies=False`` leaves out the per-study lists (``studies`` is None), for summary-only output."""
    opts = opts or PoolOptions()
    opts.validate()
    if by not in df.columns:
        raise InputError(f"--by column {by!r} is not in the data (columns: {', '.join(map(str, df.columns))}). "
                         "Name an existing column.")
    table = compute_effects(df, measure)
    codes, uniques = factorize(text(df, by))
    n = len(uniques)
    inc = table.included
    labels = np.asarray(table.studies, dtype=object)
    why = table.reasons_by_row()
    c_inc = codes[inc]
    counts = np.bincount(c_inc, minlength=n)
    multi = counts >= 2
    gidx = np.flatnonzero(multi)
    remap = -np.ones(n, dtype=np.int64)
    remap[gidx] = np.arange(gidx.size)
    sel = inc & multi[codes]
    batches, batch_of, row_of = pool_ragged(remap[codes[sel]], table.yi[sel], table.vi[sel], gidx.size, opts)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n + 1))
    yl, vl = table.yi.tolist(), table.vi.tolist()
    methods = methods_text(opts, table.measure)
    out: list[dict[str, Any]] = []
    for g in range(n):
        rows = order[bounds[g]:bounds[g + 1]]
        rows_inc = [int(r) for r in rows if inc[r]]
        names = [str(labels[r]) for r in rows_inc]
        out_rows = [why[int(r)] for r in rows if not inc[r] and int(r) in why]
        excluded = [e for kind, e in out_rows if kind == "excluded"]
        omitted = [e for kind, e in out_rows if kind == "omitted"]
        if multi[g]:
            j = int(remap[g])
            d = _from_batch(batches[batch_of[j]], int(row_of[j]), table.measure, opts, names,
                            [yl[r] for r in rows_inc], [vl[r] for r in rows_inc], with_studies, methods)
        elif len(rows_inc) == 1:
            r = rows_inc[0]
            d = _single(table.measure, opts, names[0], yl[r], vl[r])
        else:
            d = _empty(table.measure, opts)
            d.update(k=0, pooled=False, converged=None, studies=[],
                     warnings=["no study in this group has an estimable effect"], methods="")
        d = _finish(d, excluded, opts, omitted)
        out.append({"group": str(uniques[g]), **d})
    return out
