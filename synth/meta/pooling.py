"""Random-effects (and equal-effect) pooling of many intercept-only meta-analyses at once.

Conventions follow metafor ``rma.uni`` + ``predict`` + ``confint`` (Viechtbauer 2010):

* summary ``mu = sum w y / sum w``, ``w = 1/(v + tau^2)``, ``se = sqrt(1/sum w)``;
* tests: ``z`` (Wald, normal), ``t`` (same SE, t with k-1 df), ``hksj`` (Hartung & Knapp 2001; Sidik &
  Jonkman 2002: SE scaled by ``s2w = sum w (y-mu)^2/(k-1)``, t_{k-1}), ``hksj-adhoc`` (``s2w`` floored at 1 so
  the interval is never narrower than Wald; Jackson et al. 2017, metafor ``test="adhoc"``);
* Cochran's Q always with ``1/v`` weights; I^2 = 100 tau^2/(tau^2 + vt), H^2 = tau^2/vt + 1 with
  ``vt = (k-1)/(sum w - sum w^2/sum w)`` (Higgins & Thompson 2002); for ``EE`` the Q-based versions;
* Q-profile CI for tau^2 (Viechtbauer 2007), transformed to I^2 and H^2 CIs;
* prediction interval ``mu +- crit sqrt(se^2 + tau^2)``: crit normal for ``z``, t_{k-1} otherwise (metafor's
  default); ``pi="hts"``: t_{k-2} (Higgins, Thompson & Spiegelhalter 2009; metafor ``pi.type="riley"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from synth.errors import InputError
from synth.meta import dist
from synth.meta.estimators import METHODS, Array, Mask, estimate_tau2, q_stat, solve_qgen, weights, wmean

TESTS = ("hksj", "z", "t", "hksj-adhoc")
PI_TYPES = ("default", "hts")


@dataclass
class PoolOptions:
    """How to pool: tau^2 estimator, inference for the summary, CI level (percent) and PI convention."""

    method: str = "REML"
    test: str = "hksj"
    level: float = 95.0
    pi: str = "default"
    back: str | None = None  # natural-scale transform for GEN data: "exp", "tanh" or "expit"

    def validate(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"Unknown --method {self.method!r}. Use one of: {', '.join(METHODS)}.")
        if self.test not in TESTS:
            raise InputError(f"Unknown --test {self.test!r}. Use one of: {', '.join(TESTS)}.")
        if not 0 < self.level < 100:
            raise InputError(f"--level must be a percentage between 0 and 100, got {self.level}. Use e.g. 95.")
        if self.pi not in PI_TYPES:
            raise InputError(f"Unknown --pi {self.pi!r}. Use one of: {', '.join(PI_TYPES)}.")
        if self.back not in (None, "exp", "tanh", "expit"):
            raise InputError(f"Unknown --back {self.back!r}. Use exp (log ratios), tanh (Fisher z) or expit (logits).")


@dataclass
class BatchPool:
    """Arrays of results, one entry per analysis of the batch (NaN where a value does not exist)."""

    k: Array
    tau2: Array
    converged: np.ndarray
    estimate: Array
    se: Array
    ci_low: Array
    ci_high: Array
    stat: Array
    p: Array
    df: Array
    q: Array
    q_df: Array
    q_p: Array
    i2: Array
    h2: Array
    tau2_ci_low: Array
    tau2_ci_high: Array
    i2_ci_low: Array
    i2_ci_high: Array
    h2_ci_low: Array
    h2_ci_high: Array
    pi_low: Array
    pi_high: Array
    weights: Array  # (n, K) percent
    s2w: Array
    notes: list[list[str]] = field(default_factory=list)
    iterations: NDArray[np.int64] | None = None
    _lists: dict[str, list[float | None]] = field(default_factory=dict, repr=False)
    _rows: dict[tuple[str, ...], list[tuple[float | None, ...]]] = field(default_factory=dict, repr=False)

    def row(self, i: int, names: tuple[str, ...]) -> dict[str, float | None]:
        """Results ``names`` of analysis ``i`` as a dict of plain floats (None where they do not exist); the
        rows of a batch are built once, for the per-analysis dicts."""
        if names not in self._rows:
            self._rows[names] = list(zip(*(self.column(n) for n in names), strict=True))
        return dict(zip(names, self._rows[names][i], strict=True))

    def column(self, name: str) -> list[float | None]:
        """Result ``name`` for every analysis as plain floats, None where it does not exist (NaN/inf); built
        once per batch, for the per-analysis dicts."""
        if name not in self._lists:
            arr = np.asarray(getattr(self, name), dtype=float)
            vals = arr.tolist()
            fin = np.isfinite(arr).tolist()
            self._lists[name] = [v if ok else None for v, ok in zip(vals, fin, strict=True)]
        return self._lists[name]


def pool_batch(Y: Array, V: Array, M: Mask, opts: PoolOptions) -> BatchPool:
    """Pool every analysis of a padded batch (each analysis needs k >= 2)."""
    n = Y.shape[0]
    notes: list[list[str]] = [[] for _ in range(n)]
    k = M.sum(axis=1).astype(float)
    alpha = 1.0 - opts.level / 100.0
    fit = estimate_tau2(opts.method, Y, V, M)
    tau2 = fit.tau2
    for i in np.flatnonzero(~fit.converged):
        notes[i].append(f"the {opts.method} estimator of tau^2 did not converge; no pooled result is reported")
    if fit.local_max is not None:
        for i in np.flatnonzero(fit.local_max):
            notes[i].append(f"the {opts.method} likelihood has a local maximum at tau^2 > 0 but is higher at 0; "
                            "tau^2 = 0 is used (as metafor); check with another estimator")
    W = weights(V, M, np.where(fit.converged, tau2, 0.0))
    mu, sw = wmean(Y, W)
    se = np.sqrt(1.0 / sw)
    R = np.where(M, Y - mu[:, None], 0.0)
    dfk = k - 1
    if opts.test in ("hksj", "hksj-adhoc"):
        rss = (W * R * R).sum(axis=1)
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / dfk)
        if opts.test == "hksj-adhoc":
            s2w = np.maximum(1.0, s2w)
        se = se * np.sqrt(s2w)
    else:
        s2w = np.ones(n)
    if opts.test == "z":
        crit = dist.norm_isf(alpha / 2) * np.ones(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = mu / se
        p = 2 * dist.norm_sf(np.abs(stat))
        df = np.full(n, np.nan)
    else:
        crit = dist.t_isf(alpha / 2, dfk)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = mu / se
        p = 2 * dist.t_sf(np.abs(stat), dfk)
        df = dfk
    ci_low, ci_high = mu - crit * se, mu + crit * se

    # heterogeneity (Q always with 1/v weights)
    W0 = weights(V, M, np.zeros(n))
    sw0 = W0.sum(axis=1)
    q = q_stat(Y, V, M)
    q_p = dist.chi2_sf(q, dfk)
    vt = dfk / (sw0 - (W0 * W0).sum(axis=1) / sw0)
    if opts.method == "EE":
        with np.errstate(divide="ignore", invalid="ignore"):
            i2 = np.where(q > 0, np.maximum(0.0, 100 * (q - dfk) / q), 0.0)
            h2 = q / dfk
        nan = np.full(n, np.nan)
        t_lo = t_hi = i_lo = i_hi = h_lo = h_hi = nan
        pi_low = pi_high = nan
    else:
        i2 = 100 * tau2 / (tau2 + vt)
        h2 = tau2 / vt + 1
        # Q-profile CI for tau^2
        t_lo, ok_lo = solve_qgen(Y, V, M, dist.chi2_isf(alpha / 2, dfk))
        t_hi, ok_hi = solve_qgen(Y, V, M, dist.chi2_ppf(alpha / 2, dfk))
        for i in np.flatnonzero(~(ok_lo & ok_hi)):
            notes[i].append("the Q-profile confidence interval for tau^2 could not be bracketed")
        t_lo = np.where(ok_lo, t_lo, np.nan)
        t_hi = np.where(ok_hi, t_hi, np.nan)
        i_lo, i_hi = 100 * t_lo / (t_lo + vt), 100 * t_hi / (t_hi + vt)
        h_lo, h_hi = t_lo / vt + 1, t_hi / vt + 1
        # prediction interval
        if opts.pi == "hts":
            dfp = k - 2
            with np.errstate(invalid="ignore"):
                pcrit = np.where(dfp > 0, dist.t_isf(alpha / 2, np.maximum(dfp, 1)), np.nan)
            for i in np.flatnonzero(dfp <= 0):
                notes[i].append("the t(k-2) prediction interval needs k >= 3; it is not reported")
        else:
            pcrit = crit
        half = pcrit * np.sqrt(se * se + tau2)
        pi_low, pi_high = mu - half, mu + half
    bad = ~fit.converged
    if bad.any():
        for arr in (tau2, mu, se, ci_low, ci_high, stat, p, i2, h2, pi_low, pi_high):
            arr[bad] = np.nan
    wpct = 100 * W / sw[:, None]
    return BatchPool(
        k=k, tau2=tau2, converged=fit.converged, estimate=mu, se=se, ci_low=ci_low, ci_high=ci_high,
        stat=stat, p=p, df=df, q=q, q_df=dfk, q_p=q_p, i2=i2, h2=h2, tau2_ci_low=t_lo, tau2_ci_high=t_hi,
        i2_ci_low=i_lo, i2_ci_high=i_hi, h2_ci_low=h_lo, h2_ci_high=h_hi, pi_low=pi_low, pi_high=pi_high,
        weights=wpct, s2w=s2w, notes=notes, iterations=fit.iterations,
    )


def pad(groups: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Array, Array, Mask]:
    """Stack ragged ``(yi, vi)`` pairs into a padded batch."""
    n = len(groups)
    K = max((len(y) for y, _ in groups), default=0)
    Y = np.zeros((n, K))
    V = np.ones((n, K))
    M = np.zeros((n, K), dtype=bool)
    for i, (y, v) in enumerate(groups):
        m = len(y)
        Y[i, :m] = y
        V[i, :m] = v
        M[i, :m] = True
    return Y, V, M


def pad_codes(codes: np.ndarray, y: np.ndarray, v: np.ndarray, n: int) -> tuple[Array, Array, Mask]:
    """Padded batch from flat arrays and integer group codes 0..n-1 (study order kept within a group)."""
    order = np.argsort(codes, kind="stable")
    c = codes[order]
    counts = np.bincount(c, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(c)) - starts[c]
    K = int(counts.max()) if n else 0
    Y = np.zeros((n, K))
    V = np.ones((n, K))
    M = np.zeros((n, K), dtype=bool)
    Y[c, pos] = y[order]
    V[c, pos] = v[order]
    M[c, pos] = True
    return Y, V, M


def _prefetch_quantiles(dfk: Array, opts: PoolOptions) -> None:
    """Solve the quantiles the batches will ask :func:`pool_batch` for (Q-profile chi-squared, t critical
    values) for all their df at once: each is iterative, one vectorised solve costs about what one batch's did,
    and :mod:`synth.meta.dist` keeps them. Only a cache warm-up: a quantile missed here is solved when asked."""
    half = np.full(dfk.size, (1.0 - opts.level / 100.0) / 2)
    if opts.method != "EE":
        dist.chi2_isf(half, dfk)
        dist.chi2_ppf(half, dfk)
    if opts.test != "z":
        dist.t_isf(half, dfk)


def pool_ragged(codes: np.ndarray, y: Array, v: Array, n: int, opts: PoolOptions
                ) -> tuple[list[BatchPool], np.ndarray, np.ndarray]:
    """Pool ``n`` analyses given as flat arrays with group codes 0..n-1 (each group k >= 2).

    Analyses are padded in buckets of similar k (bucket edges at powers of sqrt 2), so padding adds at most
    ~41% to the work instead of making every analysis as wide as the largest one (in a Cochrane-style
    collection most analyses have a handful of studies and a few have hundreds). Returns the batches and, per
    analysis, its batch and row."""
    counts = np.bincount(codes, minlength=n)
    _prefetch_quantiles(np.unique(counts[counts >= 2]).astype(np.float64) - 1.0, opts)
    bucket = np.ceil(2 * np.log2(np.maximum(counts, 1))).astype(np.int64)
    batch_of = np.full(n, -1, dtype=np.int64)
    row_of = np.full(n, -1, dtype=np.int64)
    batches: list[BatchPool] = []
    order = np.argsort(bucket[codes], kind="stable")
    sorted_bucket = bucket[codes][order]
    for b in np.unique(bucket):
        members = np.flatnonzero(bucket == b)
        lo, hi = np.searchsorted(sorted_bucket, [b, b + 1])
        rows = order[lo:hi]
        remap = np.full(n, -1, dtype=np.int64)
        remap[members] = np.arange(members.size)
        Y, V, M = pad_codes(remap[codes[rows]], y[rows], v[rows], members.size)
        batch_of[members] = len(batches)
        row_of[members] = np.arange(members.size)
        batches.append(pool_batch(Y, V, M, opts))
    return batches, batch_of, row_of


def pool_arrays(yi: np.ndarray, vi: np.ndarray, opts: PoolOptions) -> BatchPool:
    """Pool one analysis given as plain arrays (k >= 2)."""
    Y, V, M = pad([(np.asarray(yi, float), np.asarray(vi, float))])
    return pool_batch(Y, V, M, opts)
