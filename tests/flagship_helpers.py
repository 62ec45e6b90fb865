"""Shared set-up: a fresh workspace holding a copy of the bundled flagship review (protocol, data, extractions)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NAME = "partnership-outcomes"


def copy_flagship(dest: Path) -> Path:
    """``dest`` as a workspace with the flagship protocol, its bundled data and its extraction files."""
    (dest / "protocols").mkdir(parents=True)
    shutil.copyfile((REPO / "protocols" / f"{NAME}.toml").resolve(), dest / "protocols" / f"{NAME}.toml")
    shutil.copytree(REPO / "data" / NAME, dest / "data" / NAME)
    shutil.copytree(REPO / "extractions" / NAME, dest / "extractions" / NAME)
    return dest
