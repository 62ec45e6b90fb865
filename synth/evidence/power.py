"""Power of a random-effects meta-analysis to detect a given effect.

Two versions:

* :func:`re_power_analytic` — Hedges & Pigott (2001), Valentine, Pigott & Rothstein (2010): with typical
  within-study variance ``v`` and ``k`` studies, ``v* = (v + tau2)/k``, ``lambda = delta/sqrt(v*)``,
  ``power = 1 - Phi(z - lambda) + Phi(-z - lambda)``. It treats tau^2 as known.
* :func:`re_power_simulated` — the point of Jackson & Turner (2017, Res Synth Methods 8:290-302): when tau^2 is
  estimated the plug-in formula overstates power, most for small ``k``. Here the meta-analysis is simulated as
  it would be analysed: every replicate is pooled by :func:`synth.meta.pooling.pool_batch` (one vectorised
  batch) with the protocol's tau^2 estimator and test (e.g. REML with the Hartung-Knapp-Sidik-Jonkman t test),
  so the power accounts for estimating tau^2. A replicate whose estimator does not converge counts as not
  significant. Seeded, deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from synth.errors import InputError
from synth.meta.pooling import PoolOptions, pool_batch


@dataclass(frozen=True)
class Power:
    analytic: float
    simulated: float | None
    delta: float
    k: int
    v_typical: float
    tau2: float
    alpha: float
    method: str

    def to_dict(self) -> dict[str, float | int | str | None]:
        return {
            "analytic": self.analytic, "simulated": self.simulated, "delta": self.delta, "k": self.k,
            "v_typical": self.v_typical, "tau2": self.tau2, "alpha": self.alpha, "method": self.method,
        }


def typical_variance(v: Sequence[float]) -> float:
    """Typical within-study variance: ``k / sum(1/v)`` (the harmonic mean, Higgins & Thompson 2002)."""
    arr = np.asarray(v, dtype=float)
    if arr.size == 0 or np.any(arr <= 0):
        raise ValueError(f"within-study variances must be positive, got {list(arr)}")
    return float(arr.size / np.sum(1.0 / arr))


def re_power_analytic(delta: float, k: int, v_typical: float, tau2: float, alpha: float = 0.05) -> float:
    """Two-sided power of the random-effects z test (Hedges & Pigott 2001, eq. 19-20)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    v_star = (v_typical + max(tau2, 0.0)) / k
    lam = abs(delta) / np.sqrt(v_star)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(1 - stats.norm.cdf(z - lam) + stats.norm.cdf(-z - lam))


def re_power_simulated(
    delta: float,
    v: Sequence[float],
    tau2: float,
    *,
    alpha: float = 0.05,
    test: str = "hksj",
    method: str = "REML",
    reps: int = 4000,
    seed: int = 20170101,
) -> float:
    """Power by simulation: each replicate meta-analysis is pooled by synth.meta (tau^2 estimated each time).

    Parameters
    ----------
    delta
        True mean effect on the analysis scale (e.g. log RR, SMD).
    v
        Within-study variances of the ``k`` studies (the observed ones, or ``k`` copies of a typical value).
    tau2
        True between-study variance.
    test
        synth.meta's test: ``"hksj"`` (Hartung-Knapp-Sidik-Jonkman, t with k-1 df; the protocol default),
        ``"hksj-adhoc"``, ``"t"`` or ``"z"`` (Wald).
    method
        synth.meta's tau^2 estimator (``REML``, ``DL``, ``PM``, ...).
    """
    vv = np.asarray(v, dtype=float)
    k = vv.size
    if k < 2:
        # One study: tau^2 cannot be estimated; the test is the study's own z test.
        return re_power_analytic(delta, 1, float(vv[0]), 0.0, alpha) if k == 1 else 0.0
    opts = PoolOptions(method=method, test=test, level=100 * (1 - alpha))
    try:
        opts.validate()
    except InputError as exc:  # names the bad option; this module raises ValueError like its siblings
        raise ValueError(str(exc)) from None
    rng = np.random.default_rng(seed)
    theta = delta + rng.standard_normal((reps, k)) * np.sqrt(max(tau2, 0.0))
    y = theta + rng.standard_normal((reps, k)) * np.sqrt(vv)[None, :]
    V = np.broadcast_to(vv, (reps, k)).copy()
    res = pool_batch(y, V, np.ones((reps, k), dtype=bool), opts)
    with np.errstate(invalid="ignore"):
        significant = np.nan_to_num(res.p, nan=1.0) < alpha
    return float(np.mean(significant))


def meta_power(
    delta: float, v: Sequence[float], tau2: float, *, alpha: float = 0.05, test: str = "hksj", method: str = "REML",
    reps: int = 4000,
) -> Power:
    """Both powers for the observed set of studies (``v``) and ``tau2``, to detect ``delta``."""
    vt = typical_variance(v)
    analytic = re_power_analytic(delta, len(v), vt, tau2, alpha)
    simulated = (re_power_simulated(delta, v, tau2, alpha=alpha, test=test, method=method, reps=reps)
                 if len(v) >= 1 else None)
    return Power(analytic, simulated, float(delta), len(v), vt, float(tau2), alpha,
                 f"analytic: Hedges & Pigott 2001; simulated: synth.meta {method} tau^2 + {test} test, "
                 f"{reps} replicates")


def studies_needed(delta: float, v_typical: float, tau2: float, power: float = 0.8, alpha: float = 0.05,
                   k_max: int = 1000) -> int | None:
    """Smallest ``k`` (studies like the typical one) at which the analytic power reaches ``power``."""
    for k in range(1, k_max + 1):
        if re_power_analytic(delta, k, v_typical, tau2, alpha) >= power:
            return k
    return None
