"""Figures for the evidence report, each returned as a standalone SVG string (no files, no network).

Forest, funnel, cumulative and risk-of-bias plots are drawn with matplotlib (imported lazily, Agg backend,
fixed hash salt so output is reproducible); the evidence-gap map is plain SVG. Effects on ratio measures (RR,
OR) are analysed on the log scale and labelled on the ratio scale.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

RATIO = ("RR", "OR", "ROM")
ROB_COLOURS = {"low": "#2e7d32", "some-concerns": "#f9a825", "high": "#c62828", "unknown": "#9e9e9e"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    import matplotlib

    buf = io.StringIO()
    # text stays text (searchable, smaller) in the report; set per call so other plots keep their settings
    with matplotlib.rc_context({"svg.hashsalt": "synth", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _fmt(measure: str, x: float | None) -> str:
    if x is None:
        return "NA"
    return f"{math.exp(x):.2f}" if measure in RATIO else f"{x:.2f}"


def _log_axis(ax: Any, measure: str, lo: float, hi: float, axis: str = "x") -> None:
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


def forest(res: Mapping[str, Any]) -> str:
    """Forest plot: study estimates with 95% CIs (box size by weight), pooled diamond, prediction interval."""
    plt = _plt()
    studies = list(res.get("studies") or [])
    measure = str(res.get("measure"))
    n = len(studies)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.32 * (n + 2)))
    z = 1.959963984540054
    lows, highs = [], []
    for i, s in enumerate(studies):
        y = n - i + 1
        half = z * math.sqrt(s["vi"])
        lows.append(s["yi"] - half)
        highs.append(s["yi"] + half)
        ax.plot([s["yi"] - half, s["yi"] + half], [y, y], color="black", lw=1)
        ax.plot([s["yi"]], [y], marker="s", color="#1f4e79", markersize=3 + 9 * math.sqrt(s.get("weight", 0.1)))
    est = res.get("estimate")
    if est is not None:
        lo, hi = res["ci_low"], res["ci_high"]
        ax.fill([lo, est, hi, est], [0.5, 0.8, 0.5, 0.2], color="#c00000")
        lows.append(lo)
        highs.append(hi)
        if res.get("pi_low") is not None:
            ax.plot([res["pi_low"], res["pi_high"]], [0.5, 0.5], color="#c00000", lw=1, ls="--")
            lows.append(res["pi_low"])
            highs.append(res["pi_high"])
    ax.axvline(0, color="grey", lw=0.8)
    labels = [f"{s['label']}  {_fmt(measure, s['yi'])}" for s in studies]
    pooled_label = (f"Pooled (k={res.get('k')})  {_fmt(measure, est)} [{_fmt(measure, res.get('ci_low'))}, "
                    f"{_fmt(measure, res.get('ci_high'))}]" if est is not None else "Not pooled")
    ax.set_yticks([*(n - i + 1 for i in range(n)), 0.5])
    ax.set_yticklabels([*labels, pooled_label], fontsize=8)
    lo_all, hi_all = min([*lows, 0.0]), max([*highs, 0.0])
    pad = 0.05 * (hi_all - lo_all or 1)
    ax.set_xlim(lo_all - pad, hi_all + pad)
    _log_axis(ax, measure, lo_all - pad, hi_all + pad)
    ax.set_xlabel(f"{measure}" + (" (log scale)" if measure in RATIO else ""))
    ax.set_title(str(res.get("label")), fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig)


def funnel(res: Mapping[str, Any]) -> str:
    """Funnel plot: effect vs standard error with pseudo-95% limits around the pooled estimate."""
    plt = _plt()
    studies = list(res.get("studies") or [])
    measure = str(res.get("measure"))
    fig, ax = plt.subplots(figsize=(5, 4))
    se = [math.sqrt(s["vi"]) for s in studies]
    ax.scatter([s["yi"] for s in studies], se, color="#1f4e79", s=18, zorder=3)
    est = res.get("estimate")
    top = max(se) * 1.1 if se else 1.0
    if est is not None:
        ax.plot([est - 1.96 * top, est, est + 1.96 * top], [top, 0, top], color="grey", ls="--", lw=0.8)
        ax.axvline(est, color="#c00000", lw=0.8)
    ax.set_ylim(top, 0)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(f"{measure}" + (" (log scale)" if measure in RATIO else ""))
    lo, hi = ax.get_xlim()
    _log_axis(ax, measure, lo, hi)
    note = "" if int(res.get("k") or 0) >= 10 else " (k < 10: no small-study test)"
    ax.set_title(f"{res.get('label')}{note}", fontsize=9)
    return _svg(fig)


def cumulative(res: Mapping[str, Any]) -> str:
    """Cumulative meta-analysis by year: pooled estimate and CI as each year's studies are added."""
    plt = _plt()
    rows = list(res.get("cumulative") or [])
    measure = str(res.get("measure"))
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * max(len(rows), 1)))
    colours = {"conclusive-effect": "#2e7d32", "conclusive-no-important-effect": "#1565c0"}
    for i, r in enumerate(rows):
        y = len(rows) - i
        c = colours.get(r.get("status", ""), "black")
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
    _log_axis(ax, measure, lo, hi)
    first = res.get("first_conclusive_year")
    ax.set_title(f"{res.get('label')}: " + (f"conclusive from {first}" if first else "never conclusive"), fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig)


def rob_profile(outcomes: Sequence[Mapping[str, Any]]) -> str:
    """Share of analysis weight at each risk-of-bias judgement, one bar per outcome with studies."""
    plt = _plt()
    rows = [o for o in outcomes if o.get("k")]
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.35 * max(len(rows), 1)))
    for i, o in enumerate(rows):
        left = 0.0
        for j in ("low", "some-concerns", "high", "unknown"):
            share = float((o.get("rob_weight") or {}).get(j, 0.0))
            if share:
                ax.barh(len(rows) - i, share, left=left, color=ROB_COLOURS[j], edgecolor="white",
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
    return _svg(fig)


def gap_map(gm: Mapping[str, Any]) -> str:
    """Evidence-gap map as SVG: partnership models (rows) x outcome domains (columns); bubble area by study
    count, colour by the cell's risk of bias (red when only high-risk evidence), empty cells marked as gaps."""
    domains = list(gm.get("domains") or [])
    models = list(gm.get("models") or [])
    cells = {(c["model"], c["domain"]): c for c in gm.get("cells") or []}
    left, top, cw, ch = 210, 80, 110, 44
    width, height = left + cw * len(domains) + 20, top + ch * len(models) + 50
    peak = max([c["n_studies"] for c in cells.values()] + [1])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="Arial, Helvetica, sans-serif" font-size="11" role="img" aria-label="Evidence-gap map" '
           'class="gap-map">', "<title>Evidence-gap map</title>",
           f'<rect width="{width}" height="{height}" fill="#fff"/>']
    for j, d in enumerate(domains):
        x = left + cw * j + cw / 2
        words = textwrap.wrap(str(d["label"]), 17)[:3]
        spans = "".join(f'<tspan x="{x:.0f}" dy="{0 if i == 0 else 13}">{escape(w)}</tspan>' for i, w in enumerate(words))
        out.append(f'<text x="{x:.0f}" y="{top - 8 - 13 * (len(words) - 1)}" text-anchor="middle" '
                   f'font-weight="bold">{spans}</text>')
    for i, m in enumerate(models):
        y = top + ch * i
        out.append(f'<text x="{left - 8}" y="{y + ch / 2 + 4:.0f}" text-anchor="end">{escape(str(m["label"])[:32])}</text>')
        for j, d in enumerate(domains):
            x = left + cw * j
            c = cells.get((m["id"], d["id"]))
            n = c["n_studies"] if c else 0
            out.append(f'<rect x="{x}" y="{y}" width="{cw}" height="{ch}" fill="{"#fafafa" if n else "#fff3f3"}" '
                       f'stroke="#ccc" data-model="{escape(m["id"])}" data-domain="{escape(d["id"])}" data-n="{n}"/>')
            if n:
                r = 4 + 14 * math.sqrt(n / peak)
                colour = "#c62828" if c and c["only_high_risk"] else ("#f9a825" if c and c["single_study"] else "#1f4e79")
                out.append(f'<circle cx="{x + cw / 2}" cy="{y + ch / 2}" r="{r:.1f}" fill="{colour}" fill-opacity="0.8"/>')
                out.append(f'<text x="{x + cw / 2}" y="{y + ch / 2 + 4}" text-anchor="middle" fill="#fff" '
                           f'font-weight="bold">{n}</text>')
            else:
                out.append(f'<text x="{x + cw / 2}" y="{y + ch / 2 + 4}" text-anchor="middle" fill="#b71c1c">gap</text>')
    ly = top + ch * len(models) + 25
    out.append(f'<text x="{left}" y="{ly}">Bubble: number of studies. Blue: 2+ studies; amber: a single study; '
               'red: only high-risk evidence; "gap": no study.</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
