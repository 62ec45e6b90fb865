"""The whole linkage run as one pure function: records (and human decisions) in, clusters and maybe pairs out.

Steps: prepare fields (:mod:`~synth.dedup.normalise`), block (:mod:`~synth.dedup.blocking`), compare
(:mod:`~synth.dedup.compare`, with :mod:`~synth.dedup.vetoes`), cluster (:mod:`~synth.dedup.cluster`). The
result depends only on record contents and decisions, not on input order: records are put in content order
first and every tie is broken by content.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from synth.dedup.blocking import candidate_pairs
from synth.dedup.cluster import FULL_CHECK_LIMIT, ConstrainedUnionFind, choose_representative
from synth.dedup.compare import Comparison, Decision, compare
from synth.dedup.normalise import Prepared, prepare, sources_numbering_records
from synth.dedup.vetoes import Policy, identifier_match, identifier_vetoes, vetoes
from synth.records.model import Record


class Human(StrEnum):
    """A person's decision on a pair."""

    same = "same"
    different = "different"


@dataclass
class Cluster:
    """A group of records judged to be one bibliographic item."""

    id: int
    members: list[int]
    representative: int
    sources: list[str]
    links: list[Comparison] = field(default_factory=list)

    @property
    def duplicates(self) -> list[int]:
        return [m for m in self.members if m != self.representative]


@dataclass
class DedupResult:
    """Clusters (singletons included), the uncertain pairs left for a person, and how many pairs were compared."""

    clusters: list[Cluster]
    maybe_pairs: list[Comparison]
    compared: int

    @property
    def records(self) -> int:
        return sum(len(c.members) for c in self.clusters)

    @property
    def duplicates(self) -> int:
        return sum(len(c.members) - 1 for c in self.clusters)

    def assignments(self) -> dict[int, tuple[int, int | None]]:
        """``key -> (cluster_id, duplicate_of)``; ``duplicate_of`` is None for representatives."""
        out: dict[int, tuple[int, int | None]] = {}
        for c in self.clusters:
            for m in c.members:
                out[m] = (c.id, None if m == c.representative else c.representative)
        return out

    def summary(self) -> dict[str, int]:
        return {
            "records": self.records,
            "clusters": len(self.clusters),
            "duplicates": self.duplicates,
            "maybe_pairs": len(self.maybe_pairs),
        }


def pair_key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def pair_vetoes(a: Prepared, b: Prepared, policy: Policy) -> list[str]:
    """The vetoes that apply between two records (fewer when they share an identifier)."""
    return identifier_vetoes(a, b, policy) if identifier_match(a, b) else vetoes(a, b, policy)


def deduplicate(
    records: Iterable[tuple[int, Record]],
    policy: Policy | None = None,
    decisions: Mapping[tuple[int, int], Human | str] | None = None,
) -> DedupResult:
    """Link duplicate records into clusters.

    Parameters
    ----------
    records
        ``(key, record)`` pairs; keys are unique ints (store ids).
    policy
        What counts as a duplicate (conference abstracts, source preference).
    decisions
        Human decisions on pairs ``(a, b)``: ``same`` forces a link, ``different`` forbids the two records
        from sharing a cluster. Pairs with a decision are never reported as maybe pairs.
    """
    policy = policy or Policy()
    human = {pair_key(a, b): Human(d) for (a, b), d in (decisions or {}).items()}
    prepared = sorted((prepare(k, r) for k, r in records), key=lambda p: p.sort_key)
    if policy.uses("issue_numbers_unique"):
        numbering = sources_numbering_records(prepared)
        for p in prepared:
            if p.source in numbering:
                p.issue = ""
    index = {p.key: i for i, p in enumerate(prepared)}
    if len(index) != len(prepared):
        raise ValueError("record keys must be unique")

    comparisons: list[tuple[int, int, Comparison]] = []
    for i, j in sorted(candidate_pairs(prepared)):
        comparisons.append((i, j, compare(prepared[i], prepared[j], policy)))

    cannot: dict[int, set[int]] = {}
    forced: list[tuple[int, int, Comparison]] = []
    for (a, b), d in sorted(human.items()):
        if a not in index or b not in index:
            continue
        i, j = sorted((index[a], index[b]))
        if d is Human.different:
            cannot.setdefault(i, set()).add(j)
            cannot.setdefault(j, set()).add(i)
        else:
            comp = compare(prepared[i], prepared[j], policy)
            forced.append((i, j, Comparison(comp.a, comp.b, Decision.match, "a person said same", 3.0,
                                            comp.similarities, comp.vetoes)))

    # strongest first: shared identifiers score 1 + title similarity, fuzzy rules their title similarity
    auto = [t for t in comparisons if t[2].decision is Decision.match and pair_key(t[2].a, t[2].b) not in human]
    auto.sort(key=lambda t: (-t[2].score, t[0], t[1]))

    uf = ConstrainedUnionFind(len(prepared), cannot)

    def compatible(xs: list[int], ys: list[int]) -> bool:
        if len(xs) * len(ys) > FULL_CHECK_LIMIT:
            dois = {prepared[k].doi for k in xs + ys if prepared[k].doi}
            return len(dois) <= 1
        for x in xs:
            px = prepared[x]
            for y in ys:
                py = prepared[y]
                if pair_key(px.key, py.key) in human:
                    continue
                if pair_vetoes(px, py, policy):
                    return False
        return True

    def human_compatible(xs: list[int], ys: list[int]) -> bool:
        return True  # a person's "same" outranks every automatic veto; only "different" can refuse it

    links: list[tuple[int, int, Comparison]] = []
    for i, j, comp in forced:
        if uf.union(i, j, human_compatible):
            links.append((i, j, comp))
    for i, j, comp in auto:
        ri, rj = uf.find(i), uf.find(j)
        if ri == rj:
            continue
        if uf.union(i, j, compatible):
            links.append((i, j, comp))

    groups = uf.groups()
    root_of = {m: g[0] for g in groups for m in g}
    links_by_group: dict[int, list[Comparison]] = {}
    for i, _j, comp in links:
        links_by_group.setdefault(root_of[i], []).append(comp)

    clusters: list[Cluster] = []
    for g in groups:
        if len(g) == 1:
            p = prepared[g[0]]
            clusters.append(Cluster(id=p.key, members=[p.key], representative=p.key,
                                    sources=[p.source] if p.source else []))
            continue
        members = [prepared[k] for k in g]
        rep = choose_representative(members, policy.source_preference)
        keys = sorted(p.key for p in members)
        clusters.append(Cluster(
            id=keys[0], members=keys, representative=rep.key,
            sources=sorted({p.source for p in members if p.source}),
            links=links_by_group.get(g[0], []),
        ))
    clusters.sort(key=lambda c: c.id)

    maybes = [
        comp for i, j, comp in comparisons
        if comp.decision is Decision.maybe and root_of[i] != root_of[j]
        and pair_key(comp.a, comp.b) not in human
    ]
    maybes.sort(key=lambda c: (-c.score, pair_key(c.a, c.b)))
    return DedupResult(clusters=clusters, maybe_pairs=maybes, compared=len(comparisons))
