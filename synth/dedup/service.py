"""The thin I/O shell around the pure linkage core: read records and decisions from the store, run
:func:`~synth.dedup.core.deduplicate`, write clusters, links and events back. Each public function is one
transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synth.dedup.core import DedupResult, deduplicate
from synth.dedup.explain import explanation
from synth.dedup.vetoes import Policy
from synth.errors import InputError
from synth.store import dedup as sql
from synth.store.events import EventKind
from synth.store.records import iter_records

if TYPE_CHECKING:
    import sqlalchemy as sa

    from synth.protocol.model import Protocol
    from synth.store import Store


def policy_from_protocol(protocol: Protocol | None) -> Policy:
    """The linkage policy from the protocol's ``[dedup]`` table (defaults without a protocol)."""
    if protocol is None:
        return Policy()
    return Policy(keep_conference_abstracts=protocol.dedup.keep_conference_abstracts,
                  source_preference=tuple(protocol.dedup.source_preference))


def _links(result: DedupResult) -> list[sql.LinkRow]:
    out: list[sql.LinkRow] = []
    for cluster in result.clusters:
        for comp in cluster.links:
            a, b = sql.pair(comp.a, comp.b)
            out.append(sql.LinkRow(a, b, "match", comp.rule, comp.score, comp.as_dict()))
    for comp in result.maybe_pairs:
        a, b = sql.pair(comp.a, comp.b)
        out.append(sql.LinkRow(a, b, "maybe", comp.rule, comp.score, comp.as_dict()))
    return out


def run_in(conn: sa.Connection, policy: Policy, *, actor: str = "") -> dict[str, Any]:
    """Deduplicate every record inside the caller's transaction; see :func:`run`."""
    decisions = sql.load_decisions(conn)
    result = deduplicate(sql.iter_linkage_records(conn), policy, decisions)
    changed = sql.write_assignments(conn, result.assignments())
    sql.replace_links(conn, _links(result))
    summary: dict[str, Any] = dict(result.summary())
    summary["changed"] = changed
    summary["compared_pairs"] = result.compared
    summary["decisions"] = len(decisions)
    if changed:
        payload = dict(summary)
        payload["action"] = "run"
        payload["by_source"] = sql.summary(conn)["by_source"]
        sql.log_event(conn, EventKind.DEDUP_MERGE, payload, actor=actor, subject="all records")
    return summary


def run(store: Store, policy: Policy, *, actor: str = "") -> dict[str, Any]:
    """Deduplicate every record: cluster, choose representatives, store links and maybe pairs.

    Idempotent: a second run with the same records and decisions changes nothing and logs no event.
    Returns ``{records, clusters, duplicates, maybe_pairs, changed, compared_pairs, decisions}``.
    """
    with store.begin() as conn:
        return run_in(conn, policy, actor=actor)


def _require(conn: sa.Connection, record_id: int) -> None:
    if not sql.record_exists(conn, record_id):
        raise InputError(f"no record with id {record_id}. List record ids with `synth records list`.")


def explain(store: Store, record_id: int, policy: Policy) -> dict[str, Any]:
    """Why ``record_id`` is in its cluster: members, representative and why, the links that joined them,
    people's decisions, and open maybe pairs (see :func:`synth.dedup.explain.explanation`)."""
    with store.connect() as conn:
        _require(conn, record_id)
        members = sql.cluster_of(conn, record_id)
        loaded = dict(iter_records(conn, members))
        links = sql.links_for(conn, members, "match")
        maybes = sql.links_for(conn, [record_id], "maybe")
        decisions = sql.load_decisions(conn)
        duplicate_of = sql.duplicate_of_map(conn, members)
    return explanation(record_id, loaded, duplicate_of, links, maybes, decisions, policy)


def split(store: Store, record_id: int, policy: Policy, *, actor: str = "") -> dict[str, Any]:
    """Take ``record_id`` out of its cluster for good: record "different" against every other member, re-run.

    Reversible: the decisions are ordinary pair decisions (``synth dedup reset --forget-decisions`` or a
    "same" in review undoes them).
    """
    with store.begin() as conn:
        _require(conn, record_id)
        members = sql.cluster_of(conn, record_id)
        others = [m for m in members if m != record_id]
        if not others:
            raise InputError(f"record {record_id} is not in a cluster with other records; nothing to split. "
                             "See `synth dedup explain` for its links.")
        for other in others:
            sql.set_decision(conn, record_id, other, "different", actor=actor)
        sql.log_event(conn, EventKind.DEDUP_SPLIT, {"action": "split", "record": record_id, "from": others},
                      actor=actor, subject=str(record_id))
        summary = run_in(conn, policy, actor=actor)
    summary["split"] = record_id
    summary["separated_from"] = others
    return summary


def decide(store: Store, a: int, b: int, decision: str, *, actor: str = "") -> None:
    """Record a person's decision on a pair ("same" or "different") and log it."""
    if decision not in ("same", "different"):
        raise InputError(f"decision must be 'same' or 'different', not {decision!r}.")
    with store.begin() as conn:
        _require(conn, a)
        _require(conn, b)
        sql.set_decision(conn, a, b, decision, actor=actor)
        kind = EventKind.DEDUP_MERGE if decision == "same" else EventKind.DEDUP_SPLIT
        sql.log_event(conn, kind, {"action": "review", "records": list(sql.pair(a, b)), "decision": decision},
                      actor=actor, subject=f"{min(a, b)}-{max(a, b)}")


def undo(store: Store, a: int, b: int, *, actor: str = "") -> bool:
    """Forget a person's decision on a pair; True if there was one."""
    with store.begin() as conn:
        removed = sql.remove_decision(conn, a, b)
        if removed:
            sql.log_event(conn, EventKind.DEDUP_SPLIT, {"action": "undo", "records": list(sql.pair(a, b))},
                          actor=actor, subject=f"{min(a, b)}-{max(a, b)}")
    return removed


def reset(store: Store, *, forget_decisions: bool = False, actor: str = "") -> dict[str, int]:
    """Remove every cluster assignment and link (records themselves are never touched); optionally also every
    decision people made. Logged as ``dedup_reset``."""
    with store.begin() as conn:
        cleared = sql.clear(conn, forget_decisions=forget_decisions)
        sql.log_event(conn, EventKind.DEDUP_RESET, dict(cleared), actor=actor, subject="all records")
    return cleared


def summary(store: Store) -> dict[str, Any]:
    """Current counts without running anything."""
    with store.connect() as conn:
        return sql.summary(conn)


def maybe_pairs(store: Store) -> list[sql.LinkRow]:
    """Open maybe pairs, best first."""
    with store.connect() as conn:
        return sql.maybe_links(conn)


def load_pair(store: Store, a: int, b: int) -> tuple[Any, Any]:
    """The two records of a pair, for display."""
    with store.connect() as conn:
        loaded = dict(iter_records(conn, [a, b]))
    return loaded[a], loaded[b]
