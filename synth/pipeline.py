"""`synth run`: the main job, every pipeline stage in order for the workspace's protocol.

Each stage is a small function taking the :class:`RunContext` and returning a :class:`StageResult`; a stage
that is not built yet says so instead of pretending. The run ends by writing ``out/<protocol>/summary.json`` and
``summary.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synth import __version__
from synth.protocol import Protocol, load_protocol
from synth.store import EventKind, Store, open_store
from synth.store.events import append, utc_now
from synth.workspace import Workspace


@dataclass
class RunContext:
    workspace: Workspace
    protocol_path: Path
    db_url: str
    offline: bool = True
    protocol: Protocol | None = None
    store: Store | None = None
    out_dir: Path | None = None
    results: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageResult:
    stage: str
    status: str  # "done", "skipped" or "not available"
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    protocol: str
    started: str
    finished: str
    version: str
    out_dir: str
    stages: list[StageResult]


def _protocol(rc: RunContext) -> StageResult:
    rc.protocol = load_protocol(rc.protocol_path)
    p = rc.protocol
    return StageResult(
        "protocol", "done", f"{rc.protocol_path.name} is valid",
        {"criteria": len(p.criteria), "outcomes": len(p.outcomes), "sources": len(p.sources.api_sources())},
    )


def _store(rc: RunContext) -> StageResult:
    rc.store = open_store(rc.db_url)
    from synth.store.records import count_records

    with rc.store.connect() as conn:
        n = count_records(conn)
    return StageResult("store", "done", f"{n} records in the store", {"records": n, "db": _safe_url(rc.db_url)})


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _not_yet(stage: str, issue: int) -> Callable[[RunContext], StageResult]:
    def run(_rc: RunContext) -> StageResult:
        return StageResult(stage, "not available", f"not built yet (issue #{issue})")

    return run


STAGES: list[tuple[str, Callable[[RunContext], StageResult]]] = [
    ("protocol", _protocol),
    ("store", _store),
    ("search", _not_yet("search", 5)),
    ("import", _not_yet("import", 4)),
    ("dedup", _not_yet("dedup", 6)),
    ("screening", _not_yet("screening", 7)),
    ("extraction", _not_yet("extraction", 8)),
    ("meta", _not_yet("meta", 3)),
    ("prisma", _not_yet("prisma", 9)),
    ("evidence", _not_yet("evidence", 9)),
]


def run(
    workspace: Workspace,
    protocol_path: Path,
    db_url: str,
    *,
    offline: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run every stage in order and write the summary to ``out/<protocol>/``."""
    started = utc_now()
    rc = RunContext(workspace, protocol_path, db_url, offline=offline)
    rc.out_dir = workspace.out_dir(protocol_path.stem)
    rc.out_dir.mkdir(parents=True, exist_ok=True)
    results: list[StageResult] = []
    for name, stage in STAGES:
        if on_stage:
            on_stage(name)
        results.append(stage(rc))
    summary = RunSummary(
        protocol=protocol_path.stem, started=started, finished=utc_now(), version=__version__,
        out_dir=str(rc.out_dir), stages=results,
    )
    write_summary(summary, rc.out_dir)
    if rc.store is not None:
        with rc.store.begin() as conn:
            append(conn, EventKind.RUN, {"stages": [asdict(r) for r in results]}, subject=summary.protocol)
        rc.store.close()
    return summary


def write_summary(summary: RunSummary, out_dir: Path) -> None:
    data = asdict(summary)
    (out_dir / "summary.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    lines = [f"# synth run: {summary.protocol}", "", f"synth {summary.version}, {summary.started} to {summary.finished}", "",
             "| stage | status | result |", "|---|---|---|"]
    lines += [f"| {r.stage} | {r.status} | {r.message} |" for r in summary.stages]
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
