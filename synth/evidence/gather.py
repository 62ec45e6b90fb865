"""The thin I/O shell of the evidence report: reconciled extractions -> per-outcome studies, the gap map rows, the overview.

Reads through the extraction module (``synth.extraction``: reconciled files, the tidy table, ``meta_table``
and ``meta_effects``); the pooling itself is done by the meta-analysis module (``synth.meta``) through
:mod:`synth.analysis.pooled` when the outcome is assessed. When an outcome has no data, or its data cannot
be read, it is reported with k = 0 and a note; nothing is invented.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.analysis.table import meta_effects, meta_table
from synth.errors import InputError
from synth.evidence.gapmap import Evidence
from synth.evidence.maturity import StudyEffect
from synth.extraction.eligibility import assess
from synth.extraction.files import load_folder
from synth.extraction.rob import rob_class
from synth.extraction.table import tidy_rows
from synth.meta.io import finite_or_none

if TYPE_CHECKING:
    from synth.meta.pooling import PoolOptions
    from synth.protocol.model import Protocol
    from synth.workspace import Workspace

OVERVIEW_NAME = "existing-reviews.toml"


def outcome_dict(o: Any) -> dict[str, Any]:
    return {"id": o.id, "label": o.label, "domain": o.domain, "priority": o.priority, "measure": o.measure.value,
            "direction": o.direction, "minimal_important_effect": o.minimal_important_effect,
            "timepoints": list(o.timepoints)}


def gather_outcome(workspace: Workspace, protocol: Protocol, protocol_name: str, outcome_id: str,
                   notes: list[str], included: Collection[str] | None = None) -> tuple[list[StudyEffect], str | None]:
    """The studies (effects on the protocol measure's analysis scale) for one outcome, at the timepoint the
    extraction module chooses, and that timepoint; problems and excluded studies are appended to ``notes``.

    Effects come from :func:`synth.analysis.table.meta_effects`, so an outcome whose data mix event
    counts and published (log) ratios is labelled with the protocol's measure (e.g. RR) rather than the
    generic ``GEN``; pooling is left to :mod:`synth.analysis.pooled` (synth.meta).
    """
    try:
        frame = meta_table(workspace, protocol, outcome_id, protocol_name=protocol_name, studies=included)
    except InputError as exc:
        if "no reconciled extraction has data" not in str(exc):
            notes.append(f"The extracted data could not be read: {exc}")
        return [], None
    timepoint = str(frame.attrs.get("timepoint"))
    others = {tp: n for tp, n in (frame.attrs.get("timepoints") or {}).items() if tp != timepoint}
    notes.append(f"Timepoint {timepoint}: {frame.attrs.get('timepoint_basis', 'most studies')}."
                 + (" Other timepoints with data, each pooled on its own under 'Other timepoints' "
                    f"(`synth meta pool --outcome {outcome_id} --timepoint T` gives the full analysis): "
                    + ", ".join(f"{tp} ({n} {'study' if n == 1 else 'studies'})" for tp, n in others.items()) + "."
                    if others else ""))
    try:
        table = meta_effects(frame)
    except InputError as exc:
        notes.append(f"Effect sizes could not be computed at timepoint {timepoint}: {exc}")
        return [], timepoint
    for e in [*frame.attrs.get("excluded", []), *table.excluded]:
        notes.append(f"Study {e.get('study')} left out of the analysis: {e.get('reason')}.")
    files, _ = load_folder(workspace.extractions_dir(protocol_name))
    reconciled = [f for f in files if f.reconciled and (included is None or f.study in included)]
    rows = {str(r["study"]): r for r in tidy_rows(reconciled, protocol, outcome_id)
            if str(r["timepoint"]) == timepoint}
    arms = study_arm_sizes(tidy_rows(reconciled, protocol))
    unverified: dict[str, list[str]] = {}
    for a in assess(reconciled, protocol):
        if a.verdict == "not assessable":
            unverified.setdefault(a.study, []).append(f"{a.field} not recorded for \u2018{a.label}\u2019")
    borrowed: list[str] = []
    studies: list[StudyEffect] = []
    for idx, ok in enumerate(table.included):
        if not ok:
            continue
        sid = str(frame["study_id"].iloc[idx])
        r = rows.get(sid, {})
        n_t, n_c = finite_or_none(r.get("n_t")), finite_or_none(r.get("n_c"))
        n = int((n_t or 0) + (n_c or 0)) or int(finite_or_none(r.get("n_randomised")) or finite_or_none(r.get("n")) or 0)
        if not n and arms.get(sid):
            n = arms[sid]
            borrowed.append(str(r.get("label") or sid))
        ev_c = finite_or_none(r.get("events_c"))
        sd_t, sd_c = finite_or_none(r.get("sd_t")), finite_or_none(r.get("sd_c"))
        sd = None
        if sd_t and sd_c and n_t and n_c and n_t + n_c > 2:
            sd = math.sqrt(((n_t - 1) * sd_t**2 + (n_c - 1) * sd_c**2) / (n_t + n_c - 2))
        studies.append(StudyEffect(
            study_id=sid, label=str(r.get("label") or frame["study"].iloc[idx]), yi=float(table.yi[idx]),
            vi=float(table.vi[idx]), n=n, year=int(r["year"]) if r.get("year") else None,
            design=str(r.get("design") or ""), rob=rob_class(r.get("rob_overall")), country=str(r.get("country") or ""),
            setting=str(r.get("setting") or ""), model=str(r.get("partnership_model") or ""),
            control_risk=(ev_c / n_c) if (ev_c is not None and n_c) else None, sd=sd,
            unverified="; ".join(unverified.get(sid, [])),
        ))
    if borrowed:
        notes.append(f"Participants of {len(borrowed)} {'study' if len(borrowed) == 1 else 'studies'} "
                     f"({', '.join(borrowed[:5])}{', ...' if len(borrowed) > 5 else ''}) taken from the arm sizes "
                     "their extractions give for other outcomes: this outcome's data give an effect and CI only.")
    return studies, timepoint


def other_timepoints(workspace: Workspace, protocol: Protocol, protocol_name: str, outcome_id: str,
                     chosen: str | None, opts: PoolOptions, included: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Every timepoint of ``outcome_id`` with data other than ``chosen``, each pooled with the same options:
    ``{"timepoint", "k", "estimate", "ci_low", "ci_high", "measure"}`` (analysis scale), or ``note`` when it
    cannot be pooled. Studies with several effects there are pooled as one effect each (their first)."""
    from synth.analysis.pooled import pool

    try:
        frame = meta_table(workspace, protocol, outcome_id, protocol_name=protocol_name, studies=included)
    except InputError:
        return []
    out: list[dict[str, Any]] = []
    for tp in (frame.attrs.get("timepoints") or {}):
        if tp == chosen:
            continue
        try:
            at = meta_table(workspace, protocol, outcome_id, tp, protocol_name=protocol_name, studies=included)
            table = meta_effects(at)
            seen: set[str] = set()
            keep = []
            for i, ok in enumerate(table.included):
                sid = str(at["study_id"].iloc[i])
                if ok and sid not in seen:
                    seen.add(sid)
                    keep.append(i)
            if not keep:
                raise InputError("no study has an estimable effect")
            res = pool([float(table.yi[i]) for i in keep], [float(table.vi[i]) for i in keep], opts,
                       measure=table.measure, report_pi=False)
            out.append({"timepoint": tp, "k": len(keep), "estimate": res.get("estimate"), "ci_low": res.get("ci_low"),
                        "ci_high": res.get("ci_high"), "measure": table.measure})
        except InputError as exc:
            out.append({"timepoint": tp, "k": 0, "note": f"not pooled: {exc}"})
    return out


def outcome_statuses(workspace: Workspace, protocol: Protocol, protocol_name: str,
                     included: Collection[str] | None = None) -> dict[str, tuple[str, int, int]]:
    """Per protocol outcome: ``(status, silent, studies)``. ``status`` is ``measured`` when some included
    study's extraction has data for it, ``not measured`` when every included study's extraction lists it in
    ``not_measured`` (its report shows it was not measured), else ``not extracted`` (``silent`` of the
    ``studies`` included extractions neither give data nor say it was not measured: the studies may have
    measured it and nobody transcribed it)."""
    files, _ = load_folder(workspace.extractions_dir(protocol_name))
    wanted = [f for f in files if f.reconciled and (included is None or f.study in included)]
    out: dict[str, tuple[str, int, int]] = {}
    for o in protocol.outcomes:
        with_data = sum(1 for f in wanted if any(isinstance(r, dict) and r.get("outcome") == o.id
                                                for r in f.data.get("outcomes", []) or []))
        declared = sum(1 for f in wanted if o.id in (f.data.get("not_measured") or []))
        silent = len(wanted) - with_data - declared
        status = "measured" if with_data else ("not measured" if wanted and silent == 0 else "not extracted")
        out[o.id] = (status, silent, len(wanted))
    return out


def study_arm_sizes(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Per study, the largest ``n_t + n_c`` any of its outcome rows records.

    A trial randomises its participants once, so the arms are the same for every outcome; counts differ only by
    attrition, so the largest recorded total is the nearest to the randomised number. Used when an outcome's
    data are an effect with a CI and carry no arm sizes of their own."""
    out: dict[str, int] = {}
    for r in rows:
        n_t, n_c = finite_or_none(r.get("n_t")), finite_or_none(r.get("n_c"))
        if n_t and n_c:
            sid = str(r["study"])
            out[sid] = max(out.get(sid, 0), int(n_t + n_c))
    return out


def evidence_rows(workspace: Workspace, protocol: Protocol, protocol_name: str,
                  studies: Collection[str] | None = None) -> list[Evidence]:
    """Study x gap-map row x outcome domain rows for the gap map, from every reconciled extraction; the row is
    the study's value of the protocol's ``[analysis] gap_map_rows`` field (every study in one row without)."""
    files, _ = load_folder(workspace.extractions_dir(protocol_name))
    domain_of = {o.id: o.domain for o in protocol.outcomes}
    field = protocol.analysis.gap_map_rows
    out = []
    for r in tidy_rows([f for f in files if f.reconciled and (studies is None or f.study in studies)], protocol):
        row = str(r.get(field) or "not reported") if field else ALL_STUDIES
        out.append(Evidence(study_id=str(r["study"]), model=row,
                            domain=domain_of.get(str(r["outcome"]), str(r["outcome"])),
                            rob=rob_class(r.get("rob_overall")), design=str(r.get("design") or "")))
    return out


def rob_tools(workspace: Workspace, protocol: Protocol, protocol_name: str,
              studies: Collection[str] | None = None) -> list[str]:
    """The risk-of-bias tools the reconciled extractions (of ``studies``, when given) used, in sorted order."""
    files, _ = load_folder(workspace.extractions_dir(protocol_name))
    wanted = [f for f in files if f.reconciled and (studies is None or f.study in studies)]
    return sorted({str(r["rob_tool"]) for r in tidy_rows(wanted, protocol)
                   if r.get("rob_tool")})


ALL_STUDIES = "all-studies"
"""The one gap-map row when the protocol names no ``gap_map_rows`` field."""


def model_axis(protocol: Protocol) -> tuple[str, list[tuple[str, str]]]:
    """The gap map's rows: the label of the protocol's ``[analysis] gap_map_rows`` study field and its allowed
    values in order (``("Studies", [all studies])`` without one)."""
    field = protocol.analysis.gap_map_rows
    for f in protocol.extraction.study_fields:
        if f.id == field and f.allowed:
            return f.label, [(a, a.replace("-", " ").capitalize()) for a in f.allowed]
    return "Studies", [(ALL_STUDIES, "All studies")]


def load_overview(path: Path) -> list[dict[str, Any]]:
    """Rows of review-level results (existing reviews and their pooled findings), one per finding.

    Reads the workspace's ``existing-reviews.toml`` (reviews with their ``[[reviews.findings]]``) or a CSV
    with one row per finding in the columns of ``review_level_results.csv``.
    """
    if path.suffix == ".toml":
        import tomllib

        data = tomllib.loads(path.read_text("utf-8"))
        rows = []
        for review in data.get("reviews", []):
            head = {"review": review.get("authors", ""), "year": review.get("year", ""),
                    "title": review.get("title", ""), "journal": review.get("journal", ""),
                    "doi": review.get("doi", ""), "design_of_synthesis": review.get("design", ""),
                    "n_included": review.get("included", "")}
            for finding in review.get("findings", []):
                rows.append({**head, "outcome": finding.get("outcome", ""),
                             "effect_measure": finding.get("measure", ""),
                             **{k: finding.get(k, "") for k in ("estimate", "ci_low", "ci_high", "k_studies",
                                                                "n_participants", "source_location")},
                             "certainty_or_note": finding.get("note", "")})
        return rows
    with path.open(encoding="utf-8", newline="") as fh:
        return [dict(r) for r in csv.DictReader(fh)]


def find_overview(workspace: Workspace, protocol_name: str) -> Path | None:
    """``data/<protocol>/existing-reviews.toml`` in the workspace, else ``None``."""
    path = workspace.data_dir(protocol_name) / OVERVIEW_NAME
    return path if path.is_file() else None


def summarise_overview(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Keep the columns the report shows."""
    keep = ("review", "year", "title", "journal", "doi", "design_of_synthesis", "n_included", "outcome",
            "effect_measure", "estimate", "ci_low", "ci_high", "k_studies", "n_participants", "certainty_or_note",
            "source_location")
    return [{k: r.get(k, "") for k in keep} for r in rows]
