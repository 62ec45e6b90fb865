"""When to stop screening a prioritised list.

:func:`hypergeometric_p` is the stopping criterion of Callaghan & Müller-Hansen (2020, Systematic Reviews 9:273,
doi:10.1186/s13643-020-01521-4): treat the last *k* screened records as a sample drawn without replacement from
the records not yet screened before them, and test H0 "recall is below the target" with the hypergeometric
distribution. Under H0 the urn holds at least ``floor(r_seen / target + 1) - (r_seen - r_k)`` relevant records;
the p-value is the smallest, over every *k*, of P(X <= r_k). Stop when p < 1 - confidence. It assumes the
screened tail is no better than random (prioritisation makes it conservative).

:func:`heuristic_stop` is the common heuristic: stop after a run of consecutive exclusions (default: the larger
of 50 and 5% of the records). It has no statistical guarantee and is shown only for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def hypergeometric_p(labels: Sequence[int], n_total: int, recall: float = 0.95) -> float:
    """p-value for H0 "recall < ``recall``" after screening ``labels`` (1 include, 0 exclude, in screening
    order) out of ``n_total`` records. 1.0 when nothing has been seen."""
    import numpy as np
    from scipy.stats import hypergeom

    seen = np.asarray(labels, dtype=np.int64)
    n_seen = seen.shape[0]
    if n_seen == 0:
        return 1.0
    r_seen = int(seen.sum())
    tail = seen[::-1]
    k_in_sample = tail.cumsum()
    sizes = np.arange(1, n_seen + 1)
    # Within a run of exclusions the p-value falls as the sample grows (the unseen part of the urn is fixed),
    # so the minimum is at the largest sample for each count of includes: just before the next include
    # going backwards, and the whole list. Evaluating only there is exact and O(includes).
    last_of_run = np.flatnonzero(np.append(tail[1:] == 1, True))
    k_in_sample = k_in_sample[last_of_run]
    sizes = sizes[last_of_run]
    k_hat = np.floor(r_seen / recall + 1 - (r_seen - k_in_sample))
    urn = n_total - (n_seen - sizes)
    k_hat = np.minimum(k_hat, urn)
    p = hypergeom.cdf(k_in_sample, urn, k_hat, sizes)
    return float(np.min(p))


@dataclass(frozen=True)
class StopCheck:
    rule: str
    stop: bool
    p_value: float | None
    screened: int
    total: int
    includes: int
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hypergeometric_check(labels: Sequence[int], n_total: int, recall: float = 0.95,
                         confidence: float = 0.95) -> StopCheck:
    p = hypergeometric_p(labels, n_total, recall)
    return StopCheck(
        "hypergeometric", p < 1 - confidence, p, len(labels), n_total, int(sum(labels)),
        {"recall": recall, "confidence": confidence},
    )


def heuristic_run(n_total: int) -> int:
    return max(50, math.ceil(0.05 * n_total))


def heuristic_check(labels: Sequence[int], n_total: int, run: int | None = None) -> StopCheck:
    """Stop after ``run`` consecutive exclusions (default :func:`heuristic_run`)."""
    need = run if run is not None else heuristic_run(n_total)
    streak = 0
    for value in reversed(labels):
        if value:
            break
        streak += 1
    return StopCheck(
        "consecutive-excludes", streak >= need and len(labels) > 0, None, len(labels), n_total,
        int(sum(labels)), {"run": need, "current_run": streak},
    )


def p_values(labels: Sequence[int], n_total: int, recall: float = 0.95) -> Any:
    """:func:`hypergeometric_p` after each of the first 1..len(labels) records, computed in vectorised chunks
    (the same candidate samples: the whole list, and each sample ending just after an include)."""
    import numpy as np
    from scipy.stats import hypergeom

    seen = np.asarray(labels, dtype=np.int64)
    length = seen.shape[0]
    out = np.ones(length)
    if length == 0:
        return out
    cum = seen.cumsum()
    inc_pos = np.flatnonzero(seen == 1)
    start = 1
    while start <= length:
        # grow the chunk until it holds about 2 million (step, sample) pairs
        stop = start
        pairs = 0
        while stop <= length and pairs < 2_000_000:
            pairs += 1 + int(np.searchsorted(inc_pos, stop - 1))
            stop += 1
        steps = np.arange(start, stop)
        n_inc_before = np.searchsorted(inc_pos, steps - 1)  # includes at positions < n-1
        counts = 1 + n_inc_before
        step_of = np.repeat(steps, counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        is_whole = offsets == np.repeat(n_inc_before, counts)
        j = inc_pos[np.minimum(offsets, max(len(inc_pos) - 1, 0))] if len(inc_pos) else np.zeros_like(offsets)
        r_n = cum[step_of - 1]
        size = np.where(is_whole, step_of, step_of - 1 - j)
        k_in = np.where(is_whole, r_n, r_n - cum[np.where(is_whole, 0, j)])
        k_hat = np.floor(r_n / recall + 1 - (r_n - k_in))
        urn = n_total - (step_of - size)
        k_hat = np.minimum(k_hat, urn)
        p = hypergeom.cdf(k_in, urn, k_hat, size)
        bounds = np.concatenate(([0], np.cumsum(counts)[:-1]))
        out[start - 1:stop - 1] = np.minimum.reduceat(p, bounds)
        start = stop
    return out


def first_stop(labels: Sequence[int], n_total: int, recall: float = 0.95, confidence: float = 0.95) -> int | None:
    """The first number of screened records at which the hypergeometric rule says stop (as if checked after
    every record), or ``None``.

    Exact and fast: within a run of exclusions the p-value can only fall (each candidate sample grows by one
    exclusion drawn from the same urn), so a run whose last step does not fire has no step that fires. Only
    the steps ending in an include, the ends of exclusion runs and the last step are evaluated, then the first
    firing run is bisected.
    """
    seq = [int(v) for v in labels]
    length = len(seq)
    alpha = 1 - confidence

    def fires(n: int) -> bool:
        return hypergeometric_p(seq[:n], n_total, recall) < alpha

    checkpoints = sorted({n for n in range(1, length + 1)
                          if seq[n - 1] == 1 or n == length or seq[n] == 1})
    previous = 0
    for n in checkpoints:
        if fires(n):
            if seq[n - 1] == 1:
                return n
            lo, hi = previous + 1, n  # steps previous+1 .. n form one run of exclusions ending at n
            while lo < hi:
                mid = (lo + hi) // 2
                if fires(mid):
                    hi = mid
                else:
                    lo = mid + 1
            return lo
        previous = n
    return None
