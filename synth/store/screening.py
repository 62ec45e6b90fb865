"""Screening state in the store: reviewers, decisions, resolutions, full-text retrieval, stopping records, tags.

Every write is one short transaction that also appends an audit event, so each decision is durable the moment
it is made. Decisions are never deleted: undo and revisions mark the old row inactive.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from synth.errors import DecisionConflict, InputError
from synth.store.events import EventKind, append, utc_now
from synth.store.schema import (
    fulltext_reports,
    records,
    screening_claims,
    screening_decisions,
    screening_resolutions,
    screening_reviewers,
    screening_stops,
    screening_tags,
)

RETRIEVAL_STATUSES = ("sought", "retrieved", "not-retrieved")


# --- reviewers -----------------------------------------------------------------------------------------

def ensure_reviewer(conn: sa.Connection, name: str) -> None:
    """Register ``name`` as a reviewer (idempotent)."""
    exists = conn.execute(
        sa.select(screening_reviewers.c.name).where(screening_reviewers.c.name == name)
    ).first()
    if exists is None:
        conn.execute(screening_reviewers.insert().values(name=name, added_at=utc_now()))


def reviewers(conn: sa.Connection) -> list[str]:
    return [r[0] for r in conn.execute(sa.select(screening_reviewers.c.name).order_by(screening_reviewers.c.name))]


# --- records -------------------------------------------------------------------------------------------

def screenable_ids(conn: sa.Connection) -> list[int]:
    """Cluster representatives (``duplicate_of IS NULL``), in id order: the records that are screened."""
    query = sa.select(records.c.id).where(records.c.duplicate_of.is_(None)).order_by(records.c.id)
    return [int(r[0]) for r in conn.execute(query)]


def screened_out_message(record_id: int, cluster_id: int | None, duplicate_of: int) -> str:
    cluster = f"cluster {cluster_id}" if cluster_id is not None else "a duplicate cluster"
    return (
        f"record {record_id} was screened out by dedup: it is a duplicate in {cluster}, whose kept record is "
        f"{duplicate_of}. Screen record {duplicate_of} instead."
    )


def check_screenable(conn: sa.Connection, record_id: int) -> None:
    """Raise :class:`InputError` unless ``record_id`` exists and is a cluster representative."""
    row = conn.execute(
        sa.select(records.c.cluster_id, records.c.duplicate_of).where(records.c.id == record_id)
    ).first()
    if row is None:
        raise InputError(f"no record with id {record_id}. List records with `synth records list`.")
    if row.duplicate_of is not None:
        raise InputError(screened_out_message(record_id, row.cluster_id, int(row.duplicate_of)))


@dataclass
class RecordIndex:
    """Ways to find a record from an identifier in a decisions file."""

    ids: set[int] = field(default_factory=set)
    screened_out: dict[int, tuple[int | None, int]] = field(default_factory=dict)
    doi: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    pmid: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    source_id: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def record_index(conn: sa.Connection) -> RecordIndex:
    index = RecordIndex()
    query = sa.select(
        records.c.id, records.c.doi, records.c.pmid, records.c.source_record_id,
        records.c.cluster_id, records.c.duplicate_of,
    )
    for row in conn.execute(query):
        rid = int(row.id)
        index.ids.add(rid)
        if row.duplicate_of is not None:
            index.screened_out[rid] = (row.cluster_id, int(row.duplicate_of))
        if row.doi:
            index.doi[row.doi.lower()].append(rid)
        if row.pmid:
            index.pmid[str(row.pmid)].append(rid)
        if row.source_record_id:
            index.source_id[row.source_record_id].append(rid)
    return index


def title_abstracts(conn: sa.Connection, ids: Iterable[int] | None = None) -> dict[int, tuple[str, str]]:
    """Record id -> (title, abstract), of ``ids`` or of every record."""
    query = sa.select(records.c.id, records.c.title, records.c.abstract)
    if ids is not None:
        query = query.where(records.c.id.in_(list(ids)))
    return {int(r.id): (r.title, r.abstract) for r in conn.execute(query)}


# --- decisions -----------------------------------------------------------------------------------------

def record_decision(
    conn: sa.Connection,
    *,
    record_id: int,
    stage: str,
    reviewer: str,
    decision: str,
    reason: str | None = None,
    note: str = "",
    origin: str = "screen",
    replaces: int | bool | None = True,
    slots: int = 0,
) -> int:
    """Store one decision (deactivating this reviewer's earlier one on the record) with its audit event.

    The caller validates stage/decision/reason (:func:`synth.screening.decisions.check_decision`); this checks
    the record exists and is not a dedup-removed duplicate. ``replaces`` is the id of the decision the caller
    knows this reviewer has on the record (``None``: none); when the store holds another (a second session of
    the same reviewer decided meanwhile) :class:`DecisionConflict` is raised and nothing is written. ``True``
    replaces whatever is there (imports and scripted decisions). ``slots``: how many reviewers the stage needs
    per record; the decision takes (or keeps) one of the record's claims for good (:func:`claim`).
    """
    check_screenable(conn, record_id)
    ensure_reviewer(conn, reviewer)
    at = utc_now()
    previous = conn.execute(
        sa.select(screening_decisions.c.id).where(
            screening_decisions.c.record_id == record_id,
            screening_decisions.c.stage == stage,
            screening_decisions.c.reviewer == reviewer,
            screening_decisions.c.active.is_(True),
        )
    ).scalars().all()
    if replaces is not True and list(previous) != ([replaces] if replaces is not None else []):
        raise DecisionConflict(
            f"record {record_id}: {reviewer} already has a decision on it at {stage} from another session; "
            "this one was not saved. Press b to see it and change it on purpose.")
    if previous:
        conn.execute(
            screening_decisions.update().where(screening_decisions.c.id.in_(previous)).values(active=False)
        )
    result = conn.execute(
        screening_decisions.insert().values(
            record_id=record_id, stage=stage, reviewer=reviewer, decision=decision, reason=reason or None,
            note=note, at=at, origin=origin, active=True,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    decision_id = int(key[0])
    event_id = append(
        conn,
        EventKind.DECISION,
        {"decision_id": decision_id, "record_id": record_id, "stage": stage, "decision": decision,
         "reason": reason or None, "note": note, "origin": origin, "replaces": list(previous)},
        actor=reviewer,
        subject=str(record_id),
    )
    conn.execute(
        screening_decisions.update().where(screening_decisions.c.id == decision_id).values(event_id=event_id)
    )
    claim(conn, stage=stage, record_id=record_id, reviewer=reviewer, slots=slots, until=DECIDED)
    return decision_id


def active_decision_id(conn: sa.Connection, record_id: int, stage: str, reviewer: str) -> int | None:
    """The id of ``reviewer``'s active decision on the record at ``stage``, if any."""
    return conn.execute(sa.select(screening_decisions.c.id).where(
        screening_decisions.c.record_id == record_id, screening_decisions.c.stage == stage,
        screening_decisions.c.reviewer == reviewer, screening_decisions.c.active.is_(True))).scalar()


def retract_decision(conn: sa.Connection, decision_id: int, *, reviewer: str) -> None:
    """Undo: deactivate a decision and reactivate nothing (the record returns to the reviewer's queue)."""
    row = conn.execute(sa.select(screening_decisions).where(screening_decisions.c.id == decision_id)).first()
    if row is None or row.reviewer != reviewer:
        raise InputError(f"no decision {decision_id} by reviewer '{reviewer}' to undo.")
    conn.execute(screening_decisions.update().where(screening_decisions.c.id == decision_id).values(active=False))
    release(conn, stage=row.stage, reviewer=reviewer, record_id=int(row.record_id))
    append(
        conn, EventKind.DECISION,
        {"undo": decision_id, "record_id": int(row.record_id), "stage": row.stage},
        actor=reviewer, subject=str(row.record_id),
    )


# --- claims: who is screening what, when several reviewers screen at once -----------------------------------

CLAIM_SECONDS = 600.0
"""How long a claim on a record holds without a decision: a reviewer who left or crashed frees it after this."""

DECIDED = 1e18
"""A decided record's claim: it never expires (undo releases it)."""


def _insert_ignore(conn: sa.Connection, values: dict[str, Any]) -> bool:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # RETURNING, not rowcount: the driver reports -1 rows for an INSERT it ran with an implicit RETURNING
    statement = (dialect.insert(screening_claims).values(**values).on_conflict_do_nothing()
                 .returning(screening_claims.c.slot))
    return conn.execute(statement).first() is not None


def claim(conn: sa.Connection, *, stage: str, record_id: int, reviewer: str, slots: int,
          until: float | None = None, durable: bool = True) -> bool:
    """Take one of the record's ``slots`` screening slots for ``reviewer`` (or keep theirs, extended to
    ``until``, by default :data:`CLAIM_SECONDS` from now); ``False`` when every slot is held by someone else.

    Each step is one atomic statement, so two reviewers racing for the last slot cannot both win, on SQLite or
    PostgreSQL, without locks held across the reviewer's think time: an insert that does nothing on a taken slot,
    then a conditional update that takes over a slot whose claim expired. It tells the claimant only that a slot
    is taken, never what anyone decided (blinding holds).

    ``durable=False`` (a claim made only to show a record): on a server, this transaction's commit does not wait
    for the disk. A claim lost in a server crash costs nothing (at worst two reviewers see the record), and
    the wait is most of a claim's time; decisions, and the claims they hold, are always committed durably."""
    if not durable and conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    c = screening_claims.c
    until = time.time() + CLAIM_SECONDS if until is None else until
    here = (c.stage == stage, c.record_id == record_id)
    # already theirs: renewed in the same statement (never shortened: a decided claim stays decided)
    mine = conn.execute(screening_claims.update().where(*here, c.reviewer == reviewer)
                        .values(expires=sa.func.max(c.expires, until) if conn.dialect.name == "sqlite"
                                else sa.func.greatest(c.expires, until)).returning(c.slot)).first()
    if mine is not None:
        return True
    for slot in range(slots):
        if _insert_ignore(conn, {"stage": stage, "record_id": record_id, "slot": slot, "reviewer": reviewer,
                                 "expires": until}):
            return True
    now = time.time()
    for slot in range(slots):
        taken = conn.execute(screening_claims.update().where(*here, c.slot == slot, c.expires < now)
                             .values(reviewer=reviewer, expires=until).returning(c.slot))
        if taken.first() is not None:
            return True
    return False


def release(conn: sa.Connection, *, stage: str, reviewer: str, record_id: int | None = None) -> None:
    """Give back ``reviewer``'s claim on ``record_id`` (after an undo), or, with no record, every claim of
    theirs at ``stage`` that no decision holds (when they leave the screen)."""
    c = screening_claims.c
    where = [c.stage == stage, c.reviewer == reviewer]
    where.append(c.record_id == record_id if record_id is not None else c.expires < DECIDED)
    conn.execute(screening_claims.delete().where(*where))


def taken_by_others(conn: sa.Connection, *, stage: str, reviewer: str, slots: int,
                    among: Iterable[int] | None = None) -> set[int]:
    """Records (of ``among``, or all) whose every slot at ``stage`` is held (claimed in time, or decided) by
    other reviewers."""
    c = screening_claims.c
    where = [c.stage == stage, c.reviewer != reviewer, c.expires >= time.time()]
    if among is not None:
        where.append(c.record_id.in_(list(among)))
    rows = conn.execute(sa.select(c.record_id).where(*where).group_by(c.record_id)
                        .having(sa.func.count() >= max(slots, 1)))
    return {int(r.record_id) for r in rows}


def decision_rows(conn: sa.Connection, stage: str | None = None, reviewer: str | None = None) -> list[dict[str, Any]]:
    """The active decisions (optionally of one stage and reviewer), oldest first: ``id``, ``record_id``,
    ``stage``, ``reviewer``, ``decision``, ``reason``, ``note``, ``at``."""
    query = sa.select(screening_decisions).where(screening_decisions.c.active.is_(True))
    if stage is not None:
        query = query.where(screening_decisions.c.stage == stage)
    if reviewer is not None:
        query = query.where(screening_decisions.c.reviewer == reviewer)
    return [{"id": int(r.id), "record_id": int(r.record_id), "stage": r.stage, "reviewer": r.reviewer,
             "decision": r.decision, "reason": r.reason, "note": r.note or "", "at": r.at}
            for r in conn.execute(query.order_by(screening_decisions.c.id))]


def automation_excluded_ids(conn: sa.Connection, stage: str, origins: Sequence[str]) -> set[int]:
    """Records with an active *exclude* at ``stage`` whose origin is one of ``origins`` (automation tools)."""
    sd = screening_decisions
    query = sa.select(sd.c.record_id).where(
        sd.c.active.is_(True), sd.c.stage == stage, sd.c.decision == "exclude", sd.c.origin.in_(list(origins)))
    return {int(r[0]) for r in conn.execute(query)}


# --- resolutions ---------------------------------------------------------------------------------------

def resolve(
    conn: sa.Connection, *, record_id: int, stage: str, decision: str, reason: str | None, method: str,
    resolved_by: str, note: str = "",
) -> None:
    """Record how a conflict was settled (consensus or third reviewer), replacing any earlier resolution."""
    check_screenable(conn, record_id)
    conn.execute(
        screening_resolutions.update()
        .where(screening_resolutions.c.record_id == record_id, screening_resolutions.c.stage == stage)
        .values(active=False)
    )
    conn.execute(
        screening_resolutions.insert().values(
            record_id=record_id, stage=stage, decision=decision, reason=reason or None, note=note,
            method=method, resolved_by=resolved_by, at=utc_now(), active=True,
        )
    )
    append(
        conn, EventKind.DECISION,
        {"resolution": True, "record_id": record_id, "stage": stage, "decision": decision,
         "reason": reason or None, "method": method, "note": note},
        actor=resolved_by, subject=str(record_id),
    )


def resolution_rows(conn: sa.Connection, stage: str) -> list[dict[str, Any]]:
    """The active resolutions of ``stage``: ``record_id``, ``stage``, ``decision``, ``reason``, ``method``,
    ``resolved_by``, ``note``, ``at``."""
    query = sa.select(screening_resolutions).where(
        screening_resolutions.c.active.is_(True), screening_resolutions.c.stage == stage
    )
    return [{"record_id": int(r.record_id), "stage": r.stage, "decision": r.decision, "reason": r.reason,
             "method": r.method, "resolved_by": r.resolved_by, "note": r.note or "", "at": r.at}
            for r in conn.execute(query)]


# --- full text -----------------------------------------------------------------------------------------

def set_retrieval(
    conn: sa.Connection, record_id: int, *, status: str, location: str = "", reason: str = "",
    oa_url: str = "", by: str = "",
) -> None:
    """Record the retrieval status of one report (a record at full text)."""
    if status not in RETRIEVAL_STATUSES:
        raise InputError(f"unknown retrieval status '{status}'. Use one of: {', '.join(RETRIEVAL_STATUSES)}.")
    if status == "not-retrieved" and not reason:
        raise InputError(f"record {record_id}: 'not-retrieved' needs a reason (--reason). Say why it was not found.")
    if status == "retrieved" and not location:
        raise InputError(f"record {record_id}: 'retrieved' needs the file path or URL (--location).")
    check_screenable(conn, record_id)
    row = conn.execute(sa.select(fulltext_reports).where(fulltext_reports.c.record_id == record_id)).first()
    values = {"status": status, "location": location, "reason": reason, "updated_at": utc_now(), "updated_by": by}
    if oa_url:
        values["oa_url"] = oa_url
    if row is None:
        conn.execute(fulltext_reports.insert().values(record_id=record_id, study_id=record_id, **values))
    else:
        conn.execute(fulltext_reports.update().where(fulltext_reports.c.record_id == record_id).values(**values))
    append(conn, EventKind.RETRIEVAL, {"record_id": record_id, **values}, actor=by, subject=str(record_id))


def link_report(conn: sa.Connection, report_id: int, study_id: int, *, by: str = "") -> None:
    """Link report ``report_id`` to the study whose main report is ``study_id`` (PRISMA: studies vs reports)."""
    for rid in (report_id, study_id):
        check_screenable(conn, rid)
    for rid in (report_id, study_id):
        exists = conn.execute(sa.select(fulltext_reports.c.record_id).where(fulltext_reports.c.record_id == rid)).first()
        if exists is None:
            conn.execute(fulltext_reports.insert().values(
                record_id=rid, status="sought", study_id=rid, updated_at=utc_now(), updated_by=by))
    root = conn.execute(
        sa.select(fulltext_reports.c.study_id).where(fulltext_reports.c.record_id == study_id)
    ).scalar_one()
    target = int(root) if root is not None else study_id
    conn.execute(
        fulltext_reports.update()
        .where(sa.or_(fulltext_reports.c.record_id == report_id, fulltext_reports.c.study_id == report_id))
        .values(study_id=target)
    )
    append(conn, EventKind.RETRIEVAL, {"link": True, "report": report_id, "study": target}, actor=by,
           subject=str(report_id))


def reports(conn: sa.Connection) -> list[dict[str, Any]]:
    query = sa.select(fulltext_reports).order_by(fulltext_reports.c.record_id)
    return [dict(r._mapping) for r in conn.execute(query)]


def fulltext_rows(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every full-text report: ``record_id``, ``status`` and the ``study_id`` it is linked to."""
    query = sa.select(fulltext_reports.c.record_id, fulltext_reports.c.status, fulltext_reports.c.study_id)
    return [dict(r._mapping) for r in conn.execute(query)]


# --- stopping ------------------------------------------------------------------------------------------

def record_stop(
    conn: sa.Connection, *, stage: str, reviewer: str, rule: str, params: dict[str, Any], result: dict[str, Any]
) -> int:
    res = conn.execute(
        screening_stops.insert().values(
            stage=stage, at=utc_now(), reviewer=reviewer, rule=rule, params=params, result=result
        )
    )
    append(conn, EventKind.STOPPING, {"stage": stage, "rule": rule, "params": params, "result": result},
           actor=reviewer)
    key = res.inserted_primary_key
    assert key is not None
    return int(key[0])


def stops(conn: sa.Connection, stage: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(screening_stops).order_by(screening_stops.c.id)
    if stage is not None:
        query = query.where(screening_stops.c.stage == stage)
    return [dict(r._mapping) for r in conn.execute(query)]


def titles(conn: sa.Connection, ids: Iterable[int]) -> dict[int, str]:
    query = sa.select(records.c.id, records.c.title).where(records.c.id.in_(list(ids)))
    return {int(r.id): r.title or "" for r in conn.execute(query)}


# --- tags ----------------------------------------------------------------------------------------------

TAG_MAX = 80


def clean_tag(tag: str) -> str:
    """A tag as stored: trimmed, inner whitespace collapsed, lower case (so "Ask author" and "ask  author" are
    one tag); :class:`InputError` when empty or longer than :data:`TAG_MAX` characters."""
    cleaned = " ".join(tag.split()).lower()
    if not cleaned:
        raise InputError("a tag cannot be empty.")
    if len(cleaned) > TAG_MAX:
        raise InputError(f"tag '{cleaned[:20]}...' is longer than {TAG_MAX} characters; use a shorter one.")
    return cleaned


def set_tags(conn: sa.Connection, record_id: int, reviewer: str, *, add: Iterable[str] = (),
             remove: Iterable[str] = ()) -> list[str]:
    """Add and remove one reviewer's tags on a record (one event); returns the record's tags after."""
    check_screenable(conn, record_id)
    have = set(tags(conn, reviewer, [record_id]).get(record_id, []))
    added = sorted({clean_tag(t) for t in add} - have)
    removed = sorted({clean_tag(t) for t in remove} & have)
    if added:
        now = utc_now()
        conn.execute(screening_tags.insert(), [{"record_id": record_id, "reviewer": reviewer, "tag": t, "at": now}
                                               for t in added])
    if removed:
        conn.execute(screening_tags.delete().where(
            screening_tags.c.record_id == record_id, screening_tags.c.reviewer == reviewer,
            screening_tags.c.tag.in_(removed)))
    if added or removed:
        append(conn, EventKind.TAG, {"record_id": record_id, "added": added, "removed": removed},
               actor=reviewer, subject=f"record:{record_id}")
    return sorted((have | set(added)) - set(removed))


def tags(conn: sa.Connection, reviewer: str | None = None,
         record_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """Tags per record (sorted), of one reviewer or of everyone."""
    query = sa.select(screening_tags.c.record_id, screening_tags.c.tag).order_by(screening_tags.c.tag)
    if reviewer is not None:
        query = query.where(screening_tags.c.reviewer == reviewer)
    if record_ids is not None:
        query = query.where(screening_tags.c.record_id.in_(list(record_ids)))
    out: dict[int, list[str]] = defaultdict(list)
    for rid, tag in conn.execute(query):
        if tag not in out[rid]:
            out[rid].append(tag)
    return dict(out)


def tag_rows(conn: sa.Connection, reviewer: str | None = None) -> list[dict[str, Any]]:
    """Every tag: ``record_id``, ``reviewer``, ``tag``, ``at``, by record."""
    query = sa.select(screening_tags).order_by(screening_tags.c.record_id, screening_tags.c.reviewer,
                                               screening_tags.c.tag)
    if reviewer is not None:
        query = query.where(screening_tags.c.reviewer == reviewer)
    return [dict(r._mapping) for r in conn.execute(query)]
