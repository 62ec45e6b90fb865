"""EndNote XML (``<xml><records><record>``), as written by EndNote, Zotero, Mendeley, Bookends.

Parsed with :mod:`defusedxml`. Text nodes may be split into ``<style>`` runs; they are concatenated. The raw
record is every leaf as ``(path, text)`` (e.g. ``titles/title``, ``ref-type@name``), repeated values kept, so
user fields (``label``, ``caption``, ``custom1``...) survive.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from defusedxml import ElementTree as SafeET

from synth.errors import InputError
from synth.importers.base import ParseContext, Skipped
from synth.importers.common import clean, normalise_pmid, parse_author, parse_year, split_issns, unique
from synth.importers.encoding import Decoded
from synth.importers.tagged import Tags, find_doi, find_pmcid, find_pmid
from synth.records.model import Author, Provenance, Record

__all__ = ["endnote_record", "flatten", "parse_endnote_xml"]


def flatten(el: ET.Element, prefix: str = "") -> list[tuple[str, str]]:
    """Leaves of ``el`` as ``(path, text)``; ``<style>`` runs are joined into their parent's text."""
    out: list[tuple[str, str]] = []
    for child in el:
        path = f"{prefix}{child.tag}"
        for name, value in child.attrib.items():
            out.append((f"{path}@{name}", value))
        if len(child) == 0 or all(c.tag == "style" for c in child):
            text = "".join(child.itertext()).strip()
            if text:
                out.append((path, text))
        else:
            if child.text and child.text.strip():
                out.append((path, child.text.strip()))
            out.extend(flatten(child, f"{path}/"))
    return out


def parse_endnote_xml(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    """Every ``<record>`` element, in order."""
    try:
        root = SafeET.fromstring(src.data[src.offset:] if src.encoding == "utf-8" else src.text().encode("utf-8"))
    except ET.ParseError as exc:
        raise InputError(f"{ctx.file}: not well-formed XML ({exc}). Export the EndNote library as XML again.") from exc
    except Exception as exc:
        raise InputError(f"{ctx.file}: refused unsafe XML ({type(exc).__name__}: {exc}).") from exc
    for number, el in enumerate(root.iter("record"), 1):
        pairs = flatten(el)
        tags = Tags(pairs)
        if not tags.has_content(("database", "database@name", "database@path", "source-app", "source-app@name",
                                 "source-app@version", "rec-number", "ref-type", "ref-type@name")):
            yield Skipped(number, None, "no content: the record holds only database bookkeeping")
            continue
        record = endnote_record(tags, pairs)
        record.provenance = Provenance(source=ctx.source, file=ctx.file, record_number=number,
                                       source_record_id=tags.first("rec-number", "accession-num"))
        yield record


def endnote_record(tags: Tags, pairs: list[tuple[str, str]]) -> Record:
    """Map flattened EndNote XML leaves to a record."""
    authors: list[Author] = [a for a in (parse_author(n) for n in tags.all("contributors/authors/author")) if a]
    if not authors:
        authors = [a for a in (parse_author(n) for n in tags.all("contributors/secondary-authors/author")) if a]
    remote = (tags.first("remote-database-provider") + " " + tags.first("remote-database-name")).lower()
    accession = tags.first("accession-num")
    pmid = None
    if accession.isdigit() and (any(k in remote for k in ("pubmed", "nlm", "medline")) or "mendeley" in
                                tags.first("database").lower()):
        pmid = normalise_pmid(accession)
    urls = tags.all("urls/related-urls/url", "urls/web-urls/url", "urls/pdf-urls/url")
    pmid = pmid or find_pmid(urls)
    return Record(
        title=clean(tags.first("titles/title")),
        abstract=clean(tags.first("abstract")),
        authors=authors,
        year=parse_year(tags.first("dates/year")) or parse_year(tags.first("dates/pub-dates/date")),
        journal=clean(tags.first("periodical/full-title", "titles/secondary-title", "journal", "periodical/abbr-1")),
        volume=clean(tags.first("volume")),
        issue=clean(tags.first("number", "issue")),
        pages=clean(tags.first("pages")),
        doi=find_doi(tags.all("electronic-resource-num", *(["urls/related-urls/url"] if not tags.first(
            "electronic-resource-num") else []))),
        pmid=pmid,
        pmcid=find_pmcid(tags.all("custom2", "notes")),
        issns=split_issns(tags.all("isbn")),
        keywords=unique(tags.all("keywords/keyword")),
        language=clean(tags.first("language")),
        publication_type=clean(tags.first("ref-type@name")),
        url=clean(urls[0]) if urls else "",
        raw=pairs,
    )
