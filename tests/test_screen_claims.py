"""Reviewers screening at once on one store (issue 17, item 3): a record's screening slots are claimed, so nobody
is handed a record whose slots are taken; a claim without a decision expires; a decision holds its slot for good
and undo gives it back. On SQLite here; tests/test_team_postgres.py runs the same rules on a server."""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console
from screening_helpers import make_store, settings

from synth.screening import service
from synth.screening.tui import ScreenSession
from synth.store import open_store
from synth.store import screening as db
from synth.store.schema import screening_claims

TA = "title-abstract"


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    make_store(url)
    s = open_store(url)
    yield s
    s.close()


def claim(store, rid: int, who: str, slots: int = 1, until: float | None = None) -> bool:  # type: ignore[no-untyped-def]
    with store.begin() as conn:
        return db.claim(conn, stage=TA, record_id=rid, reviewer=who, slots=slots, until=until)


def test_slots_are_taken_once_and_expired_claims_are_taken_over(store) -> None:  # type: ignore[no-untyped-def]
    assert claim(store, 1, "alice") and claim(store, 1, "alice")  # holding it again is fine
    assert not claim(store, 1, "bob")
    assert claim(store, 2, "bob", slots=2) and claim(store, 2, "carol", slots=2) and not claim(store, 2, "dan", slots=2)
    with store.begin() as conn:  # alice went away: her claim's time ran out
        conn.execute(screening_claims.update().where(screening_claims.c.record_id == 1).values(expires=0.0))
    assert claim(store, 1, "bob") and not claim(store, 1, "alice")
    with store.begin() as conn:
        db.release(conn, stage=TA, reviewer="bob")
    assert claim(store, 1, "alice")


def test_a_decision_holds_its_slot_for_good_and_undo_gives_it_back(store) -> None:  # type: ignore[no-untyped-def]
    one = dataclasses.replace(settings(), required={TA: 1, "full-text": 1})
    decision = service.decide(store, one, record_id=3, stage=TA, reviewer="alice", decision="include")
    with store.begin() as conn:
        db.release(conn, stage=TA, reviewer="alice")  # leaving the screen keeps decided claims
        assert db.taken_by_others(conn, stage=TA, reviewer="bob", slots=1) == {3}
        conn.execute(screening_claims.update().values(expires=sa.literal(0.0)).where(
            screening_claims.c.expires < db.DECIDED))
    assert not claim(store, 3, "bob")
    with store.begin() as conn:
        db.retract_decision(conn, decision, reviewer="alice")
    assert claim(store, 3, "bob")


def test_racing_reviewers_never_both_win_a_slot(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.sqlite'}"
    make_store(url, n=40)
    winners: dict[int, list[str]] = {rid: [] for rid in range(1, 41)}
    lock = threading.Lock()

    def reviewer(name: str) -> Callable[[], None]:
        def work() -> None:
            s = open_store(url)
            for rid in range(1, 41):
                if s.retrying(lambda conn, rid=rid: db.claim(conn, stage=TA, record_id=rid, reviewer=name, slots=1),
                              what="claim"):
                    with lock:
                        winners[rid].append(name)
            s.close()
        return work

    threads = [threading.Thread(target=reviewer(f"r{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(w) == 1 for w in winners.values()), winners


def _session(store, who: str, keys: list[str]) -> ScreenSession:  # type: ignore[no-untyped-def]
    it = iter(keys)
    one = dataclasses.replace(settings(), required={TA: 1, "full-text": 1})
    return ScreenSession(store, one, TA, who, read_key=lambda: next(it), console=Console(file=io.StringIO()),
                         prioritise=False)


def test_two_single_screeners_at_once_are_never_shown_the_same_record(store) -> None:  # type: ignore[no-untyped-def]
    shown: dict[str, list[int]] = {"alice": [], "bob": []}

    def watch(sess: ScreenSession, who: str) -> None:
        real = sess.show

        def show(rid: int) -> None:
            shown[who].append(rid)
            real(rid)
        sess.show = show  # type: ignore[method-assign]

    alice = _session(store, "alice", ["i", "e", "1"] * 10 + ["q"])
    bob = _session(store, "bob", ["e", "1", "i"] * 10 + ["q"])
    watch(alice, "alice")
    watch(bob, "bob")
    # alice opens her screen first and has her first record on screen when bob opens his
    first = alice._next()
    assert first is not None and alice._take(first) == (False, True)
    bob_first = bob._next()
    assert bob_first == first  # both queues start alike: the claim is what keeps bob off it
    bob.run(full_screen=False)
    alice.run(full_screen=False)
    assert first not in shown["bob"]
    decided = service.status(store, dataclasses.replace(settings(), required={TA: 1, "full-text": 1}))
    assert decided
    with store.connect() as conn:
        rows = conn.execute(sa.text("SELECT record_id, COUNT(DISTINCT reviewer) FROM screening_decisions "
                                    "WHERE active GROUP BY record_id")).all()
    assert rows and all(n == 1 for _, n in rows)
    assert set(shown["alice"]).isdisjoint(shown["bob"])
    with store.connect() as conn:  # nobody holds an undecided claim after leaving
        left = conn.execute(sa.select(sa.func.count()).select_from(screening_claims)
                            .where(screening_claims.c.expires < db.DECIDED)).scalar_one()
    assert left == 0


def test_a_run_of_records_taken_by_others_is_skipped_at_once(store) -> None:  # type: ignore[no-untyped-def]
    bob = _session(store, "bob", ["i", "q"])
    order = bob.queue.upcoming()
    for rid in order[:3]:  # alice, screening at the same time, holds the first three
        assert claim(store, rid, "alice")
    shown: list[int] = []
    real = bob.show
    bob.show = lambda rid: (shown.append(rid), real(rid))[1]  # type: ignore[method-assign]
    bob.run(full_screen=False)
    assert shown[0] == order[3] and bob.taken_by_others == 3
    assert bob.progress.total == len(order) - 3
