"""Crossref works: ``query=`` plus ``filter=``, deep cursor paging (``cursor=*`` then ``next-cursor``),
``rows=1000`` (the maximum), ``select`` to trim the payload, ``mailto`` for the polite pool.

Crossref cursors expire after about five minutes unused: a page answered with 404 ``cursor-invalid`` (or a
resumed run whose cursor is older than :data:`CURSOR_TTL`) raises :class:`CursorExpired`, and the runner
restarts paging from ``*``, skipping records this run already stored.
"""

from __future__ import annotations

import re
import time
from typing import Any

from synth.importers.common import clean, normalise_doi, parse_year, split_issns, unique
from synth.records.model import Author, Provenance, Record
from synth.sources.base import Page, Strategy, blame, dated, deferred, load_json
from synth.sources.errors import ApiError, CursorExpired
from synth.sources.http import HttpClient, Request
from synth.sources.settings import Settings

ROWS = 1000
CURSOR_TTL = 240.0  # seconds; Crossref forgets cursors after ~5 min
SELECT = ("DOI,title,subtitle,author,issued,published,published-print,published-online,container-title,"
          "short-container-title,ISSN,volume,issue,page,type,language,abstract,URL,subject")
_TAGS = re.compile(r"<[^>]+>")


class Crossref:
    name = "crossref"
    label = "Crossref"
    kind = "database"
    endpoint = "/works (cursor paging)"

    def __init__(self, settings: Settings, rows: int = ROWS, clock: Any = time.time) -> None:
        self.settings = settings
        self.rows = rows
        self.clock = clock

    def filter(self, strategy: Strategy) -> str:
        parts = [strategy.filter] if strategy.filter else []
        if strategy.date_from:
            parts.append(f"from-pub-date:{dated(strategy.date_from)}")
        if strategy.date_to:
            parts.append(f"until-pub-date:{dated(strategy.date_to)}")
        return ",".join(parts)

    def request(self, strategy: Strategy, cursor: str, rows: int | None = None) -> Request:
        params: dict[str, Any] = {"query": strategy.query}
        if self.filter(strategy):
            params["filter"] = self.filter(strategy)
        params.update({"rows": rows or self.rows, "cursor": cursor, "select": SELECT})
        if self.settings.mailto:
            params["mailto"] = self.settings.mailto
        return Request("crossref", "GET", f"{self.settings.base_url('crossref')}/works", params)

    def params(self, settings: Settings, strategy: Strategy) -> dict[str, Any]:
        return dict(self.request(strategy, "*").params)

    def initial_state(self, strategy: Strategy) -> dict[str, Any]:
        return {"cursor": "*", "seen": 0, "at": self.clock()}

    def count(self, client: HttpClient, strategy: Strategy) -> Page:
        req = self.request(strategy, "*", rows=0)
        message, _ = self._get(client, req, strategy, "first page")
        return Page([], None, hits=int(message.get("total-results") or 0), requests=[req])

    def fetch(self, client: HttpClient, strategy: Strategy, state: dict[str, Any]) -> Page:
        if state["cursor"] != "*" and self.clock() - float(state.get("at", 0)) > CURSOR_TTL:
            raise CursorExpired("crossref: the stored cursor is older than Crossref keeps cursors")
        req = self.request(strategy, state["cursor"])
        message, body = self._get(client, req, strategy, f"page after {state['seen']} records")
        items = message.get("items") or []
        total = int(message.get("total-results") or 0)
        seen = state["seen"] + len(items)
        nxt = message.get("next-cursor")
        done = not items or not nxt or len(items) < self.rows or seen >= total
        return Page([],
                    None if done else {"cursor": nxt, "seen": seen, "at": self.clock()},
                    hits=total if state["cursor"] == "*" else None, requests=[req],
                    build=deferred(item_to_record, body, _items), size=len(items),
                    nbytes=len(body))

    def _get(self, client: HttpClient, req: Request, strategy: Strategy,
             where: str) -> tuple[dict[str, Any], bytes]:
        resp = client.send(req)
        if resp.status == 404 and b"cursor" in resp.body[:400]:
            raise CursorExpired(f"crossref: {resp.text()[:200]}")
        client.check(req, resp, field=blame(strategy, resp))
        data = load_json("crossref", resp, where)
        message = data.get("message") if isinstance(data, dict) else None
        if not isinstance(message, dict):
            raise ApiError(f"crossref: unexpected answer for {where} (no 'message'). Run again to resume.")
        return message, resp.body


def _items(data: dict[str, Any]) -> list[Any]:
    return list((data.get("message") or {}).get("items") or [])


def _date_year(item: dict[str, Any]) -> int | None:
    for key in ("issued", "published", "published-print", "published-online"):
        parts = (item.get(key) or {}).get("date-parts") or []
        if parts and parts[0] and parts[0][0]:
            try:
                return int(parts[0][0])
            except (TypeError, ValueError):
                continue
    return None


def item_to_record(item: dict[str, Any]) -> Record:
    """One Crossref work as a :class:`Record` (JATS abstract flattened to text); the item is kept in ``raw``."""
    authors: list[Author] = []
    for a in item.get("author") or []:
        if a.get("family"):
            authors.append(Author(family=clean(a["family"]), given=clean(a.get("given") or "")))
        elif a.get("name"):
            authors.append(Author(corporate=clean(a["name"])))
    title = clean(" ".join(item.get("title") or []))
    subtitle = clean(" ".join(item.get("subtitle") or []))
    abstract = str(item.get("abstract") or "")
    abstract = re.sub(r"<jats:title>(.*?)</jats:title>", r"\1: ", abstract)
    doi = normalise_doi(item.get("DOI"))
    return Record(
        title=f"{title}: {subtitle}" if subtitle and subtitle.lower() not in title.lower() else title,
        abstract=clean(_TAGS.sub(" ", abstract)).replace(" : ", ": "),
        authors=authors,
        year=_date_year(item) or parse_year(str(item.get("created", ""))),
        journal=clean((item.get("container-title") or [""])[0]),
        volume=str(item.get("volume") or ""),
        issue=str(item.get("issue") or ""),
        pages=str(item.get("page") or ""),
        doi=doi,
        issns=split_issns(item.get("ISSN") or []),
        keywords=unique(item.get("subject") or []),
        language=str(item.get("language") or ""),
        publication_type=str(item.get("type") or ""),
        url=str(item.get("URL") or (f"https://doi.org/{doi}" if doi else "")),
        provenance=Provenance(source="Crossref", source_record_id=doi or ""),
        raw=item,
    )
