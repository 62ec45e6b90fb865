"""Moving decisions between synth and other tools.

Import: a CSV with columns ``record`` (synth id, DOI, PMID or source record id), ``decision``
(include/exclude/maybe), optional ``reason``, ``note`` and, to override the command-line defaults, ``reviewer``
and ``stage``. Every bad row is reported with its line; good rows are imported.

Export: CSV, one row per active decision (re-importable: it has the same columns), or RIS with the decision in
``N1`` as ASReview writes it (``ASReview_relevant`` / ``ASReview_irrelevant`` / ``ASReview_not_seen``), so the
file can be opened in ASReview with its labels.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth.errors import InputError
from synth.records.model import normalise_doi
from synth.safetext import from_spreadsheet, spreadsheet_safe
from synth.screening.decisions import check_decision
from synth.store.screening import RecordIndex, screened_out_message

COLUMNS = ("record", "decision", "reason", "note", "reviewer", "stage")


@dataclass(frozen=True)
class ImportRow:
    line: int
    record_id: int
    decision: str
    reason: str | None
    note: str
    reviewer: str
    stage: str


def read_decisions_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` pairs, keys lower-cased; raise when the file or its required columns are missing."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}. Check the path.") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text ({exc.reason}). Save it as UTF-8 CSV.") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    names = [f.strip().lower() for f in reader.fieldnames or []]
    missing = [c for c in ("record", "decision") if c not in names]
    if missing:
        raise InputError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(names) or 'none'}). A decisions file needs 'record' and 'decision'; "
            "'reason', 'note', 'reviewer' and 'stage' are optional."
        )
    rows: list[tuple[int, dict[str, str]]] = []
    start = 2
    for raw in reader:
        row = {(k or "").strip().lower(): from_spreadsheet((v or "").strip()) if isinstance(v, str) else ""
               for k, v in raw.items()}
        rows.append((start, row))
        start = reader.line_num + 1
    return rows


def find_record(identifier: str, index: RecordIndex) -> tuple[int | None, str | None]:
    """The screened record an identifier points to, or an error message."""
    ident = identifier.strip()
    if not ident:
        return None, "empty 'record'"
    lowered = ident.lower()
    candidates: set[int] = set()
    kind = "id"
    if lowered.startswith("pmid:"):
        candidates = set(index.pmid.get(ident[5:].strip(), []))
        kind = "PMID"
    elif lowered.startswith(("id:", "synth:")):
        value = ident.split(":", 1)[1].strip()
        candidates = {int(value)} & index.ids if value.isdigit() else set()
    elif (doi := normalise_doi(ident)) is not None:
        candidates = set(index.doi.get(doi, []))
        kind = "DOI"
    elif ident.isdigit():
        by_id = {int(ident)} & index.ids
        by_pmid = set(index.pmid.get(ident, []))
        if by_id and by_pmid and by_id != by_pmid:
            return None, (f"'{ident}' is both synth record {ident} and the PMID of record "
                          f"{min(by_pmid)}; write id:{ident} or pmid:{ident}")
        candidates = by_id or by_pmid
    if not candidates:
        candidates = set(index.source_id.get(ident, []))
        kind = "source record id" if candidates else kind
    if not candidates:
        return None, f"no record matches '{ident}' (as a synth id, DOI, PMID or source record id)"
    kept = sorted(c for c in candidates if c not in index.screened_out)
    if len(kept) == 1:
        return kept[0], None
    if len(kept) > 1:
        return None, f"{kind} '{ident}' matches {len(kept)} screened records ({', '.join(map(str, kept))}); use the synth id"
    rid = min(candidates)
    cluster, kept_id = index.screened_out[rid]
    return None, screened_out_message(rid, cluster, kept_id)


def validate_rows(
    rows: Sequence[tuple[int, dict[str, str]]],
    index: RecordIndex,
    *,
    reviewer: str,
    stage: str,
    known_reviewers: set[str],
    reasons_by_stage: dict[str, list[str]],
) -> tuple[list[ImportRow], list[str]]:
    """Split rows into good :class:`ImportRow` and problems, one ``line N: ...`` per bad row."""
    good: list[ImportRow] = []
    bad: list[str] = []
    for line, row in rows:
        problems: list[str] = []
        who = row.get("reviewer") or reviewer
        where = row.get("stage") or stage
        if who not in known_reviewers:
            problems.append(f"unknown reviewer '{who}' (known: {', '.join(sorted(known_reviewers)) or 'none'})")
        decision = row.get("decision", "").lower()
        reason = row.get("reason") or None
        err = check_decision(where, decision, reason, reasons_by_stage.get(where, []))
        if err:
            problems.append(err)
        rid, rec_err = find_record(row.get("record", ""), index)
        if rec_err:
            problems.append(rec_err)
        if problems:
            bad.append(f"line {line}: " + "; ".join(problems))
        else:
            assert rid is not None
            good.append(ImportRow(line, rid, decision, reason, row.get("note", ""), who, where))
    return good, bad


EXPORT_COLUMNS = ["record", "stage", "reviewer", "decision", "reason", "note", "at", "included", "title", "year",
                  "doi", "pmid"]


def export_csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(str(row[k])) if isinstance(row.get(k), str) else
                         ("" if row.get(k) is None else row.get(k)) for k in EXPORT_COLUMNS})
    return buffer.getvalue()


ASREVIEW_NOTE = {"include": "ASReview_relevant", "exclude": "ASReview_irrelevant"}


def export_ris(entries: Sequence[dict[str, Any]]) -> str:
    """RIS for records with their stage outcome: ``N1`` holds the ASReview label first, then
    ``synth_decision``, ``synth_reason`` and each reviewer's decision."""
    lines: list[str] = []
    for e in entries:
        lines.append("TY  - JOUR")
        if e.get("title"):
            lines.append(f"TI  - {e['title']}")
        for author in e.get("authors", []):
            lines.append(f"AU  - {author}")
        if e.get("year"):
            lines.append(f"PY  - {e['year']}")
        if e.get("journal"):
            lines.append(f"JO  - {e['journal']}")
        if e.get("abstract"):
            lines.append(f"AB  - {' '.join(str(e['abstract']).split())}")
        if e.get("doi"):
            lines.append(f"DO  - {e['doi']}")
        if e.get("pmid"):
            lines.append(f"AN  - {e['pmid']}")
        lines.append(f"ID  - {e['record']}")
        outcome = e.get("outcome", "")
        lines.append(f"N1  - {ASREVIEW_NOTE.get(outcome, 'ASReview_not_seen')}")
        lines.append(f"N1  - synth_decision: {outcome or 'not screened'} ({e.get('stage', '')})")
        if e.get("reason"):
            lines.append(f"N1  - synth_reason: {e['reason']}")
        for d in e.get("decisions", []):
            lines.append(f"N1  - synth_reviewer: {d}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines)
