"""Reading and writing records. Callers pass :class:`~synth.records.Record` objects and get them back; only this
module knows how they are laid out in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from synth.records.model import Author, Provenance, Record, raw_hash, raw_json
from synth.store.events import utc_now
from synth.store.schema import imports, records

_BATCH = 5000


@dataclass
class InsertResult:
    """What an insert did: ids of new rows, and records already present (same content hash and source)."""

    inserted_ids: list[int] = field(default_factory=list)
    already_known: int = 0


def record_to_row(record: Record, content_hash: str, now: str) -> dict[str, Any]:
    """One row for SQLAlchemy's insert (any database)."""
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
        "imported_at": prov.imported_at or now,
        "search_run_id": prov.search_run_id,
        "content_hash": content_hash,
        "raw": record.raw,
    }


_INSERT_COLUMNS = (
    "title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid", "pmcid",
    "openalex_id", "issns", "keywords", "language", "publication_type", "url", "source", "source_kind",
    "source_file", "source_record_number", "source_record_id", "imported_at", "import_id", "search_run_id",
    "content_hash", "raw", "id",
)
_SQLITE_INSERT = (f"INSERT INTO records ({', '.join(_INSERT_COLUMNS)}) "
                  f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)})")


def _sqlite_row(record: Record, raw_text: str, content_hash: str, import_id: int | None, source_kind: str,
                now: str) -> tuple[Any, ...]:
    """One row for the SQLite fast path in ``_INSERT_COLUMNS`` order, without its id (JSON pre-serialised, in
    the text form the JSON column type reads back)."""
    prov = record.provenance
    dumps = orjson.dumps
    return (
        record.title, record.abstract,
        dumps(record.authors).decode(),  # orjson writes each Author dataclass as {family, given, corporate}
        record.year, record.journal, record.volume, record.issue, record.pages, record.doi, record.pmid,
        record.pmcid, record.openalex_id, dumps(record.issns).decode(), dumps(record.keywords).decode(),
        record.language, record.publication_type, record.url, prov.source, source_kind, prov.file,
        prov.record_number, prov.source_record_id, prov.imported_at or now, import_id, prov.search_run_id,
        content_hash, raw_text,
    )


#: First element of a stored raw record whose values repeat the title or abstract column by reference.
_REF = "synth:ref"
_TITLE, _ABSTRACT = 1, 0


def _stored_raw(raw: Any, title: str, abstract: str) -> list[Any] | None:
    """The raw record as stored: a tagged record (a list of ``(tag, value)`` string pairs) whose values equal
    the title or abstract column keeps a number in their place (0: the abstract, 1: the title), behind a
    leading ``"synth:ref"`` marker; ``None`` when there is nothing to leave out (store the raw record as it
    is). Lossless: only exact copies are referenced, and :func:`_read_raw` puts them back. An abstract is most
    of a record, so this keeps a third of an import's bytes out of the store."""
    if not isinstance(raw, list) or not (title or abstract):
        return None
    stored: list[Any] = [_REF]
    referenced = False
    for pair in raw:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            return None
        value = pair[1]
        if value == abstract and abstract:
            stored.append((pair[0], _ABSTRACT))
            referenced = True
        elif value == title and title:
            stored.append((pair[0], _TITLE))
            referenced = True
        elif isinstance(value, str):
            stored.append(pair)
        else:
            return None
    return stored if referenced else None


def _read_raw(raw: Any, title: str, abstract: str) -> Any:
    """The raw record back from its stored form (see :func:`_stored_raw`)."""
    if not isinstance(raw, list):
        return raw
    if raw and raw[0] == _REF:
        columns = {_ABSTRACT: abstract, _TITLE: title}
        return [(tag, columns[value] if isinstance(value, int) else value) for tag, value in raw[1:]]
    return [tuple(pair) for pair in raw]


def row_to_record(row: Any) -> Record:
    m = row._mapping if hasattr(row, "_mapping") else row
    raw = _read_raw(m["raw"], m["title"], m["abstract"])
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


#: A record ready to write: its source, content hash, and its row (a tuple for SQLite, a dict otherwise).
Prepared = tuple[str, str, Any]


@dataclass(frozen=True)
class RowMaker:
    """Turns records into rows for one insert. Plain data, so worker processes can prepare rows while the
    caller writes (see :mod:`synth.importers.parallel`)."""

    import_id: int | None
    source_kind: str
    now: str
    sqlite: bool

    def __call__(self, record: Record) -> Prepared:
        payload = raw_json(record.raw)  # hashed, and stored unless the compact form applies
        digest = raw_hash(payload)
        stored = _stored_raw(record.raw, record.title, record.abstract)
        if self.sqlite:
            text = (payload if stored is None else raw_json(stored)).decode("utf-8")
            row: Any = _sqlite_row(record, text, digest, self.import_id, self.source_kind, self.now)
        else:
            row = record_to_row(record, digest, self.now)
            row.update(import_id=self.import_id, source_kind=self.source_kind)
            if stored is not None:
                row["raw"] = stored
        return record.provenance.source, digest, row


def row_maker(conn: sa.Connection, *, import_id: int | None = None, source_kind: str = "database") -> RowMaker:
    return RowMaker(import_id, source_kind, utc_now(), conn.dialect.name == "sqlite")


def insert_records(
    conn: sa.Connection,
    items: Iterable[Record],
    *,
    import_id: int | None = None,
    source_kind: str = "database",
    skip_known: bool = True,
    bulk: bool = False,
) -> InsertResult:
    """Insert records inside the caller's transaction, in batches.

    With ``skip_known`` a record whose content hash was already stored (before this call) for the same source is
    not inserted again (re-imports and re-searches are idempotent) and is counted in ``already_known``; identical
    records within one call are all kept (a file may truly hold the same record twice). ``bulk``: many records
    are coming (see :func:`insert_prepared`).
    """
    make = row_maker(conn, import_id=import_id, source_kind=source_kind)
    return insert_prepared(conn, _batches(map(make, items)), skip_known=skip_known, bulk=bulk)


def _batches(rows: Iterable[Prepared]) -> Iterator[list[Prepared]]:
    batch: list[Prepared] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_prepared(conn: sa.Connection, batches: Iterable[list[Prepared]], *,
                    skip_known: bool = True, bulk: bool = False) -> InsertResult:
    """Insert batches of rows made by a :class:`RowMaker` (see :func:`insert_records`).

    ``bulk`` (many rows coming, say a large file) into an empty SQLite records table: the table's indexes are
    dropped first and built again from their own SQL at the end, in the caller's transaction. Sorting once is
    cheaper than keeping four indexes in order row by row (1-2 s of CPU for 100,000 records). If anything fails
    the caller's transaction rolls back, indexes included, as every caller's ``store.begin()`` does.
    """
    result = InsertResult()
    sqlite = conn.dialect.name == "sqlite"
    # Only rows stored before this call count as known: two identical records inside one file are both kept.
    before = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(records.c.id), 0))).scalar_one())
    rebuild = _drop_indexes(conn) if bulk and sqlite and not before else []
    next_id = before + 1
    for batch in batches:
        if skip_known and before:
            known = set(
                conn.execute(
                    sa.select(records.c.source, records.c.content_hash).where(
                        records.c.content_hash.in_(list({digest for _, digest, _ in batch})),
                        records.c.id <= before,
                    )
                ).all()
            )
            fresh = [row for source, digest, row in batch if (source, digest) not in known]
            result.already_known += len(batch) - len(fresh)
        else:
            fresh = [row for _, _, row in batch]
        if not fresh:
            continue
        ids = range(next_id, next_id + len(fresh))
        next_id += len(fresh)
        if sqlite:
            # Fast path: no per-row SQLAlchemy bind processing.
            conn.exec_driver_sql(_SQLITE_INSERT, [(*row, rid) for row, rid in zip(fresh, ids, strict=True)])
        else:
            for row, rid in zip(fresh, ids, strict=True):
                row["id"] = rid
            conn.execute(records.insert(), fresh)
        result.inserted_ids.extend(ids)
    for statement in rebuild:
        conn.exec_driver_sql(statement)
    return result


def _drop_indexes(conn: sa.Connection) -> list[str]:
    """Drop the SQLite records table's own indexes (not those SQLite keeps for constraints); returns the SQL
    that creates them again, exactly as the store has them."""
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL"
    ).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [str(sql) for _, sql in found]


def iter_records(conn: sa.Connection, ids: Iterable[int] | None = None) -> Iterator[tuple[int, Record]]:
    """``(id, record)`` pairs in id order, optionally only ``ids``."""
    query = sa.select(records).order_by(records.c.id)
    if ids is not None:
        query = query.where(records.c.id.in_(list(ids)))
    for row in conn.execute(query):
        yield int(row.id), row_to_record(row)


def count_records(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one())


def iter_with_clusters(
    conn: sa.Connection, *, include_duplicates: bool = False, source: str | None = None, limit: int | None = None
) -> Iterator[tuple[int, Record, int | None, int | None]]:
    """``(id, record, cluster_id, duplicate_of)`` in id order; by default only cluster representatives
    (records that are not a duplicate of another)."""
    query = sa.select(records).order_by(records.c.id)
    if not include_duplicates:
        query = query.where(records.c.duplicate_of.is_(None))
    if source is not None:
        query = query.where(records.c.source == source)
    if limit is not None:
        query = query.limit(limit)
    for row in conn.execute(query):
        yield int(row.id), row_to_record(row), row.cluster_id, row.duplicate_of


def get_record(conn: sa.Connection, record_id: int) -> tuple[Record, dict[str, Any]] | None:
    """One record and its store-side fields (id, import_id, source_kind, cluster_id, duplicate_of), or None."""
    row = conn.execute(sa.select(records).where(records.c.id == record_id)).first()
    if row is None:
        return None
    extra = {k: row._mapping[k] for k in ("id", "import_id", "source_kind", "cluster_id", "duplicate_of",
                                          "content_hash", "source_record_number")}
    return row_to_record(row), extra


def flow_rows(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every stored record's place in the flow: ``id``, ``source``, ``source_kind``, ``cluster_id``,
    ``duplicate_of``, ``search_run_id``."""
    query = sa.select(records.c.id, records.c.source, records.c.source_kind, records.c.cluster_id,
                      records.c.duplicate_of, records.c.search_run_id)
    return [dict(r._mapping) for r in conn.execute(query)]


def identifier_rows(conn: sa.Connection, ids: Iterable[int]) -> list[dict[str, Any]]:
    """``id``, ``doi``, ``pmid`` and ``source_record_id`` of the records ``ids``."""
    wanted = list(ids)
    if not wanted:
        return []
    query = sa.select(records.c.id, records.c.doi, records.c.pmid, records.c.source_record_id).where(
        records.c.id.in_(wanted))
    return [dict(r._mapping) for r in conn.execute(query)]


def open_access_rows(conn: sa.Connection, ids: Iterable[int]) -> list[dict[str, Any]]:
    """``id``, ``pmcid`` and the source's ``raw`` metadata of the records ``ids`` (for open-access links)."""
    query = sa.select(records.c.id, records.c.pmcid, records.c.raw).where(records.c.id.in_(list(ids)))
    return [dict(r._mapping) for r in conn.execute(query)]


def source_names(conn: sa.Connection) -> dict[str, int]:
    """Records stored per ``source`` name (imports and search runs alike)."""
    rows = conn.execute(sa.select(records.c.source, sa.func.count()).group_by(records.c.source)).all()
    return {str(name): int(n) for name, n in rows}


def rename_source(conn: sa.Connection, old: str, new: str, kind: str | None = None) -> int:
    """Give every record (and import) of source ``old`` the name ``new`` (and ``kind`` if given); the number of
    records renamed."""
    values: dict[str, Any] = {"source": new} | ({"source_kind": kind} if kind else {})
    n = conn.execute(sa.update(records).where(records.c.source == old).values(**values)).rowcount
    conn.execute(sa.update(imports).where(imports.c.source == old)
                 .values(source=new, **({"kind": kind} if kind else {})))
    return int(n or 0)
