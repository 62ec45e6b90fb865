"""One normalised bibliographic record, whatever file format or API it came from.

Every record keeps its complete raw form (``raw``: each tag or field as it came, repeated values kept, in
order) so that nothing an export or API gave us is ever lost, plus provenance (where and when it came from).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson


def raw_json(raw: Any) -> bytes:
    """The raw record as compact UTF-8 JSON, the one serialisation that is stored and hashed (dict keys sorted).

    orjson, because serialising every raw record is a large share of an import. Values orjson refuses (a lone
    surrogate from a JSON API, an integer beyond 64 bits) fall back to the standard library, compact and
    ASCII-escaped so that the text is always valid UTF-8.
    """
    try:
        return orjson.dumps(raw, default=str, option=orjson.OPT_SORT_KEYS if isinstance(raw, dict) else 0)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(raw, sort_keys=isinstance(raw, dict), default=str, separators=(",", ":"))
        return text.encode("ascii")


def raw_hash(payload: bytes) -> str:
    """The content hash of a raw record serialised by :func:`raw_json` (idempotent re-imports rest on it)."""
    return hashlib.sha256(payload).hexdigest()


_DOI_PREFIX = re.compile(r"^(?:https?://)?(?:dx\.)?(?:doi\.org/)|^doi:\s*", re.IGNORECASE)


def normalise_doi(value: str | None) -> str | None:
    """Lower-case DOI without URL or ``doi:`` prefix; ``None`` when there is no DOI-looking text."""
    if not value:
        return None
    doi = value.strip()
    for _ in range(2):
        doi = _DOI_PREFIX.sub("", doi).strip()
    doi = doi.rstrip(".;, ").lower()
    return doi if doi.startswith("10.") else None


@dataclass(frozen=True)
class Author:
    """A person (family, given) or a corporate author kept whole (``corporate``)."""

    family: str = ""
    given: str = ""
    corporate: str = ""

    def display(self) -> str:
        if self.corporate:
            return self.corporate
        return f"{self.family}, {self.given}" if self.given else self.family


@dataclass
class Provenance:
    """Where a record came from: the database or API, the file and record number, its id there, when."""

    source: str = ""
    file: str = ""
    record_number: int | None = None
    line: int | None = None
    source_record_id: str = ""
    imported_at: str = ""
    search_run_id: int | None = None


@dataclass
class Record:
    """A bibliographic record in synth's normalised shape."""

    title: str = ""
    abstract: str = ""
    authors: list[Author] = field(default_factory=list)
    year: int | None = None
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    openalex_id: str | None = None
    issns: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    language: str = ""
    publication_type: str = ""
    url: str = ""
    provenance: Provenance = field(default_factory=Provenance)
    raw: list[tuple[str, str]] | dict[str, Any] = field(default_factory=list)

    def has_content(self) -> bool:
        """True when the record carries anything bibliographic at all (used to decide if it is empty)."""
        return bool(self.title or self.abstract or self.authors or self.doi or self.pmid or self.raw)

    def content_hash(self) -> str:
        """A stable hash of the raw record, used to make re-imports idempotent."""
        return raw_hash(raw_json(self.raw))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
