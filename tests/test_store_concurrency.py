"""Two real processes on one store (issue 23): a writer holding the lock makes a decision wait, not fail; two
sessions of the same reviewer merge without losing or overwriting a decision; the summary counts what the
store holds."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rich.console import Console
from screening_helpers import make_store, settings

from synth.screening import service
from synth.screening.state import active_decisions
from synth.screening.tui import ScreenSession
from synth.store import open_store

TESTS = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
TA = "title-abstract"


def _child(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


HOLD_LOCK = """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # the write lock, as a long import batch holds it
    conn.execute("INSERT INTO events (at, kind, actor, subject, payload) VALUES ('t', 'test', '', '', '{}')")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
"""


def test_a_decision_waits_for_another_process_that_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "review.sqlite"
    make_store(f"sqlite:///{path}")
    holder = _child(HOLD_LOCK, str(path), "7")  # longer than sqlite3's default 5 s wait
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    store = open_store(f"sqlite:///{path}")
    try:
        began = time.monotonic()
        decision_id = service.decide(store, settings(), record_id=1, stage=TA, reviewer="alice", decision="include")
        waited = time.monotonic() - began
        with store.connect() as conn:
            saved = [(d.id, d.record_id, d.decision) for d in active_decisions(conn, TA, "alice")]
    finally:
        store.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0, holder.stderr.read() if holder.stderr else ""
    assert saved == [(decision_id, 1, "include")]
    assert waited > 3  # it waited for the other process instead of failing


OTHER_SESSION = """
    import io, sys
    from rich.console import Console
    from screening_helpers import settings
    from synth.screening.tui import ScreenSession
    from synth.store import open_store

    store = open_store(sys.argv[1])
    keys = iter(["i", "i", "i", "q"])
    s = ScreenSession(store, settings(), "title-abstract", "alice", read_key=lambda: next(keys),
                      read_line=lambda p: "", console=Console(file=io.StringIO()), prioritise=False)
    s.run()
    print(" ".join(str(r) for r in sorted(s.decided)), flush=True)
    store.close()
"""


def test_two_sessions_of_one_reviewer_merge_without_loss(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    make_store(url, n=12)
    store = open_store(url)
    try:
        keys = iter(["m"] * 40)
        first = ScreenSession(store, settings(), TA, "alice", read_key=lambda: next(keys), read_line=lambda p: "",
                              console=Console(file=io.StringIO(), width=140), prioritise=False)
        pending = len(first.queue.pending) if hasattr(first.queue, "pending") else None
        other = _child(OTHER_SESSION, url)  # the same reviewer, another process, at the same time
        out, err = other.communicate(timeout=120)
        assert other.returncode == 0, err
        by_other = {int(x) for x in out.split()}
        assert len(by_other) == 3
        progress = first.run()
        with store.connect() as conn:
            stored = {d.record_id: d.decision for d in active_decisions(conn, TA, "alice")}
            history = sqlite3.connect(tmp_path / "review.sqlite").execute(
                "SELECT COUNT(*) FROM screening_decisions WHERE reviewer = 'alice' AND active = 0").fetchone()[0]
    finally:
        store.close()
    assert {rid: stored[rid] for rid in by_other} == dict.fromkeys(by_other, "include")  # not overwritten
    assert set(stored) == set(first.decided) and len(stored) == first.total
    assert all(stored[rid] == "maybe" for rid in stored if rid not in by_other)
    assert history == 0  # no decision was replaced behind anyone's back
    assert progress.screened == len(stored) and progress.includes + progress.maybes == len(stored)
    assert progress.maybes == sum(1 for d in stored.values() if d == "maybe")  # never counted as includes
    assert pending is None or pending >= len(stored)
