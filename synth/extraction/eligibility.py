"""Eligibility at full text, assessed against the protocol's criteria from what each extraction records.

A criterion with ``requires = {field, any_of}`` is met when the study's recorded value of that study field holds
one of ``any_of``; an extraction that records the field without any of them fails it; one that records nothing
(missing or ``"NR"``) is **not assessable** by the rule and is said so, never counted as assessed. A study that
fails a criterion is excluded at full text with that criterion as the reason, as a resolution of method
``protocol-rule`` with the recorded value in its note and an event in the log; PRISMA then counts the exclusion
under the criterion's label. The rule replaces only decisions adopted from elsewhere (method ``adopted``): a
record a person included at full text is never overruled, it is reported as a conflict to look at.

:func:`assess` is pure; :func:`record` is the thin shell that writes the exclusions to the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from synth.extraction.columns import NOT_REPORTED
from synth.extraction.files import ExtractionFile
from synth.extraction.screening_link import records_by_study
from synth.screening.history import ADOPTED
from synth.screening.state import stage_outcomes
from synth.store.screening import resolution_rows, resolve

if TYPE_CHECKING:
    import sqlalchemy as sa

    from synth.protocol.model import Protocol
    from synth.store.db import Store

FULL_TEXT = "full-text"
METHOD = "protocol-rule"
ACTOR = "synth eligibility (protocol rule)"
Verdict = Literal["meets", "fails", "not assessable"]


@dataclass(frozen=True)
class Assessment:
    """One study against one criterion that has a rule."""

    study: str
    criterion: str
    label: str
    field: str
    verdict: Verdict
    recorded: tuple[str, ...]
    wanted: tuple[str, ...]

    @property
    def note(self) -> str:
        shown = ", ".join(self.recorded) or NOT_REPORTED
        return (f"{self.field} = {shown}; the protocol's criterion '{self.label}' needs one of "
                f"{', '.join(self.wanted)} (assessed from the reconciled extraction by the protocol's rule).")


def _values(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(str(v).strip() for v in items if v is not None and str(v).strip() not in ("", NOT_REPORTED))


def assess(files: Iterable[ExtractionFile], protocol: Protocol) -> list[Assessment]:
    """Every reconciled study against every full-text criterion that has a rule, in file then protocol order."""
    rules = [c for c in protocol.criteria if c.requires is not None and FULL_TEXT in [str(s) for s in c.stages]]
    out: list[Assessment] = []
    for f in files:
        if not f.reconciled:
            continue
        chars = f.data.get("characteristics", {}) or {}
        for c in rules:
            assert c.requires is not None
            recorded = _values(chars.get(c.requires.field))
            wanted = tuple(c.requires.any_of)
            verdict: Verdict = ("not assessable" if not recorded else
                                "meets" if set(recorded) & set(wanted) else "fails")
            out.append(Assessment(f.study, c.id, c.label, c.requires.field, verdict, recorded, wanted))
    return out


@dataclass
class EligibilityReport:
    assessed: int = 0
    excluded: dict[str, str] | None = None
    """Study -> criterion id of the studies excluded by a rule (this run or earlier)."""
    not_assessable: list[str] | None = None
    recorded: int = 0
    """Exclusions written by this run."""
    kept_by_people: list[str] | None = None
    """Studies that fail a rule but that a person included at full text (never overruled)."""
    not_started: bool = False
    """Full-text screening has not started: nothing could be recorded."""
    stale: list[str] | None = None
    """Studies a rule excluded in an earlier run that no longer fail it (the extraction or the protocol
    changed): the exclusion stands until a person decides again."""


def record(store: Store, protocol: Protocol, files: list[ExtractionFile]) -> EligibilityReport:
    """Exclude at full text every study that fails a rule (its records that are not already excluded by the
    same rule); studies the rules cannot assess are listed, not changed."""
    results = assess(files, protocol)
    report = EligibilityReport(assessed=len({a.study for a in results if a.verdict != "not assessable"}),
                               excluded={}, not_assessable=sorted({a.study for a in results
                                                                   if a.verdict == "not assessable"}),
                               kept_by_people=[])
    failing: dict[str, Assessment] = {}
    for a in results:
        if a.verdict == "fails" and a.study not in failing:
            failing[a.study] = a  # the first criterion in protocol order is the reason, as in screening
    with store.begin() as conn:
        by_rule = excluded_by_rule(conn, protocol, [f for f in files if f.reconciled and f.study not in failing])
        report.stale = sorted(by_rule)
        if not failing:
            return report
        outcomes = stage_outcomes(conn, FULL_TEXT, required=protocol.screening.reviewers_full_text)
        if not outcomes.started:
            report.not_started = True
            return report
        active = {int(r["record_id"]): r for r in resolution_rows(conn, FULL_TEXT)}
        records = records_by_study(conn, [f for f in files if f.study in failing and f.reconciled],
                                   set(outcomes.included) | {rid for rid, r in active.items()
                                                             if r["method"] == METHOD})
        assert report.excluded is not None and report.kept_by_people is not None
        for study, a in failing.items():
            rids = sorted(records.get(study, set()))
            if not rids:  # not included at full text (a person excluded it): nothing to do
                continue
            people = [rid for rid in rids if rid not in active or active[rid]["method"] not in (ADOPTED, METHOD)]
            if people:  # a person's inclusion stands; the disagreement is for the team to look at
                report.kept_by_people.append(study)
                continue
            report.excluded[study] = a.criterion
            for rid in rids:
                if active[rid]["method"] == METHOD and str(active[rid]["reason"] or "") == a.criterion:
                    continue
                resolve(conn, record_id=rid, stage=FULL_TEXT, decision="exclude", reason=a.criterion,
                        method=METHOD, resolved_by=ACTOR, note=a.note)
                report.recorded += 1
    return report


def excluded_by_rule(conn: sa.Connection, protocol: Protocol, files: list[ExtractionFile]) -> set[str]:
    """Studies of ``files`` whose records a protocol rule excluded at full text (their extraction files are the
    evidence for the exclusion, so they are not "extracted but not included")."""
    ids = {int(r["record_id"]) for r in resolution_rows(conn, FULL_TEXT) if r["method"] == METHOD
           and str(r["decision"]) == "exclude"}
    if not ids:
        return set()
    return {study for study, rids in records_by_study(conn, files, ids).items() if rids}
