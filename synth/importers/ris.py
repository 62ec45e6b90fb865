"""RIS, every vendor variant: BOM and CRLF (handled by decoding), ``TY - X`` with one space, untagged
continuation lines (kept with the previous tag, joined by a line break), ``A1``/``AU``, repeated tags (all kept),
junk between records (Ovid numbering, Cochrane ``Record #1 of 9`` headers: skipped, counted in a warning),
a missing final ``ER`` (the record is kept, with a warning), DOIs given as URLs.

Record starts are ``TY`` lines; a tagged line outside a record also starts one (with a warning), so
``records_found`` counts every record the file holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from synth.importers.base import ParseContext, Skipped
from synth.importers.common import clean, normalise_pmid, parse_author, parse_year, split_issns, unique
from synth.importers.encoding import Decoded
from synth.importers.tagged import Tags, find_doi, find_pmcid, find_pmid
from synth.records.model import Provenance, Record

__all__ = ["parse_ris", "ris_record"]

_TAG = re.compile(r"^([A-Z][A-Z0-9]) {1,2}- ?(.*)$")
_END = re.compile(r"^ER\s*(?:-.*)?$")
_NON_CONTENT = ("TY", "ER", "ID")


def parse_ris(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    """Stream records from RIS text."""
    pairs: list[tuple[str, str]] | None = None
    closed = False  # an ER was seen; tagged lines before the next TY (Ovid's NL) still belong to the record
    start_line = number = junk = after_end = 0
    tag_match = _TAG.match
    for lineno, line in enumerate(src.lines(), 1):
        if line[:2] == "ER" and _END.match(line.rstrip()):
            if pairs is not None:
                closed = True
            continue
        m = tag_match(line.rstrip(" \t")) if len(line) > 3 and line[2] == " " else None
        if m:
            tag, value = m.group(1), (m.group(2) or "").strip()
            if tag == "TY":
                if pairs is not None:
                    if not closed:
                        ctx.warn(f"record {number} (line {start_line}) has no ER line; it ends where the next TY starts")
                    yield _finish(pairs, number, start_line, ctx)
                number += 1
                start_line = lineno
                pairs = [("TY", value)]
                closed = False
                continue
            if pairs is None:
                number += 1
                start_line = lineno
                pairs = []
                ctx.warn(f"record {number} (line {lineno}) starts with {tag} instead of TY; kept as a record")
            elif closed:
                after_end += 1
            pairs.append((tag, value))
        elif pairs is not None and pairs and not closed and line.strip():
            tag, value = pairs[-1]
            pairs[-1] = (tag, f"{value}\n{line.strip()}" if value else line.strip())
        elif line.strip():
            junk += 1
    if pairs is not None:
        if not closed:
            ctx.warn(f"record {number} (line {start_line}) is the last one and has no ER line; kept")
        yield _finish(pairs, number, start_line, ctx)
    if after_end:
        ctx.warn(f"{after_end} tagged line(s) after an ER kept with the record before them (e.g. Ovid NL)")
    if junk:
        ctx.warn(f"{junk} untagged line(s) outside records ignored (vendor headers or numbering)")


def _finish(pairs: list[tuple[str, str]], number: int, line: int, ctx: ParseContext) -> Record | Skipped:
    tags = Tags(pairs)
    if not tags.has_content(_NON_CONTENT):
        return Skipped(number, line, "no content: only TY/ID/ER tags or empty values")
    record = ris_record(tags, pairs)
    record.provenance = Provenance(
        source=ctx.source, file=ctx.file, record_number=number, line=line,
        source_record_id=tags.first("ID", "AN"),
    )
    return record


def _pages(tags: Tags) -> str:
    start, end = tags.first("SP"), tags.first("EP")
    if start and end and end != start and "-" not in start:
        return f"{start}-{end}"
    return start or end


def ris_record(tags: Tags, pairs: list[tuple[str, str]]) -> Record:
    """Map RIS tags to a record (raw pairs kept whole)."""
    authors = [a for a in (parse_author(v) for v in unique(tags.all("AU", "A1"))) if a]
    url_like = tags.all("DO", "M3", "UR", "L1", "L2", "L3", "L4", "N1", "DI")
    ids = tags.all("AN", "PM", "U1", "U2", "C2", "M2", "N1", "UR", "L2")
    pmid = normalise_pmid(tags.first("PM", "PMID")) or find_pmid(ids)
    dp = tags.first("DP", "DB").lower()
    an = tags.first("AN")
    if not pmid and an.isdigit() and ("nlm" in dp or "pubmed" in dp or "medline" in dp):
        pmid = normalise_pmid(an)
    keywords = [k for value in tags.all("KW") for k in value.split("\n")]
    return Record(
        title=clean(tags.first("TI", "T1", "CT", "BT", "ST")),
        abstract=clean("\n".join(tags.all("AB")) or "\n".join(tags.all("N2"))),
        authors=authors,
        year=parse_year(tags.first("PY")) or parse_year(tags.first("Y1")) or parse_year(tags.first("DA")),
        journal=clean(tags.first("JF", "T2", "JO", "JA", "J1", "J2", "SO", "BT" if tags.first("TI", "T1") else "")),
        volume=clean(tags.first("VL")),
        issue=clean(tags.first("IS", "CP")),
        pages=clean(_pages(tags)),
        doi=find_doi(url_like),
        pmid=pmid,
        pmcid=find_pmcid(tags.all("C2", "U1", "U2", "PMC", "N1")),
        issns=split_issns(tags.all("SN")),
        keywords=unique(keywords),
        language=clean(tags.first("LA")),
        publication_type=clean(tags.first("TY", "M3") if not tags.first("M3").startswith("10.") else tags.first("TY")),
        url=clean(tags.first("UR", "L2", "L1").split("\n")[0]),
        raw=pairs,
    )
