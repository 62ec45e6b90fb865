"""Rendering a protocol as PROSPERO-style registration text (Markdown)."""

from __future__ import annotations

from synth.protocol.model import Protocol, Stopping
from synth.wording import count


def _list(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items) if items else "- (none)"


def to_markdown(p: Protocol) -> str:
    """The registration text, in the order of PROSPERO's form (review question, searches, participants, ...)."""
    r = p.review
    lines: list[str] = [f"# {r.title}", ""]
    reg = r.registration
    if reg.registry:
        lines += [f"**Registration:** {reg.registry} {reg.id or '(not yet registered)'}", ""]
    if r.authors:
        lines += [f"**Review team:** {', '.join(r.authors)}", ""]
    lines += ["## Review question", "", r.question.strip(), ""]
    if p.pico:
        lines += [
            "## Condition, participants and interventions (PICO)", "",
            f"**Participants/population:** {p.pico.population}", "",
            f"**Intervention(s):** {p.pico.intervention}", "",
            f"**Comparator(s)/control:** {p.pico.comparator}", "",
            f"**Outcomes:** {p.pico.outcomes}", "",
            "**Types of study to be included:**", "", _list(list(p.pico.study_designs)), "",
        ]
        if p.pico.context:
            lines += [f"**Context:** {p.pico.context}", ""]
    if p.pcc:
        lines += [
            "## Population, concept, context (PCC)", "",
            f"**Population:** {p.pcc.population}", "",
            f"**Concept:** {p.pcc.concept}", "",
            f"**Context:** {p.pcc.context}", "",
        ]
    lines += ["## Eligibility criteria (exclusion reasons)", "", "| id | criterion | applies at | description |",
              "|---|---|---|---|"]
    for c in p.criteria:
        stages = ", ".join(s.value for s in c.stages)
        lines.append(f"| `{c.id}` | {c.label} | {stages} | {c.description} |")
    lines += ["", "## Outcomes", ""]
    domains = {d.id: d for d in p.domains}
    for priority, heading in (("primary", "Main outcome(s)"), ("secondary", "Additional outcome(s)")):
        lines += [f"### {heading}", ""]
        for o in (o for o in p.outcomes if o.priority == priority):
            times = f"; timing: {', '.join(o.timepoints)}" if o.timepoints else ""
            lines.append(f"- **{o.label}** (`{o.id}`, {domains[o.domain].label}): measure of effect {o.measure.value}{times}")
        lines.append("")
    lines += ["## Searches", ""]
    for name, src in p.sources.api_sources().items():
        limits = src.limits
        window = ""
        if limits.date_from or limits.date_to:
            window = f" (from {limits.date_from or 'inception'} to {limits.date_to or 'date of search'})"
        lines += [f"**{name}**{window}:", "", "```", src.query, "```", ""]
        if src.filter:
            lines += [f"Filter: `{src.filter}`", ""]
    for f in p.sources.files:
        lines += [f"**{f.database}** ({f.kind}{', ' + f.platform if f.platform else ''}): file `{f.path}`", ""]
        if f.query:
            lines += ["```", f.query, "```", ""]
    s = p.screening
    lines += [
        "## Study selection", "",
        f"Title/abstract screening by {count(s.reviewers_title_abstract, 'reviewer')} per record and full-text "
        f"screening by {count(s.reviewers_full_text, 'reviewer')} per report, {'blinded to each other' if s.blinding else 'unblinded'}; "
        "disagreements resolved by consensus or a third reviewer."
        + (" Records are prioritised by active learning; " + _stopping_sentence(s.stopping) if s.prioritisation
           else ""),
        "",
        "## Data extraction (selection and coding)", "",
        "Two reviewers extract independently into the protocol's form and reconcile. Study-level fields:", "",
        _list([f"{f.label} ({f.type.value}{', required' if f.required else ''})" for f in p.extraction.study_fields]),
        "",
        "## Risk of bias (quality) assessment", "",
        _list([f"{design}: {tool}" for design, tool in p.risk_of_bias.tools.items()]), "",
    ]
    a = p.analysis
    lines += [
        "## Strategy for data synthesis", "",
        f"Random-effects meta-analysis with the {a.estimator.value} estimator of tau², {a.ci_method} confidence "
        f"intervals at {a.level:g}% and a prediction interval ({a.prediction_interval}); pooled when at least "
        f"{a.min_k} studies report an outcome. Small-study tests only with at least {a.small_study_min_k} studies.",
        "",
        "## Analysis of subgroups or subsets", "",
        _list([f"{g.label} (field `{g.field}`)" for g in a.subgroups]), "",
    ]
    if p.amendments:
        lines += ["## Amendments", "", "| date | section | change | rationale |", "|---|---|---|---|"]
        lines += [f"| {m.date} | {m.section} | {m.description} | {m.rationale} |" for m in p.amendments]
        lines.append("")
    return "\n".join(lines)


def _stopping_sentence(stopping: Stopping) -> str:
    """How screening may stop, in the protocol's words."""
    if stopping.rule == "none":
        return "every record is screened (no stopping rule)."
    if stopping.rule == "knee":
        return "screening may stop by the knee method (Cormack & Grossman 2016), a heuristic without a recall guarantee."
    return (f"screening may stop by the {stopping.rule} rule at {stopping.recall:.0%} recall with "
            f"{stopping.confidence:.0%} confidence.")
