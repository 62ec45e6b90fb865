"""RIS, every vendor variant: BOM and CRLF (handled by decoding), ``TY - X`` with one space, untagged
continuation lines (kept with the previous tag, joined by a line break), ``A1``/``AU``, repeated tags (all kept),
junk between records (Ovid numbering, Cochrane ``Record #1 of 9`` headers: skipped, counted in a warning),
a missing final ``ER`` (the record is kept, with a warning), DOIs given as URLs.

Record starts are ``TY`` lines; a tagged line outside a record also starts one (with a warning), so
``records_found`` counts every record the file holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from synth.importers.base import ParseContext, Skipped
from synth.importers.common import clean, normalise_pmid, parse_author, parse_year, split_issns, unique
from synth.importers.encoding import Decoded
from synth.importers.tagged import Tags, find_doi, find_pmcid, find_pmid
from synth.records.model import Provenance, Record

__all__ = ["Piece", "RawRecord", "parse_ris", "parse_ris_piece", "read_ris", "ris_pieces", "ris_record",
           "warn_outside_records"]

_OPENALEX = re.compile(r"openalex\.org/(W\d+)")
_NON_CONTENT = frozenset(("TY", "ER", "ID"))


#: Characters decoded and scanned at a time (memory stays flat for files of any size); also the size in bytes
#: of the pieces worker processes parse (see :func:`ris_pieces`).
CHUNK_CHARS = 1 << 23
_TAGS = r"(?:[A-Z][A-Z0-9]|PMID|PMCID|PMC)"
#: One tagged line plus any untagged lines after it (continuations, or junk after ER). ``ER`` may stand alone.
_ITEM = re.compile(
    rf"^({_TAGS})(?:[ \t]{{1,3}}-[ \t]?|(?<=ER)[ \t]*$)(.*(?:\n(?!{_TAGS}(?:[ \t]{{1,3}}-|(?<=ER)[ \t]*$)).*)*)",
    re.MULTILINE,
)


_TY = re.compile(r"^TY[ \t]{1,3}-", re.MULTILINE)
_ODD_TY = re.compile(r"\nTY(?:\t| (?! -)| {3})[ \t]*-")  # literal "\nTY" prefix: fast search
#: A line start that is neither a tag line nor blank: a continuation line, junk, or a lone ``ER``.
_CONT = re.compile(rf"\n(?!{_TAGS}[ \t]{{1,3}}-|[ \t]*(?:\n|$))")
_FAST = re.compile(rf"\n({_TAGS})[ \t]{{1,3}}-[ \t]?([^\n]*)")
_HEAD = re.compile(rf"({_TAGS})[ \t]{{1,3}}-[ \t]?([^\n]*)")


def _starts(text: str) -> list[int]:
    """Offsets of the ``TY`` lines in ``text`` (plain string search unless the file has odd TY spacing)."""
    if _ODD_TY.search(text) or _ODD_TY.match("\n" + text[:8]):
        return [m.start() for m in _TY.finditer(text)]
    starts = [0] if text.startswith("TY  -") else []
    find = text.find
    pos = find("\nTY  -")
    while pos >= 0:
        starts.append(pos + 1)
        pos = find("\nTY  -", pos + 6)
    return starts


def parse_ris(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    """Stream records from RIS text.

    The text is decoded in large chunks and cut into record blocks at ``TY`` lines with plain string search;
    a block whose every line is tagged (the common case) is tokenized by one regex call. Blocks with
    continuation lines, junk or a lone ``ER`` take a per-tag path that keeps every line. Each record block
    read is mapped to the record model by :func:`ris_record`.
    """
    return _stream(src, _State(ctx, _finish))


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One RIS record as read, before it is mapped to the record model: every ``(tag, value)`` pair in file
    order (what :attr:`Record.raw <synth.records.model.Record.raw>` keeps) and the non-empty values by tag."""

    number: int
    line: int
    pairs: list[tuple[str, str]]
    tags: dict[str, list[str]]


def read_ris(src: Decoded, ctx: ParseContext) -> Iterator[RawRecord | Skipped]:
    """The RIS records as read, tags and values only, by the same reader as :func:`parse_ris` (same counts,
    lines, skips and warnings) but not mapped to the record model: what rispy gives, loss-free."""
    return _stream(src, _State(ctx, _raw))


def _stream(src: Decoded, state: _State[_Item]) -> Iterator[_Item]:
    line = 1  # line number at the start of ``pending``
    pending = ""
    for chunk in src.chunks(CHUNK_CHARS):
        text = pending + chunk if pending else chunk
        starts = _starts(text)
        if not starts:
            pending = text
            continue
        line = yield from _blocks(state, text, starts, line)
        pending = text[starts[-1]:]
    if pending:
        starts = _starts(pending)
        if starts:
            line = yield from _blocks(state, pending, [*starts, len(pending)], line)
        else:
            yield from _tagged_items(state, pending, 0, len(pending), line)
    yield from state.end()


@dataclass(frozen=True)
class Piece:
    """Whole records of a RIS file, to parse on their own (in another process): bytes ``start:end`` of the
    file start with a ``TY`` line and end where the next one starts; ``number`` records and ``line`` lines come
    before them. A piece names its bytes rather than holding them, so sending it to a worker costs nothing."""

    start: int
    end: int
    encoding: str
    number: int
    line: int
    final: bool

    def text(self, data: bytes) -> str:
        """The piece's text, from the file's bytes ``data``."""
        errors = "replace" if self.encoding == "cp1252" else "strict"
        text = data[self.start:self.end].decode(self.encoding, errors=errors)
        return text.replace("\r\n", "\n") if "\r" in text else text


_ODD_TY_BYTES = re.compile(_ODD_TY.pattern.encode("ascii"))


def ris_pieces(src: Decoded, size: int = CHUNK_CHARS) -> Iterator[Piece] | None:
    """The file cut at ``TY`` lines into pieces of about ``size`` bytes, or ``None`` when it cannot be cut
    safely at the byte level: anything but blank lines before the first ``TY`` (tags there start records of
    their own), UTF-16, line ends that are a lone CR, or ``TY`` lines with odd spacing."""
    data, offset = src.data, src.offset
    if src.encoding not in ("utf-8", "cp1252"):
        return None
    head = data[offset:offset + 65536].decode(src.encoding, errors="ignore").replace("\r", "\n")
    first = _TY.search(head)
    if first is None or head[:first.start()].strip():
        return None
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    if _ODD_TY_BYTES.search(data, offset) or _ODD_TY_BYTES.match(b"\n" + data[offset:offset + 8]):
        return None
    return _cut(src, size)


def _cut(src: Decoded, size: int) -> Iterator[Piece]:
    data, end = src.data, len(src.data)
    start = src.offset if data.startswith(b"TY  -", src.offset) else data.find(b"\nTY  -", src.offset) + 1
    number, line = 0, 1 + data.count(b"\n", src.offset, start)
    while True:
        cut = data.find(b"\nTY  -", min(start + size, end))
        if cut < 0:
            break
        yield Piece(start, cut + 1, src.encoding, number, line, final=False)
        number += 1 + data.count(b"\nTY  -", start, cut + 1)
        line += data.count(b"\n", start, cut + 1)
        start = cut + 1
    yield Piece(start, end, src.encoding, number, line, final=True)


def parse_ris_piece(piece: Piece, data: bytes, ctx: ParseContext) -> tuple[list[Record | Skipped], int, int]:
    """The items of one piece of the file ``data``, as :func:`parse_ris` gives them, and the counts of
    untagged lines outside records and of tagged lines after an ``ER`` (warned about once, for the file)."""
    state = _State(ctx, _finish)
    state.number = piece.number
    text = piece.text(data)
    items: list[Record | Skipped] = []
    items.extend(_blocks(state, text, [*_starts(text), len(text)], piece.line))
    junk, after_end = state.junk, state.after_end
    if piece.final:
        state.junk = state.after_end = 0
        items.extend(state.end())
    elif state.pairs is not None:  # the next piece starts with the next TY
        items.append(state.finish_before_next())
    return items, junk, after_end


def _blocks(state: _State[_Item], text: str, starts: list[int], line: int) -> Generator[_Item, None, int]:
    """Process what precedes ``starts[0]`` and the blocks between consecutive starts (the last start's block
    is left for the caller); returns the line number of the last start."""
    if starts[0] > 0:
        yield from _tagged_items(state, text, 0, starts[0], line)
        line += text.count("\n", 0, starts[0])
    count = text.count
    for index in range(len(starts) - 1):
        begin, end = starts[index], starts[index + 1]
        lines = count("\n", begin, end)  # a block ends with a line end (chunks end with one)
        found = _FAST.findall(text, begin, end)  # the tagged lines after the TY line
        # Every line tagged, or all but a blank last one: no continuation lines or junk (else look line by line)
        counted = text.startswith("\n", end - 1) and (
            len(found) + 1 == lines or (len(found) + 2 == lines and text.startswith("\n\n", end - 2)))
        if counted or not _CONT.search(text, begin, end):
            head = _HEAD.match(text, begin, end)
            items = [(head.group(1), head.group(2)) if head else ("TY", ""), *found]
            last_is_only_er = bool(found) and found[-1][0] == "ER" and count("\nER", begin, end) == 1
            previous = state.plain_block(items, line, last_is_only_er)
        else:  # captured values may carry continuation lines
            previous = state.block(_ITEM.findall(text, begin, end), line)
        if previous is not None:
            yield previous
        line += lines
    return line


def _tagged_items(state: _State[_Item], text: str, begin: int, end: int, line: int) -> Iterator[_Item]:
    """The per-tag path: untagged continuation lines, junk, and tags before any TY."""
    first = _ITEM.search(text, begin, end)
    if first is None:
        state.untagged(text[begin:end])
        return
    if first.start() > begin:
        state.untagged(text[begin:first.start()])
    counted_to, line_at = begin, line
    for m in _ITEM.finditer(text, first.start(), end):
        tag, captured = m.groups()
        if "\n" in captured:
            value, _, rest = captured.partition("\n")
            value = value.strip()
        else:
            value, rest = captured.strip(), ""
        if tag == "TY" or state.pairs is None:
            line_at += text.count("\n", counted_to, m.start())
            counted_to = m.start()
            if tag == "ER":
                state.junk += 1
                continue
            if (previous := state.start(tag, value, line_at)) is not None:
                yield previous
        elif tag == "ER":
            state.closed = True
            if rest:
                state.junk += sum(1 for x in rest.split("\n") if x.strip())
            continue
        else:
            if state.closed:
                state.after_end += 1
            state.pairs.append((tag, value))
            if value:
                state.map.setdefault(tag, []).append(value)
        if rest:
            state.untagged(rest)


def _by_tag(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The non-empty values of ``pairs`` by tag, in file order."""
    mapping: dict[str, list[str]] = {}
    for tag, value in pairs:
        if value:
            if tag in mapping:
                mapping[tag].append(value)
            else:
                mapping[tag] = [value]
    return mapping


_Item = TypeVar("_Item")
#: What a finished record block becomes: ``(pairs, tags, record number, line, ctx)`` to an item.
_Finisher = Callable[[list[tuple[str, str]], Tags, int, int, ParseContext], _Item]


class _State(Generic[_Item]):
    """The record being assembled while the RIS scanner streams tags; ``finisher`` makes each finished block an
    item (a Record or Skipped for :func:`parse_ris`)."""

    def __init__(self, ctx: ParseContext, finisher: _Finisher[_Item]) -> None:
        self.ctx = ctx
        self.finisher = finisher
        self.pairs: list[tuple[str, str]] | None = None
        self.map: dict[str, list[str]] = {}
        self.closed = False  # an ER was seen; tagged lines before the next TY (Ovid's NL) stay with the record
        self.dirty = False  # a continuation line changed a value after it was put in ``map``
        self.number = self.start_line = self.junk = self.after_end = 0

    def untagged(self, text: str) -> None:
        lines = [x.strip() for x in text.split("\n") if x.strip()]
        if not lines:
            return
        if self.pairs and not self.closed:
            tag, value = self.pairs[-1]
            extra = "\n".join(lines)
            self.pairs[-1] = (tag, f"{value}\n{extra}" if value else extra)
            self.dirty = True
        else:
            self.junk += len(lines)

    def start(self, tag: str, value: str, line: int) -> _Item | None:
        return self._open([(tag, value)], {tag: [value]} if value else {}, line)

    def _open(self, pairs: list[tuple[str, str]], mapping: dict[str, list[str]],
              line: int) -> _Item | None:
        """Start the next record with ``pairs`` (``mapping``: their non-empty values by tag); the record that was
        being assembled, if any, is finished and returned. (Not a generator: one record per block passes here.)"""
        tag = pairs[0][0]
        previous = self.finish_before_next() if self.pairs is not None else None
        self.number += 1
        self.start_line = line
        if tag != "TY":
            self.ctx.warn(f"record {self.number} (line {line}) starts with {tag} instead of TY; kept as a record")
        self.pairs = pairs
        self.map = mapping
        self.closed = False
        self.dirty = False
        return previous

    def plain_block(self, items: list[tuple[str, str]], line: int, last_is_only_er: bool) -> _Item | None:
        """A whole record block whose every line is tagged (the common case). ``last_is_only_er``: the block's
        one ER is its last tag (the common case)."""
        if last_is_only_er:
            items.pop()
            pairs = [(tag, value.strip()) for tag, value in items]
            closed, after_end = True, 0
        else:
            pairs, closed, after_end = [], False, 0
            for tag, value in items:
                value = value.strip()
                if tag == "ER" and pairs:
                    closed = True
                    continue
                if closed:
                    after_end += 1
                pairs.append((tag, value))
        previous = self._open(pairs, _by_tag(pairs), line)
        self.closed = closed
        self.after_end += after_end
        return previous

    def block(self, items: list[tuple[str, str]], line: int) -> _Item | None:
        """A whole record block, ``TY`` first: ``(tag, captured)`` where ``captured`` may end with untagged
        lines (continuations of the tag, or junk once the record's ``ER`` has been seen)."""
        pairs: list[tuple[str, str]] = []
        closed = False
        for tag, captured in items:
            if "\n" in captured:
                head, _, rest = captured.partition("\n")
                lines = [x for x in (y.strip() for y in rest.split("\n")) if x]
            else:
                head, lines = captured, []
            value = head.strip()
            if pairs and tag == "ER":
                closed = True
                self.junk += len(lines)
                continue
            if closed:
                self.after_end += 1
                self.junk += len(lines)
            elif lines:
                joined = "\n".join(lines)
                value = f"{value}\n{joined}" if value else joined
            pairs.append((tag, value))
        previous = self._open(pairs, _by_tag(pairs), line)
        self.closed = closed
        return previous

    def finish_before_next(self) -> _Item:
        """The record being assembled, which ends where the next ``TY`` starts (warned if it had no ``ER``)."""
        if not self.closed:
            self.ctx.warn(f"record {self.number} (line {self.start_line}) has no ER line; it ends where the next "
                          "TY starts")
        return self.finish()

    def finish(self) -> _Item:
        assert self.pairs is not None
        tags = Tags(self.pairs) if self.dirty else Tags.from_map(self.map)
        return self.finisher(self.pairs, tags, self.number, self.start_line, self.ctx)

    def end(self) -> Iterator[_Item]:
        if self.pairs is not None:
            if not self.closed:
                self.ctx.warn(f"record {self.number} (line {self.start_line}) is the last one and has no ER line; kept")
            yield self.finish()
        warn_outside_records(self.ctx, self.junk, self.after_end)


def warn_outside_records(ctx: ParseContext, junk: int, after_end: int) -> None:
    """The file's warnings about lines outside records, given once at its end."""
    if after_end:
        ctx.warn(f"{after_end} tagged line(s) after an ER kept with the record before them (e.g. Ovid NL)")
    if junk:
        ctx.warn(f"{junk} untagged line(s) outside records ignored (vendor headers or numbering)")


_EMPTY = "no content: only TY/ID/ER tags or empty values"


def _raw(pairs: list[tuple[str, str]], tags: Tags, number: int, line: int, ctx: ParseContext) -> RawRecord | Skipped:
    if not tags.has_content(_NON_CONTENT):
        return Skipped(number, line, _EMPTY)
    return RawRecord(number, line, pairs, tags.map)


def _finish(pairs: list[tuple[str, str]], tags: Tags, number: int, line: int, ctx: ParseContext) -> Record | Skipped:
    if not tags.has_content(_NON_CONTENT):
        return Skipped(number, line, _EMPTY)
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


_NO: list[str] = []


def _first(values: list[str] | None) -> str:
    if values:
        for value in values:
            if value:
                return value
    return ""


def _join_lines(values: list[str] | None) -> str:
    """Values joined and whitespace-collapsed."""
    if not values:
        return ""
    return clean(values[0] if len(values) == 1 else "\n".join(values))


def ris_record(tags: Tags, pairs: list[tuple[str, str]]) -> Record:
    """Map RIS tags to a record (raw pairs kept whole)."""
    t = tags.map
    get = t.get
    au, a1 = get("AU", _NO), get("A1", _NO)
    names = au + [n for n in a1 if n not in au] if a1 else au  # repeats within one tag are real (two "Wang, Y")
    authors = [a for a in map(parse_author, names) if a]
    doi = find_doi(get("DO", _NO)) or find_doi(
        tags.all("DI", "M3", "UR", "L1", "L2", "L3", "L4", "N1"))
    pmid = normalise_pmid(_first(get("PM")) or _first(get("PMID"))) or find_pmid(
        tags.all("AN", "U1", "U2", "C2", "M2", "N1", "UR", "L2"))
    an = _first(get("AN"))
    if not pmid and an.isdigit():
        dp = (_first(get("DP")) or _first(get("DB"))).lower()
        if "nlm" in dp or "pubmed" in dp or "medline" in dp:
            pmid = normalise_pmid(an)
    pmcid = find_pmcid(tags.all("PMC", "PMCID", "C2", "U1", "U2", "N1"))
    kw = get("KW", _NO)
    keywords = unique(k for value in kw for k in value.split("\n")) if kw else []
    openalex = None
    for key in ("M2", "UR", "L2"):
        for value in get(key, _NO):
            if "openalex.org/W" in value and (m := _OPENALEX.search(value)):
                openalex = m.group(1)
    title = _first(get("TI")) or _first(get("T1")) or tags.first("CT", "BT", "ST")
    journal = tags.first("JF", "T2", "JO", "JA", "J1", "J2", "SO") or (_first(get("BT")) if title else "")
    m3 = _first(get("M3"))
    year = parse_year(_first(get("PY"))) or parse_year(_first(get("Y1"))) or parse_year(_first(get("DA")))
    url = tags.first("UR", "L2", "L1")
    return Record(
        title=clean(title),
        abstract=_join_lines(get("AB") or get("N2")),
        authors=authors,
        year=year,
        journal=clean(journal),
        volume=_join_lines(get("VL")),
        issue=clean(tags.first("IS", "CP")),
        pages=clean(_pages(tags)),
        doi=doi,
        pmid=pmid,
        pmcid=pmcid,
        openalex_id=openalex,
        issns=split_issns(get("SN", _NO)),
        keywords=keywords,
        language=_join_lines(get("LA")),
        publication_type=_first(get("TY")) or (m3 if not m3.startswith("10.") else ""),
        url=url.split("\n", 1)[0].strip(),
        raw=pairs,
    )
