"""A loopback HTTP server that plays PubMed (E-utilities), Europe PMC, OpenAlex, Crossref and
ClinicalTrials.gov for the search tests and the benchmark.

Every record it serves is a *real* recorded record from ``shared/corpus/api`` (PubMed articles from efetch
recordings, Europe PMC results, OpenAlex works, Crossref items, ClinicalTrials.gov studies) cloned with a
fresh identifier, so a result set of any size can be paged through. It speaks each API's paging protocol
(History server + ``retstart``, ``cursorMark``, ``cursor``, ``pageToken``), enforces PubMed's 10,000-record
window and, optionally, each API's rate limit (429 + ``Retry-After``), and injects faults on demand:
``429``, ``500``, ``slow``, ``reset``, ``truncate`` (Content-Length promised, connection cut), ``cut`` (body cut,
no length), ``html`` (an HTML page with status 200), ``ncbi_error`` (``<ERROR>`` inside HTTP 200),
``expire`` (cursors / WebEnv forgotten).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "search"
_ARTICLE = re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.S)


def _tok(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _untok(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text[2:]) if text.startswith("o:") else None


@dataclass
class Fault:
    source: str
    kind: str
    at: int  # fires from this request number (per source, 1-based) on
    times: int
    path: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=2)
def load_templates(corpus: Path) -> Templates:
    return Templates(corpus)


class Templates:
    """Real recorded records from the corpus, one list per source."""

    def __init__(self, corpus: Path) -> None:
        api = corpus / "api"
        self.pubmed: list[bytes] = []
        for path in [*sorted((api / "ncbi").glob("efetch_pubmed_*.xml")), api / "ncbi/biomcp_efetch_pubmed_22663011.xml"]:
            self.pubmed += _ARTICLE.findall(path.read_bytes())
        self.europepmc = [r for p in sorted((api / "europepmc").glob("*.json"))
                          for r in (json.loads(p.read_text()).get("resultList") or {}).get("result", [])
                          if r.get("title")]
        self.openalex = [w for p in sorted((api / "multi_api").glob("paperqa_title_search_*.bodies/*.json"))
                         for w in (json.loads(p.read_text()) if p.stat().st_size else {}).get("results", [])
                         if isinstance(w, dict) and w.get("id", "").startswith("https://openalex.org/W")]
        self.crossref = [i for p in ("habanero_works_rows", "habanero_works_query_ecology_rows2", "habanero_cursor")
                         for i in json.loads((api / f"crossref/{p}.bodies/00_200.json").read_text())["message"]["items"]]
        self.ctgov = json.loads((api / "clinicaltrials/biomcp_search_phelan_limit50_20260811.json").read_text())["studies"]


class Pool:
    """``n`` synthetic-but-real records per source; record ``i`` is template ``i % len`` with a new id."""

    def __init__(self, templates: Templates, sizes: dict[str, int]) -> None:
        self.t = templates
        self.sizes = sizes
        self._pm_cache: dict[int, bytes] = {}
        self._json_cache: dict[tuple[str, int], str] = {}
        self.share_dois = False  # OpenAlex works get the Crossref items' DOIs (same works in two sources)

    # PubMed: id 40000000+i, publication date spread over 2000-2019 (day i % 7300)
    def pmid(self, i: int) -> str:
        return str(40000000 + i)

    def pm_date(self, i: int) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(946684800 + (i * 7919 % 7300) * 86400))

    def pm_article(self, i: int) -> bytes:
        if i not in self._pm_cache:
            xml = self.t.pubmed[i % len(self.t.pubmed)]
            pmid = self.pmid(i).encode()
            xml = re.sub(rb"<PMID([^>]*)>\d+</PMID>", rb"<PMID\1>" + pmid + b"</PMID>", xml)
            xml = re.sub(rb'(<ArticleId IdType="pubmed">)\d+(</ArticleId>)', rb"\g<1>" + pmid + rb"\2", xml)
            doi = b"10.9999/pm." + pmid
            xml = re.sub(rb'(<ArticleId IdType="doi">)[^<]*(</ArticleId>)', rb"\g<1>" + doi + rb"\2", xml)
            xml = re.sub(rb'(<ELocationID EIdType="doi"[^>]*>)[^<]*(</ELocationID>)', rb"\g<1>" + doi + rb"\2", xml)
            self._pm_cache[i] = xml
        return self._pm_cache[i]

    def encoded(self, kind: str, i: int) -> str:
        """Item ``i`` of ``kind`` as JSON text, cached (so large pages are served fast)."""
        key = (kind, i)
        text = self._json_cache.get(key)
        if text is None:
            text = self._json_cache[key] = json.dumps(getattr(self, kind)(i))
        return text

    def joined(self, kind: str, start: int, stop: int) -> str:
        return "[" + ",".join(self.encoded(kind, i) for i in range(start, stop)) + "]"

    def epmc(self, i: int) -> dict[str, Any]:
        r = copy.deepcopy(self.t.europepmc[i % len(self.t.europepmc)])
        r.update(id=str(50000000 + i), source="MED", pmid=str(50000000 + i), doi=f"10.9999/epmc.{i}")
        r.pop("pmcid", None)
        return r

    def openalex(self, i: int) -> dict[str, Any]:
        w = copy.deepcopy(self.t.openalex[i % len(self.t.openalex)])
        w["id"] = f"https://openalex.org/W{900000000 + i}"
        w["doi"] = f"https://doi.org/10.9999/{'cr' if self.share_dois else 'oa'}.{i}"
        w["ids"] = {"openalex": w["id"], "doi": w["doi"]}
        return w

    def crossref(self, i: int) -> dict[str, Any]:
        item = copy.deepcopy(self.t.crossref[i % len(self.t.crossref)])
        item["DOI"] = f"10.9999/cr.{i}"
        return item

    def ctgov(self, i: int) -> dict[str, Any]:
        s = copy.deepcopy(self.t.ctgov[i % len(self.t.ctgov)])
        s["protocolSection"]["identificationModule"]["nctId"] = f"NCT9{i:07d}"
        return s


LIMITS = {"pubmed": 3.0, "europepmc": 10.0, "openalex": 10.0, "crossref": 3.0, "clinicaltrials": 1.0}
PREFIX = {"pubmed": "/pubmed", "europepmc": "/europepmc", "openalex": "/openalex", "crossref": "/crossref",
          "clinicaltrials": "/ctgov"}


class FakeApis:
    def __init__(self, corpus: Path, sizes: dict[str, int] | None = None, *, rate_limits: dict[str, float] | None = None,
                 pubmed_window: int = 10000) -> None:
        self.pool = Pool(load_templates(corpus), {"pubmed": 1200, "europepmc": 1500, "openalex": 250, "crossref": 1500,
                                             "clinicaltrials": 1200, **(sizes or {})})
        self.rate_limits = rate_limits
        self.pubmed_window = pubmed_window
        self.faults: list[Fault] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.log: list[tuple[float, str, str, dict[str, str], int]] = []
        self.webenvs: dict[str, list[int]] = {}
        self.cursors: dict[str, int] = {}
        self.lock = threading.Lock()
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        handler = type("Handler", (_Handler,), {"apis": self})
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def urls(self) -> dict[str, str]:
        return {name: self.base + prefix for name, prefix in PREFIX.items()}

    def env(self) -> dict[str, str]:
        keys = {"pubmed": "SYNTH_PUBMED_URL", "europepmc": "SYNTH_EUROPEPMC_URL", "openalex": "SYNTH_OPENALEX_URL",
                "crossref": "SYNTH_CROSSREF_URL", "clinicaltrials": "SYNTH_CTGOV_URL"}
        return {keys[n]: u for n, u in self.urls().items()}

    def start(self) -> FakeApis:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fault(self, source: str, kind: str, *, at: int | None = None, times: int = 1, path: str = "",
              **options: Any) -> None:
        start = (self.counts[source] + 1) if at is None else at
        self.faults.append(Fault(source, kind, start, times, path, options))

    def requests_to(self, source: str) -> list[tuple[float, str, dict[str, str], int]]:
        return [(t, p, q, s) for t, src, p, q, s in self.log if src == source]

    # -- dispatch -------------------------------------------------------------------------------------
    def take_fault(self, source: str, n: int, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.source == source and f.times > 0 and n >= f.at and f.path in path:
                    f.times -= 1
                    return f
        return None

    def over_limit(self, source: str) -> bool:
        if not self.rate_limits or source not in self.rate_limits:
            return False
        now = time.monotonic()
        with self.lock:
            recent = self._recent[source]
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            if len(recent) >= self.rate_limits[source]:
                return True
            recent.append(now)
        return False

    def handle(self, source: str, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return getattr(self, f"_{source}")(path, q)

    # -- PubMed -----------------------------------------------------------------------------------------
    def _pubmed(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        xml = {"content-type": "text/xml; charset=UTF-8"}
        if path.endswith("esearch.fcgi"):
            term = q.get("term", "")
            if "abcXYZ" in term:
                return 200, xml, _no_hits()
            if "BADQUERY" in term:
                return 200, xml, b"<eSearchResult><ERROR>Invalid query: unbalanced parentheses</ERROR></eSearchResult>"
            ids = list(range(self.pool.sizes["pubmed"]))
            if q.get("mindate"):
                lo, hi = q["mindate"].replace("/", "-"), q["maxdate"].replace("/", "-")
                ids = [i for i in ids if lo <= self.pool.pm_date(i) <= hi]
            with self.lock:
                webenv = f"MCID_{len(self.webenvs) + 1}"
                self.webenvs[webenv] = ids
            body = (f"<eSearchResult><Count>{len(ids)}</Count><RetMax>0</RetMax><RetStart>0</RetStart>"
                    f"<QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv><IdList/>"
                    f"<QueryTranslation>{term}</QueryTranslation></eSearchResult>")
            return 200, xml, body.encode()
        if path.endswith("efetch.fcgi"):
            ids_ = self.webenvs.get(q.get("WebEnv", ""))
            if ids_ is None:
                return 200, xml, b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
            start, count = int(q.get("retstart", 0)), int(q.get("retmax", 20))
            if start + 1 > self.pubmed_window:
                return 200, xml, (b"<eFetchResult><ERROR>Search Backend failed: Exception: 'retstart' cannot be "
                                  b"larger than 9998</ERROR></eFetchResult>")
            chosen = ids_[start:min(start + count, self.pubmed_window)]
            body = b"<?xml version=\"1.0\" ?>\n<PubmedArticleSet>\n" + b"\n".join(
                self.pool.pm_article(i) for i in chosen) + b"\n</PubmedArticleSet>\n"
            return 200, xml, body
        return 404, {"content-type": "text/html"}, b"<html>not found</html>"

    # -- Europe PMC -------------------------------------------------------------------------------------
    def _europepmc(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        size = min(int(q.get("pageSize", 25)), 1000)
        cursor = q.get("cursorMark", "*")
        start = 0 if cursor == "*" else _untok(cursor)
        if start is None:
            return 400, {"content-type": "application/json"}, b'{"errMsg":"invalid cursorMark"}'
        n = self.pool.sizes["europepmc"]
        data: dict[str, Any] = {"version": "6.9", "hitCount": n,
                                "request": {"queryString": q.get("query"), "resultType": q.get("resultType"),
                                            "cursorMark": cursor, "pageSize": size}}
        if start + size < n:
            data["nextCursorMark"] = _tok(start + size)
        data["resultList"] = {"result": "@ITEMS@"}
        items = self.pool.joined("epmc", start, min(start + size, n))
        return 200, {"content-type": "application/json"}, json.dumps(data).replace('"@ITEMS@"', items).encode()

    # -- OpenAlex ---------------------------------------------------------------------------------------
    def _openalex(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        per = int(q.get("per_page", 25))
        if per > 200:
            return 400, {"content-type": "application/json"}, json.dumps(
                {"error": "Invalid query parameters error.", "message": "per-page parameter must be between 1 and 200"}).encode()
        if "bogus" in q.get("filter", ""):
            return 400, {"content-type": "application/json"}, json.dumps(
                {"error": "Invalid query parameters error.", "message": "bogus is not a valid field."}).encode()
        cursor = q.get("cursor", "*")
        start = 0 if cursor == "*" else _untok(cursor)
        if start is None:
            return 400, {"content-type": "application/json"}, b'{"error":"Invalid cursor"}'
        n = self.pool.sizes["openalex"]
        stop = min(start + per, n)
        meta = {"count": n, "db_response_time_ms": 12, "page": None, "per_page": per,
                "next_cursor": _tok(start + per) if stop > start else None, "groups_count": None}
        body = json.dumps({"meta": meta, "results": "@ITEMS@"}).replace('"@ITEMS@"', self.pool.joined("openalex", start, stop))
        return 200, {"content-type": "application/json"}, body.encode()

    # -- Crossref ---------------------------------------------------------------------------------------
    def _crossref(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        js = {"content-type": "application/json"}
        rows = int(q.get("rows", 20))
        if rows > 1000:
            return 400, js, json.dumps({"status": "failed", "message-type": "validation-failure", "message": [
                {"type": "integer-not-valid", "value": str(rows),
                 "message": "Integer specified as rows but must be a positive integer less than or equal to 1000."}]}).encode()
        cursor = q.get("cursor", "*")
        if cursor == "*":
            start = 0
        else:
            with self.lock:
                found = self.cursors.get(cursor)
            if found is None:
                return 404, js, (FIXTURES / "crossref_cursor_invalid.json").read_bytes()
            start = found
        n = self.pool.sizes["crossref"]
        items = "@ITEMS@"
        nxt = f"DnF1ZXJ5VGhlbkZldGNo{len(self.cursors)}x{start + rows}"
        with self.lock:
            self.cursors[nxt] = start + rows
        msg = {"facets": {}, "next-cursor": nxt, "total-results": n, "items": items, "items-per-page": rows,
               "query": {"start-index": 0, "search-terms": q.get("query")}}
        return 200, {**js, "x-rate-limit-limit": "3", "x-rate-limit-interval": "1s", "x-api-pool": "polite"}, json.dumps(
            {"status": "ok", "message-type": "work-list", "message-version": "1.0.0", "message": msg}).replace(
            '"@ITEMS@"', self.pool.joined("crossref", start, min(start + rows, n))).encode()

    # -- ClinicalTrials.gov -----------------------------------------------------------------------------
    def _clinicaltrials(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        size = min(int(q.get("pageSize", 10)), 1000)
        token = q.get("pageToken")
        start = 0 if not token else _untok(token)
        if start is None:
            return 400, {"content-type": "text/plain"}, b"Invalid pageToken"
        n = self.pool.sizes["clinicaltrials"]
        data: dict[str, Any] = {"studies": "@ITEMS@"}
        if q.get("countTotal") == "true":
            data["totalCount"] = n
        if start + size < n:
            data["nextPageToken"] = _tok(start + size)
        body = json.dumps(data).replace('"@ITEMS@"', self.pool.joined("ctgov", start, min(start + size, n)))
        return 200, {"content-type": "application/json"}, body.encode()


def _no_hits() -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8" ?>\n<eSearchResult><Count>0</Count><RetMax>0</RetMax>'
            b"<RetStart>0</RetStart><IdList/><TranslationSet/><QueryTranslation>(abcXYZ[All Fields])"
            b"</QueryTranslation><ErrorList><PhraseNotFound>abcXYZ</PhraseNotFound></ErrorList><WarningList>"
            b"<OutputMessage>No items found.</OutputMessage></WarningList></eSearchResult>")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:  # clients cut connections on purpose
        pass


class _Handler(BaseHTTPRequestHandler):
    apis: FakeApis
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # silence
        pass

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length))

    def _serve(self, body: bytes) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/_log":  # for the benchmark, when the server runs in its own process
            payload = json.dumps([[t, src, p, st] for t, src, p, _, st in self.apis.log]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        source = next((n for n, p in PREFIX.items() if parts.path.startswith(p + "/")), "")
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        q.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        apis = self.apis
        with apis.lock:
            apis.counts[source] += 1
            n = apis.counts[source]
        fault = apis.take_fault(source, n, parts.path)
        if apis.over_limit(source):
            status, headers, payload = 429, {"content-type": "application/json", "retry-after": "1"}, json.dumps(
                {"error": "API rate limit exceeded", "count": "4", "limit": str(apis.rate_limits and
                                                                                apis.rate_limits[source])}).encode()
        elif fault is not None and fault.kind in ("429", "500"):
            status = int(fault.kind)
            headers = {"content-type": "application/json"}
            if fault.kind == "429" and "retry_after" in fault.options:
                headers["retry-after"] = str(fault.options["retry_after"])
            payload = b'{"error":"API rate limit exceeded","count":"11"}' if status == 429 else (
                FIXTURES / "crossref_500_stack.json").read_bytes()
        elif fault is not None and fault.kind == "html":
            status, headers, payload = 200, {"content-type": "text/html"}, (FIXTURES / "html_error_page.html").read_bytes()
        elif fault is not None and fault.kind == "ncbi_error":
            status, headers, payload = 200, {"content-type": "text/xml"}, (FIXTURES / "ncbi_error_in_200.xml").read_bytes()
        else:
            if fault is not None and fault.kind == "expire":
                with apis.lock:
                    apis.webenvs.clear()
                    apis.cursors.clear()
            if fault is not None and fault.kind == "slow":
                time.sleep(float(fault.options.get("seconds", 2.0)))
            if fault is not None and fault.kind == "reset":
                self.close_connection = True
                self.connection.close()
                return
            try:
                status, headers, payload = apis.handle(source, parts.path, q)
            except Exception as exc:  # a bug in the fake: make it visible
                status, headers, payload = 599, {"content-type": "text/plain"}, repr(exc).encode()
        apis.log.append((time.monotonic(), source, parts.path, q, status))
        if fault is not None and fault.kind in ("truncate", "cut"):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if fault.kind == "truncate":
                self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def fast_client(apis: FakeApis, *, env: dict[str, str] | None = None, limiters: Any = None, cache: Any = None,
                timeout: Any = (2.0, 2.0), sleeps: list[float] | None = None) -> Any:
    """An :class:`HttpClient` aimed at ``apis`` with short backoff (tests must stay fast)."""
    from synth.sources.http import HttpClient, RetryPolicy
    from synth.sources.settings import from_env

    settings = from_env({**apis.env(), **(env or {})})
    recorded = sleeps if sleeps is not None else []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        time.sleep(min(seconds, 0.05))

    return HttpClient(settings, limiters=limiters, cache=cache, timeout=timeout, sleep=sleep,
                      retry=RetryPolicy(attempts=4, base=0.01, cap=0.05))


def main() -> None:
    """Run the fake APIs in their own process (so the benchmark's client does not share a GIL with them)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--sizes", default="{}")
    parser.add_argument("--rate-limits", default="")
    args = parser.parse_args()
    apis = FakeApis(args.corpus, json.loads(args.sizes),
                    rate_limits=json.loads(args.rate_limits) if args.rate_limits else None).start()
    for name in json.loads(args.sizes):  # build every response item up front: serve at full speed
        kind = {"pubmed": None, "europepmc": "epmc", "openalex": "openalex", "crossref": "crossref",
                "clinicaltrials": "ctgov"}[name]
        for i in range(apis.pool.sizes[name]):
            apis.pool.pm_article(i) if kind is None else apis.pool.encoded(kind, i)
    print(apis.base, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    apis.stop()


if __name__ == "__main__":
    main()
