"""ClinicalTrials.gov API v2 ``/studies``: ``query.term`` (Essie syntax), ``pageSize=1000`` and
``pageToken`` paging (``nextPageToken`` is absent on the last page), ``countTotal=true`` on the first page.
Its records are trial-register records (PRISMA 2020 counts them under *registers*); the PMIDs of linked
result publications stay in ``raw`` (``referencesModule``) and are not copied to ``pmid``, so deduplication
never merges a registration with its journal article.

The protocol's ``filter`` is a list of API parameters, ``filter.overallStatus=COMPLETED&filter.advanced=...``;
date limits become ``AREA[StudyFirstPostDate]RANGE[from, to]`` in ``filter.advanced``.
"""

from __future__ import annotations

from typing import Any

from synth.importers.common import clean, parse_author, parse_year
from synth.records.model import Author, Provenance, Record
from synth.sources.base import Page, Strategy, blame, dated, deferred, filter_pairs, load_json
from synth.sources.errors import ApiError
from synth.sources.http import HttpClient, Request
from synth.sources.settings import Settings

PAGE_SIZE = 1000


class ClinicalTrials:
    name = "clinicaltrials"
    label = "ClinicalTrials.gov"
    kind = "register"
    endpoint = "/studies (API v2, pageToken)"

    def __init__(self, settings: Settings, page_size: int = PAGE_SIZE) -> None:
        self.settings = settings
        self.page_size = page_size

    def request(self, strategy: Strategy, token: str | None, page_size: int | None = None) -> Request:
        params: dict[str, Any] = {"query.term": strategy.query}
        pairs = dict(filter_pairs(strategy.filter)) if strategy.filter else {}
        if strategy.date_from or strategy.date_to:
            area = (f"AREA[StudyFirstPostDate]RANGE[{dated(strategy.date_from) or 'MIN'}, "
                    f"{dated(strategy.date_to) or 'MAX'}]")
            pairs["filter.advanced"] = f"({pairs['filter.advanced']}) AND {area}" if pairs.get(
                "filter.advanced") else area
        params.update(pairs)
        params.update({"pageSize": page_size or self.page_size, "format": "json"})
        if token:
            params["pageToken"] = token
        else:
            params["countTotal"] = "true"
        return Request("clinicaltrials", "GET", f"{self.settings.base_url('clinicaltrials')}/studies", params)

    def params(self, settings: Settings, strategy: Strategy) -> dict[str, Any]:
        return dict(self.request(strategy, None).params)

    def initial_state(self, strategy: Strategy) -> dict[str, Any]:
        return {"token": None}

    def count(self, client: HttpClient, strategy: Strategy) -> Page:
        req = self.request(strategy, None, page_size=1)
        data, _ = self._get(client, req, strategy, "first page")
        return Page([], None, hits=int(data.get("totalCount") or 0), requests=[req])

    def fetch(self, client: HttpClient, strategy: Strategy, state: dict[str, Any]) -> Page:
        req = self.request(strategy, state["token"])
        data, body = self._get(client, req, strategy, f"page token {state['token'] or '(first)'}")
        studies = data.get("studies") or []
        nxt = data.get("nextPageToken")
        return Page([], {"token": nxt} if nxt and studies else None,
                    hits=int(data.get("totalCount") or 0) if state["token"] is None else None, requests=[req],
                    build=deferred(study_to_record, body, _studies), size=len(studies),
                    nbytes=len(body))

    def _get(self, client: HttpClient, req: Request, strategy: Strategy,
             where: str) -> tuple[dict[str, Any], bytes]:
        resp = client.send(req)
        client.check(req, resp, field=blame(strategy, resp))
        data = load_json("clinicaltrials", resp, where)
        if not isinstance(data, dict):
            raise ApiError(f"clinicaltrials: unexpected answer for {where}. Run again to resume.")
        return data, resp.body


def _studies(data: dict[str, Any]) -> list[Any]:
    return list(data.get("studies") or [])


def study_to_record(study: dict[str, Any]) -> Record:
    """One ClinicalTrials.gov v2 study as a register :class:`Record`; the study is kept in ``raw``."""
    proto = study.get("protocolSection") or {}
    ident = proto.get("identificationModule") or {}
    status = proto.get("statusModule") or {}
    desc = proto.get("descriptionModule") or {}
    design = proto.get("designModule") or {}
    sponsor = ((proto.get("sponsorCollaboratorsModule") or {}).get("leadSponsor") or {}).get("name") or ""
    nct = str(ident.get("nctId") or "")
    authors: list[Author] = []
    for official in (proto.get("contactsLocationsModule") or {}).get("overallOfficials") or []:
        parsed = parse_author(str(official.get("name") or ""))
        if parsed:
            authors.append(parsed)
    if not authors and sponsor:
        authors.append(Author(corporate=clean(sponsor)))
    date = ((status.get("startDateStruct") or {}).get("date") or
            (status.get("studyFirstPostDateStruct") or {}).get("date") or "")
    return Record(
        title=clean(ident.get("officialTitle") or ident.get("briefTitle") or ""),
        abstract=clean(desc.get("briefSummary") or ""),
        authors=authors,
        year=parse_year(str(date)),
        journal="ClinicalTrials.gov",
        keywords=[clean(c) for c in (proto.get("conditionsModule") or {}).get("conditions") or []],
        publication_type="; ".join(filter(None, [str(design.get("studyType") or ""),
                                                  *[str(p) for p in design.get("phases") or []]])),
        url=f"https://clinicaltrials.gov/study/{nct}" if nct else "",
        provenance=Provenance(source="ClinicalTrials.gov", source_record_id=nct),
        raw=study,
    )
