"""Reading and writing records. Callers pass :class:`~synth.records.Record` objects and get them back; only this
module knows how they are laid out in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from synth.records.model import Author, Provenance, Record
from synth.store.events import utc_now
from synth.store.schema import records

_BATCH = 2000


@dataclass
class InsertResult:
    """What an insert did: ids of new rows, and records already present (same content hash and source)."""

    inserted_ids: list[int] = field(default_factory=list)
    already_known: int = 0


def record_to_row(record: Record) -> dict[str, Any]:
    prov = record.provenance
    return {
        "title": record.title,
        "abstract": record.abstract,
        "authors": [
            {"family": a.family, "given": a.given, "corporate": a.corporate} for a in record.authors
        ],
        "year": record.year,
        "journal": record.journal,
        "volume": record.volume,
        "issue": record.issue,
        "pages": record.pages,
        "doi": record.doi,
        "pmid": record.pmid,
        "pmcid": record.pmcid,
        "openalex_id": record.openalex_id,
        "issns": list(record.issns),
        "keywords": list(record.keywords),
        "language": record.language,
        "publication_type": record.publication_type,
        "url": record.url,
        "source": prov.source,
        "source_file": prov.file,
        "source_record_number": prov.record_number,
        "source_record_id": prov.source_record_id,
        "imported_at": prov.imported_at or utc_now(),
        "search_run_id": prov.search_run_id,
        "content_hash": record.content_hash(),
        "raw": record.raw,
    }


def row_to_record(row: Any) -> Record:
    m = row._mapping if hasattr(row, "_mapping") else row
    raw = m["raw"]
    if isinstance(raw, list):
        raw = [tuple(pair) for pair in raw]
    return Record(
        title=m["title"],
        abstract=m["abstract"],
        authors=[Author(**a) for a in m["authors"]],
        year=m["year"],
        journal=m["journal"],
        volume=m["volume"],
        issue=m["issue"],
        pages=m["pages"],
        doi=m["doi"],
        pmid=m["pmid"],
        pmcid=m["pmcid"],
        openalex_id=m["openalex_id"],
        issns=list(m["issns"]),
        keywords=list(m["keywords"]),
        language=m["language"],
        publication_type=m["publication_type"],
        url=m["url"],
        provenance=Provenance(
            source=m["source"],
            file=m["source_file"],
            record_number=m["source_record_number"],
            source_record_id=m["source_record_id"],
            imported_at=m["imported_at"],
            search_run_id=m["search_run_id"],
        ),
        raw=raw,
    )


def insert_records(
    conn: sa.Connection,
    items: Iterable[Record],
    *,
    import_id: int | None = None,
    source_kind: str = "database",
    skip_known: bool = True,
) -> InsertResult:
    """Insert records inside the caller's transaction, in batches.

    With ``skip_known`` a record whose content hash was already stored (before this call) for the same source is
    not inserted again (re-imports and re-searches are idempotent) and is counted in ``already_known``; identical
    records within one call are all kept (a file may truly hold the same record twice).
    """
    result = InsertResult()
    batch: list[dict[str, Any]] = []
    # Only rows stored before this call count as known: two identical records inside one file are both kept.
    before = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(records.c.id), 0))).scalar_one())

    def flush() -> None:
        if not batch:
            return
        if skip_known:
            hashes = {(r["source"], r["content_hash"]) for r in batch}
            known = set(
                conn.execute(
                    sa.select(records.c.source, records.c.content_hash).where(
                        records.c.content_hash.in_([h for _, h in hashes]), records.c.id <= before
                    )
                ).all()
            ) if before else set()
            fresh: list[dict[str, Any]] = []
            for row in batch:
                if (row["source"], row["content_hash"]) in known:
                    result.already_known += 1
                else:
                    fresh.append(row)
        else:
            fresh = list(batch)
        if fresh:
            start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(records.c.id), 0))).scalar_one()
            for offset, row in enumerate(fresh, start=1):
                row["id"] = start + offset
                row["import_id"] = import_id
                row["source_kind"] = source_kind
            conn.execute(records.insert(), fresh)
            result.inserted_ids.extend(row["id"] for row in fresh)
        batch.clear()

    for record in items:
        batch.append(record_to_row(record))
        if len(batch) >= _BATCH:
            flush()
    flush()
    return result


def iter_records(conn: sa.Connection, ids: Iterable[int] | None = None) -> Iterator[tuple[int, Record]]:
    """``(id, record)`` pairs in id order, optionally only ``ids``."""
    query = sa.select(records).order_by(records.c.id)
    if ids is not None:
        query = query.where(records.c.id.in_(list(ids)))
    for row in conn.execute(query):
        yield int(row.id), row_to_record(row)


def count_records(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one())
