"""Search runs and pages in the store. Only this module knows how they are laid out in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from synth.secrets import redact_value
from synth.store.events import utc_now
from synth.store.schema import records, search_pages, search_runs

RESUMABLE = ("running", "failed", "interrupted")


def create_run(conn: sa.Connection, **fields: Any) -> int:
    """Insert a run (status ``running``) and return its id."""
    values = redact_value({"started_at": utc_now(), "status": "running", "warnings": [], **fields})
    result = conn.execute(search_runs.insert().values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def get_run(conn: sa.Connection, run_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(search_runs).where(search_runs.c.id == run_id)).one()
    return dict(row._mapping)


def find_run(conn: sa.Connection, source: str, fingerprint: str, *, mode: str,
             statuses: Iterable[str] = RESUMABLE) -> dict[str, Any] | None:
    """The latest run of the same source, strategy and mode with one of ``statuses`` (default: unfinished)."""
    row = conn.execute(
        sa.select(search_runs)
        .where(search_runs.c.source == source, search_runs.c.fingerprint == fingerprint,
               search_runs.c.mode == mode, search_runs.c.status.in_(list(statuses)))
        .order_by(search_runs.c.id.desc())
    ).first()
    return dict(row._mapping) if row is not None else None


def list_runs(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every search run, oldest first (empty when the search tables are absent)."""
    if not sa.inspect(conn).has_table("search_runs"):
        return []
    return [dict(r._mapping) for r in conn.execute(sa.select(search_runs).order_by(search_runs.c.id))]


def run_labels(conn: sa.Connection) -> dict[int, str]:
    """Search run id -> the database label it searched (empty when the search tables are absent)."""
    if not sa.inspect(conn).has_table("search_runs"):
        return {}
    return {int(r.id): str(r.database) for r in conn.execute(sa.select(search_runs.c.id, search_runs.c.database))}


def pages(conn: sa.Connection, run_id: int) -> list[dict[str, Any]]:
    query = sa.select(search_pages).where(search_pages.c.run_id == run_id).order_by(search_pages.c.page)
    return [dict(r._mapping) for r in conn.execute(query)]


def record_page(conn: sa.Connection, run_id: int, *, page: int, requests: list[dict[str, Any]],
                state_before: Any, state_after: Any, retrieved: int, new: int, known: int, linked: int,
                hits: int | None, warnings: list[str]) -> None:
    """Store one page's outcome and advance the run's counters and paging state (same transaction as the
    page's records, so a crash never leaves one without the other)."""
    conn.execute(search_pages.insert().values(
        run_id=run_id, page=page, at=utc_now(), requests=redact_value(requests), state_before=redact_value(state_before),
        state_after=redact_value(state_after), records=retrieved, new=new, known=known))
    run = get_run(conn, run_id)
    values: dict[str, Any] = {
        "state": redact_value(state_after), "pages": page, "retrieved": run["retrieved"] + retrieved,
        "new": run["new"] + new, "known": run["known"] + known, "linked": run["linked"] + linked,
        "requests": run["requests"] + len(requests),
    }
    if hits is not None and run["hits"] is None:
        values["hits"] = hits
    if warnings:
        values["warnings"] = [*run["warnings"], *[w for w in redact_value(warnings) if w not in run["warnings"]]]
    conn.execute(search_runs.update().where(search_runs.c.id == run_id).values(**values))


def update_run(conn: sa.Connection, run_id: int, **values: Any) -> None:
    conn.execute(search_runs.update().where(search_runs.c.id == run_id).values(**redact_value(values)))


def finish_run(conn: sa.Connection, run_id: int, status: str, error: str = "") -> None:
    conn.execute(search_runs.update().where(search_runs.c.id == run_id).values(
        status=status, error=redact_value(error), finished_at=utc_now()))


def stored_ids(conn: sa.Connection, source_label: str, ids: Iterable[str]) -> dict[str, int | None]:
    """For each of ``ids`` already stored for ``source_label``: the search run that stored it first."""
    wanted = [i for i in set(ids) if i]
    found: dict[str, int | None] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = conn.execute(
            sa.select(records.c.source_record_id, sa.func.min(records.c.search_run_id))
            .where(records.c.source == source_label, records.c.source_record_id.in_(chunk))
            .group_by(records.c.source_record_id))
        found.update({r[0]: r[1] for r in rows})
    return found


def linked_count(conn: sa.Connection, source_label: str, ids: Iterable[tuple[str | None, str | None]]) -> int:
    """How many of these works (``(doi, pmid)`` pairs) are already stored from *another* source: the same
    work found in several sources, linked by DOI or PMID (final deduplication is its own stage)."""
    pairs = [(d, p) for d, p in ids if d or p]
    dois = sorted({d for d, _ in pairs if d})
    pmids = sorted({p for _, p in pairs if p})
    if not pairs:
        return 0
    clauses = []
    if dois:
        clauses.append(records.c.doi.in_(dois))
    if pmids:
        clauses.append(records.c.pmid.in_(pmids))
    hit_dois: set[str] = set()
    hit_pmids: set[str] = set()
    for doi, pmid in conn.execute(sa.select(records.c.doi, records.c.pmid)
                                  .where(records.c.source != source_label, sa.or_(*clauses))):
        hit_dois.add(doi)
        hit_pmids.add(pmid)
    return sum(1 for d, p in pairs if (d and d in hit_dois) or (p and p in hit_pmids))
