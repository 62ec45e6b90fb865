"""Writing records out as CSV, RIS, BibTeX or JSON, in forms that synth (and other tools) read back.

Each exported row carries synth's stable record ``id``, the record model's fields, ``source``,
``source_record_id``, ``cluster`` and ``duplicate_of`` (filled by deduplication).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

from synth.records.model import Author, Provenance, Record
from synth.safetext import spreadsheet_safe

__all__ = ["CSV_COLUMNS", "EXPORT_FORMATS", "export_records", "record_row"]

EXPORT_FORMATS = ("csv", "ris", "bibtex", "json")

CSV_COLUMNS = [
    "id", "title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid", "pmcid",
    "openalex_id", "issns", "keywords", "language", "publication_type", "url", "source", "source_record_id",
    "cluster", "duplicate_of",
]

#: One exported item: synth id, record, cluster id, duplicate_of.
Item = tuple[int, Record, int | None, int | None]


def _author_text(author: Author) -> str:
    return author.corporate or (f"{author.family}, {author.given}" if author.given else author.family)


def record_row(rid: int, rec: Record, cluster: int | None = None, duplicate_of: int | None = None) -> dict[str, Any]:
    """The flat export row of one record (lists joined with ``; ``)."""
    return {
        "id": rid, "title": rec.title, "abstract": rec.abstract,
        "authors": "; ".join(_author_text(a) for a in rec.authors),
        "year": rec.year if rec.year is not None else "", "journal": rec.journal, "volume": rec.volume,
        "issue": rec.issue, "pages": rec.pages, "doi": rec.doi or "", "pmid": rec.pmid or "",
        "pmcid": rec.pmcid or "", "openalex_id": rec.openalex_id or "", "issns": "; ".join(rec.issns),
        "keywords": "; ".join(rec.keywords), "language": rec.language, "publication_type": rec.publication_type,
        "url": rec.url, "source": rec.provenance.source, "source_record_id": rec.provenance.source_record_id,
        "cluster": cluster if cluster is not None else "", "duplicate_of": duplicate_of if duplicate_of is not None else "",
    }


def _csv(items: Iterable[Item]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rid, rec, cluster, dup in items:
        writer.writerow({k: spreadsheet_safe(v) if isinstance(v, str) else v
                         for k, v in record_row(rid, rec, cluster, dup).items()})
    return buffer.getvalue()


_RIS_TYPES = {"JOUR", "BOOK", "CHAP", "CONF", "CPAPER", "THES", "RPRT", "GEN", "ELEC", "ABST", "NEWS", "MGZN",
              "SER", "UNPB", "DATA", "EJOUR", "EBOOK", "ECHAP", "GOVDOC", "STAT", "CASE", "BLOG", "COMP"}
_BIB_TYPES = {"article", "book", "inproceedings", "incollection", "phdthesis", "mastersthesis", "techreport",
              "misc", "inbook", "proceedings", "unpublished", "online", "report", "thesis"}


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _ris(items: Iterable[Item]) -> str:
    out: list[str] = []
    for rid, rec, cluster, dup in items:
        kind = rec.publication_type.upper() if rec.publication_type.upper() in _RIS_TYPES else "JOUR"
        lines = [("TY", kind), ("ID", str(rid)), ("TI", rec.title)]
        lines += [("AU", _author_text(a)) for a in rec.authors]
        lines += [("PY", str(rec.year) if rec.year is not None else ""), ("AB", rec.abstract), ("T2", rec.journal),
                  ("VL", rec.volume), ("IS", rec.issue), ("SP", rec.pages), ("DO", rec.doi or ""),
                  ("AN", f"PMID: {rec.pmid}" if rec.pmid else ""), ("C2", rec.pmcid or ""),
                  ("LA", rec.language), ("UR", rec.url), ("DB", rec.provenance.source)]
        lines += [("SN", i) for i in rec.issns] + [("KW", k) for k in rec.keywords]
        if rec.openalex_id:
            lines.append(("M2", f"https://openalex.org/{rec.openalex_id}"))
        if rec.provenance.source_record_id:
            lines.append(("U1", rec.provenance.source_record_id))
        if cluster is not None:
            lines.append(("U2", f"synth cluster {cluster}"))
        if dup is not None:
            lines.append(("U3", f"synth duplicate_of {dup}"))
        out.extend(f"{tag}  - {_one_line(value)}" for tag, value in lines if value)
        out.append("ER  - ")
        out.append("")
    return "\n".join(out)


_BIB_ESCAPES = str.maketrans({"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%",
                              "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}",
                              "^": r"\textasciicircum{}"})


def _bib_value(text: str) -> str:
    return _one_line(text).translate(_BIB_ESCAPES)


def _bib_author(author: Author) -> str:
    if author.corporate:
        return "{" + _bib_value(author.corporate) + "}"
    return _bib_value(f"{author.family}, {author.given}" if author.given else author.family)


def _bibtex(items: Iterable[Item]) -> str:
    out: list[str] = []
    for rid, rec, cluster, dup in items:
        kind = rec.publication_type.lower() if rec.publication_type.lower() in _BIB_TYPES else "article"
        fields = [("title", _bib_value(rec.title)), ("author", " and ".join(_bib_author(a) for a in rec.authors)),
                  ("year", str(rec.year) if rec.year is not None else ""), ("journal", _bib_value(rec.journal)),
                  ("volume", _bib_value(rec.volume)), ("number", _bib_value(rec.issue)),
                  ("pages", _bib_value(rec.pages)), ("doi", rec.doi or ""),
                  ("openalex", rec.openalex_id or ""),
                  ("pmid", rec.pmid or ""), ("pmcid", rec.pmcid or ""), ("abstract", _bib_value(rec.abstract)),
                  ("issn", ", ".join(rec.issns)), ("keywords", _bib_value("; ".join(rec.keywords))),
                  ("language", _bib_value(rec.language)), ("url", rec.url.replace("{", "%7B").replace("}", "%7D")),
                  ("source", _bib_value(rec.provenance.source)),
                  ("source_record_id", _bib_value(rec.provenance.source_record_id)),
                  ("cluster", "" if cluster is None else str(cluster)),
                  ("duplicate_of", "" if dup is None else str(dup))]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
        out.append(f"@{kind}{{synth{rid},\n{body}\n}}\n")
    return "\n".join(out)


def _json(items: Iterable[Item]) -> str:
    rows = []
    for rid, rec, cluster, dup in items:
        data = rec.to_dict()
        data = {"id": rid, **data, "cluster": cluster, "duplicate_of": dup}
        rows.append(data)
    return json.dumps(rows, ensure_ascii=False, indent=1, default=str) + "\n"


def export_records(items: Iterable[Item], fmt: str) -> str:
    """The items rendered in ``fmt`` (csv, ris, bibtex or json)."""
    writers = {"csv": _csv, "ris": _ris, "bibtex": _bibtex, "json": _json}
    return writers[fmt](items)


def record_from_dict(data: dict[str, Any]) -> Record:
    """Inverse of the JSON export (``Record.to_dict`` plus ``id``/``cluster``/``duplicate_of``, which are ignored)."""
    fields = {k: v for k, v in data.items() if k in Record.__dataclass_fields__}
    fields["authors"] = [Author(**a) for a in data.get("authors") or []]
    prov = data.get("provenance") or {}
    fields["provenance"] = Provenance(**{k: v for k, v in prov.items() if k in Provenance.__dataclass_fields__})
    raw = data.get("raw", [])
    fields["raw"] = [tuple(p) for p in raw] if isinstance(raw, list) else raw
    return Record(**fields)
