"""PostgreSQL as the team store, against a real server.

`.ci/run` starts a PostgreSQL server on loopback and sets ``SYNTH_TEST_PG_URL`` to a database URL on it whose
user may create databases (e.g. ``postgresql+psycopg://postgres@127.0.0.1:54329/postgres``). Each test makes
its own database and drops it. Without the variable (no server here) the tests skip with that message.

The check is end to end: the whole flagship `synth run` (import, dedup, screening history, extraction link,
meta-analysis, evidence, PRISMA) on PostgreSQL must give the same evidence and PRISMA files, byte for byte,
and the same stored rows, as on SQLite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flagship_helpers import copy_flagship
from typer.testing import CliRunner

from synth.cli.app import app

REPO = Path(__file__).resolve().parent.parent
NAME = "partnership-outcomes"
BASE = os.environ.get("SYNTH_TEST_PG_URL", "")
pytestmark = pytest.mark.skipif(not BASE, reason="SYNTH_TEST_PG_URL is not set: no PostgreSQL server to test "
                                                 "against (.ci/run starts one)")
runner = CliRunner()


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = sa.make_url(BASE)
    name = f"synth_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {t: int(conn.execute(sa.select(sa.func.count()).select_from(meta.tables[t])).scalar_one())
                    for t in sorted(meta.tables)}
    finally:
        engine.dispose()


def test_flagship_run_on_postgresql_matches_sqlite(tmp_path: Path, pg_url: str) -> None:
    lite, pg = copy_flagship(tmp_path / "lite"), copy_flagship(tmp_path / "pg")
    lite_url = f"sqlite:///{lite / '.synth' / 'review.sqlite'}"
    for ws, url in ((lite, lite_url), (pg, pg_url)):
        result = runner.invoke(app, ["--workspace", str(ws), "--db", url, "run"], prog_name="synth")
        assert result.exit_code == 0, result.output
    for name in ("evidence.json", "prisma.json", "prisma.csv"):
        a = (lite / "out" / NAME / name).read_bytes()
        b = (pg / "out" / NAME / name).read_bytes()
        assert a == b, name
    lite_rows, pg_rows = _counts(lite_url), _counts(pg_url)
    assert pg_rows == lite_rows
    assert pg_rows["records"] > 0 and pg_rows["events"] > 0


def test_second_run_on_postgresql_is_idempotent(tmp_path: Path, pg_url: str) -> None:
    ws = copy_flagship(tmp_path / "ws")
    first = runner.invoke(app, ["--workspace", str(ws), "--db", pg_url, "run"], prog_name="synth")
    assert first.exit_code == 0, first.output
    before = _counts(pg_url)
    again = runner.invoke(app, ["--workspace", str(ws), "--db", pg_url, "run"], prog_name="synth")
    assert again.exit_code == 0, again.output
    after = _counts(pg_url)
    assert after["records"] == before["records"]
