"""Sensitivity analyses: leave-one-out, influence diagnostics (Viechtbauer & Cheung 2010; metafor
``influence.rma.uni``) and cumulative meta-analysis (metafor ``leave1out``/``cumul``). The k leave-one-out fits
and the k cumulative fits each run as one vectorised batch.

Influence measures for study i (with the fit omitting i: ``mu_(i)``, ``tau2_(i)``, its variance ``vb_(i)`` and
HKSJ factor ``s2w_(i)`` = 1 unless ``--test hksj``): externally standardised residual
``(y_i - mu_(i))/sqrt(s2w_(i) (v_i + tau2_(i)) + vb_(i))``; DFFITS ``(mu - mu_(i))/sqrt(s2w_(i) h_i (tau2_(i) + v_i))``;
Cook's distance ``(mu - mu_(i))^2 / vb``; covariance ratio ``vb_(i)/vb``; DFBETAS
``(mu - mu_(i))/sqrt(s2w_(i) / sum_j 1/(v_j + tau2_(i)))``; hat ``h_i = w_i/sum w``. A study is flagged as
influential when |DFFITS| > 3 sqrt(1/(k-1)), P(chi^2_1 <= Cook's D) > 0.5, h_i > 3/k, or |DFBETAS| > 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError
from synth.meta import dist
from synth.meta.pooling import PoolOptions, pad, pool_arrays, pool_batch

if TYPE_CHECKING:
    from synth.meta.effects import EffectTable


def _f(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def leave_one_out(yi: np.ndarray, vi: np.ndarray, opts: PoolOptions) -> Any:
    """Batch result of the k fits that each omit one study (k >= 3)."""
    k = len(yi)
    keep = ~np.eye(k, dtype=bool)
    Y = np.broadcast_to(yi, (k, k))[keep].reshape(k, k - 1)
    V = np.broadcast_to(vi, (k, k))[keep].reshape(k, k - 1)
    return pool_batch(Y, V, np.ones((k, k - 1), dtype=bool), opts)


def influence(yi: np.ndarray, vi: np.ndarray, opts: PoolOptions) -> list[dict[str, Any]]:
    """Influence diagnostics per study (metafor ``influence``)."""
    k = len(yi)
    full = pool_arrays(yi, vi, opts)
    mu, vb = float(full.estimate[0]), float(full.se[0]) ** 2
    w = 1 / (vi + full.tau2[0])
    hat = w / w.sum()
    loo = leave_one_out(yi, vi, opts)
    s2w = loo.s2w
    vdel = loo.se**2
    t2d = loo.tau2
    resid = yi - loo.estimate
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    rstudent = resid / np.sqrt(vi * s2w + vdel + t2d * s2w)
    dfb = mu - loo.estimate
    dffits = dfb / np.sqrt(s2w * hat * (t2d + vi))
    vb_del = 1 / np.sum(1 / (vi[None, :] + t2d[:, None]), axis=1)
    dfbetas = dfb / np.sqrt(s2w * vb_del)
    cook = dfb**2 / vb
    cov_r = vdel / vb
    flagged = (np.abs(dffits) > 3 * np.sqrt(1 / (k - 1))) | (dist.chi2_cdf(cook, 1) > 0.5) | (hat > 3 / k) \
        | (np.abs(dfbetas) > 1)
    return [{"rstudent": _f(rstudent[i]), "dffits": _f(dffits[i]), "cook_d": _f(cook[i]), "cov_r": _f(cov_r[i]),
             "tau2_del": _f(t2d[i]), "q_del": _f(loo.q[i]), "hat": _f(hat[i]), "weight": _f(100 * hat[i]),
             "dfbetas": _f(dfbetas[i]), "influential": bool(flagged[i])} for i in range(k)]


def cumulative(yi: np.ndarray, vi: np.ndarray, opts: PoolOptions, order: np.ndarray) -> list[dict[str, Any]]:
    """Cumulative meta-analysis adding studies in ``order``; the first step is the single first study."""
    y, v = yi[order], vi[order]
    k = len(y)
    rows: list[dict[str, Any]] = []
    z = dist.norm_isf((1 - opts.level / 100) / 2)
    se1 = float(np.sqrt(v[0]))
    rows.append({"k": 1, "estimate": float(y[0]), "se": se1, "ci_low": float(y[0] - z * se1),
                 "ci_high": float(y[0] + z * se1), "p": float(2 * dist.norm_sf(abs(y[0]) / se1)), "tau2": 0.0,
                 "i2": 0.0})
    if k >= 2:
        Y, V, M = pad([(y[: j + 1], v[: j + 1]) for j in range(1, k)])
        b = pool_batch(Y, V, M, opts)
        for j in range(k - 1):
            rows.append({"k": j + 2, "estimate": _f(b.estimate[j]), "se": _f(b.se[j]), "ci_low": _f(b.ci_low[j]),
                         "ci_high": _f(b.ci_high[j]), "p": _f(b.p[j]), "tau2": _f(b.tau2[j]), "i2": _f(b.i2[j])})
    return rows


def sensitivity_report(table: EffectTable, opts: PoolOptions, order_by: str | None = None) -> dict[str, Any]:
    """Leave-one-out, influence and cumulative results for the included studies of ``table``."""
    import pandas as pd

    inc = table.included
    yi, vi = table.yi[inc], table.vi[inc]
    labels = [s for s, ok in zip(table.studies, inc, strict=True) if ok]
    k = len(yi)
    if k < 3:
        raise InputError(f"Sensitivity analyses need at least 3 studies with estimable effects (k = {k}).")
    loo = leave_one_out(yi, vi, opts)
    loo_rows = [{"study": labels[i], "estimate": _f(loo.estimate[i]), "se": _f(loo.se[i]),
                 "ci_low": _f(loo.ci_low[i]), "ci_high": _f(loo.ci_high[i]), "p": _f(loo.p[i]),
                 "tau2": _f(loo.tau2[i]), "i2": _f(loo.i2[i]), "q": _f(loo.q[i])} for i in range(k)]
    inf = [{"study": labels[i], **row} for i, row in enumerate(influence(yi, vi, opts))]
    if order_by:
        from synth.meta.io import as_pandas

        frame = as_pandas(table.frame).loc[inc].reset_index(drop=True)
        if order_by not in frame.columns:
            raise InputError(f"--order-by column {order_by!r} is not in the data. Name an existing column (e.g. year).")
        col = frame[order_by]
        num = pd.to_numeric(col, errors="coerce")
        key = num if num.notna().all() else col.astype(str)
        order = np.argsort(key.to_numpy(), kind="stable")
    else:
        order = np.arange(k)
    cum = [{"study": labels[int(order[j])], **row} for j, row in enumerate(cumulative(yi, vi, opts, order))]
    return {"k": k, "measure": table.measure, "method": opts.method, "test": opts.test,
            "order_by": order_by, "leave_one_out": loo_rows, "influence": inf, "cumulative": cum,
            "excluded": table.excluded, "omitted": table.omitted}
