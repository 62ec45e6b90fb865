"""Running one source's strategy into the store, page by page, resumably.

Each page is stored in **one transaction** together with the paging state that follows it
(:func:`synth.store.searches.record_page`): after a crash, Ctrl-C or network loss, the run is left ``failed``
or ``interrupted`` with the state after its last stored page, and the next ``synth search run`` resumes from
there. Records are keyed by their id in the source (PMID, ``MED:123``, DOI, W-id, NCT id): one already stored
by *this* run (after a cursor restart) is skipped silently, one stored by an earlier run counts as
*already known* and is not inserted again, so no record is lost or duplicated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synth.records.model import Record
from synth.sources.base import Page, Source, Strategy
from synth.sources.clinicaltrials import ClinicalTrials
from synth.sources.crossref import Crossref
from synth.sources.errors import CursorExpired, MalformedResponse, SearchError
from synth.sources.europepmc import EuropePMC
from synth.sources.http import HttpClient
from synth.sources.openalex import OpenAlex
from synth.sources.pubmed import PubMed
from synth.sources.ratelimit import RATES, RateLimiter
from synth.sources.settings import Settings, redact
from synth.store import Store
from synth.store import searches as db
from synth.store.events import EventKind, append, utc_now
from synth.store.records import insert_records

SOURCE_CLASSES: dict[str, Callable[[Settings], Source]] = {
    "pubmed": PubMed,
    "europepmc": EuropePMC,
    "openalex": OpenAlex,
    "crossref": Crossref,
    "clinicaltrials": ClinicalTrials,
}
MAX_PAGE_RETRIES = 2
MAX_RESTARTS = 3

Progress = Callable[[str, int, int | None], None]


def make_source(name: str, settings: Settings) -> Source:
    return SOURCE_CLASSES[name](settings)


def default_limiters(settings: Settings) -> dict[str, RateLimiter]:
    """One limiter per source at its permitted rate (NCBI 10/s with a key, Crossref 1/s without mailto)."""
    rates = {
        "pubmed": RATES["pubmed_key"] if settings.ncbi_api_key else RATES["pubmed"],
        "europepmc": RATES["europepmc"],
        "openalex": RATES["openalex"],
        "crossref": RATES["crossref"] if settings.mailto else RATES["crossref_public"],
        "clinicaltrials": RATES["clinicaltrials"],
    }
    return {name: RateLimiter(rate) for name, rate in rates.items()}


def fingerprint(source: str, strategy: Strategy, params: dict[str, Any]) -> str:
    payload = json.dumps({"source": source, "query": strategy.query, "limits": strategy.limits(),
                          "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class RunResult:
    run_id: int
    source: str
    status: str
    hits: int | None
    retrieved: int
    new: int
    known: int
    pages: int
    requests: int
    resumed: bool = False
    skipped: bool = False


def _result(row: dict[str, Any], *, resumed: bool = False, skipped: bool = False) -> RunResult:
    return RunResult(row["id"], row["source"], row["status"], row["hits"], row["retrieved"], row["new"],
                     row["known"], row["pages"], row["requests"], resumed, skipped)


def run_source(store: Store, client: HttpClient, source: Source, strategy: Strategy, *, mode: str = "run",
               progress: Progress | None = None) -> RunResult:
    """Search one source completely (or up to ``strategy.max_records``), resuming an unfinished run of the
    same strategy. ``mode="run"`` skips a strategy already searched completely; ``mode="update"`` searches
    again and adds only records not seen before."""
    settings = client.settings
    params = redact(source.params(settings, strategy), settings.secrets)
    fp = fingerprint(source.name, strategy, params)
    with store.begin() as conn:
        run = db.find_run(conn, source.name, fp, mode=mode)
        resumed = run is not None
        if run is None and mode == "run":
            done = db.find_run(conn, source.name, fp, mode=mode, statuses=("complete", "limited"))
            if done is not None:
                return _result(done, skipped=True)
        if run is None:
            run_id = db.create_run(conn, source=source.name, database=source.label, kind=source.kind, mode=mode,
                                   endpoint=f"{settings.base_url(source.name)} {source.endpoint}",
                                   query=strategy.query, limits=strategy.limits(), params=params,
                                   fingerprint=fp, state=source.initial_state(strategy))
            run = db.get_run(conn, run_id)
        else:
            db.update_run(conn, run["id"], status="running", error="")
    run_id = run["id"]
    state: dict[str, Any] | None = run["state"]
    page_no, retrieved = int(run["pages"]), int(run["retrieved"])
    restarts = 0
    try:
        while state is not None:
            if strategy.max_records is not None and retrieved >= strategy.max_records:
                break
            try:
                page = _fetch(client, source, strategy, state)
            except CursorExpired:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise SearchError(f"{source.name}: the paging cursor expired {restarts} times in a row. "
                                      "Run `synth search run` again to resume.") from None
                state = source.initial_state(strategy)
                continue
            records = page.records
            if strategy.max_records is not None:
                records = records[: strategy.max_records - retrieved]
            page_no += 1
            with store.begin() as conn:
                counted = _store_page(conn, run_id, source, page, records, state, page_no,
                                      settings.secrets, limited=len(records) < len(page.records))
            retrieved += counted
            state = page.next_state if len(records) == len(page.records) else None
            if progress is not None:
                progress(source.name, retrieved, page.hits)
        status = "limited" if (strategy.max_records is not None and retrieved >= strategy.max_records
                               and state is not None) else "complete"
        with store.begin() as conn:
            db.finish_run(conn, run_id, status)
            row = db.get_run(conn, run_id)
            append(conn, EventKind.SEARCH_RUN, {
                "run_id": run_id, "source": source.name, "database": source.label, "kind": source.kind,
                "mode": mode, "status": status, "hits": row["hits"], "retrieved": row["retrieved"],
                "new": row["new"], "known": row["known"]}, subject=source.name)
        return _result(row, resumed=resumed)
    except KeyboardInterrupt:
        with store.begin() as conn:
            db.finish_run(conn, run_id, "interrupted", "interrupted (Ctrl-C)")
        raise
    except SearchError as exc:
        with store.begin() as conn:
            db.finish_run(conn, run_id, "failed", str(exc))
        raise


def _fetch(client: HttpClient, source: Source, strategy: Strategy, state: dict[str, Any]) -> Page:
    """One page; a malformed body (truncated, HTML) is fetched again, bypassing the cache, before giving up."""
    for attempt in range(MAX_PAGE_RETRIES + 1):
        client.refresh = attempt > 0
        try:
            return source.fetch(client, strategy, state)
        except MalformedResponse:
            if attempt == MAX_PAGE_RETRIES:
                raise
        finally:
            client.refresh = False
    raise AssertionError("unreachable")


def _store_page(conn: Any, run_id: int, source: Source, page: Page, records: list[Record],
                state: dict[str, Any], page_no: int, secrets: tuple[str, ...], *, limited: bool) -> int:
    ids = [r.provenance.source_record_id for r in records]
    stored = db.stored_ids(conn, records[0].provenance.source if records else "", ids)
    fresh: list[Record] = []
    known = 0
    seen: set[str] = set()
    now = utc_now()
    for record in records:
        rid = record.provenance.source_record_id
        if rid and (rid in seen or (rid in stored and stored[rid] == run_id)):
            continue  # already stored by this run (cursor restart) or repeated within the page
        seen.add(rid)
        if rid and rid in stored:
            known += 1
            continue
        record.provenance.search_run_id = run_id
        record.provenance.imported_at = now
        fresh.append(record)
    linked = db.linked_count(conn, records[0].provenance.source if records else "",
                             [(r.doi, r.pmid) for r in fresh])
    inserted = insert_records(conn, fresh, source_kind=source.kind)
    known += inserted.already_known
    counted = len(inserted.inserted_ids) + known
    db.record_page(conn, run_id, page=page_no, requests=[r.redacted(secrets) for r in page.requests],
                   state_before=state, state_after=None if limited else page.next_state, retrieved=counted,
                   new=len(inserted.inserted_ids), known=known, linked=linked, hits=page.hits,
                   warnings=page.warnings)
    return counted
