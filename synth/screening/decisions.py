"""Decisions and what they add up to: the outcome of each record at a stage, and conflicts.

Rules (documented in docs/screening.md):

* Each reviewer has at most one *active* decision per record and stage (a revision or undo deactivates the old one;
  nothing is deleted).
* A record needs ``required`` distinct reviewers at a stage (protocol ``screening.reviewers_*``).
* At title/abstract, *maybe* advances like *include* (when in doubt, read the full text; Cochrane Handbook
  4.6.4), so a conflict is an *exclude* against an *include*/*maybe*.
* At full text a *maybe* is not a decision anyone can report, so any *maybe* or any disagreement is a conflict.
* A resolution (consensus or third reviewer) overrides the reviewers' decisions.
* The reason reported for an excluded record is the first, in protocol order, among the excluding reviewers'
  reasons (the protocol says: pick the first criterion that applies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    title_abstract = "title-abstract"
    full_text = "full-text"


class Choice(StrEnum):
    include = "include"
    exclude = "exclude"
    maybe = "maybe"


STAGES = [s.value for s in Stage]
CHOICES = [c.value for c in Choice]


@dataclass(frozen=True)
class Decision:
    """One active decision by one reviewer on one record at one stage."""

    record_id: int
    stage: str
    reviewer: str
    decision: str
    reason: str | None = None
    note: str = ""
    at: str = ""
    id: int = 0


@dataclass(frozen=True)
class Resolution:
    record_id: int
    stage: str
    decision: str
    reason: str | None
    method: str
    resolved_by: str
    note: str = ""
    at: str = ""


@dataclass(frozen=True)
class Outcome:
    """Where a record stands at a stage: ``pending`` (needs more reviewers), ``conflict``, ``include`` or
    ``exclude``; ``reason`` for exclusions; ``resolved`` when a resolution decided it."""

    record_id: int
    status: str
    reason: str | None = None
    resolved: bool = False
    n_reviewers: int = 0


def _vote(decision: str, stage: str) -> str:
    if stage == Stage.title_abstract and decision == Choice.maybe:
        return Choice.include
    return decision


def first_reason(reasons: Iterable[str | None], criteria_order: Sequence[str]) -> str | None:
    """The earliest reason in protocol order (unknown reasons after known ones, then alphabetical)."""
    rank = {c: i for i, c in enumerate(criteria_order)}
    found = sorted({r for r in reasons if r}, key=lambda r: (rank.get(r, len(rank)), r))
    return found[0] if found else None


def outcome(
    record_id: int,
    decisions: Sequence[Decision],
    *,
    stage: str,
    required: int,
    resolution: Resolution | None = None,
    criteria_order: Sequence[str] = (),
) -> Outcome:
    """The outcome of one record at ``stage`` from its active decisions (one per reviewer)."""
    n = len({d.reviewer for d in decisions})
    if resolution is not None:
        return Outcome(record_id, resolution.decision, resolution.reason, resolved=True, n_reviewers=n)
    if n < required or n == 0:
        return Outcome(record_id, "pending", n_reviewers=n)
    votes = {_vote(d.decision, stage) for d in decisions}
    if Choice.maybe in votes or len(votes) > 1:
        return Outcome(record_id, "conflict", n_reviewers=n)
    (vote,) = votes
    reason = first_reason((d.reason for d in decisions), criteria_order) if vote == Choice.exclude else None
    return Outcome(record_id, vote, reason, n_reviewers=n)


def group_by_record(decisions: Iterable[Decision]) -> dict[int, list[Decision]]:
    grouped: dict[int, list[Decision]] = defaultdict(list)
    for d in decisions:
        grouped[d.record_id].append(d)
    return grouped


def outcomes(
    pool: Iterable[int],
    decisions: Iterable[Decision],
    *,
    stage: str,
    required: int,
    resolutions: dict[int, Resolution] | None = None,
    criteria_order: Sequence[str] = (),
) -> dict[int, Outcome]:
    """Outcomes for every record in ``pool`` (the records screened at this stage)."""
    grouped = group_by_record(d for d in decisions if d.stage == stage)
    resolved = resolutions or {}
    return {
        rid: outcome(
            rid,
            grouped.get(rid, []),
            stage=stage,
            required=required,
            resolution=resolved.get(rid),
            criteria_order=criteria_order,
        )
        for rid in pool
    }


def check_decision(stage: str, decision: str, reason: str | None, reasons: Sequence[str]) -> str | None:
    """Why a decision is invalid (``None`` when it is fine). ``reasons`` are the criterion ids for ``stage``.

    Exclusions at full text must give a reason; at title/abstract the reason is optional but, when given,
    must be one of the criteria for that stage. Only exclusions carry a reason.
    """
    if stage not in STAGES:
        return f"unknown stage '{stage}' (use one of: {', '.join(STAGES)})"
    if decision not in CHOICES:
        return f"unknown decision '{decision}' (use one of: {', '.join(CHOICES)})"
    if reason:
        if decision != Choice.exclude:
            return f"a reason ('{reason}') is only given with an exclusion, not with '{decision}'"
        if reason not in reasons:
            return f"unknown reason '{reason}' at {stage} (the protocol's criteria: {', '.join(reasons) or 'none'})"
    elif decision == Choice.exclude and stage == Stage.full_text:
        return f"a full-text exclusion needs a reason (one of: {', '.join(reasons) or 'none'})"
    return None
