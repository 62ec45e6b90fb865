"""`synth import FILE...`: import bibliographic exports into the store, one transaction per file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from synth.cli.context import get
from synth.cli.output import Format, emit, info
from synth.errors import InputError
from synth.importers.detect import FORMATS
from synth.wording import count

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

InputFormat = StrEnum("InputFormat", {name: name for name in ("auto", *FORMATS)})  # type: ignore[misc]


class Kind(StrEnum):
    database = "database"
    register = "register"
    other = "other"


COLUMNS = ["file", "format", "source", "records_found", "imported", "skipped", "added", "already_in_store",
           "no_abstract", "no_doi", "no_year", "warnings", "status"]


def _row(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": report["file"], "format": report["format"], "source": report["source"],
        "records_found": report["records_found"], "imported": report["imported"],
        "skipped": len(report["skipped"]), "added": report["added"], "already_in_store": report["already_in_store"],
        "no_abstract": report["missing"]["abstract"], "no_doi": report["missing"]["doi"],
        "no_year": report["missing"]["year"], "warnings": len(report["warnings"]), "status": report["status"],
    }


def _summary(report: dict[str, Any]) -> str:
    """A few lines for people: counts, missing fields, then each skipped record and warning."""
    missing = report["missing"]
    head = (f"{report['file']}: {report['format']}, source {report['source']}: {report['status']}; "
            f"records found {report['records_found']}, imported {report['imported']}, "
            f"skipped {len(report['skipped'])}")
    if report["status"] == "imported":
        head += f" (added {report['added']}, already in store {report['already_in_store']})"
    lines = [head, f"  missing: abstract {missing['abstract']}, DOI {missing['doi']}, year {missing['year']}"]
    lines += [f"  skipped record {s['record_number']} (line {s['line']}): {s['reason']}" for s in report["skipped"]]
    lines += [f"  warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError(f"--column-map '{item}': expected FIELD=COLUMN, e.g. --column-map title='Article Title'.")
        mapping[field.strip()] = column.strip()
    return mapping


def _listed_files(state: Any) -> dict[Path, Any]:
    """The protocol's ``[[sources.files]]`` entries by resolved path; none when the store is given by --db
    outside a workspace (importing needs no protocol then)."""
    from synth.errors import WorkspaceError

    try:
        return {(state.workspace.root / f.path).resolve(): f for f in state.protocol.sources.files}
    except WorkspaceError:
        return {}


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_(
        ctx: typer.Context,
        files: Annotated[list[Path], typer.Argument(help="Export files to import (format judged from content).")],
        source: Annotated[str | None, typer.Option("--source", help="Database or register name, e.g. Scopus "
                                                   "(default: the database the protocol's [[sources.files]] "
                                                   "entry names for this file, else from the file's content, "
                                                   "else its name).")] = None,
        fmt: Annotated[InputFormat, typer.Option("--input-format", help="Input format; auto detects it from "
                                                 "content.")] = InputFormat.auto,  # type: ignore[attr-defined]
        format_out: Annotated[Format, typer.Option("--format", "-f", help="Report format: table, json or csv.")]
        = Format.table,
        kind: Annotated[Kind | None, typer.Option("--kind", help="What the source is, for PRISMA: database, "
                                                  "register or other (default: the protocol's entry for the "
                                                  "file, else database).")] = None,
        column_map: Annotated[list[str] | None, typer.Option("--column-map", help="CSV only: FIELD=COLUMN, "
                                                             "repeatable (fields: title, abstract, authors, year, "
                                                             "journal, doi, ...).")] = None,
        jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Processes that parse a large RIS file "
                                                 "(default: one per core, at most 4; 1: no worker "
                                                 "processes).")] = None,
    ) -> None:
        """Import bibliographic export files (RIS, MEDLINE/nbib, WoS, BibTeX, EndNote XML, CSV, PubMed XML,
        OpenAlex JSON) into the store, one transaction per file, and report per file what was found, imported
        and skipped. Re-importing a file already imported adds nothing.

        Example: synth import scopus.ris pubmed.nbib --source Scopus
        """
        from synth.cli.progress import byte_progress
        from synth.importers.pipeline import import_file

        state = get(ctx)
        mapping = _parse_map(column_map or [])
        listed = _listed_files(state)
        reports: list[dict[str, Any]] = []
        failures: list[str] = []
        for path in files:
            entry = listed.get(path.resolve())
            name = source or (entry.database if entry else None)
            if entry and source and source != entry.database:
                info(f"{path.name}: the protocol lists it as {entry.database!r}; imported as {source!r}, as asked.")
            what = kind.value if kind else (entry.kind if entry else "database")
            try:
                with byte_progress(f"import {path.name}") as progress:
                    report = import_file(state.store, path, source=name, fmt=str(fmt.value), kind=what,
                                         column_map=mapping, jobs=jobs, progress=progress)
            except InputError as exc:
                failures.append(str(exc))
                continue
            data = report.to_dict()
            reports.append(data)
            if format_out is Format.table:
                typer.echo(_summary(data))
        if reports and format_out is not Format.table:
            emit(format_out, [_row(r) for r in reports], COLUMNS, title="Import", json_data=reports)
        if failures:
            done = f" ({count(len(reports), 'other file')} imported)" if reports else ""
            above = "the file above" if len(failures) == 1 else "the files above"
            raise InputError("\n".join(failures) + (f"\nNothing was written for {above}{done}."))
