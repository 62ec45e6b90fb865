"""Hard vetoes: facts that make two records different items whatever their titles say.

A veto is never outweighed by similarity. The list follows the failure modes reported for EndNote and
Rayyan (McKeown & Mir 2021, Syst Rev 10:38: 39 % of EndNote's false merges were primary articles) and the
rules of ASySD and BibDedupe: different identifiers, years more than one apart, different volumes or first
pages, generic titles, notices (erratum, retraction, comment, reply) against their original, and conference
abstracts against journal articles when the protocol keeps both (PRISMA 2020: different reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synth.dedup.normalise import Prepared, journal_agreement, pages_relation


@dataclass(frozen=True)
class Policy:
    """Options that change what counts as a duplicate (from the protocol's ``[dedup]`` table)."""

    keep_conference_abstracts: bool = True
    source_preference: tuple[str, ...] = ()
    #: optional rules switched off (names from :data:`synth.dedup.rules.OPTIONAL`); an evaluation device, not a
    #: protocol setting
    disabled: frozenset[str] = field(default_factory=frozenset)

    def uses(self, rule: str) -> bool:
        """Whether the optional rule ``rule`` is switched on."""
        return rule not in self.disabled


def identifier_match(a: Prepared, b: Prepared) -> str:
    """Name of the first identifier the two records share (``doi``, ``pmid``...), or ``""``."""
    if a.doi and a.doi == b.doi:
        return "doi"
    if a.pmid and a.pmid == b.pmid:
        return "pmid"
    if a.pmcid and a.pmcid == b.pmcid:
        return "pmcid"
    if a.openalex_id and a.openalex_id == b.openalex_id:
        return "openalex_id"
    return ""


def identifier_conflicts(a: Prepared, b: Prepared) -> list[str]:
    """Vetoes from identifiers present in both records but different."""
    out: list[str] = []
    if a.doi and b.doi and a.doi != b.doi:
        out.append(f"different DOIs ({a.doi} vs {b.doi})")
    if a.pmid and b.pmid and a.pmid != b.pmid:
        out.append(f"different PMIDs ({a.pmid} vs {b.pmid})")
    if a.pmcid and b.pmcid and a.pmcid != b.pmcid:
        out.append(f"different PMCIDs ({a.pmcid} vs {b.pmcid})")
    return out


def shifted_fields(a: Prepared, b: Prepared) -> bool:
    """One record's volume, issue and page fields shifted by one place against the other's: no volume, its
    issue is the other's volume and its single "page" is the other's issue (Embase conference exports:
    pages "9", volume "", issue "26" for volume 26, issue 9, page 1746). Its page number is then not a page."""
    def one_way(x: Prepared, y: Prepared) -> bool:
        return bool(not x.volume and x.issue and y.volume and x.issue == y.volume and y.issue
                    and len(x.pages.ranges) == 1 and x.pages.first == x.pages.last == y.issue)

    return one_way(a, b) or one_way(b, a)


def same_abstract_other_page(a: Prepared, b: Prepared) -> bool:
    """A meeting abstract indexed twice with different single-page numbers (supplement page vs abstract
    number): at least one record is a conference abstract, both give one page, and title, complete author list
    (two or more), year and volume are identical; anything less keeps the page veto."""
    def single(x: Prepared) -> bool:
        return len(x.pages.ranges) == 1 and x.pages.first == x.pages.last

    return bool((a.conference or b.conference) and single(a) and single(b) and a.title == b.title
                and len(a.authors) >= 2 and a.authors == b.authors and a.year == b.year
                and a.volume and a.volume == b.volume and a.issue == b.issue)


def different_issues(a: Prepared, b: Prepared) -> bool:
    """Same volume of an agreeing journal, different issue numbers, and no shared first page to tie them."""
    return bool(a.issue and b.issue and a.issue != b.issue and a.volume and a.volume == b.volume
                and journal_agreement(a.journal, b.journal) is not False
                and pages_relation(a.pages, b.pages) is not True)


def page_exception(a: Prepared, b: Prepared, policy: Policy) -> bool:
    """A page disagreement that a known export quirk explains (see the two exceptions' docstrings)."""
    return ((policy.uses("shifted_fields") and shifted_fields(a, b))
            or (policy.uses("same_abstract_other_page") and same_abstract_other_page(a, b)))


def bibliographic_conflicts(a: Prepared, b: Prepared, policy: Policy) -> list[str]:
    """Vetoes from year, volume, issue and first page."""
    out: list[str] = []
    if a.year and b.year and abs(a.year - b.year) > 1:
        out.append(f"years more than one apart ({a.year} vs {b.year})")
    if a.volume and b.volume and a.volume != b.volume:
        out.append(f"different volumes ({a.volume} vs {b.volume})")
    if pages_relation(a.pages, b.pages) is False and not page_exception(a, b, policy):
        out.append(f"different pages ({a.first_page} vs {b.first_page})")
    if policy.uses("different_issues") and different_issues(a, b):
        out.append(f"different issues of one volume ({a.issue} vs {b.issue}) and no shared first page")
    same_place = bool(a.volume and a.volume == b.volume and pages_relation(a.pages, b.pages) is True)
    if a.numbers and b.numbers and not (a.numbers <= b.numbers or b.numbers <= a.numbers) and not same_place:
        out.append(f"different numbers in the titles ({sorted(a.numbers)} vs {sorted(b.numbers)})")
    return out


def same_venue(a: Prepared, b: Prepared, policy: Policy) -> bool:
    """Same journal (abbreviations allowed) or the same volume and first page, same year, and no contradicting
    volume or pages: a meeting abstract printed in a journal supplement and the same abstract indexed as a
    journal item are one record, not a conference abstract and a later article."""
    journal = journal_agreement(a.journal, b.journal)
    if journal is False or a.year != b.year:
        return False
    if a.volume and b.volume and a.volume != b.volume:
        return False
    pages = pages_relation(a.pages, b.pages)
    if pages is False and not page_exception(a, b, policy):
        return False
    if journal is None:
        return bool(a.volume and a.volume == b.volume and pages is True)
    return True


def kind_conflicts(a: Prepared, b: Prepared, policy: Policy) -> list[str]:
    """Vetoes from what kind of item each record is."""
    out: list[str] = []
    if a.notice != b.notice:
        out.append("a notice (erratum, retraction, comment or reply) against another item")
    if policy.keep_conference_abstracts and a.conference != b.conference and not same_venue(a, b, policy):
        out.append("a conference abstract/paper against a journal article (protocol keeps both)")
    columns = policy.uses("column_titles") and (a.column or b.column)
    if a.generic or b.generic or columns:
        same_place = bool(
            a.volume and a.volume == b.volume and pages_relation(a.pages, b.pages) is True
            and a.year == b.year and journal_agreement(a.journal, b.journal) is not False
        )
        if not same_place:
            out.append("a generic title (e.g. 'Editorial') without the same journal, year, volume and page")
    return out


def vetoes(a: Prepared, b: Prepared, policy: Policy) -> list[str]:
    """Every veto that applies to the pair; empty when the pair may be merged."""
    return identifier_conflicts(a, b) + bibliographic_conflicts(a, b, policy) + kind_conflicts(a, b, policy)


def identifier_vetoes(a: Prepared, b: Prepared, policy: Policy) -> list[str]:
    """Vetoes that still apply when the records share an identifier (a shared DOI outranks page formats)."""
    out = identifier_conflicts(a, b)
    if a.notice != b.notice:
        out.append("a notice (erratum, retraction, comment or reply) against another item")
    if policy.keep_conference_abstracts and a.conference != b.conference and not same_venue(a, b, policy):
        out.append("a conference abstract/paper against a journal article (protocol keeps both)")
    return out
