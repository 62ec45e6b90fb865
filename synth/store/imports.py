"""SQL for the ``imports`` table: one row per imported file (its SHA-256 makes re-imports idempotent)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from synth.store.events import utc_now
from synth.store.schema import imports

__all__ = ["find_by_sha256", "finish", "list_imports", "start"]


def find_by_sha256(conn: sa.Connection, sha256: str) -> dict[str, Any] | None:
    """The earliest import of a file with these bytes, or None."""
    row = conn.execute(
        sa.select(imports).where(imports.c.sha256 == sha256).order_by(imports.c.id).limit(1)
    ).first()
    return dict(row._mapping) if row is not None else None


def start(conn: sa.Connection, *, file: str, sha256: str, fmt: str, source: str, kind: str) -> int:
    """Insert the import row (counts filled in by :func:`finish`) and return its id."""
    result = conn.execute(imports.insert().values(
        at=utc_now(), file=file, sha256=sha256, format=fmt, source=source, kind=kind,
        records_found=0, imported=0, report={},
    ))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish(conn: sa.Connection, import_id: int, *, records_found: int, imported: int,
           report: dict[str, Any]) -> None:
    conn.execute(imports.update().where(imports.c.id == import_id).values(
        records_found=records_found, imported=imported, report=report))


def list_imports(conn: sa.Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(imports).order_by(imports.c.id))]
