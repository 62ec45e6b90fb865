"""The RevMan-style forest plot of an effect table: study effects with CIs and weights, per-arm data, subgroup
blocks, the pooled diamond, the prediction interval and, when judged, the risk-of-bias marks per domain (robvis
palette). :func:`forest_svg` returns the SVG text; :func:`forest_plot` writes a .svg or .png file.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError
from synth.figures import canvas, mpl, palette
from synth.figures.axes import LABELS, RATIO, linear_ticks, ratio_ticks
from synth.figures.canvas import Canvas
from synth.meta import dist
from synth.meta.analysis import pool_by, pool_effects
from synth.meta.effects import back_transform
from synth.meta.io import MEASURE_COLUMNS, finite_or_none, take, text
from synth.meta.pooling import PoolOptions
from synth.meta.subgroup import subgroup_analysis

if TYPE_CHECKING:
    from synth.meta.effects import EffectTable
    from synth.protocol.model import Protocol

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
    df = res["df"]
    name = "Z" if df is None else f"t({df:g})" if float(df).is_integer() else f"t({df:.1f})"
    return f"Test for overall effect: {name} = {abs(res['stat']):.2f} (P {_p(res['p'])})"


BINARY = ("OR", "RR", "RD")
ARM_DATA = {m: MEASURE_COLUMNS[m] for m in (*BINARY, "MD", "SMD", "ROM")}
"""The group data shown beside each study for a measure (RevMan): events/total, or mean (SD) N."""


def _cells(frame: Any, name: str) -> list[Any]:
    return np.asarray(frame[name], dtype=object).tolist() if name in frame.columns else [None] * len(frame)


def _arm_columns(frame: Any, measure: str) -> list[tuple[str, str]] | None:
    """Per-arm data beside each study, from each row's own data: events/total or mean (SD) N ("NA" for a
    missing piece). A row without events or means (a reported estimate with its CI, when formats are mixed)
    shows none. None when no row has group data for the measure."""
    names = ARM_DATA.get(measure)
    if names is None or not any(c in frame.columns for c in names):
        return None

    def num(x: Any) -> str:
        v = finite_or_none(x)
        return "NA" if v is None else f"{int(v)}" if v.is_integer() else f"{v:.3g}"

    def g(x: Any) -> str:
        v = finite_or_none(x)
        return "NA" if v is None else f"{v:.3g}"

    out: list[tuple[str, str]] = []
    for row in zip(*(_cells(frame, c) for c in names), strict=True):
        # events (binary) or means (continuous) make a row's group data; a size alone does not
        key = (row[0], row[2]) if len(row) == 4 else (row[0], row[3])
        if all(v is None or (isinstance(v, float) and v != v) for v in key):
            out.append(("", ""))
        elif len(row) == 4:
            et, nt, ec, nc = row
            out.append((f"{num(et)}/{num(nt)}", f"{num(ec)}/{num(nc)}"))
        else:
            mt, st, nt, mc, sc, nc = row
            out.append((f"{g(mt)} ({g(st)}) {num(nt)}", f"{g(mc)} ({g(sc)}) {num(nc)}"))
    return out if any(a or b for a, b in out) else None


def _totals(frame: Any, rows: list[int], measure: str) -> dict[str, tuple[int, int]]:
    """Participants (``n``) and, for binary measures, events (``events``) summed per arm over ``rows`` of the
    studies that report them (RevMan's Total and "Total events" rows)."""
    def total(name: str) -> int:
        cells = _cells(frame, name)
        return int(sum(v for v in (finite_or_none(cells[i]) for i in rows) if v is not None))

    out: dict[str, tuple[int, int]] = {}
    if measure in ARM_DATA and ("n_t" in frame.columns or "n_c" in frame.columns):
        out["n"] = (total("n_t"), total("n_c"))
    if measure in BINARY and "events_t" in frame.columns:
        out["events"] = (total("events_t"), total("events_c"))
    return out


def _rob_columns(frame: Any) -> list[str]:
    """Risk-of-bias columns with at least one judgement (``rob_D1``... then ``rob_overall``), in plot order."""
    cols = [c for c in frame.columns if c.startswith("rob_") and c != "rob_tool"
            and any(isinstance(v, str) and v.strip() for v in np.asarray(frame[c], dtype=object).tolist())]
    return sorted(cols, key=lambda c: (c == "rob_overall", c))


def _rob_cell(value: Any) -> tuple[str, str]:
    style = palette.rob_style(value)
    return (style[1], style[0]) if style else ("", palette.NOT_ASSESSED)


@dataclass(frozen=True)
class Arms:
    """The two arms' names (column headings, "Favours ..." labels) and which way the outcome is good
    (``lower-is-better`` puts "Favours <intervention>" left of the line of no effect; None: no such labels)."""

    intervention: str = "Experimental"
    control: str = "Control"
    direction: str | None = None


def arms_for(protocol: Protocol, outcome_id: str | None = None) -> Arms:
    """The arms of ``protocol`` (its ``[pico]`` short labels) and the direction of ``outcome_id``."""
    pico = protocol.pico
    direction = next((o.direction for o in protocol.outcomes if o.id == outcome_id), None)
    if pico is None:
        return Arms("Intervention", "Control", direction)
    return Arms(pico.intervention_label, pico.comparator_label, direction)


def forest_plot(table: EffectTable, output: str | Path, opts: PoolOptions, by: str | None = None,
                overall: dict[str, Any] | None = None, arms: Arms = Arms()) -> dict[str, Any]:
    """Draw the forest plot of ``table`` to ``output`` (.svg/.png); returns the pooled result (``overall``
    when given: a result of ``table``'s included studies in order, e.g. the multilevel model's)."""
    path = Path(output)
    mpl.check_suffix(path)
    drawing, overall = _forest(table, opts, by, overall, arms)
    canvas.save(drawing, path)
    return overall


def forest_svg(table: EffectTable, opts: PoolOptions, by: str | None = None,
               overall: dict[str, Any] | None = None, arms: Arms = Arms()) -> str:
    """The forest plot of ``table`` as SVG text (the same drawing :func:`forest_plot` writes to a .svg file)."""
    return canvas.svg(_forest(table, opts, by, overall, arms)[0])


def _forest(table: EffectTable, opts: PoolOptions, by: str | None, overall: dict[str, Any] | None = None,
            names: Arms = Arms()) -> tuple[Canvas, dict[str, Any]]:
    """The drawing and the pooled result.

    When the data carry risk-of-bias judgements (``rob_D1``..., ``rob_overall``, as
    :func:`synth.analysis.table.meta_table` gives them), a RevMan-style column of marks per domain follows
    the effect column, in the robvis palette of :mod:`synth.figures.palette`.
    """
    table_frame = table.frame
    measure = table.measure
    _KIND["kind"] = opts.back
    overall = overall if overall is not None else pool_effects(table, opts)
    blocks: list[tuple[str | None, dict[str, Any]]] = []
    if by:
        sub = take(table_frame, table.included)
        if by not in sub.columns:
            raise InputError(f"--by column {by!r} is not in the data. Name an existing column.")
        blocks = [(g["group"], g) for g in pool_by(sub, by, measure, opts)]
    else:
        blocks = [(None, overall)]
    # one dict per plotted row; studies keep the input order within each block
    z = dist.norm_isf((1 - opts.level / 100) / 2)
    rows: list[dict[str, Any]] = []
    inc_frame = take(table_frame, table.included)
    rob_cols = _rob_columns(inc_frame)
    total_w = overall["studies"]
    # studies not in the model (no estimable effect, or a missing value) keep their place, marked as RevMan does
    all_frame = table_frame
    arms = _arm_columns(all_frame, measure)
    inc_of_row = np.cumsum(table.included) - 1  # row of the full table -> row among included studies
    groups = text(all_frame, by) if by else None
    rob_values = [np.asarray(inc_frame[c], dtype=object).tolist() for c in rob_cols]

    def diamond(label: str, res: dict[str, Any], rows_in: list[int], small: bool) -> None:
        sums = _totals(all_frame, rows_in, measure) if arms else {}
        rows.append({"kind": "diamond", "label": label, "res": res, "small": small, "n": sums.get("n")})
        if "events" in sums:
            rows.append({"kind": "events", "label": "Total events", "events": sums["events"]})

    for name, res in blocks:
        if name is not None:
            rows.append({"kind": "header", "label": str(name)})
        in_block = [i for i in range(len(all_frame)) if groups is None or groups[i] == name]
        studies = iter(res["studies"])
        for i in in_block:
            if not table.included[i]:
                rows.append({"kind": "na", "label": table.studies[i][:34], "arms": arms[i] if arms else None})
                continue
            j, s = int(inc_of_row[i]), next(studies)
            se = float(np.sqrt(s["vi"]))
            rows.append({"kind": "study", "label": s["study"][:34], "est": s["yi"], "lo": s["yi"] - z * se,
                         "hi": s["yi"] + z * se, "w": total_w[j]["weight"], "arms": arms[i] if arms else None,
                         "rob": [_rob_cell(v[j]) for v in rob_values]})
        if name is not None and res["k"] >= 2:
            diamond(f"Subtotal ({opts.level:g}% CI)", res, [i for i in in_block if table.included[i]], True)
            rows.append({"kind": "text", "label": _het_line(res)})
        if name is not None:
            rows.append({"kind": "space"})
    diamond(f"Total ({opts.level:g}% CI)", overall, [i for i in range(len(all_frame)) if table.included[i]], False)
    if overall.get("pi_low") is not None:
        rows.append({"kind": "pi", "label": "Prediction interval", "res": overall})
    rows.append({"kind": "text", "label": _het_line(overall)})
    rows.append({"kind": "text", "label": _overall_line(overall)})
    if by and len(blocks) >= 2:
        t = subgroup_analysis(table, by, opts)["test_separate"]
        rows.append({"kind": "text", "label": f"Test for subgroup differences: Chi\u00b2 = {t['q']:.2f}, df = {t['df']} "
                                              f"(P {_p(t['p'])})"})

    foot = overall.get("methods", "")
    if rob_cols:
        tools = np.asarray(inc_frame["rob_tool"], dtype=object).tolist() if "rob_tool" in inc_frame.columns else []
        tool = next((str(v) for v in tools if isinstance(v, str) and v), "")
        foot += f" Risk of bias{f' ({tool})' if tool else ''}: {palette.ROB_LEGEND}."
    return _draw(rows, measure, opts, arms is not None, rob_cols, foot, names), overall


FS = 8.0
"""Text size (points) of the rows; headers are bold at this size, footnotes smaller."""
ROW = 14.0
"""Row pitch (points)."""


RATIO_WINDOWS = (2.0, 5.0, 10.0, 100.0, 1000.0)
"""Ratio axes run from 1/w to w for the first of these w that holds every estimate and pooled interval
(RevMan's 0.01-100 style); study intervals beyond it end in an arrow."""


def _window(rows: list[dict[str, Any]], ratio: bool) -> tuple[float, float]:
    """The x range (analysis scale): it always holds the line of no effect, every study estimate, the pooled
    CIs and the prediction interval; study CIs that reach much further are clipped (drawn with an arrow)."""
    core = [0.0, *(r["est"] for r in rows if r["kind"] == "study")]
    core += [v for r in rows if r["kind"] in ("diamond", "pi") for v in (r["res"]["ci_low"], r["res"]["ci_high"])
             if v is not None]
    core += [r["res"][k] for r in rows if r["kind"] == "pi" for k in ("pi_low", "pi_high")]
    full = core + [v for r in rows if r["kind"] == "study" for v in (r["lo"], r["hi"])]
    if ratio:
        reach = max(abs(v) for v in core)
        for w in RATIO_WINDOWS:
            if reach <= math.log(w):
                return -math.log(w), math.log(w)
    lo, hi = min(core), max(core)
    pad = 0.1 * max(hi - lo, 1e-6)
    lo, hi = lo - pad, hi + pad
    if max(full) - min(full) <= 2 * (hi - lo):  # every CI fits without squeezing the estimates: show them whole
        span = max(full) - min(full)
        return min(full) - 0.05 * span, max(full) + 0.05 * span
    return lo, hi


def _draw(rows: list[dict[str, Any]], measure: str, opts: PoolOptions, arms: bool, rob_cols: list[str],
          foot: str, names: Arms) -> Canvas:
    """The RevMan layout of ``rows``: labels and per-arm data left of the plot panel, weights, effects and CIs
    and risk-of-bias marks right of it; one x scale for studies, diamonds and prediction intervals, with
    "Favours ..." under it when the outcome's direction is known."""
    width = 936.0 if rob_cols else 792.0
    x0, pw = (0.34 * width, 0.24 * width) if rob_cols else (0.42 * width, 0.30 * width)

    def col(f: float) -> float:  # columns are placed in panel widths from the panel's left edge
        return x0 + f * pw

    def y(i: float) -> float:
        return 8.0 + (i + 2.5) * ROW

    n = len(rows)
    ratio = measure in RATIO or opts.back == "exp"
    lo_x, hi_x = _window(rows, ratio)

    def px(v: float) -> float:
        return x0 + (min(max(v, lo_x), hi_x) - lo_x) / (hi_x - lo_x) * pw

    foot_lines = textwrap.wrap(foot, 190)
    axis_y = y(n - 0.4)
    c = Canvas(width, axis_y + 56 + 8 * len(foot_lines) + 6, title=f"Forest plot ({LABELS.get(measure, measure)})")
    # column headings
    c.text(0.01 * width, y(-1.3), "Study or subgroup", bold=True)
    if arms:
        sub = "Events/Total" if measure in BINARY else "Mean (SD) N"
        for f, title in ((-0.42, names.intervention), (-0.12, names.control)):
            c.text(col(f), y(-1.3) - 5, title[:22], bold=True, anchor="end")
            c.text(col(f), y(-1.3) + 5, sub, bold=True, anchor="end")
    c.text(col(1.05), y(-1.3), "Weight", bold=True)
    c.text(col(1.25), y(-1.3) - 5, LABELS.get(measure, measure), bold=True)
    c.text(col(1.25), y(-1.3) + 5, f"[{opts.level:g}% CI]", bold=True)
    rob_x = [col(2.05 + 0.11 * j) for j in range(len(rob_cols))]
    for x, name in zip(rob_x, rob_cols, strict=True):
        c.text(x, y(-1.3), "Overall" if name == "rob_overall" else name.removeprefix("rob_"), size=FS - 1,
               bold=True, anchor="middle")
    if rob_x:
        c.text((rob_x[0] + rob_x[-1]) / 2, y(-2.0), "Risk of bias", bold=True, anchor="middle")
    # the x axis, its ticks, "Favours ..." and the line of no effect
    c.line(px(lo_x), axis_y, px(hi_x), axis_y)
    if ratio and (grid := ratio_ticks(lo_x, hi_x)):
        ticks = [(math.log(t), f"{t:g}") for t in grid]
    else:
        ticks = [(t, f"{_nat(measure, t):.2g}") for t in linear_ticks(lo_x, hi_x)]
    for t, label in ticks:
        c.line(px(t), axis_y, px(t), axis_y + 3.5)
        c.text(px(t), axis_y + 10, label, anchor="middle")
    if names.direction in ("lower-is-better", "higher-is-better"):
        left, right = (names.intervention, names.control) if names.direction == "lower-is-better" else \
            (names.control, names.intervention)
        c.text(px(0.0) - 4, axis_y + 22, f"Favours {left}", anchor="end")
        c.text(px(0.0) + 4, axis_y + 22, f"Favours {right}")
    c.text(x0 + pw / 2, axis_y + 36, LABELS.get(measure, measure) + (" (log scale)" if ratio else ""),
           anchor="middle")
    c.line(px(0.0), y(-0.7), px(0.0), axis_y)
    wmax = max([r["w"] for r in rows if r["kind"] == "study"] or [1.0])
    for i, r in enumerate(rows):
        kind, yi = r["kind"], y(i)
        if kind == "header":
            c.text(col(-1.38), yi, r["label"], bold=True)
        elif kind in ("study", "na"):
            c.text(col(-1.34), yi, r["label"])
            if r["arms"]:
                c.text(col(-0.42), yi, r["arms"][0], anchor="end")
                c.text(col(-0.12), yi, r["arms"][1], anchor="end")
            if kind == "na":
                c.text(col(1.25), yi, "Not estimable")
                continue
            c.line(px(r["lo"]), yi, px(r["hi"]), yi)
            for end, edge, sign in ((r["lo"], lo_x, -1.0), (r["hi"], hi_x, 1.0)):
                if sign * (end - edge) > 0:  # the interval runs past the axis: an arrowhead at the edge
                    tip = px(edge)
                    c.polygon([(tip, yi), (tip - sign * 5, yi - 3), (tip - sign * 5, yi + 3)])
            c.square(px(r["est"]), yi, 3 + 7 * math.sqrt(r["w"] / wmax), fill=palette.EFFECT)
            c.text(col(1.05), yi, f"{r['w']:.1f}%")
            c.text(col(1.25), yi, _fmt_ci(measure, r["est"], r["lo"], r["hi"]))
            for x, (mark, colour) in zip(rob_x, r["rob"], strict=True):
                c.circle(x, yi, 4.5, fill=colour if mark else "#ffffff", stroke=colour)
                c.text(x, yi, mark, bold=True, anchor="middle")
        elif kind == "diamond":
            res = r["res"]
            if res["estimate"] is not None:
                e, lo, hi = res["estimate"], res["ci_low"], res["ci_high"]
                h = (0.3 if r["small"] else 0.4) * ROW
                c.polygon([(px(lo), yi), (px(e), yi - h), (px(hi), yi), (px(e), yi + h)],
                          fill="#444444" if r["small"] else "#000000")
                c.text(col(1.25), yi, _fmt_ci(measure, e, lo, hi), bold=True)
                if not r["small"]:
                    c.text(col(1.05), yi, "100.0%")
            c.text(col(-1.38), yi, r["label"], bold=True)
            if r.get("n"):
                c.text(col(-0.42), yi, str(r["n"][0]), bold=True, anchor="end")
                c.text(col(-0.12), yi, str(r["n"][1]), bold=True, anchor="end")
        elif kind == "events":
            c.text(col(-1.38), yi, r["label"])
            c.text(col(-0.42), yi, str(r["events"][0]), anchor="end")
            c.text(col(-0.12), yi, str(r["events"][1]), anchor="end")
        elif kind == "pi":
            res = r["res"]
            c.line(px(res["pi_low"]), yi, px(res["pi_high"]), yi, width=2.0, colour=palette.INTERVAL)
            c.text(col(-1.38), yi, r["label"])
            c.text(col(1.25), yi, _fmt_ci(measure, res["estimate"], res["pi_low"], res["pi_high"]))
        elif kind == "text":
            c.text(col(-1.38), yi, r["label"], size=FS - 1)
    for j, line in enumerate(foot_lines):
        c.text(0.01 * width, axis_y + 52 + 8 * j, line, size=6.0)
    return c
