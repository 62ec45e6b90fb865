"""Blocking: which pairs are worth comparing at all.

Comparing every pair is quadratic; blocking compares only records that share at least one cheap key
(the standard record-linkage device; ASySD uses RecordLinkage blocking rounds on field combinations, BibDedupe
field-combination blocks). Keys here: each identifier; the first and the last 24 letters of the title (so a
changed start or end still meets); the three longest title words; first author + first page; volume + first
page + year. A block larger than :data:`MAX_BLOCK` is compared as a sorted neighbourhood (each record
against the next :data:`WINDOW` records in title order) so a common title start cannot make the run
quadratic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from synth.dedup.normalise import Prepared

MAX_BLOCK = 60
WINDOW = 12
_TITLE_KEY = 24


def block_keys(p: Prepared) -> Iterable[tuple[str, ...]]:
    """The blocking keys of one prepared record."""
    if p.doi:
        yield ("doi", p.doi)
    if p.pmid:
        yield ("pmid", p.pmid)
    if p.pmcid:
        yield ("pmcid", p.pmcid)
    if p.openalex_id:
        yield ("oa", p.openalex_id)
    if not p.generic and len(p.title_key) >= 12:
        yield ("t0", p.title_key[:_TITLE_KEY])
        yield ("t1", p.title_key[-_TITLE_KEY:])
        words = sorted({w for w in p.title.split() if len(w) > 3}, key=lambda w: (-len(w), w))[:3]
        if len(words) == 3:
            yield ("tw", *sorted(words))
    if p.first_page and p.first_author:
        yield ("ap", p.first_author, p.first_page)
    if p.first_page and p.volume:
        yield ("vp", p.volume, p.first_page, str(p.year or ""))


def candidate_pairs(prepared: Sequence[Prepared]) -> set[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, into ``prepared`` that share a blocking key."""
    blocks: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, p in enumerate(prepared):
        for key in block_keys(p):
            blocks[key].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        n = len(members)
        if n < 2:
            continue
        if n <= MAX_BLOCK:
            for x in range(n):
                i = members[x]
                for y in range(x + 1, n):
                    j = members[y]
                    pairs.add((i, j) if i < j else (j, i))
            continue
        ordered = sorted(members, key=lambda k: (prepared[k].title_key, prepared[k].sort_key))
        for x in range(n):
            i = ordered[x]
            for y in range(x + 1, min(n, x + 1 + WINDOW)):
                j = ordered[y]
                pairs.add((i, j) if i < j else (j, i))
    return pairs
