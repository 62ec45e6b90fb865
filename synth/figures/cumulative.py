"""The cumulative meta-analysis by year (Lau et al. 1992) of an evidence-report outcome, as SVG text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synth.figures import mpl, palette
from synth.figures.axes import log_axis


def cumulative(res: Mapping[str, Any]) -> str:
    """Cumulative meta-analysis by year: pooled estimate and CI as each year's studies are added."""
    plt = mpl.pyplot()
    rows = list(res.get("cumulative") or [])
    measure = str(res.get("measure"))
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * max(len(rows), 1)))
    for i, r in enumerate(rows):
        y = len(rows) - i
        c = palette.STEP_COLOURS.get(r.get("status", ""), "black")
        ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=c, lw=1.2)
        ax.plot([r["estimate"]], [y], marker="o", color=c, markersize=4)
    ax.axvline(0, color="grey", lw=0.8)
    mie = res.get("minimal_important_effect")
    if mie:
        for x in (-abs(mie), abs(mie)):
            ax.axvline(x, color="#888", lw=0.6, ls=":")
    ax.set_yticks([len(rows) - i for i in range(len(rows))])
    ax.set_yticklabels([f"{r.get('year') or 'n.d.'} (k={r['k']}, n={r.get('participants', 0)})" for r in rows],
                       fontsize=8)
    lo, hi = ax.get_xlim()
    log_axis(ax, measure, lo, hi)
    first = res.get("first_ris_year")
    ax.set_title(f"{res.get('label')}: " + (f"information size reached by {first} (nominal CIs)" if first
                                             else "required information size not reached"), fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return mpl.svg_text(fig)
