"""The PRISMA-S search log: one row per search run, written from what the runs stored.

Columns follow PRISMA-S (Rethlefsen et al. 2021, Syst Rev 10:39): item 1 database name (and item 3,
registers), the interface/endpoint, item 8 the full strategy exactly as sent, item 9 limits and
restrictions, item 12 updates (``mode``), item 13 the date searched (UTC start and end), item 15 records
per source (hits reported by the API, records retrieved, new vs already known), item 16 deduplication
(records linked to another source by DOI/PMID; final deduplication is ``synth dedup``).
"""

from __future__ import annotations

from typing import Any

COLUMNS = ["run", "database", "kind", "mode", "interface", "query", "limits", "date_searched", "finished",
           "hits", "retrieved", "new", "known", "linked", "status"]


def _limits(run: dict[str, Any]) -> str:
    limits = run.get("limits") or {}
    parts = []
    if limits.get("filter"):
        parts.append(f"filter: {limits['filter']}")
    if limits.get("date_from") or limits.get("date_to"):
        parts.append(f"dates: {limits.get('date_from') or '…'} to {limits.get('date_to') or '…'}")
    if limits.get("languages"):
        parts.append("languages: " + ", ".join(limits["languages"]))
    if limits.get("max_records"):
        parts.append(f"first {limits['max_records']} records only")
    return "; ".join(parts) or "none"


def rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One PRISMA-S row per run."""
    return [{
        "run": r["id"], "database": r["database"], "kind": r["kind"], "mode": r["mode"],
        "interface": r["endpoint"], "query": r["query"], "limits": _limits(r),
        "date_searched": r["started_at"], "finished": r["finished_at"] or "", "hits": r["hits"],
        "retrieved": r["retrieved"], "new": r["new"], "known": r["known"], "linked": r["linked"],
        "status": r["status"] + (f" ({r['error']})" if r["error"] and r["status"] != "complete" else ""),
    } for r in runs]


def json_log(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everything stored per run (parameters already redacted), for machines."""
    keep = ("id", "source", "database", "kind", "mode", "endpoint", "query", "limits", "params", "started_at",
            "finished_at", "status", "hits", "retrieved", "new", "known", "linked", "pages", "requests",
            "warnings", "error")
    return [{k: r[k] for k in keep} for r in runs]


def _cell(value: Any) -> str:
    return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")


def markdown(runs: list[dict[str, Any]]) -> str:
    """A PRISMA-S section for a report: a summary table, then each full strategy verbatim."""
    lines = ["## Search log (PRISMA-S)", "",
             "| Database / register | Interface | Date searched (UTC) | Limits | Hits | Retrieved | New | "
             "Already known | Status |",
             "|---|---|---|---|---:|---:|---:|---:|---|"]
    for row in rows(runs):
        name = row["database"] + (" (register)" if row["kind"] == "register" else "")
        name += " — update" if row["mode"] == "update" else ""
        lines.append("| " + " | ".join(_cell(v) for v in (
            name, row["interface"], row["date_searched"], row["limits"], row["hits"], row["retrieved"],
            row["new"], row["known"], row["status"])) + " |")
    lines.append("")
    for row in rows(runs):
        lines += [f"### Run {row['run']}: {row['database']}, searched {row['date_searched']}", "", "```text",
                  row["query"], "```", ""]
    total = sum(r["new"] for r in runs)
    linked = sum(r["linked"] for r in runs)
    lines.append(f"Records stored from all searches: {total}; {linked} matched a record from another source by "
                 "DOI or PMID when retrieved (deduplicated later with `synth dedup`).")
    return "\n".join(lines) + "\n"
