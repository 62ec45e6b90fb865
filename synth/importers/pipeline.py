"""Importing files into the store: decode, detect, parse (streamed), insert in one transaction per file,
record the import (``imports`` row + ``import`` event), and report what happened, losing nothing silently.

Invariant for every file: ``records_found == imported + len(skipped)``. Re-importing a file whose bytes were
already imported (same SHA-256) adds nothing and says so.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.errors import InputError
from synth.importers.base import ParseContext, Parser, Skipped, count_missing
from synth.importers.detect import FORMATS, detect_format, guess_source
from synth.importers.encoding import Decoded, decode_bytes
from synth.importers.encoding import check_utf8 as check_utf8_of
from synth.importers.parallel import MIN_BYTES, PieceResult, parallel_pieces, parse_pieces, rows_of
from synth.records.model import Record
from synth.store import events, imports
from synth.store.records import insert_prepared, insert_records, row_maker

if TYPE_CHECKING:
    from synth.store.records import Prepared

__all__ = ["ImportReport", "import_file", "import_files", "parse_file", "parser_for"]

_PARSERS = {
    "ris": ("synth.importers.ris", "parse_ris"),
    "nbib": ("synth.importers.medline", "parse_medline"),
    "wos": ("synth.importers.wos", "parse_wos"),
    "bibtex": ("synth.importers.bibtex", "parse_bibtex"),
    "endnote-xml": ("synth.importers.endnote_xml", "parse_endnote_xml"),
    "endnote-tagged": ("synth.importers.endnote_tagged", "parse_endnote_tagged"),
    "csv": ("synth.importers.csv_", "parse_csv"),
    "pubmed-xml": ("synth.importers.xml_json", "parse_pubmed_file"),
    "openalex-json": ("synth.importers.xml_json", "parse_openalex_file"),
    "synth-json": ("synth.importers.xml_json", "parse_synth_json"),
    "ovid": ("synth.importers.ovid", "parse_ovid"),
    "proquest": ("synth.importers.proquest", "parse_proquest"),
}


def parser_for(fmt: str) -> Parser:
    """The parser function for a format name (see :data:`~synth.importers.detect.FORMATS`)."""
    if fmt not in _PARSERS:
        raise InputError(f"unknown format '{fmt}'. Use one of: auto, {', '.join(FORMATS)}.")
    module, name = _PARSERS[fmt]
    parser: Parser = getattr(importlib.import_module(module), name)
    return parser


@dataclass
class ImportReport:
    """What importing one file did. ``added`` counts new rows; ``already_in_store`` records known from before."""

    file: str
    format: str
    encoding: str
    source: str
    sha256: str
    records_found: int = 0
    imported: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=lambda: {"abstract": 0, "doi": 0, "year": 0})
    added: int = 0
    already_in_store: int = 0
    import_id: int | None = None
    status: str = "imported"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ParsedFile:
    """A file ready to stream: its format, decoding and a fresh item iterator."""

    path: Path
    format: str
    decoded: Decoded
    sha256: str
    context: ParseContext

    def items(self) -> Iterator[Record | Skipped]:
        return parser_for(self.format)(self.decoded, self.context)


def parse_file(path: Path, *, fmt: str = "auto", source: str | None = None,
               column_map: dict[str, str] | None = None, check_utf8: bool = True) -> ParsedFile:
    """Read, decode and detect ``path``; nothing is parsed until :meth:`ParsedFile.items` is iterated.
    ``check_utf8=False``: see :func:`~synth.importers.encoding.decode_bytes` (``check``)."""
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file. Check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not a file. Name the export files themselves.") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file ({exc.strerror}).") from exc
    digest = hashlib.sha256()
    hashing = threading.Thread(target=digest.update, args=(data,))  # hashlib lets go of the GIL: the file is
    hashing.start()  # hashed on another core while it is checked for its encoding
    try:
        decoded = decode_bytes(data, name, check=check_utf8)
    finally:
        hashing.join()
    sha = digest.hexdigest()
    head = decoded.data[decoded.offset:decoded.offset + 65536].decode(decoded.encoding, errors="ignore")
    head = head.replace("\r\n", "\n").replace("\r", "\n")
    if fmt == "auto":
        detected = detect_format(head)
        if detected is None:
            raise InputError(
                f"{name}: unknown format (not RIS, MEDLINE, WoS, BibTeX, EndNote, CSV, PubMed XML or "
                "OpenAlex JSON, judged from its content). Re-export in one of these, or pass --format."
            )
        fmt = detected
    elif fmt not in FORMATS:
        raise InputError(f"unknown format '{fmt}'. Use one of: auto, {', '.join(FORMATS)}.")
    ctx = ParseContext(file=name, source=source or guess_source(head, fmt, path.stem),
                       column_map=dict(column_map or {}))
    ctx.warnings.extend(decoded.warnings)
    return ParsedFile(path, fmt, decoded, sha, ctx)


#: Told how far an import has got: ``(bytes of the file parsed so far, the file's size in bytes)``.
Progress = Callable[[int, int], None]


def _counted_pieces(results: Iterator[PieceResult], report: ImportReport,
                    progress: Callable[[int], None] | None) -> Iterator[list[Prepared]]:
    """Rows from the worker processes, in file order, counted into the report as :func:`_counting` counts."""
    for result in results:
        if progress is not None:
            progress(result.end)
        report.records_found += result.found
        report.imported += result.found - len(result.skipped)
        report.skipped.extend(result.skipped)
        for key, count in result.missing.items():
            report.missing[key] += count
        if result.rows:
            yield rows_of(result)


def _counting(parsed: ParsedFile, report: ImportReport) -> Iterator[Record]:
    for item in parsed.items():
        report.records_found += 1
        if isinstance(item, Skipped):
            report.skipped.append(item.to_dict())
            continue
        report.imported += 1
        count_missing(item, report.missing)
        yield item


def import_file(store: Any, path: Path, *, source: str | None = None, fmt: str = "auto", kind: str = "database",
                column_map: dict[str, str] | None = None, jobs: int | None = None,
                progress: Progress | None = None) -> ImportReport:
    """Import one file in one transaction (nothing is written if anything fails) and report on it.

    A large RIS file is parsed by ``jobs`` worker processes (default: one per core, at most 4; 1 parses in
    this process) while this process writes; the result is the same either way. ``progress`` is told how many
    of the file's bytes have been parsed as the import goes (for RIS files piece by piece, for other formats
    once, at the end).
    """
    with _no_gc():
        try:
            # A large file is not read through to prove it is UTF-8 first: the workers decode it strictly.
            return _import(store, path, source=source, fmt=fmt, kind=kind, column_map=column_map, jobs=jobs,
                           check_utf8=False, progress=progress)
        except _NotUtf8:  # nothing was written: import again, reading the file as Windows-1252 (with a warning)
            return _import(store, path, source=source, fmt=fmt, kind=kind, column_map=column_map, jobs=jobs,
                           check_utf8=True, progress=progress)


class _NotUtf8(Exception):
    """A worker found bytes that are not UTF-8 in a file assumed to be UTF-8."""


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector during a bulk import (records hold no reference cycles, and
    collections triggered by millions of small allocations cost 10-15% of import time); restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(store: Any, path: Path, *, source: str | None, fmt: str, kind: str,
            column_map: dict[str, str] | None, jobs: int | None, check_utf8: bool,
            progress: Progress | None) -> ImportReport:
    parsed = parse_file(path, fmt=fmt, source=source, column_map=column_map, check_utf8=check_utf8)
    pieces = parallel_pieces(parsed.format, parsed.decoded, jobs)
    if pieces is None and not parsed.decoded.checked:  # streamed in this process: check it first
        parsed.context.warnings[:0] = check_utf8_of(parsed.decoded)
    report = ImportReport(file=str(path), format=parsed.format, encoding=parsed.decoded.encoding,
                          source=parsed.context.source, sha256=parsed.sha256)
    size = len(parsed.decoded.data)
    done: Callable[[int], None] | None = None
    if progress is not None:
        def done(position: int) -> None:
            progress(position, size)

        parsed.decoded.progress = done
        done(0)
    with store.begin() as conn:
        previous = imports.find_by_sha256(conn, parsed.sha256)
        if previous is not None:
            old = previous["report"]
            report.status = "already imported"
            report.import_id = previous["id"]
            report.records_found = previous["records_found"]
            report.imported = previous["imported"]
            report.skipped = list(old.get("skipped", []))
            report.missing = dict(old.get("missing", report.missing))
            report.source = previous["source"]
            report.encoding = old.get("encoding", report.encoding)  # as found then (a large file is not re-checked)
            report.warnings = [f"this file was already imported (import #{previous['id']}, {previous['at']}); "
                               "nothing was added"]
            return report
        import_id = imports.start(conn, file=str(path), sha256=parsed.sha256, fmt=parsed.format,
                                  source=report.source, kind=kind)
        report.import_id = import_id
        make_row = row_maker(conn, import_id=import_id, source_kind=kind)
        bulk = size >= MIN_BYTES  # a large file: the records table's indexes are built once, at the end
        if pieces is None:
            result = insert_records(conn, _counting(parsed, report), import_id=import_id, source_kind=kind,
                                    bulk=bulk)
        else:
            # closing: an error or Ctrl-C while writing stops the worker processes at once
            with closing(parse_pieces(parsed.decoded.data, pieces, parsed.context, make_row, jobs)) as results:
                try:
                    result = insert_prepared(conn, _counted_pieces(results, report, done), bulk=bulk)
                except UnicodeDecodeError as exc:
                    if parsed.decoded.checked:  # pragma: no cover - a checked file decodes
                        raise
                    raise _NotUtf8() from exc
        if done is not None:
            done(size)
        report.warnings = parsed.context.all_warnings()
        report.added = len(result.inserted_ids)
        report.already_in_store = result.already_known
        if report.records_found != report.imported + len(report.skipped):  # pragma: no cover - invariant
            raise InputError(f"{path}: internal count mismatch; nothing was imported. This is a bug in synth.")
        if report.records_found == 0:
            raise InputError(f"{path}: no records found in this {parsed.format} file. Check that it is a "
                             "complete export, or pass --format if the format was misjudged.")
        summary = report.to_dict()
        imports.finish(conn, import_id, records_found=report.records_found, imported=report.imported,
                       report=summary)
        events.append(conn, events.EventKind.IMPORT, {
            "import_id": import_id, "file": str(path), "sha256": parsed.sha256, "format": parsed.format,
            "source": report.source, "kind": kind, "records_found": report.records_found,
            "imported": report.imported, "added": report.added, "already_in_store": report.already_in_store,
            "skipped": len(report.skipped),
        }, subject=f"import:{import_id}")
    return report


def import_files(store: Any, paths: list[Path], **options: Any) -> list[ImportReport]:
    """Import several files, each in its own transaction; stops at the first file that fails."""
    return [import_file(store, path, **options) for path in paths]
