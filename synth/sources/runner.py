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
import queue
import sys
import threading
from collections.abc import Callable, Iterator
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
    attempts: dict[str, int] = {}
    limit = strategy.max_records
    try:
        while state is not None and not (limit is not None and retrieved >= limit):
            key = json.dumps(state, sort_keys=True, default=str)
            prefetch = _Prefetch(client, source, strategy, state, None if limit is None else limit - retrieved,
                                 refresh_first=attempts.get(key, 0) > 0)
            try:
                for before, page, exc in prefetch:
                    try:
                        if exc is not None:
                            raise exc
                        if page is None:  # the fetcher stopped: end of results or record budget reached
                            state = before
                            break
                        records = page.materialise()
                    except CursorExpired:
                        restarts += 1
                        if restarts > MAX_RESTARTS:
                            raise SearchError(f"{source.name}: the paging cursor expired {restarts} times during "
                                              "this run. Run `synth search run` again to resume.") from None
                        state = source.initial_state(strategy)
                        break
                    except MalformedResponse:
                        key = json.dumps(before, sort_keys=True, default=str)
                        attempts[key] = attempts.get(key, 0) + 1
                        if attempts[key] > MAX_PAGE_RETRIES:
                            raise
                        state = before
                        break
                    if limit is not None:
                        records = records[: limit - retrieved]
                    page_no += 1
                    with store.begin() as conn:
                        retrieved += _store_page(conn, run_id, source, page, records, before, page_no,
                                                 settings.secrets)
                    state = page.next_state
                    if progress is not None:
                        progress(source.name, retrieved, page.hits)
                    if limit is not None and retrieved >= limit:
                        break
            finally:
                prefetch.close()
        status = "limited" if state is not None else "complete"
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


_Item = tuple[dict[str, Any] | None, Page | None, BaseException | None]


class _Prefetch:
    """Fetches pages in a background thread (a bounded number of pages ahead) while the caller parses and
    stores earlier ones, so the API is used at its permitted rate even when parsing is slower, and cursors
    are used long before they expire. Yields ``(state_before, page, error)``; a final ``(state, None, None)``
    says where fetching stopped. Waiting pages hold only their raw bodies; the buffer is bounded by
    :data:`AHEAD_BYTES` (and :data:`AHEAD_PAGES`)."""

    AHEAD_PAGES = 256
    AHEAD_BYTES = 256 * 1024 * 1024

    def __init__(self, client: HttpClient, source: Source, strategy: Strategy, state: dict[str, Any],
                 budget: int | None, *, refresh_first: bool) -> None:
        self.client, self.source, self.strategy = client, source, strategy
        self.state, self.budget, self.refresh_first = state, budget, refresh_first
        self.queue: queue.Queue[_Item] = queue.Queue(maxsize=self.AHEAD_PAGES)
        self.stop = threading.Event()
        self.buffered = 0  # bytes of pages fetched but not yet taken by the consumer
        self.room = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=f"fetch-{source.name}", daemon=True)
        # the fetch thread mostly waits on sockets; hand it the GIL promptly when a response arrives instead of
        # after the default 5 ms, so parsing in this thread does not slow the request rate
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, 0.0005))
        self.thread.start()

    def _put(self, item: _Item) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        state: dict[str, Any] | None = self.state
        fetched, first = 0, True
        try:
            while state is not None and not self.stop.is_set():
                if self.budget is not None and fetched >= self.budget:
                    break
                self.client.refresh = first and self.refresh_first
                try:
                    page = self.source.fetch(self.client, self.strategy, state)
                finally:
                    self.client.refresh = False
                first = False
                fetched += page.size
                with self.room:
                    self.buffered += page.nbytes
                    while self.buffered > self.AHEAD_BYTES and not self.stop.is_set():
                        self.room.wait(timeout=0.1)
                self._put((state, page, None))
                state = page.next_state
            self._put((state, None, None))
        except BaseException as exc:  # handed to the consumer, which decides
            self._put((state, None, exc))

    def __iter__(self) -> Iterator[_Item]:
        while True:
            item = self.queue.get()
            if item[1] is not None:
                with self.room:
                    self.buffered -= item[1].nbytes
                    self.room.notify_all()
            yield item
            if item[1] is None:
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        sys.setswitchinterval(self._interval)


def _store_page(conn: Any, run_id: int, source: Source, page: Page, records: list[Record],
                state: dict[str, Any] | None, page_no: int, secrets: tuple[str, ...]) -> int:
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
                   state_before=state, state_after=page.next_state, retrieved=counted,
                   new=len(inserted.inserted_ids), known=known, linked=linked, hits=page.hits,
                   warnings=page.warnings)
    return counted
