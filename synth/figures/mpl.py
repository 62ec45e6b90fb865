"""The matplotlib set-up every figure shares: Agg backend, imported on first use, and reproducible output."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from synth.errors import InputError

RC: Any = {"svg.hashsalt": "synth", "svg.fonttype": "none"}
"""Fixed ids in SVG output, and text kept as text (searchable, smaller)."""


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (imported here so importing synth does not load matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_suffix(path: Path, suffixes: tuple[str, ...] = (".svg", ".png")) -> str:
    """The file type of ``path`` (``svg``...), or :class:`InputError` naming the suffixes allowed."""
    ext = path.suffix.lower()
    if ext not in suffixes:
        raise InputError(f"{path}: the plot file must end in {' or '.join(suffixes)}. Choose one of those extensions.")
    return ext.lstrip(".")


def save(fig: Any, path: Path, *, tight: bool = False, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (type from the suffix) and close it."""
    import matplotlib

    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(RC):
        fig.savefig(path, format=path.suffix.lower().lstrip("."), dpi=dpi, metadata=_metadata(path),
                    bbox_inches="tight" if tight else None)
    pyplot().close(fig)
    return path


def svg_text(fig: Any, *, tight: bool = True, dpi: int = 150) -> str:
    """``fig`` as standalone SVG text (from ``<svg``, no XML prolog) and close it."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", dpi=dpi, metadata={"Date": None}, bbox_inches="tight" if tight else None)
    pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _metadata(path: Path) -> dict[str, Any] | None:
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return {"Date": None}
    if suffix == ".pdf":
        return {"CreationDate": None}
    return None
