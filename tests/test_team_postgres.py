"""A team review on a real PostgreSQL server (issue 17): members are login roles, and the server itself enforces
blinding, identity and who may resolve, whatever the client does (raw SQL included). Also: moving a review
SQLite -> PostgreSQL -> SQLite loses nothing; bad URLs and refusals are one Error line.

`.ci/run` starts the server and sets ``SYNTH_TEST_PG_URL`` (a superuser URL, the databases' owner here); each
test makes its own database and member roles and drops them.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flagship_helpers import copy_flagship
from typer.testing import CliRunner

from synth.cli.app import app
from synth.store.transfer import tables

FIXTURES = Path(__file__).parent / "fixtures" / "newcomer"
BASE = os.environ.get("SYNTH_TEST_PG_URL", "")
pytestmark = pytest.mark.skipif(not BASE, reason="SYNTH_TEST_PG_URL is not set: no PostgreSQL server to test "
                                                 "against (.ci/run starts one)")
runner = CliRunner()


@pytest.fixture
def server() -> Iterator[dict[str, str]]:
    """A fresh database (URL not yet created: team init creates it) and a unique suffix for member names."""
    base = sa.make_url(BASE)
    tag = uuid.uuid4().hex[:8]
    name = f"synth_team_{tag}"
    yield {"url": base.set(database=name).render_as_string(hide_password=False), "tag": tag}
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        roles = conn.execute(sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p OR rolname LIKE :q"),
                             {"p": f"%\\_{tag}", "q": f"synth\\_synth\\_team\\_{tag}\\_%"}).scalars().all()
        for role in roles:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


def as_member(url: str, name: str) -> str:
    return sa.make_url(url).set(username=name).render_as_string(hide_password=False)


def synth(ws: Path, url: str, *args: str, ok: bool = True):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["--workspace", str(ws), "--db", url, *args], prog_name="synth")
    if ok:
        assert result.exit_code == 0, f"synth {' '.join(args)}:\n{result.output}"
    return result


def _workspace(tmp: Path) -> Path:
    ws = tmp / "falls"
    assert runner.invoke(app, ["init", str(ws), "--template", "blank", "--name", "falls"]).exit_code == 0
    text = (FIXTURES / "falls.toml").read_text().replace("reviewers_title_abstract = 1",
                                                         "reviewers_title_abstract = 2")
    (ws / "protocols" / "falls.toml").write_text(text)
    shutil.copy(FIXTURES / "embase.ris", ws / "embase.ris")
    return ws


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_the_server_enforces_identity_blinding_and_roles(tmp_path: Path, server: dict[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url, tag = server["url"], server["tag"]
    alice, bob, carol = f"alice_{tag}", f"bob_{tag}", f"carol_{tag}"
    ws = _workspace(tmp_path)
    init = synth(ws, url, "team", "init", "-f", "json")
    assert '"database_created": true' in init.stdout
    synth(ws, url, "team", "init")  # again: idempotent
    for name, role in ((alice, "screener"), (bob, "screener")):
        synth(ws, url, "team", "add", name, "--role", role)
    monkeypatch.setenv("SYNTH_MEMBER_PASSWORD", "carol-Secret-77")
    added = synth(ws, url, "team", "add", carol, "--role", "lead", "-f", "json")
    monkeypatch.delenv("SYNTH_MEMBER_PASSWORD")
    assert '"password_set": true' in added.stdout and "carol-Secret-77" not in added.output
    stored = _rows(url, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{carol}'")[0][0]
    assert str(stored).startswith("SCRAM-SHA-256$") and "carol-Secret-77" not in str(stored)
    listed = synth(ws, url, "team", "list", "-f", "csv").stdout
    assert f"{alice},screener" in listed and f"{carol},lead" in listed
    synth(ws, url, "import", str(ws / "embase.ris"))
    ids = [r[0] for r in _rows(url, "SELECT id FROM records ORDER BY id")]
    a, b = ids[0], ids[1]

    # each screener decides as themselves: no --reviewer needed, the login role is the reviewer
    (tmp_path / "alice.csv").write_text(f"record,decision,reason\n{a},include,\n")
    synth(ws, as_member(url, alice), "screen", "import", str(tmp_path / "alice.csv"))
    (tmp_path / "bob.csv").write_text(f"record,decision,reason\n{a},exclude,population\n{b},include,\n")
    synth(ws, as_member(url, bob), "screen", "import", str(tmp_path / "bob.csv"))

    # blinding on the server, for raw SQL too: alice sees bob's decision on a (she has decided it), not on b
    seen = set(_rows(as_member(url, alice), "SELECT reviewer, record_id FROM screening_decisions"))
    assert seen == {(alice, a), (bob, a)}
    events = _rows(as_member(url, alice), "SELECT actor, subject FROM events WHERE kind = 'decision'")
    assert (bob, str(b)) not in events and (bob, str(a)) in events
    assert set(_rows(as_member(url, carol), "SELECT reviewer, record_id FROM screening_decisions")) == {
        (alice, a), (bob, a), (bob, b)}

    # nobody writes as someone else: refused by the client, and by the server for raw SQL
    refused = synth(ws, as_member(url, alice), "screen", "import", str(tmp_path / "alice.csv"),
                    "--reviewer", bob, ok=False)
    assert refused.exit_code == 1 and "names someone else" in refused.output
    engine = sa.create_engine(as_member(url, alice))
    with pytest.raises(sa.exc.DBAPIError, match="row-level security"), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO screening_decisions (record_id, stage, reviewer, decision, at, origin, "
                             f"active) VALUES ({b}, 'title-abstract', '{bob}', 'exclude', 'now', 'screen', true)"))
    with engine.begin() as conn:  # nor rewrites another's decision: the server shows her no row to change
        changed = conn.execute(sa.text(f"UPDATE screening_decisions SET decision = 'exclude' WHERE reviewer = '{bob}'"))
    engine.dispose()
    assert changed.rowcount == 0
    assert _rows(url, f"SELECT decision FROM screening_decisions WHERE reviewer = '{bob}' ORDER BY id") == [
        ("exclude",), ("include",)]

    # a screener cannot resolve the conflict; the lead can
    denied = synth(ws, as_member(url, alice), "screen", "resolve", str(a), "include", "--method", "consensus",
                   ok=False)
    assert denied.exit_code == 1
    assert denied.output.startswith("Error: the PostgreSQL server") and "Traceback" not in denied.output
    assert len(denied.output.strip().splitlines()) == 1
    synth(ws, as_member(url, carol), "screen", "resolve", str(a), "include", "--method", "third-reviewer")
    # a lead may enter decisions in a screener's name (made on paper, say); the server allows it
    (tmp_path / "paper.csv").write_text(f"record,decision,reason\n{ids[2]},include,\n")
    synth(ws, as_member(url, carol), "screen", "import", str(tmp_path / "paper.csv"), "--reviewer", alice)
    assert (alice, ids[2]) in set(_rows(url, "SELECT reviewer, record_id FROM screening_decisions"))
    assert _rows(url, "SELECT record_id, resolved_by FROM screening_resolutions") == [(a, carol)]

    # a screener's blinded view cannot be exported as if it were the review
    partial = synth(ws, as_member(url, alice), "team", "export", str(tmp_path / "a.sqlite"), ok=False)
    assert partial.exit_code == 1 and "incomplete" in partial.output and not (tmp_path / "a.sqlite").exists()


def test_a_review_moves_sqlite_to_postgresql_and_back_without_loss(tmp_path: Path, server: dict[str, str]) -> None:
    ws = copy_flagship(tmp_path / "lite")
    lite = ws / ".synth" / "review.sqlite"
    assert runner.invoke(app, ["--workspace", str(ws), "--db", f"sqlite:///{lite}", "run"]).exit_code == 0
    url = server["url"]
    synth(ws, url, "team", "init")
    synth(ws, url, "team", "import", str(lite))
    back = tmp_path / "back.sqlite"
    synth(ws, url, "team", "export", str(back))
    again = synth(ws, url, "team", "import", str(lite), ok=False)
    assert again.exit_code == 1 and "already holds a review" in again.output

    def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
        engine = sa.create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as conn:
                return {t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
                        for t in tables()}
        finally:
            engine.dispose()

    before, after = dump(lite), dump(back)
    assert before["records"] and before["events"] and before["screening_resolutions"]
    for name in before:
        assert after[name] == before[name], name
    # the server's sequences were moved past the copied ids: new rows get new ids
    (tmp_path / "d.csv").write_text("record,decision,reason\n1,include,\n")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        top = conn.execute(sa.text("SELECT MAX(id) FROM events")).scalar_one()
        new = conn.execute(sa.text("INSERT INTO events (at, kind, actor, subject, payload) "
                                   "VALUES ('now', 'run', '', '', '{}') RETURNING id")).scalar_one()
    engine.dispose()
    assert new == top + 1


def test_bad_urls_and_refusals_are_one_error_line(tmp_path: Path, server: dict[str, str]) -> None:
    ws = _workspace(tmp_path)
    url = sa.make_url(server["url"])
    with_password = url.set(password="s3cret-Pw").render_as_string(hide_password=False)
    out = synth(ws, with_password, "records", "list", ok=False)
    assert out.exit_code == 1 and "PGPASSWORD" in out.output and "s3cret-Pw" not in out.output
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed = probe.getsockname()[1]
    probe.close()
    gone = url.set(port=closed).render_as_string(hide_password=False)
    out = synth(ws, gone, "records", "list", ok=False)
    assert out.exit_code == 1 and f"127.0.0.1:{closed}" in out.output and "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1
    out = synth(ws, as_member(server["url"], f"nobody_{server['tag']}"), "team", "init", ok=False)
    assert out.exit_code == 1 and out.output.startswith("Error:")


def test_claims_on_the_server_keep_single_screeners_apart(tmp_path: Path, server: dict[str, str]) -> None:
    from synth.store import open_store
    from synth.store import screening as db

    url, tag = server["url"], server["tag"]
    alice, bob = f"alice_{tag}", f"bob_{tag}"
    ws = _workspace(tmp_path)
    synth(ws, url, "team", "init")
    for name in (alice, bob):
        synth(ws, url, "team", "add", name, "--role", "screener")
    synth(ws, url, "import", str(ws / "embase.ris"))
    rid = _rows(url, "SELECT MIN(id) FROM records")[0][0]
    stores = {who: open_store(as_member(url, who)) for who in (alice, bob)}

    def claim(who: str) -> bool:
        with stores[who].begin() as conn:
            return db.claim(conn, stage="title-abstract", record_id=rid, reviewer=who, slots=1)

    assert claim(alice) and not claim(bob)
    with pytest.raises(Exception, match="row-level security"), stores[alice].begin() as conn:
        db.claim(conn, stage="title-abstract", record_id=rid + 1, reviewer=bob, slots=1)
    engine = sa.create_engine(as_member(url, bob))
    with engine.begin() as conn:  # nor releases another's claim
        gone = conn.execute(sa.text(f"DELETE FROM screening_claims WHERE reviewer = '{alice}'"))
    engine.dispose()
    assert gone.rowcount == 0
    _rows(url, "UPDATE screening_claims SET expires = 0 RETURNING 1")  # alice's claim ran out (as owner)
    assert claim(bob) and not claim(alice)
    for s in stores.values():
        s.close()


def test_import_and_dedup_run_while_a_screener_screens(tmp_path: Path, server: dict[str, str]) -> None:
    """The lead imports and deduplicates 2,000 new records in another process while a screener decides; both
    finish, and nothing either wrote is lost."""
    import dataclasses
    import io
    import subprocess
    import sys
    import time

    from rich.console import Console
    from screening_helpers import settings

    from synth.screening.tui import ScreenSession
    from synth.store import open_store

    url, tag = server["url"], server["tag"]
    alice = f"alice_{tag}"
    ws = _workspace(tmp_path)
    synth(ws, url, "team", "init")
    synth(ws, url, "team", "add", alice, "--role", "screener")
    synth(ws, url, "import", str(ws / "embase.ris"))
    synth(ws, url, "dedup")
    first = len(_rows(url, "SELECT id FROM records"))
    big = tmp_path / "big.ris"
    big.write_text("".join(f"TY  - JOUR\nTI  - Balance training study number {i} in community dwelling adults\n"
                           f"AU  - Author{i}, A\nPY  - {1990 + i % 30}\nJO  - Journal {i % 40}\nVL  - {i}\n"
                           f"SP  - {i}\nAB  - Abstract {i}.\nER  - \n" for i in range(2000)))
    cli = [sys.executable, "-m", "synth", "--workspace", str(ws), "--db", url]
    lead = subprocess.Popen(["sh", "-c", '"$@" import "$0" && "$@" dedup', str(big), *cli],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    keys = iter(["i", "e", "1"] * 3 + ["q"])

    def read_key() -> str:  # a reviewer's pace, so the lead's import and dedup run meanwhile
        time.sleep(0.4)
        return next(keys)

    store = open_store(as_member(url, alice))
    one = dataclasses.replace(settings(), required={"title-abstract": 1, "full-text": 1})
    session = ScreenSession(store, one, "title-abstract", alice, read_key=read_key,
                            console=Console(file=io.StringIO()), prioritise=False)
    session.run(full_screen=False)
    store.close()
    _, err = lead.communicate(timeout=300)
    assert lead.returncode == 0, err
    assert len(_rows(url, "SELECT id FROM records")) == first + 2000
    mine = _rows(url, f"SELECT record_id, decision FROM screening_decisions WHERE reviewer = '{alice}' AND active")
    assert session.progress.screened == session.progress.total == first and len(mine) == first
    assert _rows(url, f"SELECT COUNT(*) FROM events WHERE kind = 'decision' AND actor = '{alice}'") == [(first,)]
