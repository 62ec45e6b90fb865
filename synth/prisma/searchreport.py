"""PRISMA-S (Rethlefsen et al. 2021, Syst Rev 10:39) text from the search log: a pure function of plain rows.

Items an API-driven tool can log (1 database and platform, 8 strategy exactly as sent, 9 limits, 13 dates,
15 records per source, 16 deduplication) are written from the stored search runs and imports; items no log
can know (e.g. 14 peer review of the strategy) are stated as not recorded rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from synth.safetext import markdown_safe


def _limits(limits: Mapping[str, Any] | None) -> str:
    limits = limits or {}
    parts = []
    if limits.get("filter"):
        parts.append(f"filter `{limits['filter']}`")
    if limits.get("date_from") or limits.get("date_to"):
        parts.append(f"publication dates {limits.get('date_from') or '(any)'} to {limits.get('date_to') or '(any)'}")
    if limits.get("languages"):
        parts.append("languages " + ", ".join(map(str, limits["languages"])))
    if limits.get("max_records"):
        parts.append(f"first {limits['max_records']} records only")
    return "; ".join(parts) or "none"


def _fenced(query: str) -> list[str]:
    """A query as an indented code block whose fence is longer than any backtick run in the query, so the
    query is shown as written and cannot end the block early."""
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", query)), default=0))
    return [f"  {fence}", "  " + query.replace("\n", "\n  "), f"  {fence}"]


def search_report(
    runs: Sequence[Mapping[str, Any]],
    imports: Sequence[Mapping[str, Any]] = (),
    file_sources: Sequence[Mapping[str, Any]] = (),
    identified: Mapping[str, int] | None = None,
    dedup: Mapping[str, Any] | None = None,
    *,
    title: str = "",
) -> str:
    """Markdown text answering the 16 PRISMA-S items.

    Parameters
    ----------
    runs
        Search runs (``search_runs`` rows): ``database``, ``kind``, ``endpoint``, ``query``, ``limits``,
        ``started_at``, ``finished_at``, ``status``, ``hits``, ``retrieved``, ``new``, ``known``, ``mode``.
    imports
        Imported files (``imports`` rows): ``file``, ``source``, ``kind``, ``format``, ``at``, ``records_found``.
    file_sources
        The protocol's declared file sources (``database``, ``platform``, ``searched_on``, ``query``, ``kind``).
    identified
        Records stored per source before deduplication (the PRISMA counts' per-source numbers).
    dedup
        ``{"events": [...]}`` dedup events (tool, rules, parameters).
    """
    lines: list[str] = [f"# PRISMA-S search report{': ' + title if title else ''}", ""]
    completed = [r for r in runs if r.get("status") in ("complete", "completed", "done", "ok")] or list(runs)
    db_runs = [r for r in completed if (r.get("kind") or "database") == "database"]
    reg_runs = [r for r in completed if r.get("kind") == "register"]
    declared = {str(f.get("database")): f for f in file_sources}

    lines.append("## Information sources and methods")
    lines.append("")
    names = sorted({f"{r['database']} (interface: {r.get('endpoint') or 'not recorded'})" for r in db_runs}
                   | {f"{i['source']} (export file, platform: "
                      f"{declared.get(str(i['source']), {}).get('platform') or 'not recorded'})"
                      for i in imports if (i.get("kind") or "database") == "database"})
    lines.append("**Item 1 – Database name.** " + ("; ".join(names) + "." if names else "No database search is recorded."))
    multi = sorted({str(r.get("endpoint")) for r in db_runs if r.get("endpoint")})
    lines.append("**Item 2 – Multi-database searching.** " + (
        f"Each database was searched separately through its own interface ({', '.join(multi)})." if multi else
        "No multi-database platform search is recorded."))
    regs = sorted({str(r["database"]) for r in reg_runs} | {str(i["source"]) for i in imports if i.get("kind") == "register"})
    lines.append("**Item 3 – Study registries.** " + (", ".join(regs) + "." if regs else "No study register was searched."))
    web = [i for i in imports if i.get("kind") in ("website", "organisation")]
    lines.append("**Item 4 – Online resources and browsing.** " + (
        "; ".join(f"{i['source']} ({i['kind']}, file {i['file']})" for i in web) + "." if web else
        "None recorded."))
    cit = [i for i in imports if i.get("kind") == "citation"]
    lines.append("**Item 5 – Citation searching.** " + (
        "; ".join(f"{i['source']} ({i.get('records_found', '?')} records)" for i in cit) + "." if cit else
        "None recorded."))
    lines.append("**Item 6 – Contacts.** None recorded.")
    oth = [i for i in imports if i.get("kind") == "other"]
    lines.append("**Item 7 – Other methods.** " + ("; ".join(str(i["source"]) for i in oth) + "." if oth else "None recorded."))
    lines.append("")
    lines.append("## Search strategies")
    lines.append("")
    lines.append("**Item 8 – Full search strategies**, exactly as sent or as declared with the export:")
    lines.append("")
    for r in completed:
        lines.append(f"- {r['database']} ({r.get('mode') or 'run'}, {r.get('started_at') or 'date not recorded'}):")
        lines.append("")
        lines += _fenced(str(r.get("query") or ""))
    for name, f in declared.items():
        if f.get("query"):
            lines.append(f"- {name} ({f.get('platform') or 'platform not recorded'}, searched "
                         f"{f.get('searched_on') or 'date not recorded'}):")
            lines.append("")
            lines += _fenced(str(f["query"]))
    if not completed and not any(f.get("query") for f in declared.values()):
        lines.append("- No strategy is recorded.")
    lines.append("")
    lines.append("**Item 9 – Limits and restrictions.** " + ("; ".join(
        f"{r['database']}: {_limits(r.get('limits'))}" for r in completed) or "None recorded.") + "")
    lines.append("**Item 10 – Search filters.** Any methodological filter is part of the strategy quoted under item 8.")
    lines.append("**Item 11 – Prior work.** None recorded.")
    updates = [r for r in completed if r.get("mode") not in (None, "", "run")]
    lines.append("**Item 12 – Updates.** " + (
        "; ".join(f"{r['database']} {r['mode']} on {r.get('started_at')}" for r in updates) + "." if updates else
        "No update searches recorded."))
    dates = [f"{r['database']}: {r.get('started_at') or 'not recorded'}" for r in completed]
    dates += [f"{n}: {f.get('searched_on') or 'not recorded'}" for n, f in declared.items()]
    lines.append("**Item 13 – Dates of searches.** " + ("; ".join(dates) + "." if dates else "None recorded."))
    lines.append("")
    lines.append("## Peer review")
    lines.append("")
    lines.append("**Item 14 – Peer review.** No peer review of the search strategies (e.g. PRESS) is recorded.")
    lines.append("")
    lines.append("## Managing records")
    lines.append("")
    lines.append("**Item 15 – Total records.** Records identified per source before deduplication:")
    lines.append("")
    lines.append("| source | records stored | hits reported by the source |")
    lines.append("|---|---:|---:|")
    hits: dict[str, int] = {}
    for r in completed:
        if r.get("hits") is not None:
            hits[str(r["database"])] = hits.get(str(r["database"]), 0) + int(r["hits"])
    for name in sorted(set(identified or {}) | set(hits)):
        lines.append(f"| {name} | {(identified or {}).get(name, '')} | {hits.get(name, '')} |")
    lines.append("")
    events = (dedup or {}).get("events") or []
    if events:
        last = events[-1]
        payload = last.get("payload") or {}
        summary = ", ".join(f"{k}={v}" for k, v in payload.items() if not isinstance(v, (list, dict)))
        lines.append(f"**Item 16 – Deduplication.** Records were deduplicated with synth's dedup module "
                     f"({len(events)} dedup events; last at {last.get('at')}: {summary or 'no parameters recorded'}).")
    else:
        lines.append("**Item 16 – Deduplication.** No deduplication run is recorded.")
    text = "\n".join(lines)
    # Each item is its own paragraph in Markdown.
    text = re.sub(r"\n(\*\*Item )", r"\n\n\1", text)
    return markdown_safe(re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n")
