"""Planning and running a whole search session (every selected source of a protocol) for the CLI.

Keeps the CLI thin: it turns protocol sources into strategies, builds the one HTTP client, runs or dry-runs
each source, and collects the outcome. Failures of one source do not stop the others; they are reported
together at the end (each failed run stays resumable).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth.errors import InputError
from synth.sources.base import Strategy, strategy_from_protocol
from synth.sources.cache import ResponseCache
from synth.sources.errors import SearchError
from synth.sources.http import HttpClient, RetryPolicy
from synth.sources.runner import Progress, RunResult, default_limiters, make_source, run_source
from synth.sources.settings import SOURCE_NAMES, Settings, from_env
from synth.store import Store


def select_strategies(protocol: Any, names: Sequence[str], max_records: int | None) -> list[Strategy]:
    """Strategies for the chosen sources (default: every enabled API source in the protocol)."""
    configured = protocol.sources.api_sources()
    for name in names:
        if name not in SOURCE_NAMES:
            raise InputError(f"unknown source '{name}'. Choose from: {', '.join(SOURCE_NAMES)}.")
        if name not in configured:
            raise InputError(f"source '{name}' has no search strategy in the protocol. Add a [sources.{name}] "
                             "table with a query, or leave it out of --source.")
    chosen = list(names) or [n for n, s in configured.items() if s.enabled]
    if not chosen:
        raise InputError("the protocol has no enabled API sources. Add e.g. [sources.pubmed] with a query.")
    return [strategy_from_protocol(n, configured[n], max_records) for n in chosen]


def make_client(cache_dir: Path | None = None, settings: Settings | None = None,
                notify: Callable[[str], None] | None = None) -> HttpClient:
    """The HTTP client of a search: the environment's settings (keys, timeouts, retries, the time budget of a
    request), the default rate limits, an optional response cache, and ``notify`` told about every wait."""
    settings = settings or from_env()
    return HttpClient(settings, limiters=default_limiters(settings), retry=RetryPolicy(attempts=settings.attempts),
                      timeout=(min(10.0, settings.timeout), settings.timeout), notify=notify, budget=settings.budget,
                      cache=ResponseCache(cache_dir) if cache_dir is not None else None)


@dataclass
class DryRun:
    source: str
    requests: list[str]
    hits: int | None
    warnings: list[str] = field(default_factory=list)


def dry_run(client: HttpClient, strategies: Sequence[Strategy]) -> list[DryRun]:
    """The first request each source would send, and the hits the API reports (one small request each)."""
    out: list[DryRun] = []
    for strategy in strategies:
        source = make_source(strategy.source, client.settings)
        page = source.count(client, strategy)
        shown = [r.display(client.settings.secrets) for r in page.requests]
        out.append(DryRun(strategy.source, shown, page.hits, page.warnings))
    return out


def run_all(store: Store, client: HttpClient, strategies: Sequence[Strategy], *, mode: str = "run",
            progress: Progress | None = None) -> tuple[list[RunResult], list[str]]:
    """Run every strategy; return the results and the error messages of sources that failed."""
    results: list[RunResult] = []
    errors: list[str] = []
    for strategy in strategies:
        source = make_source(strategy.source, client.settings)
        try:
            results.append(run_source(store, client, source, strategy, mode=mode, progress=progress))
        except SearchError as exc:
            errors.append(str(exc))
    return results, errors
