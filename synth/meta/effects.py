"""Effect sizes and sampling variances from per-study data (metafor ``escalc`` defaults, metafor 3.8-1).

Binary (``events_t, n_t, events_c, n_c``): ``OR`` log odds ratio, ``RR`` log risk ratio, ``RD`` risk
difference. A table with a zero cell gets 0.5 added to each of its four cells (metafor ``add=1/2,
to="only0"``; the same rule RevMan uses). Studies with no events in either arm (or events for everyone in both
arms) carry no information on OR/RR and are excluded with the reason (metafor ``drop00``); RD keeps them.

Continuous (``mean_t, sd_t, n_t, mean_c, sd_c, n_c``): ``MD`` with ``v = s1^2/n1 + s2^2/n2``; ``SMD``
Hedges' g with the exact correction ``J(m) = exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))``, ``m = N-2``,
and metafor's large-sample variance ``1/n1 + 1/n2 + g^2/(2N)`` (Hedges 1982); ``ROM`` log ratio of means
(Hedges, Gurevitch & Curtis 1999; no bias correction, as metafor < 5).

Correlations (``r, n``): ``ZCOR`` Fisher's z with ``v = 1/(n-3)``; ``COR`` raw r with ``(1-r^2)^2/(n-1)``.
Single proportions (``events, n``): ``PLO`` logit, ``PR`` raw proportion (0.5 added when events are 0 or n).
Generic (``GEN``): ``yi`` with ``vi``, ``sei``, or a 95% CI ``ci_low, ci_high`` on the analysis scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError
from synth.meta.dist import lgamma
from synth.meta.io import (
    Columns,
    check,
    infer_measure,
    missing_cells,
    needed_columns,
    numeric,
    require_columns,
    study_labels,
    take,
    with_columns,
)

if TYPE_CHECKING:
    import pandas as pd

#: Measures whose analysis scale has a natural-scale back-transformation, and its name.
BACK = {"OR": "exp", "RR": "exp", "ROM": "exp", "ZCOR": "tanh", "PLO": "expit"}
Z975 = 1.959963984540054


@dataclass
class EffectTable:
    """Per-study effect sizes. ``yi``/``vi`` are NaN for studies not in the model: ``excluded`` (the data give
    no estimable effect, e.g. no events in either arm) and ``omitted`` (a value the measure needs is missing).

    >>> import pandas as pd
    >>> t = compute_effects(pd.DataFrame({"study": ["A", "B", "C"], "r": [0.3, "NA", 0.5], "n": [40, 50, 60]}), "ZCOR")
    >>> [e["study"] for e in t.omitted], int(t.included.sum())
    (['B'], 2)
    """

    measure: str
    studies: list[str]
    yi: np.ndarray
    vi: np.ndarray
    excluded: list[dict[str, str]] = field(default_factory=list)
    frame: Any = None  # the input DataFrame plus yi, vi
    omitted: list[dict[str, Any]] = field(default_factory=list)
    omitted_rows: list[int] = field(default_factory=list)  # the row of each ``omitted`` entry
    excluded_rows: list[int] = field(default_factory=list)  # the row of each ``excluded`` entry

    def reasons_by_row(self) -> dict[int, tuple[str, dict[str, Any]]]:
        """Row -> ("excluded" | "omitted", its entry), for each row not in the model, in row order. Labels may
        repeat (one study in several analyses), so rows, not labels, say which entry is whose."""
        pairs = [*zip(self.excluded_rows, (("excluded", e) for e in self.excluded), strict=True),
                 *zip(self.omitted_rows, (("omitted", e) for e in self.omitted), strict=True)]
        return dict(sorted(pairs, key=lambda p: p[0]))

    @property
    def not_in_model(self) -> list[dict[str, Any]]:
        """Every study left out of the model, with its reason (excluded and omitted, in input order)."""
        return [e for _, e in self.reasons_by_row().values()]

    @property
    def included(self) -> np.ndarray:
        return np.isfinite(self.yi)


def _exp(x: float) -> float:
    return math.exp(x) if x < 709.0 else math.inf  # as np.exp: inf past the largest double, no OverflowError


_SCALAR_BACK = {"exp": _exp, "tanh": math.tanh, "expit": lambda x: 1.0 / (1.0 + _exp(-x))}
#: the natural-scale transforms a user may name for generic (GEN) data
BACK_KINDS = tuple(_SCALAR_BACK)
"""The transforms of :func:`back_transform` for a single float, by kind (the same formulas)."""


def back_transform(measure: str, x: np.ndarray | float, kind: str | None = None) -> np.ndarray | float | None:
    """Natural-scale value of ``x`` (exp for ratios, tanh for Fisher z, inverse logit), or None if none.

    ``kind`` overrides the measure's own transform (for generic data, e.g. log risk ratios as GEN)."""
    kind = kind or BACK.get(measure)
    if kind is None:
        return None
    if type(x) is float:  # one number (a pooled result): math, without numpy's per-call cost
        return _SCALAR_BACK[kind](x)
    if kind == "exp":
        return np.exp(x)
    if kind == "tanh":
        return np.tanh(x)
    return 1.0 / (1.0 + np.exp(-np.asarray(x, float)))


def _binary(df: pd.DataFrame, labels: list[str], measure: str
            ) -> tuple[np.ndarray, np.ndarray, list[dict[str, str]], list[int]]:
    """yi, vi, the excluded (not estimable) studies and their rows."""
    a = numeric(df, "events_t", labels)
    n1 = numeric(df, "n_t", labels)
    c = numeric(df, "events_c", labels)
    n2 = numeric(df, "n_c", labels)
    for col, x in (("n_t", n1), ("n_c", n2)):
        check(x > 0, labels, col, x, "group sizes must be > 0")
    for col, x, n, ncol in (("events_t", a, n1, "n_t"), ("events_c", c, n2, "n_c")):
        check(x >= 0, labels, col, x, "event counts must be >= 0")
        check(x <= n, labels, col, x, f"events cannot exceed {ncol}")
    b, d = n1 - a, n2 - c
    excluded: list[dict[str, str]] = []
    drop = np.zeros(len(a), dtype=bool)
    if measure in ("OR", "RR"):
        none = (a == 0) & (c == 0)
        alln = (b == 0) & (d == 0)
        drop = none | alln
        for i in np.flatnonzero(drop):
            why = "no events in either arm" if none[i] else "all participants had events in both arms"
            excluded.append({"study": labels[i], "reason": f"{why} (not estimable for {measure})"})
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    add = np.where(zero, 0.5, 0.0)
    a, b, c, d = a + add, b + add, c + add, d + add
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(a * d / (b * c))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log((a / n1) / (c / n2))
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        else:
            p1, p2 = a / n1, c / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    yi[drop] = np.nan
    vi[drop] = np.nan
    return yi, vi, excluded, np.flatnonzero(drop).tolist()


def hedges_j(m: np.ndarray) -> np.ndarray:
    """Exact small-sample correction ``J(m)`` (Hedges 1981), via log-gamma so it never overflows."""
    return np.exp(lgamma(m / 2) - 0.5 * np.log(m / 2) - lgamma((m - 1) / 2))


def _continuous(df: pd.DataFrame, labels: list[str], measure: str) -> tuple[np.ndarray, np.ndarray]:
    m1, s1, n1 = (numeric(df, c, labels) for c in ("mean_t", "sd_t", "n_t"))
    m2, s2, n2 = (numeric(df, c, labels) for c in ("mean_c", "sd_c", "n_c"))
    for col, x in (("n_t", n1), ("n_c", n2)):
        check(x > 0, labels, col, x, "group sizes must be > 0")
    for col, x in (("sd_t", s1), ("sd_c", s2)):
        check(x > 0, labels, col, x, "standard deviations must be > 0")
    if measure == "MD":
        return m1 - m2, s1**2 / n1 + s2**2 / n2
    if measure == "ROM":
        for col, x in (("mean_t", m1), ("mean_c", m2)):
            check(x > 0, labels, col, x, "ROM (ratio of means) needs positive means")
        return np.log(m1 / m2), s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
    N = n1 + n2
    check(N > 3, labels, "n_t", n1, "SMD needs n_t + n_c > 3 for the small-sample correction")
    sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (N - 2))
    g = hedges_j(N - 2) * (m1 - m2) / sp
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * N)


def _correlation(df: pd.DataFrame, labels: list[str], measure: str) -> tuple[np.ndarray, np.ndarray]:
    r = numeric(df, "r", labels)
    n = numeric(df, "n", labels)
    check((r > -1) & (r < 1), labels, "r", r, "correlations must lie strictly between -1 and 1")
    if measure == "ZCOR":
        check(n > 3, labels, "n", n, "Fisher's z needs n > 3")
        return np.arctanh(r), 1 / (n - 3)
    check(n > 1, labels, "n", n, "the sample size must be > 1")
    return r, (1 - r**2) ** 2 / (n - 1)


def _proportion(df: pd.DataFrame, labels: list[str], measure: str) -> tuple[np.ndarray, np.ndarray]:
    x = numeric(df, "events", labels)
    n = numeric(df, "n", labels)
    check(n > 0, labels, "n", n, "sample sizes must be > 0")
    check(x >= 0, labels, "events", x, "event counts must be >= 0")
    check(x <= n, labels, "events", x, "events cannot exceed n")
    edge = (x == 0) | (x == n)
    x = np.where(edge, x + 0.5, x)
    n = np.where(edge, n + 1, n)
    if measure == "PLO":
        return np.log(x / (n - x)), 1 / x + 1 / (n - x)
    p = x / n
    return p, p * (1 - p) / n


def _generic(df: pd.DataFrame, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    yi = numeric(df, "yi", labels)
    if "vi" in df.columns:
        vi = numeric(df, "vi", labels)
        check(vi > 0, labels, "vi", vi, "sampling variances must be > 0")
    elif "sei" in df.columns:
        se = numeric(df, "sei", labels)
        check(se > 0, labels, "sei", se, "standard errors must be > 0")
        vi = se**2
    else:
        lo = numeric(df, "ci_low", labels)
        hi = numeric(df, "ci_high", labels)
        check(hi > lo, labels, "ci_high", hi, "the upper 95% limit must exceed ci_low")
        check((lo <= yi) & (yi <= hi), labels, "yi", yi, "the estimate must lie inside its confidence interval")
        vi = ((hi - lo) / (2 * Z975)) ** 2
    return yi, vi


def _effects(df: pd.DataFrame, labels: list[str], m: str
             ) -> tuple[np.ndarray, np.ndarray, list[dict[str, str]], list[int]]:
    if m in ("OR", "RR", "RD"):
        yi, vi, excluded, rows = _binary(df, labels, m)
        return np.asarray(yi, float), np.asarray(vi, float), excluded, rows
    if m in ("MD", "SMD", "ROM"):
        yi, vi = _continuous(df, labels, m)
    elif m in ("ZCOR", "COR"):
        yi, vi = _correlation(df, labels, m)
    elif m in ("PLO", "PR"):
        yi, vi = _proportion(df, labels, m)
    else:
        yi, vi = _generic(df, labels)
    return np.asarray(yi, float), np.asarray(vi, float), [], []


def compute_effects(df: Any, measure: str | None = None) -> EffectTable:
    """Effect sizes ``yi`` and variances ``vi`` for every row of ``df`` (one row per study).

    Raises :class:`InputError` naming the study and field for missing columns, non-numeric cells, or
    impossible values (negative counts, events > n, n <= 0, SD <= 0, variance <= 0, |r| >= 1). A missing value
    (NA, empty, NR) is not an error: that study's ``yi``/``vi`` are NaN and it is listed in ``omitted`` with the
    fields that were missing (metafor's ``na.action = "na.omit"``).
    """
    m = infer_measure(df, measure)
    require_columns(df, m)
    labels = study_labels(df)
    # Missing values (NA, empty, NR) omit the study, as metafor's na.action = "na.omit": its yi and vi are NA,
    # it is left out of the model and listed with the fields that were missing. Impossible values still raise.
    missing = missing_cells(df, needed_columns(df, m))
    keep = np.array([i not in missing for i in range(len(df))], dtype=bool)
    sub = take(df, keep) if missing else df
    sub_labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    yi = np.full(len(df), np.nan)
    vi = np.full(len(df), np.nan)
    excluded: list[dict[str, str]] = []
    excluded_rows: list[int] = []
    if len(sub):
        yi_k, vi_k, excluded, sub_rows = _effects(sub, sub_labels, m)
        yi[keep], vi[keep] = yi_k, vi_k
        excluded_rows = np.flatnonzero(keep)[sub_rows].tolist()
    omitted = [{"study": labels[i], "fields": cols,
                "reason": f"{', '.join(cols)} missing (NA): not estimable, omitted from the model"}
               for i, cols in sorted(missing.items())]
    ok = np.isfinite(yi)
    bad = np.flatnonzero(ok & ~(np.isfinite(vi) & (vi > 0)))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"Study {labels[i]!r}: field vi = {vi[i]} (computed) but sampling variances must be > 0. "
                         "Check the study's data.")
    frame = with_columns(df, yi=yi, vi=vi)
    return EffectTable(measure=m, studies=labels, yi=yi, vi=vi, excluded=excluded, frame=frame, omitted=omitted,
                       omitted_rows=sorted(missing), excluded_rows=excluded_rows)


def effects_frame(yi: Any, vi: Any, studies: Any = None) -> Columns:
    """A generic-measure table from plain arrays (for the library API)."""
    data: dict[str, Any] = {"yi": np.asarray(yi, dtype=float), "vi": np.asarray(vi, dtype=float)}
    if studies is not None:
        data = {"study": np.array([str(s) for s in studies], dtype=object), **data}
    return Columns(data)


def ensure_k(table: EffectTable) -> None:
    """Raise when no study is left to analyse."""
    if not table.included.any():
        reasons = "; ".join(f"{e['study']}: {e['reason']}" for e in table.not_in_model) or "no rows"
        raise InputError(f"No study can be analysed with measure {table.measure} ({reasons}). "
                         "Give at least 2 studies with estimable effects.")
