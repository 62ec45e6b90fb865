"""Moving a review between stores: every row of every table, copied as it is (ids, times, JSON), so a review
goes from a SQLite file to a PostgreSQL server and back without loss (a test round-trips the flagship)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from synth.errors import InputError
from synth.store.db import Store, open_store
from synth.store.schema import metadata, schema_migrations

CHUNK = 2000

# rows that say which review this is, not what the store holds: a new store has its own
_SKIP = {schema_migrations.name}


def tables() -> list[sa.Table]:
    """The review's tables, parents before children (so foreign keys hold at every insert)."""
    return [t for t in metadata.sorted_tables if t.name not in _SKIP]


def row_counts(store: Store) -> dict[str, int]:
    with store.connect() as conn:
        return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in tables()}


def _copy(source: Store, target: Store) -> dict[str, int]:
    copied: dict[str, int] = {}
    with source.connect() as read, target.begin() as write:
        for table in tables():
            n = 0
            result = read.execution_options(yield_per=CHUNK).execute(
                sa.select(table).order_by(*table.primary_key.columns))
            for chunk in result.partitions(CHUNK):
                rows: list[dict[str, Any]] = [dict(r._mapping) for r in chunk]
                write.execute(table.insert(), rows)
                n += len(rows)
            copied[table.name] = n
        if target.backend == "postgresql":  # explicit ids do not move a serial's sequence: set it past them
            for table in tables():
                keys = list(table.primary_key.columns)
                if len(keys) == 1 and isinstance(keys[0].type, sa.Integer):
                    seq = f"pg_get_serial_sequence('{table.name}', '{keys[0].name}')"
                    write.execute(sa.text(
                        f"SELECT setval({seq}, COALESCE((SELECT MAX({keys[0].name}) FROM {table.name}), 0) + 1, "
                        f"false) WHERE {seq} IS NOT NULL"))
    return copied


def _refuse_partial_reader(store: Store) -> None:
    """A screener's view of a server is blinded by row-level security: a copy of it would silently lack the
    other screeners' decisions, so only the owner, a lead or an analyst may export."""
    if store.backend != "postgresql":
        return
    from synth.store.team import role_of

    me = store.identity()
    if me is not None and role_of(store, me) == "screener":
        raise InputError(f"{me} is a screener on {store.display_url}, who sees only their own decisions: an export "
                         "would be incomplete. Ask the review's lead (or the database owner) to export it.")


def export_store(store: Store, path: Path) -> dict[str, int]:
    """Copy every row of ``store`` into a new SQLite file at ``path`` (which must not exist)."""
    if path.exists():
        raise InputError(f"{path} already exists: synth team export writes a new SQLite file. Choose another name "
                         "or remove it first.")
    _refuse_partial_reader(store)
    target = open_store(f"sqlite:///{path}")
    try:
        return _copy(store, target)
    except BaseException:
        target.close()
        path.unlink(missing_ok=True)  # a half-made copy is not left to be mistaken for the review
        raise
    finally:
        target.close()


def import_store(store: Store, path: Path) -> dict[str, int]:
    """Copy every row of the SQLite review file at ``path`` into ``store``, which must hold no review yet."""
    if not path.is_file():
        raise InputError(f"{path}: no such file. Give the SQLite file synth team export wrote, or a workspace's "
                         ".synth/<protocol>.sqlite.")
    held = {name: n for name, n in row_counts(store).items() if n}
    if held:
        raise InputError(f"{store.display_url} already holds a review ({', '.join(f'{n} {t}' for t, n in held.items())}"
                         "): synth team import fills an empty database only. Create a new one and import there.")
    source = open_store(f"sqlite:///{path}")
    try:
        return _copy(source, store)
    finally:
        source.close()
