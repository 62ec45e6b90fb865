"""`synth search`: search PubMed, Europe PMC, OpenAlex, Crossref and ClinicalTrials.gov for the protocol's
strategies, resumably, and write the PRISMA-S search log."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from synth.cli.context import get
from synth.cli.output import emit_json, emit_table, info

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

HELP = ("Search PubMed, Europe PMC, OpenAlex, Crossref and ClinicalTrials.gov for the protocol's strategies.\n\n"
        "Example: synth search run --source pubmed")

SourceOpt = Annotated[list[str] | None, typer.Option(
    "--source", "-s", help="Search only this source (repeatable): pubmed, europepmc, openalex, crossref, "
    "clinicaltrials. Default: every enabled source in the protocol.")]
CacheOpt = Annotated[bool, typer.Option(
    "--cache", help="Keep API responses on disk (.synth/search-cache, keys redacted) and reuse them on re-runs.")]


class LogFormat(StrEnum):
    table = "table"
    json = "json"
    md = "md"


RESULT_COLUMNS = ["run", "source", "status", "hits", "retrieved", "new", "known", "pages", "requests"]


def _rows(results: list[Any]) -> list[dict[str, Any]]:
    return [{"run": r.run_id, "source": r.source,
             "status": r.status + (" (resumed)" if r.resumed else "") + (" (already searched)" if r.skipped else ""),
             "hits": r.hits, "retrieved": r.retrieved, "new": r.new, "known": r.known, "pages": r.pages,
             "requests": r.requests} for r in results]


def _run(ctx: typer.Context, sources: list[str] | None, max_records: int | None, cache: bool, mode: str) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from synth.sources.errors import SearchError
    from synth.sources.session import make_client, run_all, select_strategies

    c = get(ctx)
    strategies = select_strategies(c.protocol, sources or [], max_records)
    client = make_client(c.workspace.state_dir / "search-cache" if cache else None, notify=info)
    console = Console(file=sys.stderr)
    columns = [TextColumn("{task.description:<15}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("records  {task.fields[rate]:>7.1f}/s"), TimeElapsedColumn()]
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def progress(source: str, retrieved: int, hits: int | None) -> None:
            if source not in tasks:
                tasks[source] = bar.add_task(source, total=None, rate=0.0)
            task = tasks[source]
            if hits is not None:
                total = hits if max_records is None else min(hits, max_records)
                bar.update(task, total=total)
            elapsed = bar.tasks[task].elapsed or 0.0
            bar.update(task, completed=retrieved, rate=retrieved / elapsed if elapsed else 0.0)

        results, errors = run_all(c.store, client, strategies, mode=mode, progress=progress)
    for r in results:
        info(f"{r.source}: {r.status}{' (resumed)' if r.resumed else ''}"
             f"{' - already searched; use `synth search update` to search again' if r.skipped else ''}: "
             f"{r.retrieved} of {r.hits if r.hits is not None else '?'} records, {r.new} new, {r.known} already known")
    if results:
        emit_table(_rows(results), RESULT_COLUMNS)
    if errors:
        raise SearchError("; ".join(errors) + (" (the other sources completed)" if results else ""))


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, no_args_is_help=True)

    @group.command("run")
    def run(
        ctx: typer.Context,
        source: SourceOpt = None,
        max_records: Annotated[int | None, typer.Option(
            "--max-records", min=1, help="Retrieve at most N records per source (overrides the protocol).")] = None,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="Print the requests and the hit counts only; store nothing.")] = False,
        cache: CacheOpt = False,
    ) -> None:
        """Search every API source of the protocol and store the records; an interrupted run resumes.

        Example: synth search run --source pubmed --max-records 500
        """
        if dry_run:
            from synth.sources.session import dry_run as plan
            from synth.sources.session import make_client, select_strategies

            c = get(ctx)
            strategies = select_strategies(c.protocol, source or [], max_records)
            for item in plan(make_client(c.workspace.state_dir / "search-cache" if cache else None), strategies):
                for line in item.requests:
                    typer.echo(f"{item.source}: {line}")
                typer.echo(f"{item.source}: {item.hits} hits")
                for warning in item.warnings:
                    info(f"{item.source}: warning: {warning}")
            return
        _run(ctx, source, max_records, cache, "run")

    @group.command("update")
    def update(ctx: typer.Context, source: SourceOpt = None, cache: CacheOpt = False) -> None:
        """Search every strategy again (living reviews): only records not seen before are added.

        Example: synth search update
        """
        _run(ctx, source, None, cache, "update")

    @group.command("log")
    def log(
        ctx: typer.Context,
        fmt: Annotated[LogFormat, typer.Option("--format", "-f", help="table, json, or md (PRISMA-S section).")]
        = LogFormat.table,
    ) -> None:
        """Show the PRISMA-S search log: every search run with its query, limits, dates and counts.

        Example: synth search log --format md
        """
        from synth.sources import searchlog
        from synth.store import searches

        with get(ctx).store.connect() as conn:
            runs = searches.list_runs(conn)
        if fmt is LogFormat.json:
            emit_json(searchlog.json_log(runs))
        elif fmt is LogFormat.md:
            typer.echo(searchlog.markdown(runs), nl=False)
        else:
            if not runs:
                info("No searches yet. Run `synth search run`.")
            emit_table(searchlog.rows(runs), ["run", "database", "mode", "date_searched", "limits", "hits",
                                              "retrieved", "new", "known", "status"])

    app.add_typer(group, name="search")
