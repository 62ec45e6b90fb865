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


def log_axis(ax: Any, measure: str, lo: float, hi: float, axis: str = "x") -> None:
    """Ticks at round ratios (0.5, 1, 2...) on a log-scale axis of a ratio measure; other measures untouched."""
    if measure not in RATIO:
        return
    import numpy as np

    grid = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if hi - lo > math.log(6) else (0.25, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 4)
    ticks = [t for t in grid if lo <= math.log(t) <= hi]
    if len(ticks) >= 2:
        setter = ax.set_xticks if axis == "x" else ax.set_yticks
        labeller = ax.set_xticklabels if axis == "x" else ax.set_yticklabels
        setter(np.log(ticks))
        labeller([f"{t:g}" for t in ticks])
