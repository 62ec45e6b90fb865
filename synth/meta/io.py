"""Reading per-study data for meta-analysis and checking it, with errors that name the study and the field."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from synth.errors import InputError

if TYPE_CHECKING:
    import numpy as np
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


def read_csv(path: str | Path, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a per-study CSV (one row per study). Numbers are parsed by pandas (fast path) and checked per
    measure later; ``study`` and ``text_columns`` (e.g. the ``--by`` column) are kept verbatim as text; only
    empty cells are missing."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: file not found. Give the path of a CSV file with one row per study.")
    try:
        header = pd.read_csv(p, nrows=0, skipinitialspace=True)
        names = [str(c).strip() for c in header.columns]
        keep = {c for c in ("study", *text_columns) if c in names}
        df = pd.read_csv(p, keep_default_na=False, na_values=[""], skipinitialspace=True,
                         dtype={c: str for c in header.columns if str(c).strip() in keep})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not a readable CSV file ({exc}). Save it as UTF-8 CSV with a header row.") from None
    df.columns = names
    for c in keep:
        df[c] = df[c].fillna("")
    return df


def study_labels(df: pd.DataFrame) -> list[str]:
    """The ``study`` column as labels, or ``row N`` (1-based data row) when there is none."""
    if "study" in df.columns:
        return [str(s).strip() or f"row {i + 1}" for i, s in enumerate(df["study"].tolist())]
    return [f"row {i + 1}" for i in range(len(df))]


def infer_measure(df: pd.DataFrame, measure: str | None) -> str:
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


def require_columns(df: pd.DataFrame, measure: str) -> None:
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


def needed_columns(df: pd.DataFrame, measure: str) -> tuple[str, ...]:
    """The columns whose values ``measure`` computes from (for GEN: ``yi`` and the variance column used)."""
    if measure != "GEN":
        return MEASURE_COLUMNS[measure]
    if "vi" in df.columns:
        return ("yi", "vi")
    if "sei" in df.columns:
        return ("yi", "sei")
    return ("yi", "ci_low", "ci_high")


def missing_cells(df: pd.DataFrame, columns: tuple[str, ...]) -> dict[int, list[str]]:
    """Row -> the columns among ``columns`` whose cell is missing (NA, empty, NaN, NR...), vectorised per column."""
    import numpy as np
    import pandas as pd

    out: dict[int, list[str]] = {}
    for column in columns:
        col = df[column]
        gone = col.isna()
        if not pd.api.types.is_numeric_dtype(col):
            gone = gone | col.astype(str).str.strip().str.lower().isin(MISSING)
        for i in np.flatnonzero(gone.to_numpy()).tolist():
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


def numeric(df: pd.DataFrame, column: str, labels: list[str]) -> np.ndarray:
    """Column ``column`` as floats; the first empty or non-numeric cell raises an InputError naming the study."""
    import numpy as np
    import pandas as pd

    raw = df[column]
    if pd.api.types.is_numeric_dtype(raw):
        vals = raw.to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(vals))
    else:
        text = raw.astype(str).str.strip()
        vals = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(vals))
    if bad.size:
        i = int(bad[0])
        cell = raw.iloc[i]
        shown = "empty" if (cell is None or str(cell).strip() in ("", "nan", "NaN")) else f"{str(cell)!r}"
        raise InputError(
            f"Study {labels[i]!r}: field {column} is {shown}, not a number. Give a finite number for every study."
        )
    return vals


def check(cond: np.ndarray, labels: list[str], column: str, values: np.ndarray, rule: str) -> None:
    """Raise an InputError for the first study where ``cond`` is False."""
    import numpy as np

    bad = np.flatnonzero(~cond)
    if bad.size:
        i = int(bad[0])
        v = values[i]
        shown = int(v) if float(v).is_integer() else v
        raise InputError(f"Study {labels[i]!r}: field {column} = {shown} but {rule}. Correct the value.")

