"""BibTeX / BibLaTeX with an own tokenizer that never drops an entry.

Unlike bibtexparser v2 (which moves entries with a repeated field or a repeated key to ``failed_blocks``),
every ``@type{...}`` entry is a record start here: repeated fields are all kept in ``raw`` (the first one fills
the record), repeated keys are kept with a warning, ``@string`` macros and month names are expanded,
``@comment``/``@preamble`` are not records. LaTeX escapes become Unicode *after* author names are split, so a
braced corporate author (``{World Health Organization}``) stays whole. An entry whose braces never close is
listed as skipped (with its line) and parsing resumes at the next ``@`` at the start of a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from synth.importers.base import ParseContext, Skipped
from synth.importers.common import (
    clean,
    normalise_pmcid,
    normalise_pmid,
    parse_author,
    parse_year,
    split_issns,
    unique,
)
from synth.importers.encoding import Decoded
from synth.importers.latex import latex_to_text
from synth.importers.tagged import Tags, find_doi
from synth.records.model import Author, Provenance, Record

__all__ = ["bibtex_record", "parse_bibtex", "tokenize_bibtex"]

_ENTRY = re.compile(r"@\s*([A-Za-z][\w-]*)\s*([{(])")
_NEXT_AT = re.compile(r"^[ \t]*@", re.MULTILINE)
_FIELD = re.compile(r"\s*([^=,{}\"#\s][^=,{}\"#\n]*?)\s*=\s*")
_RESYNC = re.compile(r",[ \t]*\r?\n\s*(?=[A-Za-z][\w\-\xa0 ]*\s*=)|\n[ \t]*(?=[})][ \t]*(?:\n|$))")
_MONTHS = {m: str(i) for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_NOT_RECORDS = {"comment", "preamble", "string"}
_GROUPING = {"set", "xdata"}
_BRACE_STOP = re.compile(r"[\\{}]|\n[ \t]*@")
_KEY = re.compile(r"\s*([^,\s}\)=]*)\s*")
_WORD = re.compile(r"[^\s,#}\)]+")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


class _Broken(Exception):
    pass


def _value(text: str, pos: int, macros: dict[str, str]) -> tuple[str, int]:
    """Parse a field value (braced, quoted, number or macro, joined with #) starting at ``pos``."""
    parts: list[str] = []
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            raise _Broken("value never ends")
        ch = text[pos]
        if ch == "{":
            depth, start = 1, pos + 1
            pos += 1
            while depth:
                stop = _BRACE_STOP.search(text, pos)
                if stop is None or stop.group(0)[0] == "\n":
                    raise _Broken("unbalanced braces in a value")
                c = stop.group(0)
                pos = stop.end()
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                else:  # backslash: skip the escaped character
                    pos += 1
            parts.append(text[start:pos - 1])
        elif ch == '"':
            depth, start = 0, pos + 1
            pos += 1
            while pos < n and not (text[pos] == '"' and depth == 0):
                if text[pos] == "\\":
                    pos += 1
                elif text[pos] == "{":
                    depth += 1
                elif text[pos] == "}":
                    depth -= 1
                pos += 1
            if pos >= n:
                raise _Broken("unterminated quoted value")
            parts.append(text[start:pos])
            pos += 1
        else:
            m = _WORD.match(text, pos)
            if not m:
                raise _Broken(f"unexpected character {ch!r} in a value")
            word = m.group(0)
            parts.append(macros.get(word.lower(), _MONTHS.get(word.lower(), word)))
            pos = m.end()
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos < n and text[pos] == "#":
            pos += 1
            continue
        return "".join(parts), pos


def _entry_body(text: str, pos: int, close: str, macros: dict[str, str],
                string: bool = False) -> tuple[str, list[tuple[str, str]], int]:
    """Key and fields of an entry whose opening delimiter ends at ``pos``; returns the end position."""
    key = ""
    if not string:
        m = _KEY.match(text, pos)
        assert m is not None
        key, pos = m.group(1), m.end()
    fields: list[tuple[str, str]] = []
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == ",":
            pos += 1
            continue
        if ch in " \t\r\n":
            pos += 1
            continue
        if ch == close:
            return key, fields, pos + 1
        fm = _FIELD.match(text, pos)
        try:
            if not fm:
                raise _Broken(f"expected 'name = value' near {text[pos:pos + 30]!r}")
            value, end = _value(text, fm.end(), macros)
            if end < n and text[end] not in ",})" + close:
                raise _Broken(f"unexpected text after a value near {text[end:end + 30]!r}")
            fields.append((fm.group(1).replace("\xa0", " ").strip().lower(), value))
            pos = end
        except _Broken:
            resync = _RESYNC.search(text, pos + 1)
            next_entry = _NEXT_AT.search(text, pos + 1)
            if resync is None or (next_entry is not None and next_entry.start() < resync.start()):
                raise
            broken = text[pos:resync.start()]
            if fm:  # keep the field's text as found (minus its opening delimiter), so nothing is lost
                value = text[fm.end():resync.start()].strip().rstrip(",").strip()
                fields.append((fm.group(1).replace("\xa0", " ").strip().lower(), value[1:] if value[:1] in "{\"" else value))
            fields.append(("_unparsed", broken))
            pos = resync.end()
    raise _Broken("entry never closes")


def tokenize_bibtex(text: str, ctx: ParseContext) -> Iterator[tuple[int, int, str, str, list[tuple[str, str]]] | Skipped]:
    """``(number, line, type, key, fields)`` per entry, or :class:`Skipped` for a broken one."""
    macros: dict[str, str] = {}
    pos, number = 0, 0
    n = len(text)
    counted_to, line = 0, 1
    while pos < n:
        m = _ENTRY.search(text, pos)
        if not m:
            break
        kind = m.group(1).lower()
        close = "}" if m.group(2) == "{" else ")"
        line += text.count("\n", counted_to, m.start())
        counted_to = m.start()
        if kind in _NOT_RECORDS:
            if kind == "string":
                try:
                    _, fields, pos = _entry_body(text, m.end(), close, macros, string=True)
                    macros.update((name, value) for name, value in fields)
                    continue
                except _Broken:
                    ctx.warn(f"line {line}: unreadable @string ignored")
            nxt = _NEXT_AT.search(text, m.end())
            pos = nxt.start() if nxt else n
            continue
        number += 1
        try:
            key, fields, pos = _entry_body(text, m.end(), close, macros)
        except _Broken as exc:
            yield Skipped(number, line, f"broken @{kind} entry: {exc}")
            nxt = _NEXT_AT.search(text, m.end())
            pos = nxt.start() if nxt else n
            continue
        yield number, line, kind, key, fields


def parse_bibtex(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    """Stream records from BibTeX text."""
    seen_keys: dict[str, int] = {}
    for item in tokenize_bibtex(src.text(), ctx):
        if isinstance(item, Skipped):
            yield item
            continue
        number, line, kind, key, fields = item
        if key and key in seen_keys:
            ctx.warn(f"entry {number} (line {line}) repeats the key '{key}' of entry {seen_keys[key]}; both kept")
        seen_keys.setdefault(key, number)
        names = [name for name, _ in fields]
        repeated = sorted({f for f in names if names.count(f) > 1})
        if repeated:
            ctx.warn(f"entry {number} (line {line}) repeats field(s) {', '.join(repeated)}; all values kept in raw")
        if "_unparsed" in names:
            damaged = [n for n, v in fields if n != "_unparsed" and any(v and v in u for k, u in fields if k == "_unparsed")]
            ctx.warn(f"entry {number} (line {line}) '{key}': unbalanced braces or quotes in "
                     f"{', '.join(damaged) or 'a field'}; the text was kept as found (check the export)")
        if kind in _GROUPING:
            yield Skipped(number, line, f"@{kind} entry only groups other entries; not a bibliographic record")
            continue
        if not any(v.strip() for _, v in fields):
            yield Skipped(number, line, f"no content: @{kind}{{{key}}} has no fields")
            continue
        record = bibtex_record(kind, key, fields)
        record.provenance = Provenance(source=ctx.source, file=ctx.file, record_number=number, line=line,
                                       source_record_id=key)
        yield record


def _split_names(value: str) -> list[Author]:
    """Split on ``and`` outside braces; a fully braced name is corporate; decode LaTeX per name afterwards."""
    names: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(value):
        c = value[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and c in " \t\n":
            m = _AND.match(value, i)
            if m:
                names.append(value[start:i])
                start = i = m.end()
                continue
        i += 1
    names.append(value[start:])
    authors: list[Author] = []
    for name in names:
        name = name.strip()
        if not name or name.lower() == "others":
            continue
        braced = name.startswith("{") and name.endswith("}") and _balanced_inner(name[1:-1])
        text = clean(latex_to_text(name))
        author = Author(corporate=text) if braced else parse_author(text)
        if author:
            authors.append(author)
    return authors


def _balanced_inner(inner: str) -> bool:
    depth = 0
    for c in inner:
        depth += c == "{"
        depth -= c == "}"
        if depth < 0:
            return False
    return depth == 0


def bibtex_record(kind: str, key: str, fields: list[tuple[str, str]]) -> Record:
    """Map one entry to a record; ``raw`` holds ``ENTRYTYPE``, ``ID`` and every field as written."""
    tags = Tags(fields)

    def text(*names: str) -> str:
        return clean(latex_to_text(tags.first(*names)))

    keywords = [k for v in tags.all("keywords", "keyword", "mesh")
                for k in re.split(r";\s*|\n" if ";" in v else r",\s*|\n", latex_to_text(v))]
    pages = text("pages").replace("--", "-").replace(" - ", "-")
    return Record(
        title=text("title"),
        abstract=text("abstract"),
        authors=_split_names(tags.first("author")) or _split_names(tags.first("editor")),
        year=parse_year(tags.first("year")) or parse_year(tags.first("date")),
        journal=text("journal", "journaltitle", "booktitle", "series", "publisher" if kind == "book" else "howpublished"),
        volume=text("volume"),
        issue=text("number", "issue"),
        pages=pages,
        doi=find_doi(tags.all("doi", "url", "note")),
        pmid=normalise_pmid(tags.first("pmid")),
        pmcid=normalise_pmcid(tags.first("pmcid")),
        openalex_id=tags.first("openalex") or None,
        issns=split_issns(tags.all("issn")),
        keywords=unique(keywords),
        language=text("language", "langid"),
        publication_type=kind,
        url=clean(tags.first("url").split("\n", 1)[0]),
        raw=[("ENTRYTYPE", kind), ("ID", key), *fields],
    )
