"""Opening the store and bringing its schema up to date."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from synth.errors import StoreBusy, StoreError
from synth.store.events import utc_now
from synth.store.migrations import discover
from synth.store.schema import schema_migrations

T = TypeVar("T")


class Store:
    """A database holding one review's state. Use :meth:`begin` for one transaction per logical write."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def retrying(self, work: Callable[[sa.Connection], T], *, what: str, attempts: int = 5) -> T:
        """Run ``work`` in one transaction; when the store stays locked by another process (past SQLite's busy
        timeout, or a snapshot another writer made stale) roll back, wait and run it again. Raises
        :class:`StoreBusy` naming ``what`` when every attempt failed: nothing of it was written."""
        for attempt in range(attempts):
            try:
                with self.begin() as conn:
                    return work(conn)
            except OperationalError as exc:
                if not _locked(exc):
                    raise
                if attempt + 1 < attempts:
                    time.sleep(0.05 * 2**attempt)
        raise StoreBusy(f"{what} was not saved: another process kept the store busy. Try again in a moment "
                        "(nothing was lost: it can be made again).")

    @property
    def display_url(self) -> str:
        """The database URL with any password hidden (safe to print and to write in summaries)."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A read connection."""
        with self.engine.connect() as conn:
            yield conn

    def applied_migrations(self) -> list[str]:
        with self.connect() as conn:
            return [r.name for r in conn.execute(sa.select(schema_migrations).order_by(schema_migrations.c.id))]

    def migrate(self) -> list[str]:
        """Apply every migration not yet recorded, each in its own transaction; return the names applied."""
        schema_migrations.create(self.engine, checkfirst=True)
        done = set(self.applied_migrations())
        applied: list[str] = []
        for migration in discover():
            if migration.name in done:
                continue
            with self.begin() as conn:
                migration.upgrade(conn)
                conn.execute(
                    schema_migrations.insert().values(
                        id=migration.number, name=migration.name, applied_at=utc_now()
                    )
                )
            applied.append(migration.name)
        return applied

    def close(self) -> None:
        self.engine.dispose()


BUSY_TIMEOUT_MS = 30_000


def _locked(exc: OperationalError) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "locked" in text or "busy" in text or "could not serialize" in text or "deadlock" in text


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # another process writing (an import, a second screener) makes this one wait for the lock, not fail
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Before WAL, so that it takes effect when a new store is created (an existing store keeps its own): with
    # rows of several KB (abstract plus raw record), 32 KB pages avoid overflow chains and halve import writes.
    cursor.execute("PRAGMA page_size=32768")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_store(url: str) -> Store:
    """Open (creating if needed) the database at ``url`` and migrate it to the current schema."""
    try:
        engine = sa.create_engine(url, future=True)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StoreError(f"cannot open database '{url}': {exc}. Check the --db URL.") from exc
    if engine.dialect.name == "sqlite":
        db_path = engine.url.database
        if db_path and db_path != ":memory:":
            try:
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder for database {db_path}: {exc.strerror}.") from exc
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    store = Store(engine)
    try:
        store.migrate()
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = str(orig) if orig is not None else str(exc).splitlines()[0]
        raise StoreError(
            f"cannot open database '{engine.url.render_as_string(hide_password=True)}': {reason}. "
            "Check that the file is a synth SQLite database and is writable, or pass another --db URL."
        ) from exc
    return store


def has_table(conn: sa.Connection, table: str) -> bool:
    """Whether ``table`` exists in the store (a stage whose tables are absent has not been used)."""
    return sa.inspect(conn).has_table(table)
