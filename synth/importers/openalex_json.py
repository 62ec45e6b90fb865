"""OpenAlex works JSON: one work, a list of works, an API page (``{"results": [...]}``) or JSON Lines.

The abstract is rebuilt from ``abstract_inverted_index`` (word -> positions). The whole work object is kept in
``raw`` so nothing OpenAlex gave us is lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from synth.errors import InputError
from synth.importers.common import (
    clean,
    normalise_doi,
    normalise_pmcid,
    normalise_pmid,
    parse_author,
    parse_year,
    split_issns,
    unique,
)
from synth.records.model import Author, Provenance, Record

__all__ = ["openalex_work_to_record", "parse_openalex_json", "rebuild_abstract", "works_from_json"]


def rebuild_abstract(index: Mapping[str, Any] | None) -> str:
    """The abstract text from an OpenAlex ``abstract_inverted_index`` (words placed at their positions)."""
    if not index:
        return ""
    slots: dict[int, str] = {}
    for word, positions in index.items():
        for pos in positions or []:
            if isinstance(pos, int):
                slots[pos] = word
    return " ".join(slots[i] for i in sorted(slots))


def _short_id(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    tail = value.rstrip("/").rsplit("/", 1)[-1]
    return tail.upper() if tail[:1].lower() == "w" else tail


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _authors(work: Mapping[str, Any]) -> list[Author]:
    authors: list[Author] = []
    for authorship in work.get("authorships") or []:
        name = _get(authorship, "author", "display_name") or authorship.get("raw_author_name") or ""
        author = parse_author(str(name))
        if author:
            authors.append(author)
    return authors


def openalex_work_to_record(work: dict[str, Any], *, source: str = "OpenAlex", file: str = "",
                            record_number: int | None = None) -> Record:
    """Map one OpenAlex work object to a :class:`Record` (title, abstract, ids, authors, venue, biblio)."""
    ids = work.get("ids") or {}
    location = work.get("primary_location") or work.get("host_venue") or {}
    venue = location.get("source") if isinstance(location.get("source"), Mapping) else location
    biblio = work.get("biblio") or {}
    first_page, last_page = biblio.get("first_page"), biblio.get("last_page")
    pages = f"{first_page}-{last_page}" if first_page and last_page and first_page != last_page else (first_page or "")
    issns = split_issns([*(_get(venue, "issn") or []), _get(venue, "issn_l") or ""])
    keywords = [k.get("display_name", "") if isinstance(k, Mapping) else str(k) for k in work.get("keywords") or []]
    keywords += [m.get("descriptor_name", "") for m in work.get("mesh") or [] if isinstance(m, Mapping)]
    openalex_id = _short_id(work.get("id") or ids.get("openalex"))
    year = work.get("publication_year")
    return Record(
        title=clean(work.get("title") or work.get("display_name") or ""),
        abstract=rebuild_abstract(work.get("abstract_inverted_index")),
        authors=_authors(work),
        year=year if isinstance(year, int) else parse_year(str(work.get("publication_date") or "")),
        journal=clean(_get(venue, "display_name") or ""),
        volume=str(biblio.get("volume") or ""),
        issue=str(biblio.get("issue") or ""),
        pages=str(pages),
        doi=normalise_doi(work.get("doi") or ids.get("doi")),
        pmid=normalise_pmid(ids.get("pmid")),
        pmcid=normalise_pmcid(ids.get("pmcid")),
        openalex_id=openalex_id,
        issns=issns,
        keywords=unique(keywords),
        language=str(work.get("language") or ""),
        publication_type=str(work.get("type") or work.get("type_crossref") or ""),
        url=str(location.get("landing_page_url") or work.get("doi") or work.get("id") or ""),
        provenance=Provenance(source=source, file=file, record_number=record_number,
                              source_record_id=openalex_id or ""),
        raw=work,
    )


def works_from_json(text: str, *, file: str = "") -> list[dict[str, Any]]:
    """The work objects in an OpenAlex JSON document (single work, list, API page) or JSON Lines text."""
    stripped = text.strip()
    try:
        data: Any = json.loads(stripped)
    except RecursionError:
        raise InputError(f"{file or 'OpenAlex JSON'}: nested too deeply to read (no OpenAlex work has that many "
                         "levels). Export the works again from the OpenAlex API or web UI.") from None
    except json.JSONDecodeError as exc:
        lines = [line for line in stripped.splitlines() if line.strip()]
        try:
            data = [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            raise InputError(
                f"{file or 'OpenAlex JSON'}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
                "Export works as JSON from the OpenAlex API or web UI."
            ) from exc
    if isinstance(data, Mapping) and isinstance(data.get("results"), list):
        data = data["results"]
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(w, Mapping) for w in data):
        raise InputError(f"{file or 'OpenAlex JSON'}: expected a work object, a list of works or an API page "
                         "with 'results'. Export works as JSON from OpenAlex.")
    return [dict(w) for w in data]


def parse_openalex_json(text: str, *, source: str = "OpenAlex", file: str = "") -> list[Record]:
    """Every work in an OpenAlex JSON document, as records."""
    return [openalex_work_to_record(w, source=source, file=file, record_number=n)
            for n, w in enumerate(works_from_json(text, file=file), 1)]
