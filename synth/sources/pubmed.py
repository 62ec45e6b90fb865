"""PubMed through NCBI E-utilities: ESearch on the History server, then EFetch XML in large batches.

* ESearch (``usehistory=y``, ``retmax=0``) gives ``Count``, ``WebEnv`` and ``QueryKey``; EFetch then pages
  through the stored result with ``retstart``/``retmax`` (``BATCH`` records per request, so 10,000 records take
  1 + 20 requests). Long queries go by POST.
* PubMed serves only the first 10,000 records of a result set, so a larger set is split by publication date
  (``datetype=pdat``, ``mindate``/``maxdate``), halving the date window until each part is below the limit.
* Errors arrive inside HTTP 200 (``<ERROR>...</ERROR>``, ``ErrorList/PhraseNotFound``) and are detected here;
  an expired ``WebEnv`` is renewed by running ESearch again for the same window.

Records are parsed by :func:`synth.importers.pubmed_xml.parse_pubmed_xml` (shared with file import).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from functools import partial
from typing import Any

from defusedxml import ElementTree as SafeET

from synth.errors import InputError
from synth.importers.pubmed_xml import parse_pubmed_xml
from synth.records.model import Record
from synth.sources.base import Page, Strategy, blame
from synth.sources.errors import ApiError, CursorExpired, MalformedResponse
from synth.sources.http import HttpClient, Request, Response
from synth.sources.settings import Settings

ESEARCH_LIMIT = 10000  # PubMed serves at most the first 10,000 records of a set
BATCH = 500
POST_OVER = 300  # characters of query above which requests go by POST
TOOL = "synth"
EARLIEST = dt.date(1800, 1, 1)


class PubMed:
    name = "pubmed"
    label = "PubMed (MEDLINE)"
    kind = "database"
    endpoint = "esearch.fcgi + efetch.fcgi (E-utilities, History server)"

    def __init__(self, settings: Settings, batch: int = BATCH, limit: int = ESEARCH_LIMIT) -> None:
        self.settings = settings
        self.batch = batch
        self.limit = limit

    # -- pure request building -------------------------------------------------------------------------
    def term(self, strategy: Strategy) -> str:
        term = f"({strategy.query})" if (strategy.filter or strategy.languages) else strategy.query
        if strategy.filter:
            term += f" AND ({strategy.filter})"
        if strategy.languages:
            term += " AND (" + " OR ".join(f"{lang}[la]" for lang in strategy.languages) + ")"
        return term

    def _ident(self) -> dict[str, str]:
        out = {"tool": TOOL}
        if self.settings.mailto:
            out["email"] = self.settings.mailto
        if self.settings.ncbi_api_key:
            out["api_key"] = self.settings.ncbi_api_key
        return out

    def initial_window(self, strategy: Strategy) -> list[str] | None:
        if not (strategy.date_from or strategy.date_to):
            return None
        start = strategy.date_from or EARLIEST
        end = strategy.date_to or dt.date(dt.date.today().year + 1, 12, 31)
        return [start.isoformat(), end.isoformat()]

    def esearch_request(self, strategy: Strategy, window: list[str] | None) -> Request:
        params: dict[str, Any] = {"db": "pubmed", "term": self.term(strategy), "usehistory": "y", "retmax": 0}
        if window:
            params.update(datetype="pdat", mindate=window[0].replace("-", "/"),
                          maxdate=window[1].replace("-", "/"))
        params.update(self._ident())
        url = f"{self.settings.base_url('pubmed')}/esearch.fcgi"
        if len(params["term"]) > POST_OVER:
            return Request("pubmed", "POST", url, {}, params)
        return Request("pubmed", "GET", url, params)

    def efetch_request(self, state: dict[str, Any]) -> Request:
        params: dict[str, Any] = {"db": "pubmed", "query_key": state["query_key"], "WebEnv": state["webenv"],
                                  "retstart": state["retstart"], "retmax": self.batch, "retmode": "xml"}
        params.update(self._ident())
        return Request("pubmed", "GET", f"{self.settings.base_url('pubmed')}/efetch.fcgi", params)

    def params(self, settings: Settings, strategy: Strategy) -> dict[str, Any]:
        req = self.esearch_request(strategy, self.initial_window(strategy))
        return dict(req.data if req.data is not None else req.params)

    # -- paging ----------------------------------------------------------------------------------------
    def initial_state(self, strategy: Strategy) -> dict[str, Any]:
        return {"pending": [self.initial_window(strategy)], "window": None, "webenv": None,
                "query_key": None, "count": 0, "retstart": 0, "splits": 0}

    def count(self, client: HttpClient, strategy: Strategy) -> Page:
        req = self.esearch_request(strategy, self.initial_window(strategy))
        result = parse_esearch(self._send(client, req, strategy), strategy)
        return Page([], None, hits=result["count"], requests=[req], warnings=result["warnings"])

    def fetch(self, client: HttpClient, strategy: Strategy, state: dict[str, Any]) -> Page:
        state = dict(state, pending=list(state["pending"]))
        page = Page([], None)
        if state["webenv"] is None:
            window = state["pending"].pop(0)
            req = self.esearch_request(strategy, window)
            page.requests.append(req)
            result = parse_esearch(self._send(client, req, strategy), strategy)
            page.warnings += result["warnings"]
            if state.get("hits") is None:
                page.hits = state["hits"] = result["count"]
            if result["count"] > self.limit:
                halves = split_window(window, strategy)
                if halves is None:
                    raise ApiError(
                        f"pubmed: {result['count']} records were published on a single day ({window}); PubMed "
                        "serves at most 10,000 per query. Narrow the query in sources.pubmed.query."
                    )
                state["pending"][:0] = halves
                state["splits"] += 1
                page.next_state = state
                return page
            if result["count"] == 0:
                page.next_state = state if state["pending"] else None
                return page
            state.update(window=window, webenv=result["webenv"], query_key=result["query_key"],
                         count=result["count"], retstart=0)
        req = self.efetch_request(state)
        page.requests.append(req)
        try:
            resp = self._send(client, req, strategy)
            check_efetch(resp, state)
        except CursorExpired:
            # the History server forgot our WebEnv: search the same window again and carry on
            req = self.esearch_request(strategy, state["window"])
            page.requests.append(req)
            result = parse_esearch(self._send(client, req, strategy), strategy)
            state.update(webenv=result["webenv"], query_key=result["query_key"], count=result["count"])
            req = self.efetch_request(state)
            page.requests.append(req)
            resp = self._send(client, req, strategy)
            check_efetch(resp, state)
        page.build = partial(parse_efetch, resp, dict(state))
        page.size = min(self.batch, state["count"] - state["retstart"])
        page.nbytes = len(resp.body)
        state["retstart"] += self.batch
        if state["retstart"] >= state["count"]:
            state.update(window=None, webenv=None, query_key=None, count=0, retstart=0)
            page.next_state = state if state["pending"] else None
        else:
            page.next_state = state
        return page

    def _send(self, client: HttpClient, req: Request, strategy: Strategy) -> Response:
        resp = client.send(req)
        client.check(req, resp, field=blame(strategy, resp))
        return resp


# -- pure response parsing -------------------------------------------------------------------------------
def _xml(resp: Response, what: str) -> ET.Element:
    try:
        return SafeET.fromstring(resp.body)
    except ET.ParseError as exc:
        head = resp.body.lstrip()[:200].lower()
        kind = "an HTML page" if head.startswith((b"<html", b"<!doctype html")) else "malformed XML"
        raise MalformedResponse(
            f"pubmed: {what} returned {kind} instead of XML ({exc}; {len(resp.body)} bytes). Nothing from "
            "this page was stored; run `synth search run` again to resume from this page."
        ) from exc


def parse_esearch(resp: Response, strategy: Strategy) -> dict[str, Any]:
    """``count``, ``webenv``, ``query_key`` and warnings from an ESearch XML answer; errors raise."""
    root = _xml(resp, "ESearch")
    if root.tag != "eSearchResult":
        raise MalformedResponse(f"pubmed: ESearch returned <{root.tag}>, not <eSearchResult>. Run again "
                                "to resume; if it persists, check SYNTH_PUBMED_URL.")
    error = root.findtext("ERROR")
    if error:
        raise ApiError(f"pubmed rejected the search: {error.strip()}. Query from protocol field "
                       f"{strategy.field}. Fix the query and run again.")
    count = int(root.findtext("Count") or 0)
    phrases = [p.text or "" for p in root.findall("ErrorList/PhraseNotFound")]
    if count == 0 and phrases:
        raise ApiError(f"pubmed: phrase not found: {', '.join(phrases)} (ErrorList/PhraseNotFound), so the "
                       f"search found nothing. Query from protocol field {strategy.field}. Fix the query.")
    warnings = [f"phrase not found: {p}" for p in phrases]
    warnings += [f"{w.tag}: {w.text}" for w in root.findall("WarningList/*") if w.text]
    return {"count": count, "webenv": root.findtext("WebEnv"), "query_key": root.findtext("QueryKey"),
            "translation": root.findtext("QueryTranslation") or "", "warnings": warnings}


def check_efetch(resp: Response, state: dict[str, Any]) -> None:
    """Check an EFetch answer without parsing it all: an ``<ERROR>`` inside HTTP 200 about the History
    server raises :class:`CursorExpired`, any other :class:`ApiError`; HTML or another root element raises
    :class:`MalformedResponse`."""
    where = f"EFetch (records {state['retstart'] + 1}-)"
    error = _ERROR.search(resp.body[:4000])
    if error:
        text = error.group(1).decode("utf-8", "replace").strip()
        if any(w in text.lower() for w in ("webenv", "query_key", "unable to obtain", "history")):
            raise CursorExpired(f"pubmed: {text}")
        raise ApiError(f"pubmed: EFetch failed: {text}. Run again to resume.")
    root = _ROOT.search(resp.body[:4000])
    tag = root.group(1).decode("ascii", "replace") if root else ""
    if tag.lower() == "html":
        raise MalformedResponse(f"pubmed: {where} returned an HTML page instead of XML ({len(resp.body)} "
                                "bytes). Nothing from this page was stored; run again to resume from this page.")
    if tag != "PubmedArticleSet":
        raise MalformedResponse(f"pubmed: {where} returned <{tag or '?'}>, not <PubmedArticleSet>. Nothing "
                                "from this page was stored; run again to resume from this page.")


def parse_efetch(resp: Response, state: dict[str, Any]) -> list[Record]:
    """Records from an EFetch XML answer (parsed once, by the shared PubMed XML mapper)."""
    where = f"EFetch (records {state['retstart'] + 1}-)"
    check_efetch(resp, state)
    try:
        return parse_pubmed_xml(resp.body, source="PubMed")
    except InputError as exc:
        raise MalformedResponse(f"pubmed: {where}: {exc} Nothing from this page was stored; run again to "
                                "resume from this page.") from exc


_ERROR = re.compile(rb"<ERROR>(.*?)</ERROR>", re.S)
_ROOT = re.compile(rb"<(?![?!])([A-Za-z_][\w.:-]*)")


def split_window(window: list[str] | None, strategy: Strategy) -> list[list[str]] | None:
    """Two halves of a publication-date window, or ``None`` when it is a single day."""
    if window is None:
        window = [EARLIEST.isoformat(), dt.date(dt.date.today().year + 1, 12, 31).isoformat()]
    start, end = dt.date.fromisoformat(window[0]), dt.date.fromisoformat(window[1])
    if start >= end:
        return None
    mid = start + (end - start) // 2
    return [[start.isoformat(), mid.isoformat()], [(mid + dt.timedelta(days=1)).isoformat(), end.isoformat()]]
