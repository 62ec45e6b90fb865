"""Small-study effects: Egger's regression test, Begg's rank correlation test and trim-and-fill.

* Egger et al. (1997), classic form = metafor ``regtest(model="lm")``: weighted least squares of ``y`` on its
  standard error with weights ``1/v`` and a free dispersion; t test of the SE coefficient on k-2 df. The SE
  coefficient is Egger's *intercept* (bias coefficient) of the standardised-effect-on-precision regression;
  the fitted value at SE = 0 is reported as ``limit_estimate``.
* Begg & Mazumdar (1994) = metafor ``ranktest``: Kendall's tau between ``(y - mu_EE)/sqrt(v - 1/sum w)`` and
  ``v``; exact p without ties, normal approximation (tau-b) with ties.
* Duval & Tweedie (2000) trim-and-fill = metafor ``trimfill`` defaults: L0 estimator, side chosen from the sign
  of the slope of a mixed-effects regression on the SE (same tau^2 estimator), iterated to a fixed k0, then the
  filled data set is re-pooled with the same options.

Funnel-plot tests warn below 10 studies (Sterne et al. 2011).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError
from synth.meta import dist
from synth.meta.pooling import PoolOptions, pool_arrays
from synth.meta.regression import fit as reg_fit

if TYPE_CHECKING:
    from synth.meta.effects import EffectTable


def egger(yi: np.ndarray, vi: np.ndarray) -> dict[str, Any]:
    """Classic Egger regression test (needs k >= 3)."""
    k = len(yi)
    if k < 3:
        raise InputError(f"Egger's test needs at least 3 studies (k = {k}). Add studies or skip the test.")
    sei = np.sqrt(vi)
    X = np.column_stack([np.ones(k), sei])
    w = 1 / vi
    XtWX = X.T @ (X * w[:, None])
    b = np.linalg.solve(XtWX, X.T @ (w * yi))
    r = yi - X @ b
    s2 = float(np.sum(w * r * r) / (k - 2))
    cov = s2 * np.linalg.inv(XtWX)
    se = np.sqrt(np.diag(cov))
    t = b[1] / se[1]
    return {"stat": float(t), "p": float(2 * dist.t_sf(abs(t), k - 2)), "df": k - 2, "intercept": float(b[1]),
            "intercept_se": float(se[1]), "limit_estimate": float(b[0]),
            "method": "classic Egger test: weighted least squares of y on SE (weights 1/v), t test on k-2 df"}


def begg(yi: np.ndarray, vi: np.ndarray) -> dict[str, Any]:
    """Begg & Mazumdar rank correlation test."""
    w = 1 / vi
    theta = float(np.sum(w * yi) / np.sum(w))
    ystar = (yi - theta) / np.sqrt(vi - 1 / np.sum(w))
    ties = len(np.unique(ystar)) < len(ystar) or len(np.unique(vi)) < len(vi)
    tau, p = dist.kendalltau(ystar, vi, exact=not ties)
    return {"stat": tau, "p": p, "k": len(yi),
            "method": "Begg & Mazumdar rank correlation (Kendall tau, " + ("normal approximation" if ties else "exact") + ")"}


def _mu(yi: np.ndarray, vi: np.ndarray, opts: PoolOptions) -> float:
    if len(yi) == 1:
        return float(yi[0])
    return float(pool_arrays(yi, vi, opts).estimate[0])


def trimfill(yi: np.ndarray, vi: np.ndarray, opts: PoolOptions, maxiter: int = 100) -> dict[str, Any]:
    """Duval & Tweedie trim-and-fill with the L0 estimator (metafor ``trimfill`` defaults)."""
    k = len(yi)
    sl = reg_fit(yi, vi, np.column_stack([np.ones(k), np.sqrt(vi)]), opts.method, "z")
    side = "right" if sl.coef[1] < 0 else "left"
    y = -yi if side == "right" else yi.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], vi[ix]
    k0, k0_prev, it = 0, -1, 0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise InputError("Trim-and-fill did not converge (k0 keeps changing); it is not reported.")
        beta = _mu(y[: k - k0], v[: k - k0], opts)
        yc = y - beta
        ranks = np.argsort(np.argsort(np.abs(yc), kind="stable"), kind="stable") + 1  # ordinal ranks
        sr = float(np.sum(ranks[yc > 0]))
        est = (4 * sr - k * (k + 1)) / (2 * k - 1)
        k0 = max(0, round(est))  # R's round(): halves to even, as Python's
    if k0 > 0:
        beta_o = -beta if side == "right" else beta
        y_o = -y[k - k0:] if side == "right" else y[k - k0:]
        fill_y = 2 * beta_o - y_o  # mirror images of the k0 most extreme studies
        r = pool_arrays(np.concatenate([yi, fill_y]), np.concatenate([vi, v[k - k0:]]), opts)
        out = {"estimate": float(r.estimate[0]), "se": float(r.se[0]), "ci_low": float(r.ci_low[0]),
               "ci_high": float(r.ci_high[0]), "tau2": float(r.tau2[0]), "filled": [float(x) for x in fill_y]}
    else:
        r = pool_arrays(yi, vi, opts)
        out = {"estimate": float(r.estimate[0]), "se": float(r.se[0]), "ci_low": float(r.ci_low[0]),
               "ci_high": float(r.ci_high[0]), "tau2": float(r.tau2[0]), "filled": []}
    return {"k0": k0, "side": side, **out,
            "method": f"trim-and-fill (Duval & Tweedie), L0 estimator, re-pooled with {opts.method}/{opts.test}"}


def bias_report(table: EffectTable, opts: PoolOptions) -> dict[str, Any]:
    """Egger, Begg and trim-and-fill for the included studies of ``table``."""
    inc = table.included
    yi, vi = table.yi[inc], table.vi[inc]
    k = len(yi)
    if k < 3:
        raise InputError(f"Small-study tests need at least 3 studies with estimable effects (k = {k}). "
                         "Add studies or skip the tests.")
    warnings = []
    if k < 10:
        warnings.append(f"only {k} studies: tests for funnel-plot asymmetry have low power below 10 studies "
                        "(Cochrane Handbook 13.3.5.4); interpret with caution")
    return {"k": k, "measure": table.measure, "method": opts.method, "egger": egger(yi, vi), "begg": begg(yi, vi),
            "trimfill": trimfill(yi, vi, opts), "excluded": table.excluded, "omitted": table.omitted, "warnings": warnings}
