"""The contour-enhanced funnel plot (Peters et al. 2008): effects against their standard error (inverted),
shaded by the two-sided p-value regions around 0, with the pooled estimate and its pseudo 95% limits.
:func:`funnel_plot` draws an effect table to a file; :func:`funnel_svg` draws the studies of an evidence-report
outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.figures import mpl, palette
from synth.figures.axes import axis_label, log_axis
from synth.meta import dist
from synth.meta.analysis import pool_effects

if TYPE_CHECKING:
    from synth.meta.effects import EffectTable
    from synth.meta.pooling import PoolOptions


def funnel_plot(table: EffectTable, output: str | Path, opts: PoolOptions) -> dict[str, Any]:
    """Draw the funnel plot of ``table`` to ``output`` (.svg/.png), around the estimate pooled with ``opts``;
    returns the pooled result."""
    path = Path(output)
    mpl.check_suffix(path)
    res = pool_effects(table, opts)
    inc = table.included
    y, se = table.yi[inc], np.sqrt(table.vi[inc])
    fig = _funnel(y, se, res["estimate"], table.measure, f"Contour-enhanced funnel plot (k = {int(inc.sum())})")
    mpl.save(fig, path)
    return res


def funnel_svg(res: Mapping[str, Any]) -> str:
    """The funnel plot of an evidence-report outcome (``studies`` with ``yi``/``vi``, ``estimate``, ``measure``,
    ``label``) as SVG text."""
    studies: Sequence[Mapping[str, Any]] = list(res.get("studies") or [])
    y = np.array([float(s["yi"]) for s in studies])
    se = np.sqrt(np.array([float(s["vi"]) for s in studies]))
    note = "" if int(res.get("k") or 0) >= 10 else " (k < 10: no small-study test)"
    return mpl.svg_text(_funnel(y, se, res.get("estimate"), str(res.get("measure")), f"{res.get('label')}{note}"))


def _funnel(y: Any, se: Any, mu: float | None, measure: str, title: str) -> Any:
    plt = mpl.pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    smax = (float(se.max()) if len(se) else 1.0) * 1.1
    s = np.linspace(0, smax, 100)
    xmax = max(float(np.max(np.abs(y))) * 1.1 if len(y) else 0.0, dist.norm_isf(0.005) * smax)
    ax.fill_betweenx(s, -xmax, xmax, color="#bdbdbd", label="p < 0.01")
    for p, col, lab in ((0.01, "#d9d9d9", "0.01 < p < 0.05"), (0.05, "#f0f0f0", "0.05 < p < 0.10"),
                        (0.10, "white", "p > 0.10")):
        zc = dist.norm_isf(p / 2)
        ax.fill_betweenx(s, -zc * s, zc * s, color=col, label=lab)
    if mu is not None:
        ax.plot([mu, mu], [0, smax], color=palette.POOLED, lw=1)
        ax.plot([mu - 1.96 * smax, mu, mu + 1.96 * smax], [smax, 0, smax], color=palette.POOLED, lw=0.8, ls="--")
    ax.scatter(y, se, color=palette.EFFECT, zorder=3, s=22, edgecolor="black", lw=0.5)
    ax.set_ylim(smax, 0)
    ax.set_xlim(-xmax, xmax)
    log_axis(ax, measure, -xmax, xmax)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(axis_label(measure))
    ax.legend(loc="lower right", fontsize=7, frameon=True)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
