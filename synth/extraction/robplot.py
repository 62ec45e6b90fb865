"""Traffic-light summary plot of risk-of-bias judgements (as in robvis, McGuinness & Higgins 2021).

One row per assessment (study, and outcome when the study has several), one column per domain plus Overall;
green "+" low, yellow "-" some concerns / moderate, red "x" high / serious, dark red "!" critical, grey "?"
no information / unclear, blank when not judged. matplotlib is imported only when a plot is drawn; the file
type follows the suffix (.svg, .png, .pdf).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synth.errors import InputError
from synth.extraction.files import ExtractionFile
from synth.extraction.rob import TOOLS, normalise

STYLE = {
    "low": ("#02C100", "+"), "some-concerns": ("#E2DF07", "-"), "moderate": ("#E2DF07", "-"),
    "high": ("#BF0000", "x"), "serious": ("#BF0000", "x"), "critical": ("#820000", "!"),
    "no-information": ("#4EA1F7", "?"), "unclear": ("#4EA1F7", "?"),
}
SUFFIXES = (".svg", ".png", ".pdf")


def rob_rows(files: list[ExtractionFile], tool: str, outcome: str | None = None) -> list[dict[str, Any]]:
    """One row per assessment with ``tool`` in the reconciled files: label, outcome and judgements."""
    rows = []
    for f in files:
        if not f.reconciled:
            continue
        label = (f.data.get("citation") or {}).get("label") or f.study
        for entry in f.data.get("rob", []) or []:
            if not isinstance(entry, dict) or entry.get("tool") != tool:
                continue
            o = str(entry.get("outcome", "*"))
            if outcome is not None and o not in (outcome, "*"):
                continue
            judgements = {d: normalise(v) for d, v in (entry.get("judgements") or {}).items() if isinstance(v, str)}
            rows.append({"study": f.study, "label": label, "outcome": o,
                         "timepoint": str(entry.get("timepoint", "")), "judgements": judgements})
    rows.sort(key=lambda r: (r["label"], r["outcome"], r["timepoint"]))
    return rows


def plot(files: list[ExtractionFile], out: Path, tool: str = "rob2", outcome: str | None = None) -> Path:
    """Draw the traffic-light plot of ``tool`` assessments to ``out``; returns the path written."""
    if out.suffix.lower() not in SUFFIXES:
        raise InputError(f"cannot write a plot to '{out.name}': unknown file type. Use a name ending in {', '.join(SUFFIXES)}.")
    if tool not in TOOLS or not TOOLS[tool].domains:
        raise InputError(f"no traffic-light plot for tool '{tool}'. Use one of: rob2, rob2-cluster, robins-i, epoc.")
    rows = rob_rows(files, tool, outcome)
    if not rows:
        where = f" for outcome '{outcome}'" if outcome else ""
        raise InputError(f"no {tool} assessments in the reconciled extraction files{where}. "
                         "Add them with `synth extract rob STUDY --outcome ID`.")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    domains = [d.id for d in TOOLS[tool].domains] + (["overall"] if TOOLS[tool].has_overall else [])
    several = len({(r["outcome"], r["timepoint"]) for r in rows}) > 1
    labels = [r["label"] + (f"  [{r['outcome']}{' ' + r['timepoint'] if r['timepoint'] else ''}]" if several else "")
              for r in rows]
    height = 0.8 + 0.38 * len(rows)
    fig, ax = plt.subplots(figsize=(3.2 + 0.7 * len(domains) + 0.06 * max(map(len, labels)), height))
    for y, row in enumerate(rows):
        for x, d in enumerate(domains):
            value = row["judgements"].get(d)
            if value not in STYLE:
                continue
            colour, mark = STYLE[value]
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
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=out.suffix.lower()[1:])
    plt.close(fig)
    return out
