"""The link to screening: which extracted studies were included at full text.

Screening decides on records (and links further reports to a study's main record); extraction files name
their reports in ``citation.records`` (store record ids) and identify them by ``citation.doi``/``pmid``.
A file counts as included when one of its records, or a record with its DOI or PMID, is included at full text
(its own decision, or that of the study it is linked to). The check runs only once full-text screening has
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


def _identifiers(conn: sa.Connection, ids: set[int]) -> tuple[set[str], set[str]]:
    from synth.store.schema import records

    dois, pmids = set(), set()
    if ids:
        for row in conn.execute(sa.select(records.c.doi, records.c.pmid).where(records.c.id.in_(ids))):
            if row.doi:
                dois.add(normalise_doi(row.doi) or row.doi)
            if row.pmid:
                pmids.add(str(row.pmid))
    return dois, pmids


def included_studies(conn: sa.Connection, protocol: Protocol, files: list[ExtractionFile]) -> set[str] | None:
    """Study ids of ``files`` included at full text, or None when full-text screening has not started."""
    found = included_records(conn, protocol)
    if found is None:
        return None
    included, links = found
    accepted = included | {rid for rid, study in links.items() if study in included}
    dois, pmids = _identifiers(conn, accepted)
    out = set()
    for f in files:
        citation: dict[str, Any] = f.data.get("citation") or {}
        records = {r for r in citation.get("records") or [] if isinstance(r, int)}
        doi = normalise_doi(str(citation.get("doi") or "")) if citation.get("doi") else None
        pmid = str(citation.get("pmid") or "")
        if records & accepted or (doi and doi in dois) or (pmid and pmid in pmids):
            out.add(f.study)
    return out


def included_study_ids(c: Any) -> set[str] | None:
    """For the CLI context ``c``: :func:`included_studies` over the workspace's extraction files."""
    from synth.extraction.files import load_folder

    files, _ = load_folder(c.workspace.extractions_dir(c.protocol_name))
    with c.store.connect() as conn:
        return included_studies(conn, c.protocol, files)
