"""Deduplication state in SQL: cluster assignments on ``records``, the links of the last run (``dedup_links``),
and people's decisions on pairs (``dedup_decisions``). Only this module knows the layout.

Nothing is ever deleted from ``records``: dedup sets ``cluster_id`` (the smallest record id in the cluster)
and ``duplicate_of`` (the cluster's representative, NULL for representatives and singletons).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from synth.records.model import Author, Provenance, Record
from synth.store.events import EventKind, append, utc_now
from synth.store.schema import dedup_decisions, dedup_links, records

_BATCH = 5000


@dataclass
class LinkRow:
    """One stored link: a match that joined two clusters, or a maybe pair left for a person."""

    record_a: int
    record_b: int
    kind: str
    rule: str
    score: float
    detail: dict[str, Any]


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def iter_linkage_records(conn: sa.Connection) -> Iterator[tuple[int, Record]]:
    """``(id, record)`` with only the fields linkage uses, in id order: no raw record, and only the first 20
    characters of the abstract (linkage needs to know whether there is one). Several times faster than
    :func:`synth.store.records.iter_records` on large stores."""
    c = records.c
    query = sa.select(
        c.id, c.title, c.authors, c.year, c.journal, c.volume, c.issue, c.pages, c.doi, c.pmid, c.pmcid,
        c.openalex_id, c.publication_type, c.source, sa.func.substr(c.abstract, 1, 20).label("abstract_head"),
    ).order_by(c.id)
    for r in conn.execute(query):
        yield int(r.id), Record(
            title=r.title, abstract=r.abstract_head or "",
            authors=[Author(a.get("family", ""), a.get("given", ""), a.get("corporate", "")) for a in r.authors],
            year=r.year, journal=r.journal, volume=r.volume, issue=r.issue, pages=r.pages, doi=r.doi,
            pmid=r.pmid, pmcid=r.pmcid, openalex_id=r.openalex_id, publication_type=r.publication_type,
            provenance=Provenance(source=r.source),
        )


def current_assignments(conn: sa.Connection) -> dict[int, tuple[int | None, int | None]]:
    """``record id -> (cluster_id, duplicate_of)`` for every record."""
    rows = conn.execute(sa.select(records.c.id, records.c.cluster_id, records.c.duplicate_of))
    return {int(r.id): (r.cluster_id, r.duplicate_of) for r in rows}


def write_assignments(conn: sa.Connection, wanted: Mapping[int, tuple[int | None, int | None]]) -> int:
    """Set ``cluster_id``/``duplicate_of`` where they differ from ``wanted``; return how many records changed."""
    current = current_assignments(conn)
    changed = [
        {"rid": rid, "cid": cid, "dup": dup}
        for rid, (cid, dup) in wanted.items()
        if rid in current and current[rid] != (cid, dup)
    ]
    stmt = (
        records.update()
        .where(records.c.id == sa.bindparam("rid"))
        .values(cluster_id=sa.bindparam("cid"), duplicate_of=sa.bindparam("dup"))
    )
    for start in range(0, len(changed), _BATCH):
        conn.execute(stmt, changed[start : start + _BATCH])
    return len(changed)


def replace_links(conn: sa.Connection, links: Iterable[LinkRow]) -> int:
    """Replace the stored links of the previous run by ``links``."""
    conn.execute(dedup_links.delete())
    rows = [
        {"record_a": lk.record_a, "record_b": lk.record_b, "kind": lk.kind, "rule": lk.rule,
         "score": lk.score, "detail": lk.detail}
        for lk in links
    ]
    for start in range(0, len(rows), _BATCH):
        conn.execute(dedup_links.insert(), rows[start : start + _BATCH])
    return len(rows)


def links_for(conn: sa.Connection, record_ids: Iterable[int], kind: str | None = None) -> list[LinkRow]:
    """Stored links touching any of ``record_ids``."""
    ids = list(record_ids)
    query = sa.select(dedup_links).where(
        sa.or_(dedup_links.c.record_a.in_(ids), dedup_links.c.record_b.in_(ids))
    ).order_by(dedup_links.c.id)
    if kind is not None:
        query = query.where(dedup_links.c.kind == kind)
    return [LinkRow(r.record_a, r.record_b, r.kind, r.rule, r.score, r.detail) for r in conn.execute(query)]


def maybe_links(conn: sa.Connection) -> list[LinkRow]:
    """Maybe pairs of the last run that nobody has decided yet, best first."""
    decided = set(load_decisions(conn))
    query = sa.select(dedup_links).where(dedup_links.c.kind == "maybe").order_by(
        dedup_links.c.score.desc(), dedup_links.c.record_a, dedup_links.c.record_b
    )
    return [
        LinkRow(r.record_a, r.record_b, r.kind, r.rule, r.score, r.detail)
        for r in conn.execute(query)
        if pair(r.record_a, r.record_b) not in decided
    ]


def load_decisions(conn: sa.Connection) -> dict[tuple[int, int], str]:
    """People's decisions: ``(a, b) -> "same" | "different"`` with ``a < b``."""
    rows = conn.execute(sa.select(dedup_decisions.c.record_a, dedup_decisions.c.record_b,
                                  dedup_decisions.c.decision))
    return {pair(r.record_a, r.record_b): r.decision for r in rows}


def set_decision(conn: sa.Connection, a: int, b: int, decision: str, *, actor: str = "") -> None:
    """Record (or replace) a person's decision on the pair."""
    x, y = pair(a, b)
    conn.execute(dedup_decisions.delete().where(
        (dedup_decisions.c.record_a == x) & (dedup_decisions.c.record_b == y)))
    conn.execute(dedup_decisions.insert().values(record_a=x, record_b=y, decision=decision, at=utc_now(),
                                                 actor=actor))


def remove_decision(conn: sa.Connection, a: int, b: int) -> bool:
    """Forget a decision (undo); True if there was one."""
    x, y = pair(a, b)
    result = conn.execute(dedup_decisions.delete().where(
        (dedup_decisions.c.record_a == x) & (dedup_decisions.c.record_b == y)))
    return bool(result.rowcount)


def cluster_of(conn: sa.Connection, record_id: int) -> list[int]:
    """Ids of the records in the same cluster as ``record_id`` (itself included), in id order."""
    cid = conn.execute(sa.select(records.c.cluster_id).where(records.c.id == record_id)).scalar_one_or_none()
    if cid is None:
        return [record_id]
    return [int(r) for r in conn.execute(
        sa.select(records.c.id).where(records.c.cluster_id == cid).order_by(records.c.id)).scalars()]


def duplicate_of_map(conn: sa.Connection, record_ids: Iterable[int]) -> dict[int, int | None]:
    """``record id -> duplicate_of`` for the given records."""
    rows = conn.execute(sa.select(records.c.id, records.c.duplicate_of).where(records.c.id.in_(list(record_ids))))
    return {int(r.id): r.duplicate_of for r in rows}


def record_exists(conn: sa.Connection, record_id: int) -> bool:
    return conn.execute(sa.select(records.c.id).where(records.c.id == record_id)).first() is not None


def clear(conn: sa.Connection, *, forget_decisions: bool = False) -> dict[str, int]:
    """Undo every cluster assignment (and, if asked, every decision); return what was cleared."""
    assigned = int(conn.execute(sa.select(sa.func.count()).select_from(records).where(
        records.c.cluster_id.is_not(None))).scalar_one())
    duplicates = int(conn.execute(sa.select(sa.func.count()).select_from(records).where(
        records.c.duplicate_of.is_not(None))).scalar_one())
    conn.execute(records.update().values(cluster_id=None, duplicate_of=None))
    links = conn.execute(dedup_links.delete()).rowcount or 0
    decisions = 0
    if forget_decisions:
        decisions = conn.execute(dedup_decisions.delete()).rowcount or 0
    return {"records_unassigned": assigned, "duplicates_restored": duplicates, "links_removed": int(links),
            "decisions_removed": int(decisions)}


def summary(conn: sa.Connection) -> dict[str, Any]:
    """Counts for people and for PRISMA: records, clusters, duplicates, maybe pairs, and per source."""
    total = int(conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one())
    assigned = int(conn.execute(sa.select(sa.func.count()).select_from(records).where(
        records.c.cluster_id.is_not(None))).scalar_one())
    clusters = int(conn.execute(sa.select(sa.func.count(sa.distinct(records.c.cluster_id))).where(
        records.c.cluster_id.is_not(None))).scalar_one())
    duplicates = int(conn.execute(sa.select(sa.func.count()).select_from(records).where(
        records.c.duplicate_of.is_not(None))).scalar_one())
    by_source: dict[str, dict[str, int]] = {}
    query = sa.select(records.c.source, sa.func.count(), sa.func.count(records.c.duplicate_of)).group_by(
        records.c.source).order_by(records.c.source)
    for source, n, dups in conn.execute(query):
        by_source[source or ""] = {"records": int(n), "duplicates": int(dups)}
    return {
        "records": total,
        "clusters": clusters + (total - assigned),
        "duplicates": duplicates,
        "maybe_pairs": len(maybe_links(conn)),
        "by_source": by_source,
    }


def log_event(conn: sa.Connection, kind: EventKind, payload: dict[str, Any], *, actor: str = "",
              subject: str = "") -> int:
    """Append a dedup event (``dedup_merge``, ``dedup_split``, ``dedup_reset``)."""
    return append(conn, kind, payload, actor=actor, subject=subject)
