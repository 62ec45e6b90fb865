"""Distribution functions for inference (normal, t, chi-squared, F, Kendall's tau), in numpy alone.

Why not scipy: importing ``scipy.stats`` takes ~0.7 s and ``scipy.special`` ~0.16 s, more than a whole small
meta-analysis; these are the few functions meta-analysis needs, vectorised, to ~1e-14 relative accuracy.

* normal: ``math.erfc`` and :class:`statistics.NormalDist` (Wichura's AS 241 quantile, full double precision);
* chi-squared: the regularised incomplete gamma function, by its series below ``x < a + 1`` and by Lentz's
  continued fraction above (Numerical Recipes 6.2);
* t and F: the regularised incomplete beta function by its continued fraction (Numerical Recipes 6.4), each
  tail computed directly (never as ``1 - tiny``);
* quantiles: safeguarded Newton on the log of the tail probability inside a bracket (bisection when a step
  leaves it), iterated to ``1e-15`` relative;
* Kendall's tau-b with the exact null distribution (no ties) or the tie-corrected normal approximation, as
  ``scipy.stats.kendalltau``.

Scalars in give floats out; arrays in give arrays out.

>>> round(t_isf(0.025, 4), 10), round(chi2_sf(3.84145882069412, 1), 10), round(norm_isf(0.025), 10)
(2.7764451052, 0.05, 1.9599639845)
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
EPS = 3e-16  # a little above the double-precision epsilon: the series and continued fractions stop there
FPMIN = 1e-300
MAXIT = 100_000
_lgamma = np.frompyfunc(math.lgamma, 1, 1)
_erfc = np.frompyfunc(math.erfc, 1, 1)
_STD = NormalDist()


def _ppf1(p: float) -> float:
    if not 0.0 < p < 1.0:
        return -math.inf if p == 0 else math.inf if p == 1 else math.nan
    return _STD.inv_cdf(p)


_ppf = np.frompyfunc(_ppf1, 1, 1)


def _out(x: Array, scalar: bool) -> Any:
    return float(x.reshape(-1)[0]) if scalar else x


def _arr(*xs: Any) -> tuple[bool, list[Array]]:
    scalar = all(np.ndim(x) == 0 for x in xs)
    b = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in xs))
    return scalar, [np.array(a, dtype=float).reshape(-1) for a in b]


def lgamma(x: Any) -> Array:
    """log |Gamma(x)|, elementwise."""
    return np.asarray(_lgamma(np.asarray(x, dtype=float)), dtype=float)


# ---- normal -------------------------------------------------------------------------------------------------
def norm_sf(x: Any) -> Any:
    """P(Z > x)."""
    scalar, (a,) = _arr(x)
    return _out(0.5 * np.asarray(_erfc(a / math.sqrt(2.0)), dtype=float), scalar)


def norm_cdf(x: Any) -> Any:
    """P(Z <= x)."""
    return norm_sf(-np.asarray(x, dtype=float)) if np.ndim(x) else norm_sf(-float(x))


def norm_ppf(p: Any) -> Any:
    """The x with P(Z <= x) = p."""
    scalar, (a,) = _arr(p)
    return _out(np.asarray(_ppf(a), dtype=float), scalar)


def norm_isf(p: Any) -> Any:
    """The x with P(Z > x) = p."""
    scalar, (a,) = _arr(p)
    return _out(-np.asarray(_ppf(a), dtype=float), scalar)


# ---- incomplete gamma (chi-squared) -----------------------------------------------------------------------
def _gamma_pq(a: Array, x: Array) -> tuple[Array, Array]:
    """Regularised lower and upper incomplete gamma P(a, x), Q(a, x), each accurate in its own tail."""
    p = np.full(a.shape, np.nan)
    q = np.full(a.shape, np.nan)
    ok = (a > 0) & (x >= 0)
    p[ok & (x == 0)], q[ok & (x == 0)] = 0.0, 1.0
    p[ok & np.isposinf(x)], q[ok & np.isposinf(x)] = 1.0, 0.0
    fin = ok & (x > 0) & np.isfinite(x)
    ser = np.flatnonzero(fin & (x < a + 1))
    cf = np.flatnonzero(fin & (x >= a + 1))
    if ser.size:
        aa, xx = a[ser], x[ser]
        ap = aa.copy()
        d = 1.0 / aa
        s = d.copy()
        done = np.zeros(ser.size, dtype=bool)
        for _ in range(MAXIT):
            ap = ap + 1.0
            d = d * xx / ap
            s = np.where(done, s, s + d)
            done |= np.abs(d) < np.abs(s) * EPS
            if done.all():
                break
        lower = s * np.exp(aa * np.log(xx) - xx - lgamma(aa))
        p[ser], q[ser] = lower, 1.0 - lower
    if cf.size:
        aa, xx = a[cf], x[cf]
        b = xx + 1.0 - aa
        c = np.full(cf.size, 1.0 / FPMIN)
        d = 1.0 / b
        h = d.copy()
        done = np.zeros(cf.size, dtype=bool)
        for i in range(1, MAXIT):
            an = -i * (i - aa)
            b = b + 2.0
            d = an * d + b
            d = np.where(np.abs(d) < FPMIN, FPMIN, d)
            c = b + an / c
            c = np.where(np.abs(c) < FPMIN, FPMIN, c)
            d = 1.0 / d
            de = d * c
            h = np.where(done, h, h * de)
            done |= np.abs(de - 1.0) < EPS
            if done.all():
                break
        upper = np.exp(aa * np.log(xx) - xx - lgamma(aa)) * h
        q[cf], p[cf] = upper, 1.0 - upper
    return p, q


def chi2_sf(x: Any, df: Any) -> Any:
    """P(X > x) for X ~ chi-squared(df)."""
    scalar, (xx, k) = _arr(x, df)
    return _out(_gamma_pq(k / 2, xx / 2)[1], scalar)


def chi2_cdf(x: Any, df: Any) -> Any:
    """P(X <= x) for X ~ chi-squared(df)."""
    scalar, (xx, k) = _arr(x, df)
    return _out(_gamma_pq(k / 2, np.maximum(xx, 0.0) / 2)[0], scalar)


def _chi2_logpdf(x: Array, k: Array) -> Array:
    with np.errstate(divide="ignore"):
        return (k / 2 - 1) * np.log(x) - x / 2 - (k / 2) * math.log(2.0) - lgamma(k / 2)


# ---- incomplete beta (t, F) --------------------------------------------------------------------------------
def _betacf(a: Array, b: Array, x: Array) -> Array:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones(a.shape)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) < FPMIN, FPMIN, d)
    h = d.copy()
    done = np.zeros(a.shape, dtype=bool)
    for m in range(1, MAXIT):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / np.where(np.abs(d) < FPMIN, FPMIN, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < FPMIN, FPMIN, c)
        h = h * d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / np.where(np.abs(d) < FPMIN, FPMIN, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < FPMIN, FPMIN, c)
        de = d * c
        h = np.where(done, h, h * de)
        done |= np.abs(de - 1.0) < EPS  # once converged, an element stays so (rounding makes de wobble)
        if done.all():
            break
    return h


def _beta_pq(a: Array, b: Array, x: Array, y: Array) -> tuple[Array, Array]:
    """I_x(a, b) and 1 - I_x(a, b) (``y = 1 - x`` given exactly), each accurate in its own tail."""
    lo = np.full(a.shape, np.nan)
    hi = np.full(a.shape, np.nan)
    ok = (a > 0) & (b > 0) & (x >= 0) & (y >= 0)
    lo[ok & (x == 0)], hi[ok & (x == 0)] = 0.0, 1.0
    lo[ok & (y == 0)], hi[ok & (y == 0)] = 1.0, 0.0
    inner = ok & (x > 0) & (y > 0)
    direct = np.flatnonzero(inner & (x < (a + 1) / (a + b + 2)))
    other = np.flatnonzero(inner & ~(x < (a + 1) / (a + b + 2)))
    for idx, flip in ((direct, False), (other, True)):
        if not idx.size:
            continue
        aa, bb, xx, yy = a[idx], b[idx], x[idx], y[idx]
        lbt = lgamma(aa + bb) - lgamma(aa) - lgamma(bb) + aa * np.log(xx) + bb * np.log(yy)
        if flip:
            tail = np.exp(lbt) * _betacf(bb, aa, yy) / bb
            hi[idx], lo[idx] = tail, 1.0 - tail
        else:
            tail = np.exp(lbt) * _betacf(aa, bb, xx) / aa
            lo[idx], hi[idx] = tail, 1.0 - tail
    return lo, hi


def _t_tail(t: Array, df: Array) -> Array:
    """P(T > t) for T ~ t(df)."""
    t2 = t * t
    with np.errstate(invalid="ignore", divide="ignore"):
        x, y = df / (df + t2), t2 / (df + t2)
    x = np.where(np.isinf(t), 0.0, x)
    y = np.where(np.isinf(t), 1.0, y)
    half, other = _beta_pq(df / 2, np.full(df.shape, 0.5), x, y)
    upper = 0.5 * half  # P(|T| > |t|) / 2
    out = np.where(t > 0, upper, 0.5 + 0.5 * other)
    out = np.where(t == 0, 0.5, out)
    return np.where(np.isnan(t) | ~(df > 0), np.nan, out)


def t_sf(x: Any, df: Any) -> Any:
    """P(T > x) for T ~ t(df) (df may be fractional)."""
    scalar, (xx, k) = _arr(x, df)
    return _out(_t_tail(xx, k), scalar)


def _t_logpdf(x: Array, k: Array) -> Array:
    return (lgamma((k + 1) / 2) - lgamma(k / 2) - 0.5 * np.log(k * math.pi)
            - (k + 1) / 2 * np.log1p(x * x / k))


def f_sf(x: Any, d1: Any, d2: Any) -> Any:
    """P(F > x) for F ~ F(d1, d2)."""
    scalar, (xx, a, b) = _arr(x, d1, d2)
    xx = np.maximum(xx, 0.0)
    den = b + a * xx
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, _ = _beta_pq(b / 2, a / 2, b / den, a * xx / den)
    return _out(np.where(np.isinf(xx), 0.0, lo), scalar)


# ---- quantiles ---------------------------------------------------------------------------------------------
def _solve_tail(logtail: Any, dlog: Any, target: Array, lo: Array, start: Array, *,
                decreasing: bool) -> Array:
    """x in [lo, inf) with log F(x) = log target, F the tail function (decreasing: sf; else cdf).

    ``dlog(x, a, log F(x))`` is the derivative of log F, given log F so it is not computed twice.
    Safeguarded Newton on log F (nearly linear in the tails) inside a bracket grown by doubling; a step that
    leaves the bracket is a bisection."""
    n = target.size
    x = np.maximum(start, lo + 1e-300)
    ltar = np.log(target)
    hi = np.full(n, np.inf)
    lo = lo.copy()
    done = np.zeros(n, dtype=bool)
    for _ in range(2000):
        act = np.flatnonzero(~done)
        if not act.size:
            break
        xa = x[act]
        lt = logtail(xa, act)
        f = lt - ltar[act]
        # for a decreasing F, f > 0 means the root lies above x
        above = f > 0 if decreasing else f < 0
        lo[act] = np.where(above, np.maximum(lo[act], xa), lo[act])
        hi[act] = np.where(~above, np.minimum(hi[act], xa), hi[act])
        g = dlog(xa, act, lt)
        with np.errstate(divide="ignore", invalid="ignore"):
            nx = xa - f / g
        la, ha = lo[act], hi[act]
        bis = np.where(np.isfinite(ha), 0.5 * (la + ha), 2.0 * np.maximum(xa, 1.0))
        out = ~np.isfinite(nx) | (nx <= la) | (nx >= ha)
        nx = np.where(out, bis, nx)
        fin = (np.abs(nx - xa) <= 1e-15 * np.abs(nx)) | (f == 0) | (np.isfinite(ha) & ((ha - la) <= 1e-15 * ha))
        x[act] = np.where(f == 0, xa, nx)
        done[act] = fin
    return x


_QUANTILES: dict[tuple[str, float, float], float] = {}
"""Quantiles already computed in this process, by (function, p, df): they are iterative, and thousands of
analyses (or batches of them) ask for the same few."""


def _by_unique(name: str, fn: Any, pp: Array, k: Array) -> Array:
    """``fn(pp, k)`` computed once per distinct (p, df) pair and remembered."""
    pairs, inv = np.unique(np.column_stack([pp, k]), axis=0, return_inverse=True)
    keys = [(name, p, d) for p, d in pairs.tolist()]
    todo = [i for i, key in enumerate(keys) if key not in _QUANTILES]
    if todo:
        with np.errstate(all="ignore"):
            vals = np.asarray(fn(pairs[todo, 0].copy(), pairs[todo, 1].copy()), dtype=float)
        _QUANTILES.update(zip((keys[i] for i in todo), vals.tolist(), strict=True))
    return np.array([_QUANTILES[key] for key in keys])[inv.reshape(-1)]


def t_isf(p: Any, df: Any) -> Any:
    """The x with P(T > x) = p for T ~ t(df)."""
    scalar, (pp, k) = _arr(p, df)
    return _out(_by_unique("t_isf", _t_isf, pp, k), scalar)


def _t_isf(pp: Array, k: Array) -> Array:
    out = np.full(pp.shape, np.nan)
    valid = (k > 0) & (pp > 0) & (pp < 1)
    out[(k > 0) & (pp == 0)], out[(k > 0) & (pp == 1)] = np.inf, -np.inf
    out[valid & (pp == 0.5)] = 0.0
    idx = np.flatnonzero(valid & (pp != 0.5))
    if idx.size:
        tail = np.minimum(pp[idx], 1 - pp[idx])  # solve the upper tail, reflect for p > 1/2
        kk = k[idx]
        z = -np.asarray(_ppf(tail), dtype=float)

        def logtail(x: Array, a: np.ndarray) -> Array:
            return np.log(_t_tail(x, kk[a]))

        def dlog(x: Array, a: np.ndarray, lt: Array) -> Array:
            return -np.exp(_t_logpdf(x, kk[a]) - lt)

        root = _solve_tail(logtail, dlog, tail, np.zeros(idx.size), z, decreasing=True)
        out[idx] = np.where(pp[idx] < 0.5, root, -root)
    return out


def _chi2_quantile(pp: Array, k: Array, upper: bool) -> Array:
    out = np.full(pp.shape, np.nan)
    valid = (k > 0) & (pp > 0) & (pp < 1)
    zero, one = (pp == 0) & (k > 0), (pp == 1) & (k > 0)
    out[zero], out[one] = (np.inf, 0.0) if upper else (0.0, np.inf)
    idx = np.flatnonzero(valid)
    if not idx.size:
        return out
    target, kk = pp[idx], k[idx]
    # Wilson-Hilferty start (cube of a normal), floored away from 0
    z = np.asarray(_ppf(1 - target if upper else target), dtype=float)
    c = 2.0 / (9.0 * kk)
    start = np.maximum(kk * (1 - c + z * np.sqrt(c)) ** 3, 1e-8 * kk)
    use_sf = upper

    def logtail(x: Array, a: np.ndarray) -> Array:
        lower, up = _gamma_pq(kk[a] / 2, x / 2)
        with np.errstate(divide="ignore"):
            return np.log(up if use_sf else lower)

    def dlog(x: Array, a: np.ndarray, lt: Array) -> Array:
        sign = -1.0 if use_sf else 1.0
        return sign * np.exp(_chi2_logpdf(x, kk[a]) - lt)

    out[idx] = _solve_tail(logtail, dlog, target, np.zeros(idx.size), start, decreasing=use_sf)
    return out


def chi2_isf(p: Any, df: Any) -> Any:
    """The x with P(X > x) = p for X ~ chi-squared(df)."""
    scalar, (pp, k) = _arr(p, df)
    return _out(_by_unique("chi2_isf", lambda a, b: _chi2_quantile(a, b, upper=True), pp, k), scalar)


def chi2_ppf(p: Any, df: Any) -> Any:
    """The x with P(X <= x) = p for X ~ chi-squared(df)."""
    scalar, (pp, k) = _arr(p, df)
    return _out(_by_unique("chi2_ppf", lambda a, b: _chi2_quantile(a, b, upper=False), pp, k), scalar)


# ---- Kendall's tau -----------------------------------------------------------------------------------------
def _kendall_exact_p(n: int, c: int) -> float:
    """Two-sided exact p for ``c`` discordant pairs among n untied ranks (Kendall 1970)."""
    tot = n * (n - 1) // 2
    c = min(c, tot - c)
    if n <= 2 or 4 * c == n * (n - 1):
        return 1.0
    # distribution of the number of inversions of a random permutation, built one element at a time and kept
    # as probabilities (divided by j at each step) so that no factorial overflows
    prob = np.zeros(c + 1)
    prob[0] = 1.0
    for j in range(2, n + 1):
        cum = np.cumsum(prob)
        if j <= c:
            cum[j:] -= cum[:c + 1 - j]
        prob = cum / j
    return float(min(1.0, 2.0 * prob.sum()))


def kendalltau(x: Any, y: Any, exact: bool) -> tuple[float, float]:
    """Kendall's tau-b and its two-sided p-value: exact null distribution (``exact``, needs no ties) or the
    normal approximation with the tie-corrected variance (as ``scipy.stats.kendalltau``)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = a.size
    i, j = np.triu_indices(n, 1)
    sx, sy = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    s = float(np.sum(sx * sy))
    tot = n * (n - 1) // 2

    def ties(v: np.ndarray) -> tuple[float, float, float]:
        cnt = np.unique(v, return_counts=True)[1].astype(float)
        cnt = cnt[cnt > 1]
        return (float((cnt * (cnt - 1) / 2).sum()), float((cnt * (cnt - 1) * (cnt - 2)).sum()),
                float((cnt * (cnt - 1) * (2 * cnt + 5)).sum()))

    xt, x0, x1 = ties(a)
    yt, y0, y1 = ties(b)
    if xt == tot or yt == tot:
        return math.nan, math.nan
    tau = max(-1.0, min(1.0, s / math.sqrt(tot - xt) / math.sqrt(tot - yt)))
    if exact:
        dis = int(np.sum(sx * sy < 0))
        return tau, _kendall_exact_p(n, dis)
    m = n * (n - 1.0)
    var = (m * (2 * n + 5) - x1 - y1) / 18 + 2 * xt * yt / m + x0 * y0 / (9 * m * (n - 2))
    return tau, float(2 * norm_sf(abs(s) / math.sqrt(var)))
