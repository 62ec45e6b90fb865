"""Benchmark: live-search throughput against the loopback API server with the real rate limits enforced.

The server (tests/search_server.py) replays real recorded records from ``shared/corpus/api`` and answers 429
to any request over each API's permitted rate (PubMed 3/s without a key, Europe PMC 10/s, OpenAlex 10/s,
Crossref 3/s polite pool, ClinicalTrials.gov 1/s). For each source synth runs a full search into a fresh
SQLite store and we report:

* requests sent and records per request (page sizes), e.g. 10,000 PubMed records in 21 requests;
* the request rate while fetching as a fraction of the permitted rate (target > 90%; see :func:`fetch_rate`),
  and the 429s received (a 429 is retried after its ``Retry-After``; the server counts arrivals, so heavy
  load on the machine can make an occasional request look early);
* records/s end to end (parsing + storing included).

The peer is a *naive polite client*: the same endpoints paged sequentially with the page sizes common client
libraries default to (Biopython-style efetch of 100, Europe PMC 25, OpenAlex 25, Crossref 20, ClinicalTrials.gov
10) and a fixed ``sleep(1/rate)`` between requests; it is run on the same server in the same process, and the
ratio of records/s is printed.

Usage: python benchmarks/bench_search.py [--scale 1.0] [--corpus ../shared/corpus] [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from search_server import LIMITS, PREFIX  # noqa: E402

from synth.sources.base import Strategy  # noqa: E402
from synth.sources.http import HttpClient, make_session  # noqa: E402
from synth.sources.runner import default_limiters, make_source, run_source  # noqa: E402
from synth.sources.settings import from_env  # noqa: E402
from synth.store import open_store  # noqa: E402

SIZES = {"pubmed": 10000, "europepmc": 40000, "openalex": 5000, "crossref": 20000, "clinicaltrials": 8000}
NAIVE_PAGE = {"pubmed": 100, "europepmc": 25, "openalex": 25, "crossref": 20, "clinicaltrials": 10}
NAIVE_RECORDS = 600  # per source for the naive peer (it is slow by design)


class ServerProcess:
    """The fake APIs in a child process (started and stopped here, by pid)."""

    def __init__(self, corpus: Path, sizes: dict[str, int], limits: dict[str, float]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "search_server.py"), "--corpus", str(corpus),
             "--sizes", json.dumps(sizes), "--rate-limits", json.dumps(limits)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.base = self.proc.stdout.readline().strip()

    def env(self) -> dict[str, str]:
        keys = {"pubmed": "SYNTH_PUBMED_URL", "europepmc": "SYNTH_EUROPEPMC_URL", "openalex": "SYNTH_OPENALEX_URL",
                "crossref": "SYNTH_CROSSREF_URL", "clinicaltrials": "SYNTH_CTGOV_URL"}
        return {keys[n]: self.base + p for n, p in PREFIX.items()}

    def log(self, source: str) -> list[tuple[float, int]]:
        import requests

        return [(t, st) for t, src, _, st in requests.get(self.base + "/_log", timeout=30).json() if src == source]

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def fetch_rate(apis: ServerProcess, source: str) -> tuple[int, float, float, int]:
    """(requests, requests/s, fraction of the permitted rate, 429s) over the fetching span.

    The rate is ``(n - 1) / (last - first)``, the steady request rate while fetching; the fraction divides it
    by the permitted rate. (A sliding window lets the first second carry a full burst, so short runs can show
    slightly over 100%.)"""
    log = apis.log(source)
    times = [t for t, _ in log]
    n = len(log)
    span = times[-1] - times[0] if n > 1 else 0.0
    rate = (n - 1) / span if span > 0 else float(n)
    return n, rate, rate / LIMITS[source], sum(1 for _, status in log if status == 429)


def bench_synth(corpus: Path, scale: float) -> list[dict[str, float | int | str]]:
    rows = []
    for name, size in SIZES.items():
        n = max(1, int(size * scale))
        apis = ServerProcess(corpus, {name: n}, LIMITS)
        try:
            settings = from_env({**apis.env(), "SYNTH_MAILTO": "bench@example.org"})
            client = HttpClient(settings, make_session(settings), limiters=default_limiters(settings))
            with tempfile.TemporaryDirectory() as tmp:
                store = open_store(f"sqlite:///{tmp}/bench.sqlite")
                start = time.perf_counter()
                result = run_source(store, client, make_source(name, settings), Strategy(name, "integrated care"))
                wall = time.perf_counter() - start
                store.close()
            requests, rate, fraction, throttled = fetch_rate(apis, name)
        finally:
            apis.stop()
        assert result.status == "complete" and result.retrieved == n, result
        rows.append({"source": name, "records": n, "requests": requests, "records_per_request": n / requests,
                     "rate": rate, "allowed": LIMITS[name], "rate_fraction": fraction,
                     "throttled_429": throttled, "wall_s": wall, "records_per_s": n / wall})
    return rows


def bench_naive(corpus: Path) -> dict[str, float]:
    """Records/s of the naive peer per source (sequential, sleep-spaced, default page sizes)."""
    out = {}
    for name in SIZES:
        apis = ServerProcess(corpus, {name: NAIVE_RECORDS}, LIMITS)
        try:
            settings = from_env({**apis.env(), "SYNTH_MAILTO": "bench@example.org"})
            client = HttpClient(settings, make_session(settings), limiters={})
            source = make_source(name, settings)
            attr = {"pubmed": "batch", "europepmc": "page_size", "openalex": "per_page", "crossref": "rows",
                    "clinicaltrials": "page_size"}[name]
            setattr(source, attr, NAIVE_PAGE[name])
            strategy = Strategy(name, "integrated care")
            state = source.initial_state(strategy)
            got = 0
            start = time.perf_counter()
            while state is not None:
                page = source.fetch(client, strategy, state)
                got += len(page.materialise())
                state = page.next_state
                time.sleep(1.0 / LIMITS[name])
            out[name] = got / (time.perf_counter() - start)
        finally:
            apis.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply the record counts (default 1.0).")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--no-peer", action="store_true", help="Skip the naive peer.")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    args = parser.parse_args()
    rows = bench_synth(args.corpus, args.scale)
    naive = {} if args.no_peer else bench_naive(args.corpus)
    for row in rows:
        if naive:
            row["naive_records_per_s"] = naive[str(row["source"])]
            row["speedup_vs_naive"] = float(row["records_per_s"]) / naive[str(row["source"])]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    head = (f"{'source':<15}{'records':>8}{'requests':>9}{'rec/req':>8}{'req/s':>7}{'allowed':>8}{'% rate':>7}"
            f"{'429s':>5}{'wall s':>8}{'rec/s':>8}{'naive rec/s':>12}{'ratio':>7}")
    print(head)
    for r in rows:
        print(f"{r['source']:<15}{r['records']:>8}{r['requests']:>9}{r['records_per_request']:>8.0f}"
              f"{r['rate']:>7.2f}{r['allowed']:>8.1f}{100 * float(r['rate_fraction']):>6.0f}%{r['throttled_429']:>5}"
              f"{r['wall_s']:>8.1f}{r['records_per_s']:>8.0f}"
              f"{r.get('naive_records_per_s', math.nan):>12.1f}{r.get('speedup_vs_naive', math.nan):>6.1f}x")


if __name__ == "__main__":
    main()
