"""Opening the store and bringing its schema up to date."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from synth.errors import StoreBusy, StoreError
from synth.store.events import utc_now
from synth.store.migrations import discover
from synth.store.schema import schema_migrations

T = TypeVar("T")


class Store:
    """A database holding one review's state. Use :meth:`begin` for one transaction per logical write."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._identity: str | None = None

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

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def identity(self) -> str | None:
        """On a server, the database role this store acts as (who the reviewer is, enforced by the server);
        ``None`` on SQLite, where the reviewer is who the user says."""
        if self.backend == "sqlite":
            return None
        if self._identity is None:
            with self.connect() as conn:
                self._identity = str(conn.execute(sa.text("SELECT session_user")).scalar_one())
        return self._identity

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back on any exception. A server's refusal
        (a missing privilege, a row-level security policy) or a lost connection becomes a :class:`StoreError`
        naming the server; the transaction is rolled back, so nothing half-written remains."""
        with self._refusals(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A read connection (server refusals translated as in :meth:`begin`)."""
        with self._refusals(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _refusals(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            if (message := server_refusal(self.engine, exc)) is not None:
                raise StoreError(message) from exc
            raise

    def applied_migrations(self) -> list[str]:
        with self.connect() as conn:
            return [r.name for r in conn.execute(sa.select(schema_migrations).order_by(schema_migrations.c.id))]

    def migrate(self) -> list[str]:
        """Apply every migration not yet recorded, each in its own transaction; return the names applied."""
        schema_migrations.create(self.engine, checkfirst=True)
        done = set(self.applied_migrations())
        known = discover()
        newer = sorted(done - {m.name for m in known})
        if newer:
            raise StoreError(
                f"database {self.display_url} was made by a newer synth (it has migration {newer[-1]}; this "
                f"synth knows up to {known[-1].name}). Upgrade synth (pip install -U synth) before using it; "
                "nothing was changed.")
        applied: list[str] = []
        for migration in known:
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
        raise StoreError(f"cannot open database '{_masked(url)}': {exc}. Check the --db URL.") from exc
    if engine.dialect.name == "sqlite":
        db_path = engine.url.database
        if db_path and db_path != ":memory:":
            try:
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder for database {db_path}: {exc.strerror}.") from exc
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.url.password:
        shown = engine.url.render_as_string(hide_password=True)
        engine.dispose()
        raise StoreError(
            f"the database URL {shown} holds a password: give it in PGPASSWORD, a ~/.pgpass file or a libpq "
            "service file instead, so that it is not kept in shell history or printed.")
    store = Store(engine)
    try:
        store.migrate()
    except SQLAlchemyError as exc:
        store.close()
        raise StoreError(_open_failure(engine, exc)) from exc
    return store


def server_refusal(engine: sa.Engine, exc: DBAPIError) -> str | None:
    """The one-line message for a server's refusal or a lost connection on ``engine``, or ``None`` for errors
    that are not the user's to fix (lock waits, serialization failures: retried by :meth:`Store.retrying`)."""
    if engine.dialect.name == "sqlite":
        return None
    orig = exc.orig
    state = str(getattr(orig, "sqlstate", "") or "")
    reason = str(orig).strip().splitlines()[0] if orig is not None else str(exc).splitlines()[0]
    server = f"PostgreSQL server {engine.url.host or 'on the local socket'}:{engine.url.port or 5432}"
    who = engine.url.username or "the login user"
    if state == "42501":
        return (f"the {server} refused this for {who}: {reason}. Your team role does not allow it: ask the "
                "review's lead (synth team list shows who has which role).")
    if state.startswith("08") or exc.connection_invalidated or (isinstance(exc, OperationalError) and (
            "connect" in reason.lower() or "server closed" in reason.lower() or "terminat" in reason.lower())):
        return (f"lost the connection to the {server} ({reason}). Everything saved before is kept; the change "
                "in progress (the record on screen, when screening) was not saved. Check the server and the "
                "network, then run the command again.")
    return None


def _masked(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return url


def _open_failure(engine: sa.Engine, exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    reason = (str(orig) if orig is not None else str(exc)).strip().splitlines()[0]
    shown = engine.url.render_as_string(hide_password=True)
    if engine.dialect.name == "sqlite":
        return (f"cannot open database '{shown}': {reason}. Check that the file is a synth SQLite database and is "
                "writable, or pass another --db URL.")
    server = f"{engine.url.host or 'the local socket'}:{engine.url.port or 5432}"
    if getattr(orig, "sqlstate", None) == "42501" or "permission denied" in reason.lower():
        return (f"database {shown} needs a migration that only its owner may run ({reason}). Ask the review's "
                "lead to run: synth --db URL team init")
    return (f"cannot use PostgreSQL server {server} (database {engine.url.database}, as "
            f"{engine.url.username or 'the login user'}): {reason}. Check that the server is running, the URL, "
            "and your password in PGPASSWORD or ~/.pgpass.")


def has_table(conn: sa.Connection, table: str) -> bool:
    """Whether ``table`` exists in the store (a stage whose tables are absent has not been used)."""
    return sa.inspect(conn).has_table(table)
