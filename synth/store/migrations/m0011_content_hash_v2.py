"""Content hashes of stored records recomputed over compact JSON (the serialisation imports now store and hash),
so that re-importing or re-searching records stored by an earlier version is still recognised as nothing new."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson
import sqlalchemy as sa

_BATCH = 5000


def _hash(raw: Any) -> str:
    try:
        payload = orjson.dumps(raw, default=str, option=orjson.OPT_SORT_KEYS if isinstance(raw, dict) else 0)
    except (orjson.JSONEncodeError, TypeError):
        payload = json.dumps(raw, sort_keys=isinstance(raw, dict), default=str, separators=(",", ":")).encode()
    return hashlib.sha256(payload).hexdigest()


def upgrade(conn: sa.Connection) -> None:
    select = sa.text("SELECT id, raw FROM records WHERE id > :after ORDER BY id LIMIT :n")
    update = sa.text("UPDATE records SET content_hash = :h WHERE id = :id")
    after = 0
    while rows := conn.execute(select, {"after": after, "n": _BATCH}).all():
        conn.execute(update, [{"id": rid, "h": _hash(json.loads(raw) if isinstance(raw, str | bytes) else raw)}
                              for rid, raw in rows])
        after = rows[-1][0]
