"""ProQuest text reports ("Report Information from ProQuest"): a table of contents, then one block per
document starting at ``Document N of M``: the title line, ``Label: value`` fields (values may run over several
paragraphs) and bare link lines. Every block is a record start."""

from __future__ import annotations

import re
from collections.abc import Iterator

from synth.importers.base import ParseContext, Skipped
from synth.importers.common import clean, parse_author, parse_year, split_issns, unique
from synth.importers.encoding import Decoded
from synth.importers.tagged import Tags, find_doi, find_pmid
from synth.records.model import Provenance, Record

__all__ = ["parse_proquest"]

_DOCUMENT = re.compile(r"^Document (\d+) of \d+\s*$")
_FIELD = re.compile(r"^([A-Z][A-Za-z/&()\-, ]{1,48}): ?(.*)$")
_RULE = re.compile(r"^_{20,}\s*$")


def parse_proquest(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    pairs: list[tuple[str, str]] | None = None
    number = start_line = 0
    for lineno, line in enumerate(src.lines(), 1):
        text = line.strip()
        if _DOCUMENT.match(text):
            if pairs is not None:
                yield _finish(pairs, number, start_line, ctx)
            number += 1
            start_line = lineno
            pairs = []
            continue
        if pairs is None or not text:
            continue
        if _RULE.match(text) or text == "Bibliography" or text.startswith("Contact ProQuest"):
            yield _finish(pairs, number, start_line, ctx)  # an empty block is listed as skipped, not dropped
            pairs = None
            continue
        field = _FIELD.match(text)
        if field and not text.startswith("http"):
            pairs.append((field.group(1), field.group(2).strip()))
        elif not pairs:
            pairs.append(("Document title", text))
        elif text.startswith("http") and pairs[-1][0] != "Links":
            pairs.append(("URL", text))
        else:
            label, value = pairs[-1]
            pairs[-1] = (label, f"{value}\n{text}" if value else text)
    if pairs is not None:
        yield _finish(pairs, number, start_line, ctx)


def _finish(pairs: list[tuple[str, str]], number: int, line: int, ctx: ParseContext) -> Record | Skipped:
    tags = Tags(pairs)
    if not tags.has_content():
        return Skipped(number, line, "no content: an empty document block")
    authors = [a for v in tags.all("Author", "Authors") for a in (parse_author(n) for n in re.split(r";\s*", v)) if a]
    keywords = [k for v in tags.all("Identifier / keyword", "Subject", "MeSH subject") for k in re.split(r"[;,]\s*", v)]
    record = Record(
        title=clean(tags.first("Title", "Document title")),
        abstract=clean(tags.first("Abstract")),
        authors=authors,
        year=parse_year(tags.first("Publication year")) or parse_year(tags.first("Publication date")),
        journal=clean(tags.first("Publication title", "Source")),
        volume=clean(tags.first("Volume")),
        issue=clean(tags.first("Issue")),
        pages=clean(tags.first("Pages")),
        doi=find_doi(tags.all("DOI")),
        pmid=find_pmid(tags.all("PubMed ID")),
        issns=split_issns(tags.all("ISSN", "e-ISSN")),
        keywords=unique(keywords),
        language=clean(tags.first("Language")),
        publication_type=clean(tags.first("Document type", "Source type")),
        url=clean(tags.first("URL")),
        provenance=Provenance(source=ctx.source, file=ctx.file, record_number=number, line=line,
                              source_record_id=tags.first("ProQuest document ID")),
        raw=pairs,
    )
    return record
