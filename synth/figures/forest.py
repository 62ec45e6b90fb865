"""The RevMan-style forest plot of an effect table: study effects with CIs and weights, per-arm data, subgroup
blocks, the pooled diamond, the prediction interval and, when judged, the risk-of-bias marks per domain (robvis
palette). :func:`forest_svg` returns the SVG text; :func:`forest_plot` writes a .svg or .png file.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError
from synth.figures import mpl, palette
from synth.figures.axes import LABELS
from synth.meta import dist
from synth.meta.analysis import pool_by, pool_effects
from synth.meta.effects import back_transform
from synth.meta.io import as_pandas, finite_or_none
from synth.meta.pooling import PoolOptions
from synth.meta.subgroup import subgroup_analysis

if TYPE_CHECKING:
    from synth.meta.effects import EffectTable

_KIND: dict[str, str | None] = {"kind": None}


def _nat(measure: str, x: Any) -> Any:
    b = back_transform(measure, x, _KIND["kind"])
    return x if b is None else b


def _fmt_ci(measure: str, est: float | None, lo: float | None, hi: float | None) -> str:
    if est is None or lo is None or hi is None:
        return ""
    return f"{_nat(measure, est):.2f} [{_nat(measure, lo):.2f}, {_nat(measure, hi):.2f}]"


def _p(p: float | None) -> str:
    if p is None:
        return "= n/a"
    return "< 0.00001" if p < 1e-5 else f"= {p:.2g}" if p < 0.001 else f"= {p:.3f}"


def _het_line(res: dict[str, Any]) -> str:
    if res.get("k", 0) < 2 or res.get("q") is None:
        return ""
    tau2 = "" if res["tau2"] is None else f"Tau\u00b2 = {res['tau2']:.3g}; "
    return (f"Heterogeneity: {tau2}Chi\u00b2 = {res['q']:.2f}, df = {res['q_df']} (P {_p(res['q_p'])}); "
            f"I\u00b2 = {res['i2']:.0f}%")


def _overall_line(res: dict[str, Any]) -> str:
    if res.get("stat") is None:
        return ""
    name = "Z" if res["df"] is None else f"t({res['df']})"
    return f"Test for overall effect: {name} = {abs(res['stat']):.2f} (P {_p(res['p'])})"


def _arm_columns(frame: Any, measure: str) -> list[tuple[str, str]] | None:
    """Per-arm data shown beside each study (RevMan): events/total, or mean (SD) N."""
    def num(x: Any) -> str:
        v = finite_or_none(x)
        return "NA" if v is None else f"{int(v)}" if v.is_integer() else f"{v:.3g}"

    def g(x: Any) -> str:
        v = finite_or_none(x)
        return "NA" if v is None else f"{v:.3g}"

    def has(*cols: str) -> bool:
        return all(c in frame.columns for c in cols)

    if measure in ("OR", "RR", "RD") and has("events_t", "n_t", "events_c", "n_c"):
        return [(f"{num(r.events_t)}/{num(r.n_t)}", f"{num(r.events_c)}/{num(r.n_c)}") for r in frame.itertuples()]
    if measure in ("MD", "SMD", "ROM") and has("mean_t", "sd_t", "n_t", "mean_c", "sd_c", "n_c"):
        return [(f"{g(r.mean_t)} ({g(r.sd_t)}) {num(r.n_t)}",
                 f"{g(r.mean_c)} ({g(r.sd_c)}) {num(r.n_c)}") for r in frame.itertuples()]
    return None


def _rob_columns(frame: Any) -> list[str]:
    """Risk-of-bias columns with at least one judgement (``rob_D1``... then ``rob_overall``), in plot order."""
    cols = [c for c in frame.columns if c.startswith("rob_") and c != "rob_tool"
            and frame[c].map(lambda v: isinstance(v, str) and bool(v.strip())).any()]
    return sorted(cols, key=lambda c: (c == "rob_overall", c))


def _rob_cell(value: Any) -> tuple[str, str]:
    style = palette.rob_style(value)
    return (style[1], style[0]) if style else ("", palette.NOT_ASSESSED)


def forest_plot(table: EffectTable, output: str | Path, opts: PoolOptions, by: str | None = None) -> dict[str, Any]:
    """Draw the forest plot of ``table`` to ``output`` (.svg/.png); returns the pooled result."""
    path = Path(output)
    ext = mpl.check_suffix(path)
    if ext == "svg":
        svg, overall = _forest(table, opts, by, svg=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        return overall
    fig, overall = _forest(table, opts, by)
    mpl.save(fig, path)
    return overall


def forest_svg(table: EffectTable, opts: PoolOptions, by: str | None = None) -> str:
    """The forest plot of ``table`` as SVG text (the same drawing :func:`forest_plot` writes to a .svg file)."""
    return str(_forest(table, opts, by, svg=True)[0])


def _forest(table: EffectTable, opts: PoolOptions, by: str | None, *, svg: bool = False) -> tuple[Any, dict[str, Any]]:
    """The figure (or, with ``svg``, its SVG text) and the pooled result.

    When the data carry risk-of-bias judgements (``rob_D1``..., ``rob_overall``, as
    :func:`synth.analysis.table.meta_table` gives them), a RevMan-style column of marks per domain follows
    the effect column, in the robvis palette of :mod:`synth.figures.palette`.
    """
    table_frame = as_pandas(table.frame)
    measure = table.measure
    _KIND["kind"] = opts.back
    overall = pool_effects(table, opts)
    blocks: list[tuple[str | None, dict[str, Any]]] = []
    if by:
        inc = table.included
        sub = table_frame.loc[inc].reset_index(drop=True)
        if by not in sub.columns:
            raise InputError(f"--by column {by!r} is not in the data. Name an existing column.")
        blocks = [(g["group"], g) for g in pool_by(sub, by, measure, opts)]
    else:
        blocks = [(None, overall)]
    # one dict per plotted row; studies keep the input order within each block
    z = dist.norm_isf((1 - opts.level / 100) / 2)
    rows: list[dict[str, Any]] = []
    inc_frame = table_frame.loc[table.included].reset_index(drop=True)
    arms = _arm_columns(inc_frame, measure)
    rob_cols = _rob_columns(inc_frame)
    total_w = overall["studies"]
    # studies not in the model (no estimable effect, or a missing value) keep their place, marked as RevMan does
    all_frame = table_frame
    all_arms = _arm_columns(all_frame, measure)
    inc_of_row = np.cumsum(table.included) - 1  # row of the full table -> row among included studies
    groups = all_frame[by].astype(str).str.strip().tolist() if by else None
    for name, res in blocks:
        if name is not None:
            rows.append({"kind": "header", "label": str(name)})
        in_block = [i for i in range(len(all_frame)) if groups is None or groups[i] == name]
        studies = iter(res["studies"])
        for i in in_block:
            if not table.included[i]:
                rows.append({"kind": "na", "label": table.studies[i][:34],
                             "arms": all_arms[i] if all_arms else None})
                continue
            j, s = int(inc_of_row[i]), next(studies)
            se = float(np.sqrt(s["vi"]))
            rows.append({"kind": "study", "label": s["study"][:34], "est": s["yi"], "lo": s["yi"] - z * se,
                         "hi": s["yi"] + z * se, "w": total_w[j]["weight"], "arms": arms[j] if arms else None,
                         "rob": [_rob_cell(inc_frame[c].iloc[j]) for c in rob_cols]})
        if name is not None and res["k"] >= 2:
            rows.append({"kind": "diamond", "label": f"Subtotal ({opts.level:g}% CI)", "res": res, "small": True})
            rows.append({"kind": "text", "label": _het_line(res)})
        if name is not None:
            rows.append({"kind": "space"})
    rows.append({"kind": "diamond", "label": f"Total ({opts.level:g}% CI)", "res": overall, "small": False})
    if overall.get("pi_low") is not None:
        rows.append({"kind": "pi", "label": "Prediction interval", "res": overall})
    rows.append({"kind": "text", "label": _het_line(overall)})
    rows.append({"kind": "text", "label": _overall_line(overall)})
    if by and len(blocks) >= 2:
        t = subgroup_analysis(table, by, opts)["test_separate"]
        rows.append({"kind": "text", "label": f"Test for subgroup differences: Chi\u00b2 = {t['q']:.2f}, df = {t['df']} "
                                              f"(P {_p(t['p'])})"})

    plt = mpl.pyplot()
    n = len(rows)
    height = 0.32 * (n + 3) + 1.0
    # with risk-of-bias columns the figure is wider and the plot panel narrower, so the marks fit on the right
    fig = plt.figure(figsize=(13 if rob_cols else 11, height))
    ax = fig.add_axes((0.34 if rob_cols else 0.42, 1.0 / height, 0.24 if rob_cols else 0.30, 1 - 1.4 / height))
    ratio = measure in ("OR", "RR", "ROM") or opts.back == "exp"
    xs = [v for r in rows if r["kind"] == "study" for v in (r["lo"], r["hi"])]
    xs += [v for r in rows if r["kind"] in ("diamond", "pi") for v in (r["res"]["ci_low"], r["res"]["ci_high"])
           if v is not None]
    lo_x, hi_x = (min(xs), max(xs)) if xs else (-1, 1)
    span = max(hi_x - lo_x, 1e-6)
    lo_x, hi_x = min(lo_x - 0.05 * span, 0 - 0.05 * span), max(hi_x + 0.05 * span, 0 + 0.05 * span)
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(n + 0.5, -1.5)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{_nat(measure, t):.2g}" for t in ticks])
    ax.set_xlim(lo_x, hi_x)
    ax.set_xlabel(LABELS.get(measure, measure) + (" (log scale)" if ratio else ""))
    tr = ax.get_yaxis_transform()
    fs = 8
    fig.text(0.01, 1 - 0.25 / height, "Study or subgroup", fontsize=fs, weight="bold", va="top")
    if arms:
        head = ("Events/Total", "Events/Total") if measure in ("OR", "RR", "RD") else ("Mean (SD) N", "Mean (SD) N")
        for x, title, sub in ((-0.42, "Experimental", head[0]), (-0.12, "Control", head[1])):
            ax.text(x, -1.3, f"{title}\n{sub}", transform=tr, fontsize=fs, weight="bold", ha="right", va="center")
    ax.text(1.05, -1.3, "Weight", transform=tr, fontsize=fs, weight="bold", va="center")
    ax.text(1.25, -1.3, f"{LABELS.get(measure, measure)}\n[{opts.level:g}% CI]", transform=tr, fontsize=fs,
            weight="bold", va="center")
    rob_x = [2.05 + 0.11 * j for j in range(len(rob_cols))]
    for x, c in zip(rob_x, rob_cols, strict=True):
        name = "Overall" if c == "rob_overall" else c.removeprefix("rob_")
        ax.text(x, -1.3, name, transform=tr, fontsize=fs - 1, weight="bold", ha="center", va="center")
    if rob_cols:
        ax.text(rob_x[0] + (rob_x[-1] - rob_x[0]) / 2, -2.0, "Risk of bias", transform=tr, fontsize=fs,
                weight="bold", ha="center", va="center")
    wmax = max([r["w"] for r in rows if r["kind"] == "study"] or [1.0])
    for i, r in enumerate(rows):
        kind = r["kind"]
        if kind == "header":
            ax.text(-1.38, i, r["label"], transform=tr, fontsize=fs, weight="bold", va="center")
        elif kind == "study":
            ax.plot([r["lo"], r["hi"]], [i, i], color="black", lw=0.8)
            size = 3 + 7 * np.sqrt(r["w"] / wmax)
            ax.plot([r["est"]], [i], marker="s", color=palette.EFFECT, markersize=size, lw=0)
            ax.text(-1.34, i, r["label"], transform=tr, fontsize=fs, va="center")
            if r["arms"]:
                ax.text(-0.42, i, r["arms"][0], transform=tr, fontsize=fs, va="center", ha="right")
                ax.text(-0.12, i, r["arms"][1], transform=tr, fontsize=fs, va="center", ha="right")
            ax.text(1.05, i, f"{r['w']:.1f}%", transform=tr, fontsize=fs, va="center")
            ax.text(1.25, i, _fmt_ci(measure, r["est"], r["lo"], r["hi"]), transform=tr, fontsize=fs, va="center")
            for x, (mark, colour) in zip(rob_x, r["rob"], strict=True):
                ax.plot([x], [i], transform=tr, marker="o", markersize=9, color=colour if mark else "white",
                        markeredgecolor=colour, clip_on=False, lw=0)
                if mark:
                    ax.text(x, i, mark, transform=tr, fontsize=fs, ha="center", va="center", color="black",
                            weight="bold")
        elif kind == "na":
            ax.text(-1.34, i, r["label"], transform=tr, fontsize=fs, va="center")
            if r["arms"]:
                ax.text(-0.42, i, r["arms"][0], transform=tr, fontsize=fs, va="center", ha="right")
                ax.text(-0.12, i, r["arms"][1], transform=tr, fontsize=fs, va="center", ha="right")
            ax.text(1.25, i, "Not estimable", transform=tr, fontsize=fs, va="center")
        elif kind == "diamond":
            res = r["res"]
            if res["estimate"] is not None:
                e, lo, hi = res["estimate"], res["ci_low"], res["ci_high"]
                h = 0.3 if r["small"] else 0.4
                ax.fill([lo, e, hi, e], [i, i - h, i, i + h], color="black" if not r["small"] else "#444444")
                ax.text(1.25, i, _fmt_ci(measure, e, lo, hi), transform=tr, fontsize=fs, va="center", weight="bold")
                ax.text(1.05, i, "100.0%" if not r["small"] else "", transform=tr, fontsize=fs, va="center")
            ax.text(-1.38, i, r["label"], transform=tr, fontsize=fs, va="center", weight="bold")
        elif kind == "pi":
            res = r["res"]
            ax.plot([res["pi_low"], res["pi_high"]], [i, i], color=palette.INTERVAL, lw=2)
            ax.text(-1.38, i, r["label"], transform=tr, fontsize=fs, va="center")
            ax.text(1.25, i, _fmt_ci(measure, res["estimate"], res["pi_low"], res["pi_high"]), transform=tr,
                    fontsize=fs, va="center")
        elif kind == "text" and r["label"]:
            ax.text(-1.38, i, r["label"], transform=tr, fontsize=fs - 1, va="center")
    foot = overall.get("methods", "")
    if rob_cols:
        tool = next((str(v) for v in inc_frame.get("rob_tool", []) if isinstance(v, str) and v), "")
        foot += f" Risk of bias{f' ({tool})' if tool else ''}: {palette.ROB_LEGEND}."
    fig.text(0.01, 0.01, "\n".join(textwrap.wrap(foot, 190)), fontsize=6, va="bottom")
    return (mpl.svg_text(fig, tight=False) if svg else fig), overall

