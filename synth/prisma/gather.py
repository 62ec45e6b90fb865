"""The thin I/O shell: read the store (records, dedup clusters, screening decisions, full-text retrieval,
stopping records) into :class:`~synth.prisma.counts.PrismaInputs`.

Nothing is typed in: every count derives from rows each stage wrote (with its audit event). A stage whose
tables are absent or empty is treated as "not used" and said so in ``notes``, which end up as warnings.

Rules (see ``docs/prisma.md``):

* Records identified: stored records per ``source`` before deduplication, split by ``source_kind``
  (``database``/``register`` -> databases-and-registers column; ``website``/``organisation``/``citation``/
  ``other`` -> other methods).
* Unique records: cluster representatives (``duplicate_of IS NULL``); a cluster is in the databases column if
  any member came from a database or register.
* Title/abstract: the screening module's outcome rules (required reviewers, resolutions, first reason in
  protocol order). Decisions whose ``origin`` is ``automation``/``stopping``, and records still undecided when a
  title/abstract stopping rule was recorded, count as *excluded by automation*.
* Full text: records included at title/abstract are sought; ``fulltext_reports.status`` says retrieved or not;
  the full-text outcome gives the decision and reason (shown with the protocol criterion's label); reports are
  linked to studies by ``fulltext_reports.study_id``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from synth.prisma.counts import ClusterFlow, PrismaInputs
from synth.screening.history import ADOPTED
from synth.screening.state import stage_outcomes
from synth.store import imports as istore
from synth.store import records as rstore
from synth.store import screening as sstore
from synth.store import searches as search_store
from synth.store.db import has_table as _has
from synth.store.events import read as read_events

if TYPE_CHECKING:
    import sqlalchemy as sa

    from synth.protocol.model import Protocol

DBR_KINDS = ("database", "register")
AUTOMATION_ORIGINS = ("automation", "stopping", "auto")
TA, FT = "title-abstract", "full-text"


def gather_inputs(
    conn: sa.Connection,
    protocol: Protocol | None = None,
    *,
    previous_studies: int | None = None,
    previous_reports: int | None = None,
    meta_analysis_record_ids: Iterable[int] = (),
) -> PrismaInputs:
    """Read the store into plain PRISMA inputs (see the module docstring for the rules)."""
    notes: list[str] = []
    rows = [SimpleNamespace(**r) for r in rstore.flow_rows(conn)]
    run_labels = search_store.run_labels(conn)
    if not rows:
        notes.append("No records in the store: import or search first (synth import / synth search).")

    database: dict[str, int] = defaultdict(int)
    register: dict[str, int] = defaultdict(int)
    other: dict[str, int] = defaultdict(int)
    other_named: dict[str, int] = defaultdict(int)
    for r in rows:
        kind = (r.source_kind or "database").lower()
        name = (run_labels.get(int(r.search_run_id)) if r.search_run_id is not None else None) or r.source \
            or "unnamed source"
        if kind == "database":
            database[name] += 1
        elif kind == "register":
            register[name] += 1
        else:
            other[kind if kind in ("website", "organisation", "citation") else name] += 1
            other_named[name] += 1

    rep_of: dict[int, int] = {}
    for r in rows:
        rep_of[int(r.id)] = int(r.duplicate_of) if r.duplicate_of is not None else int(r.id)
    members: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        members[rep_of[int(r.id)]].append(r)
    if rows and all(r.cluster_id is None for r in rows):
        notes.append("Deduplication has not been run (no record has a cluster): duplicates removed = 0.")

    column = {rep: ("dbr" if any((m.source_kind or "database") in DBR_KINDS for m in ms) else "other")
              for rep, ms in members.items()}

    ta, ta_auto, ft, reason_labels, stopped, touched = _screening(conn, protocol, list(members), notes)
    retrieval, study_of = _fulltext(conn, notes)
    in_ma = set(meta_analysis_record_ids)

    adopted = {int(r["record_id"]) for r in sstore.resolution_rows(conn, FT)
                if r["method"] == ADOPTED and str(r["decision"]) == "include"} if _has(conn, "screening_resolutions") else set()
    clusters: list[ClusterFlow] = []
    other_ta_excluded = stop_excluded = adopted_included = 0
    for rep in sorted(members):
        col: Any = column[rep]
        o_ta = ta.get(rep)
        if col == "dbr":
            if o_ta is None and stopped and rep not in touched:
                title_abstract: Any = "exclude-automation"
                stop_excluded += 1
            elif o_ta is None:
                title_abstract = None
            elif o_ta[0] == "exclude":
                title_abstract = "exclude-automation" if rep in ta_auto else "exclude"
            else:
                title_abstract = "include"
            removed: Any = None
        else:
            title_abstract = None
            removed = None
            if o_ta is not None and o_ta[0] == "exclude":
                removed = "other"
                other_ta_excluded += 1
        passed = title_abstract == "include" or (col == "other" and removed is None)
        o_ft = ft.get(rep) if passed else None
        status = retrieval.get(rep) if passed else None
        retrieved = {"retrieved": True, "not-retrieved": False}.get(status or "")
        full_text: Any = o_ft[0] if o_ft and o_ft[0] in ("include", "exclude") else None
        if retrieved is False:
            full_text = None
        reason = None
        if full_text == "exclude":
            rid = o_ft[1] if o_ft else None
            reason = reason_labels.get(rid or "", rid) if rid else None
        if full_text == "include" and rep in adopted:
            adopted_included += 1
        clusters.append(ClusterFlow(
            column=col, removed_before_screening=removed, title_abstract=title_abstract, retrieved=retrieved,
            full_text=full_text, exclusion_reason=reason, study_id=f"study:{study_of.get(rep, rep)}", key=str(rep),
            in_meta_analysis=rep in in_ma,
        ))
    if stopped:
        notes.append(f"A title/abstract stopping rule was recorded ({_describe_stop(stopped[-1])}): {stop_excluded} "
                     "records nobody screened count as excluded by automation tools (PRISMA 2020: report how many "
                     "records were excluded by automation).")
    if other_ta_excluded:
        notes.append(f"{other_ta_excluded} records from other methods were excluded at title/abstract; the other-methods "
                     "column has no screening box, so they are left out of its reports.")
    return PrismaInputs(
        database_results=dict(database), register_results=dict(register), other_results=dict(other),
        other_sources=dict(other_named), adopted_inclusions=adopted_included,
        clusters=tuple(clusters), previous_studies=previous_studies, previous_reports=previous_reports,
        notes=tuple(notes),
    )


def _screening(
    conn: sa.Connection, protocol: Protocol | None, pool: list[int], notes: list[str]
) -> tuple[dict[int, tuple[str, str | None]], set[int], dict[int, tuple[str, str | None]], dict[str, str],
           list[dict[str, Any]], set[int]]:
    """Final outcome per record at each stage, automation exclusions, reason labels, the recorded TA stops, and
    the records anyone decided on at title/abstract."""
    labels: dict[str, str] = {}
    criteria: list[str] = []
    req_ta = req_ft = 1
    if protocol is not None:
        labels = {c.id: c.label for c in protocol.criteria}
        criteria = [c.id for c in protocol.criteria]
        req_ta, req_ft = protocol.screening.reviewers_title_abstract, protocol.screening.reviewers_full_text
    if not _has(conn, "screening_decisions"):
        notes.append("Screening tables are not in this store yet: records screened = 0 and every unique record is "
                     "reported as not yet screened.")
        return {}, set(), {}, labels, [], set()
    stages = {stage: stage_outcomes(conn, stage, required=req, pool=pool, criteria_order=criteria)
              for stage, req in ((TA, req_ta), (FT, req_ft))}
    if not any(st.started for st in stages.values()):
        notes.append("No screening decisions recorded yet.")
    auto_ids = sstore.automation_excluded_ids(conn, TA, AUTOMATION_ORIGINS)
    result: dict[str, dict[int, tuple[str, str | None]]] = {}
    for stage, st in stages.items():
        # Automation decisions stand alone: a record excluded by a tool needs no second human reviewer.
        outs = st.outcomes
        per: dict[int, tuple[str, str | None]] = {}
        for rid, o in outs.items():
            if o.status in ("include", "exclude"):
                per[rid] = (o.status, o.reason)
            elif stage == TA and rid in auto_ids:
                per[rid] = ("exclude", None)
        conflicts = sum(1 for o in outs.values() if o.status == "conflict")
        if conflicts:
            notes.append(f"{conflicts} records have unresolved conflicts at {stage}: they count as not yet decided.")
        result[stage] = per
    touched = {d.record_id for d in stages[TA].decisions}
    stopped = sstore.stops(conn, TA) if _has(conn, "screening_stops") else []
    return result[TA], auto_ids, result[FT], labels, stopped, touched


def _describe_stop(stop: dict[str, Any]) -> str:
    """The rule, its target and what it showed, from a stored stop."""
    params, result = stop.get("params") or {}, stop.get("result") or {}
    text = f"{stop['rule']} rule"
    if "recall" in params:
        text += f", target {params['recall']:.0%} recall with {params.get('confidence', 0):.0%} confidence"
    if result.get("p_value") is not None:
        text += f", p = {result['p_value']:.3g}"
    if result.get("forced"):
        text += ", recorded against the rule (forced)"
    return text


def _fulltext(conn: sa.Connection, notes: list[str]) -> tuple[dict[int, str], dict[int, int]]:
    if not _has(conn, "fulltext_reports"):
        notes.append("Full-text retrieval table is not in this store yet: retrieval status unknown.")
        return {}, {}
    status: dict[int, str] = {}
    study: dict[int, int] = {}
    for r in sstore.fulltext_rows(conn):
        status[int(r["record_id"])] = r["status"]
        if r["study_id"] is not None:
            study[int(r["record_id"])] = int(r["study_id"])
    return status, study


def search_log(conn: sa.Connection) -> list[dict[str, Any]]:
    """Search runs as plain dicts (empty when the search tables are absent)."""
    return search_store.list_runs(conn)


def identified_by_source(conn: sa.Connection) -> dict[str, int]:
    """Records stored per source before dedup, named as the search log names them (a record from a search run
    under the run's database label, e.g. "PubMed (MEDLINE)"; an imported record under its source)."""
    labels = search_store.run_labels(conn)
    out: dict[str, int] = defaultdict(int)
    for r in (SimpleNamespace(**x) for x in rstore.flow_rows(conn)):
        name = labels.get(int(r.search_run_id), r.source) if r.search_run_id is not None else r.source
        out[name or "unnamed source"] += 1
    return dict(out)


def import_log(conn: sa.Connection) -> list[dict[str, Any]]:
    return istore.list_imports(conn)


def dedup_summary(conn: sa.Connection) -> Mapping[str, Any]:
    """Dedup events (tool, parameters) for PRISMA-S item 16, newest last."""
    return {"events": [e for e in read_events(conn) if str(e["kind"]).startswith("dedup")]}
