"""Reading the deduplication gold sets (BibDedupe layout): ``records_pre_merged.csv`` rows as records, and
``merged_record_ids.csv`` clusters.

``records_pre_merged.csv`` has BibTeX-like columns (ID, ENTRYTYPE, title, author "Family, G and Family, G",
year, journal or booktitle, volume, number, pages, doi, abstract...). ``merged_record_ids.csv`` has one row per
duplicate cluster, column ``merged_ids`` = ``"id_a;id_b;..."``; singletons are omitted.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from synth.errors import InputError
from synth.records.model import Author, Provenance, Record, normalise_doi

_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")


def parse_authors(text: str) -> list[Author]:
    """Authors from a BibTeX-style ``"Family, Given and Family, Given"`` string."""
    out: list[Author] = []
    for part in _AND.split(text or ""):
        part = part.strip().strip("{}")
        if not part:
            continue
        if "," in part:
            family, given = part.split(",", 1)
            out.append(Author(family=family.strip(), given=given.strip()))
        elif " " in part:
            bits = part.split()
            out.append(Author(family=bits[-1], given=" ".join(bits[:-1])))
        else:
            out.append(Author(family=part))
    return out


def row_to_record(row: Mapping[str, str], *, source: str = "", file: str = "", number: int | None = None) -> Record:
    """One gold-set CSV row as a :class:`Record` (``ID`` becomes the source record id)."""
    def get(name: str) -> str:
        value = row.get(name)
        return value.strip() if isinstance(value, str) else ""

    year_match = _YEAR.search(get("year"))
    return Record(
        title=get("title"),
        abstract=get("abstract"),
        authors=parse_authors(get("author")),
        year=int(year_match.group(1)) if year_match else None,
        journal=get("journal") or get("booktitle") or get("container_title"),
        volume=get("volume"),
        issue=get("number") or get("issue"),
        pages=get("pages"),
        doi=normalise_doi(get("doi")) or (get("doi") or None),
        pmid=get("pmid") or None,
        publication_type=get("ENTRYTYPE"),
        provenance=Provenance(source=get("source") or source, file=file, record_number=number,
                              source_record_id=get("ID")),
        raw={k: v for k, v in row.items() if k is not None and v not in (None, "")},
    )


def read_records_csv(path: Path, *, source: str = "") -> Iterator[Record]:
    """Records from a gold set's ``records_pre_merged.csv``."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "ID" not in reader.fieldnames:
                raise InputError(f"{path}: no 'ID' column in the header. Expected the records_pre_merged.csv "
                                 "layout (ID,title,year,author,...).")
            for number, row in enumerate(reader, start=1):
                yield row_to_record(row, source=source or path.parent.name, file=str(path), number=number)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}. Check the path.") from exc


def read_gold_clusters(path: Path) -> list[list[str]]:
    """Gold duplicate clusters from a ``merged_record_ids.csv`` (column ``merged_ids``, ids joined by ``;``)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "merged_ids" not in reader.fieldnames:
                raise InputError(f"{path}: no 'merged_ids' column in the header. A gold clustering has one row per "
                                 "cluster with merged_ids = 'id_a;id_b;...'.")
            clusters: list[list[str]] = []
            for line, row in enumerate(reader, start=2):
                ids = [x.strip() for x in (row.get("merged_ids") or "").split(";") if x.strip()]
                if not ids:
                    raise InputError(f"{path}, line {line}: empty merged_ids. Remove the line or list the ids.")
                clusters.append(ids)
            return clusters
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}. Check the path.") from exc
