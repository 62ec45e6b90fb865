"""Rendering results: ``table`` for people (rich), ``json`` and ``csv`` for scripts. Machine output goes to
stdout; progress and logs go to stderr."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from typing import Any

import typer

from synth.safetext import spreadsheet_safe, visible
from synth.secrets import redact_text


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FORMAT_HELP = "Output format: table for people, json or csv for scripts."


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def emit_json_array(items: Any) -> None:
    """A JSON array written item by item, one compact item per line, nothing held back: for outputs of
    thousands of items (a ``--by`` run), encoded by orjson, several times faster than the standard library's
    C encoder; an item orjson refuses (an integer beyond 64 bits, a lone surrogate) by the standard library."""
    import orjson

    def encode(item: Any) -> bytes:
        try:
            return orjson.dumps(item, default=str, option=orjson.OPT_NON_STR_KEYS)
        except (orjson.JSONEncodeError, TypeError):
            return json.dumps(item, ensure_ascii=True, default=str, separators=(",", ":")).encode("ascii")

    sys.stdout.flush()
    out = sys.stdout.buffer
    out.write(b"[")
    for i, item in enumerate(items):
        out.write((b"\n" if i == 0 else b",\n") + encode(item))
    out.write(b"\n]\n")
    out.flush()


def emit_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    buffer = io.StringIO()
    cols = columns or (list(rows[0].keys()) if rows else [])
    writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    text = buffer.getvalue()
    typer.echo(visible(text) if sys.stdout.isatty() else text, nl=False)


def _csv_cell(value: Any) -> Any:
    cell = _cell(value)
    return spreadsheet_safe(cell) if isinstance(cell, str) else cell


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def _shown(value: Any) -> str:
    """A table cell as a terminal shows it: control characters visible, never obeyed."""
    return visible(str(_cell(value)))


def emit_table(rows: list[dict[str, Any]], columns: list[str] | None = None, title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    cols = columns or (list(rows[0].keys()) if rows else [])
    table = Table(title=title)
    for col in cols:
        table.add_column(col)
    for row in rows:
        table.add_row(*(_shown(row.get(c)) for c in cols))
    Console(file=sys.stdout, soft_wrap=True).print(table)


def emit(fmt: Format, rows: list[dict[str, Any]], columns: list[str] | None = None, title: str | None = None,
         json_data: Any = None) -> None:
    """Render ``rows`` in ``fmt``; ``json_data`` replaces ``rows`` for JSON when the shape differs."""
    if fmt is Format.json:
        emit_json(rows if json_data is None else json_data)
    elif fmt is Format.csv:
        emit_csv(rows, columns)
    else:
        emit_table(rows, columns, title)


def info(message: str) -> None:
    """A progress or log line for people: stderr, never mixed into machine output."""
    typer.echo(visible(redact_text(message)), err=True)
