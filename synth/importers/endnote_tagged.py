"""EndNote / Refer tagged text (``.enw``): ``%A Author``, ``%T Title``... Records are separated by blank
lines; a record starts at the first tagged line after a blank line (or at ``%0``, the reference type).
Untagged lines continue the previous tag."""

from __future__ import annotations

import re
from collections.abc import Iterator

from synth.importers.base import ParseContext, Skipped
from synth.importers.common import clean, parse_author, parse_year, split_issns, unique
from synth.importers.encoding import Decoded
from synth.importers.tagged import Tags, find_doi, find_pmid
from synth.records.model import Provenance, Record

__all__ = ["parse_endnote_tagged"]

_TAG = re.compile(r"^%([0-9A-Z@!#$&()*+^~>\[\]|?])(?: (.*))?$")


def parse_endnote_tagged(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    pairs: list[tuple[str, str]] | None = None
    number = start_line = 0
    blank = True
    for lineno, line in enumerate(src.lines(), 1):
        if not line.strip():
            blank = True
            continue
        m = _TAG.match(line.rstrip())
        if m:
            tag, value = m.group(1), (m.group(2) or "").strip()
            has_type = pairs is not None and any(t == "0" for t, _ in pairs)
            if pairs is None or blank or (tag == "0" and has_type):
                if pairs is not None:
                    yield _finish(pairs, number, start_line, ctx)
                number += 1
                start_line = lineno
                pairs = []
            pairs.append((tag, value))
        elif pairs:
            tag, value = pairs[-1]
            pairs[-1] = (tag, f"{value}\n{line.strip()}" if value else line.strip())
        else:
            ctx.warn(f"line {lineno}: text outside any record ignored: {line.strip()[:60]!r}")
        blank = False
    if pairs is not None:
        yield _finish(pairs, number, start_line, ctx)


def _finish(pairs: list[tuple[str, str]], number: int, line: int, ctx: ParseContext) -> Record | Skipped:
    tags = Tags(pairs)
    if not tags.has_content(("0",)):
        return Skipped(number, line, "no content: only a reference type")
    keywords = [k for v in tags.all("K") for k in re.split(r"\n|;\s*", v)]
    book = tags.first("0").lower().startswith("book")
    return Record(
        title=clean(tags.first("T")),
        abstract=clean(" ".join(tags.all("X"))),
        authors=[a for a in (parse_author(n) for n in tags.all("A")) if a] or
        [a for a in (parse_author(n) for n in tags.all("E")) if a],
        year=parse_year(tags.first("D")) or parse_year(tags.first("8")),
        journal=clean(tags.first("J", "B") if not book else tags.first("B", "J")),
        volume=clean(tags.first("V")),
        issue=clean(tags.first("N")),
        pages=clean(tags.first("P")),
        doi=find_doi(tags.all("R", "U")),
        pmid=find_pmid(tags.all("M", "U")),
        issns=split_issns(tags.all("@")),
        keywords=unique(keywords),
        language=clean(tags.first("G")),
        publication_type=clean(tags.first("0")),
        url=clean(tags.first("U")),
        provenance=Provenance(source=ctx.source, file=ctx.file, record_number=number, line=line,
                              source_record_id=tags.first("M", "F")),
        raw=pairs,
    )
