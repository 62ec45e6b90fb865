"""Small pure helpers shared by every format mapper: names, years, identifiers, whitespace."""

from __future__ import annotations

import re
from collections.abc import Iterable

from synth.records.model import Author, normalise_doi

__all__ = [
    "clean",
    "first",
    "normalise_doi",
    "normalise_pmcid",
    "normalise_pmid",
    "parse_author",
    "parse_year",
    "split_issns",
    "unique",
]

_WS = re.compile(r"\s+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|21\d\d)(?!\d)")
_ISSN = re.compile(r"\b(\d{4}-?\d{3}[\dXx])\b")
_INITIALS = re.compile(r"^(?:[A-Z]\.?){1,4}$")
_PMID = re.compile(r"(\d{1,9})")
_PMCID = re.compile(r"(?i)(?:PMC)?(\d{3,9})")
_CORPORATE_WORDS = re.compile(
    r"(?i)\b(?:group|council|committee|organi[sz]ation|institute|institut|association|society|"
    r"university|department|ministry|agency|centre|center|collaborat\w*|consortium|board|nhs|trust|"
    r"foundation|office|network|federation|commission|authority|service|services|team|investigators|"
    r"working|panel|alliance|college|unit|program|programme|bureau|excellence)\b"
)


def clean(value: str | None) -> str:
    """Collapse runs of whitespace (line breaks, tabs, no-break and thin spaces, ...) to one space and strip the
    ends: ``" ".join(value.split())``, without splitting when there is nothing to collapse (the common case)."""
    if not value:
        return ""
    if value.isascii():  # fastest: a few byte searches
        if ("  " in value or "\n" in value or "\t" in value or "\r" in value or "\x0b" in value or "\x0c" in value
                or "\x1c" in value or "\x1d" in value or "\x1e" in value or "\x1f" in value):
            return " ".join(value.split())
        return value.strip()
    # Every whitespace character but the plain space is unprintable (a test checks each code point), so a
    # printable value without two spaces in a row only needs its ends stripped.
    if value.isprintable() and "  " not in value:
        return value.strip()
    return " ".join(value.split())


def first(values: Iterable[str]) -> str:
    """The first non-empty value after :func:`clean`, or ``""``."""
    for value in values:
        text = clean(value)
        if text:
            return text
    return ""


def unique(values: Iterable[str]) -> list[str]:
    """Cleaned, non-empty values in first-seen order without repeats."""
    seen: dict[str, None] = {}
    for value in values:
        text = clean(value)
        if text and text not in seen:
            seen[text] = None
    return list(seen)


def parse_year(value: str | None) -> int | None:
    """The first plausible four-digit year (1500-2199) in ``value`` (``2019//``, ``2019 Mar 3``, ``c2001``)."""
    if not value:
        return None
    head = value[:4]
    if head.isdigit() and (len(value) == 4 or not value[4].isdigit()) and "1500" <= head <= "2199":
        return int(head)  # fast path: "2019", "2019//", "2019 Mar 3"
    match = _YEAR.search(value)
    return int(match.group(1)) if match else None


def split_issns(values: Iterable[str]) -> list[str]:
    """ISSNs found in the values (comma lists and ``(Print)`` suffixes allowed), as ``NNNN-NNNC``, deduplicated.

    ISBNs and other text are ignored here (they stay in the raw record)."""
    found: dict[str, None] = {}
    for value in values:
        if len(value) == 9 and value[4] == "-" and value[:4].isdigit() and value[5:8].isdigit():
            found[value.upper()] = None  # fast path: already "NNNN-NNNC"
            continue
        for match in _ISSN.finditer(value or ""):
            digits = match.group(1).replace("-", "").upper()
            found[f"{digits[:4]}-{digits[4:]}"] = None
    return list(found)


def normalise_pmid(value: str | None) -> str | None:
    """Digits of a PubMed id from ``12345``, ``PMID: 12345`` or ``https://pubmed.ncbi.nlm.nih.gov/12345``."""
    if not value:
        return None
    text = value.strip()
    if not text:
        return None
    match = _PMID.search(text.rsplit("/", 1)[-1] or text)
    if not match:
        return None
    return match.group(1).lstrip("0") or None


def normalise_pmcid(value: str | None) -> str | None:
    """``PMC`` plus digits, from ``PMC123``, ``123`` or a PMC article URL."""
    if not value:
        return None
    text = value.strip().rstrip("/")
    tail = text.rsplit("/", 1)[-1]
    match = _PMCID.search(tail)
    return f"PMC{match.group(1)}" if match else None


def parse_author(name: str, *, corporate: bool = False) -> Author | None:
    """One author from an export's name string.

    ``Family, Given`` (RIS, MEDLINE FAU, BibTeX after splitting) is the common case. Without a comma:
    ``Smith JA`` (MEDLINE AU / WoS) gives family ``Smith`` and initials; names that read as organisations
    (``World Health Organization``, ``NICE Guideline Committee``) are kept whole as corporate authors;
    otherwise ``Given Family`` order is assumed.
    """
    text = name.strip(" ;,")
    if "  " in text or "\n" in text or "\t" in text:
        text = " ".join(text.split())
    if not text:
        return None
    if corporate:
        return Author(corporate=text)
    if "," in text:
        family, _, given = text.partition(",")
        family, given = family.strip(), given.strip().strip(",").strip()
        if given and family.count(" ") > 1 and _CORPORATE_WORDS.search(family):
            return Author(corporate=text)
        return Author(family, given) if family else Author(corporate=text)  # positional: half the cost
    tokens = text.split()
    if len(tokens) == 1:
        return Author(family=text)
    if _CORPORATE_WORDS.search(text) or len(tokens) > 4:
        return Author(corporate=text)
    if _INITIALS.match(tokens[-1]) and len(tokens) >= 2:
        return Author(family=" ".join(tokens[:-1]), given=tokens[-1])
    return Author(family=tokens[-1], given=" ".join(tokens[:-1]))
