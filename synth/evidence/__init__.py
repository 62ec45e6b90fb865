"""The evidence-maturity report: how developed is the evidence, outcome by outcome and for the whole review.

Entry points:

* :func:`build_evidence` — pure: per-outcome inputs (plain dicts and :class:`StudyEffect` lists) -> the
  ``evidence.json`` structure.
* :func:`evidence_from_workspace` — I/O shell: reconciled extractions (``synth.extraction``) pooled with
  ``synth.meta`` (through :mod:`synth.analysis.pooled`, the protocol's estimator and test), the gap map,
  the overview of existing reviews, and the PRISMA counts the caller computed (``synth.prisma``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from synth.errors import SynthError
from synth.evidence import gather as g
from synth.evidence.gapmap import Evidence, build_gap_map
from synth.evidence.headline import headline
from synth.evidence.maturity import Settings, StudyEffect, assess_outcome, conclusion
from synth.extraction.rob import SUMMARY_RULES

if TYPE_CHECKING:
    from synth.protocol.model import Protocol
    from synth.workspace import Workspace

__all__ = ["Evidence", "Settings", "StudyEffect", "build_evidence", "evidence_from_workspace", "settings_from"]

def settings_from(protocol: Protocol) -> Settings:
    """Report settings from the protocol's ``[analysis]`` (estimator, CI method, PI, level, yardsticks)."""
    a = protocol.analysis
    return Settings(alpha=a.alpha, power=a.power, level=a.level, ci_method=a.ci_method, method=a.estimator.value,
                    pi=a.prediction_interval, small_study_min_k=a.small_study_min_k, min_k=a.min_k)


def build_evidence(
    outcomes: Sequence[tuple[Mapping[str, Any], Sequence[StudyEffect], Mapping[str, Any] | None]],
    *,
    domains: Sequence[tuple[str, str]],
    models: Sequence[tuple[str, str]],
    gap_evidence: Sequence[Evidence],
    rows_label: str = "Studies",
    not_valued: Sequence[str] = (),
    rob_tools: Sequence[str] = (),
    settings: Settings | None = None,
    overview: Sequence[Mapping[str, Any]] = (),
    review: Mapping[str, Any] | None = None,
    prisma: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    not_extracted: Sequence[Mapping[str, Any]] = (),
    intervention: str = "the intervention",
) -> dict[str, Any]:
    """Assemble ``evidence.json``: ``{"review", "outcomes": [...], "gap_map", "unmeasured_valued_outcomes",
    "overview", "conclusion", "prisma", "yardsticks", "notes", "not_extracted"}``; ``not_extracted`` lists the
    records included at full text that no extraction covers (``record``, ``title``). ``rows_label`` names the gap map's rows (the
    protocol's ``gap_map_rows`` field); outcomes of ``not_valued`` domains are not listed as valued gaps;
    ``rob_rules`` says how each of ``rob_tools`` feeds the certainty rating."""
    settings = settings or Settings()
    results = [assess_outcome(o, studies, pooled, settings) for o, studies, pooled in outcomes]
    gm = {**build_gap_map(gap_evidence, domains, models), "rows_label": rows_label}
    no_data = [r for r in results if not r["k"] and r.get("domain") not in not_valued]
    unmeasured = [r["label"] for r in no_data if r.get("status") != "not extracted"]
    unextracted = [r["label"] for r in no_data if r.get("status") == "not extracted"]
    empty_domains = [d for d, n in gm["studies_per_domain"].items() if n == 0]
    label_of = dict(domains)
    for d in empty_domains:
        text = f"{label_of.get(d, d)} (no outcome of this domain has data from an included study)"
        in_domain = [r for r in results if r.get("domain") == d]
        if d not in not_valued:  # not measured only when every outcome of the domain is known not measured
            (unmeasured if in_domain and all(r.get("status") == "not measured" for r in in_domain)
             else unextracted).append(text)
    concl = conclusion(results, gm, unmeasured, unextracted)
    return {
        "review": dict(review or {}),
        "headline": headline(results, prisma, intervention=intervention, not_valued=not_valued),
        "rob_rules": [SUMMARY_RULES.get(t, f"{t}: the overall judgement recorded") for t in rob_tools],
        "outcomes": results,
        "gap_map": gm,
        "unmeasured_valued_outcomes": unmeasured,
        "unextracted_valued_outcomes": unextracted,
        "overview": list(overview),
        "conclusion": concl,
        "prisma": dict(prisma) if prisma is not None else None,
        "yardsticks": {
            "alpha": settings.alpha, "target_power": settings.power, "ci_level": settings.level,
            "small_study_min_k": settings.small_study_min_k,
            "k_for_re_power": 5,
            "sources": ["Jackson & Turner 2017 (k >= 5)", "Sterne et al. 2011 (k >= 10 for funnel tests)",
                        "Hedges & Pigott 2001 (power)", "Wetterslev et al. 2009 (diversity-adjusted RIS)",
                        "GRADE 6/34/35 (imprecision, OIS)"],
        },
        "notes": list(notes),
        "not_extracted": [dict(x) for x in not_extracted],
    }


def evidence_from_workspace(
    workspace: Workspace,
    protocol: Protocol,
    protocol_name: str,
    *,
    prisma: Mapping[str, Any] | None = None,
    not_extracted: Sequence[Mapping[str, Any]] = (),
    studies: Collection[str] | None = None,
) -> dict[str, Any]:
    """The full evidence report data for the workspace's protocol (reads extractions; ``prisma``: the counts
    of :func:`synth.prisma.prisma_from_store`, or ``None`` for a report without the flow; ``not_extracted``:
    :func:`synth.extraction.screening_link.unextracted`; ``studies``: only these studies' extractions, the
    studies included at full text, or every reconciled extraction when None)."""
    notes: list[str] = []
    outcome_inputs = []
    statuses = g.outcome_statuses(workspace, protocol, protocol_name, studies)
    for o in protocol.outcomes:
        outcome_notes: list[str] = []
        effects, timepoint = g.gather_outcome(workspace, protocol, protocol_name, o.id, outcome_notes, studies)
        od = g.outcome_dict(o)
        od["timepoint"] = timepoint
        od["notes"] = outcome_notes
        od["intervention"] = protocol.pico.intervention_label if protocol.pico else "The intervention"
        od["status"], od["silent_studies"], od["included_studies"] = statuses[o.id]
        od["other_timepoints"] = g.other_timepoints(workspace, protocol, protocol_name, o.id, timepoint,
                                                    settings_from(protocol).pool_options(), studies)
        outcome_inputs.append((od, effects, None))
    try:
        gap_ev = g.evidence_rows(workspace, protocol, protocol_name, studies)
    except (SynthError, OSError, ValueError) as exc:  # a broken extraction folder must not hide the rest
        notes.append(f"gap map: extractions could not be read ({exc})")
        gap_ev = []
    overview_path = g.find_overview(workspace, protocol_name)
    overview = g.summarise_overview(g.load_overview(overview_path)) if overview_path else []
    if overview_path is None:
        notes.append(f"No data/{protocol_name}/{g.OVERVIEW_NAME} in the workspace: the overview of existing reviews is empty.")
    review = {"id": protocol.review.id, "title": protocol.review.title, "question": protocol.review.question,
              "protocol": protocol_name}
    rows_label, models = g.model_axis(protocol)
    try:
        tools = g.rob_tools(workspace, protocol, protocol_name, studies)
    except (SynthError, OSError, ValueError):
        tools = []  # the gap map's note above already says the extractions could not be read
    return build_evidence(
        outcome_inputs, domains=[(d.id, d.label) for d in protocol.domains], models=models,
        gap_evidence=gap_ev, rows_label=rows_label, not_valued=[d.id for d in protocol.domains if not d.valued],
        rob_tools=tools,
        settings=settings_from(protocol), overview=overview, review=review, prisma=prisma, notes=notes,
        not_extracted=not_extracted,
        intervention=protocol.pico.intervention_label if protocol.pico else "the intervention",
    )
