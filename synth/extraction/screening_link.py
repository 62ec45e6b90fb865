"""The link to screening: which extracted studies were included at full text.

Screening decides on records (and links further reports to a study's main record); extraction files name
their reports in ``citation.records`` (store record ids) and identify them by ``citation.doi``/``pmid``.
A file counts as included when one of its records, a record with its DOI or PMID, or a record whose source
record id is the file's study id (as in bundled citation lists, e.g. ``data/<protocol>/citation-records.csv``),
is included at full text (its own decision, or that of the study it is linked to). The check runs only once full-text screening has
started in the store (at least one full-text decision or resolution); before that it is skipped (None).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from synth.extraction.files import ExtractionFile
from synth.protocol.model import Protocol
from synth.records.model import normalise_doi

FULL_TEXT = "full-text"


def included_records(conn: sa.Connection, protocol: Protocol) -> tuple[set[int], dict[int, int]] | None:
    """Record ids included at full text and the report -> study links; None before full-text screening."""
    from synth.screening.decisions import outcomes
    from synth.store.screening import active_decisions, reports, resolutions

    decisions = active_decisions(conn, FULL_TEXT)
    resolved = resolutions(conn, FULL_TEXT)
    if not decisions and not resolved:
        return None
    pool = {d.record_id for d in decisions} | set(resolved)
    result = outcomes(pool, decisions, stage=FULL_TEXT, required=protocol.screening.reviewers_full_text,
                      resolutions=resolved)
    included = {rid for rid, o in result.items() if o.status == "include"}
    links = {int(r["record_id"]): int(r["study_id"]) for r in reports(conn) if r.get("study_id") is not None}
    return included, links


def _identifiers(conn: sa.Connection, ids: set[int]) -> tuple[set[str], set[str], set[str]]:
    from synth.store.schema import records

    dois, pmids, source_ids = set(), set(), set()
    if ids:
        query = sa.select(records.c.doi, records.c.pmid, records.c.source_record_id).where(records.c.id.in_(ids))
        for row in conn.execute(query):
            if row.doi:
                dois.add(normalise_doi(row.doi) or row.doi)
            if row.pmid:
                pmids.add(str(row.pmid))
            if row.source_record_id:
                source_ids.add(str(row.source_record_id))
    return dois, pmids, source_ids


def included_studies(conn: sa.Connection, protocol: Protocol, files: list[ExtractionFile]) -> set[str] | None:
    """Study ids of ``files`` included at full text, or None when full-text screening has not started."""
    found = included_records(conn, protocol)
    if found is None:
        return None
    included, links = found
    accepted = included | {rid for rid, study in links.items() if study in included}
    dois, pmids, source_ids = _identifiers(conn, accepted)
    out = set()
    for f in files:
        citation: dict[str, Any] = f.data.get("citation") or {}
        records = {r for r in citation.get("records") or [] if isinstance(r, int)}
        doi = normalise_doi(str(citation.get("doi") or "")) if citation.get("doi") else None
        pmid = str(citation.get("pmid") or "")
        if records & accepted or (doi and doi in dois) or (pmid and pmid in pmids) or f.study in source_ids:
            out.add(f.study)
    return out


def included_study_ids(c: Any) -> set[str] | None:
    """For the CLI context ``c``: :func:`included_studies` over the workspace's extraction files."""
    from synth.extraction.files import load_folder

    files, _ = load_folder(c.workspace.extractions_dir(c.protocol_name))
    with c.store.connect() as conn:
        return included_studies(conn, c.protocol, files)


def study_record_ids(conn: sa.Connection, protocol: Protocol, files: list[ExtractionFile],
                     studies: set[str]) -> set[int]:
    """Store ids of the included records that belong to ``studies`` (for PRISMA's "studies included in the
    meta-analysis"); empty before full-text screening."""
    from synth.store.schema import records

    found = included_records(conn, protocol)
    if found is None or not studies:
        return set()
    included, _ = found
    wanted = [f for f in files if f.study in studies]
    out: set[int] = set()
    query = sa.select(records.c.id, records.c.doi, records.c.pmid, records.c.source_record_id).where(
        records.c.id.in_(included))
    for row in conn.execute(query):
        doi = normalise_doi(row.doi) if row.doi else None
        for f in wanted:
            citation: dict[str, Any] = f.data.get("citation") or {}
            cdoi = normalise_doi(str(citation.get("doi") or "")) if citation.get("doi") else None
            if (int(row.id) in set(citation.get("records") or []) or (doi and doi == cdoi)
                    or (row.pmid and str(row.pmid) == str(citation.get("pmid") or ""))
                    or str(row.source_record_id or "") == f.study):
                out.add(int(row.id))
    return out
