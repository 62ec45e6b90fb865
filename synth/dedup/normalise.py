"""Field preparation for record linkage: one :class:`Prepared` view per record, computed once.

Every comparison in :mod:`synth.dedup.compare` works on these normalised fields, never on raw text. The rules
follow the preparation steps of ASySD (Hair et al. 2023, BMC Biol 21:189) and BibDedupe (Wagner 2024, JOSS
9:6318): Unicode folding, lower case, punctuation stripped, translation markers (``[Chinese]``) and EndNote
square brackets around translated titles removed, page ranges expanded (``221-8`` -> 221-228), journal names
reduced to comparable tokens, author lists reduced to family names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from synth.records.model import Record, normalise_doi

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")
_LANG_MARKER = re.compile(
    r"\[(?:in\s+)?(?:chinese|japanese|german|french|spanish|italian|russian|polish|portuguese|dutch|czech|"
    r"hungarian|korean|turkish|danish|swedish|norwegian|finnish|hebrew|greek|croatian|serbian|slovak|"
    r"slovenian|romanian|bulgarian|ukrainian|persian|arabic|lithuanian|estonian|latvian|icelandic|"
    r"english abstract|author'?s transl?)[^\]]*\]",
    re.IGNORECASE,
)
_HTML_TAG = re.compile(r"<[^>]{1,20}>")
#: MEDLINE/EndNote annotations appended to titles: "[Erratum appears in ...]", "[Review] [33 refs]", possibly
#: cut off by a length limit (no closing bracket).
_ANNOTATION = re.compile(
    r"\[\s*(?:erratum|comment|retraction|retracted|corrected|update|summary for|review|\d+\s+refs|see |"
    r"republished|reprint|note:)[^\]]*(?:\]|$)",
    re.IGNORECASE,
)
#: Erratum notices cited as "Title (vol 360, pg 542, 2009)" (Web of Science) or
#: "Title (New England Journal of Medicine (2009) 360 (542-544))" (Embase).
_ERRATUM_CITATION = re.compile(
    r"\(\s*vol(?:ume)?\.?\s*\d+[^()]*\)\s*$|\(\s*[A-Za-z][^()]*\(\s*(?:1[89]|20)\d\d\s*\)[^()]*\([^()]*\)\s*\)\s*$",
    re.IGNORECASE,
)
#: Separators between a translated title and the original-language title: "<ORIGINAL>", "] TO:", "; ", and
#: PsycInfo's "original = translation" (an equals sign between words, never "n = 50").
_BILINGUAL = re.compile(r"\s*<\s*original\s*>\s*|\]\s*to:\s*|\s;\s|;\s(?=[A-Z\[])|(?<=[^\d\s=<>])\s=\s(?=[^\W\d])",
                        re.IGNORECASE)
_TITLE_NUMBER = re.compile(r"\b(?:part|phase|stage|type|study|trial|volume|vol|series|report)\s+([ivx]+)\b|(\d+)")
_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"^[ivxlcdm]+$")

#: Titles that name a kind of item rather than a work; identical titles of this kind say nothing.
GENERIC_TITLES = frozenset(
    {
        "editorial", "editorials", "editor", "editors", "editorial introduction", "editorial comment",
        "editors note", "editor s note", "editorial note", "guest editorial", "from the editor",
        "from the editors", "letter", "letters", "letter to the editor", "letters to the editor",
        "reply", "author reply", "authors reply", "the authors reply", "reply to letter", "response",
        "authors response", "in reply", "correspondence", "comment", "comments", "commentary",
        "correction", "corrections", "erratum", "errata", "corrigendum", "retraction", "retracted",
        "notice of retraction", "introduction", "preface", "foreword", "news", "book review",
        "book reviews", "abstracts", "abstract", "conference abstracts", "meeting abstracts",
        "poster abstracts", "index", "contents", "table of contents", "announcement", "announcements",
        "obituary", "in memoriam", "acknowledgement", "acknowledgements", "acknowledgment",
        "reviewers", "list of reviewers", "introduction to the special issue", "special issue",
        "untitled", "no title", "title", "summary", "discussion", "proceedings", "issue information",
        "front matter", "back matter", "masthead", "cover", "highlights", "in this issue",
        "invited commentary", "expression of concern", "notice", "addendum", "case report",
    }
)

#: Recurring columns and department titles: the same words head an item in every issue ("From the editor",
#: "Editor's comments", "President's message", "Letter from the chair", "In this issue"). Matched on the folded
#: title after dates, numbers and "no."/"part" are removed (columns are often numbered or dated).
_OFFICE = (r"(?:guest |managing |associate |deputy |founding |incoming |outgoing |new |executive |section |"
           r"senior |past |vice )?(?:editor|editors|editor in chief|editorial board|editorial team|president|"
           r"presidents|vice president|chair|chairs|chairman|chairperson|chairwoman|ceo|director|directors|dean|"
           r"secretary|secretary general|treasurer|publisher|publishers|board|executive|desk|society|association|"
           r"council|committee|section|ombudsman|bookshelf|archives?|field|front|trenches|bench|bedside|library)")
_COLUMN = re.compile(
    rf"(?:(?:a |an |the )?(?:message|letter|note|notes|word|words|report|greetings?|remarks|comments?|thoughts|"
    rf"news|view|views|update|reflections?|musings|dispatch|column|page|perspective)s? )?(?:from|of) (?:the |our |"
    rf"your |my )?{_OFFICE}(?: s (?:desk|pen|chair|corner|office))?"
    rf"|(?:the |a )?{_OFFICE}(?: s)? (?:column|corner|page|pages|message|messages|note|notes|comments?|commentary|"
    rf"desk|report|letter|perspective|remarks|viewpoint|view|introduction|choice|choices|pick|picks|address|"
    rf"update|welcome|overview|summary|notebook|diary|blog|forum|log|voice|thoughts|reflections?|preface)"
    rf"|presidential (?:address|message|column|remarks|report|page|letter)"
    rf"|(?:in |inside |about |highlights (?:of|from) |in the |on the cover of |also in )?this (?:issue|month|"
    rf"week|volume|number)(?: s (?:contents|articles|papers))?"
    rf"|(?:what s|whats) (?:new|hot|on)|news (?:and|in) (?:notes|brief|views)|(?:journal|society|member|"
    rf"association|book) news|(?:upcoming|forthcoming) (?:events|meetings|articles)|calendar(?: of events)?|"
    rf"(?:letters?|correspondence|editorials?|commentar(?:y|ies)|perspectives?|viewpoints?|column)"
)
_DATE_WORDS = re.compile(
    r"\b(?:no|nos|number|part|vol|volume|"
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|spring|summer|autumn|fall|winter|[ivx]{1,4}|\d+)\b"
)

#: Markers of notices *about* another item: erratum, retraction, comment, reply.
_NOTICE = re.compile(
    r"\b(?:errat(?:um|a)|corrigend(?:um|a)|correction(?:s)? (?:to|of|for)|retract(?:ion|ed)|"
    r"expression of concern|comment(?:s|ary)? (?:on|to)|reply to|response to|in reply|author s reply|"
    r"authors reply|letter to the editor|re:)\b|\breply$|\beditorial comment$"
)
_NOTICE_RAW = re.compile(r"^\s*(?:re\s*:|\[?(?:erratum|correction|retraction|comment)\b)", re.IGNORECASE)

#: How much of a conference item's abstract is kept for comparison.
ABSTRACT_CHARS = 600

_CONFERENCE_TYPES = frozenset(
    {"inproceedings", "conference", "proceedings", "conference paper", "conference abstract", "meeting abstract",
     "conf", "cpaper", "abst", "conference proceeding", "conference review"}
)
_CONFERENCE_VENUE = re.compile(
    r"\b(?:conference|congress|proceedings|symposium|meeting|annual meeting|abstracts?|workshop|"
    r"colloquium|poster|supplement)\b"
)
_JOURNAL_STOP = frozenset({"the", "of", "and", "for", "in", "on", "a", "an", "de", "la", "le", "der", "und", "y", "d",
                           "et", "du", "des", "di", "del", "della", "e", "i", "fur", "och"})
_JOURNAL_DROP = re.compile(r"\[(?:electronic resource|internet)\]|\(online\)|\(print\)|electronic resource",
                           re.IGNORECASE)


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """ASCII-fold, lower-case, replace every run of non-alphanumerics by one space, strip."""
    if not text:
        return ""
    text = _HTML_TAG.sub(" ", text) if "<" in text else text
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = text.replace("ß", "ss").replace("æ", "ae").replace("ø", "o")
    return _NON_ALNUM.sub(" ", text.replace("&", " and ").lower()).strip()


def strip_annotations(title: str) -> str:
    """The title without database annotations ("[Erratum appears in ...]", "[Review]", "[Chinese]") and
    without an erratum citation tail ("(vol 360, pg 542, 2009)")."""
    if "[" not in title and "(" not in title:
        return title.strip().strip('"').strip()
    text = _LANG_MARKER.sub(" ", title or "")
    text = _ANNOTATION.sub(" ", text)
    text = _ERRATUM_CITATION.sub(" ", text)
    return text.strip().strip('"').strip()


def normalise_title(title: str) -> str:
    """Folded title without annotations or the square brackets EndNote puts around translated titles."""
    if not title:
        return ""
    text = strip_annotations(title)
    if text.startswith("[") and text.rstrip(". ").endswith("]"):
        text = text.strip().rstrip(".").strip()[1:-1]
    return fold(text)


def title_alternatives(title: str) -> tuple[str, ...]:
    """Normalised forms of a bilingual title ("[English] TO: original", "English; original", "<ORIGINAL>")."""
    if ";" not in title and "<" not in title and "]" not in title and "=" not in title:
        return ()
    text = strip_annotations(title)
    parts = [p for p in _BILINGUAL.split(text) if p and len(p.strip(" []")) >= 20]
    if len(parts) < 2:
        return ()
    return tuple(t for t in (normalise_title(p.strip() + ("]" if p.strip().startswith("[") else ""))
                             for p in parts) if t)


def title_numbers(title_norm: str) -> tuple[str, ...]:
    """Numbers in a title ("part ii", "phase 3", "hpv 16"): different numbers mean different works."""
    out: list[str] = []
    title_norm = re.sub(r"\b(\d{1,3}) (\d{3})\b", r"\1\2", title_norm)
    for match in _TITLE_NUMBER.finditer(title_norm):
        out.append(match.group(1) or match.group(2))
    return tuple(out)


def is_generic_title(title_norm: str) -> bool:
    """True for titles such as "Editorial" or "Reply" that identify a kind of item, not a work."""
    if not title_norm:
        return True
    if title_norm in GENERIC_TITLES:
        return True
    words = title_norm.split()
    return len(words) <= 2 and len(title_norm) < 12


def is_column_title(title_norm: str) -> bool:
    """True for a recurring column or department title ("From the president", "Editor's comments 12", "In this
    issue", "Letter from the editor, March 2019"): such titles repeat in every issue, so equal titles say nothing."""
    bare = _SPACES.sub(" ", _DATE_WORDS.sub(" ", title_norm)).strip()
    return bool(bare) and (_COLUMN.fullmatch(bare) is not None or bare in GENERIC_TITLES
                           or title_norm in GENERIC_TITLES)


#: The kinds generic titles name; two generic titles of one kind ("Editorial", "Guest editorial") may be one item.
_KINDS = (("correction", re.compile(r"errat|correct|corrigend|retract|concern")),
          ("reply", re.compile(r"reply|response|rejoinder")),
          ("letter", re.compile(r"letters? to|correspondence")),
          ("editorial", re.compile(r"editor|president|chair|preface|foreword|introduction|issue|from the|column")),
          ("letter", re.compile(r"letter")), ("review", re.compile(r"review")),
          ("abstracts", re.compile(r"abstract|proceeding")), ("obituary", re.compile(r"obituar|memoriam")))


def generic_kind(title_norm: str) -> str:
    """The kind a generic or column title names (``editorial``, ``letter``, ``reply``...), or ``""``."""
    for kind, pattern in _KINDS:
        if pattern.search(title_norm):
            return kind
    return ""


#: Function words of other languages that English titles do not use, and English ones other languages do not.
_FOREIGN_WORDS = frozenset(
    {"der", "die", "das", "und", "von", "mit", "bei", "fur", "zur", "zum", "eine", "einer", "eines", "einem", "im",
     "les", "et", "du", "une", "pour", "dans", "avec", "sur", "aux", "chez", "entre", "los", "las", "y", "con",
     "por", "para", "del", "una", "il", "della", "nella", "degli", "nei", "dei", "per", "em", "na", "com", "uma",
     "um", "dos", "het", "een", "voor", "bij", "och", "av", "med", "hos", "og", "ved", "w", "z", "oraz",
     "przy", "u", "pri", "ve", "ile", "bir", "des", "le", "la", "de", "au", "el", "lo", "al"})
_ENGLISH_WORDS = frozenset({"the", "and", "of", "with", "for", "from", "in", "on", "among", "after", "by", "to"})


def foreign_language(title_norm: str) -> bool:
    """True when a title reads as another language than English: two or more of another language's function
    words and none of English's (a heuristic; it is only used to allow a translated-title link, never to veto)."""
    words = title_norm.split()
    foreign = sum(1 for w in words if w in _FOREIGN_WORDS)
    return foreign >= 2 and not any(w in _ENGLISH_WORDS for w in words)


def translation_marked(title: str) -> bool:
    """The raw title carries a translation marker: a "[Chinese]"-style note, or it is wholly in square brackets
    (MEDLINE and EndNote put a translated title in brackets)."""
    text = title.strip().rstrip(".").strip()
    return bool(_LANG_MARKER.search(title)) or (text.startswith("[") and text.endswith("]"))


def is_notice(title: str, title_norm: str, publication_type: str) -> bool:
    """True for errata, retractions, comments and replies: notices about another item.

    MEDLINE's "[Erratum appears in ...]" annotation marks the *original* article, so annotations are removed
    before looking for notice words; an erratum citation tail ("(vol 360, pg 542, 2009)") marks a notice.
    """
    ptype = publication_type.lower()
    if any(k in ptype for k in ("erratum", "retraction", "comment", "correction", "letter")):
        return True
    bare = _ANNOTATION.sub(" ", title) if "[" in title else title
    if "(" in bare and _ERRATUM_CITATION.search(_LANG_MARKER.sub(" ", bare).strip().strip('"').strip()):
        return True
    return bool(_NOTICE.search(title_norm) or _NOTICE_RAW.search(bare))


def is_conference(publication_type: str, journal_norm: str) -> bool:
    """True for conference abstracts and proceedings papers (by type, or by a venue naming a meeting)."""
    if fold(publication_type) in _CONFERENCE_TYPES:
        return True
    return bool(journal_norm and _CONFERENCE_VENUE.search(journal_norm))


#: A journal name led by its own acronym and a colon: "JPEN: Journal of Parenteral and Enteral Nutrition".
_ACRONYM_LEAD = re.compile(r"^\s*([A-Z]{2,8})\s*:\s*(?=\S)")


def _drop_own_acronym(text: str) -> str:
    """``text`` without a leading "ACRONYM:" when the acronym is the initials of the words after it ("BMJ:
    British Medical Journal"); a leading word that is not ("AIDS: Research and Treatment") stays."""
    match = _ACRONYM_LEAD.match(text)
    if not match:
        return text
    rest = text[match.end():]
    initials = "".join(t[0] for t in fold(rest).split() if t not in _JOURNAL_STOP)
    return rest if initials.startswith(match.group(1).lower()) else text


def journal_tokens(journal: str) -> tuple[str, ...]:
    """Comparable journal tokens: folded, without stop words, apostrophes ("Langenbeck's" and "Langenbecks" are
    one name), a leading own acronym with a colon, ``[Electronic Resource]``-style suffixes and Embase's
    ".Conference: ..." tail (the journal that printed a meeting supplement)."""
    text = _JOURNAL_DROP.sub(" ", re.split(r"\.?\s*conference\s*:", journal or "", flags=re.IGNORECASE)[0])
    text = _drop_own_acronym(text.replace("'", "").replace("\u2019", "").strip())
    return tuple(t for t in fold(text).split() if t not in _JOURNAL_STOP)


_PAGE_RANGE = re.compile(r"([a-z]*)\s*(\d+)(?:\s*(?:-|–|—|−|to|\.\.)\s*[a-z]*\s*(\d+))?")


#: Page fields whose first page was lost: "Suppl-29", "t-8", or turned into a date by a spreadsheet ("01-Jun").
_MANGLED_PAGES = re.compile(r"^[a-z]{2,}\s*[-–]|^[a-z]\s*[-–]|^\d{1,2}-(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\b")


_SIMPLE_RANGE = re.compile(r"(\d{1,9})-(\d{1,9})")


@dataclass(frozen=True, slots=True)
class Pages:
    """Parsed page field: the ranges (first, last) in order, and whether it is an article locator (e123)."""

    ranges: tuple[tuple[int, int], ...] = ()
    locator: bool = False

    @property
    def first(self) -> str:
        return str(self.ranges[0][0]) if self.ranges else ""

    @property
    def last(self) -> str:
        return str(self.ranges[0][1]) if self.ranges else ""


def parse_pages(pages: str) -> Pages:
    """Page ranges from "221-8" (-> 221-228), "233-238+230-235", "230-5, 246-51", "e12724", "S78-S89"."""
    text = (pages or "").strip().lower()
    simple = _SIMPLE_RANGE.fullmatch(text)
    if simple:
        first_s, last_s = simple.group(1), simple.group(2)
        if len(last_s) < len(first_s):
            last_s = first_s[: len(first_s) - len(last_s)] + last_s
        elif int(last_s) < int(first_s):
            return Pages()
        return Pages(((int(first_s), max(int(first_s), int(last_s))),), False)
    if not text or _MANGLED_PAGES.search(text):
        return Pages()
    ranges: list[tuple[int, int]] = []
    locator = False
    for part in re.split(r"[,;+&]|\band\b", text):
        match = _PAGE_RANGE.search(part)
        if not match:
            continue
        prefix, first_s, last_s = match.group(1), match.group(2), match.group(3)
        if len(ranges) == 0 and prefix and prefix not in ("s", "p", "pp"):
            locator = True
        if len(first_s) > 9:
            continue
        first = int(first_s)
        last = first
        if last_s and len(last_s) <= 9:
            if len(last_s) < len(first_s):
                last_s = first_s[: len(first_s) - len(last_s)] + last_s
            elif int(last_s) < first:
                return Pages()  # "2297-2108": an impossible range, a typo in one of the numbers
            last = max(first, int(last_s))
        ranges.append((first, last))
    return Pages(tuple(ranges), locator)


def pages_relation(a: Pages, b: Pages) -> bool | None:
    """True if the page fields share a first page, False if they are clearly different places, None if unknown.

    Unknown: either is empty; one is an article locator (e12724, c1804) and the other a page range; or the
    ranges nest without sharing a first page (a record giving only the last page, "569" vs "567-569").
    Ranges that merely touch ("542-544" vs "544-546") are neighbouring items: False.
    """
    if not a.ranges or not b.ranges:
        return None
    if {r[0] for r in a.ranges} & {r[0] for r in b.ranges}:
        return True
    if a.locator != b.locator:
        return None
    for x in a.ranges:
        for y in b.ranges:
            if (x[0] <= y[0] and y[1] <= x[1]) or (y[0] <= x[0] and x[1] <= y[1]):
                return None
    return False


def first_number(value: str) -> str:
    """The first run of digits in ``value`` without leading zeros ("Vol. 108 (Suppl 1)" -> "108")."""
    match = _DIGITS.search(value or "")
    return match.group(0).lstrip("0") or "0" if match else ""


def journal_agreement(a: tuple[str, ...], b: tuple[str, ...]) -> bool | None:
    """Journal token lists agree, allowing abbreviations ("J Clin Oncol" ~ "Journal of Clinical Oncology") and
    subtitles ("Clinical cancer research : an official journal of ..."). None when either is missing."""
    if not a or not b:
        return None
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) == 1 and len(long_) >= 2 and short[0] == "".join(t[0] for t in long_):
        return True  # an acronym: "BMJ" ~ "British Medical Journal"
    if all(x.startswith(y) or y.startswith(x) for x, y in zip(short, long_, strict=False)):
        return True
    joined_a, joined_b = "".join(a), "".join(b)
    return fuzz.ratio(joined_a, joined_b) >= 90


def author_names(record: Record) -> tuple[str, ...]:
    """Folded family names (or corporate names), in order, without "et al"."""
    names: list[str] = []
    for author in record.authors:
        name = fold(author.family or author.corporate)
        if not name or name in ("et al", "et", "al", "anonymous", "anon"):
            continue
        names.append(name.replace(" ", ""))
    return tuple(names)


@dataclass(slots=True)
class Prepared:
    """The normalised view of one record that every comparison uses."""

    key: int
    title: str
    title_key: str
    year: int | None
    authors: tuple[str, ...]
    journal: tuple[str, ...]
    volume: str
    issue: str
    pages: Pages
    doi: str | None
    pmid: str | None
    pmcid: str | None
    openalex_id: str | None
    has_abstract: bool
    generic: bool
    notice: bool
    conference: bool
    source: str
    sort_key: tuple[object, ...] = field(default=())

    title_alts: tuple[str, ...] = ()
    numbers: frozenset[str] = frozenset()
    #: a recurring column or department title (:func:`is_column_title`)
    column: bool = False
    #: what a generic or column title names (:func:`generic_kind`)
    kind: str = ""
    #: the title is marked as translated or reads as another language than English
    translated: bool = False
    #: the start of the folded abstract (for items whose other fields say little, such as conference papers)
    abstract: str = ""

    @property
    def first_author(self) -> str:
        return self.authors[0] if self.authors else ""

    @property
    def first_page(self) -> str:
        return self.pages.first


_DOI_SLASHES = re.compile(r"^(10\.[0-9.]+)//+")


def dedup_doi(doi: str | None) -> str | None:
    """A DOI for comparison: normalised, and "10.1037//0022-3514..." read as "10.1037/0022-3514..." (publishers'
    old DOIs are indexed with a doubled slash by some databases and without it by others; both resolve)."""
    if not doi:
        return None
    norm = normalise_doi(doi)
    return _DOI_SLASHES.sub(r"\1/", norm) if norm else None


def _clean_id(value: str | None) -> str | None:
    if not value:
        return None
    text = fold(str(value)).replace(" ", "")
    return text or None


def prepare(key: int, record: Record) -> Prepared:
    """Compute the :class:`Prepared` view of ``record`` (``key`` is its store id or any unique int)."""
    title = normalise_title(record.title)
    journal = journal_tokens(record.journal)
    pages = parse_pages(record.pages)
    prep = Prepared(
        key=key,
        title=title,
        title_key=title.replace(" ", ""),
        year=record.year,
        authors=author_names(record),
        journal=journal,
        volume=first_number(record.volume),
        issue=first_number(record.issue),
        pages=pages,
        doi=dedup_doi(record.doi),
        pmid=_clean_id(record.pmid),
        pmcid=_clean_id(record.pmcid),
        openalex_id=_clean_id(record.openalex_id),
        has_abstract=bool(record.abstract and record.abstract.strip()),
        generic=is_generic_title(title),
        notice=is_notice(record.title, title, record.publication_type),
        conference=is_conference(record.publication_type, fold(record.journal)),
        source=record.provenance.source,
        title_alts=title_alternatives(record.title),
        numbers=frozenset(title_numbers(title)),
    )
    prep.column = is_column_title(title)
    if prep.generic or prep.column:
        prep.kind = generic_kind(title)
    prep.translated = bool(prep.title_alts) or translation_marked(record.title) or foreign_language(title)
    if prep.conference and record.abstract:
        prep.abstract = fold(record.abstract[:ABSTRACT_CHARS])
    prep.sort_key = (
        prep.title, prep.year or 0, prep.authors, prep.doi or "", prep.journal, prep.volume, pages.ranges,
        pages.locator, prep.issue, prep.pmid or "", prep.source, key,
    )
    return prep


#: A source's issue field is read as record numbering when it holds this many values, nearly all different.
RECORD_NUMBER_MIN = 50
RECORD_NUMBER_UNIQUE = 0.95


def sources_numbering_records(prepared: list[Prepared]) -> set[str]:
    """Sources whose "issue" field numbers records, not issues.

    Real issue numbers repeat across the records of a search (most journals print 1-12 issues a volume, so 50
    records must share values); an export that puts an accession or record number in the issue field gives
    nearly every record its own. A source with at least :data:`RECORD_NUMBER_MIN` issue values of which at
    least :data:`RECORD_NUMBER_UNIQUE` are distinct is such an export.
    """
    values: dict[str, list[str]] = {}
    for p in prepared:
        if p.issue:
            values.setdefault(p.source, []).append(p.issue)
    return {source for source, issues in values.items()
            if len(issues) >= RECORD_NUMBER_MIN and len(set(issues)) >= RECORD_NUMBER_UNIQUE * len(issues)}

