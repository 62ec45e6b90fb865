"""The screening workflow over a store: what each stage holds, importing and exporting decisions, status,
conflicts, agreement and stopping. The CLI and the interactive screen call these; they hold no SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.errors import InputError
from synth.screening import agreement as agreement_mod
from synth.screening import interop
from synth.screening.decisions import (
    STAGES,
    Choice,
    Decision,
    Outcome,
    Resolution,
    Stage,
    check_decision,
    group_by_record,
)
from synth.screening.queue import pending_for, stage_pool
from synth.screening.state import active_decisions, open_access_links, stage_outcomes
from synth.screening.stopping import GUARANTEES, RULES, heuristic_check
from synth.screening.stopping import check as stop_check
from synth.store import screening as db
from synth.store.records import iter_records

if TYPE_CHECKING:
    import sqlalchemy as sa

    from synth.protocol.model import Protocol
    from synth.store import Store


@dataclass(frozen=True)
class CriterionInfo:
    id: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Settings:
    """What screening needs from the protocol."""

    required: dict[str, int] = field(default_factory=lambda: {s: 2 for s in STAGES})
    blinding: bool = True
    prioritisation: bool = True
    criteria: dict[str, list[CriterionInfo]] = field(default_factory=dict)
    highlight_include: tuple[str, ...] = ()
    highlight_exclude: tuple[str, ...] = ()
    stop_rule: str = "hypergeometric"
    stop_recall: float = 0.95
    stop_confidence: float = 0.95
    authors: tuple[str, ...] = ()

    def slots(self, stage: str) -> int:
        """How many reviewers screen each record at ``stage`` (its claim slots)."""
        return int(self.required.get(stage, 1))

    @classmethod
    def from_protocol(cls, protocol: Protocol) -> Settings:
        s = protocol.screening
        criteria = {
            stage: [CriterionInfo(c.id, c.label, c.description) for c in protocol.criteria if stage in c.stages]
            for stage in STAGES
        }
        return cls(
            required={Stage.title_abstract.value: s.reviewers_title_abstract,
                      Stage.full_text.value: s.reviewers_full_text},
            blinding=s.blinding, prioritisation=s.prioritisation, criteria=criteria,
            highlight_include=tuple(s.highlight.include), highlight_exclude=tuple(s.highlight.exclude),
            stop_rule=s.stopping.rule, stop_recall=s.stopping.recall, stop_confidence=s.stopping.confidence,
            authors=tuple(protocol.review.authors),
        )

    def reasons(self, stage: str) -> list[str]:
        return [c.id for c in self.criteria.get(stage, [])]

    def criteria_order(self) -> list[str]:
        seen: list[str] = []
        for stage in STAGES:
            seen.extend(c.id for c in self.criteria.get(stage, []) if c.id not in seen)
        return seen


RESOLUTION_METHODS = ("consensus", "third-reviewer")
EXPORT_FORMATS = ("csv", "ris")


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise InputError(f"unknown stage '{stage}'. Use one of: {', '.join(STAGES)}.")
    return stage


@dataclass
class StageState:
    stage: str
    pool: list[int]
    decisions: list[Decision]
    resolutions: dict[int, Resolution]
    outcomes: dict[int, Outcome]


def stage_state(conn: sa.Connection, settings: Settings, stage: str) -> StageState:
    """Everything about one stage: its pool of records, active decisions, resolutions and outcomes."""
    reps = db.screenable_ids(conn)
    ta = stage_outcomes(conn, Stage.title_abstract, required=settings.required[Stage.title_abstract], pool=reps,
                        criteria_order=settings.criteria_order())
    if stage == Stage.title_abstract:
        return StageState(stage, reps, ta.decisions, ta.resolutions, ta.outcomes)
    pool = stage_pool(stage, reps, ta.outcomes)
    st = stage_outcomes(conn, stage, required=settings.required[stage], pool=pool,
                        criteria_order=settings.criteria_order())
    members = set(pool)
    return StageState(stage, pool, [d for d in st.decisions if d.record_id in members], st.resolutions, st.outcomes)


def known_reviewers(conn: sa.Connection, settings: Settings, extra: Sequence[str] = ()) -> set[str]:
    return set(db.reviewers(conn)) | set(settings.authors) | {e for e in extra if e}


def decide(store: Store, settings: Settings, *, record_id: int, stage: str, reviewer: str, decision: str,
           reason: str | None = None, note: str = "", origin: str = "screen", replaces: int | bool | None = True) -> int:
    """Validate and commit one decision (its own short transaction, with its audit event).

    While another process writes (an import, a second screener), this waits for the store (SQLite's busy
    timeout, then a few retries of the whole transaction); if it still cannot write it raises
    :class:`~synth.errors.StoreBusy` and nothing was saved. ``replaces``: see
    :func:`synth.store.screening.record_decision`."""
    err = check_decision(stage, decision, reason, settings.reasons(stage))
    if err:
        raise InputError(f"record {record_id}: {err}.")
    return store.retrying(lambda conn: db.record_decision(
        conn, record_id=record_id, stage=stage, reviewer=reviewer, decision=decision, reason=reason, note=note,
        origin=origin, replaces=replaces, slots=settings.slots(stage)), what=f"the decision on record {record_id}")


def parse_tags(text: str) -> tuple[list[str], list[str]]:
    """``"qualitative, -ask author"`` -> tags to add ``["qualitative"]`` and to remove ``["ask author"]``."""
    add: list[str] = []
    remove: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if part.startswith("-") and part[1:].strip():
            remove.append(part[1:].strip())
        elif part:
            add.append(part)
    return add, remove


def tag(store: Store, *, record_id: int, reviewer: str, add: Sequence[str] = (),
        remove: Sequence[str] = ()) -> list[str]:
    """Add and remove a reviewer's tags on a record (its own transaction); the record's tags after."""
    return store.retrying(lambda conn: db.set_tags(conn, record_id, reviewer, add=add, remove=remove),
                          what=f"the tags on record {record_id}")


def tag_list(store: Store, *, reviewer: str | None = None, tag: str | None = None) -> list[dict[str, Any]]:
    """Tag rows (record, reviewer, tag, at, title), of one reviewer or everyone, optionally of one tag."""
    wanted = db.clean_tag(tag) if tag is not None else None
    with store.connect() as conn:
        rows = [r for r in db.tag_rows(conn, reviewer) if wanted is None or r["tag"] == wanted]
        titles = db.titles(conn, {r["record_id"] for r in rows})
    return [{"record": r["record_id"], "reviewer": r["reviewer"], "tag": r["tag"], "at": r["at"],
             "title": titles.get(r["record_id"], "")} for r in rows]


@dataclass
class ImportReport:
    imported: int
    problems: list[str]
    rows: int


def import_decisions(store: Store, settings: Settings, path: Path, *, reviewer: str, stage: str) -> ImportReport:
    """Import a decisions CSV: good rows are committed together; every bad row is reported with its line."""
    check_stage(stage)
    rows = interop.read_decisions_csv(path)
    with store.begin() as conn:
        index = db.record_index(conn)
        known = known_reviewers(conn, settings, [reviewer])
        good, bad = interop.validate_rows(rows, index, reviewer=reviewer, stage=stage, known_reviewers=known,
                                          reasons_by_stage={s: settings.reasons(s) for s in STAGES})
        for row in good:
            db.record_decision(conn, record_id=row.record_id, stage=row.stage, reviewer=row.reviewer,
                               decision=row.decision, reason=row.reason, note=row.note, origin="import",
                               slots=settings.slots(row.stage))
    return ImportReport(len(good), bad, len(rows))


def status(store: Store, settings: Settings) -> list[dict[str, Any]]:
    """Per stage: totals by outcome and, per reviewer, screened / included / maybe / excluded by reason /
    conflicts involved in / remaining."""
    out: list[dict[str, Any]] = []
    with store.connect() as conn:
        names = db.reviewers(conn)
        for stage in STAGES:
            st = stage_state(conn, settings, stage)
            counts = Counter(o.status for o in st.outcomes.values())
            by_reason = Counter(o.reason or "(no reason)" for o in st.outcomes.values() if o.status == "exclude")
            conflicted = {rid for rid, o in st.outcomes.items() if o.status == "conflict"}
            per: list[dict[str, Any]] = []
            for name in names:
                mine = [d for d in st.decisions if d.reviewer == name]
                if not mine and stage == Stage.full_text and not st.pool:
                    continue
                kinds = Counter(d.decision for d in mine)
                per.append({
                    "reviewer": name,
                    "screened": len(mine),
                    "included": kinds[Choice.include],
                    "maybe": kinds[Choice.maybe],
                    "excluded": kinds[Choice.exclude],
                    "excluded_by_reason": dict(sorted(Counter(
                        d.reason or "(no reason)" for d in mine if d.decision == Choice.exclude).items())),
                    "conflicts": sum(1 for d in mine if d.record_id in conflicted),
                    "remaining": len(pending_for(name, st.pool, st.decisions, st.outcomes)),
                })
            out.append({
                "stage": stage,
                "records": len(st.pool),
                "reviewers_required": settings.required[stage],
                "included": counts["include"],
                "excluded": counts["exclude"],
                "excluded_by_reason": dict(sorted(by_reason.items())),
                "conflicts": counts["conflict"],
                "pending": counts["pending"],
                "resolved": sum(1 for o in st.outcomes.values() if o.resolved),
                "reviewers": per,
                "stops": [{"rule": s["rule"], "at": s["at"], "result": s["result"]} for s in db.stops(conn, stage)],
            })
    return out


def conflicts(store: Store, settings: Settings, stage: str) -> list[dict[str, Any]]:
    """Records in conflict at ``stage`` with every reviewer's decision, reason and note."""
    check_stage(stage)
    with store.connect() as conn:
        st = stage_state(conn, settings, stage)
        grouped = group_by_record(st.decisions)
        ids = sorted(rid for rid, o in st.outcomes.items() if o.status == "conflict")
        titles = db.titles(conn, ids)
    return [
        {
            "record": rid,
            "title": titles.get(rid, "").strip()[:200],
            "decisions": [
                {"reviewer": d.reviewer, "decision": d.decision, "reason": d.reason, "note": d.note}
                for d in sorted(grouped[rid], key=lambda d: d.reviewer)
            ],
        }
        for rid in ids
    ]


def resolve(store: Store, settings: Settings, *, record_id: int, stage: str, decision: str,
            reason: str | None, method: str, resolved_by: str, note: str = "") -> None:
    check_stage(stage)
    if method not in RESOLUTION_METHODS:
        raise InputError(f"unknown resolution method '{method}'. Use consensus or third-reviewer.")
    if decision == Choice.maybe:
        raise InputError("a resolution must be include or exclude, not maybe.")
    err = check_decision(stage, decision, reason, settings.reasons(stage))
    if err:
        raise InputError(f"record {record_id}: {err}.")
    with store.begin() as conn:
        st = stage_state(conn, settings, stage)
        o = st.outcomes.get(record_id)
        if o is None or (o.status != "conflict" and not o.resolved):
            state = "not at this stage" if o is None else o.status
            raise InputError(
                f"record {record_id} has no conflict to resolve at {stage} (it is {state}). "
                "List conflicts with `synth screen conflicts`."
            )
        db.resolve(conn, record_id=record_id, stage=stage, decision=decision, reason=reason, method=method,
                   resolved_by=resolved_by, note=note)


def agreement(store: Store, settings: Settings, stage: str) -> list[dict[str, Any]]:
    check_stage(stage)
    with store.connect() as conn:
        st = stage_state(conn, settings, stage)
    return agreement_mod.pairwise(st.decisions, settings.reasons(stage))


def export_rows(store: Store, settings: Settings, stage: str | None = None) -> list[dict[str, Any]]:
    """One row per active decision (CSV export), in record then reviewer order."""
    rows: list[dict[str, Any]] = []
    with store.connect() as conn:
        decisions = [d for s in ([stage] if stage else STAGES) for d in active_decisions(conn, s)]
        meta = _meta(conn, sorted({d.record_id for d in decisions}))
    for d in sorted(decisions, key=lambda d: (d.record_id, STAGES.index(d.stage), d.reviewer)):
        m = meta.get(d.record_id, {})
        included = {"include": 1, "exclude": 0}.get(d.decision, "")
        rows.append({"record": d.record_id, "stage": d.stage, "reviewer": d.reviewer, "decision": d.decision,
                     "reason": d.reason, "note": d.note, "at": d.at, "included": included, **m})
    return rows


def _meta(conn: sa.Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    return {
        rid: {"title": r.title, "year": r.year, "doi": r.doi or "", "pmid": r.pmid or "", "abstract": r.abstract,
              "journal": r.journal, "authors": [a.display() for a in r.authors]}
        for rid, r in iter_records(conn, ids)
    }


def export_entries(store: Store, settings: Settings, stage: str) -> list[dict[str, Any]]:
    """One entry per record of the stage with its outcome (RIS export)."""
    check_stage(stage)
    with store.connect() as conn:
        st = stage_state(conn, settings, stage)
        meta = _meta(conn, st.pool)
    grouped = group_by_record(st.decisions)
    entries = []
    for rid in st.pool:
        o = st.outcomes[rid]
        decs = [f"{d.reviewer}: {d.decision}" + (f" ({d.reason})" if d.reason else "")
                for d in sorted(grouped.get(rid, []), key=lambda d: d.reviewer)]
        entries.append({"record": rid, "stage": stage, "outcome": o.status if decs or o.resolved else "",
                        "reason": o.reason, "decisions": decs, **meta.get(rid, {})})
    return entries


def screening_labels(st: StageState, reviewer: str | None) -> list[int]:
    """1/0 labels in the order decisions were made (one reviewer's, or first decision per record), for
    stopping rules. Include and maybe count as 1 at title/abstract."""
    seq: list[int] = []
    seen: set[int] = set()
    for d in sorted(st.decisions, key=lambda d: d.id):
        if reviewer is not None and d.reviewer != reviewer:
            continue
        if d.record_id in seen:
            continue
        seen.add(d.record_id)
        seq.append(0 if d.decision == Choice.exclude else 1)
    return seq


def stopping_checks(store: Store, settings: Settings, stage: str, reviewer: str | None) -> dict[str, Any]:
    """The state of every stopping rule at ``stage`` (one reviewer's decisions, or each record's first), with
    the protocol's rule first."""
    check_stage(stage)
    with store.connect() as conn:
        st = stage_state(conn, settings, stage)
    labels = screening_labels(st, reviewer)
    chosen = settings.stop_rule if settings.stop_rule in RULES else None
    order = ([chosen] if chosen else []) + [r for r in RULES if r != chosen]
    rules = [{**stop_check(r, labels, len(st.pool), settings.stop_recall, settings.stop_confidence).to_dict(),
              "chosen": r == chosen, "guarantee": GUARANTEES[r]} for r in order]
    return {"stage": stage, "reviewer": reviewer, "records": len(st.pool), "screened": len(labels),
            "remaining": len(st.pool) - len(labels), "rule": chosen, "rules": rules,
            "heuristic": heuristic_check(labels, len(st.pool)).to_dict()}


def rule_detail(check: dict[str, Any]) -> str:
    """One line on a rule's state, for tables and the screen."""
    params = check["params"]
    if check["rule"] == "knee":
        ratio = params.get("ratio")
        text = (f"slope ratio {ratio:.1f} (needs {params['needed_ratio']:g})" if ratio is not None
                else "no include yet" if not check["includes"] else "too few records for a knee")
    elif check["rule"] == "random-sample" and params.get("phase") == "prioritised":
        text = "prioritised phase (random sample not started)"
    else:
        text = f"p = {check['p_value']:.4g}" if check["p_value"] is not None else ""
    if not check["stop"]:
        text += (f"; about {check['more']} more records if all excluded" if check["more"] is not None
                 else "; no run of exclusions would stop it")
    return text


def record_stop(store: Store, settings: Settings, stage: str, reviewer: str | None, actor: str,
                force: bool = False) -> dict[str, Any]:
    """Record that screening stops at ``stage``: the protocol's rule, its parameters and its evidence. Records
    left unscreened count as excluded by automation (PRISMA 2020). Refused when the rule does not yet say stop,
    unless ``force`` (then recorded as a stop against the rule)."""
    checks = stopping_checks(store, settings, stage, reviewer)
    chosen = next((r for r in checks["rules"] if r["chosen"]), None)
    if chosen is None and not force:
        raise InputError(
            "the protocol sets no stopping rule ([screening.stopping] rule = \"none\"). Choose one of "
            f"{', '.join(RULES)}, or pass --force to record a stop without one."
        )
    if chosen is not None and not chosen["stop"] and not force:
        raise InputError(
            f"the {chosen['rule']} stopping rule does not allow stopping yet at {stage}: {rule_detail(chosen)} "
            f"(target {settings.stop_recall:.0%} recall, {settings.stop_confidence:.0%} confidence). "
            "Screen more records, or pass --force to record a stop against the rule."
        )
    rule = chosen["rule"] if chosen else "none"
    stop = bool(chosen and chosen["stop"])
    result = {"p_value": chosen["p_value"] if chosen else None, "stop": stop, "forced": not stop,
              "screened": checks["screened"], "records": checks["records"],
              "excluded_by_automation": checks["remaining"], "includes": chosen["includes"] if chosen else None,
              "evidence": chosen["params"] if chosen else {}, "guarantee": GUARANTEES.get(rule, "none"),
              "heuristic": checks["heuristic"]}
    params = {"recall": settings.stop_recall, "confidence": settings.stop_confidence, "reviewer": reviewer}
    with store.begin() as conn:
        db.record_stop(conn, stage=stage, reviewer=actor, rule=rule, params=params, result=result)
    return {"stage": stage, "rule": rule, "params": params, "result": result}


def retrieval_list(store: Store, settings: Settings) -> list[dict[str, Any]]:
    """Full-text reports (records included at title/abstract, plus any with a retrieval entry): status,
    location, reason, open-access link where the metadata has one, and the study each belongs to."""
    with store.connect() as conn:
        st = stage_state(conn, settings, Stage.full_text)
        stored = {int(r["record_id"]): r for r in db.reports(conn)}
        ids = sorted(set(st.pool) | set(stored))
        oa = open_access_links(conn, ids)
        titles = db.titles(conn, ids)
    rows = []
    for rid in ids:
        r = stored.get(rid, {})
        rows.append({
            "record": rid,
            "study": r.get("study_id") or rid,
            "status": r.get("status", "not sought"),
            "location": r.get("location", ""),
            "reason": r.get("reason", ""),
            "oa_url": r.get("oa_url") or oa.get(rid, ""),
            "title": titles.get(rid, "").strip()[:120],
        })
    return rows


def set_retrieval(store: Store, record_id: int, *, status: str, location: str = "", reason: str = "",
                  by: str = "") -> None:
    with store.begin() as conn:
        oa = open_access_links(conn, [record_id]).get(record_id, "")
        db.set_retrieval(conn, record_id, status=status, location=location, reason=reason, oa_url=oa, by=by)


def link_report(store: Store, report_id: int, study_id: int, *, by: str = "") -> None:
    if report_id == study_id:
        raise InputError(f"record {report_id} cannot be linked to itself. Give the main report of another study.")
    with store.begin() as conn:
        db.link_report(conn, report_id, study_id, by=by)
