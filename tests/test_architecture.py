"""docs/architecture.md shows the layers import-linter checks (pyproject.toml), so the picture cannot drift."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _documented_layers() -> list[str]:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"## The layers.*?```text\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md lost its layer diagram"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def _configured() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def test_documented_layers_are_the_checked_layers() -> None:
    layers = next(c for c in _configured()["contracts"] if c["type"] == "layers")["layers"]
    assert _documented_layers() == layers


def test_every_package_is_in_a_layer() -> None:
    packages = {f"synth.{p.name}" for p in (REPO / "synth").iterdir() if (p / "__init__.py").exists()}
    modules = {f"synth.{p.stem}" for p in (REPO / "synth").glob("*.py") if not p.stem.startswith("__")}
    layered = {name.strip() for layer in _documented_layers() for name in layer.split("|")}
    assert packages | modules == layered


def test_meta_may_import_only_errors() -> None:
    forbidden = next(c for c in _configured()["contracts"] if c["type"] == "forbidden")
    assert forbidden["source_modules"] == ["synth.meta"]
    layered = {name.strip() for layer in _documented_layers() for name in layer.split("|")}
    assert set(forbidden["forbidden_modules"]) == layered - {"synth.meta", "synth.errors"}
