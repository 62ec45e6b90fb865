"""Pairwise comparison: field similarities, vetoes, and an explicit, named decision rule.

Similarities use rapidfuzz's normalised Indel similarity (``fuzz.ratio``) on prepared fields. Decisions are a
small ordered list of readable rules in the spirit of ASySD's threshold rules and BibDedupe's match
conditions; anything similar but not covered by a rule becomes a ``maybe`` pair for a person to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rapidfuzz import fuzz

from synth.dedup.normalise import ABSTRACT_CHARS, Prepared, journal_agreement, pages_relation
from synth.dedup.vetoes import Policy, identifier_match, identifier_vetoes, vetoes


class Decision(StrEnum):
    match = "match"
    maybe = "maybe"
    distinct = "distinct"


@dataclass
class Comparison:
    """The outcome for one pair, with everything needed to explain it."""

    a: int
    b: int
    decision: Decision
    rule: str
    score: float
    similarities: dict[str, float | str | None] = field(default_factory=dict)
    vetoes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "a": self.a, "b": self.b, "decision": str(self.decision), "rule": self.rule,
            "score": round(self.score, 4), "similarities": self.similarities, "vetoes": self.vetoes,
        }


def title_similarity(a: Prepared, b: Prepared) -> float:
    """Indel similarity of the normalised titles in [0, 1]; for bilingual titles the best pair of parts."""
    if not a.title or not b.title:
        return 0.0
    best = fuzz.ratio(a.title, b.title)
    if a.title_alts or b.title_alts:
        for x in a.title_alts or (a.title,):
            for y in b.title_alts or (b.title,):
                best = max(best, fuzz.ratio(x, y))
        for x in a.title_alts:
            best = max(best, fuzz.ratio(x, b.title))
        for y in b.title_alts:
            best = max(best, fuzz.ratio(a.title, y))
    return best / 100.0


def truncated_title(a: Prepared, b: Prepared) -> bool:
    """One title is the other cut short (databases truncate long titles), at least 40 characters long."""
    short, long_ = sorted((a.title_key, b.title_key), key=len)
    return len(short) >= 40 and long_.startswith(short)


def _name_match(x: str, y: str) -> bool:
    if x == y:
        return True
    if len(x) >= 4 and len(y) >= 4 and (x.startswith(y) or y.startswith(x) or x.endswith(y) or y.endswith(x)):
        return True
    return len(x) >= 5 and len(y) >= 5 and fuzz.ratio(x, y) >= 85


def author_agreement(a: Prepared, b: Prepared) -> float | None:
    """Share of the shorter author list (first 10 names) found in the other; ``None`` if either is empty.

    Names match exactly, by prefix or suffix (particles: "van der Graaf" ~ "Graaf"), or with Indel similarity
    >= 0.85 (names of 5+ letters). When the first authors differ the share counts only if it is at least 0.75
    over 3 or more names (Asian name order, "Goicoechea de Jorge" split wrongly), otherwise it is 0.
    """
    if not a.authors or not b.authors:
        return None
    xs, ys = a.authors[:10], b.authors[:10]
    if len(xs) > len(ys):
        xs, ys = ys, xs
    exact = set(ys)
    found = sum(1 for x in xs if x in exact or any(_name_match(x, y) for y in ys))
    share = found / len(xs)
    if _name_match(a.authors[0], b.authors[0]):
        return share
    return share if len(xs) >= 3 and share >= 0.75 else 0.0


def _multi_page(p: Prepared) -> bool:
    """The first page range spans more than one page (one page can hold several letters or abstracts)."""
    return bool(p.pages.ranges) and p.pages.ranges[0][1] > p.pages.ranges[0][0]


def _same_range(a: Prepared, b: Prepared) -> bool:
    """Both give the same first range, spanning more than one page (two articles cannot fill the same pages)."""
    return _multi_page(a) and bool(b.pages.ranges) and a.pages.ranges[0] == b.pages.ranges[0]


def _same_abstract(a: Prepared, b: Prepared) -> bool:
    """Both records keep an abstract start of at least 200 characters and the two are near-identical."""
    return (len(a.abstract) >= 200 and len(b.abstract) >= 200
            and fuzz.ratio(a.abstract[:ABSTRACT_CHARS], b.abstract[:ABSTRACT_CHARS]) >= 90)


def _eq(x: object, y: object) -> bool | None:
    if not x or not y:
        return None
    return x == y


def compare(a: Prepared, b: Prepared, policy: Policy) -> Comparison:
    """Compare two prepared records and decide ``match``, ``maybe`` or ``distinct`` with the rule that fired."""
    title = title_similarity(a, b)
    authors = author_agreement(a, b)
    journal = journal_agreement(a.journal, b.journal)
    same_year = _eq(a.year, b.year)
    same_volume = _eq(a.volume, b.volume)
    same_page = pages_relation(a.pages, b.pages)
    sims: dict[str, float | str | None] = {
        "title": round(title, 4),
        "authors": None if authors is None else round(authors, 4),
        "journal": None if journal is None else str(journal).lower(),
        "year": None if same_year is None else str(same_year).lower(),
        "volume": None if same_volume is None else str(same_volume).lower(),
        "first_page": None if same_page is None else str(same_page).lower(),
    }
    ident = identifier_match(a, b)
    if ident:
        sims["identifier"] = ident
        blocked = identifier_vetoes(a, b, policy)
        if blocked:
            return Comparison(a.key, b.key, Decision.distinct, "veto", title, sims, blocked)
        if title >= 0.6 or not a.title or not b.title or (authors or 0) >= 0.5:
            return Comparison(a.key, b.key, Decision.match, f"same {ident}", 1.0 + title, sims)
        return Comparison(a.key, b.key, Decision.maybe, f"same {ident}, different title", title, sims)

    blocked = vetoes(a, b, policy)
    if blocked:
        return Comparison(a.key, b.key, Decision.distinct, "veto", title, sims, blocked)

    authors_ok = authors is None or authors >= 0.5
    authors_strong = authors is not None and authors >= 0.5
    place = [x for x in (same_volume, same_page) if x is not None]
    place_agrees = bool(place) and all(place)
    place_both = same_volume is True and same_page is True
    truncated = truncated_title(a, b)
    # Journals that disagree are not proof of anything (abbreviations, translations), but then the volume and
    # first page must both agree: a republication in another journal ("ACP Journal Club") is another record.
    venue_ok = journal is not False or place_both

    same_issue = _eq(a.issue, b.issue)
    uses = policy.uses
    rule = ""
    if uses("title97") and title >= 0.97 and authors_ok and (same_year is not False or place_agrees) and venue_ok:
        rule = "title >= 0.97, authors agree, same year or same volume/page, journal agrees or same place"
    elif (uses("title90_place") and title >= 0.9 and authors_strong and same_year is not False and place_agrees
          and venue_ok):
        rule = "title >= 0.90, authors agree, same year, same volume/page"
    elif (uses("conference_same_year") and title >= 0.97 and authors_strong and same_year is True and a.conference
          and b.conference):
        rule = "conference papers: title >= 0.97, authors agree, same year (venue names vary)"
    elif (uses("truncated_title") and truncated and authors_strong and same_year is not False and place_agrees
          and venue_ok):
        rule = "truncated title, authors agree, same year, same volume/page"
    elif uses("title95_same_place") and title >= 0.95 and same_year is True and place_both and journal is True:
        rule = "title >= 0.95, same journal, year, volume and first page"
    elif (uses("title70_same_place") and title >= 0.7 and authors_strong and same_year is True and place_both
          and journal is not False):
        rule = "title >= 0.70, authors agree, same year, volume and first page"
    elif (uses("translated_multi_page") and title >= 0.4 and authors_strong
          and min(len(a.authors), len(b.authors)) >= 2 and same_year is True and place_both and journal is True
          and not (a.conference or b.conference) and _multi_page(a) and _multi_page(b)):
        rule = "same authors, journal, year, volume and first page of a multi-page article (translated title)"
    elif (uses("translated_title") and (a.translated or b.translated) and authors_ok and same_year is True
          and place_both and journal is True and same_issue is not False
          and not (a.generic or b.generic or a.column or b.column)):
        if same_issue is None:
            return Comparison(a.key, b.key, Decision.maybe, "translated title? same journal, year, volume and first "
                              "page, no issue to confirm", title, sims)
        rule = "translated title, same journal, year, volume, issue and first page"
    elif (uses("same_page_range") and _same_range(a, b) and authors_strong and same_year is True
          and same_volume is True and journal is True and same_issue is not False
          and not (a.conference or b.conference or a.generic or b.generic or a.column or b.column)):
        rule = "same authors, journal, year, volume and the same multi-page range"
    elif (uses("generic_same_kind") and (a.generic or a.column) and (b.generic or b.column) and a.kind
          and a.kind == b.kind and a.kind not in ("letter", "reply") and authors_ok and same_year is True
          and place_both and journal is True and same_issue is not False):
        rule = f"two {a.kind} titles at the same journal, year, volume, issue and first page"
    elif (uses("conference_year_apart") and a.conference and b.conference and same_year is False
          and title >= 0.9 and authors_strong and min(len(a.authors), len(b.authors)) >= 2
          and (same_page is True or _same_abstract(a, b))):
        rule = "conference paper a year apart: same authors and title, and the same abstract or first page"
    if rule:
        return Comparison(a.key, b.key, Decision.match, rule, title, sims)

    if title >= 0.85 or truncated or (title >= 0.5 and authors_strong and place_both and same_year is not False):
        return Comparison(a.key, b.key, Decision.maybe, "similar but no rule certain", title, sims)
    return Comparison(a.key, b.key, Decision.distinct, "not similar", title, sims)
