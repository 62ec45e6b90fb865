"""Reading per-study data for meta-analysis and checking it, with errors that name the study and the field."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

#: Columns each effect measure needs (``GEN`` needs ``yi`` and one of ``vi``, ``sei`` or ``ci_low``+``ci_high``).
MEASURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "OR": ("events_t", "n_t", "events_c", "n_c"),
    "RR": ("events_t", "n_t", "events_c", "n_c"),
    "RD": ("events_t", "n_t", "events_c", "n_c"),
    "MD": ("mean_t", "sd_t", "n_t", "mean_c", "sd_c", "n_c"),
    "SMD": ("mean_t", "sd_t", "n_t", "mean_c", "sd_c", "n_c"),
    "ROM": ("mean_t", "sd_t", "n_t", "mean_c", "sd_c", "n_c"),
    "ZCOR": ("r", "n"),
    "COR": ("r", "n"),
    "PLO": ("events", "n"),
    "PR": ("events", "n"),
    "GEN": ("yi",),
}
MEASURES = tuple(MEASURE_COLUMNS)


def measures_help() -> str:
    """One line per measure with the columns it needs."""
    lines = [f"{m}: {', '.join(c)}" for m, c in MEASURE_COLUMNS.items() if m != "GEN"]
    lines.append("GEN: yi and vi, or yi and sei, or yi with ci_low and ci_high (95% CI on the analysis scale)")
    return "; ".join(lines)


class Columns:
    """A table as named numpy columns, read without pandas (importing pandas costs more than a small analysis).

    Numbers are float64 (int64 when every cell is a whole number), anything else text (object, ``None`` for an
    empty cell); :func:`as_pandas` turns it into a DataFrame where a step needs one.

    >>> t = Columns({"study": np.array(["A", "B"], dtype=object), "n": np.array([10, 12])})
    >>> t.columns, len(t), int(t["n"].sum()), take(t, np.array([False, True]))["study"].tolist()
    (['study', 'n'], 2, 22, ['B'])
    """

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        self.data = data
        self.columns = list(data)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def __getitem__(self, column: str) -> np.ndarray:
        return self.data[column]

    def __contains__(self, column: object) -> bool:
        return column in self.data


def as_pandas(frame: Any) -> pd.DataFrame:
    """``frame`` as a pandas DataFrame (a :class:`Columns` is converted; a DataFrame is returned as it is)."""
    if isinstance(frame, Columns):
        import pandas as pd

        return pd.DataFrame(frame.data)
    return frame


def take(frame: Any, keep: np.ndarray) -> Any:
    """The rows of ``frame`` where the boolean ``keep`` is True, renumbered from 0 (Columns or DataFrame)."""
    if isinstance(frame, Columns):
        return Columns({c: v[keep] for c, v in frame.data.items()})
    return frame.loc[keep].reset_index(drop=True)


def with_columns(frame: Any, **columns: np.ndarray) -> Any:
    """A copy of ``frame`` with ``columns`` added or replaced."""
    if isinstance(frame, Columns):
        return Columns({**frame.data, **columns})
    out = frame.copy()
    for c, v in columns.items():
        out[c] = v
    return out


def text(frame: Any, column: str) -> list[str]:
    """Column ``column`` as stripped text ("" for an empty cell)."""
    return [v.strip() if type(v) is str else "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
            for v in np.asarray(frame[column], dtype=object).tolist()]


def factorize(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer codes 0..n-1 and the distinct values, numbered in order of first appearance."""
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values))
    return codes, list(index)


def _parse(cells: list[str]) -> np.ndarray:
    """One CSV column: int64 if every cell is a whole number, float64 if every non-empty cell is a number
    (empty -> NaN), else text with ``None`` for empty cells (as pandas with ``na_values=[""]``)."""
    arr = np.array(cells, dtype=object)
    if all(cells):
        try:
            return np.array(cells, dtype=np.int64)
        except (ValueError, OverflowError):
            pass
    try:
        return np.array([c if c else "nan" for c in cells], dtype=np.float64)
    except ValueError:
        pass
    arr[arr == ""] = None
    return arr


def read_csv(path: str | Path, text_columns: tuple[str, ...] = ()) -> Columns:
    """Read a per-study CSV (one row per study) into :class:`Columns`. Numbers are parsed per column and checked
    per measure later; ``study`` and ``text_columns`` (e.g. the ``--by`` column) are kept verbatim as text; only
    empty cells are missing (a cell saying ``NA`` stays text, for the measure's check to call missing)."""
    import csv

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: file not found. Give the path of a CSV file with one row per study.")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh, skipinitialspace=True))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not a readable CSV file ({exc}). Save it as UTF-8 CSV with a header row.") from None
    rows = [r for r in rows if r]  # blank lines, as pandas skips them
    if not rows:
        raise InputError(f"{p}: not a readable CSV file (it is empty). Save it as UTF-8 CSV with a header row.")
    names = [c.strip() for c in rows[0]]
    width = len(names)
    for line, r in enumerate(rows[1:], start=2):
        if len(r) > width:
            raise InputError(f"{p}: not a readable CSV file (line {line} has {len(r)} fields, the header {width}). "
                             "Quote cells that contain commas, or fix the row.")
    body = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows[1:]]
    cols = [list(c) for c in zip(*body, strict=True)] if body else [[] for _ in names]
    keep = {"study", *text_columns}
    data: dict[str, np.ndarray] = {}
    for name, cells in zip(names, cols, strict=True):
        cells = [c.strip() for c in cells]
        data[name] = np.array(cells, dtype=object) if name in keep else _parse(cells)
    return Columns(data)


def study_labels(df: Any) -> list[str]:
    """The ``study`` column as labels, or ``row N`` (1-based data row) when there is none."""
    if "study" in df.columns:
        return [s or f"row {i + 1}" for i, s in enumerate(text(df, "study"))]
    return [f"row {i + 1}" for i in range(len(df))]


def infer_measure(df: Any, measure: str | None) -> str:
    """The measure to use: the given one (upper-cased), ``GEN`` when ``yi`` is present, else an error."""
    if measure:
        m = measure.strip().upper()
        if m not in MEASURE_COLUMNS:
            raise InputError(f"Unknown measure {measure!r}. Use one of: {', '.join(MEASURES)}.")
        return m
    if "yi" in df.columns:
        return "GEN"
    raise InputError(
        "No --measure given and no yi column. Give --measure with the columns it needs: " + measures_help() + "."
    )


def require_columns(df: Any, measure: str) -> None:
    """Raise an InputError naming every missing column for ``measure``."""
    need = list(MEASURE_COLUMNS[measure])
    cols = set(df.columns)
    if measure == "GEN" and "yi" in cols and not ("vi" in cols or "sei" in cols or {"ci_low", "ci_high"} <= cols):
        raise InputError(
            "Measure GEN needs vi, sei, or ci_low and ci_high beside yi; none was found. Add one of those columns."
        )
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(
            f"Measure {measure} needs column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(map(str, df.columns)) or 'none'}). Add {'them' if len(missing) > 1 else 'it'} "
            "or choose another --measure."
        )


MISSING = frozenset({"", "na", "nan", "n/a", "nr", ".", "null", "none", "-"})
"""Cells that say "not available" (R's ``NA``, empty, ``NR``...): the study is omitted, as metafor's
``na.action = "na.omit"`` does; any other text where a number belongs is an error."""


def needed_columns(df: Any, measure: str) -> tuple[str, ...]:
    """The columns whose values ``measure`` computes from (for GEN: ``yi`` and the variance column used)."""
    if measure != "GEN":
        return MEASURE_COLUMNS[measure]
    if "vi" in df.columns:
        return ("yi", "vi")
    if "sei" in df.columns:
        return ("yi", "sei")
    return ("yi", "ci_low", "ci_high")


def _is_number_dtype(values: np.ndarray) -> bool:
    return values.dtype.kind in "biuf"


def missing_cells(df: Any, columns: tuple[str, ...]) -> dict[int, list[str]]:
    """Row -> the columns among ``columns`` whose cell is missing (NA, empty, NaN, NR...), vectorised per column."""
    out: dict[int, list[str]] = {}
    for column in columns:
        values = np.asarray(df[column])
        if _is_number_dtype(values):
            gone = np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), dtype=bool)
        else:
            gone = np.array([v is None or (isinstance(v, float) and v != v) or str(v).strip().lower() in MISSING
                             for v in values.tolist()], dtype=bool)
        for i in np.flatnonzero(gone).tolist():
            out.setdefault(i, []).append(column)
    return out


def finite_or_none(x: object) -> float | None:
    """``x`` as a finite float, or None for a missing, non-numeric or non-finite value."""
    import math

    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _to_float(v: Any) -> float:
    try:
        return float(str(v).strip()) if v is not None else float("nan")
    except ValueError:
        return float("nan")


def numeric(df: Any, column: str, labels: list[str]) -> np.ndarray:
    """Column ``column`` as floats; the first empty or non-numeric cell raises an InputError naming the study."""
    raw = np.asarray(df[column])
    if _is_number_dtype(raw):
        vals = raw.astype(float)
    else:
        vals = np.array([_to_float(v) for v in raw.tolist()], dtype=float)
    bad = np.flatnonzero(~np.isfinite(vals))
    if bad.size:
        i = int(bad[0])
        cell = raw[i]
        shown = "empty" if (cell is None or str(cell).strip() in ("", "nan", "NaN")) else f"{str(cell)!r}"
        raise InputError(
            f"Study {labels[i]!r}: field {column} is {shown}, not a number. Give a finite number for every study."
        )
    return vals


def check(cond: np.ndarray, labels: list[str], column: str, values: np.ndarray, rule: str) -> None:
    """Raise an InputError for the first study where ``cond`` is False."""
    bad = np.flatnonzero(~cond)
    if bad.size:
        i = int(bad[0])
        v = values[i]
        shown = int(v) if float(v).is_integer() else v
        raise InputError(f"Study {labels[i]!r}: field {column} = {shown} but {rule}. Correct the value.")

