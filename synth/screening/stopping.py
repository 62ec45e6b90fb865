"""When to stop screening a prioritised list.

:func:`hypergeometric_p` is the stopping criterion of Callaghan & Müller-Hansen (2020, Systematic Reviews 9:273,
doi:10.1186/s13643-020-01521-4): treat the last *k* screened records as a sample drawn without replacement from
the records not yet screened before them, and test H0 "recall is below the target" with the hypergeometric
distribution. Under H0 the urn holds at least ``floor(r_seen / target + 1) - (r_seen - r_k)`` relevant records;
the p-value is the smallest, over every *k*, of P(X <= r_k). Stop when p < 1 - confidence. It assumes the
screened tail is no better than random (prioritisation makes it conservative).

:func:`heuristic_stop` is the common heuristic: stop after a run of consecutive exclusions (default: the larger
of 50 and 5% of the records). It has no statistical guarantee and is shown only for comparison.

:func:`knee_check` is the knee method of Cormack & Grossman (2016, "Engineering quality and reliability in
technology-assisted review", SIGIR, doi:10.1145/2911451.2911510): find the knee of the gain curve (the point
furthest above the chord from the origin to the current point) and stop once the slope before the knee is at
least ``156 - min(includes, 150)`` times the slope after it (adding one include after the knee) and at least
150 records were screened. No statistical guarantee: it relies on the gain curve flattening.

:func:`random_sample_check` is a two-phase rule in the manner of the SAFE procedure (Boetje & van de Schoot
2024, Systematic Reviews 13:81) and of sample-based certification (Lewis, Yang & Frieder 2021, CIKM): screen by
priority until the consecutive-exclusions heuristic is reached, then screen the rest in a random order and
stop when the hypergeometric test on that random sample rejects "recall is below the target". The sample is
random by construction, so the test does not rest on any assumption about the ranking; its price is that a
random sample finds the few missed includes slowly.

:func:`composite_check` stops only when a statistical rule (the hypergeometric test) and a heuristic (the run of
consecutive exclusions) both say stop, as ASReview users combine them.

:data:`GUARANTEES` says, for each rule, what it promises; ``synth screen simulate`` measures what each
delivers.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def _hypergeometric_points(labels: Sequence[int], n_total: int, recall: float) -> tuple[Any, ...] | None:
    """The points at which the hypergeometric test's p-value is evaluated: per candidate sample (the most
    recent ``size`` records), its includes, the urn it is drawn from and the includes the urn must hold for
    recall to be at the target. ``None`` when nothing has been seen."""
    import numpy as np

    seen = np.asarray(labels, dtype=np.int64)
    n_seen = seen.shape[0]
    if n_seen == 0:
        return None
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
    # the sample of only the exclusions still to come, when the last record seen was an include
    fresh = (n_total - n_seen, min(math.floor(r_seen / recall + 1 - r_seen), n_total - n_seen)) \
        if tail[0] == 1 else None
    return k_in_sample, urn, np.minimum(k_hat, urn), sizes, fresh


def _hypergeometric_min(points: tuple[Any, ...], more: int = 0) -> float:
    """The p-value at ``points`` after ``more`` further exclusions. Exclusions appended to the sequence join
    the most recent run: every candidate sample grows by ``more`` records and keeps its includes, its urn
    (records unseen plus the sample) and so its target, so only the sample sizes change; if the last record
    seen was an include, they also start a run of their own, one more candidate (no include in ``more``)."""
    import numpy as np
    from scipy.stats import hypergeom

    k_in_sample, urn, k_hat, sizes, fresh = points
    p = float(np.min(hypergeom.cdf(k_in_sample, urn, k_hat, sizes + more)))
    if more and fresh is not None:
        p = min(p, float(hypergeom.cdf(0, fresh[0], fresh[1], more)))
    return p


def hypergeometric_p(labels: Sequence[int], n_total: int, recall: float = 0.95) -> float:
    """p-value for H0 "recall < ``recall``" after screening ``labels`` (1 include, 0 exclude, in screening
    order) out of ``n_total`` records. 1.0 when nothing has been seen."""
    points = _hypergeometric_points(labels, n_total, recall)
    return 1.0 if points is None else _hypergeometric_min(points)


RULES = ("hypergeometric", "knee", "random-sample", "composite")
DEFAULT_RULE = "hypergeometric"

GUARANTEES = {
    "hypergeometric": "P(recall < target) <= 1 - confidence if the screened tail is no better than a random "
                      "sample of the records left; prioritisation makes the tail better, so the rule is conservative",
    "knee": "none: a heuristic that stops when the gain curve flattens (Cormack & Grossman 2016)",
    "random-sample": "P(recall < target) <= 1 - confidence for the random sample screened after the "
                     "prioritised phase, with no assumption about the ranking: exact for a fixed sample size; "
                     "checked after every record the miss rate can slightly exceed 1 - confidence",
    "composite": "the hypergeometric rule's guarantee, and never before the run of consecutive exclusions",
}


@dataclass(frozen=True)
class StopCheck:
    rule: str
    stop: bool
    p_value: float | None
    screened: int
    total: int
    includes: int
    params: dict[str, Any]
    #: further records the rule needs (if every one of them is excluded) before it can say stop; ``None``
    #: when no run of exclusions would make it stop
    more: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bisect(fires: Callable[[int], bool], lo: int, hi: int) -> int:
    """The smallest ``m`` in lo..hi with ``fires(m)``, for ``fires`` monotone in m and true at ``hi``."""
    while lo < hi:
        mid = (lo + hi) // 2
        if fires(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _more(fires: Callable[[int], bool], remaining: int) -> int | None:
    """The smallest ``m`` in 0..remaining with ``fires(m)`` (``fires`` monotone in m), or ``None``."""
    if remaining < 0 or not fires(remaining):
        return None
    return _bisect(fires, 0, remaining)


@dataclass
class _Base:
    """The last sequence the hypergeometric rule searched, for exclusions appended to it since."""

    labels: list[int]
    points: tuple[Any, ...]
    more: int | None


_BASES: dict[tuple[int, float, float], _Base] = {}
_BASES_LOCK = threading.Lock()


def hypergeometric_check(labels: Sequence[int], n_total: int, recall: float = 0.95,
                         confidence: float = 0.95) -> StopCheck:
    seq = list(labels)
    alpha = 1 - confidence
    includes = int(sum(seq))
    key = (n_total, recall, confidence)
    with _BASES_LOCK:
        base = _BASES.get(key)
    # Most decisions are exclusions, appended to the sequence last searched: m of them move every candidate
    # sample of that search m records on (see _hypergeometric_min), so the p-value is one evaluation and the
    # records still needed are the last answer minus m, exactly, without a new search.
    grown = len(seq) - len(base.labels) if base is not None else -1
    if base is not None and grown >= 0 and seq[:len(base.labels)] == base.labels and not any(seq[len(base.labels):]):
        p = _hypergeometric_min(base.points, grown)
        more = None if base.more is None else max(base.more - grown, 0)
    else:
        points = _hypergeometric_points(seq, n_total, recall)
        p = 1.0 if points is None else _hypergeometric_min(points)
        more = None
        if points is not None and includes:
            found = points
            # Appending exclusions can only lower the p-value (see first_stop), so the search is exact.
            more = _more(lambda m: _hypergeometric_min(found, m) < alpha, n_total - len(seq))
            with _BASES_LOCK:
                _BASES.clear()  # one review's screen at a time: keep the newest only
                _BASES[key] = _Base(seq, found, more)
    return StopCheck(
        "hypergeometric", p < alpha, p, len(seq), n_total, includes,
        {"recall": recall, "confidence": confidence}, more,
    )


KNEE_MIN_RECORDS = 150


def knee_ratio(cum: Sequence[int] | Any, s: int) -> float | None:
    """Slope ratio at the knee of the gain curve after ``s`` records (``cum[i]`` = includes in the first
    ``i`` records, ``cum[0] = 0``); ``None`` before the first include."""
    import numpy as np

    rs = int(cum[s])
    if rs == 0 or s < 2:
        return None
    i = np.arange(1, s)
    gains = np.asarray(cum[1:s])
    k = int(i[np.argmax(s * gains - rs * i)])
    return float((cum[k] / k) / ((rs - cum[k] + 1) / (s - k)))


def knee_threshold(includes: Any) -> Any:
    """The slope ratio the knee method needs with ``includes`` found (a number or a numpy array)."""
    import numpy as np

    return 156.0 - np.minimum(includes, 150)


def knee_fires(cum: Sequence[int] | Any, s: int, min_records: int = KNEE_MIN_RECORDS) -> bool:
    if s < min_records:
        return False
    rho = knee_ratio(cum, s)
    return rho is not None and rho >= knee_threshold(int(cum[s]))


def knee_check(labels: Sequence[int], n_total: int, min_records: int = KNEE_MIN_RECORDS) -> StopCheck:
    import numpy as np

    seq = [int(v) for v in labels]
    s = len(seq)
    cum = np.concatenate(([0], np.cumsum(seq, dtype=np.int64))) if seq else np.zeros(1, dtype=np.int64)
    rho = knee_ratio(cum, s)
    stop = knee_fires(cum, s, min_records)

    def fires(m: int) -> bool:
        ext = np.concatenate((cum, np.full(m, cum[-1])))
        return knee_fires(ext, s + m, min_records)

    # at a fixed knee the ratio grows with each further exclusion (the slope after it falls); the knee can move
    # as the curve grows, so the bisection gives an estimate ("about"), not a bound
    more = _more(fires, n_total - s) if cum[-1] else None
    return StopCheck("knee", stop, None, s, n_total, int(cum[-1]),
                     {"min_records": min_records, "ratio": rho,
                      "needed_ratio": float(knee_threshold(int(cum[-1])))},
                     more)


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


def sample_start(labels: Sequence[int], n_total: int) -> int | None:
    """Where the random-sample rule's random phase starts: the number of records screened when the run of
    consecutive exclusions first reached :func:`heuristic_run`, or ``None`` if it has not yet."""
    need = heuristic_run(n_total)
    streak = 0
    for i, value in enumerate(labels):
        streak = 0 if value else streak + 1
        if streak >= need:
            return i + 1
    return None


def sample_p(prior_found: int, urn: int, sample: Sequence[int] | Any, recall: float) -> Any:
    """Hypergeometric p-values for H0 "recall < ``recall``" after each prefix of ``sample`` (labels drawn at
    random without replacement from ``urn`` records), with ``prior_found`` includes found before sampling."""
    import numpy as np
    from scipy.stats import hypergeom

    x = np.asarray(sample, dtype=np.int64)
    k = np.cumsum(x)
    sizes = np.arange(1, len(x) + 1)
    k_min = np.minimum(np.floor((prior_found + k) / recall + 1) - prior_found, urn)
    return hypergeom.cdf(k, urn, k_min, sizes)


def random_sample_check(labels: Sequence[int], n_total: int, recall: float = 0.95,
                        confidence: float = 0.95) -> StopCheck:
    """``labels`` in screening order; the records after :func:`sample_start` must have been served in a random
    order (the screen does this once the rule's random phase starts)."""
    seq = [int(v) for v in labels]
    start = sample_start(seq, n_total)
    alpha = 1 - confidence
    params: dict[str, Any] = {"recall": recall, "confidence": confidence, "sample_from": start,
                              "phase": "prioritised" if start is None else "random sample"}
    if start is None:
        # still prioritised: the exclusions that would complete the run, then the random sample's own need
        run = heuristic_check(seq, n_total).params
        to_start = max(run["run"] - run["current_run"], 0)
        after = _sample_more(seq, len(seq) + to_start, n_total, recall, alpha) if sum(seq) else None
        return StopCheck("random-sample", False, None, len(seq), n_total, sum(seq), params,
                         None if after is None else to_start + after)
    sample = seq[start:]
    prior = sum(seq[:start])
    urn = n_total - start
    p = float(sample_p(prior, urn, sample, recall)[-1]) if sample else 1.0
    params.update(sample_size=len(sample), sample_includes=sum(sample), urn=urn)
    return StopCheck("random-sample", p < alpha, p, len(seq), n_total, sum(seq), params,
                     _sample_more(seq, start, n_total, recall, alpha))


def _sample_more(seq: Sequence[int], start: int, n_total: int, recall: float, alpha: float) -> int | None:
    """Further random-sample records (all excluded) before the rule stops, when sampling began at ``start``."""
    import numpy as np

    sample = list(seq[start:])
    prior = sum(seq[:start])
    urn = n_total - start
    if urn <= 0:
        return None
    p = sample_p(prior, urn, sample + [0] * (urn - len(sample)), recall)
    hits = np.flatnonzero(p[max(len(sample) - 1, 0):] < alpha) if len(sample) else np.flatnonzero(p < alpha)
    if not len(hits):
        return None
    return int(hits[0]) if sample else int(hits[0]) + 1


def composite_check(labels: Sequence[int], n_total: int, recall: float = 0.95,
                    confidence: float = 0.95) -> StopCheck:
    hyper = hypergeometric_check(labels, n_total, recall, confidence)
    run = heuristic_check(labels, n_total)
    to_run = max(run.params["run"] - run.params["current_run"], 0)
    more = None if hyper.more is None else max(hyper.more, to_run)
    return StopCheck("composite", hyper.stop and run.stop, hyper.p_value, hyper.screened, n_total,
                     hyper.includes, {**hyper.params, **run.params, "hypergeometric_stop": hyper.stop,
                                      "run_stop": run.stop}, more)


def check(rule: str, labels: Sequence[int], n_total: int, recall: float = 0.95,
          confidence: float = 0.95) -> StopCheck:
    """The state of ``rule`` after ``labels``."""
    if rule == "hypergeometric":
        return hypergeometric_check(labels, n_total, recall, confidence)
    if rule == "knee":
        return knee_check(labels, n_total)
    if rule == "random-sample":
        return random_sample_check(labels, n_total, recall, confidence)
    if rule == "composite":
        return composite_check(labels, n_total, recall, confidence)
    raise ValueError(f"unknown stopping rule '{rule}' (use one of: {', '.join(RULES)})")


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


def first_stop(labels: Sequence[int], n_total: int, recall: float = 0.95, confidence: float = 0.95,
               run: int = 0) -> int | None:
    """The first number of screened records at which the hypergeometric rule says stop (as if checked after
    every record), or ``None``. With ``run``, also at least ``run`` consecutive exclusions by then (the
    composite rule).

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
        in_run = seq[n - 1] == 0
        if (n - previous >= run if in_run else run == 0) and fires(n):
            if not in_run:
                return n
            # steps previous+1 .. n form one run of exclusions ending at n
            return max(_bisect(fires, previous + 1, n), previous + run)
        previous = n
    return None


def knee_steps(labels: Sequence[int] | Any, min_records: int = KNEE_MIN_RECORDS) -> Any:
    """Boolean array: whether the knee method fires after each of the first 1..len(labels) records (the same
    test as :func:`knee_fires`, evaluated for blocks of steps at once)."""
    import numpy as np

    seq = np.asarray(labels, dtype=np.int64)
    n = len(seq)
    cum = np.concatenate(([0], np.cumsum(seq))).astype(np.float64)
    out = np.zeros(n, dtype=bool)
    first = max(min_records, 2)
    block = max(1, 4_000_000 // max(n, 1))
    for lo in range(first, n + 1, block):
        steps = np.arange(lo, min(lo + block, n + 1))
        i = np.arange(1, steps[-1])
        rs = cum[steps]
        dist = steps[:, None] * cum[1:steps[-1]][None, :] - rs[:, None] * i[None, :]
        dist[i[None, :] >= steps[:, None]] = -np.inf
        k = i[np.argmax(dist, axis=1)]
        gk = cum[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = (gk / k) / ((rs - gk + 1) / (steps - k))
        ok = (rs > 0) & (rho >= knee_threshold(rs))
        out[steps - 1] = ok
    return out


@dataclass(frozen=True)
class SimulatedStop:
    rule: str
    #: records screened when the rule first says stop; ``None``: it never did (every record screened)
    stopped_at: int | None
    #: includes found by then
    found: int


def simulated_stops(labels: Sequence[int], n_total: int, recall: float = 0.95, confidence: float = 0.95,
                    seed: int = 0) -> list[SimulatedStop]:
    """Where each rule of :data:`RULES`, checked after every record, first says stop on a complete screening
    order (``labels``: 1/0 for the records in prioritised order; records missing at the end are exclusions).
    For the random-sample rule the records after its start are put in a random order drawn with ``seed``, as
    the screen serves them."""
    import numpy as np

    seq = np.zeros(n_total, dtype=np.int64)
    seq[: len(labels)] = np.asarray(labels, dtype=np.int64)
    alpha = 1 - confidence
    knee = knee_steps(seq)
    at: dict[str, int | None] = {
        "hypergeometric": first_stop(seq.tolist(), n_total, recall, confidence),
        "knee": int(np.argmax(knee)) + 1 if knee.any() else None,
        "composite": first_stop(seq.tolist(), n_total, recall, confidence, run=heuristic_run(n_total)),
    }
    cum = np.cumsum(seq)
    total = int(cum[-1]) if n_total else 0

    def found_by(stop: int | None) -> int:
        return int(cum[stop - 1]) if stop else total

    out = [SimulatedStop(rule, at[rule], found_by(at[rule])) for rule in ("hypergeometric", "knee")]
    start = sample_start(seq.tolist(), n_total)
    stop_rs: int | None = None
    found_rs = total
    if start is not None and start < n_total:
        rest = seq[start:].copy()
        np.random.default_rng(seed).shuffle(rest)
        fired = np.flatnonzero(sample_p(int(cum[start - 1]), n_total - start, rest, recall) < alpha)
        if len(fired):
            stop_rs = start + int(fired[0]) + 1
            found_rs = int(cum[start - 1]) + int(rest[: int(fired[0]) + 1].sum())
    out.append(SimulatedStop("random-sample", stop_rs, found_rs))
    out.append(SimulatedStop("composite", at["composite"], found_by(at["composite"])))
    return out
