"""A sliding-window rate limiter: at most ``rate`` requests in any ``period`` seconds.

A sliding window (rather than evenly spaced requests) lets a client run at the full permitted rate while
never exceeding it in any window the server measures; a small ``margin`` (50 ms) absorbs the jitter between when a request leaves and when the server counts it.
After a 429 the limiter can be paused (:meth:`pause`) for the server's ``Retry-After``.

A request is stamped when it is allowed to go (:meth:`acquire_at`); when it actually left later (another thread
held the interpreter, e.g. while decoding the previous page), :meth:`sent` moves its stamp to that time, so the
window follows when the server sees the request, not when it was queued.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

#: Documented/observed permitted rates (requests per second) per source; see docs/search.md.
RATES = {
    "pubmed": 3.0,  # NCBI without a key; 10 with SYNTH_NCBI_API_KEY
    "pubmed_key": 10.0,
    "europepmc": 10.0,  # no published hard limit; third-party guides say ~10/s
    "openalex": 10.0,  # polite use; the hard cap is 100/s
    "crossref": 3.0,  # polite pool, list queries (from Dec 2025); public pool is 1/s
    "crossref_public": 1.0,
    "clinicaltrials": 1.0,  # robots.txt Crawl-delay: 1
}


class RateLimiter:
    """At most ``rate`` acquisitions per ``period`` seconds, across threads."""

    def __init__(
        self,
        rate: float,
        period: float = 1.0,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.burst = max(1, int(rate * period))
        self.window = period * self.burst / (rate * period) + margin
        self._times: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    @property
    def rate(self) -> float:
        return self.burst / self.window

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        return self.acquire_at()[0]

    def sent(self, stamp: float, at: float) -> None:
        """The request stamped ``stamp`` (from :meth:`acquire_at`) actually left at ``at``: count it from then."""
        if at <= stamp:
            return
        with self._lock:
            times = self._times
            for i, t in enumerate(times):
                if t == stamp:
                    times[i] = at
                    if i + 1 < len(times) and times[i + 1] < at:
                        self._times = deque(sorted(times))
                    return

    def acquire_at(self) -> tuple[float, float]:
        """Block until a request may be sent; return the seconds waited and the request's stamp."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._times and now - self._times[0] >= self.window - 1e-9:  # float-safe
                    self._times.popleft()
                delay = max(0.0, self._paused_until - now)
                if not delay and len(self._times) < self.burst:
                    self._times.append(now)
                    return waited, now
                if not delay:
                    delay = self.window - (now - self._times[0])
            self._sleep(delay)
            waited += delay

    def now(self) -> float:
        """The limiter's clock (monotonic seconds)."""
        return self._clock()

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (after a 429 with ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
