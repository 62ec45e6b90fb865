"""The store: SQLAlchemy Core over SQLite by default (PostgreSQL later), with recorded migrations and an
append-only event log. Only this package knows SQL."""

from synth.store.db import Store, open_store
from synth.store.events import EventKind

__all__ = ["EventKind", "Store", "open_store"]
