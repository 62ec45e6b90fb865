"""The one HTTP layer every source uses: an injected ``requests.Session``, per-source rate limits, retries with
exponential backoff and jitter honouring ``Retry-After``, timeouts, polite identification and an optional
on-disk cache.

Sources never call ``requests`` themselves: they build a :class:`Request` (pure) and hand it to
:meth:`HttpClient.send`, which returns a :class:`Response` (status, headers, body bytes) or raises a
:class:`~synth.sources.errors.SearchError` with a message fit for the user.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3

from synth.sources.cache import ResponseCache
from synth.sources.errors import ApiError, NetworkError
from synth.sources.ratelimit import RateLimiter
from synth.sources.settings import Settings, redact, redact_text

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Request:
    """One API call, fully described (so it can be printed in a dry run, cached and stored)."""

    source: str
    method: str
    url: str
    params: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] | None = None  # form body for POST

    def redacted(self, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
        """JSON-able description with secrets removed."""
        out: dict[str, Any] = {"method": self.method, "url": redact_text(self.url, secrets),
                               "params": redact(self.params, secrets)}
        if self.data is not None:
            out["data"] = redact(self.data, secrets)
        return out

    def display(self, secrets: tuple[str, ...] = ()) -> str:
        """``GET https://...?a=b`` with secrets redacted (POST bodies shown after the URL)."""
        info = self.redacted(secrets)
        query = urlencode(info["params"])
        line = f"{self.method} {info['url']}{'?' + query if query else ''}"
        if self.data is not None:
            line += f"  [form: {urlencode(info['data'])}]"
        return line


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    from_cache: bool = False

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _read_body(raw: requests.Response) -> bytes:
    """Read the whole body in one call (not requests' 10 KB chunks): far fewer GIL hand-overs while another
    thread parses the previous page. A body shorter than its Content-Length raises (urllib3 enforces it)."""
    try:
        return raw.raw.read(decode_content=True) or b""
    finally:
        raw.close()


def make_session(settings: Settings) -> requests.Session:
    """The session every source shares: connection pooling plus a User-Agent naming synth and its version."""
    session = requests.Session()
    session.headers["User-Agent"] = settings.user_agent
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits ``uniform(0, min(cap, base * 2**n))``, or the
    server's ``Retry-After`` when it gives one (capped at ``max_retry_after``)."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 300.0
    jitter: Callable[[float, float], float] = random.uniform

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.jitter(0, min(self.cap, self.base * 2**attempt))


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    waited: float = 0.0
    by_source: dict[str, int] = field(default_factory=dict)


class HttpClient:
    """Sends :class:`Request` objects politely and reliably. One per run; the session is injected."""

    def __init__(
        self,
        settings: Settings,
        session: requests.Session | None = None,
        *,
        limiters: Mapping[str, RateLimiter] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        cache: ResponseCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        notify: Callable[[str], None] | None = None,
        budget: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        #: told about each wait before a retry (the CLI shows it), so a slow or stalled API is never silent
        self.notify = notify
        #: seconds one request may spend failing and retrying before it is given up (None: no bound)
        self.budget = budget
        self.clock = clock
        self.session = session or make_session(settings)
        self.limiters = dict(limiters or {})
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.cache = cache
        self.sleep = sleep
        self.stats = Stats()
        #: set by the runner while re-fetching a page whose cached body was malformed
        self.refresh = False

    def limiter(self, source: str) -> RateLimiter | None:
        return self.limiters.get(source)

    def send(self, req: Request, *, use_cache: bool = True) -> Response:
        """The response to ``req`` (any final status; callers judge 4xx). Retries connection errors,
        timeouts, 429 and 5xx; raises :class:`NetworkError` when retries run out."""
        secrets = self.settings.secrets
        if self.cache is not None and use_cache and not self.refresh:
            hit = self.cache.get(req.redacted(secrets))
            if hit is not None:
                self.stats.cache_hits += 1
                return Response(hit.status, hit.headers, hit.body, from_cache=True)
        last_problem = ""
        started = self.clock()
        tried = 0
        for attempt in range(self.retry.attempts):
            tried = attempt + 1
            limiter = self.limiter(req.source)
            stamp = 0.0
            if limiter is not None:
                waited, stamp = limiter.acquire_at()
                self.stats.waited += waited
            self.stats.requests += 1
            self.stats.by_source[req.source] = self.stats.by_source.get(req.source, 0) + 1
            try:
                raw = self.session.request(req.method, req.url, params=dict(req.params) or None,
                                           data=dict(req.data) if req.data is not None else None,
                                           timeout=self.timeout, stream=True)
                if limiter is not None and isinstance(raw.elapsed, dt.timedelta):
                    # requests times ``elapsed`` from the moment it sends: count the request from then
                    limiter.sent(stamp, limiter.now() - raw.elapsed.total_seconds())
                body = _read_body(raw)  # the whole body; truncation raises here
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                last_problem = redact_text(f"{type(exc).__name__}: {exc}", secrets)
                retry_after = None
            else:
                headers = {k.lower(): v for k, v in raw.headers.items()}
                self._adapt(req.source, headers)
                if raw.status_code not in RETRY_STATUS:
                    response = Response(raw.status_code, headers, body)
                    if self.cache is not None and 200 <= raw.status_code < 300:
                        self.cache.put(req.redacted(secrets), response)
                    return response
                retry_after = retry_after_seconds(headers.get("retry-after"))
                last_problem = f"HTTP {raw.status_code}" + (f" (Retry-After {headers['retry-after']})"
                                                            if "retry-after" in headers else "")
                if raw.status_code == 429 and retry_after is not None and limiter is not None:
                    limiter.pause(min(retry_after, self.retry.max_retry_after))
            if attempt + 1 < self.retry.attempts:
                pause = self.retry.delay(attempt, retry_after)
                spent = self.clock() - started
                if self.budget is not None and spent + pause > self.budget:
                    raise NetworkError(
                        f"{req.source}: {req.method} {redact_text(req.url, secrets)} gave up after {spent:.0f} s and "
                        f"{tried} attempt(s) ({last_problem}), the limit for one request (SYNTH_HTTP_BUDGET = "
                        f"{self.budget:g} s). Check the network or the service status, then run `synth search "
                        "run` again: the run resumes from its last completed page.")
                self.stats.retries += 1
                if self.notify is not None:
                    self.notify(f"{req.source}: {last_problem}; retry {attempt + 2} of {self.retry.attempts} in "
                                f"{pause:.0f} s")
                if not (retry_after is not None and limiter is not None):
                    self.sleep(pause)
        raise NetworkError(
            f"{req.source}: {req.method} {redact_text(req.url, secrets)} failed after {self.retry.attempts} "
            f"attempts ({last_problem}). Check the network or the service status, then run "
            "`synth search run` again: the run resumes from its last completed page."
        )

    def _adapt(self, source: str, headers: Mapping[str, str]) -> None:
        """Slow down when the API advertises a lower limit than ours (Crossref ``x-rate-limit-limit`` and
        ``x-rate-limit-interval``, e.g. ``1`` per ``1s`` in the public pool)."""
        limit, interval = headers.get("x-rate-limit-limit"), headers.get("x-rate-limit-interval", "1s")
        limiter = self.limiters.get(source)
        if not limit or limiter is None:
            return
        try:
            seconds = float(interval.rstrip("s") or 1)
            rate = float(limit) / seconds
        except ValueError:
            return
        if 0 < rate < limiter.rate * 0.99:
            self.limiters[source] = RateLimiter(rate)

    def check(self, req: Request, resp: Response, *, field: str) -> None:
        """Raise :class:`ApiError` for a 4xx answer, quoting the API's own message and the protocol field."""
        if resp.status < 400:
            return
        message = api_message(resp)
        hint = {
            401: "The API wants a key: set the environment variable named in docs/search.md.",
            403: "The API refused the request (key, quota or rate limit): check the key and try later.",
        }.get(resp.status, f"Fix the query in the protocol ({field}) and run again.")
        raise ApiError(f"{req.source} rejected the request (HTTP {resp.status}): {message}. "
                       f"Query from protocol field {field}. {hint}", status=resp.status)


def api_message(resp: Response) -> str:
    """The API's own error text from a JSON, XML or plain-text error body (shortened)."""
    import json
    import re

    text = resp.text().strip()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        msg = data.get("message") or data.get("error") or data.get("errMsg") or data
        if isinstance(msg, list):
            msg = "; ".join(str(m.get("message", m)) if isinstance(m, dict) else str(m) for m in msg)
        if isinstance(msg, dict):
            msg = msg.get("message") or msg.get("description") or json.dumps(msg)[:200]
        if data.get("error") and data.get("message") and data["error"] != msg:
            msg = f"{data['error']}: {msg}"
        return str(msg)[:300].rstrip(". ")
    match = re.search(r"<(?:ERROR|errMsg|title)>(.*?)</", text, re.S | re.I)
    if match:
        return match.group(1).strip()[:300].rstrip(". ")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()[:300] or "(empty body)"
