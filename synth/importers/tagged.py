"""Helpers for tagged formats (RIS, MEDLINE, WoS, EndNote tagged, Ovid): a multimap over the raw
``(tag, value)`` pairs and DOI / PMID / PMCID scavenging from free-text fields."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from synth.importers.common import normalise_doi

__all__ = ["Tags", "find_doi", "find_pmcid", "find_pmid"]

_DOI_IN_TEXT = re.compile(r"(?i)(?:doi\.org/|doi:\s*|\b)(10\.\d{4,9}/[^\s\"<>]+)")
_PMCID_IN_TEXT = re.compile(r"\bPMC\d{3,9}\b")
_PMID_IN_TEXT = re.compile(r"(?i)(?:\bPMID:?\s*(\d{1,9})\b|\b(\d{1,9})\s*\[PMID\]|pubmed(?:\.ncbi\.nlm\.nih\.gov)?/(\d{1,9}))")


class Tags:
    """Values by tag, in file order, from raw pairs (repeated tags keep every value)."""

    __slots__ = ("_map",)

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._map: dict[str, list[str]] = {}
        for tag, value in pairs:
            if value:
                self._map.setdefault(tag, []).append(value)

    @classmethod
    def from_map(cls, mapping: dict[str, list[str]]) -> Tags:
        """Wrap an already built tag -> values map (values non-empty, in file order)."""
        tags = cls(())
        tags._map = mapping
        return tags

    @property
    def map(self) -> dict[str, list[str]]:
        """Tag -> non-empty values in file order (read-only by convention)."""
        return self._map

    def all(self, *tags: str) -> list[str]:
        """Every value of the tags, tag by tag in the order given."""
        out: list[str] = []
        for tag in tags:
            out.extend(self._map.get(tag, ()))
        return out

    def first(self, *tags: str) -> str:
        """The first non-blank value of the first tag that has one."""
        for tag in tags:
            for value in self._map.get(tag, ()):
                if value.strip():
                    return value.strip()
        return ""

    def has_content(self, ignore: Iterable[str] = ()) -> bool:
        """True when a tag not in ``ignore`` has a value that is not blank."""
        skip = ignore if isinstance(ignore, frozenset | set) else frozenset(ignore)
        for tag, values in self._map.items():
            if tag not in skip:
                for value in values:
                    if value.strip():
                        return True
        return False


def find_doi(values: Iterable[str]) -> str | None:
    """The first DOI in the values (bare, ``doi:``, or inside a doi.org / publisher URL, %-encoded or not)."""
    for value in values:
        if not value or "10." not in value:
            continue
        direct = normalise_doi(unquote(value.strip()) if "%" in value else value.strip())
        if direct and " " not in direct:
            return direct
        match = _DOI_IN_TEXT.search(unquote(value))
        if match:
            doi = normalise_doi(match.group(1).split("&")[0])
            if doi:
                return doi
    return None


def find_pmid(values: Iterable[str]) -> str | None:
    """A PMID written as ``PMID: 123``, ``123 [PMID]`` or a PubMed URL in the values."""
    for value in values:
        if not value or not ("PMID" in value or "pubmed" in value or "PubMed" in value or "pmid" in value):
            continue
        match = _PMID_IN_TEXT.search(value)
        if match:
            return next(g for g in match.groups() if g)
    return None


def find_pmcid(values: Iterable[str]) -> str | None:
    for value in values:
        if not value or "PMC" not in value:
            continue
        match = _PMCID_IN_TEXT.search(value)
        if match:
            return match.group(0)
    return None
