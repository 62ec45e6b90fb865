"""The named rules of record linkage, each with the bibliographic fact it relies on.

Every veto, veto exception and merge rule in :mod:`~synth.dedup.vetoes` and :mod:`~synth.dedup.compare` has an
entry here. ``optional`` rules can be switched off through :attr:`Policy.disabled
<synth.dedup.vetoes.Policy.disabled>`; the deduplication benchmark does so to evaluate each gold set with only the
rules that the *other* sets support (leave one set out). docs/dedup-rules.md is generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["veto", "exception", "merge", "maybe"]


@dataclass(frozen=True)
class Rule:
    name: str
    kind: Kind
    fact: str
    optional: bool = True


_ALL = (
    Rule("different_identifiers", "veto", "A DOI, PMID or PMCID names one work; two different ones are two works.",
         optional=False),
    Rule("years_apart", "veto", "A work and its reindexing differ by at most a year (online first, print); "
         "two years or more means another work.", optional=False),
    Rule("different_volumes", "veto", "One item is printed in one volume.", optional=False),
    Rule("different_pages", "veto", "One item starts on one page; ranges that touch are neighbours.",
         optional=False),
    Rule("different_numbers", "veto", "Numbers in a title (part II, phase 3, HPV 16) name different works.",
         optional=False),
    Rule("notice", "veto", "An erratum, retraction, comment or reply is a separate item from what it is about.",
         optional=False),
    Rule("conference_vs_article", "veto", "A conference abstract and the later article are different reports "
         "(PRISMA 2020) when the protocol keeps both.", optional=False),
    Rule("generic_title", "veto", "Titles such as 'Editorial' name a kind of item; equal ones say nothing "
         "unless journal, year, volume and first page agree.", optional=False),
    Rule("different_issues", "veto", "A journal numbers the issues of a volume once; items of one volume in "
         "different issues are different works unless a shared identifier or first page ties them."),
    Rule("column_titles", "veto", "Recurring columns and department titles ('From the president', 'Editor's "
         "comments', 'In this issue', numbered or dated columns) head an item in every issue: generic."),
    Rule("issue_numbers_unique", "exception", "Real issue numbers repeat across a search's records (most "
         "journals print 1-12 issues a volume); a source whose 'issue' differs in 95% of 50 or more records "
         "numbers records, not issues, and its issue field is not used."),
    Rule("shifted_fields", "exception", "Some exports shift volume, issue and page by one field (no volume, the "
         "issue is the other record's volume, the single page its issue); that page is then not a page."),
    Rule("same_abstract_other_page", "exception", "A meeting abstract is cited by supplement page or by "
         "abstract number; identical title, full author list, year, volume and issue outrank one page number."),
    Rule("same_identifier", "merge", "A shared DOI, PMID, PMCID or OpenAlex id names one work: it links two "
         "records whose titles are similar (>= 0.6) or whose authors agree; otherwise the pair is a maybe.",
         optional=False),
    Rule("title97", "merge", "Near-identical titles with agreeing authors, the same year (or the same volume "
         "and page) and an agreeing journal are one work."),
    Rule("title90_place", "merge", "A slightly reworded title (>= 0.90) by the same authors in the same year, "
         "volume and page is one work."),
    Rule("conference_same_year", "merge", "Conference venue names vary between databases; the same title and "
         "authors in the same year are one paper."),
    Rule("truncated_title", "merge", "Databases cut long titles at a field limit; a title the other continues, "
         "with the same authors, year and place, is the same work."),
    Rule("title95_same_place", "merge", "A title >= 0.95 in the same journal, year, volume and first page is one "
         "work even without authors."),
    Rule("title70_same_place", "merge", "A reworded title by the same authors in the same year, volume and first "
         "page is one work."),
    Rule("translated_multi_page", "merge", "Two multi-page articles cannot start on the same page of one journal "
         "volume: same authors and place with a dissimilar (translated) title are one work."),
    Rule("translated_title", "merge", "A title marked as translated (bracketed, bilingual, or another language) "
         "in the same journal, year, volume, issue and first page, with agreeing authors, is the same work; "
         "without the issue to confirm it is a maybe."),
    Rule("same_page_range", "merge", "Two articles cannot fill the same pages: the same authors, journal, year, "
         "volume and multi-page range (first and last page) are one work whatever the title says (a title in "
         "another language, a changed subtitle)."),
    Rule("generic_same_kind", "merge", "Two generic titles of one kind ('Editorial', 'Guest editorial') at the "
         "same journal, year, volume, issue and first page, with agreeing authors, are one item (not letters: "
         "one page can hold several)."),
    Rule("conference_year_apart", "merge", "A conference paper is often indexed under the meeting's year and the "
         "proceedings' year; a year apart it needs the same authors and the same abstract, or the same first "
         "page, not only a similar title."),
    Rule("similar_no_rule", "maybe", "Records that are similar (title >= 0.85, a truncated title, or the same "
         "authors and place with a partly different title) but that no rule is sure of go to a person in "
         "`synth dedup review`; they are never merged automatically.", optional=False),
)

RULES: dict[str, Rule] = {r.name: r for r in _ALL}
OPTIONAL: tuple[str, ...] = tuple(r.name for r in _ALL if r.optional)
