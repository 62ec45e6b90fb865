"""CSV / TSV exports: Scopus, Lens, Embase, PubMed, OpenAlex web UI, Zotero, EndNote tab-delimited, WoS
tab-delimited (tag headers ``PT AU TI ...``) and any other table through a column mapping.

The delimiter (comma, semicolon, tab) is sniffed from the header line. Headers are matched to record fields
after normalisation (case, spaces and punctuation ignored) using a synonym table; ``--column-map
field=Header`` overrides it. Every data row is a record start; a row with no values at all is skipped. The id
column (``ID``, ``id``, ``record_id``, ``key``, ...) becomes the source record id. The raw record keeps every
non-empty cell under its original header.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator

from synth.errors import InputError
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
from synth.importers.tagged import find_doi
from synth.records.model import Author, Provenance, Record
from synth.safetext import from_spreadsheet

__all__ = ["FIELDS", "parse_csv", "resolve_columns"]

#: Record fields a column can map to, with the normalised header names recognised for each (first wins).
FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title", "articletitle", "documenttitle", "displayname", "primarytitle", "ti"),
    "abstract": ("abstract", "abstractnote", "ab", "originalabstract"),
    "authors": ("authors", "author", "authornames", "authorsfullnames", "firstauthors", "authorshipsauthordisplayname",
                "authorfullnames", "af", "au"),
    "year": ("year", "publicationyear", "pubyear", "py", "yearpublished", "datepublished", "date", "publicationdate",
             "createdate"),
    "journal": ("journal", "sourcetitle", "publicationtitle", "journalbook", "publicationname", "secondarytitle",
                "primarylocationsourcedisplayname", "hostvenuedisplayname", "journaltitle", "source", "so"),
    "volume": ("volume", "vl"),
    "issue": ("issue", "issuenumber", "number", "is"),
    "pages": ("pages", "page", "pagerange", "ps"),
    "page_start": ("startpage", "pagestart", "firstpage", "biblio.firstpage", "bp"),
    "page_end": ("endpage", "pageend", "lastpage", "ep"),
    "doi": ("doi", "di"),
    "pmid": ("pmid", "pubmedid", "idspmid", "pm"),
    "pmcid": ("pmcid", "idspmcid"),
    "openalex_id": ("openalexid", "idsopenalex"),
    "issn": ("issn", "issns", "isbnissn", "eissn", "sn", "ei"),
    "keywords": ("keywords", "authorkeywords", "indexkeywords", "meshterms", "keywordsdisplayname", "manualtags",
                 "automatictags", "emtreemedicalindexterms", "de", "id_wos", "mh"),
    "language": ("language", "languageoforiginaldocument", "la"),
    "publication_type": ("documenttype", "publicationtype", "typeofreference", "itemtype", "referencetype", "type",
                         "dt", "pt"),
    "url": ("url", "link", "externalurl", "sourceurls", "openurllink", "landingpageurl"),
    "source_record_id": ("id", "recordid", "key", "lensid", "eid", "accessionnumber", "customid", "ut", "an"),
}
_EMBASE_SOURCE = re.compile(r"^(.+?) \((\d{4})\) (\w+)(?::(\w+))?(?: \(([^)]*)\))?")
_WOS_ONLY = {"ti", "ab", "af", "au", "py", "so", "vl", "is", "ps", "bp", "ep", "di", "pm", "sn", "ei", "de", "mh",
             "la", "dt", "pt", "ut", "an"}


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", header.lower().lstrip("\ufeff")).replace(".", "")


def resolve_columns(headers: list[str], column_map: dict[str, str]) -> dict[str, int]:
    """Field -> column index. Explicit ``column_map`` entries (field -> header) win; unknown ones are errors."""
    normalised = [_norm(h) for h in headers]
    wos = bool(normalised) and normalised[0] == "pt"
    resolved: dict[str, int] = {}
    for fld, header in column_map.items():
        if fld not in FIELDS:
            raise InputError(f"--column-map: unknown field '{fld}'. Use one of: {', '.join(FIELDS)}.")
        matches = [i for i, h in enumerate(headers) if h.strip() == header.strip() or _norm(h) == _norm(header)]
        if not matches:
            raise InputError(f"--column-map {fld}={header}: no column '{header}'. Columns: {', '.join(headers)}.")
        resolved[fld] = matches[0]
    for fld, names in FIELDS.items():
        if fld in resolved:
            continue
        for name in names:
            if name == "id_wos":
                name = "id"
                if not wos:
                    continue
            elif name in _WOS_ONLY and not wos:
                continue
            elif wos and name == "id" and fld == "source_record_id":
                continue  # in WoS tables ID is "Keywords Plus"
            if name in normalised:
                resolved[fld] = normalised.index(name)
                break
    return resolved


def _sniff(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in ("\t", ";", ",", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _split_authors(value: str) -> list[Author]:
    value = value.strip()
    if not value:
        return []
    if "|" in value:
        parts = value.split("|")
    elif ";" in value:
        parts = value.split(";")
    elif "," in value and all(len(p.split()) >= 2 for p in value.split(",")):
        parts = value.split(",")  # PubMed / older Scopus: "Smith J, Doe AB"
    else:
        parts = [value]
    return [a for a in (parse_author(p) for p in parts) if a]


def parse_csv(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    """Stream records from a delimited table."""
    text = src.text()
    first_line = text.lstrip("\ufeff\n").split("\n", 1)[0]
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=_sniff(first_line))
    try:
        headers = next(reader)
    except StopIteration:
        return
    columns = resolve_columns(headers, ctx.column_map)
    if not ({"title", "abstract", "authors", "doi", "pmid"} & set(columns)):
        raise InputError(
            f"{ctx.file}: no bibliographic column recognised (columns: {', '.join(h.strip() for h in headers)}). "
            "Pass --column-map title=<column> (and abstract=, authors=, year=, doi=, ...)."
        )
    number = 0
    line = reader.line_num + 1
    for row in reader:
        start_line, line = line, reader.line_num + 1
        if not row:
            continue
        number += 1
        id_col = columns.get("source_record_id")
        if not any(cell.strip() for i, cell in enumerate(row) if i != id_col):
            yield Skipped(number, start_line, "no content: every cell is empty" if id_col is None or not
                          _cell(row, columns, "source_record_id") else "no content: only the id cell is filled")
            continue
        damaged = [headers[i] if i < len(headers) else f"column_{i + 1}" for i, cell in enumerate(row) if "\x00" in cell]
        if damaged:
            ctx.warn(f"row {number} (line {start_line}): NUL bytes removed from {', '.join(damaged)} (the cells are "
                     "kept as found in raw); check the export")
        if len(row) > len(headers):
            ctx.warn(f"row {number} (line {start_line}) has {len(row)} cells for {len(headers)} columns; "
                     "extra cells kept in raw")
        pairs = [(headers[i] if i < len(headers) else f"column_{i + 1}", cell)
                 for i, cell in enumerate(row) if cell.strip()]
        record = _row_record(row, columns)
        record.raw = pairs
        record.provenance = Provenance(source=ctx.source, file=ctx.file, record_number=number, line=start_line,
                                       source_record_id=_cell(row, columns, "source_record_id"))
        yield record


def _cell(row: list[str], columns: dict[str, int], fld: str) -> str:
    """A field's text: NUL bytes dropped (no bibliographic text has one) and the spreadsheet guard of
    :func:`synth.safetext.spreadsheet_safe` removed; ``raw`` keeps the cell as it was."""
    index = columns.get(fld)
    if index is None or index >= len(row):
        return ""
    return from_spreadsheet(row[index].replace("\x00", "").strip())


def _row_record(row: list[str], columns: dict[str, int]) -> Record:
    def get(fld: str) -> str:
        return _cell(row, columns, fld)

    pages = get("pages")
    if not pages and get("page_start"):
        start, end = get("page_start"), get("page_end")
        pages = f"{start}-{end}" if end and end != start else start
    keywords = [k for k in re.split(r"\s*[;|]\s*", get("keywords")) if k]
    journal, year, volume, issue = get("journal"), parse_year(get("year")), get("volume"), get("issue")
    cited = _EMBASE_SOURCE.match(journal)
    if cited and not (volume or year):  # Embase "Journal (2014) 3:3 (152-160). Date of Publication: ..."
        journal, year, volume, issue = cited.group(1), int(cited.group(2)), cited.group(3), cited.group(4) or ""
        pages = pages or cited.group(5) or ""
    sid = get("source_record_id")
    openalex = get("openalex_id").rsplit("/", 1)[-1] or (sid.rsplit("/", 1)[-1] if "openalex.org/W" in sid else None)
    return Record(
        title=clean(get("title")),
        abstract=clean(get("abstract")),
        authors=_split_authors(get("authors")),
        year=year,
        journal=clean(journal),
        volume=volume,
        issue=issue,
        pages=pages,
        doi=find_doi([get("doi")]) or find_doi([get("url")]),
        pmid=normalise_pmid(get("pmid")),
        pmcid=normalise_pmcid(get("pmcid")),
        openalex_id=openalex,
        issns=split_issns(re.split(r"[;|,]", get("issn"))),
        keywords=unique(keywords),
        language=get("language"),
        publication_type=get("publication_type"),
        url=get("url").split("\n", 1)[0].strip(),
    )
