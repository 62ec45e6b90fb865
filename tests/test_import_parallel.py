"""A large RIS file parsed in worker processes gives exactly what the streamed, single-process parse gives:
the same records and rows, record numbers, lines, skipped records, counts and warnings (in order)."""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from synth.importers.base import MAX_WARNINGS, Skipped
from synth.importers.parallel import MIN_BYTES, parse_pieces, rows_of
from synth.importers.pipeline import import_file, parse_file
from synth.importers.ris import ris_pieces
from synth.store import open_store
from synth.store.records import RowMaker
from synth.store.schema import records

MAKE_ROW = RowMaker(import_id=1, source_kind="database", now="2026-12-02T00:00:00Z", sqlite=True)

#: Every quirk the RIS parser keeps: junk between records, a record without ER, Ovid's NL after ER,
#: continuation lines, an empty record (skipped), repeated tags, a last record without ER.
QUIRKS = """TY  - JOUR
TI  - Integrated care teams {n}
AU  - Smith, John
AU  - Smith, John
AB  - First line of the abstract
that goes on here
PY  - 2019
ER  -
NL  - Ovid note after ER {n}

Record #{n} of 99
TY  - JOUR
TI  - A record without an ER line {n}
DO  - https://doi.org/10.1000/ABC.{n}
TY  - JOUR
ER  -

TY  - BOOK
T1  - Pooled budgets {n}
A1  - World Health Organization
SN  - 1234-5678
KW  - care
KW  - partnership
ER  -
"""


def _sequential(path: Path) -> dict[str, Any]:
    parsed = parse_file(path)
    found, skipped, rows = 0, [], []
    for item in parsed.items():
        found += 1
        if isinstance(item, Skipped):
            skipped.append(item.to_dict())
        else:
            rows.append(MAKE_ROW(item))
    return {"found": found, "skipped": skipped, "rows": rows, "warnings": parsed.context.all_warnings()}


def _parallel(path: Path, size: int) -> dict[str, Any] | None:
    parsed = parse_file(path)
    pieces = ris_pieces(parsed.decoded, size)
    if pieces is None:
        return None
    found, skipped, rows = 0, [], []
    for result in parse_pieces(parsed.decoded.data, pieces, parsed.context, MAKE_ROW, jobs=2):
        found += result.found
        skipped.extend(result.skipped)
        rows.extend(rows_of(result))
    return {"found": found, "skipped": skipped, "rows": rows, "warnings": parsed.context.all_warnings()}


def test_quirky_file_cut_into_many_pieces_parses_as_streamed(tmp_path: Path) -> None:
    path = tmp_path / "quirks.ris"
    path.write_text("\n" + "".join(QUIRKS.format(n=n) for n in range(60)) + "TY  - JOUR\nTI  - Last, no ER\n",
                    encoding="utf-8")
    expected = _sequential(path)
    assert expected["found"] == 60 * 4 + 1
    assert len(expected["skipped"]) == 60
    assert len(expected["warnings"]) == MAX_WARNINGS + 1  # capped, then "... and N more"
    for size in (300, 1000, 4096):  # pieces cut at every few records, mid-way through the quirks
        got = _parallel(path, size)
        assert got is not None
        assert got == expected, size
    numbers = [row[20] for _, _, row in expected["rows"]]
    assert numbers == sorted(numbers) and numbers[-1] == expected["found"]


def test_text_before_the_first_record_is_not_cut(tmp_path: Path) -> None:
    path = tmp_path / "header.ris"
    path.write_text("AU  - Tag before any TY\n\n" + QUIRKS.format(n=1), encoding="utf-8")
    assert _parallel(path, 100) is None  # that tag starts a record of its own: streamed in one process
    assert _sequential(path)["found"] == 5


@pytest.mark.corpus
def test_every_corpus_ris_file_parses_in_pieces_as_streamed(corpus_ris_files: list[Path]) -> None:
    compared = 0
    for path in corpus_ris_files:
        got = _parallel(path, 20_000)
        if got is None:
            continue
        assert got == _sequential(path), path.name
        compared += 1
    assert compared >= 20


def _table(url: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    columns = [c for c in records.c if c.name != "imported_at"]
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(sa.select(*columns).order_by(records.c.id))]
    engine.dispose()
    return rows


def _big_file(corpus_dir: Path, path: Path) -> int:
    """A RIS file just over the size that takes worker processes, from real records; returns its count."""
    text = (corpus_dir / "exports" / "ris" / "citesource_dimensions_246.ris").read_text(encoding="utf-8-sig")
    blocks = re.findall(r"^TY  - .*?^ER  -[^\n]*", text.replace("\r\n", "\n"), flags=re.M | re.S)
    with path.open("w", encoding="utf-8") as out:
        n = 0
        while out.tell() < MIN_BYTES + (1 << 20):
            out.write(blocks[n % len(blocks)].replace("\nER  -", f"\nN1  - copy {n}\nER  -", 1) + "\n\n")
            n += 1
    return n


def _index_sql(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' "
                                    "AND sql IS NOT NULL ORDER BY name").all()
    engine.dispose()
    return [str(sql) for sql, in rows]


def _recorder(seen: list[tuple[int, int]]) -> Callable[[int, int], None]:
    return lambda done, total: seen.append((done, total))


def _import_both_ways(path: Path, folder: Path) -> tuple[list[dict[str, Any]], list[list[tuple[Any, ...]]]]:
    reports, tables = [], []
    size = path.stat().st_size
    fresh = f"sqlite:///{folder / 'fresh.sqlite'}"
    open_store(fresh).close()
    indexes = _index_sql(fresh)
    assert len(indexes) >= 4
    for jobs in (1, 2):
        url = f"sqlite:///{folder / f'jobs{jobs}.sqlite'}"
        store = open_store(url)
        seen: list[tuple[int, int]] = []
        report = import_file(store, path, source="Dimensions", jobs=jobs, progress=_recorder(seen)).to_dict()
        store.close()
        # progress: bytes parsed, piece by piece (workers) or chunk by chunk (one process), up to the whole file
        # (from 0 again if the file is read again as Windows-1252)
        positions = [done for done, _ in seen]
        last_run = positions[len(positions) - 1 - positions[::-1].index(0):]
        assert {total for _, total in seen} == {size}
        assert last_run == sorted(last_run) and last_run[-1] == size
        assert len(set(last_run)) >= 3, jobs
        reports.append({k: v for k, v in report.items() if k != "import_id"})
        tables.append(_table(url))
        # a large file into an empty store: the records indexes were built at the end, and are the store's own
        # (also after a first attempt that failed and was rolled back, as when a byte is not UTF-8)
        assert _index_sql(url) == indexes
    return reports, tables


@pytest.mark.corpus
def test_large_file_not_utf8_is_read_as_windows_1252_as_in_one_process(corpus_dir: Path, tmp_path: Path) -> None:
    """Workers find the byte that is not UTF-8 (it is not checked up front); nothing they wrote is kept and
    the file is imported again as Windows-1252, exactly as the one-process import does it."""
    path = tmp_path / "big.ris"
    n = _big_file(corpus_dir, path)
    data = path.read_bytes()
    cut = data.index(b"\nTI  - ", len(data) * 2 // 3) + 7
    path.write_bytes(data[:cut] + b"Caf\xe9 " + data[cut:])  # Windows-1252 e-acute, two thirds of the way in
    reports, tables = _import_both_ways(path, tmp_path)
    assert reports[0] == reports[1]
    assert reports[0]["encoding"] == "cp1252" and reports[0]["imported"] == n
    assert reports[0]["warnings"][0].startswith("not valid UTF-8 (first bad byte at offset")
    assert tables[0] == tables[1]
    assert sum("Café" in row[1] for row in tables[1]) == 1  # the title


@pytest.mark.corpus
def test_large_import_in_worker_processes_stores_what_one_process_stores(corpus_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "big.ris"
    n = _big_file(corpus_dir, path)
    reports, tables = _import_both_ways(path, tmp_path)
    assert reports[0] == reports[1]
    assert reports[0]["encoding"] == "utf-8"
    assert reports[0]["records_found"] == reports[0]["imported"] == n
    assert tables[0] == tables[1]
    assert len(tables[0]) == n


def test_giving_up_on_the_results_stops_the_workers(tmp_path: Path) -> None:
    """What an error or Ctrl-C while writing does: the results are closed, and no worker is left running."""
    path = tmp_path / "quirks.ris"
    path.write_text("".join(QUIRKS.format(n=n) for n in range(200)), encoding="utf-8")
    parsed = parse_file(path)
    pieces = ris_pieces(parsed.decoded, 500)
    assert pieces is not None
    results = parse_pieces(parsed.decoded.data, pieces, parsed.context, MAKE_ROW, jobs=2)
    assert next(results).found > 0
    assert len(multiprocessing.active_children()) == 2
    results.close()
    assert multiprocessing.active_children() == []


@pytest.mark.corpus
def test_large_import_rebuilds_indexes_only_in_an_empty_store(corpus_dir: Path, tmp_path: Path) -> None:
    """Indexes are built once at the end only when the store has no records yet: otherwise they are what finds
    records already imported, and rebuilding them over a large store would cost more than it saves."""
    path = tmp_path / "big.ris"
    n = _big_file(corpus_dir, path)
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    store = open_store(url)
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: statements.append(statement))
    small = tmp_path / "small.ris"
    small.write_text(QUIRKS.format(n=1), encoding="utf-8")
    import_file(store, small, jobs=2)
    report = import_file(store, path, jobs=2)
    store.close()
    assert report.added == n
    assert not [s for s in statements if "DROP INDEX" in s.upper()]
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    open_store(fresh).close()
    assert _index_sql(url) == _index_sql(fresh)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM records WHERE doi = '10.1000/x'"))
    engine.dispose()
    assert "ix_records_doi" in plan
    # the same file into an empty store: its indexes are dropped, and created again at the end
    empty = open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    statements.clear()
    sa.event.listen(empty.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: statements.append(statement))
    import_file(empty, path, jobs=2)
    empty.close()
    dropped = [s for s in statements if s.startswith("DROP INDEX")]
    created = [s for s in statements if s.startswith("CREATE INDEX")]
    assert len(dropped) == len(created) == len(_index_sql(fresh))
    assert statements.index(created[0]) > max(i for i, s in enumerate(statements) if s.startswith("INSERT INTO records"))
