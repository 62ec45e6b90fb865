"""Render ``evidence.json`` data as Markdown and as one self-contained HTML file (figures inline, offline).

The HTML has no external resource: CSS is inline, the PRISMA diagram and the gap map are inline SVG, and the
matplotlib figures (forest, funnel, cumulative, risk of bias) are ``data:image/svg+xml;base64`` images (so
their internal ids cannot collide). Every figure is a ``<figure data-figure="...">`` so a headless browser test
can check each is present and has rendered.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from synth.evidence.maturity import STEP_TEXT
from synth.figures.cumulative import cumulative
from synth.figures.funnel import funnel_svg
from synth.figures.gapmap import gap_map
from synth.figures.rob import rob_profile
from synth.prisma.diagram import render_svg
from synth.safetext import markdown_safe
from synth.wording import agree, count

RATIO = ("RR", "OR", "ROM")


ADOPTED_TEXT = ("Of the reports counted as assessed for eligibility and included, {n} were included on decisions "
                "adopted from elsewhere (the source reviews), not assessed against this protocol's criteria "
                "(`synth screen` to assess them).")
UNEXTRACTED_OUTCOMES_TEXT = ("The included studies' extractions neither give data for these nor say the studies did "
                             "not measure them: their reports may hold them.")
NOT_EXTRACTED_TEXT = ("{n} included at full text {verb} not extracted: no reconciled extraction file covers "
                      "them, so no result above uses their data (`synth extract new STUDY --record ID`).")


def _disp(measure: str, x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{math.exp(x):.{digits}f}" if measure in RATIO else f"{x:.{digits}f}"


def _counts(d: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) or "–"


def participants_text(o: Mapping[str, Any]) -> str:
    """Participants as reported: "not reported" when no study gave them, "at least N" when some did not."""
    missing = int(o.get("participants_not_reported") or 0)
    if o["k"] and missing == o["k"]:
        return "not reported"
    if missing:
        return f"at least {o['participants']} ({missing} of {o['k']} studies not reported)"
    return str(o["participants"])


def _pct(x: Any) -> str:
    return "–" if x is None else f"{100 * float(x):.0f}%"


def effect_text(o: Mapping[str, Any]) -> str:
    m = str(o.get("measure"))
    if o.get("estimate") is None:
        return "not estimable" if o.get("k") else "no studies"
    text = f"{m} {_disp(m, o['estimate'])} (95% CI {_disp(m, o['ci_low'])} to {_disp(m, o['ci_high'])})"
    if o.get("pi_low") is not None:
        text += f"; PI {_disp(m, o['pi_low'])} to {_disp(m, o['pi_high'])}"
    return text


def other_timepoints_text(o: Mapping[str, Any]) -> str:
    """Each other timepoint's pooled result, on the scale the tables show."""
    parts = []
    for t in o.get("other_timepoints") or []:
        if t.get("estimate") is None:
            parts.append(f"{t['timepoint']}: {t.get('note', 'not pooled')}")
            continue
        m = str(t.get("measure") or o.get("measure"))
        m = m if m != "GEN" else str(o.get("measure"))
        parts.append(f"{t['timepoint']}: {m} {_disp(m, t['estimate'])} ({_disp(m, t['ci_low'])} to "
                     f"{_disp(m, t['ci_high'])}), {count(int(t['k']), 'study', 'studies')}")
    return "; ".join(parts)


def _ris_text(o: Mapping[str, Any]) -> str:
    year, kind = o.get("first_ris_year"), o.get("first_ris_kind")
    if year is None:
        return ("the required information size was not reached with a CI that excludes no effect, and no CI "
                "excluded important effects")
    return (f"by {year}, {STEP_TEXT.get(str(kind), str(kind))} (nominal CIs; no sequential boundaries, which the "
            "Cochrane Handbook, chapter 22, discourages for updated meta-analyses)")


SOF_NOTE = ("Assumed risk: the median control-group risk of the included studies (Cochrane Handbook 14.1.5.1); "
            "corresponding risk: the assumed risk with the pooled relative effect (and its CI) applied. Risks per "
            "1000 people, each rounded from the unrounded risk. Statements follow GRADE guidance (Santesso et al. "
            "2020). Numbered notes give the reasons certainty was rated down.")


#: A title's claim to be a systematic review or meta-analysis ("...? A systematic review and meta-analysis").
_REVIEW_CLAIM = re.compile(r"[\s:.;,\u2013\u2014-]*\b(?:an?\s+)?(?:systematic\s+review|meta-?analysis)"
                           r"(?:\s+(?:and|with)\s+(?:an?\s+)?(?:meta-?analys[ie]s|systematic\s+review))?\s*\.?\s*$",
                           re.IGNORECASE)
_OTHER_METHODS = (("citations_results", "citation searching"), ("website_results", "websites"),
                  ("organisation_results", "organisations"))


def no_database_searched(ev: Mapping[str, Any]) -> bool:
    """True when the PRISMA flow shows records but none from a bibliographic database or trial register."""
    p = ev.get("prisma") or {}
    identified = sum(int(p.get(k) or 0) for k, _ in _OTHER_METHODS) + sum(
        int(v) for v in (p.get("other_specific_results") or {}).values())
    return bool(p) and not int(p.get("database_results") or 0) and not int(p.get("register_results") or 0) \
        and identified > 0


def report_title(ev: Mapping[str, Any]) -> str:
    """The report's title: the review's, without a claim to be a systematic review when no database or register
    was searched (PRISMA 2020 defines a systematic review by its search)."""
    title = str((ev.get("review") or {}).get("title", ""))
    if no_database_searched(ev):
        title = _REVIEW_CLAIM.sub("", title).strip() or title
    return f"Evidence-maturity report: {title}"


def search_statement(ev: Mapping[str, Any]) -> str:
    """What was searched, said plainly when no database or register was (empty otherwise)."""
    if not no_database_searched(ev):
        return ""
    p = ev.get("prisma") or {}
    kinds = [(label, int(p.get(key) or 0)) for key, label in _OTHER_METHODS if int(p.get(key) or 0)]
    kinds += [(str(name), int(n)) for name, n in (p.get("other_specific_results") or {}).items()]
    total = sum(n for _, n in kinds)
    named = p.get("other_sources") or {}
    where = "; ".join(f"{name}: {n}" for name, n in named.items()) if named else \
        ", ".join(f"{label} {n}" for label, n in kinds)
    return (f"No bibliographic database or trial register was searched for this report: all {count(total, 'record')} "
            f"came from other methods ({where}). It is therefore not a systematic review in the PRISMA "
            "2020 sense, and studies those methods did not reach are missing; the protocol's search strategies "
            "run with `synth run --online`.")


def _per_1000(x: Any) -> str:
    return "–" if x is None else str(x)


def _signed(x: int) -> str:
    return f"{abs(x)} fewer" if x < 0 else f"{x} more"


def sof_rows(ev: Mapping[str, Any]) -> tuple[list[dict[str, str]], list[str]]:
    """The Summary of Findings table (one row per outcome) and its numbered footnotes."""
    rows: list[dict[str, str]] = []
    notes: list[str] = []
    for o in ev["outcomes"]:
        sof = o.get("sof") or {}
        marks = []
        for reason in sof.get("reasons") or []:
            if reason not in notes:
                notes.append(reason)
            marks.append(str(notes.index(reason) + 1))
        rel = sof.get("relative_effect")
        relative = (f"{rel['measure']} {rel['estimate']:.2f} ({rel['ci'][0]:.2f} to {rel['ci'][1]:.2f})" if rel
                    else effect_text(o) if o.get("estimate") is not None else "–")
        corr, ci, diff, dci = (sof.get("corresponding_per_1000"), sof.get("corresponding_ci_per_1000"),
                               sof.get("difference_per_1000"), sof.get("difference_ci_per_1000"))
        what = str(sof.get("statement") or "")
        if sof.get("re_expression"):
            what += " " + str(sof["re_expression"])
        rows.append({
            "Outcome": str(o["label"]) + (f" ({o['timepoint']})" if o.get("timepoint") else ""),
            "Relative effect (95% CI)": relative,
            "Assumed risk per 1000": _per_1000(sof.get("assumed_per_1000")),
            "Corresponding risk per 1000 (95% CI)": "–" if corr is None or ci is None else
            f"{corr} ({ci[0]} to {ci[1]})",
            "Difference per 1000 (95% CI)": "–" if diff is None or dci is None else
            f"{_signed(diff)} ({_signed(dci[0])} to {_signed(dci[1])})",
            "Participants (studies)": f"{participants_text(o)} ({o['k']})",
            "Certainty": str(sof.get("certainty") or o["certainty"]["rating"])
            + (f" [{', '.join(marks)}]" if marks else ""),
            "What happens": what,
        })
    return rows, notes


def outcome_rows(ev: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    for o in ev["outcomes"]:
        rows.append({
            "Outcome": str(o["label"]), "k": str(o["k"]), "Participants": participants_text(o),
            "Effect": effect_text(o),
            "I²": "–" if o.get("i2") is None else f"{o['i2']:.0f}%",
            "τ²": "–" if o.get("tau2") is None else f"{o['tau2']:.3f}",
            "Randomised": _pct(o.get("share_randomised")), "High RoB weight": _pct(o.get("share_weight_high_rob")),
            "Power": _pct(o.get("power")), "OIS reached": _pct(o.get("ois_fraction")),
            "RIS reached": _pct(o.get("ris_fraction")),
            "RIS reached by": str(o.get("first_ris_year") or "not reached"),
            "Certainty": str(o["certainty"]["rating"]), "Maturity": str(o.get("maturity")),
        })
    return rows


def _review_name(x: Mapping[str, Any]) -> str:
    authors = str(x.get("review", ""))
    first = authors.split(",")[0].strip()
    return f"{first}{' et al.' if ',' in authors else ''} ({x.get('year', '')})"


def _md_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "_None._\n"
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(str(r[c]).replace("|", "/") for c in cols) + " |" for r in rows]
    return "\n".join(out) + "\n"


def to_markdown(ev: Mapping[str, Any]) -> str:
    """The report as Markdown (tables and text; figures are in the HTML)."""
    r = ev.get("review") or {}
    lines = [f"# {report_title(ev)}", ""]
    if search_statement(ev):
        lines += [f"**Search.** {search_statement(ev)}", ""]
    if r.get("question"):
        lines += [f"**Question.** {' '.join(str(r['question']).split())}", ""]
    if (ev.get("headline") or {}).get("text"):
        lines += ["## In brief", "", ev["headline"]["text"], ""]
    lines += ["## Conclusion", "", ev["conclusion"]["text"], ""]
    sof, sof_notes = sof_rows(ev)
    lines += ["## Summary of findings", "", _md_table(sof), SOF_NOTE, ""]
    lines += [f"{i}. {n}" for i, n in enumerate(sof_notes, start=1)] + ([""] if sof_notes else [])
    lines += ["## Outcomes at a glance", "", _md_table(outcome_rows(ev))]
    for o in ev["outcomes"]:
        lines += [f"## {o['label']}", ""]
        lines.append(f"- Studies: {o['k']}; participants: {participants_text(o)}; timepoint: {o.get('timepoint') or '–'}")
        if o["k"]:
            lines.append(f"- Designs: {_counts(o['designs'])}; share of weight randomised {_pct(o['share_randomised'])}")
            lines.append(f"- Countries: {_counts(o['countries'])}; settings: {_counts(o['settings'])}")
            lines.append("- Risk of bias (share of weight): " + _counts({k: _pct(v) for k, v in o['rob_weight'].items()}))
            tau2 = "–" if o.get("tau2") is None else f"{o['tau2']:.4f}"
            lines.append(f"- Pooled: {effect_text(o)}; tau² {tau2}; I² "
                         + ("–" if o.get("i2") is None else f"{o['i2']:.0f}%") + f" ({o.get('pooled_method') or 'single study'})")
            ss = o.get("small_study")
            lines.append(f"- Small-study test: {'Egger p = {:.3f}'.format(ss['p']) if ss and ss.get('p') is not None else 'not run (k < 10)'}")
            lines.append(f"- Power to detect the minimal important effect ({o.get('minimal_important_effect')}): "
                         f"{_pct(o.get('power'))} (plug-in formula {_pct(o.get('power_analytic'))})")
            if o.get("ois") is not None:
                lines.append(f"- Optimal information size {o['ois']:.0f}, reached {_pct(o['ois_fraction'])}; "
                             f"heterogeneity-adjusted RIS {o['ris']:.0f} (D² {o['diversity']:.2f}), reached {_pct(o['ris_fraction'])}")
            lines.append(f"- Cumulative meta-analysis: {_ris_text(o)}")
            if o.get("other_timepoints"):
                lines.append(f"- Other timepoints: {other_timepoints_text(o)}")
        lines.append(f"- Certainty: **{o['certainty']['rating']}**")
        for reason in o["certainty"]["reasons"]:
            sign = f"{reason['change']:+d}" if reason["change"] else "0"
            lines.append(f"  - {reason['domain']} ({sign}): {reason['text']} _Rule: {reason['rule']}._")
        for note in o.get("notes", []):
            lines.append(f"- Note: {note}")
        lines.append("")
    gm = ev["gap_map"]
    rows_label = str(gm.get("rows_label") or "Studies")
    lines += ["## Evidence-gap map", "", f"Studies per cell ({rows_label.lower()} × outcome domain):", ""]
    cells = {(c["model"], c["domain"]): c for c in gm["cells"]}
    gm_rows = []
    for m in gm["models"]:
        row = {rows_label: m["label"]}
        for d in gm["domains"]:
            c = cells[(m["id"], d["id"])]
            row[d["label"]] = (str(c["n_studies"]) + (" (high RoB only)" if c["only_high_risk"] else "")) if c["n_studies"] else "gap"
        gm_rows.append(row)
    lines += [_md_table(gm_rows), f"Empty cells: {len(gm['empty_cells'])} of {gm['n_cells']}; single-study cells: "
              f"{len(gm['single_study_cells'])}; only high-risk cells: {len(gm['only_high_risk_cells'])}.", ""]
    lines += ["## Valued outcomes that no included quantitative study measured", ""]
    lines += [f"- {u}" for u in ev["unmeasured_valued_outcomes"]] or ["- None."]
    if ev.get("unextracted_valued_outcomes"):
        lines += ["", "## Valued outcomes with no data extracted", "", UNEXTRACTED_OUTCOMES_TEXT, ""]
        lines += [f"- {u}" for u in ev["unextracted_valued_outcomes"]]
    missing = ev.get("not_extracted") or []
    if missing:  # a section without data is left out
        lines += ["", "## Included but not extracted", "", NOT_EXTRACTED_TEXT.format(
            n=count(len(missing), "record"), verb=agree(len(missing), "was", "were")), ""]
        lines += [f"- Record {x['record']}: {x['title'] or '(no title)'}" for x in missing]
    if ev.get("rob_rules"):
        lines += ["", "## Risk of bias", "", "How each tool feeds the certainty rating (GRADE's risk-of-bias domain "
                  "is rated from the share of each outcome's weight in each class; a study nobody assessed counts "
                  "as not assessed):", ""]
        lines += [f"- {r}." for r in ev["rob_rules"]]
    ov = [{"Review": _review_name(x), "Outcome": str(x.get("outcome", "")),
           "Result": f"{x.get('effect_measure', '')} {x.get('estimate', '')} [{x.get('ci_low', '')}, {x.get('ci_high', '')}]",
           "k": str(x.get("k_studies", "")), "Certainty / note": str(x.get("certainty_or_note", ""))[:80]}
          for x in ev.get("overview") or []]
    if ov:  # a section without data is left out
        lines += ["", "## Existing reviews", "", _md_table(ov)]
    p = ev.get("prisma")
    if p:
        lines += ["## PRISMA 2020 flow", "", f"Records identified: {p.get('database_results', 0)} from databases, "
                  f"{p.get('register_results', 0)} from registers; duplicates removed {p.get('duplicates', 0)}; "
                  f"screened {p.get('records_screened', 0)}; reports assessed {p.get('dbr_assessed', 0)}; studies "
                  f"included {p.get('total_studies', 0)} ({p.get('total_reports', 0)} reports).", ""]
        if p.get("adopted_inclusions"):
            lines += [ADOPTED_TEXT.format(n=p["adopted_inclusions"]), ""]
        for w in p.get("warnings", []):
            lines.append(f"- Warning: {w}")
        lines.append("")
    for note in ev.get("notes", []):
        lines.append(f"- Note: {note}")
    return markdown_safe("\n".join(lines).rstrip() + "\n")  # record and protocol text never becomes HTML


CSS = """
body{font-family:Arial,Helvetica,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:1em 0;max-width:100%}th,td{border:1px solid #ccc;padding:.25em .4em;vertical-align:top;overflow-wrap:anywhere;hyphens:auto}
@media (max-width:900px){table{font-size:.72em}th,td{padding:.2em .25em}}
@media print{body{max-width:none;margin:0;padding:0}table{font-size:.7em}th,td{padding:.15em .25em}}
th{background:#f0f4f8}figure{margin:1.2em 0;overflow-x:auto}figcaption{font-size:.85em;color:#555}
.certainty-high{color:#1b5e20}.certainty-moderate{color:#33691e}.certainty-low{color:#e65100}.certainty-very-low{color:#b71c1c}
.headline{font-size:1.1em;font-weight:bold;color:#1f4e79}.conclusion{background:#f7f7f2;border-left:4px solid #1f4e79;padding:.8em 1em}.warn{color:#8a4b00}
img.fig{max-width:100%;height:auto}
"""


def _img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="fig" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def _table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "<p><em>None.</em></p>"
    cols = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(r[c]))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_ids(ev: Mapping[str, Any]) -> list[str]:
    """The ``data-figure`` ids the HTML contains (for tests and ``synth run`` summaries)."""
    ids = ["prisma"] if ev.get("prisma") else []
    ids += ["gap-map", "rob"]
    for o in ev["outcomes"]:
        if o["k"]:
            ids += [f"forest-{o['id']}", f"cumulative-{o['id']}"]
            if o["k"] >= 2:
                ids.append(f"funnel-{o['id']}")
    return ids


def figure_svgs(ev: Mapping[str, Any], forests: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every report figure as SVG text, keyed by its ``data-figure`` id (the PRISMA diagram is written by
    :mod:`synth.prisma` as ``prisma.svg``).

    ``forests`` maps outcome ids to the forest plot of :func:`synth.figures.forest.forest_svg` (drawn from the
    outcome's effect table, see :func:`synth.report.outputs.outcome_forests`); an outcome without one has no
    forest in the report."""
    out = {"gap-map": gap_map(ev["gap_map"]), "rob": rob_profile(ev["outcomes"])}
    for o in ev["outcomes"]:
        if o["k"]:
            if forests and o["id"] in forests:
                out[f"forest-{o['id']}"] = forests[o["id"]]
            if o["k"] >= 2:
                out[f"funnel-{o['id']}"] = funnel_svg(o)
            out[f"cumulative-{o['id']}"] = cumulative(o)
    return out


def write_figures(ev: Mapping[str, Any], folder: Path | str, svgs: Mapping[str, str] | None = None) -> list[Path]:
    """Write each report figure as ``report-<id>.svg`` into ``folder`` (report figures open on their own, too);
    forest plots are left out, as ``synth run`` writes each as ``forest-<outcome>.svg``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, svg in (svgs or figure_svgs(ev)).items():
        if name.startswith("forest-"):
            continue
        path = out / f"report-{name}.svg"
        path.write_text(svg, encoding="utf-8")
        paths.append(path)
    return paths


def to_html(ev: Mapping[str, Any], svgs: Mapping[str, str] | None = None) -> str:
    """One self-contained HTML page with every figure embedded (``svgs``: from :func:`figure_svgs`)."""
    fig = svgs or figure_svgs(ev)

    r = ev.get("review") or {}
    title = report_title(ev)
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{escape(title)}</h1>"]
    if search_statement(ev):
        parts.append(f'<p class="warn"><strong>Search.</strong> {escape(search_statement(ev))}</p>')
    if r.get("question"):
        parts.append(f"<p><strong>Question.</strong> {escape(' '.join(str(r['question']).split()))}</p>")
    if (ev.get("headline") or {}).get("text"):
        parts.append(f'<h2 id="headline">In brief</h2><p class="headline">{escape(ev["headline"]["text"])}</p>')
    parts.append(f'<h2 id="conclusion">Conclusion</h2><div class="conclusion"><p>{escape(ev["conclusion"]["text"])}</p></div>')
    sof, sof_notes = sof_rows(ev)
    parts.append('<h2 id="sof">Summary of findings</h2>' + _table(sof) + f"<p>{escape(SOF_NOTE)}</p>")
    if sof_notes:
        parts.append("<ol>" + "".join(f"<li>{escape(n)}</li>" for n in sof_notes) + "</ol>")
    parts.append('<h2 id="glance">Outcomes at a glance</h2>' + _table(outcome_rows(ev)))
    p = ev.get("prisma")
    if p:
        parts.append('<h2 id="prisma">PRISMA 2020 flow diagram</h2>')
        parts.append(f'<figure data-figure="prisma">{render_svg(p)}<figcaption>Counts computed from the event log; '
                     "accounting identities checked.</figcaption></figure>")
        if p.get("adopted_inclusions"):
            parts.append(f'<p class="warn">{escape(ADOPTED_TEXT.format(n=p["adopted_inclusions"]))}</p>')
        for w in p.get("warnings", []):
            parts.append(f'<p class="warn">Warning: {escape(str(w))}</p>')
    parts.append('<h2 id="gap-map">Evidence-gap map</h2>')
    gm = ev["gap_map"]
    parts.append(f'<figure data-figure="gap-map">{fig["gap-map"]}<figcaption>{len(gm["empty_cells"])} of '
                 f'{count(gm["n_cells"], "cell")} empty; {len(gm["single_study_cells"])} with a single study; '
                 f'{len(gm["only_high_risk_cells"])} with only high-risk evidence.</figcaption></figure>')
    parts.append('<h2 id="unmeasured">Valued outcomes that no included quantitative study measured</h2><ul>'
                 + ("".join(f"<li>{escape(u)}</li>" for u in ev["unmeasured_valued_outcomes"]) or "<li>None.</li>")
                 + "</ul>")
    if ev.get("unextracted_valued_outcomes"):
        parts.append(f'<h2 id="unextracted">Valued outcomes with no data extracted</h2>'
                     f"<p>{escape(UNEXTRACTED_OUTCOMES_TEXT)}</p><ul>"
                     + "".join(f"<li>{escape(u)}</li>" for u in ev["unextracted_valued_outcomes"]) + "</ul>")
    parts.append('<h2 id="rob">Risk of bias</h2>')
    parts.append(f'<figure data-figure="rob">{_img(fig["rob"], "Risk-of-bias profile")}'
                 "<figcaption>Share of each outcome's random-effects weight by overall risk-of-bias judgement."
                 "</figcaption></figure>")
    if ev.get("rob_rules"):
        parts.append("<p>How each tool feeds the certainty rating:</p><ul>"
                     + "".join(f"<li>{escape(r)}.</li>" for r in ev["rob_rules"]) + "</ul>")
    for o in ev["outcomes"]:
        parts.append(f'<h2 id="outcome-{escape(o["id"])}">{escape(str(o["label"]))}</h2>')
        parts.append(f"<p>{o['k']} studies; participants: {escape(participants_text(o))}"
                     + (f"; timepoint {escape(str(o.get('timepoint')))}" if o.get("timepoint") else "") + ".</p>")
        if o["k"]:
            tau2 = "–" if o.get("tau2") is None else f"{o['tau2']:.4f}"
            parts.append("<ul>"
                         f"<li>Designs: {escape(_counts(o['designs']))} (randomised weight {_pct(o['share_randomised'])})</li>"
                         f"<li>Countries: {escape(_counts(o['countries']))}; settings: {escape(_counts(o['settings']))}</li>"
                         "<li>Risk of bias (share of weight): "
                         f"{escape(_counts({k: _pct(v) for k, v in o['rob_weight'].items()}))}</li>"
                         f"<li>Pooled: {escape(effect_text(o))}; τ² {tau2}; I² "
                         + ("–" if o.get("i2") is None else f"{o['i2']:.0f}%") + "</li>"
                         f"<li>Power to detect the minimal important effect: {_pct(o.get('power'))} "
                         f"(plug-in {_pct(o.get('power_analytic'))})</li>"
                         + (f"<li>Optimal information size {o['ois']:.0f} (reached {_pct(o['ois_fraction'])}); "
                            f"required information size {o['ris']:.0f} (reached {_pct(o['ris_fraction'])})</li>"
                            if o.get("ois") is not None else "")
                         + f"<li>Cumulative meta-analysis: {escape(_ris_text(o))}</li>"
                         + (f"<li>Other timepoints: {escape(other_timepoints_text(o))}</li>"
                            if o.get("other_timepoints") else "")
                         + "</ul>")
            parts.append(_table([{"Study": str(x["label"]), "Year": str(x.get("year") or ""), "n": str(x.get("n") or ""),
                                  "Design": str(x.get("design") or ""), "Country": str(x.get("country") or ""),
                                  "Model": str(x.get("model") or ""), "RoB": str(x.get("rob") or ""),
                                  "Effect": _disp(str(o["measure"]), x["yi"]), "Weight": _pct(x.get("weight"))}
                                 for x in o.get("studies", [])]))
            if "forest-" + o["id"] in fig:
                parts.append(f'<figure data-figure="forest-{escape(o["id"])}">{_img(fig["forest-" + o["id"]], "Forest plot")}'
                             "<figcaption>Forest plot: study effects with confidence intervals and weights, the pooled "
                             "diamond and the prediction interval (red line), with the risk-of-bias judgements "
                             "where assessed.</figcaption></figure>")
            if o["k"] >= 2:
                parts.append(f'<figure data-figure="funnel-{escape(o["id"])}">{_img(fig["funnel-" + o["id"]], "Funnel plot")}'
                             "<figcaption>Funnel plot" + ("" if o["k"] >= 10 else " (fewer than 10 studies: no test)")
                             + ".</figcaption></figure>")
            parts.append(f'<figure data-figure="cumulative-{escape(o["id"])}">'
                         f'{_img(fig["cumulative-" + o["id"]], "Cumulative meta-analysis")}'
                         "<figcaption>Cumulative meta-analysis by year, nominal CIs (green: required information size "
                         "reached and the CI excludes no effect; blue: the CI excludes important effects). No "
                         "sequential boundaries.</figcaption></figure>")
        cert = o["certainty"]
        cls = "certainty-" + str(cert["rating"]).replace(" ", "-")
        parts.append(f'<p>Certainty: <strong class="{cls}">{escape(str(cert["rating"]))}</strong></p><ul>'
                     + "".join(f"<li><strong>{escape(x['domain'])}</strong> ({x['change']:+d}): {escape(x['text'])} "
                               f"<em>Rule: {escape(x['rule'])}.</em></li>" for x in cert["reasons"]) + "</ul>")
        for note in o.get("notes", []):
            parts.append(f'<p class="warn">{escape(note)}</p>')
    ov = [{"Review": _review_name(x), "Title": str(x.get("title", "")),
           "Outcome": str(x.get("outcome", "")),
           "Result": f"{x.get('effect_measure', '')} {x.get('estimate', '')} [{x.get('ci_low', '')}, {x.get('ci_high', '')}]",
           "k": str(x.get("k_studies", "")), "Certainty / note": str(x.get("certainty_or_note", ""))}
          for x in ev.get("overview") or []]
    if ov:  # a section without data is left out
        parts.append('<h2 id="overview">Existing reviews</h2>')
        parts.append(_table(ov))
    missing = ev.get("not_extracted") or []
    if missing:  # a section without data is left out
        parts.append('<h2 id="not-extracted">Included but not extracted</h2>')
        parts.append("<p>" + escape(NOT_EXTRACTED_TEXT.format(n=count(len(missing), "record"),
                                                           verb=agree(len(missing), "was", "were"))) + "</p><ul>"
                     + "".join(f"<li>Record {x['record']}: {escape(x['title'] or '(no title)')}</li>" for x in missing)
                     + "</ul>")
    for note in ev.get("notes", []):
        parts.append(f'<p class="warn">Note: {escape(str(note))}</p>')
    parts.append("<script>window.addEventListener('load',function(){var f=document.querySelectorAll('figure[data-figure]');"
                 "var ok=0;f.forEach(function(x){var i=x.querySelector('img');var s=x.querySelector('svg');"
                 "if((i&&i.naturalWidth>0)||(s&&s.getBoundingClientRect().width>0)){x.setAttribute('data-rendered','yes');ok++;}});"
                 "document.body.setAttribute('data-figures-rendered',String(ok));"
                 # every table fits the page's width (no sideways scrolling): checked by the browser test
                 "var fit=true;document.querySelectorAll('table').forEach(function(t){"
                 "if(t.getBoundingClientRect().right>document.body.getBoundingClientRect().right+1)fit=false;});"
                 "document.body.setAttribute('data-tables-fit',fit?'yes':'no');});</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(ev: Mapping[str, Any], out_dir: Path | str, formats: tuple[str, ...] = ("html", "md", "json"),
                 svgs: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Write ``report.html``, ``report.md`` and ``evidence.json`` (as asked) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if "json" in formats:
        paths["json"] = out / "evidence.json"
        paths["json"].write_text(json.dumps(ev, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    if "md" in formats:
        paths["md"] = out / "report.md"
        paths["md"].write_text(to_markdown(ev), encoding="utf-8")
    if "html" in formats:
        paths["html"] = out / "report.html"
        paths["html"].write_text(to_html(ev, svgs), encoding="utf-8")
    return paths
