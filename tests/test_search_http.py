"""The shared HTTP layer: rate limiter, Retry-After, redaction, retries and faults on a real loopback socket."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from search_server import FakeApis, fast_client

from synth.sources.cache import ResponseCache
from synth.sources.errors import ApiError, NetworkError
from synth.sources.http import HttpClient, Request, RetryPolicy, retry_after_seconds
from synth.sources.ratelimit import RateLimiter
from synth.sources.settings import from_env, redact


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_never_exceeds_rate_in_any_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep, margin=0.0)
    times = []
    for _ in range(12):
        limiter.acquire()
        times.append(clock.now)
    assert times[:3] == [0.0, 0.0, 0.0]
    assert times[3] == pytest.approx(1.0)
    assert times[-1] == pytest.approx(3.0)
    for i, t in enumerate(times):
        assert sum(1 for u in times if t <= u < t + 1.0) <= 3, i


def test_rate_limiter_pause_after_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep, margin=0.0)
    limiter.acquire()
    limiter.pause(2.5)
    assert limiter.acquire() == pytest.approx(2.5)


def test_rate_limiter_below_one_per_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(0.5, clock=clock, sleep=clock.sleep, margin=0.0)
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(2.0)


def test_rate_limiter_counts_a_late_request_from_when_it_left() -> None:
    """A request queued at 0.0 but sent at 0.4 (the interpreter was busy) holds its slot until 1.4."""
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep, margin=0.0)
    _, first = limiter.acquire_at()
    limiter.acquire_at()
    limiter.sent(first, 0.4)
    assert limiter.acquire() == pytest.approx(1.0)  # the second request's slot frees first (sent at 0.0)
    assert limiter.acquire() == pytest.approx(0.4)  # then the late one's, 1.0 s after it actually left
    limiter.sent(123.0, 999.0)  # an unknown stamp changes nothing
    assert clock.now == pytest.approx(1.4)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_redaction_of_params_and_text() -> None:
    settings = from_env({"SYNTH_NCBI_API_KEY": "k3y", "SYNTH_MAILTO": "me@x.org"})
    req = Request("pubmed", "GET", "https://e/esearch.fcgi?api_key=k3y",
                  {"term": "a", "api_key": "k3y", "email": "me@x.org", "tool": "synth"})
    shown = req.display(settings.secrets)
    assert "k3y" not in shown and "me@x.org" not in shown
    assert redact({"api_key": "k3y", "mailto": "me@x.org", "q": "x"}) == {"api_key": "***", "mailto": "***", "q": "x"}
    assert "synth/0" in settings.user_agent and "me@x.org" in settings.user_agent


@pytest.fixture
def apis(corpus_dir: Path):
    server = FakeApis(corpus_dir, {"europepmc": 30, "crossref": 30}).start()
    yield server
    server.stop()


def _epmc(apis: FakeApis) -> Request:
    return Request("europepmc", "GET", apis.urls()["europepmc"] + "/search",
                   {"query": "x", "pageSize": 10, "cursorMark": "*", "format": "json"})


@pytest.mark.corpus
def test_429_honours_retry_after(apis: FakeApis) -> None:
    sleeps: list[float] = []
    client = fast_client(apis, sleeps=sleeps)
    apis.fault("europepmc", "429", retry_after=2)
    resp = client.send(_epmc(apis))
    assert resp.status == 200 and json.loads(resp.body)["hitCount"] == 30
    assert sleeps == [2.0]
    assert client.stats.retries == 1


@pytest.mark.corpus
def test_429_pauses_the_source_limiter(apis: FakeApis) -> None:
    client = fast_client(apis, limiters={"europepmc": RateLimiter(100)})
    apis.fault("europepmc", "429", retry_after=0.3)
    client.send(_epmc(apis))
    times = [t for t, *_ in apis.requests_to("europepmc")]
    assert len(times) == 2 and times[1] - times[0] >= 0.3


@pytest.mark.corpus
@pytest.mark.parametrize("kind", ["500", "truncate", "reset", "slow"])
def test_transient_faults_are_retried(apis: FakeApis, kind: str) -> None:
    # the read timeout sits well below the slow fault and well above a loopback answer on a busy machine, so
    # only the injected faults are retried
    client = fast_client(apis, timeout=(2.0, 1.0))
    apis.fault("europepmc", kind, times=2, seconds=3.0)
    resp = client.send(_epmc(apis))
    assert json.loads(resp.body)["resultList"]["result"][0]["id"] == "50000000"
    assert client.stats.retries == 2


@pytest.mark.corpus
def test_retries_run_out_with_clear_error(apis: FakeApis) -> None:
    client = fast_client(apis)
    apis.fault("europepmc", "500", times=10)
    with pytest.raises(NetworkError, match=r"^europepmc: GET http://127\.0\.0\.1:\d+/europepmc/search failed after 4 "
                       r"attempts \(HTTP 500\)\. .*resumes from its last completed page\.$"):
        client.send(_epmc(apis))


def test_connection_refused_is_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = from_env({"SYNTH_CROSSREF_URL": f"http://127.0.0.1:{port}"})
    client = HttpClient(settings, retry=RetryPolicy(attempts=2, base=0.001), sleep=lambda s: None)
    with pytest.raises(NetworkError, match="failed after 2 attempts \\(ConnectionError"):
        client.send(Request("crossref", "GET", f"http://127.0.0.1:{port}/works", {"mailto": "me@x.org"}))


@pytest.mark.corpus
def test_api_error_quotes_message_and_field(apis: FakeApis) -> None:
    client = fast_client(apis)
    req = Request("crossref", "GET", apis.urls()["crossref"] + "/works", {"query": "x", "rows": 5000})
    resp = client.send(req)
    with pytest.raises(ApiError) as err:
        client.check(req, resp, field="sources.crossref.query")
    assert str(err.value) == (
        "crossref rejected the request (HTTP 400): Integer specified as rows but must be a positive integer less "
        "than or equal to 1000. Query from protocol field sources.crossref.query. Fix the query in the protocol "
        "(sources.crossref.query) and run again.")


@pytest.mark.corpus
def test_cache_reuses_responses_and_never_stores_keys(apis: FakeApis, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    env = {"SYNTH_OPENALEX_API_KEY": "sekret-key", "SYNTH_MAILTO": "me@x.org"}
    client = fast_client(apis, env=env, cache=cache)
    req = Request("openalex", "GET", apis.urls()["openalex"] + "/works",
                  {"search": "x", "per_page": 5, "cursor": "*", "api_key": "sekret-key", "mailto": "me@x.org"})
    first = client.send(req)
    second = client.send(req)
    assert second.from_cache and second.body == first.body
    assert len(apis.requests_to("openalex")) == 1
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"sekret-key" not in data and b"me@x.org" not in data
    assert any(b'"api_key": "***"' in p.read_bytes() for p in (tmp_path / "cache").rglob("*.json"))


@pytest.mark.corpus
def test_advertised_lower_limit_slows_the_client(apis: FakeApis) -> None:
    client = fast_client(apis, limiters={"crossref": RateLimiter(50)})
    client.send(Request("crossref", "GET", apis.urls()["crossref"] + "/works", {"query": "x", "rows": 1}))
    assert client.limiters["crossref"].rate == pytest.approx(3 / 1.05, rel=0.01)  # server says 3 per 1s
