"""Format detection from content, never from the file extension (``.txt`` may be RIS, MEDLINE or WoS)."""

from __future__ import annotations

import re

__all__ = ["FORMATS", "detect_format"]

#: Every format name ``--format`` accepts (besides ``auto``).
FORMATS = (
    "ris", "nbib", "wos", "bibtex", "endnote-xml", "endnote-tagged", "csv", "pubmed-xml", "openalex-json",
    "ovid", "proquest", "synth-json",
)

_RIS = re.compile(r"^TY {1,2}- ?\S", re.MULTILINE)
_MEDLINE = re.compile(r"^(?:PMID|OWN |STAT|TI  |FAU |AU  |AB  |DP  |SO  )- ", re.MULTILINE)
_WOS = re.compile(r"^(?:FN |VR |PT [A-Z]\b)", re.MULTILINE)
_BIBTEX = re.compile(r"^\s*@[A-Za-z]+\s*[{(]", re.MULTILINE)
_REFER = re.compile(r"^%[0A-Z] \S", re.MULTILINE)
_OVID = re.compile(r"^(?:Accession Number|Author|Title|Source|Abstract)\s*\n\s{2}\S", re.MULTILINE)


def detect_format(head: str) -> str | None:
    """The format of a file whose first characters (a few tens of kB, decoded) are ``head``; None if unknown."""
    text = head.lstrip("\ufeff \t\r\n")
    if not text:
        return None
    if text.startswith("<") and not re.match(r"<\d+>\s*\n", text):
        probe = text[:4000]
        if "<PubmedArticleSet" in probe or "<PubmedArticle" in probe or "<PubmedBookArticle" in probe:
            return "pubmed-xml"
        if re.search(r"<records?\b", probe) and ("<xml" in probe or "<ref-type" in text[:20000]):
            return "endnote-xml"
        return None
    if text[0] in "[{":
        if re.search(r'"provenance"\s*:', text[:50000]) and re.search(r'"authors"\s*:', text[:50000]):
            return "synth-json"
        return "openalex-json" if re.search(r'"(?:abstract_inverted_index|openalex|authorships|display_name)"',
                                            text[:50000]) else None
    if "Report Information from ProQuest" in text[:2000]:
        return "proquest"
    first_line = text.split("\n", 1)[0]
    if first_line.startswith("PT\t") or first_line.startswith("FN\t"):
        return "csv"
    if _RIS.search(text):
        return "ris"
    if _WOS.search(text) and re.search(r"^ER\s*$", text, re.MULTILINE):
        return "wos"
    if _MEDLINE.search(text):
        return "nbib"
    if _BIBTEX.search(text):
        return "bibtex"
    if _REFER.search(text):
        return "endnote-tagged"
    if _OVID.search(text):
        return "ovid"
    delimiter = max(("\t", ";", ","), key=first_line.count)
    if sum(1 for cell in first_line.split(delimiter) if cell.strip(' "')) >= 2:
        return "csv"
    return None


_SOURCE_HINTS = (
    (re.compile(r"^DB {1,2}- ?(.*[A-Za-z].*)$", re.MULTILINE), None),
    (re.compile(r"app\.dimensions\.ai"), "Dimensions"),
    (re.compile(r"www\.scopus\.com"), "Scopus"),
    (re.compile(r"^FN (?:Clarivate|Thomson|ISI)|^UT  ?-? ?WOS:\d", re.MULTILINE), "Web of Science"),
    (re.compile(r"^(?:DB|DP|C1) {1,2}- ?Embase", re.MULTILINE), "Embase"),
    (re.compile(r"ovidsp\.|Ovid Technologies"), "Ovid"),
    (re.compile(r"ebscohost", re.IGNORECASE), "EBSCO"),
    (re.compile(r"search\.proquest\.com"), "ProQuest"),
    (re.compile(r"^OWN - ERIC", re.MULTILINE), "ERIC"),
    (re.compile(r"^OWN - NLM|^PMID- ", re.MULTILINE), "PubMed"),
    (re.compile(r"openalex\.org"), "OpenAlex"),
)


def guess_source(head: str, fmt: str, fallback: str) -> str:
    """A database name for records whose import gave no ``--source``: from content hints, else ``fallback``."""
    if fmt == "pubmed-xml":
        return "PubMed"
    if fmt == "openalex-json":
        return "OpenAlex"
    for pattern, name in _SOURCE_HINTS:
        match = pattern.search(head)
        if match:
            return name or match.group(1).strip()
    return fallback
