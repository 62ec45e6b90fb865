"""A drawing laid out once, in points from the top-left corner, and written as SVG (plain text, no dependency)
or PNG (matplotlib, imported only then).

A figure builds a :class:`Canvas` of a few shapes (text, lines, polygons, circles); :func:`svg` and
:func:`save` draw the same shapes, so an SVG and a PNG of one figure cannot disagree. Text stays text in the
SVG (searchable, selectable, small).

>>> c = Canvas(100, 40)
>>> c.text(5, 20, "Total & <all>", bold=True)
>>> c.line(0, 30, 100, 30)
>>> "Total &amp; &lt;all&gt;</text>" in svg(c)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Literal

from synth.figures import mpl

Anchor = Literal["start", "middle", "end"]
FONT = "Arial, Helvetica, sans-serif"


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the text's vertical centre
    s: str
    size: float
    bold: bool
    anchor: Anchor
    colour: str


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    width: float
    colour: str


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]
    fill: str


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    r: float
    fill: str
    stroke: str


Shape = Text | Line | Polygon | Circle


@dataclass
class Canvas:
    """A width x height drawing in points (1/72 inch), y growing downwards."""

    width: float
    height: float
    title: str = ""
    shapes: list[Shape] = field(default_factory=list)

    def text(self, x: float, y: float, s: str, *, size: float = 8.0, bold: bool = False,
             anchor: Anchor = "start", colour: str = "#000000") -> None:
        if s:
            self.shapes.append(Text(x, y, s, size, bold, anchor, colour))

    def line(self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.8,
             colour: str = "#000000") -> None:
        self.shapes.append(Line(((x1, y1), (x2, y2)), width, colour))

    def polygon(self, points: list[tuple[float, float]], *, fill: str = "#000000") -> None:
        self.shapes.append(Polygon(tuple(points), fill))

    def square(self, x: float, y: float, side: float, *, fill: str) -> None:
        h = side / 2
        self.polygon([(x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h)], fill=fill)

    def circle(self, x: float, y: float, r: float, *, fill: str, stroke: str) -> None:
        self.shapes.append(Circle(x, y, r, fill, stroke))


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _pts(points: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def svg(c: Canvas) -> str:
    """The drawing as a standalone SVG document (from ``<svg``; inline-embeddable in HTML)."""
    w, h = _n(c.width), _n(c.height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" viewBox="0 0 {w} {h}" '
           f'font-family="{FONT}" role="img" aria-label="{escape(c.title)}">',
           f"<title>{escape(c.title)}</title>", f'<rect width="{w}" height="{h}" fill="#ffffff"/>']
    for s in c.shapes:
        if isinstance(s, Text):
            bold = ' font-weight="bold"' if s.bold else ""
            fill = "" if s.colour == "#000000" else f' fill="{s.colour}"'
            out.append(f'<text x="{_n(s.x)}" y="{_n(s.y)}" font-size="{_n(s.size)}" text-anchor="{s.anchor}" '
                       f'dominant-baseline="central" xml:space="preserve"{bold}{fill}>{escape(s.s)}</text>')
        elif isinstance(s, Line):
            out.append(f'<polyline points="{_pts(s.points)}" fill="none" stroke="{s.colour}" '
                       f'stroke-width="{_n(s.width)}"/>')
        elif isinstance(s, Polygon):
            out.append(f'<polygon points="{_pts(s.points)}" fill="{s.fill}"/>')
        else:
            out.append(f'<circle cx="{_n(s.x)}" cy="{_n(s.y)}" r="{_n(s.r)}" fill="{s.fill}" stroke="{s.stroke}" '
                       'stroke-width="1"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def save(c: Canvas, path: Path, *, dpi: int = 150) -> Path:
    """Write the drawing to ``path``: .svg as :func:`svg` text, .png drawn by matplotlib."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".svg":
        path.write_text(svg(c), encoding="utf-8")
        return path
    plt = mpl.pyplot()
    from matplotlib.patches import Circle as MplCircle
    from matplotlib.patches import Polygon as MplPolygon

    fig = plt.figure(figsize=(c.width / 72, c.height / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, c.width)
    ax.set_ylim(c.height, 0)
    ax.axis("off")
    ha = {"start": "left", "middle": "center", "end": "right"}
    for s in c.shapes:
        if isinstance(s, Text):
            ax.text(s.x, s.y, s.s, fontsize=s.size, weight="bold" if s.bold else "normal", ha=ha[s.anchor],
                    va="center_baseline", color=s.colour)
        elif isinstance(s, Line):
            ax.plot([p[0] for p in s.points], [p[1] for p in s.points], color=s.colour, lw=s.width,
                    solid_capstyle="butt")
        elif isinstance(s, Polygon):
            ax.add_patch(MplPolygon(list(s.points), closed=True, facecolor=s.fill, edgecolor="none"))
        else:
            ax.add_patch(MplCircle((s.x, s.y), s.r, facecolor=s.fill, edgecolor=s.stroke, lw=1))
    mpl.save(fig, path, dpi=dpi)
    return path
