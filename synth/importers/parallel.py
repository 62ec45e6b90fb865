"""Importing a large file on every core: the main process cuts the file's bytes into pieces of whole records,
worker processes decode and parse each piece and turn its records into store rows, and the main process writes
the rows in file order while the workers go on with the next pieces.

The result is the same as the streamed, single-process import (record numbers, lines, warnings and their
order, skipped records, counts): each piece knows how many records and lines come before it. Only formats
that can be cut safely at record starts take this path (RIS, today); others stream in one process.
"""

from __future__ import annotations

import marshal
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synth.importers.base import ParseContext, Skipped, count_missing
from synth.importers.encoding import Decoded
from synth.importers.ris import Piece, parse_ris_piece, ris_pieces, warn_outside_records
from synth.records.model import Record

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult

#: Turns a record into a row for the store (a picklable callable: it is sent to the workers).
MakeRow = Callable[[Record], Any]

__all__ = ["MIN_BYTES", "PieceResult", "parallel_pieces", "parse_pieces", "rows_of", "workers"]

#: Files smaller than this stream in one process (starting workers would cost more than it saves).
MIN_BYTES = 16 << 20


def workers(jobs: int | None = None) -> int:
    """Worker processes for ``jobs`` (``None``: one per core this process may use, at most 4)."""
    if jobs is not None:
        return max(jobs, 1)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cores, 4)


def parallel_pieces(fmt: str, decoded: Decoded, jobs: int | None = None) -> Iterator[Piece] | None:
    """The file's pieces when it is worth parsing in ``workers(jobs)`` processes and safe to cut, else ``None``
    (the caller then streams the file in one process)."""
    if fmt != "ris" or len(decoded.data) - decoded.offset < MIN_BYTES or workers(jobs) < 2 or not _can_fork():
        return None
    return ris_pieces(decoded)


def _can_fork() -> bool:
    """Workers are forked (see :func:`parse_pieces`): Linux and the BSDs; not Windows (no fork) nor macOS
    (where forking a process that has loaded system frameworks is unsafe)."""
    import multiprocessing

    return sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods()


@dataclass
class PieceResult:
    """What a worker made of one piece: counts for the import report, and the rows to write."""

    found: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=lambda: {"abstract": 0, "doi": 0, "year": 0})
    rows: bytes = b""  # marshalled: several times cheaper to send back than pickled tuples
    warnings: list[str] = field(default_factory=list)
    more_warnings: int = 0
    junk: int = 0
    after_end: int = 0
    end: int = 0  # the byte of the file where the piece ends (for progress)


#: The bytes of the file being parsed, set in the parent just before the workers are forked: each worker reads
#: its pieces from its (copy-on-write, never copied) view of the parent's memory instead of through a pipe.
_FILE: bytes = b""


def _parse_piece(piece: Piece, file: str, source: str, make_row: MakeRow) -> PieceResult:
    """Runs in a worker process. The rows are plain tuples (or dicts) of str, int and None: marshal, which this
    process and its parent share (same interpreter), carries them exactly."""
    if piece.end > len(_FILE):  # pragma: no cover - a worker not forked from the importing process
        raise RuntimeError(f"{file}: worker process has no view of the file; import with --jobs 1")
    ctx = ParseContext(file=file, source=source)
    items, junk, after_end = parse_ris_piece(piece, _FILE, ctx)
    result = PieceResult(found=len(items), junk=junk, after_end=after_end, end=piece.end)
    missing = result.missing
    rows = []
    for item in items:
        if isinstance(item, Skipped):
            result.skipped.append(item.to_dict())
            continue
        count_missing(item, missing)
        rows.append(make_row(item))
    result.rows = marshal.dumps(rows)
    result.warnings, result.more_warnings = ctx.warnings, ctx.more_warnings
    return result


def parse_pieces(data: bytes, pieces: Iterator[Piece], ctx: ParseContext, make_row: MakeRow,
                 jobs: int | None = None) -> Generator[PieceResult, None, None]:
    """Each piece's result (of the file whose bytes are ``data``), in file order, parsed by a pool of worker
    processes (a few pieces in flight, so memory stays flat). Warnings go to ``ctx`` in file order; the
    file-level ones (lines outside records, tagged lines after an ``ER``) are added once at the end, as the
    streamed parser adds them. One parse at a time per process (the workers see ``data`` through a global).

    If anything fails here or in the caller (an error, Ctrl-C, the caller giving up on the results), the
    workers are terminated at once: nothing is left running and the caller's transaction rolls back.
    """
    import multiprocessing

    count = workers(jobs)
    totals = PieceResult()
    # fork: workers start at once with everything imported, and nothing re-runs the caller's main script (a
    # notebook or a script without a __main__ guard). The workers never touch the parent's store connection.
    global _FILE
    _FILE = data  # kept while the pool lives: a worker the pool replaces forks with it too
    try:
        pool = multiprocessing.get_context("fork").Pool(count, initializer=_start_worker)
        try:
            pending: deque[AsyncResult[PieceResult]] = deque()
            for piece in pieces:
                pending.append(pool.apply_async(_parse_piece, (piece, ctx.file, ctx.source, make_row)))
                if len(pending) > 2 * count + 2:
                    yield _merge(pending.popleft().get(), ctx, totals)
            while pending:
                yield _merge(pending.popleft().get(), ctx, totals)
        except BaseException:
            pool.terminate()
            raise
        pool.close()
        pool.join()
    finally:
        _FILE = b""
    warn_outside_records(ctx, totals.junk, totals.after_end)


def _start_worker() -> None:
    """Ctrl-C reaches every process of the terminal's group: only the parent handles it (and stops workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def rows_of(result: PieceResult) -> list[Any]:
    """The rows a worker made, for the store."""
    rows: list[Any] = marshal.loads(result.rows)
    return rows


def _merge(result: PieceResult, ctx: ParseContext, totals: PieceResult) -> PieceResult:
    for message in result.warnings:
        ctx.warn(message)
    ctx.more_warnings += result.more_warnings
    totals.junk += result.junk
    totals.after_end += result.after_end
    return result
