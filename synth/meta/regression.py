"""Mixed-effects meta-regression ``y = X b + u + e`` (metafor ``rma.uni`` with ``mods``), one analysis at a time.

tau^2 estimators for a general design matrix (Viechtbauer 2005; Raudenbush 2009), with
``P = W - W X (X'WX)^{-1} X'W`` and ``W = diag(1/(v + tau^2))``:

* ``DL`` ``(Q_E - (k-p)) / tr(P_0)``; ``HE`` ``(y'P_I y - tr(P_I V)) / (k-p)``; ``HS`` ``(Q_E - k) / sum w``;
  ``SJ`` one step from ``tau0 = var(y)`` (divisor k);
* ``ML``, ``REML``, ``EB`` Fisher scoring from the HE start with step-halving at 0, tolerance 1e-12, and
  metafor's check of the likelihood at 0; ``PM`` root of ``y'P y = k - p`` (Brent).

Tests: ``z`` (QM ~ chi^2_m), ``t`` (t_{k-p}, F_{m,k-p}), ``hksj`` (Knapp & Hartung 2003: covariance scaled by
``s2w = y'P y/(k-p)``), ``hksj-adhoc`` (``s2w`` floored at 1). Residual I^2 uses ``vt = (k-p)/tr(P_0)``;
pseudo-R^2 = ``max(0, 100 (tau^2_RE - tau^2_ME)/tau^2_RE)`` against the intercept-only model with the same
estimator (Raudenbush 2009; metafor's default).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError
from synth.meta import dist
from synth.meta.io import as_pandas, missing_cells

if TYPE_CHECKING:
    from synth.meta.effects import EffectTable
    from synth.meta.pooling import PoolOptions

TOL = 1e-12


@dataclass
class RegFit:
    """A fitted mixed-effects meta-regression."""

    coef: np.ndarray
    vcov: np.ndarray  # after any HKSJ scaling
    se: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: int | None
    tau2: float
    converged: bool
    qe: float
    qe_p: float
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_p: float
    i2: float
    s2w: float
    k: int
    p_: int


def _root(f: Callable[[float], float], a: float, b: float) -> float:
    """The root of a decreasing ``f`` with ``f(a) > 0 >= f(b)``: Illinois regula falsi (superlinear, never
    leaves the bracket), to 4 machine epsilons relative or 1e-14 absolute."""
    fa, fb, side, prev = f(a), f(b), 0, math.inf
    c = 0.5 * (a + b)
    for _ in range(500):
        c = (a * fb - b * fa) / (fb - fa)
        if not a < c < b:
            c = 0.5 * (a + b)
        fc = f(c)
        if fc == 0 or abs(c - prev) <= 1e-14 + 4 * np.finfo(float).eps * abs(c) or b - a <= 1e-14:
            return c
        prev = c
        if fc > 0:
            a, fa = c, fc
            if side == 1:
                fb /= 2
            side = 1
        else:
            b, fb = c, fc
            if side == -1:
                fa /= 2
            side = -1
    return c


def _proj(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    WX = X * w[:, None]
    return np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)


def _step(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    k, p = X.shape
    w = 1 / (v + tau2)
    P = _proj(X, w)
    Py = P @ y
    if method == "ML":
        return float((Py @ Py - w.sum()) / (w * w).sum())
    if method == "REML":
        return float((Py @ Py - np.trace(P)) / np.sum(P * P))
    return float((y @ Py * k / (k - p) - k) / w.sum())  # EB


def _loglik(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    w = 1 / (v + tau2)
    P = _proj(X, w)
    ll = 0.5 * np.sum(np.log(w)) - 0.5 * float(y @ P @ y)
    if method == "REML":
        ll -= 0.5 * np.linalg.slogdet(X.T @ (X * w[:, None]))[1]
    return float(ll)


def tau2_general(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[float, bool]:
    """tau^2 for a meta-regression design ``X`` (k x p); returns ``(tau2, converged)``."""
    k, p = X.shape
    if method == "EE":
        return 0.0, True
    w0 = 1 / v
    P0 = _proj(X, w0)
    qe = float(y @ P0 @ y)
    if method == "DL":
        return max(0.0, (qe - (k - p)) / np.trace(P0)), True
    if method == "HS":
        return max(0.0, (qe - k) / w0.sum()), True
    PI = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
    he = max(0.0, float((y @ PI @ y - np.trace(PI * v[None, :])) / (k - p)))
    if method == "HE":
        return he, True
    if method == "SJ":
        tau0 = float(np.var(y))
        if tau0 <= 0:
            return 0.0, True
        w = 1 / (v + tau0)
        return max(0.0, tau0 * float(y @ _proj(X, w) @ y) / (k - p)), True
    if method == "PM":
        def f(t: float) -> float:
            return float(y @ _proj(X, 1 / (v + t)) @ y) - (k - p)
        if f(0.0) <= 0:
            return 0.0, True
        hi = 100.0
        while f(hi) > 0 and hi < 1e12:
            hi *= 10
        if f(hi) > 0:
            return float("nan"), False
        return _root(f, 0.0, hi), True
    if method not in ("ML", "REML", "EB"):
        raise ValueError(method)
    # Fisher scoring from the HE start, safeguarded by a bracket on the root (bisection when a step leaves the
    # bracket or stalls), as in synth.meta.estimators
    tau2, lo, hi, dxold = he, 0.0, float("inf"), float("inf")
    for _ in range(1000):
        adj = _step(method, y, v, X, tau2)
        if not np.isfinite(adj):
            return float("nan"), False
        if adj > 0:
            lo = max(lo, tau2)
        else:
            hi = min(hi, tau2)
        new = tau2 + adj
        tiny = abs(adj) < TOL * max(1.0, tau2)
        if not tiny and (new < lo or new > hi or (np.isfinite(hi) and abs(2 * adj) > dxold)):
            new = 0.5 * (lo + hi) if np.isfinite(hi) else max(2 * tau2, tau2 + adj)
            dxold = hi - lo
        else:
            dxold = abs(adj)
        new = max(new, 0.0)
        scale = max(1.0, new)
        done = tiny or abs(new - tau2) < TOL * scale or (hi - lo) < TOL * scale
        tau2 = new
        if done:
            break
    else:
        return float("nan"), False
    if method in ("ML", "REML") and tau2 > 0 and _step(method, y, v, X, 0.0) <= 0 \
            and _loglik(method, y, v, X, 0.0) >= _loglik(method, y, v, X, tau2) - 1e-12:
        tau2 = 0.0
    return tau2, True


def fit(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str = "REML", test: str = "hksj",
        level: float = 95.0, btt: list[int] | None = None) -> RegFit:
    """Fit a mixed-effects meta-regression; ``btt`` = coefficients in the omnibus QM test (default: all but
    the intercept column 0, or all when there is only one column)."""
    k, p = X.shape
    if k <= p:
        raise InputError(f"Meta-regression needs more studies than coefficients (k = {k}, coefficients = {p}). "
                         "Use fewer moderators or more studies.")
    if np.linalg.matrix_rank(X) < p:
        raise InputError("The moderators are collinear (the design matrix is not of full rank). Drop a moderator.")
    tau2, ok = tau2_general(method, y, v, X)
    w = 1 / (v + (tau2 if ok else 0.0))
    XtWX = X.T @ (X * w[:, None])
    vb = np.linalg.inv(XtWX)
    b = vb @ (X.T @ (w * y))
    res = y - X @ b
    rss = float(np.sum(w * res * res))
    s2w = 1.0
    if test in ("hksj", "hksj-adhoc"):
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test == "hksj-adhoc":
            s2w = max(1.0, s2w)
        vb = vb * s2w
    se = np.sqrt(np.diag(vb))
    alpha = 1 - level / 100
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = b / se
    idx = btt if btt is not None else (list(range(1, p)) if p > 1 else [0])
    m = len(idx)
    bb = b[idx]
    qm = float(bb @ np.linalg.solve(vb[np.ix_(idx, idx)], bb))
    if test == "z":
        crit = dist.norm_isf(alpha / 2)
        pv = 2 * dist.norm_sf(np.abs(stat))
        df, qm_df2 = None, None
        qm_p = float(dist.chi2_sf(qm, m))
    else:
        crit = dist.t_isf(alpha / 2, k - p)
        pv = 2 * dist.t_sf(np.abs(stat), k - p)
        df, qm_df2 = k - p, k - p
        qm = qm / m
        qm_p = float(dist.f_sf(qm, m, k - p))
    P0 = _proj(X, 1 / v)
    qe = float(max(0.0, y @ P0 @ y))
    vt = (k - p) / np.trace(P0)
    i2 = 100 * tau2 / (tau2 + vt) if method != "EE" else max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
    return RegFit(coef=b, vcov=vb, se=se, stat=stat, p=pv, ci_low=b - crit * se, ci_high=b + crit * se, df=df,
                  tau2=tau2, converged=ok, qe=qe, qe_p=float(dist.chi2_sf(qe, k - p)), qm=qm, qm_df=m,
                  qm_df2=qm_df2, qm_p=qm_p, i2=float(i2), s2w=s2w, k=k, p_=p)


def design(frame: Any, mods: list[str], labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Design matrix (intercept first) from moderator columns: numeric columns are continuous, others (or
    ``cat:COL``) categorical with treatment coding against the first level in sorted order (as R's factor)."""
    import pandas as pd

    frame = as_pandas(frame)
    cols = [np.ones(len(frame))]
    names = ["intercept"]
    for spec in mods:
        force = spec.startswith("cat:")
        col = spec[4:] if force else spec
        if col not in frame.columns:
            raise InputError(f"Moderator column {col!r} is not in the data (columns: {', '.join(map(str, frame.columns))}). "
                             "Name an existing column.")
        raw = frame[col]
        text = raw.astype(str).str.strip()
        for i, t in enumerate(text):
            if t == "" or t.lower() == "nan":
                raise InputError(f"Study {labels[i]!r}: moderator {col} is empty. Give a value for every study.")
        num = pd.to_numeric(text, errors="coerce")
        if not force and num.notna().all():
            cols.append(num.to_numpy(float))
            names.append(col)
            continue
        levels = sorted(text.unique())
        if len(levels) < 2:
            raise InputError(f"Moderator {col} has a single level ({levels[0]!r}); it cannot explain anything. Drop it.")
        for lev in levels[1:]:
            cols.append((text == lev).to_numpy(float))
            names.append(f"{col}[{lev}]")
    return np.column_stack(cols), names


def meta_regression_frame(table: EffectTable, mods: list[str], opts: PoolOptions) -> dict[str, Any]:
    """Meta-regression of the included studies of ``table`` on moderator columns of ``table.frame``."""
    if not mods:
        raise InputError("--mods needs at least one moderator column, e.g. --mods year,setting.")
    # a study whose moderator is missing is omitted from the model, as metafor's na.action = "na.omit"
    # (design() below names a moderator column that is not in the data)
    table_frame = as_pandas(table.frame)
    present = tuple(c for c in (spec.removeprefix("cat:") for spec in mods) if c in table_frame.columns)
    no_mod = missing_cells(table_frame, present)
    omitted = list(table.omitted)
    inc = table.included.copy()
    for i, cols in sorted(no_mod.items()):
        if inc[i]:
            inc[i] = False
            omitted.append({"study": table.studies[i], "fields": cols,
                            "reason": f"moderator {', '.join(cols)} missing (NA): omitted from the model"})
    frame = table_frame.loc[inc].reset_index(drop=True)
    labels = [s for s, ok in zip(table.studies, inc, strict=True) if ok]
    y, v = table.yi[inc], table.vi[inc]
    if len(y) < 2:
        raise InputError(f"Only {len(y)} stud{'y has' if len(y) == 1 else 'ies have'} an effect and every "
                         "moderator; a meta-regression needs more. Fill in the missing values or drop a moderator.")
    X, names = design(frame, mods, labels)
    f = fit(y, v, X, opts.method, opts.test, opts.level)
    warnings: list[str] = []
    if not f.converged:
        raise InputError(f"The {opts.method} estimator of tau^2 did not converge for this meta-regression; "
                         "no result is reported. Try --method DL or PM.")
    r2: float | None = None
    if opts.method != "EE":
        t0, ok0 = tau2_general(opts.method, y, v, np.ones((len(y), 1)))
        r2 = (0.0 if t0 <= 0 else max(0.0, 100 * (t0 - f.tau2) / t0)) if ok0 else None
    coefs = [{"name": n, "estimate": float(f.coef[j]), "se": float(f.se[j]), "stat": float(f.stat[j]),
              "p": float(f.p[j]), "ci_low": float(f.ci_low[j]), "ci_high": float(f.ci_high[j])}
             for j, n in enumerate(names)]
    return {"k": f.k, "measure": table.measure, "method": opts.method, "test": opts.test, "mods": mods,
            "coefficients": coefs, "df": f.df, "tau2": f.tau2, "tau": float(np.sqrt(f.tau2)), "i2_residual": f.i2,
            "qe": f.qe, "qe_df": f.k - f.p_, "qe_p": f.qe_p, "qm": f.qm, "qm_df": f.qm_df, "qm_df2": f.qm_df2,
            "qm_p": f.qm_p, "r2": r2, "excluded": table.excluded, "omitted": omitted,
            "warnings": warnings,
            "methods": f"Mixed-effects meta-regression of {table.measure}; tau^2 by {opts.method}; test {opts.test}; "
                       f"QM omnibus test of all moderators ({'chi-square' if opts.test == 'z' else 'F'}); "
                       "pseudo-R^2 against the intercept-only model with the same estimator."}
