"""Screening history that a review brings with it: decisions adopted from elsewhere, applied idempotently.

A bundled or inherited review (an update, or studies taken from the included-studies lists of published
reviews) arrives with decisions its own team did not make. They are recorded as *resolutions* with the method
``adopted`` and the source named in ``by``, never as decisions of this review's reviewers, so the agreement
statistics stay about real double screening and every report can say where the decision came from.

The file is ``data/<protocol>/screening-history.csv`` with the columns

``record``
    synth id, DOI, PMID or source record id (as in ``synth screen import``);
``stage``
    ``title-abstract`` or ``full-text``;
``decision``
    ``include`` or ``exclude`` (``reason``: the protocol criterion id, needed for full-text exclusions);
``by``
    who made the decision (e.g. the authors of the published review);
``note``
    why it is adopted;
``retrieval`` / ``location``
    for full-text rows, the retrieval status (``retrieved`` / ``not-retrieved``) and where the report is.

Applying it twice changes nothing: a record that already has an active resolution at that stage is left alone
(a later human resolution always wins).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from synth.errors import InputError
from synth.screening.decisions import STAGES, check_decision
from synth.screening.interop import find_record
from synth.screening.state import resolutions
from synth.store import screening as db

if TYPE_CHECKING:
    from synth.screening.service import Settings
    from synth.store import Store

ADOPTED = "adopted"
COLUMNS = ("record", "stage", "decision", "reason", "by", "note", "retrieval", "location")


@dataclass
class HistoryReport:
    rows: int = 0
    applied: int = 0
    already: int = 0
    retrieval: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryRow:
    line: int
    record: str
    stage: str
    decision: str
    reason: str | None
    by: str
    note: str
    retrieval: str
    location: str


def read_history(path: Path) -> list[HistoryRow]:
    """Rows of a screening-history CSV; a missing column or a bad value raises with the line to fix."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}. Check the path.") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    names = [(n or "").strip().lower() for n in reader.fieldnames or []]
    missing = [c for c in ("record", "stage", "decision", "by") if c not in names]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}. A screening history needs "
                         f"{', '.join(COLUMNS)} (reason, note, retrieval and location may be empty).")
    rows: list[HistoryRow] = []
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        stage, decision = row.get("stage", ""), row.get("decision", "").lower()
        if stage not in STAGES or decision not in ("include", "exclude"):
            raise InputError(f"{path}: line {line}: stage must be one of {', '.join(STAGES)} and decision include "
                             f"or exclude (found stage '{stage}', decision '{decision}').")
        if not row.get("by"):
            raise InputError(f"{path}: line {line}: 'by' is empty. Name who made the adopted decision.")
        rows.append(HistoryRow(line, row.get("record", ""), stage, decision, row.get("reason") or None, row["by"],
                               row.get("note", ""), row.get("retrieval", ""), row.get("location", "")))
    return rows


def apply_history(store: Store, settings: Settings, path: Path) -> HistoryReport:
    """Record every row not yet recorded (one transaction); rows that name no record are reported, not guessed."""
    rows = read_history(path)
    report = HistoryReport(rows=len(rows))
    with store.begin() as conn:
        index = db.record_index(conn)
        done = {stage: resolutions(conn, stage) for stage in STAGES}
        ft_status = {int(r["record_id"]): r["status"] for r in db.reports(conn)}
        for row in sorted(rows, key=lambda r: (STAGES.index(r.stage), r.line)):
            rid, err = find_record(row.record, index)
            err = err or check_decision(row.stage, row.decision, row.reason, settings.reasons(row.stage))
            if err or rid is None:
                report.problems.append(f"{path.name}: line {row.line}: {err}")
                continue
            if rid in done[row.stage]:
                report.already += 1
            else:
                db.resolve(conn, record_id=rid, stage=row.stage, decision=row.decision, reason=row.reason,
                           method=ADOPTED, resolved_by=row.by, note=row.note)
                report.applied += 1
            if row.stage == "full-text" and row.retrieval and rid not in ft_status:
                db.set_retrieval(conn, rid, status=row.retrieval, location=row.location,
                                 reason=row.note if row.retrieval == "not-retrieved" else "", by=row.by)
                report.retrieval += 1
    return report
