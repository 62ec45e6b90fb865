"""The evidence-gap map as plain SVG: the protocol's gap-map rows (e.g. intervention models) x outcome domains (columns)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from html import escape
from typing import Any

from synth.figures import palette

SINGLE = "#f9a825"
"""A cell with a single study (amber: not a risk-of-bias colour)."""


def gap_map(gm: Mapping[str, Any]) -> str:
    """Evidence-gap map as SVG: the map's rows (the protocol's gap_map_rows values) x outcome domains; bubble area by study
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
                colour = palette.HIGH if c and c["only_high_risk"] else (SINGLE if c and c["single_study"] else palette.EFFECT)
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
