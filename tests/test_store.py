"""The store: recorded ordered migrations, schema in step with them, transactions, append-only event log."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from synth.errors import StoreError
from synth.records import Author, Provenance, Record
from synth.store import EventKind, open_store
from synth.store import events as ev
from synth.store.migrations import discover
from synth.store.records import insert_records, iter_records
from synth.store.schema import metadata


def test_migrations_recorded_in_order_and_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    store = open_store(url)
    names = [m.name for m in discover()]
    assert store.applied_migrations() == names
    assert names[0] == "m0001_initial"
    numbers = [m.number for m in discover()]
    assert numbers == sorted(numbers)
    store.close()
    again = open_store(url)
    assert again.migrate() == []
    assert again.applied_migrations() == names


def test_schema_module_matches_migrated_database(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.sqlite'}")
    inspector = sa.inspect(store.engine)
    for table in metadata.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with pytest.raises(RuntimeError), store.begin() as conn:
        ev.append(conn, EventKind.IMPORT, {"file": "a.ris"})
        raise RuntimeError("crash mid-write")
    with store.connect() as conn:
        assert ev.read(conn) == []


def test_event_log_appends_in_order(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with store.begin() as conn:
        first = ev.append(conn, EventKind.IMPORT, {"n": 1}, actor="alice")
        second = ev.append(conn, EventKind.DECISION, {"n": 2}, subject="7")
    with store.connect() as conn:
        rows = ev.read(conn)
        decisions = ev.read(conn, EventKind.DECISION)
    assert [r["id"] for r in rows] == [first, second]
    assert [r["payload"] for r in rows] == [{"n": 1}, {"n": 2}]
    assert [r["subject"] for r in decisions] == ["7"]


def test_records_round_trip_and_idempotent_insert(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.sqlite'}")
    rec = Record(
        title="Hospital at home", authors=[Author("Shepperd", "S"), Author(corporate="EPOC Group")], year=2024,
        doi="10.1002/14651858.cd007491.pub3", raw=[("TI", "Hospital at home"), ("AU", "Shepperd S")],
        provenance=Provenance(source="MEDLINE", file="m.nbib", record_number=1),
    )
    with store.begin() as conn:
        first = insert_records(conn, [rec])
        second = insert_records(conn, [rec])
    assert len(first.inserted_ids) == 1 and second.inserted_ids == [] and second.already_known == 1
    with store.connect() as conn:
        [(rid, back)] = list(iter_records(conn))
    assert rid == first.inserted_ids[0]
    assert back.authors == rec.authors and back.raw == rec.raw and back.doi == rec.doi


def test_store_from_before_compact_hashes_still_recognises_its_records(tmp_path: Path) -> None:
    """A store written when content hashes were taken over ``json.dumps`` text: migration m0011 rehashes it, so
    re-importing the same records (a list-shaped RIS record, a dict-shaped API record) adds nothing."""
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    recs = [Record(title="Hospital at home", raw=[("TI", "Hospital at home"), ("AU", "Shepperd S")],
                   provenance=Provenance(source="MEDLINE")),
            Record(title="Délai", raw={"title": "Délai", "id": "W1", "year": 2020}, provenance=Provenance(source="OA"))]
    store = open_store(url)
    with store.begin() as conn:
        insert_records(conn, recs)
        for rid, rec in iter_records(conn):
            old = json.dumps(rec.raw, sort_keys=isinstance(rec.raw, dict), ensure_ascii=False, default=str)
            conn.execute(sa.text("UPDATE records SET content_hash = :h, raw = :raw WHERE id = :id"),
                         {"h": hashlib.sha256(old.encode()).hexdigest(), "raw": old, "id": rid})
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE name = 'm0011_content_hash_v2'"))
    store.close()
    store = open_store(url)
    with store.begin() as conn:
        stored = conn.execute(sa.text("SELECT content_hash FROM records ORDER BY id")).scalars().all()
        assert stored == [rec.content_hash() for rec in recs]
        again = insert_records(conn, recs)
    assert again.inserted_ids == [] and again.already_known == 2


def test_raw_record_stored_compactly_comes_back_whole(tmp_path: Path) -> None:
    """A raw value that repeats the title or abstract column is stored by reference; reading gives the raw
    record back exactly (a value that differs, such as an abstract with its line breaks, is stored whole)."""
    store = open_store(f"sqlite:///{tmp_path / 'x.sqlite'}")
    same = Record(title="Pooled budgets", abstract="One line.",
                  raw=[("TY", "JOUR"), ("TI", "Pooled budgets"), ("AB", "One line."), ("N1", "One line.")],
                  provenance=Provenance(source="A"))
    differs = Record(title="Joint teams", abstract="Two lines.",
                     raw=[("TY", "JOUR"), ("T1", "Joint teams"), ("AB", "Two\nlines.")], provenance=Provenance(source="A"))
    api = Record(title="Joint teams", raw={"title": "Joint teams"}, provenance=Provenance(source="B"))
    with store.begin() as conn:
        insert_records(conn, [same, differs, api])
        stored = conn.execute(sa.text("SELECT raw FROM records ORDER BY id")).scalars().all()
    assert json.loads(stored[0]) == ["synth:ref", ["TY", "JOUR"], ["TI", 1], ["AB", 0], ["N1", 0]]
    assert json.loads(stored[1]) == ["synth:ref", ["TY", "JOUR"], ["T1", 1], ["AB", "Two\nlines."]]
    assert json.loads(stored[2]) == {"title": "Joint teams"}
    with store.connect() as conn:
        back = [rec for _, rec in iter_records(conn)]
    assert [rec.raw for rec in back] == [same.raw, differs.raw, api.raw]
    assert [rec.content_hash() for rec in back] == [rec.content_hash() for rec in (same, differs, api)]


def test_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    target = tmp_path / "dir-not-file"
    target.mkdir()
    with pytest.raises(StoreError, match="cannot open database"):
        open_store(f"sqlite:///{target}")


def test_a_database_from_a_newer_synth_is_refused_untouched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    open_store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO schema_migrations (id, name, applied_at) VALUES (9999, 'm9999_future', 'x')"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"newer synth \(it has migration m9999_future; this synth knows up to "
                                         + discover()[-1].name):
        open_store(url)


def test_team_roles_need_a_server(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from synth.cli.app import app

    (tmp_path / "protocols").mkdir()
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'r.sqlite'}",
                                      "team", "add", "alice"])
    assert result.exit_code == 1 and "team roles live on a PostgreSQL server" in result.output
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'r.sqlite'}",
                                      "team", "init"])
    assert result.exit_code == 1 and "is not one" in result.output
