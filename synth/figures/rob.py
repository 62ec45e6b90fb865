"""Risk-of-bias figures: the traffic-light plot of judgements (as in robvis, McGuinness & Higgins 2021) and the
share of analysis weight at each judgement, outcome by outcome.

One row per assessment (study, and outcome when the study has several), one column per domain plus Overall;
green "+" low, yellow "-" some concerns / moderate, red "x" high / serious, dark red "!" critical, blue "?"
no information / unclear, blank when not judged. matplotlib is imported only when a plot is drawn; the file
type follows the suffix (.svg, .png, .pdf).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synth.errors import InputError
from synth.extraction.rob import TOOLS
from synth.figures import mpl, palette

SUFFIXES = (".svg", ".png", ".pdf")
#: the tools with domains to draw (MMAT has criteria, not domains)
PLOT_TOOLS = tuple(name for name, tool in TOOLS.items() if tool.domains)


def check_plot(out: Path, tool: str) -> None:
    """Raise :class:`InputError` when ``out`` has no plot suffix or ``tool`` has no domains to draw."""
    if out.suffix.lower() not in SUFFIXES:
        raise InputError(f"cannot write a plot to '{out.name}': unknown file type. Use a name ending in {', '.join(SUFFIXES)}.")
    if tool not in PLOT_TOOLS:
        raise InputError(f"no traffic-light plot for tool '{tool}'. Use one of: {', '.join(PLOT_TOOLS)}.")


def traffic_light(rows: list[dict[str, Any]], out: Path, tool: str = "rob2", outcome: str | None = None) -> Path:
    """Draw the traffic-light plot of ``rows`` (from :func:`synth.extraction.table.rob_rows`: one per
    ``tool`` assessment) to ``out``; returns the path written."""
    check_plot(out, tool)
    if not rows:
        where = f" for outcome '{outcome}'" if outcome else ""
        raise InputError(f"no {tool} assessments in the reconciled extraction files{where}. "
                         "Add them with `synth extract rob STUDY --outcome ID`.")
    plt = mpl.pyplot()

    domains = [d.id for d in TOOLS[tool].domains] + (["overall"] if TOOLS[tool].has_overall else [])
    several = len({(r["outcome"], r["timepoint"]) for r in rows}) > 1
    labels = [r["label"] + (f"  [{r['outcome']}{' ' + r['timepoint'] if r['timepoint'] else ''}]" if several else "")
              for r in rows]
    height = 0.8 + 0.38 * len(rows)
    fig, ax = plt.subplots(figsize=(3.2 + 0.7 * len(domains) + 0.06 * max(map(len, labels)), height))
    for y, row in enumerate(rows):
        for x, d in enumerate(domains):
            style = palette.rob_style(row["judgements"].get(d))
            if style is None:
                continue
            colour, mark = style
            ax.scatter(x, y, s=260, color=colour, edgecolors="black", linewidths=0.5, zorder=2)
            ax.text(x, y, mark, ha="center", va="center", fontsize=10, fontweight="bold", color="black", zorder=3)
    ax.set_xticks(range(len(domains)), [d if d != "overall" else "Overall" for d in domains])
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xlim(-0.6, len(domains) - 0.4)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.grid(True, color="#dddddd", zorder=0)
    names = "; ".join(f"{d.id} {d.label}" for d in TOOLS[tool].domains)
    fig.text(0.01, 0.005, f"{TOOLS[tool].label}. {names}", fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return mpl.save(fig, out, dpi=100)


def rob_profile(outcomes: Sequence[Mapping[str, Any]]) -> str:
    """Share of analysis weight at each risk-of-bias judgement, one bar per outcome with studies."""
    plt = mpl.pyplot()
    rows = [o for o in outcomes if o.get("k")]
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.35 * max(len(rows), 1)))
    for i, o in enumerate(rows):
        left = 0.0
        for j in ("low", "some-concerns", "high", "unknown"):
            share = float((o.get("rob_weight") or {}).get(j, 0.0))
            if share:
                ax.barh(len(rows) - i, share, left=left, color=palette.CLASS_COLOURS[j], edgecolor="white",
                        label=j if i == 0 or j not in ax.get_legend_handles_labels()[1] else None)
                left += share
    ax.set_yticks([len(rows) - i for i in range(len(rows))])
    ax.set_yticklabels([str(o["label"])[:45] for o in rows], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Share of random-effects weight")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=False))
    if uniq:
        ax.legend(uniq.values(), uniq.keys(), fontsize=7, loc="lower right", frameon=False,
                  bbox_to_anchor=(1.0, 1.0), ncol=4)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return mpl.svg_text(fig)
