"""Web of Science tagged "plain text" (``.ciw``, ``.txt``, ``.isi``): ``FN``/``VR`` header, two-letter tags,
continuation lines indented three spaces (one value per line for ``AU``/``AF``/``CR``), ``ER`` after each
record and ``EF`` at the end. Record starts are ``PT`` lines."""

from __future__ import annotations

import re
from collections.abc import Iterator

from synth.importers.base import ParseContext, Skipped
from synth.importers.common import clean, normalise_pmid, parse_author, parse_year, split_issns, unique
from synth.importers.encoding import Decoded
from synth.importers.tagged import Tags, find_doi
from synth.records.model import Provenance, Record

__all__ = ["parse_wos", "wos_record"]

_TAG = re.compile(r"^([A-Z][A-Z0-9])(?: (.*))?$")
_MULTI = {"AU", "AF", "CR", "BA", "BF", "ED", "CA", "GP"}


def parse_wos(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    """Stream records from WoS tagged text."""
    pairs: list[tuple[str, str]] | None = None
    number = start_line = 0
    for lineno, line in enumerate(src.lines(), 1):
        if not line.strip():
            continue
        if line.startswith("   ") or line.startswith("\t"):
            if pairs:
                tag, value = pairs[-1]
                text = line.strip()
                if tag in _MULTI:
                    pairs.append((tag, text))
                else:
                    pairs[-1] = (tag, f"{value} {text}" if value else text)
            continue
        m = _TAG.match(line.rstrip())
        if not m:
            ctx.warn(f"line {lineno}: untagged text ignored: {line.strip()[:60]!r}")
            continue
        tag, value = m.group(1), (m.group(2) or "").strip()
        if tag in ("FN", "VR", "EF") and pairs is None:
            if tag == "FN":
                ctx.detected_source = ctx.detected_source or "Web of Science"
            continue
        if tag == "ER":
            if pairs is not None:
                yield _finish(pairs, number, start_line, ctx)
                pairs = None
            continue
        if tag == "PT" or pairs is None:
            if pairs is not None:
                ctx.warn(f"record {number} (line {start_line}) has no ER line; it ends where the next PT starts")
                yield _finish(pairs, number, start_line, ctx)
            number += 1
            start_line = lineno
            pairs = []
        pairs.append((tag, value))
    if pairs is not None:
        ctx.warn(f"record {number} (line {start_line}) is the last one and has no ER line; kept")
        yield _finish(pairs, number, start_line, ctx)


def _finish(pairs: list[tuple[str, str]], number: int, line: int, ctx: ParseContext) -> Record | Skipped:
    tags = Tags(pairs)
    if not tags.has_content(("PT", "UT")):
        return Skipped(number, line, "no content: only PT/UT tags or empty values")
    record = wos_record(tags, pairs)
    record.provenance = Provenance(source=ctx.source, file=ctx.file, record_number=number, line=line,
                                   source_record_id=tags.first("UT", "AN"))
    return record


def wos_record(tags: Tags, pairs: list[tuple[str, str]]) -> Record:
    """Map WoS tags to a record (``AF`` full names preferred over ``AU``)."""
    names = tags.all("AF") or tags.all("AU")
    authors = [a for a in (parse_author(re.sub(r"\s*\([^)]*@[^)]*\)", "", n)) for n in names) if a]
    start, end = tags.first("BP"), tags.first("EP")
    pages = f"{start}-{end}" if start and end and start != end else (start or tags.first("PS", "AR"))
    ut = tags.first("UT")
    pmid = normalise_pmid(tags.first("PM")) or (normalise_pmid(ut) if ut.upper().startswith("MEDLINE:") else None)
    keywords = [k for v in tags.all("DE", "ID", "MH") for k in re.split(r";\s*", v)]
    return Record(
        title=clean(tags.first("TI")),
        abstract=clean(" ".join(tags.all("AB"))),
        authors=authors,
        year=parse_year(tags.first("PY")) or parse_year(tags.first("PD")) or parse_year(tags.first("EA")),
        journal=clean(tags.first("SO", "SE", "J9", "JI")),
        volume=clean(tags.first("VL")),
        issue=clean(tags.first("IS")),
        pages=clean(pages),
        doi=find_doi(tags.all("DI", "D2")),
        pmid=pmid,
        issns=split_issns(tags.all("SN", "EI")),
        keywords=unique(keywords),
        language=clean(tags.first("LA")),
        publication_type=clean(tags.first("DT", "PT")),
        url=f"https://www.webofscience.com/wos/woscc/full-record/{ut}" if ut.startswith("WOS:") else "",
        raw=pairs,
    )
