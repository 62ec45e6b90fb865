"""Explaining a cluster: which links (rule and field similarities) joined a record to the others, why the
representative was chosen, which decisions people made, and which uncertain pairs remain. Pure: the caller
passes what the store holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from synth.dedup.cluster import completeness
from synth.dedup.normalise import prepare
from synth.dedup.vetoes import Policy
from synth.records.model import Record


class Link(Protocol):
    record_a: int
    record_b: int
    rule: str
    score: float
    detail: dict[str, Any]


def completeness_dict(record_id: int, record: Record, policy: Policy,
                      members: Mapping[int, Record] | None = None) -> dict[str, Any]:
    """Why a record represents its cluster: the completeness tuple, field by field (higher wins, in order)."""
    titles = [prepare(rid, r).title for rid, r in (members or {}).items()]
    c = completeness(prepare(record_id, record), policy.source_preference, titles)
    return {"complete_title": c.complete_title, "preferred_source_rank": c.preferred_source, "abstract": c.abstract, "doi": c.doi, "pages": c.pages,
            "authors": c.authors, "volume": c.volume, "journal": c.journal}


def explanation(
    record_id: int,
    members: Mapping[int, Record],
    duplicate_of: Mapping[int, int | None],
    links: Iterable[Link],
    maybes: Iterable[Link],
    decisions: Mapping[tuple[int, int], str],
    policy: Policy,
) -> dict[str, Any]:
    """The explanation of ``record_id``'s cluster as a JSON-ready dict."""
    ids = sorted(members)
    representative = next((rid for rid in ids if duplicate_of.get(rid) is None), record_id)
    return {
        "record": record_id,
        "cluster": ids[0],
        "representative": representative,
        "sources": sorted({members[rid].provenance.source for rid in ids if members[rid].provenance.source}),
        "representative_because": completeness_dict(representative, members[representative], policy, members),
        "members": [
            {"id": rid, "title": members[rid].title, "year": members[rid].year,
             "source": members[rid].provenance.source, "doi": members[rid].doi,
             "duplicate_of": duplicate_of.get(rid)}
            for rid in ids
        ],
        "links": [{"a": lk.record_a, "b": lk.record_b, "rule": lk.rule,
                   "similarities": lk.detail.get("similarities", {})}
                  for lk in links if lk.record_a in members and lk.record_b in members],
        "maybe_pairs": [{"a": lk.record_a, "b": lk.record_b, "rule": lk.rule, "score": round(lk.score, 4),
                         "similarities": lk.detail.get("similarities", {}), "vetoes": lk.detail.get("vetoes", [])}
                        for lk in maybes],
        "decisions": [{"a": a, "b": b, "decision": d} for (a, b), d in sorted(decisions.items())
                      if record_id in (a, b)],
    }


def _similarities(values: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value:.2f}" if isinstance(value, float) else f"{name} {value}"
                     for name, value in values.items() if value is not None)


def evidence_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per pair in an :func:`explanation`: the links that joined the cluster, people's decisions and
    open maybe pairs, each with its rule and field similarities, for a table."""
    rows = [{"pair": f"{lk['a']} + {lk['b']}", "kind": "merged", "rule": lk["rule"],
             "similarities": _similarities(lk["similarities"])} for lk in data["links"]]
    rows += [{"pair": f"{d['a']} + {d['b']}", "kind": "decision", "rule": d["decision"], "similarities": ""}
             for d in data["decisions"]]
    rows += [{"pair": f"{m['a']} + {m['b']}", "kind": "maybe", "rule": f"{m['rule']} (score {m['score']})",
              "similarities": _similarities(m["similarities"])
              + (f"; vetoes: {', '.join(map(str, m['vetoes']))}" if m["vetoes"] else "")}
             for m in data["maybe_pairs"]]
    return rows
