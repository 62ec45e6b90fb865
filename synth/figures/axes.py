"""What the effect axes of the figures share: measure names, which measures are ratios, and ratio-scale ticks."""

from __future__ import annotations

import math
from typing import Any

LABELS = {"OR": "Odds ratio", "RR": "Risk ratio", "RD": "Risk difference", "MD": "Mean difference",
          "SMD": "Std. mean difference (Hedges' g)", "ROM": "Ratio of means", "ZCOR": "Correlation",
          "COR": "Correlation", "PLO": "Proportion", "PR": "Proportion", "GEN": "Effect"}
RATIO = ("RR", "OR", "ROM")
"""Measures analysed on the log scale and labelled on the ratio scale."""


def axis_label(measure: str) -> str:
    return LABELS.get(measure, measure) + (" (log scale)" if measure in RATIO else "")


def fmt(measure: str, x: float | None) -> str:
    """A value on the measure's natural scale, 2 decimals (``NA`` for none)."""
    if x is None:
        return "NA"
    return f"{math.exp(x):.2f}" if measure in RATIO else f"{x:.2f}"


RATIO_GRID = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
"""Round ratios for a ratio-scale axis (RevMan and metafor label 0.1, 0.2, 0.5, 1, 2, 5, 10)."""
NARROW_GRID = (0.25, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 4)
"""Round ratios for an axis spanning less than a factor of 6."""


def ratio_ticks(lo: float, hi: float) -> list[float]:
    """Round ratios whose logs lie in [lo, hi]: 1-2-5 steps, thinned to powers of ten past nine ticks, finer
    steps for a narrow axis; [] when fewer than two fit."""
    grid = RATIO_GRID if hi - lo > math.log(6) else NARROW_GRID
    ticks = [t for t in grid if lo <= math.log(t) <= hi]
    if len(ticks) > 9:
        ticks = [t for t in ticks if math.log10(t).is_integer()]
    return ticks if len(ticks) >= 2 else []


def linear_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """About ``target`` evenly spaced round values (steps of 1, 2, 2.5 or 5 x 10^n) in [lo, hi].

    >>> linear_ticks(-0.93, 1.4)
    [-0.5, 0.0, 0.5, 1.0]
    """
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9)
    return [round(i * step, 12) + 0.0 for i in range(first, math.floor(hi / step + 1e-9) + 1)]


def log_axis(ax: Any, measure: str, lo: float, hi: float, axis: str = "x") -> None:
    """Ticks at round ratios (0.5, 1, 2...) on a log-scale axis of a ratio measure; other measures untouched."""
    if measure not in RATIO:
        return
    import numpy as np

    ticks = ratio_ticks(lo, hi)
    if ticks:
        setter = ax.set_xticks if axis == "x" else ax.set_yticks
        labeller = ax.set_xticklabels if axis == "x" else ax.set_yticklabels
        setter(np.log(ticks))
        labeller([f"{t:g}" for t in ticks])
