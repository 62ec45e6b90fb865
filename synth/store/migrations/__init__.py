"""Ordered, recorded schema migrations.

Each module ``mNNNN_name.py`` defines ``upgrade(conn)``; migrations run in number order, each in its own
transaction, and are recorded in ``schema_migrations``. Number ranges by pipeline stage keep parallel work from
colliding: 1-9 foundation, 10-19 import, 20-29 search, 30-39 dedup, 40-49 screening, 50-59 extraction,
60-69 prisma/evidence. Never edit a migration that has landed: add a new one.

Migrations spell out their own DDL (they must not import :mod:`synth.store.schema`, whose tables show the end
state), as Alembic revisions do.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"^m(\d{4})_(\w+)$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    upgrade: Callable[[Any], None]


def discover() -> list[Migration]:
    """All migrations in this package, in number order."""
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        match = _NAME.match(info.name)
        if not match:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(Migration(int(match.group(1)), info.name, module.upgrade))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"duplicate migration numbers: {numbers}")
    return found
