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
from collections.abc import Sequence

from synth.dedup.normalise import Prepared

MAX_BLOCK = 60
WINDOW = 12
_TITLE_KEY = 24


def block_keys(p: Prepared) -> list[str]:
    """The blocking keys of one prepared record (kind and values joined by a unit separator)."""
    keys: list[str] = []
    if p.doi:
        keys.append("doi\x1f" + p.doi)
    if p.pmid:
        keys.append("pmid\x1f" + p.pmid)
    if p.pmcid:
        keys.append("pmcid\x1f" + p.pmcid)
    if p.openalex_id:
        keys.append("oa\x1f" + p.openalex_id)
    if not p.generic and len(p.title_key) >= 12:
        keys.append("t0\x1f" + p.title_key[:_TITLE_KEY])
        keys.append("t1\x1f" + p.title_key[-_TITLE_KEY:])
        # the three longest words, ties alphabetical (sort is stable, so reverse keeps alphabetical order)
        words = sorted(sorted({w for w in p.title.split() if len(w) > 3}), key=len, reverse=True)[:3]
        if len(words) == 3:
            keys.append("tw\x1f" + "\x1f".join(sorted(words)))
    first_page = p.first_page
    if first_page and p.authors:
        keys.append(f"ap\x1f{p.authors[0]}\x1f{first_page}")
    if first_page and p.volume:
        keys.append(f"vp\x1f{p.volume}\x1f{first_page}\x1f{p.year or ''}")
    return keys


def candidate_pairs(prepared: Sequence[Prepared]) -> set[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, into ``prepared`` that share a blocking key."""
    blocks: dict[str, list[int]] = defaultdict(list)
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
