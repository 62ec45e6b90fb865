"""Clustering matched pairs: constrained union-find and the choice of a representative record.

Match edges are applied strongest first (human "same" decisions, then shared identifiers, then fuzzy rules;
ties broken by content, never by input order). Two clusters are joined only if no pair across them is vetoed
and no person has said two of their records are different (cannot-link constraints), so transitive chains
cannot build a cluster with two DOIs or years three apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from synth.dedup.normalise import Prepared

#: Above this many cross pairs a merge checks identifiers and years only (clusters that big are rare).
FULL_CHECK_LIMIT = 2500


class ConstrainedUnionFind:
    """Union-find over indices 0..n-1 whose unions can be refused by a compatibility check."""

    def __init__(self, n: int, cannot_link: dict[int, set[int]] | None = None) -> None:
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}
        self.forbidden: dict[int, set[int]] = {k: set(v) for k, v in (cannot_link or {}).items()}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, i: int, j: int, compatible: Callable[[list[int], list[int]], bool]) -> bool:
        """Join the clusters of ``i`` and ``j`` if allowed; True when they are (now) one cluster."""
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return True
        mi, mj = self.members[ri], self.members[rj]
        fi, fj = self.forbidden.get(ri, set()), self.forbidden.get(rj, set())
        if (fi and any(m in fi for m in mj)) or (fj and any(m in fj for m in mi)):
            return False
        if not compatible(mi, mj):
            return False
        if len(mi) < len(mj):
            ri, rj, mi, mj = rj, ri, mj, mi
        self.parent[rj] = ri
        mi.extend(mj)
        del self.members[rj]
        if fj or fi:
            self.forbidden[ri] = fi | fj
            self.forbidden.pop(rj, None)
        return True

    def groups(self) -> list[list[int]]:
        return [sorted(m) for m in self.members.values()]


@dataclass(frozen=True)
class Completeness:
    """Why a record was chosen to represent its cluster (higher tuple wins)."""

    #: the title is not cut short: no other member's title continues it
    complete_title: bool
    preferred_source: int
    abstract: bool
    doi: bool
    pages: bool
    authors: int
    volume: bool
    journal: bool

    def as_tuple(self) -> tuple[int, ...]:
        return (self.complete_title, self.preferred_source, self.abstract, self.doi, self.pages, min(self.authors, 50),
                self.volume, self.journal)


def completeness(p: Prepared, source_preference: Sequence[str] = (), titles: Sequence[str] = ()) -> Completeness:
    """The completeness of one record: a whole title first, then source preference, abstract, DOI, pages,
    authors, volume, journal.

    Databases cut long titles at a field limit (often with an ellipsis, which normalisation drops), so a title
    that another member's normalised title (``titles``, the cluster's) continues word for word is truncated
    and never represents the cluster while a whole one is there. A preference matches a source by name, case-insensitively, exactly or as a part ("pubmed" matches
    "PubMed" and "search_pubmed_2024"); earlier preferences rank higher.
    """
    src = p.source.lower()
    rank = 0
    for i, pref in enumerate(source_preference):
        name = pref.lower()
        if name and (name == src or name in src):
            rank = len(source_preference) - i
            break
    whole = not any(t.startswith(p.title + " ") for t in titles) if p.title else False
    return Completeness(whole, rank, p.has_abstract, bool(p.doi), bool(p.first_page), len(p.authors), bool(p.volume),
                        bool(p.journal))


def choose_representative(members: Sequence[Prepared], source_preference: Sequence[str] = ()) -> Prepared:
    """The most complete record (a whole title, then source preference; see :func:`completeness`); ties go to
    the first in content order."""
    if len(members) == 1:
        return members[0]
    ranked = sorted(members, key=lambda p: p.sort_key)
    titles = [p.title for p in members]
    return max(ranked, key=lambda p: completeness(p, source_preference, titles).as_tuple())
