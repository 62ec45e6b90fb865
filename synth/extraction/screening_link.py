"""The link to screening: which extracted studies were included at full text.

Screening decides on records (and links further reports to a study's main record); extraction files name
their reports in ``citation.records`` (store record ids) and identify them by ``citation.doi``/``pmid``.
A file counts as included when one of its records, a record with its DOI or PMID, or a record whose source
record id is the file's study id (as in bundled citation lists, e.g. ``data/<protocol>/citation-records.csv``),
is included at full text (its own decision, or that of the study it is linked to). The check runs only once full-text screening has
started in the store (at least one full-text decision or resolution); before that it is skipped (None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synth.extraction.files import ExtractionFile
from synth.protocol.model import Protocol
from synth.records.model import normalise_doi
from synth.screening.state import stage_outcomes
from synth.store.records import identifier_rows
from synth.store.screening import reports, titles

if TYPE_CHECKING:
    import sqlalchemy as sa

FULL_TEXT = "full-text"


def included_records(conn: sa.Connection, protocol: Protocol) -> tuple[set[int], dict[int, int]] | None:
    """Record ids included at full text and the report -> study links; None before full-text screening."""
    ft = stage_outcomes(conn, FULL_TEXT, required=protocol.screening.reviewers_full_text)
    if not ft.started:
        return None
    included = ft.included
    links = {int(r["record_id"]): int(r["study_id"]) for r in reports(conn) if r.get("study_id") is not None}
    return included, links


def records_by_study(conn: sa.Connection, files: list[ExtractionFile], ids: set[int]) -> dict[str, set[int]]:
    """For each file's study, the records among ``ids`` that belong to it (the matching rules of the module
    docstring: listed record ids, DOI, PMID, or source record id equal to the study id)."""
    by_doi: dict[str, set[int]] = {}
    by_pmid: dict[str, set[int]] = {}
    by_source: dict[str, set[int]] = {}
    for row in identifier_rows(conn, ids):
        rid = int(row["id"])
        if row["doi"]:
            by_doi.setdefault(normalise_doi(row["doi"]) or row["doi"], set()).add(rid)
        if row["pmid"]:
            by_pmid.setdefault(str(row["pmid"]), set()).add(rid)
        if row["source_record_id"]:
            by_source.setdefault(str(row["source_record_id"]), set()).add(rid)
    out: dict[str, set[int]] = {}
    for f in files:
        citation: dict[str, Any] = f.data.get("citation") or {}
        matched = {r for r in citation.get("records") or [] if isinstance(r, int)} & ids
        doi = normalise_doi(str(citation.get("doi") or "")) if citation.get("doi") else None
        pmid = str(citation.get("pmid") or "")
        matched |= by_doi.get(doi, set()) if doi else set()
        matched |= by_pmid.get(pmid, set()) if pmid else set()
        matched |= by_source.get(f.study, set())
        out[f.study] = matched
    return out


def _accepted(conn: sa.Connection, protocol: Protocol) -> set[int] | None:
    """Records included at full text, with the reports linked to them; None before full-text screening."""
    found = included_records(conn, protocol)
    if found is None:
        return None
    included, links = found
    return included | {rid for rid, study in links.items() if study in included}


def included_studies(conn: sa.Connection, protocol: Protocol, files: list[ExtractionFile]) -> set[str] | None:
    """Study ids of ``files`` included at full text, or None when full-text screening has not started."""
    accepted = _accepted(conn, protocol)
    if accepted is None:
        return None
    return {study for study, ids in records_by_study(conn, files, accepted).items() if ids}


def study_record_ids(conn: sa.Connection, protocol: Protocol, files: list[ExtractionFile],
                     studies: set[str]) -> set[int]:
    """Store ids of the included records that belong to ``studies`` (for PRISMA's "studies included in the
    meta-analysis"); empty before full-text screening."""
    accepted = _accepted(conn, protocol)
    if accepted is None or not studies:
        return set()
    wanted = [f for f in files if f.study in studies]
    return set().union(*records_by_study(conn, wanted, accepted).values())


def unextracted(conn: sa.Connection, protocol: Protocol, files: list[ExtractionFile]) -> list[dict[str, Any]]:
    """Records included at full text that no extraction file covers (``record``, ``title``), by record id:
    included studies the analysis cannot have used. A report linked to a study whose main record has a file is
    covered. Empty before full-text screening."""
    found = included_records(conn, protocol)
    if found is None:
        return []
    included, links = found
    accepted = included | {rid for rid, study in links.items() if study in included}
    covered = set().union(set(), *records_by_study(conn, files, accepted).values())
    covered |= {links[r] for r in covered if r in links} | {r for r, study in links.items() if study in covered}
    missing = sorted(included - covered)
    names = titles(conn, missing)
    return [{"record": rid, "title": names.get(rid, "")} for rid in missing]
