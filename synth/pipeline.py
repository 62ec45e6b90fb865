"""`synth run`: the main job, every pipeline stage in order for the workspace's protocol.

Each stage is a small function taking the :class:`RunContext` and returning a :class:`StageResult`. Offline (the
default) the search stage is skipped and the run works from what is stored and bundled: the protocol's
``[[sources.files]]`` exports, ``data/<protocol>/screening-history.csv`` and ``extractions/<protocol>/``. Every stage
is idempotent, so running again changes nothing unless an input changed. The run writes ``out/<protocol>/``:
``report.html``, ``report.md``, ``evidence.json``, ``prisma.json|csv|svg|png``, ``search-report.md``, ``meta/`` (one
JSON per outcome), ``figures/`` (SVG) and ``summary.json``/``summary.md``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synth import __version__
from synth.analysis.options import pool_options
from synth.analysis.outcome import outcome_analysis
from synth.dedup import service as dedup
from synth.errors import InputError, SynthError
from synth.evidence import evidence_from_workspace
from synth.extraction import eligibility
from synth.extraction.files import load_folder
from synth.extraction.screening_link import included_studies, study_record_ids, unextracted
from synth.extraction.validate import check_included, validate_files
from synth.figures.forest import arms_for, forest_svg
from synth.importers.pipeline import import_file
from synth.prisma import prisma_from_store, search_report_from_store, write_outputs
from synth.protocol import Protocol, load_protocol
from synth.report.render import figure_svgs, write_figures, write_report
from synth.screening import service as screening
from synth.screening.history import apply_history
from synth.sources.errors import NetworkError, SearchError
from synth.sources.runner import make_source, run_source
from synth.sources.session import make_client, select_strategies
from synth.store import EventKind, Store, open_store
from synth.store.events import append, utc_now
from synth.store.records import count_records
from synth.wording import count
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
    files: list[Any] = field(default_factory=list)
    ma_studies: set[str] = field(default_factory=set)
    #: studies included at full text (None before full-text screening: every reconciled extraction is used)
    included: set[str] | None = None
    forests: dict[str, str] = field(default_factory=dict)
    notify: Callable[[str], None] | None = None
    prisma: dict[str, Any] | None = None
    conclusion: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class StageResult:
    stage: str
    status: str  # "done", "skipped", "problems" or "failed"
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
    conclusion: str = ""
    warnings: list[str] = field(default_factory=list)


def _protocol(rc: RunContext) -> StageResult:
    rc.protocol = load_protocol(rc.protocol_path)
    p = rc.protocol
    return StageResult(
        "protocol", "done", f"{rc.protocol_path.name} is valid",
        {"criteria": len(p.criteria), "outcomes": len(p.outcomes), "sources": len(p.sources.api_sources())},
    )


def _store(rc: RunContext) -> StageResult:
    rc.store = open_store(rc.db_url)

    with rc.store.connect() as conn:
        n = count_records(conn)
    return StageResult("store", "done", f"{n} records in the store", {"records": n, "db": rc.store.display_url})


def _ready(rc: RunContext) -> tuple[Protocol, Store]:
    assert rc.protocol is not None and rc.store is not None, "protocol and store stages run first"
    return rc.protocol, rc.store


def _search(rc: RunContext) -> StageResult:
    """Search the protocol's API sources, only when asked to (``--online``); offline, stored records stand."""
    p, store = _ready(rc)
    configured = [n for n, s in p.sources.api_sources().items() if s.enabled]
    if rc.offline:
        return StageResult("search", "skipped", f"offline: {len(configured)} configured source(s) not searched "
                           "(synth run --online, or synth search run)", {"sources": configured})
    if not configured:
        return StageResult("search", "skipped", "the protocol has no enabled API sources")

    client = make_client(None, notify=rc.notify)
    results: list[Any] = []
    errors: list[str] = []
    unreached: list[str] = []
    for strategy in select_strategies(p, [], None):
        if unreached:  # the network is down: the other sources would fail the same way, after the same retries
            unreached.append(strategy.source)
            continue
        try:
            results.append(run_source(store, client, make_source(strategy.source, client.settings), strategy))
        except NetworkError as exc:
            errors.append(str(exc))
            unreached.append(strategy.source)
        except SearchError as exc:
            errors.append(str(exc))
    fresh = [r for r in results if not r.skipped]
    new = sum(r.new for r in fresh)
    details = {"runs": [{"source": r.source, "status": r.status, "retrieved": r.retrieved,
                         "new": 0 if r.skipped else r.new, "already_searched": r.skipped} for r in results],
               "errors": errors, "not_reached": unreached}
    rc.warnings += errors
    if len(unreached) > 1:
        rc.warnings.append(f"no network: {', '.join(unreached[1:])} not searched after {unreached[0]} could not be "
                           "reached; the run used what is stored (run again, or `synth search run`, when online)")
    parts = [f"{len(fresh)} source(s) searched, {new} new records"]
    if len(fresh) < len(results):
        parts.append(f"{len(results) - len(fresh)} already searched (synth search update searches again)")
    if errors:
        parts.append(f"{len(errors)} failed" + (" (network unreachable: stored records used)" if unreached else "")
                     + "; see the warnings")
    # a source that could not be searched leaves the search the protocol asked for incomplete
    return StageResult("search", "failed" if errors else "done", "; ".join(parts), details)


def _import(rc: RunContext) -> StageResult:
    """Import every ``[[sources.files]]`` export (a file already imported is recognised and not re-added)."""
    p, store = _ready(rc)
    if not p.sources.files:
        return StageResult("import", "skipped", "the protocol declares no export files (sources.files)")

    added = found = 0
    reports = []
    for f in p.sources.files:
        path = (rc.workspace.root / f.path).resolve()
        if not path.is_file():
            raise InputError(f"{rc.protocol_path.name}: sources.files path '{f.path}' does not exist in "
                             f"{rc.workspace.root}. Fix the path or remove the [[sources.files]] entry.")
        rep = import_file(store, path, source=f.database, fmt=f.format, kind=f.kind)
        added += rep.added
        found += rep.records_found
        rc.warnings += [f"{f.path}: {w}" for w in rep.warnings if "already imported" not in w]
        reports.append({"file": f.path, "status": rep.status, "records": rep.records_found, "added": rep.added,
                        "skipped": len(rep.skipped)})
    return StageResult("import", "done", f"{len(p.sources.files)} file(s), {found} records, {added} new",
                       {"files": reports})


def _dedup(rc: RunContext) -> StageResult:
    p, store = _ready(rc)

    res = dedup.run(store, dedup.policy_from_protocol(p), actor="synth run")
    return StageResult("dedup", "done", f"{res['records']} records in {res['clusters']} clusters: "
                       f"{res['duplicates']} duplicates, {res['maybe_pairs']} maybe pairs to review",
                       {k: res[k] for k in ("records", "clusters", "duplicates", "maybe_pairs")})


def _screening(rc: RunContext) -> StageResult:
    """Apply the review's bundled screening history (adopted decisions), then report where screening stands."""
    p, store = _ready(rc)

    settings = screening.Settings.from_protocol(p)
    details: dict[str, Any] = {}
    history = rc.workspace.data_dir(rc.protocol_path.stem) / "screening-history.csv"
    if history.is_file():
        rep = apply_history(store, settings, history)
        details["history"] = {"file": str(history.relative_to(rc.workspace.root)), "rows": rep.rows,
                              "applied": rep.applied, "already": rep.already}
        rc.warnings += rep.problems
    stages = screening.status(store, settings)
    details["stages"] = [{k: v for k, v in s.items() if k != "reviewers"} for s in stages]
    parts = []
    for s in stages:
        counts = ", ".join(f"{s[k]} {k}" for k in ("included", "excluded", "pending", "conflicts") if s.get(k))
        adopted = f" ({s['resolved']} resolved)" if s.get("resolved") else ""
        parts.append(f"{s['stage']}: {counts or 'nothing to screen'}{adopted}")
    return StageResult("screening", "done", "; ".join(parts), details)


def _eligibility(rc: RunContext) -> StageResult:
    """Assess every extracted study against the protocol's criteria that have a rule (``requires``), and
    exclude at full text those that fail one (:mod:`synth.extraction.eligibility`)."""
    p, store = _ready(rc)
    if not any(c.requires is not None for c in p.criteria):
        return StageResult("eligibility", "skipped", "no criterion in the protocol has a rule (criteria.requires)")
    files, _ = load_folder(rc.workspace.extractions_dir(rc.protocol_path.stem))
    rep = eligibility.record(store, p, files)
    excluded = rep.excluded or {}
    unclear = rep.not_assessable or []
    reasons = {c.id: c.label for c in p.criteria}
    by_reason = Counter(reasons.get(criterion, criterion) for criterion in excluded.values())
    if rep.not_started:
        rc.warnings.append("eligibility: full-text screening has not started, so no rule exclusion was recorded")
    if rep.stale:
        rc.warnings.append(f"eligibility: no longer failing the protocol rule that excluded them in an earlier run: "
                           f"{', '.join(rep.stale)}; the exclusion stands until a person decides (synth screen)")
    if rep.kept_by_people:
        rc.warnings.append(f"eligibility: failing a protocol rule but included at full text by a person: "
                           f"{', '.join(rep.kept_by_people)}; the decision stands (review it: synth screen)")
    if unclear:
        rc.warnings.append(f"eligibility: {count(len(unclear), 'study', 'studies')} not assessable by the protocol's rules "
                           f"(the extraction does not record the field): {', '.join(unclear[:8])}"
                           + (", ..." if len(unclear) > 8 else ""))
    text = (f"{count(rep.assessed, 'study', 'studies')} assessed by rule, {len(excluded)} excluded"
            + (f" ({'; '.join(f'{k}: {v}' for k, v in by_reason.items())})" if by_reason else "")
            + f", {len(unclear)} not assessable")
    return StageResult("eligibility", "done", text, {"excluded": excluded, "not_assessable": unclear,
                                                     "recorded": rep.recorded})


def _extraction(rc: RunContext) -> StageResult:
    p, store = _ready(rc)

    name = rc.protocol_path.stem
    files, problems = load_folder(rc.workspace.extractions_dir(name))
    problems += validate_files(files, p, name)
    with store.connect() as conn:
        included = included_studies(conn, p, files)
        by_rule = eligibility.excluded_by_rule(conn, p, files)
    if included is not None:
        problems += check_included([f for f in files if f.study not in by_rule], included)
    rc.included = included
    rc.files = files
    reconciled = sum(1 for f in files if f.reconciled)
    rc.warnings += [f"{x.file}: {x.path}: {x.message}" for x in problems[:20]]
    if len(problems) > 20:
        rc.warnings.append(f"... and {len(problems) - 20} more extraction problems (synth extract check)")
    return StageResult("extraction", "done" if not problems else "problems",
                       f"{len(files)} files ({reconciled} reconciled), {count(len(problems), 'problem')}"
                       + (" (synth extract check)" if problems else ""),
                       {"files": len(files), "reconciled": reconciled, "problems": len(problems)})


def _meta(rc: RunContext) -> StageResult:
    """Every planned outcome: the pooled estimate, the high-risk sensitivity analysis and planned subgroups,
    written to ``meta/<outcome>.json`` with a forest plot in ``figures/``."""
    p, _ = _ready(rc)
    assert rc.out_dir is not None

    opts = pool_options(p.analysis)
    wanted = set(p.analysis.outcomes) or {o.id for o in p.outcomes}
    (rc.out_dir / "meta").mkdir(exist_ok=True)
    (rc.out_dir / "figures").mkdir(exist_ok=True)
    pooled: dict[str, int] = {}
    skipped: dict[str, str] = {}
    for o in p.outcomes:
        if o.id not in wanted:
            continue
        try:
            res = outcome_analysis(rc.workspace, p, o.id, protocol_name=rc.protocol_path.stem, opts=opts,
                                   studies=rc.included)
        except SynthError as exc:  # no data, or data the engine refuses: said per outcome, the run goes on
            skipped[o.id] = str(exc)
            continue
        k = int(res["pool"]["k"])
        if k < p.analysis.min_k:
            skipped[o.id] = f"{k} study (the plan pools from {p.analysis.min_k})"
        else:
            pooled[o.id] = k
            rc.ma_studies.update(str(x) for x in res["frame"]["study_id"])
        # one forest per outcome with data: this file, and the same drawing in the report
        rc.forests[o.id] = forest_svg(res["table"], opts, overall=res["pool"], arms=arms_for(p, o.id))
        (rc.out_dir / "figures" / f"forest-{o.id}.svg").write_text(rc.forests[o.id], encoding="utf-8")
        data = {k2: v for k2, v in res.items() if k2 not in ("frame", "table")}
        (rc.out_dir / "meta" / f"{o.id}.json").write_text(json.dumps(data, indent=2, default=str) + "\n",
                                                          encoding="utf-8")
    return StageResult("meta", "done", f"{len(pooled)} of {len(wanted)} planned outcomes pooled; "
                       f"{len(skipped)} not poolable", {"pooled": pooled, "not_pooled": skipped})


def _prisma(rc: RunContext) -> StageResult:
    p, store = _ready(rc)
    assert rc.out_dir is not None

    with store.connect() as conn:
        ma_ids = study_record_ids(conn, p, rc.files, rc.ma_studies)
    rc.prisma = prisma_from_store(store, p, meta_analysis_record_ids=ma_ids)
    paths = write_outputs(rc.prisma, rc.out_dir, png=True)
    rc.warnings += [f"PRISMA: {w}" for w in rc.prisma.get("warnings", [])]
    d = rc.prisma
    identified = sum(int(d.get(k) or 0) for k in ("database_results", "register_results", "website_results",
                                                   "organisation_results", "citations_results"))
    return StageResult("prisma", "done", f"{identified} records identified, {d.get('total_studies', 0)} studies "
                       f"included; {count(len(d.get('warnings', [])), 'warning')}",
                       {"files": sorted(str(x.name) for x in paths.values())})


def _evidence(rc: RunContext) -> StageResult:
    p, store = _ready(rc)
    assert rc.out_dir is not None

    with store.connect() as conn:
        missing = unextracted(conn, p, [f for f in rc.files if f.reconciled])
    ev = evidence_from_workspace(rc.workspace, p, rc.protocol_path.stem, prisma=rc.prisma, not_extracted=missing,
                                 studies=rc.included)
    svgs = figure_svgs(ev, rc.forests)
    paths = write_report(ev, rc.out_dir, svgs=svgs)
    figures = write_figures(ev, rc.out_dir / "figures", svgs)
    (rc.out_dir / "search-report.md").write_text(search_report_from_store(store, p), encoding="utf-8")
    rc.conclusion = str(ev["conclusion"]["text"])
    return StageResult("evidence", "done", f"{len(ev['outcomes'])} outcomes assessed; report.html, evidence.json "
                       f"and {len(figures)} figures", {"files": sorted(x.name for x in paths.values())})


STAGES: list[tuple[str, Callable[[RunContext], StageResult]]] = [
    ("protocol", _protocol),
    ("store", _store),
    ("search", _search),
    ("import", _import),
    ("dedup", _dedup),
    ("screening", _screening),
    ("eligibility", _eligibility),
    ("extraction", _extraction),
    ("meta", _meta),
    ("prisma", _prisma),
    ("evidence", _evidence),
]


def run(
    workspace: Workspace,
    protocol_path: Path,
    db_url: str,
    *,
    offline: bool = True,
    on_stage: Callable[[str], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run every stage in order and write the summary to ``out/<protocol>/``; ``notify`` is told about
    waits (an API retrying) while a stage runs."""
    started = utc_now()
    rc = RunContext(workspace, protocol_path, db_url, offline=offline, notify=notify)
    rc.out_dir = workspace.out_dir(protocol_path.stem)
    rc.out_dir.mkdir(parents=True, exist_ok=True)
    results: list[StageResult] = []
    try:
        for name, stage in STAGES:
            if on_stage:
                on_stage(name)
            results.append(stage(rc))
        summary = RunSummary(
            protocol=protocol_path.stem, started=started, finished=utc_now(), version=__version__,
            out_dir=str(rc.out_dir), stages=results, conclusion=rc.conclusion, warnings=rc.warnings,
        )
        write_summary(summary, rc.out_dir)
        if rc.store is not None:
            with rc.store.begin() as conn:
                append(conn, EventKind.RUN, {"stages": [asdict(r) for r in results]}, subject=summary.protocol)
    finally:
        if rc.store is not None:
            rc.store.close()
    return summary


def write_summary(summary: RunSummary, out_dir: Path) -> None:
    data = asdict(summary)
    (out_dir / "summary.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    lines = [f"# synth run: {summary.protocol}", "", f"synth {summary.version}, {summary.started} to {summary.finished}", "",
             "| stage | status | result |", "|---|---|---|"]
    lines += [f"| {r.stage} | {r.status} | {r.message} |" for r in summary.stages]
    if summary.conclusion:
        lines += ["", "## Conclusion", "", summary.conclusion]
    if summary.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in summary.warnings]
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
