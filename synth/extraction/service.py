"""Workspace-level extraction jobs behind ``synth extract``: the files of one study, a citation from stored
records, the status of every study, the checks, the two-reviewer comparison, and the audit event of each change.

Each function takes the extraction folder (``workspace.extractions_dir(protocol_name)``), the protocol and,
where the store is involved, the :class:`~synth.store.Store`; the CLI only parses options and prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.errors import InputError
from synth.extraction.compare import Item, compare
from synth.extraction.files import (
    ExtractionFile,
    by_study,
    check_id,
    load_folder,
    reconciled_path,
    reviewer_path,
)
from synth.extraction.problems import Problem
from synth.extraction.screening_link import included_studies
from synth.extraction.validate import check_included, validate_files
from synth.protocol.model import Protocol
from synth.store.events import EventKind, append
from synth.store.records import iter_records
from synth.wording import count

if TYPE_CHECKING:
    from synth.store import Store


def path_for(folder: Path, study: str, reviewer: str | None) -> Path:
    """The file of ``study`` by ``reviewer``, or the reconciled file when ``reviewer`` is None."""
    return reviewer_path(folder, study, reviewer) if reviewer else reconciled_path(folder, study)


def log_event(store: Store, action: str, study: str, path: Path, actor: str | None, **extra: Any) -> None:
    """Record an extraction change in the store's audit log."""
    with store.begin() as conn:
        append(conn, EventKind.EXTRACTION, {"action": action, "study": study, "file": path.name, **extra},
               actor=actor or "", subject=study)


def citation_from_records(store: Store, ids: list[int]) -> dict[str, Any]:
    """The ``[citation]`` of a new extraction file from its stored records (the first is the main report)."""
    with store.connect() as conn:
        found = dict(iter_records(conn, ids))
    missing = [i for i in ids if i not in found]
    if missing:
        raise InputError(f"no record with id {', '.join(map(str, missing))} in the store. "
                         "List records with `synth records list` and pass existing ids to --record.")
    main = found[ids[0]]
    first = main.authors[0].family or main.authors[0].corporate if main.authors else ""
    citation: dict[str, Any] = {"label": f"{first} {main.year or ''}".strip()}
    for key, value in (("first_author", first), ("year", main.year), ("title", main.title),
                       ("journal", main.journal), ("doi", main.doi), ("pmid", main.pmid)):
        if value:
            citation[key] = value
    citation["records"] = ids
    return citation


def study_files(folder: Path, study: str) -> list[ExtractionFile]:
    """Every file of ``study`` (reviewers' and reconciled); :class:`InputError` when there is none or one
    cannot be read."""
    check_id(study, "study")
    files, problems = load_folder(folder)
    bad = [p for p in problems if Path(p.file).name.split(".")[0] == study]
    if bad:
        raise InputError(str(bad[0]))
    found = by_study(files).get(study, [])
    if not found:
        raise InputError(f"no extraction files for study '{study}' in {folder}. "
                         f"Create one with `synth extract new {study} --reviewer NAME`.")
    return found


def check_outcome(protocol: Protocol, outcome: str) -> None:
    """:class:`InputError` unless ``outcome`` is an outcome id of the protocol."""
    if outcome not in {o.id for o in protocol.outcomes}:
        raise InputError(f"'{outcome}' is not an outcome id in the protocol. Use one of: "
                         f"{', '.join(o.id for o in protocol.outcomes)}.")


def rob_tool(protocol: Protocol, f: ExtractionFile, tool: str | None) -> str:
    """The risk-of-bias tool for the study of ``f``: ``tool``, else the protocol's tool for its design."""
    design = (f.data.get("characteristics") or {}).get("design")
    chosen = tool or protocol.risk_of_bias.tools.get(str(design))
    if not chosen:
        raise InputError(f"the protocol names no risk-of-bias tool for design {design!r} of '{f.study}'. "
                         "Pass --tool (rob2, rob2-cluster, robins-i, mmat, epoc).")
    return chosen


def status_rows(folder: Path, protocol: Protocol, protocol_name: str) -> tuple[list[dict[str, Any]], int]:
    """Where each study stands (reviewer files, reconciled, outcome rows, assessments, problems), and the
    number of problems in the folder."""
    files, unreadable = load_folder(folder)
    problems = validate_files(files, protocol, protocol_name) + unreadable
    count: dict[str, int] = {}
    for p in problems:
        study = Path(p.file.split(", ")[0]).name.split(".")[0]
        count[study] = count.get(study, 0) + 1
    rows = []
    for study, fs in by_study(files).items():
        main = next((f for f in fs if f.reconciled), None)
        rows.append({
            "study": study,
            "reviewers": ", ".join(str(f.reviewer) for f in fs if not f.reconciled),
            "reconciled": main is not None,
            "outcome_rows": len(main.data.get("outcomes", []) or []) if main else None,
            "rob": len(main.data.get("rob", []) or []) if main else None,
            "problems": count.get(study, 0),
        })
    return rows, len(problems)


def check_folder(folder: Path, protocol: Protocol, protocol_name: str,
                 store: Store | None = None) -> tuple[list[ExtractionFile], list[Problem]]:
    """Every file of the folder and every problem: unreadable files, files that do not fit the protocol, and
    (with ``store``, once full-text screening has started) studies included at full text without a file or
    files of studies not included."""
    files, problems = load_folder(folder)
    problems += validate_files(files, protocol, protocol_name)
    if store is not None:
        from synth.extraction.eligibility import excluded_by_rule

        with store.connect() as conn:
            included = included_studies(conn, protocol, files)
            by_rule = excluded_by_rule(conn, protocol, files)
        if included is not None:  # a study a protocol rule excluded keeps its file: the rule's evidence
            problems += check_included([f for f in files if f.study not in by_rule], included)
    return files, problems


def checked_reconciled(folder: Path, protocol: Protocol, protocol_name: str) -> list[ExtractionFile]:
    """The reconciled files, refusing (:class:`InputError`) when any has a problem."""
    files, problems = load_folder(folder)
    reconciled = [f for f in files if f.reconciled]
    problems += validate_files(reconciled, protocol, protocol_name)
    if problems:
        raise InputError(f"{count(len(problems), 'problem')} in the extraction files, first: {problems[0]}. "
                         "Run `synth extract check` for all of them and fix them first.")
    return reconciled


@dataclass
class Comparison:
    """Two reviewers' files compared field by field, study by study."""

    pairs: list[dict[str, Any]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compare_reviewers(folder: Path, protocol: Protocol, study: str | None = None, rel_tol: float = 1e-3,
                      abs_tol: float = 1e-9) -> Comparison:
    """Compare the first two reviewers' files of ``study`` (or of every study that has two)."""
    if study:
        groups = {study: study_files(folder, study)}
    else:
        files, _ = load_folder(folder)
        groups = by_study(files)
    out = Comparison()
    for sid, fs in groups.items():
        reviewers = [f for f in fs if not f.reconciled]
        if len(reviewers) < 2:
            if study:
                raise InputError(f"study '{sid}' has {count(len(reviewers), 'reviewer file')}; comparing needs two "
                                 f"({sid}.<reviewer>.toml). Create the second with `synth extract new {sid} --reviewer NAME`.")
            continue
        a, b = reviewers[:2]
        if len(reviewers) > 2:
            out.notes.append(f"{sid}: comparing {a.reviewer} and {b.reviewer}; not compared: "
                             f"{', '.join(str(f.reviewer) for f in reviewers[2:])}.")
        out.pairs.append({"study": sid, "a": a.reviewer, "b": b.reviewer})
        out.items += compare(sid, a.data, b.data, protocol, rel_tol, abs_tol)
    if not out.pairs:
        raise InputError("no study has two reviewer files to compare. Name them <study>.<reviewer>.toml.")
    return out
