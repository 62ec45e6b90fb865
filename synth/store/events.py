"""The append-only event log. Every stage writes what it did here; PRISMA counts are computed from it."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from synth.secrets import redact_value
from synth.store.schema import events


class EventKind(StrEnum):
    """The kinds of event the pipeline records."""

    IMPORT = "import"
    SEARCH_RUN = "search_run"
    DEDUP_MERGE = "dedup_merge"
    DEDUP_SPLIT = "dedup_split"
    DEDUP_RESET = "dedup_reset"
    DECISION = "decision"
    RETRIEVAL = "retrieval"
    EXTRACTION = "extraction"
    STOPPING = "stopping"
    TAG = "tag"
    RUN = "run"


def utc_now() -> str:
    """ISO 8601 UTC timestamp with seconds, as every table stores times."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def append(
    conn: sa.Connection, kind: EventKind | str, payload: dict[str, Any], *, actor: str = "", subject: str = ""
) -> int:
    """Append one event inside the caller's transaction and return its id."""
    result = conn.execute(
        events.insert().values(at=utc_now(), kind=str(kind), actor=actor, subject=subject,
                               payload=redact_value(payload))
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def read(conn: sa.Connection, kind: EventKind | str | None = None) -> list[dict[str, Any]]:
    """Events in order, optionally of one kind."""
    query = sa.select(events).order_by(events.c.id)
    if kind is not None:
        query = query.where(events.c.kind == str(kind))
    return [dict(row._mapping) for row in conn.execute(query)]
