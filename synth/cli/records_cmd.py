"""`synth records`: list, show and export the records in the store."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from synth.cli.context import get
from synth.cli.output import Format, emit, emit_json, info
from synth.errors import InputError
from synth.safetext import visible
from synth.wording import count

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

HELP = ("List, show and export the records in the store (one row per deduplicated cluster unless "
        "--include-duplicates).\n\nExample: synth records export --format ris --output included.ris")


class ExportFormat(StrEnum):
    csv = "csv"
    ris = "ris"
    bibtex = "bibtex"
    json = "json"


def _first_author(authors: str) -> str:
    first = authors.split("; ")[0] if authors else ""
    return first + (" et al." if "; " in authors else "")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, no_args_is_help=True)

    @group.command("list")
    def list_(
        ctx: typer.Context,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table, json or csv.")] = Format.table,
        include_duplicates: Annotated[bool, typer.Option("--include-duplicates",
                                                         help="All records, not only cluster representatives.")]
        = False,
        source: Annotated[str | None, typer.Option("--source", help="Only records from this source.")] = None,
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many rows.")] = None,
    ) -> None:
        """List records: id, year, first author, title, source, DOI (json/csv: every field).

        Example: synth records list --source Scopus --limit 20
        """
        from synth.records.export import record_row
        from synth.store.records import iter_with_clusters

        with get(ctx).store.connect() as conn:
            rows = [record_row(*item) for item in iter_with_clusters(
                conn, include_duplicates=include_duplicates, source=source, limit=limit)]
        if fmt is Format.table:
            table = [{"id": r["id"], "year": r["year"], "first author": _first_author(r["authors"]),
                      "title": r["title"][:80], "source": r["source"], "doi": r["doi"]} for r in rows]
            emit(fmt, table, ["id", "year", "first author", "title", "source", "doi"], title="Records")
            info(count(len(rows), "record"))
        else:
            emit(fmt, rows)

    @group.command("rename-source")
    def rename_source_(
        ctx: typer.Context,
        old: Annotated[str, typer.Argument(help="The source name the records have now.")],
        new: Annotated[str, typer.Argument(help="The name they should have (as the protocol and PRISMA name it).")],
        kind: Annotated[str | None, typer.Option("--kind", help="Also set the PRISMA kind: database, register, "
                                                 "website, organisation, citation or other.")] = None,
    ) -> None:
        """Rename a source after the fact (a file imported under the wrong database name): every record and
        import of OLD takes NEW, so PRISMA boxes and PRISMA-S items name it the same way. Logged.

        Example: synth records rename-source scopus-export Scopus
        """
        import typing

        from synth.errors import InputError
        from synth.protocol.model import FileSource
        from synth.store import events
        from synth.store.records import rename_source, source_names

        kinds = typing.get_args(FileSource.model_fields["kind"].annotation)  # the protocol's PRISMA kinds
        if kind is not None and kind not in kinds:
            raise typer.BadParameter(f"use one of {', '.join(kinds)}", param_hint="--kind")
        store = get(ctx).store
        with store.begin() as conn:
            names = source_names(conn)
            if old not in names:
                raise InputError(f"no records from source {old!r}. Sources in the store: "
                                 f"{', '.join(sorted(names)) or 'none'}.")
            n = rename_source(conn, old, new, kind)
            events.append(conn, "source_renamed", {"old": old, "new": new, "kind": kind, "records": n})
        info(f"Renamed source {old!r} to {new!r} on {count(n, 'record')}.")

    @group.command("show")
    def show(
        ctx: typer.Context,
        record_id: Annotated[int, typer.Argument(help="synth record id (from `synth records list`).")],
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table, json or csv (the row `synth records "
                                            "list --format csv` gives it).")] = Format.table,
    ) -> None:
        """Show one record in full: every field, provenance and the raw record as imported.

        Example: synth records show 12 --format json
        """
        from synth.records.export import record_row
        from synth.store.records import get_record

        with get(ctx).store.connect() as conn:
            found = get_record(conn, record_id)
        if found is None:
            raise InputError(f"no record with id {record_id}. List ids with `synth records list`.")
        record, extra = found
        data: dict[str, Any] = {**extra, **record.to_dict()}
        if fmt is Format.json:
            emit_json(data)
            return
        if fmt is Format.csv:
            emit(fmt, [record_row(record_id, record, extra["cluster_id"], extra["duplicate_of"])])
            return
        for key, value in data.items():
            if key == "raw":
                continue
            if key == "authors":
                value = "; ".join(a.display() for a in record.authors)
            elif key == "provenance":
                value = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, ""))
            elif isinstance(value, list):
                value = "; ".join(map(str, value))
            typer.echo(visible(f"{key}: {'' if value is None else value}"))
        typer.echo("raw:")
        raw = record.raw
        pairs = raw if isinstance(raw, list) else list(raw.items())
        for tag, value in pairs:
            typer.echo(visible(f"  {tag}: {value}"))

    @group.command("export")
    def export(
        ctx: typer.Context,
        fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="csv, ris, bibtex or json.")] = ExportFormat.csv,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")]
        = None,
        include_duplicates: Annotated[bool, typer.Option("--include-duplicates",
                                                         help="All records, not only cluster representatives.")]
        = False,
        source: Annotated[str | None, typer.Option("--source", help="Only records from this source.")] = None,
    ) -> None:
        """Export records as CSV, RIS, BibTeX or JSON with synth's id, the record fields, source,
        source_record_id, cluster and duplicate_of. The files re-import with `synth import`.

        Example: synth records export --format csv --output records.csv
        """
        from synth.records.export import export_records
        from synth.store.records import iter_with_clusters

        with get(ctx).store.connect() as conn:
            items = list(iter_with_clusters(conn, include_duplicates=include_duplicates, source=source))
        text = export_records(items, fmt.value)
        if output is None:
            sys.stdout.write(text)
        else:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write {output}: {exc.strerror}. Check the folder exists and is writable.") from exc
            info(f"wrote {count(len(items), 'record')} to {output}")

    app.add_typer(group, name="records")
