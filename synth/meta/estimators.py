"""Between-study variance (tau^2) estimators, vectorised across many intercept-only meta-analyses.

A *batch* is three ``(n, K)`` arrays: effect sizes ``Y``, sampling variances ``V`` and a boolean mask ``M``
(``True`` where analysis ``i`` has a study in column ``j``). Padded cells are ignored; analyses may have
different numbers of studies ``k_i = M[i].sum()``.

Formulas follow metafor's ``rma.uni`` (Viechtbauer 2005, 2010), with all estimates truncated at 0:

* ``DL``  DerSimonian & Laird (1986): ``(Q - (k-1)) / (sum w - sum w^2 / sum w)``.
* ``HE``  Hedges (1983) / Cochran ANOVA: ``(sum (y - ybar)^2 - (k-1)/k sum v) / (k-1)``.
* ``HS``  Hunter & Schmidt (2004): ``(Q - k) / sum w``.
* ``SJ``  Sidik & Jonkman (2005): one step from ``tau0 = var(y)`` (divisor k).
* ``ML``, ``REML``, ``EB``  Fisher scoring (Viechtbauer 2005; Morris 1983) from the HE start, safeguarded by a
  bracket on the root (bisection when a step leaves it or stalls), iterated to ``|delta| < 1e-12``; for ML/REML the
  boundary is then checked analytically (score at 0 <= 0 and log-likelihood at 0 >= at the iterate => 0,
  metafor's ``ll0check``).
* ``PM``  Paule & Mandel (1982): root of the generalised Q statistic ``Q(tau^2) = k - 1`` by safeguarded Newton
  with bisection (monotone decreasing function), also used for the Q-profile interval (Viechtbauer 2007).
* ``EE``  equal (common/fixed) effect: tau^2 = 0.

Non-convergence is reported in the ``converged`` array, never silently used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

METHODS = ("REML", "DL", "PM", "ML", "HE", "SJ", "HS", "EB", "EE")
ITERATIVE = ("REML", "ML", "EB")
TOL = 1e-12
MAXITER = 1000


@dataclass
class Tau2Fit:
    """tau^2 for each analysis of a batch, with solver diagnostics."""

    tau2: Array
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]
    local_max: NDArray[np.bool_] | None = None  # a positive local maximum lost to the likelihood at 0


def _k(M: Mask) -> Array:
    return M.sum(axis=1).astype(float)


def weights(V: Array, M: Mask, tau2: Array) -> Array:
    """Inverse-variance weights ``1/(v + tau^2)``, 0 in padded cells."""
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where(M, 1.0 / (np.where(M, V, 1.0) + tau2[:, None]), 0.0)
    return W


def wmean(Y: Array, W: Array) -> tuple[Array, Array]:
    """Weighted mean and sum of weights per analysis."""
    sw = W.sum(axis=1)
    return (W * Y).sum(axis=1) / sw, sw


def q_stat(Y: Array, V: Array, M: Mask, tau2: Array | None = None) -> Array:
    """Generalised Cochran Q ``sum w (y - mu_w)^2`` with ``w = 1/(v + tau^2)`` (cancellation-safe form)."""
    t = np.zeros(Y.shape[0]) if tau2 is None else tau2
    W = weights(V, M, t)
    mu, _ = wmean(Y, W)
    R = np.where(M, Y - mu[:, None], 0.0)
    return (W * R * R).sum(axis=1)


def _dl(Y: Array, V: Array, M: Mask) -> Array:
    k = _k(M)
    W = weights(V, M, np.zeros(Y.shape[0]))
    sw = W.sum(axis=1)
    trp = sw - (W * W).sum(axis=1) / sw
    Q = q_stat(Y, V, M)
    return np.maximum(0.0, (Q - (k - 1)) / trp)


def _he(Y: Array, V: Array, M: Mask) -> Array:
    k = _k(M)
    ybar = np.where(M, Y, 0.0).sum(axis=1) / k
    ss = (np.where(M, Y - ybar[:, None], 0.0) ** 2).sum(axis=1)
    sv = np.where(M, V, 0.0).sum(axis=1)
    return np.maximum(0.0, (ss - sv * (k - 1) / k) / (k - 1))


def _hs(Y: Array, V: Array, M: Mask) -> Array:
    k = _k(M)
    sw = weights(V, M, np.zeros(Y.shape[0])).sum(axis=1)
    return np.maximum(0.0, (q_stat(Y, V, M) - k) / sw)


def _sj(Y: Array, V: Array, M: Mask) -> Array:
    k = _k(M)
    ybar = np.where(M, Y, 0.0).sum(axis=1) / k
    tau0 = (np.where(M, Y - ybar[:, None], 0.0) ** 2).sum(axis=1) / k
    rss = q_stat(Y, V, M, tau0)
    return np.maximum(0.0, tau0 * rss / (k - 1))


def _fisher_step(method: str, Y: Array, V: Array, M: Mask, tau2: Array) -> Array:
    """One Fisher-scoring adjustment for ML / REML / EB (metafor rma.uni)."""
    k = _k(M)
    W = weights(V, M, tau2)
    mu, sw = wmean(Y, W)
    R = np.where(M, Y - mu[:, None], 0.0)
    W2 = W * W
    s2 = W2.sum(axis=1)
    if method == "ML":
        return ((W2 * R * R).sum(axis=1) - sw) / s2
    if method == "REML":
        s3 = (W2 * W).sum(axis=1)
        trp = sw - s2 / sw
        trpp = s2 - 2.0 * s3 / sw + (s2 / sw) ** 2
        return ((W2 * R * R).sum(axis=1) - trp) / trpp
    # EB
    return ((W * R * R).sum(axis=1) * k / (k - 1) - k) / sw


def loglik(method: str, Y: Array, V: Array, M: Mask, tau2: Array) -> Array:
    """(Restricted) log-likelihood of the random-effects model, up to a constant."""
    W = weights(V, M, tau2)
    mu, sw = wmean(Y, W)
    R = np.where(M, Y - mu[:, None], 0.0)
    with np.errstate(divide="ignore"):
        logw = np.where(M, np.log(np.where(M, W, 1.0)), 0.0)
    ll = 0.5 * logw.sum(axis=1) - 0.5 * (W * R * R).sum(axis=1)
    if method == "REML":
        ll = ll - 0.5 * np.log(sw)
    return ll


def _fisher(method: str, Y: Array, V: Array, M: Mask) -> Tau2Fit:
    """Fisher scoring from the HE start, safeguarded by a bracket on the root of the estimating equation.

    Plain Fisher scoring (metafor) can overshoot and, with step-halving at 0, crawl or oscillate for hundreds
    of iterations. The sign of each Fisher step is the sign of the score, so every iterate tightens a bracket
    ``[lo, hi]`` around the root; a step that leaves the bracket is replaced by bisection. The fixed point is
    the same root metafor converges to.
    """
    n = Y.shape[0]
    tau2 = _he(Y, V, M)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    converged = np.zeros(n, dtype=bool)
    iters = np.zeros(n, dtype=np.int64)
    dxold = np.full(n, np.inf)
    active = np.arange(n)
    for it in range(1, MAXITER + 1):
        if active.size == 0:
            break
        x = tau2[active]
        adj = _fisher_step(method, Y[active], V[active], M[active], x)
        finite = np.isfinite(adj)
        up = adj > 0
        lo_a = np.where(up, np.maximum(lo[active], x), lo[active])
        hi_a = np.where(~up, np.minimum(hi[active], x), hi[active])
        lo[active], hi[active] = lo_a, hi_a
        new = x + adj
        # rtsafe-style safeguard: bisect when the step leaves the bracket or does not halve every two steps
        tiny = np.abs(adj) < TOL * np.maximum(1.0, x)
        slow = np.isfinite(hi_a) & (np.abs(2 * adj) > dxold[active])
        outside = ((new < lo_a) | (new > hi_a) | slow) & ~tiny
        bis = np.where(np.isfinite(hi_a), 0.5 * (lo_a + hi_a), np.maximum(2 * x, x + adj))
        new = np.where(outside, bis, new)
        dxold[active] = np.where(outside, hi_a - lo_a, np.abs(adj))
        new = np.where(finite, np.maximum(new, 0.0), x)
        tau2[active] = new
        scale = np.maximum(1.0, new)
        done = tiny | (np.abs(new - x) < TOL * scale) | ((hi_a - lo_a) < TOL * scale)
        done |= ~finite
        iters[active] = it
        converged[active[done]] = finite[done]
        active = active[~done]
    local_max = np.zeros(n, dtype=bool)
    if method in ("ML", "REML"):
        # analytic boundary check: if the score at 0 is <= 0 and 0 has the higher likelihood, tau2 = 0
        zero = np.zeros(n)
        score0 = _fisher_step(method, Y, V, M, zero)
        cand = (score0 <= 0) & (tau2 > 0)
        if cand.any():
            ll0 = loglik(method, Y[cand], V[cand], M[cand], zero[cand])
            llt = loglik(method, Y[cand], V[cand], M[cand], tau2[cand])
            idx = np.flatnonzero(cand)[ll0 >= llt - 1e-12]
            local_max[idx] = tau2[idx] > 1e-8
            tau2[idx] = 0.0
            converged[idx] = True
    return Tau2Fit(tau2, converged, iters, local_max)


def solve_qgen(Y: Array, V: Array, M: Mask, target: Array, hi0: float = 100.0,
               hi_max: float = 1e12) -> tuple[Array, NDArray[np.bool_]]:
    """Smallest tau^2 >= 0 with generalised ``Q(tau^2) = target`` (Q is decreasing in tau^2).

    Returns ``(root, ok)``; where ``Q(0) <= target`` the root is 0. Safeguarded Newton within a bracket,
    falling back to bisection; the bracket's upper end grows by a factor 10 until it holds the root
    (up to ``hi_max``; beyond it ``ok`` is False and the root is ``inf``).
    """
    n = Y.shape[0]
    root = np.zeros(n)
    ok = np.ones(n, dtype=bool)
    q0 = q_stat(Y, V, M)
    need = np.flatnonzero(q0 > target)
    if need.size == 0:
        return root, ok
    Yn, Vn, Mn, tn = Y[need], V[need], M[need], target[need]
    lo = np.zeros(need.size)
    hi = np.full(need.size, hi0)
    qhi = q_stat(Yn, Vn, Mn, hi)
    while True:
        grow = (qhi > tn) & (hi < hi_max)
        if not grow.any():
            break
        hi[grow] *= 10.0
        qhi[grow] = q_stat(Yn[grow], Vn[grow], Mn[grow], hi[grow])
    bad = qhi > tn
    x = np.zeros(need.size)
    act = np.flatnonzero(~bad)
    for _ in range(300):
        if act.size == 0:
            break
        Ya, Va, Ma, xa = Yn[act], Vn[act], Mn[act], x[act]
        W = weights(Va, Ma, xa)
        mu, _ = wmean(Ya, W)
        R = np.where(Ma, Ya - mu[:, None], 0.0)
        f = (W * R * R).sum(axis=1) - tn[act]
        df = -(W * W * R * R).sum(axis=1)
        pos = f > 0
        lo[act[pos]] = xa[pos]
        hi[act[~pos]] = xa[~pos]
        with np.errstate(divide="ignore", invalid="ignore"):
            nx = xa - f / df
        la, ha = lo[act], hi[act]
        outside = ~np.isfinite(nx) | (nx <= la) | (nx >= ha)
        nx = np.where(outside, 0.5 * (la + ha), nx)
        done = (np.abs(nx - xa) <= TOL * np.maximum(1.0, np.abs(nx))) | (np.abs(f) <= 1e-14 * tn[act])
        done |= (ha - la) <= TOL * np.maximum(1.0, ha)
        x[act] = np.where(np.abs(f) <= 1e-14 * tn[act], xa, nx)
        act = act[~done]
    x[bad] = np.inf
    root[need] = x
    ok[need[bad]] = False
    if act.size:
        ok[need[act]] = False
    return root, ok


def _pm(Y: Array, V: Array, M: Mask) -> Tau2Fit:
    k = _k(M)
    tau2, ok = solve_qgen(Y, V, M, k - 1)
    return Tau2Fit(tau2, ok, np.zeros(Y.shape[0], dtype=np.int64))


_CLOSED: dict[str, Callable[[Array, Array, Mask], Array]] = {"DL": _dl, "HE": _he, "HS": _hs, "SJ": _sj}


def estimate_tau2(method: str, Y: Array, V: Array, M: Mask) -> Tau2Fit:
    """tau^2 by ``method`` for every analysis in the batch (each needs k >= 2)."""
    n = Y.shape[0]
    if method == "EE":
        return Tau2Fit(np.zeros(n), np.ones(n, dtype=bool), np.zeros(n, dtype=np.int64))
    if method in _CLOSED:
        t = _CLOSED[method](Y, V, M)
        return Tau2Fit(t, np.isfinite(t), np.zeros(n, dtype=np.int64))
    if method in ITERATIVE:
        return _fisher(method, Y, V, M)
    if method == "PM":
        return _pm(Y, V, M)
    raise ValueError(f"unknown tau^2 estimator {method!r}")
