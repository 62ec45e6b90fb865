"""The PRISMA 2020 flow diagram, laid out once and drawn as SVG (no dependency) or PNG (matplotlib, lazily).

Layout follows the PRISMA 2020 templates (Page et al. 2021, Fig. 1): blue phase bars on the left
(Identification, Screening, Included); a yellow title over the databases-and-registers column with its main
boxes and the exclusion boxes on their right; a grey "other methods" column (no records-screened box) when
other methods were used; a grey "Previous studies" column for updated reviews. Numbers come from
:func:`synth.prisma.counts.compute_counts`; nothing here computes a count.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from synth.prisma.counts import is_update, other_methods_used

FONT = 11.0
LINE = 14.0
PAD = 7.0
BOX_W = 210.0
SIDE_W = 210.0
GAP_X = 28.0
GAP_Y = 26.0
BAR_W = 26.0
TITLE_H = 34.0
WRAP = 38

COLOURS = {"main": "#ffffff", "title_dbr": "#ffc000", "title_other": "#d9d9d9", "bar": "#a4c2e5"}


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float
    lines: list[str]
    style: str = "main"
    id: str = ""
    bold_first: bool = False


@dataclass
class Arrow:
    x1: float
    y1: float
    x2: float
    y2: float
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Layout:
    width: float
    height: float
    boxes: list[Box]
    arrows: list[Arrow]


def _fmt(value: Any) -> str:
    if value is None:
        return "n = 0"
    return f"n = {int(value):,}"


_NB = "\u00a0"


def _wrap(text: str, width: int = WRAP) -> list[str]:
    """Wrap at spaces, never inside ``(n = 12)``."""
    protected = re.sub(r"\(n = ([\d,]+)\)", lambda m: f"(n{_NB}={_NB}{m.group(1)})", text)
    lines = textwrap.wrap(protected, width=width, break_long_words=True) or [""]
    return [line.replace(_NB, " ") for line in lines]


def _lines(*items: str, width: int = WRAP) -> list[str]:
    out: list[str] = []
    for item in items:
        out.extend(_wrap(item, width))
    return out


def _height(lines: list[str]) -> float:
    return len(lines) * LINE + 2 * PAD


def _identified_lines(data: Mapping[str, Any]) -> list[str]:
    lines = ["Records identified from:"]
    dbs = data.get("database_specific_results") or {}
    regs = data.get("register_specific_results") or {}
    lines.append(f"Databases ({_fmt(data.get('database_results'))})")
    lines += [f"  {name} (n = {int(n):,})" for name, n in dbs.items()]
    lines.append(f"Registers ({_fmt(data.get('register_results'))})")
    lines += [f"  {name} (n = {int(n):,})" for name, n in regs.items()]
    return _lines(*lines)


def _removed_lines(data: Mapping[str, Any]) -> list[str]:
    return _lines(
        "Records removed before screening:",
        f"Duplicate records removed ({_fmt(data.get('duplicates'))})",
        f"Records marked as ineligible by automation tools ({_fmt(data.get('excluded_automatic'))})",
        f"Records removed for other reasons ({_fmt(data.get('excluded_other'))})",
    )


def _records_excluded_lines(data: Mapping[str, Any]) -> list[str]:
    lines = [f"Records excluded ({_fmt(data.get('records_excluded'))})"]
    detail = data.get("records_excluded_detail") or {}
    if int(detail.get("automation", 0) or 0) > 0:
        lines.append(f"by a human (n = {int(detail.get('human', 0)):,})")
        lines.append(f"by automation tools (n = {int(detail['automation']):,})")
    return _lines(*lines)


def _excluded_lines(reasons: Mapping[str, Any] | None) -> list[str]:
    reasons = reasons or {}
    total = sum(int(v) for v in reasons.values())
    lines = [f"Reports excluded (n = {total:,}):" if reasons else "Reports excluded (n = 0)"]
    lines += [f"{label} (n = {int(n):,})" for label, n in reasons.items()]
    return _lines(*lines)


def _included_lines(data: Mapping[str, Any], update: bool) -> list[str]:
    if update:
        return _lines(
            f"New studies included in review ({_fmt(data.get('new_studies'))})",
            f"Reports of new included studies ({_fmt(data.get('new_reports'))})",
        )
    return _lines(
        f"Studies included in review ({_fmt(data.get('new_studies'))})",
        f"Reports of included studies ({_fmt(data.get('new_reports'))})",
    )


def layout(data: Mapping[str, Any]) -> Layout:
    """Place every box and arrow for ``data`` (a counts dict)."""
    update = is_update(data)
    other = other_methods_used(data)
    boxes: list[Box] = []
    arrows: list[Arrow] = []

    x = 10.0 + BAR_W + GAP_X / 2
    prev_x = x
    if update:
        x += BOX_W + GAP_X
    dbr_x, dbr_side_x = x, x + BOX_W + GAP_X
    oth_x = dbr_side_x + SIDE_W + GAP_X * 1.5
    oth_side_x = oth_x + BOX_W + GAP_X
    right = (oth_side_x + SIDE_W) if other else (dbr_side_x + SIDE_W)

    top = 10.0
    boxes.append(Box(dbr_x, top, BOX_W + GAP_X + SIDE_W, TITLE_H,
                     _wrap("Identification of new studies via databases and registers", 70), "title_dbr", "newstud"))
    if other:
        boxes.append(Box(oth_x, top, BOX_W + GAP_X + SIDE_W, TITLE_H,
                         _wrap("Identification of new studies via other methods", 70), "title_other", "othstud"))
    if update:
        boxes.append(Box(prev_x, top, BOX_W, TITLE_H, ["Previous studies"], "title_other", "prevstud"))
    y = top + TITLE_H + GAP_Y

    # Row 1: identification.
    ident = _identified_lines(data)
    removed = _removed_lines(data)
    oth_ident: list[str] = []
    if other:
        items = ["Records identified from:",
                 f"Websites ({_fmt(data.get('website_results'))})",
                 f"Organisations ({_fmt(data.get('organisation_results'))})",
                 f"Citation searching ({_fmt(data.get('citations_results'))})"]
        items += [f"{k} (n = {int(v):,})" for k, v in (data.get("other_specific_results") or {}).items()]
        oth_ident = _lines(*items)
    prev_lines = _lines(
        f"Studies included in previous version of review ({_fmt(data.get('previous_studies'))})",
        f"Reports of studies included in previous version of review ({_fmt(data.get('previous_reports'))})",
    ) if update else []
    h1 = max(_height(ident), _height(removed), _height(oth_ident) if other else 0, _height(prev_lines) if update else 0)
    ident_top = y
    boxes.append(Box(dbr_x, y, BOX_W, h1, ident, id="database_results"))
    boxes.append(Box(dbr_side_x, y, SIDE_W, h1, removed, id="duplicates"))
    arrows.append(Arrow(dbr_x + BOX_W, y + h1 / 2, dbr_side_x, y + h1 / 2))
    if other:
        boxes.append(Box(oth_x, y, BOX_W, h1, oth_ident, id="website_results"))
    if update:
        boxes.append(Box(prev_x, y, BOX_W, h1, prev_lines, id="previous_studies"))
    ident_bottom = y + h1
    y += h1 + GAP_Y

    # Row 2: records screened (databases and registers only).
    screened = _lines(f"Records screened ({_fmt(data.get('records_screened'))})")
    rex = _records_excluded_lines(data)
    h2 = max(_height(screened), _height(rex))
    screen_top = y
    boxes.append(Box(dbr_x, y, BOX_W, h2, screened, id="records_screened"))
    boxes.append(Box(dbr_side_x, y, SIDE_W, h2, rex, id="records_excluded"))
    arrows.append(Arrow(dbr_x + BOX_W / 2, ident_bottom, dbr_x + BOX_W / 2, y))
    arrows.append(Arrow(dbr_x + BOX_W, y + h2 / 2, dbr_side_x, y + h2 / 2))
    y += h2 + GAP_Y

    # Row 3: reports sought / not retrieved.
    def pair(main_lines: list[str], side_lines: list[str], ids: tuple[str, str], mx: float, sx: float,
             yy: float, hh: float) -> None:
        boxes.append(Box(mx, yy, BOX_W, hh, main_lines, id=ids[0]))
        boxes.append(Box(sx, yy, SIDE_W, hh, side_lines, id=ids[1]))
        arrows.append(Arrow(mx + BOX_W, yy + hh / 2, sx, yy + hh / 2))

    sought = _lines(f"Reports sought for retrieval ({_fmt(data.get('dbr_sought_reports'))})")
    notret = _lines(f"Reports not retrieved ({_fmt(data.get('dbr_notretrieved_reports'))})")
    o_sought = _lines(f"Reports sought for retrieval ({_fmt(data.get('other_sought_reports'))})")
    o_notret = _lines(f"Reports not retrieved ({_fmt(data.get('other_notretrieved_reports'))})")
    h3 = max(_height(sought), _height(notret), _height(o_sought), _height(o_notret))
    pair(sought, notret, ("dbr_sought_reports", "dbr_notretrieved_reports"), dbr_x, dbr_side_x, y, h3)
    arrows.append(Arrow(dbr_x + BOX_W / 2, screen_top + h2, dbr_x + BOX_W / 2, y))
    if other:
        pair(o_sought, o_notret, ("other_sought_reports", "other_notretrieved_reports"), oth_x, oth_side_x, y, h3)
        arrows.append(Arrow(oth_x + BOX_W / 2, ident_bottom, oth_x + BOX_W / 2, y))
    row3_bottom = y + h3
    y += h3 + GAP_Y

    # Row 4: assessed / excluded with reasons.
    assessed = _lines(f"Reports assessed for eligibility ({_fmt(data.get('dbr_assessed'))})")
    excl = _excluded_lines(data.get("dbr_excluded"))
    o_assessed = _lines(f"Reports assessed for eligibility ({_fmt(data.get('other_assessed'))})")
    o_excl = _excluded_lines(data.get("other_excluded"))
    h4 = max(_height(assessed), _height(excl), *([_height(o_assessed), _height(o_excl)] if other else []))
    pair(assessed, excl, ("dbr_assessed", "dbr_excluded"), dbr_x, dbr_side_x, y, h4)
    arrows.append(Arrow(dbr_x + BOX_W / 2, row3_bottom, dbr_x + BOX_W / 2, y))
    if other:
        pair(o_assessed, o_excl, ("other_assessed", "other_excluded"), oth_x, oth_side_x, y, h4)
        arrows.append(Arrow(oth_x + BOX_W / 2, row3_bottom, oth_x + BOX_W / 2, y))
    row4_bottom = y + h4
    screening_bottom = row4_bottom
    y += h4 + GAP_Y

    # Row 5: included.
    inc = _included_lines(data, update)
    h5 = _height(inc)
    included_top = y
    boxes.append(Box(dbr_x, y, BOX_W, h5, inc, id="new_studies"))
    arrows.append(Arrow(dbr_x + BOX_W / 2, row4_bottom, dbr_x + BOX_W / 2, y))
    if other:
        mid = row4_bottom + GAP_Y / 2
        arrows.append(Arrow(oth_x + BOX_W / 2, row4_bottom, dbr_x + BOX_W, y + h5 / 2,
                            points=[(oth_x + BOX_W / 2, y + h5 / 2)]))
        del mid
    y += h5
    if data.get("total_studies_ma") and int(data["total_studies_ma"]) > 0 and not update:
        ma = _lines(f"Studies included in meta-analysis ({_fmt(data.get('total_studies_ma'))})",
                    f"Reports of studies included in meta-analysis ({_fmt(data.get('total_reports_ma'))})")
        y += GAP_Y
        boxes.append(Box(dbr_x, y, BOX_W, _height(ma), ma, id="total_studies_ma"))
        arrows.append(Arrow(dbr_x + BOX_W / 2, y - GAP_Y, dbr_x + BOX_W / 2, y))
        y += _height(ma)
    if update:
        tot = _lines(f"Total studies included in review ({_fmt(data.get('total_studies'))})",
                     f"Reports of total included studies ({_fmt(data.get('total_reports'))})")
        y += GAP_Y
        boxes.append(Box(dbr_x, y, BOX_W, _height(tot), tot, id="total_studies"))
        arrows.append(Arrow(dbr_x + BOX_W / 2, y - GAP_Y, dbr_x + BOX_W / 2, y))
        arrows.append(Arrow(prev_x + BOX_W / 2, ident_bottom, dbr_x, y + _height(tot) / 2,
                            points=[(prev_x + BOX_W / 2, y + _height(tot) / 2)]))
        y += _height(tot)
    included_bottom = y

    # Phase bars.
    boxes.append(Box(10.0, ident_top, BAR_W, ident_bottom - ident_top, ["Identification"], "bar", "identification"))
    boxes.append(Box(10.0, screen_top, BAR_W, screening_bottom - screen_top, ["Screening"], "bar", "screening"))
    boxes.append(Box(10.0, included_top, BAR_W, included_bottom - included_top, ["Included"], "bar", "included"))
    return Layout(width=right + 10.0, height=y + 10.0, boxes=boxes, arrows=arrows)


def render_svg(data: Mapping[str, Any], *, title: str = "PRISMA 2020 flow diagram") -> str:
    """The flow diagram as a standalone SVG document (inline-embeddable in HTML)."""
    lay = layout(data)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" height="{lay.height:.0f}" '
        f'viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" role="img" aria-label="{escape(title)}" '
        f'font-family="Arial, Helvetica, sans-serif" font-size="{FONT:g}" class="prisma-flow">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="prisma-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#000"/></marker></defs>',
        f'<rect width="{lay.width:.0f}" height="{lay.height:.0f}" fill="#ffffff"/>',
    ]
    for b in lay.boxes:
        fill = COLOURS.get(b.style, "#ffffff")
        rx = 6 if b.style in ("bar", "title_dbr", "title_other") else 0
        out.append(f'<g class="box" data-key="{escape(b.id)}">')
        out.append(f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="{rx}" '
                   f'fill="{fill}" stroke="#000" stroke-width="1"/>')
        if b.style == "bar":
            cx, cy = b.x + b.w / 2, b.y + b.h / 2
            out.append(f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" dominant-baseline="middle" '
                       f'font-weight="bold" transform="rotate(-90 {cx:.1f} {cy:.1f})">{escape(b.lines[0])}</text>')
        else:
            centred = b.style.startswith("title")
            for i, line in enumerate(b.lines):
                ty = b.y + PAD + LINE * (i + 0.78) + (b.h - _height(b.lines)) / 2
                weight = ' font-weight="bold"' if centred else ""
                if centred:
                    out.append(f'<text x="{b.x + b.w / 2:.1f}" y="{ty:.1f}" text-anchor="middle"{weight}>'
                               f"{escape(line)}</text>")
                else:
                    out.append(f'<text x="{b.x + PAD:.1f}" y="{ty:.1f}" xml:space="preserve">{escape(line)}</text>')
        out.append("</g>")
    for a in lay.arrows:
        pts = [(a.x1, a.y1), *a.points, (a.x2, a.y2)]
        d = " ".join(f"{'M' if i == 0 else 'L'} {px:.1f} {py:.1f}" for i, (px, py) in enumerate(pts))
        out.append(f'<path d="{d}" fill="none" stroke="#000" stroke-width="1.2" marker-end="url(#prisma-arrow)"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render_png(data: Mapping[str, Any], path: Path | str, *, dpi: int = 150) -> Path:
    """Draw the same layout with matplotlib (imported here, lazily) and save a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    lay = layout(data)
    scale = 1 / 72
    fig = plt.figure(figsize=(lay.width * scale * 1.35, lay.height * scale * 1.35))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)
    ax.axis("off")
    for b in lay.boxes:
        fill = COLOURS.get(b.style, "#ffffff")
        if b.style in ("bar", "title_dbr", "title_other"):
            ax.add_patch(FancyBboxPatch((b.x, b.y), b.w, b.h, boxstyle="round,pad=0,rounding_size=5",
                                        facecolor=fill, edgecolor="black", linewidth=0.8))
        else:
            ax.add_patch(Rectangle((b.x, b.y), b.w, b.h, facecolor=fill, edgecolor="black", linewidth=0.8))
        if b.style == "bar":
            ax.text(b.x + b.w / 2, b.y + b.h / 2, b.lines[0], rotation=90, ha="center", va="center",
                    fontsize=FONT * 0.75, fontweight="bold")
        elif b.style.startswith("title"):
            ax.text(b.x + b.w / 2, b.y + b.h / 2, "\n".join(b.lines), ha="center", va="center",
                    fontsize=FONT * 0.75, fontweight="bold")
        else:
            ax.text(b.x + PAD, b.y + b.h / 2, "\n".join(b.lines), ha="left", va="center",
                    fontsize=FONT * 0.72, linespacing=1.25)
    for a in lay.arrows:
        pts = [(a.x1, a.y1), *a.points, (a.x2, a.y2)]
        for (px, py), (qx, qy) in itertools.pairwise(pts):
            ax.plot([px, qx], [py, qy], color="black", linewidth=0.9)
        (px, py), (qx, qy) = pts[-2], pts[-1]
        ax.add_patch(FancyArrowPatch((px, py), (qx, qy), arrowstyle="-|>", mutation_scale=9, color="black",
                                     linewidth=0.9, shrinkA=0, shrinkB=0))
    out = Path(path)
    fig.savefig(out, dpi=dpi, facecolor="white")
    plt.close(fig)
    return out
