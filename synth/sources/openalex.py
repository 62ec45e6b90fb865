"""OpenAlex works: ``search=`` plus ``filter=``, cursor paging (``cursor=*`` then ``meta.next_cursor``),
``per_page=100`` (the current documented maximum), ``api_key`` from ``SYNTH_OPENALEX_API_KEY`` and ``mailto``
for the polite pool. Works are mapped by :func:`synth.importers.openalex_json.openalex_work_to_record`, which
rebuilds abstracts from the inverted index.
"""

from __future__ import annotations

from typing import Any

from synth.importers.openalex_json import openalex_work_to_record
from synth.sources.base import Page, Strategy, blame, dated, deferred, load_json
from synth.sources.errors import ApiError
from synth.sources.http import HttpClient, Request
from synth.sources.settings import Settings

PER_PAGE = 100


class OpenAlex:
    name = "openalex"
    label = "OpenAlex"
    kind = "database"
    endpoint = "/works (cursor paging)"

    def __init__(self, settings: Settings, per_page: int = PER_PAGE) -> None:
        self.settings = settings
        self.per_page = per_page

    def filter(self, strategy: Strategy) -> str:
        parts = [strategy.filter] if strategy.filter else []
        if strategy.date_from:
            parts.append(f"from_publication_date:{dated(strategy.date_from)}")
        if strategy.date_to:
            parts.append(f"to_publication_date:{dated(strategy.date_to)}")
        if strategy.languages:
            parts.append("language:" + "|".join(_iso639_1(lang) for lang in strategy.languages))
        return ",".join(parts)

    def request(self, strategy: Strategy, cursor: str, per_page: int | None = None) -> Request:
        params: dict[str, Any] = {"search": strategy.query}
        if self.filter(strategy):
            params["filter"] = self.filter(strategy)
        params.update({"per_page": per_page or self.per_page, "cursor": cursor})
        if self.settings.mailto:
            params["mailto"] = self.settings.mailto
        if self.settings.openalex_api_key:
            params["api_key"] = self.settings.openalex_api_key
        return Request("openalex", "GET", f"{self.settings.base_url('openalex')}/works", params)

    def params(self, settings: Settings, strategy: Strategy) -> dict[str, Any]:
        return dict(self.request(strategy, "*").params)

    def initial_state(self, strategy: Strategy) -> dict[str, Any]:
        return {"cursor": "*"}

    def count(self, client: HttpClient, strategy: Strategy) -> Page:
        req = self.request(strategy, "*", per_page=1)
        data, _ = self._get(client, req, strategy, "first page")
        return Page([], None, hits=int((data.get("meta") or {}).get("count") or 0), requests=[req])

    def fetch(self, client: HttpClient, strategy: Strategy, state: dict[str, Any]) -> Page:
        req = self.request(strategy, state["cursor"])
        data, body = self._get(client, req, strategy, f"page at cursor {state['cursor'][:20]}")
        meta = data.get("meta") or {}
        results = data.get("results") or []
        nxt = meta.get("next_cursor")
        done = not results or not nxt
        return Page([], None if done else {"cursor": nxt},
                    hits=int(meta.get("count") or 0) if state["cursor"] == "*" else None, requests=[req],
                    build=deferred(openalex_work_to_record, body, _results), size=len(results),
                    nbytes=len(body))

    def _get(self, client: HttpClient, req: Request, strategy: Strategy,
             where: str) -> tuple[dict[str, Any], bytes]:
        resp = client.send(req)
        if resp.status == 401:
            raise ApiError("openalex refused the request (HTTP 401): an API key is required. Set "
                           "SYNTH_OPENALEX_API_KEY (free at openalex.org) and run again.", status=401)
        client.check(req, resp, field=blame(strategy, resp))

        data = load_json("openalex", resp, where)
        if not isinstance(data, dict):
            raise ApiError(f"openalex: unexpected answer for {where}. Run again to resume.")
        return data, resp.body


def _results(data: dict[str, Any]) -> list[Any]:
    return list(data.get("results") or [])


_LANG = {"eng": "en", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de", "spa": "es", "ita": "it",
         "por": "pt", "dut": "nl", "nld": "nl", "chi": "zh", "zho": "zh", "jpn": "ja", "rus": "ru"}


def _iso639_1(lang: str) -> str:
    """OpenAlex wants two-letter codes; protocols often use MEDLINE's three-letter ones."""
    return _LANG.get(lang.lower(), lang.lower())
