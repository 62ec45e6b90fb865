"""Ovid "field label" text exports (Display/Export as text with field labels): a label at the start of a line
(``Title``, ``Author``, ``Source``...) and its value on the following lines indented by two spaces. Records
start at a ``<N>`` line, or where the first label of the file (often ``Score`` or ``Accession Number``) comes
round again."""

from __future__ import annotations

import re
from collections.abc import Iterator

from synth.importers.base import ParseContext, Skipped
from synth.importers.common import clean, parse_author, parse_year, split_issns, unique
from synth.importers.encoding import Decoded
from synth.importers.tagged import Tags, find_doi, find_pmid
from synth.records.model import Author, Provenance, Record

__all__ = ["ovid_record", "parse_ovid"]

_NUMBER = re.compile(r"^<\d+>\s*$")
_SOURCE = re.compile(r"^(?P<journal>.+?)\.\s+(?P<volume>[\w-]+)?(?:\((?P<issue>[^)]*)\))?(?::(?P<pages>[\w-]+))?")
_MARKERS = re.compile(
    r"(?:[\s,]+(?:[0-9*+†‡§#]+|MD|PhD|MPH|MSc|BSc|RN|MBBS|DPhil|FRCS|FRCP|MA|MS|BA|DrPH|ScD)(?=[\s,]|$))+$")


def parse_ovid(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    pairs: list[tuple[str, str]] | None = None
    number = start_line = 0
    first_label = ""
    numbered = False
    for lineno, line in enumerate(src.lines(), 1):
        if not line.strip():
            continue
        if _NUMBER.match(line):
            numbered = True
            if pairs is not None:
                yield _finish(pairs, number, start_line, ctx)
            number += 1
            start_line = lineno
            pairs = []
            continue
        if line[0] not in " \t":
            label = line.strip()
            first_label = first_label or label
            if pairs is None or (not numbered and label == first_label and pairs):
                if pairs is not None:
                    yield _finish(pairs, number, start_line, ctx)
                number += 1
                start_line = lineno
                pairs = []
            pairs.append((label, ""))
        elif pairs:
            label, value = pairs[-1]
            pairs[-1] = (label, f"{value}\n{line.strip()}" if value else line.strip())
        else:
            ctx.warn(f"line {lineno}: indented text before any field label ignored")
    if pairs is not None:
        yield _finish(pairs, number, start_line, ctx)


def _finish(pairs: list[tuple[str, str]], number: int, line: int, ctx: ParseContext) -> Record | Skipped:
    tags = Tags(pairs)
    if not tags.has_content(("Score",)):
        return Skipped(number, line, "no content: field labels without values")
    record = ovid_record(tags, pairs)
    record.provenance = Provenance(source=ctx.source, file=ctx.file, record_number=number, line=line,
                                   source_record_id=tags.first("Accession Number", "Unique Identifier").rstrip("."))
    return record


def _authors(value: str) -> list[Author]:
    authors = []
    for part in re.split(r";\s*", value.replace("\n", " ")):
        name = _MARKERS.sub("", part.strip()).strip(" ,")
        author = parse_author(name)
        if author:
            authors.append(author)
    return authors


def ovid_record(tags: Tags, pairs: list[tuple[str, str]]) -> Record:
    source = clean(tags.first("Source"))
    match = _SOURCE.match(source)
    keywords = [k.strip(" .") for v in tags.all("Author Keywords", "Keywords", "Subject Headings", "MeSH Subject Headings")
                for k in re.split(r";\s*|\n", v)]
    links = tags.all("Link to the Ovid Full Text or citation", "URL")
    return Record(
        title=clean(tags.first("Title")),
        abstract=clean(tags.first("Abstract")),
        authors=_authors(tags.first("Author", "Authors")),
        year=parse_year(tags.first("Year of Publication", "Publication Year")) or parse_year(source),
        journal=clean(tags.first("Journal Name") or (match.group("journal") if match else source)).rstrip("."),
        volume=clean(tags.first("Volume") or (match.group("volume") or "" if match else "")),
        issue=clean(tags.first("Issue") or (match.group("issue") or "" if match else "")),
        pages=clean(tags.first("Page", "Pages") or (match.group("pages") or "" if match else "")),
        doi=find_doi(tags.all("DOI Number", "Digital Object Identifier", "DOI")),
        pmid=find_pmid(tags.all("PubMed ID", "PMID")) or (tags.first("PubMed ID", "PMID") or None),
        issns=split_issns(tags.all("ISSN", "Electronic ISSN", "Print ISSN")),
        keywords=unique(keywords),
        language=clean(tags.first("Language")),
        publication_type=clean(tags.first("Document Type", "Publication Type")),
        url=clean(links[0].split("\n")[0]) if links else "",
        raw=pairs,
    )
