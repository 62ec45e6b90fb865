"""A sliding-window rate limiter: at most ``rate`` requests in any ``period`` seconds.

A sliding window (rather than evenly spaced requests) lets a client run at the full permitted rate while
never exceeding it in any window the server measures; a small ``margin`` (50 ms) absorbs the jitter between when a request leaves and when the server counts it.
After a 429 the limiter can be paused (:meth:`pause`) for the server's ``Retry-After``.
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
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._times and now - self._times[0] >= self.window:
                    self._times.popleft()
                delay = max(0.0, self._paused_until - now)
                if not delay and len(self._times) < self.burst:
                    self._times.append(now)
                    return waited
                if not delay:
                    delay = self.window - (now - self._times[0])
            self._sleep(delay)
            waited += delay

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (after a 429 with ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
