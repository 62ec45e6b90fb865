"""Europe PMC REST search: ``cursorMark`` paging, ``pageSize=1000``, ``resultType=core`` (abstracts, full
author lists, MeSH, keywords). Long queries go to ``searchPOST``. The end of the set is reached when
``nextCursorMark`` is absent or stops changing. ``synonym`` is left at the REST default (off), so counts can
differ from the website's (which expands MeSH synonyms).
"""

from __future__ import annotations

import re
from typing import Any

from synth.importers.common import (
    clean,
    normalise_doi,
    normalise_pmcid,
    normalise_pmid,
    parse_author,
    parse_year,
    split_issns,
    unique,
)
from synth.records.model import Author, Provenance, Record
from synth.sources.base import Page, Strategy, blame, dated, deferred, load_json
from synth.sources.errors import ApiError
from synth.sources.http import HttpClient, Request
from synth.sources.settings import Settings

PAGE_SIZE = 1000
POST_OVER = 1500
_TAGS = re.compile(r"<[^>]+>")


class EuropePMC:
    name = "europepmc"
    label = "Europe PMC"
    kind = "database"
    endpoint = "search (REST, cursorMark)"

    def __init__(self, settings: Settings, page_size: int = PAGE_SIZE) -> None:
        self.settings = settings
        self.page_size = page_size

    def query(self, strategy: Strategy) -> str:
        parts = [f"({strategy.query})" if (strategy.filter or strategy.languages or strategy.date_from
                                           or strategy.date_to) else strategy.query]
        if strategy.filter:
            parts.append(f"({strategy.filter})")
        if strategy.date_from or strategy.date_to:
            parts.append(f"FIRST_PDATE:[{dated(strategy.date_from) or '1000-01-01'} TO "
                         f"{dated(strategy.date_to) or '3000-12-31'}]")
        if strategy.languages:
            parts.append("(" + " OR ".join(f"LANG:{lang}" for lang in strategy.languages) + ")")
        return " AND ".join(parts)

    def request(self, strategy: Strategy, cursor: str, page_size: int | None = None) -> Request:
        params: dict[str, Any] = {"query": self.query(strategy), "resultType": "core",
                                  "pageSize": page_size or self.page_size, "cursorMark": cursor,
                                  "format": "json"}
        if self.settings.mailto:
            params["email"] = self.settings.mailto
        base = self.settings.base_url("europepmc")
        if len(params["query"]) > POST_OVER:
            return Request("europepmc", "POST", f"{base}/searchPOST", {}, params)
        return Request("europepmc", "GET", f"{base}/search", params)

    def params(self, settings: Settings, strategy: Strategy) -> dict[str, Any]:
        req = self.request(strategy, "*")
        return dict(req.data if req.data is not None else req.params)

    def initial_state(self, strategy: Strategy) -> dict[str, Any]:
        return {"cursor": "*"}

    def count(self, client: HttpClient, strategy: Strategy) -> Page:
        req = self.request(strategy, "*", page_size=1)
        data, _ = self._get(client, req, strategy, "first page")
        return Page([], None, hits=int(data.get("hitCount") or 0), requests=[req])

    def fetch(self, client: HttpClient, strategy: Strategy, state: dict[str, Any]) -> Page:
        req = self.request(strategy, state["cursor"])
        data, body = self._get(client, req, strategy, f"page at cursorMark {state['cursor']}")
        results = (data.get("resultList") or {}).get("result") or []
        nxt = data.get("nextCursorMark")
        done = not results or not nxt or nxt == state["cursor"]
        return Page([], None if done else {"cursor": nxt},
                    hits=int(data.get("hitCount") or 0) if state["cursor"] == "*" else None, requests=[req],
                    build=deferred(result_to_record, body, _results), size=len(results),
                    nbytes=len(body))

    def _get(self, client: HttpClient, req: Request, strategy: Strategy,
             where: str) -> tuple[dict[str, Any], bytes]:
        resp = client.send(req)
        client.check(req, resp, field=blame(strategy, resp))
        if resp.body.lstrip().startswith(b"<") and b"errorBean" in resp.body[:500]:
            msg = re.search(rb"<errMsg>(.*?)</errMsg>", resp.body, re.S)
            raise ApiError(f"europepmc rejected the search: {(msg.group(1) if msg else b'').decode()}. Query "
                           f"from protocol field {strategy.field}.")
        data = load_json("europepmc", resp, where)
        if not isinstance(data, dict):
            raise ApiError(f"europepmc: unexpected answer for {where}. Run again to resume.")
        return data, resp.body


def _results(data: dict[str, Any]) -> list[Any]:
    return list((data.get("resultList") or {}).get("result") or [])


def _authors(result: dict[str, Any]) -> list[Author]:
    listed = ((result.get("authorList") or {}).get("author")) or []
    authors: list[Author] = []
    for a in listed:
        if a.get("collectiveName"):
            authors.append(Author(corporate=clean(a["collectiveName"])))
        elif a.get("lastName"):
            authors.append(Author(family=clean(a["lastName"]), given=clean(a.get("firstName") or
                                                                          a.get("initials") or "")))
        elif a.get("fullName"):
            parsed = parse_author(a["fullName"])
            if parsed:
                authors.append(parsed)
    if not authors and result.get("authorString"):
        for name in str(result["authorString"]).rstrip(".").split(","):
            parsed = parse_author(name)
            if parsed:
                authors.append(parsed)
    return authors


def result_to_record(result: dict[str, Any]) -> Record:
    """One Europe PMC search result (``core`` or ``lite``) as a :class:`Record`; the result is kept in ``raw``."""
    journal_info = result.get("journalInfo") or {}
    journal = journal_info.get("journal") or {}
    pub_types = (result.get("pubTypeList") or {}).get("pubType") or []
    if not pub_types and result.get("pubType"):
        pub_types = [t.strip() for t in str(result["pubType"]).split(";")]
    keywords = list((result.get("keywordList") or {}).get("keyword") or [])
    for heading in (result.get("meshHeadingList") or {}).get("meshHeading") or []:
        if heading.get("descriptorName"):
            keywords.append(heading["descriptorName"])
    source, ident = str(result.get("source") or ""), str(result.get("id") or "")
    abstract = re.sub(r"<h\d>(.*?)</h\d>", r" \1: ", str(result.get("abstractText") or ""))
    abstract = clean(_TAGS.sub(" ", abstract)).replace(" : ", ": ")
    return Record(
        title=clean(_TAGS.sub("", str(result.get("title") or ""))).rstrip(),
        abstract=abstract,
        authors=_authors(result),
        year=parse_year(str(result.get("pubYear") or journal_info.get("yearOfPublication") or "")),
        journal=clean(journal.get("title") or result.get("journalTitle") or ""),
        volume=str(journal_info.get("volume") or result.get("journalVolume") or ""),
        issue=str(journal_info.get("issue") or result.get("issue") or ""),
        pages=str(result.get("pageInfo") or ""),
        doi=normalise_doi(result.get("doi")),
        pmid=normalise_pmid(result.get("pmid")),
        pmcid=normalise_pmcid(result.get("pmcid")),
        issns=split_issns([journal.get("issn") or "", journal.get("essn") or "", result.get("journalIssn") or ""]),
        keywords=unique(keywords),
        language=str(result.get("language") or ""),
        publication_type="; ".join(unique(pub_types)),
        url=f"https://europepmc.org/article/{source}/{ident}" if source and ident else "",
        provenance=Provenance(source="Europe PMC", source_record_id=f"{source}:{ident}" if source else ident),
        raw=result,
    )
