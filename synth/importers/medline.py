"""MEDLINE / PubMed ``.nbib`` tagged text (also ERIC and other NLM-style exports).

Tags are four characters wide, padded, followed by ``- `` (``PMID-``, ``TI  -``, ``FAU -``, ``ISSN-``);
continuation lines are indented; records are separated by blank lines and there is no end tag. A record
starts at the first tagged line after a blank line, or at any ``PMID-`` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from synth.importers.base import ParseContext, Skipped
from synth.importers.common import clean, normalise_pmid, parse_author, parse_year, split_issns, unique
from synth.importers.encoding import Decoded
from synth.importers.tagged import Tags, find_doi, find_pmcid
from synth.records.model import Author, Provenance, Record

__all__ = ["medline_record", "parse_medline"]

_TAG = re.compile(r"^([A-Z][A-Z0-9]{1,3}) *- ?(.*)$")


def parse_medline(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    """Stream records from MEDLINE tagged text."""
    pairs: list[tuple[str, str]] | None = None
    number = start_line = 0
    blank = True
    for lineno, line in enumerate(src.lines(), 1):
        stripped = line.strip()
        if not stripped:
            blank = True
            continue
        m = _TAG.match(line) if line[:1] != " " and 1 < line.find("-") <= 4 else None
        if m:
            tag, value = m.group(1), m.group(2).strip()
            if pairs is None or tag == "PMID" or (blank and tag != "PMID" and _starts_new(pairs)):
                if pairs is not None:
                    yield _finish(pairs, number, start_line, ctx)
                number += 1
                start_line = lineno
                pairs = []
            pairs.append((tag, value))
        elif pairs:
            tag, value = pairs[-1]
            pairs[-1] = (tag, f"{value} {stripped}" if value else stripped)
        else:
            ctx.warn(f"line {lineno}: text outside any record ignored: {stripped[:60]!r}")
        blank = False
    if pairs is not None:
        yield _finish(pairs, number, start_line, ctx)


def _starts_new(pairs: list[tuple[str, str]]) -> bool:
    """After a blank line, a tagged line begins a new record (blank lines never occur inside one)."""
    return bool(pairs)


def _finish(pairs: list[tuple[str, str]], number: int, line: int, ctx: ParseContext) -> Record | Skipped:
    tags = Tags(pairs)
    if not tags.has_content(("PMID", "OWN", "STAT")):
        return Skipped(number, line, "no content: no tagged values besides identifiers")
    record = medline_record(tags, pairs)
    record.provenance = Provenance(source=ctx.source, file=ctx.file, record_number=number, line=line,
                                   source_record_id=record.pmid or tags.first("OID", "AN"))
    return record


def _authors(tags: Tags) -> list[Author]:
    names = tags.all("FAU") or tags.all("AU")
    authors = [a for a in (parse_author(n) for n in names) if a]
    authors += [Author(corporate=clean(c)) for c in tags.all("CN")]
    return authors


def medline_record(tags: Tags, pairs: list[tuple[str, str]]) -> Record:
    """Map MEDLINE tags to a record."""
    ids = tags.all("LID", "AID")
    doi = find_doi(v[:-5].strip() for v in ids if v.endswith("[doi]")) or find_doi(ids)
    keywords = [v.lstrip("*") for v in tags.all("OT", "KW")] + [v.split("/")[0].lstrip("*") for v in tags.all("MH")]
    url = next((v for v in ids if v.startswith("http")), "")
    pmid = normalise_pmid(tags.first("PMID"))
    return Record(
        title=clean(tags.first("TI", "BTI", "TT")),
        abstract=clean(" ".join(tags.all("AB"))),
        authors=_authors(tags),
        year=parse_year(tags.first("DP")) or parse_year(tags.first("DEP")),
        journal=clean(tags.first("JT", "TA", "BTI" if tags.first("TI") else "")),
        volume=clean(tags.first("VI")),
        issue=clean(tags.first("IP")),
        pages=clean(tags.first("PG")),
        doi=doi,
        pmid=pmid,
        pmcid=find_pmcid(tags.all("PMC")),
        issns=split_issns(tags.all("IS", "ISSN")),
        keywords=unique(keywords),
        language="; ".join(unique(tags.all("LA"))),
        publication_type="; ".join(unique(tags.all("PT"))),
        url=url or (f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else ""),
        raw=pairs,
    )
