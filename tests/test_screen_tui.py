"""The interactive screen driven by scripted keys: decisions saved as made, reasons, undo, skip, back, notes,
blinding, highlighting, and nothing lost on Ctrl-C or a crash."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from rich.console import Console
from screening_helpers import make_store, settings

from synth.screening import service
from synth.screening.state import active_decisions
from synth.screening.state import texts as ranking_texts
from synth.screening.tui import ScreenSession
from synth.store import open_store
from synth.store import screening as db

TA, FT = "title-abstract", "full-text"


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    make_store(url)
    s = open_store(url)
    yield s
    s.close()


def keys(seq: Iterable[str], then: BaseException | None = None) -> Callable[[], str]:
    it = iter(seq)

    def read() -> str:
        try:
            return next(it)
        except StopIteration:
            raise (then or EOFError()) from None

    return read


def session(store, seq, *, reviewer="alice", stage=TA, then=None, lines=(), s=None):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    line_iter = iter(lines)
    return ScreenSession(store, s or settings(), stage, reviewer, read_key=keys(seq, then),
                         read_line=lambda prompt: next(line_iter), console=Console(file=out, width=140),
                         prioritise=False), out


def active(store, stage=TA):  # type: ignore[no-untyped-def]
    with store.connect() as conn:
        return [(d.record_id, d.reviewer, d.decision, d.reason, d.note) for d in active_decisions(conn, stage)]


def test_keys_make_decisions_with_reasons_and_notes(store) -> None:  # type: ignore[no-untyped-def]
    sess, out = session(store, ["i", "e", "1", "n", "m", "e", "0", "q"], lines=["check the dates"])
    progress = sess.run()
    assert active(store) == [
        (1, "alice", "include", None, ""),
        (2, "alice", "exclude", "population", ""),
        (3, "alice", "maybe", None, "check the dates"),
        (4, "alice", "exclude", None, ""),
    ]
    assert (progress.screened, progress.total, progress.includes, progress.maybes) == (4, 7, 1, 1)
    text = out.getvalue()
    assert "Integrated health and social care teams" in text
    assert "Reasons: 1 population  2 intervention" in text  # the criteria's numbers in the footer
    assert "4/7 screened · 1 included · 1 maybe" in text  # progress before the last key; a maybe is no include


def test_progress_line_and_highlighting(store) -> None:  # type: ignore[no-untyped-def]
    sess, _ = session(store, [])
    renderable = sess.render(1)
    console = Console(file=io.StringIO(), width=140, record=True)
    console.print(renderable)
    plain = console.export_text()
    assert "title-abstract · alice · 0/7 screened · 0 included" in plain
    text = sess._highlight("A Randomised trial of social care for children")
    styled = {text.plain[sp.start:sp.end].lower(): sp.style for sp in text.spans}
    assert styled.get("randomised") == "bold green"
    assert styled.get("children") == "bold red"
    assert styled.get("social care") == "bold green"


def test_undo_skip_back(store) -> None:  # type: ignore[no-untyped-def]
    # include 1; exclude 2 (no reason); undo -> 2 again; skip 2 -> 3; include 3; back -> 3 again; exclude 3
    # with reason 5 (design); then 4 is next: quit
    sess, _ = session(store, ["i", "e", "0", "u", "s", "i", "b", "e", "5", "q"])
    sess.run()
    assert active(store) == [(1, "alice", "include", None, ""), (3, "alice", "exclude", "design", "")]
    with store.connect() as conn:
        history = conn.exec_driver_sql("select record_id, decision, active from screening_decisions order by id").all()
    assert [tuple(r) for r in history] == [(1, "include", 1), (2, "exclude", 0), (3, "include", 0),
                                           (3, "exclude", 1)]
    # the skipped record 2 is still to do, after the others
    sess2, _ = session(store, ["q"])
    assert sess2.queue.next() == 2


def test_full_text_needs_a_reason(store) -> None:  # type: ignore[no-untyped-def]
    s = settings()
    for who in ("alice", "bob"):
        service.decide(store, s, record_id=1, stage=TA, reviewer=who, decision="include")
    sess, out = session(store, ["e", "0", "9", "7", "q"], stage=FT)
    sess.run()
    assert active(store, FT) == [(1, "alice", "exclude", "duplicate-report", "")]
    assert "'0' is not a reason number; press 1-7 or c to cancel." in out.getvalue()


def test_blinding_hides_the_other_reviewer(store) -> None:  # type: ignore[no-untyped-def]
    s = settings()
    service.decide(store, s, record_id=1, stage=TA, reviewer="bob", decision="exclude", reason="design")
    sess, _ = session(store, [], s=s)
    console = Console(file=io.StringIO(), width=140, record=True)
    console.print(sess.render(1))
    assert "bob" not in console.export_text()
    from dataclasses import replace

    open_settings = replace(s, blinding=False)
    sess2, _ = session(store, [], s=open_settings)
    console = Console(file=io.StringIO(), width=140, record=True)
    console.print(sess2.render(1))
    assert "bob: exclude (design)" in console.export_text()


@pytest.mark.parametrize("ending", [KeyboardInterrupt(), EOFError(), RuntimeError("terminal closed")])
def test_interruptions_lose_nothing(store, ending) -> None:  # type: ignore[no-untyped-def]
    sess, _ = session(store, ["i", "e", "2"], then=ending)
    if isinstance(ending, RuntimeError):
        with pytest.raises(RuntimeError):
            sess.run()
    else:
        sess.run()
    assert active(store) == [(1, "alice", "include", None, ""), (2, "alice", "exclude", "intervention", "")]


def test_second_reviewer_sees_only_what_still_needs_them(store) -> None:  # type: ignore[no-untyped-def]
    s = settings()
    for who in ("alice", "bob"):
        service.decide(store, s, record_id=1, stage=TA, reviewer=who, decision="include")
    carol, _ = session(store, [], reviewer="carol")
    assert carol.queue.next() == 2  # record 1 already has its two reviewers
    alice, _ = session(store, [], reviewer="alice")
    assert alice.queue.next() == 2


def test_background_prioritisation_reorders_the_queue(tmp_path: Path) -> None:
    from synth.screening.prioritise import Prioritiser

    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    make_store(url, n=40)
    store = open_store(url)
    seen: dict[str, list[int]] = {}
    script = iter(["i", "e", "0"])

    def read_key() -> str:
        for key in script:
            return key
        assert sess.ranker is not None and sess.ranker.wait_idle(30)
        seen["order"] = sess.queue.remaining_ids()
        return "q"

    sess = ScreenSession(store, settings(), TA, "alice", read_key=read_key,
                         console=Console(file=io.StringIO(), width=140), prioritise=True)
    sess.run()
    assert sess.ranker is not None and sess.ranker.error is None and sess.ranker.rounds >= 1
    with store.connect() as conn:
        docs = ranking_texts(conn, db.screenable_ids(conn))
    candidates = [3, 4, 5, 7, 8, *range(9, 41)]
    expected = Prioritiser(docs).rank({1: 1, 2: 0}, candidates)
    assert seen["order"] == expected
    assert seen["order"] != candidates  # the model changed the order
    store.close()


def test_back_twice_reaches_the_first_record(store) -> None:  # type: ignore[no-untyped-def]
    # include 1, include 2, back (-> 2), back (-> 1), exclude 1 with reason 2, then 3 is next (2 keeps include)
    sess, _ = session(store, ["i", "i", "b", "b", "e", "2"])
    seen: list[int] = []
    original = sess.show

    def show(rid: int) -> None:
        seen.append(rid)
        original(rid)

    sess.show = show  # type: ignore[method-assign]
    sess.run()
    assert seen == [1, 2, 3, 2, 1, 3]
    assert active(store) == [(2, "alice", "include", None, ""), (1, "alice", "exclude", "intervention", "")]


def test_random_sample_rule_switches_to_a_random_order_once_the_run_of_exclusions_is_reached(
        tmp_path: Path) -> None:
    import random
    from dataclasses import replace

    from synth.screening.stopping import heuristic_run

    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    make_store(url, n=80)
    store = open_store(url)
    s = replace(settings(), stop_rule="random-sample")
    seen: dict[str, object] = {}
    need = heuristic_run(79)  # 80 records, one a duplicate
    script = iter(["i"] + ["e", "0"] * (need - 1))

    def read_key() -> str:
        for key in script:
            return key
        if "before" not in seen:  # one exclusion short of the run: still prioritised
            seen["before"] = (sess.sampling, sess.ranker is not None)
            return "e" if seen.setdefault("pending", True) else "0"
        if seen.pop("pending", None):
            return "0"
        seen["after"] = (sess.sampling, sess.ranker, sess.queue.remaining_ids(), dict(sess.progress.stop or {}))
        return "q"

    out = io.StringIO()
    sess = ScreenSession(store, s, TA, "alice", read_key=read_key, console=Console(file=out, width=200),
                         prioritise=True, ranker_process=False)
    sess.run()
    assert seen["before"] == (False, True)
    sampling, ranker, remaining, stop = seen["after"]  # type: ignore[misc]
    assert sampling is True and ranker is None  # the model no longer orders what is left
    expected = sorted(remaining)
    random.Random("title-abstract:alice").shuffle(expected)
    assert remaining == expected
    assert stop["rule"] == "random-sample" and stop["params"]["phase"] == "random sample"
    assert stop["params"]["sample_from"] == need + 1 and stop["params"]["sample_size"] == 0
    assert "Random-sample phase of the stopping rule" in out.getvalue()
    assert "random-sample rule: continue" in out.getvalue()
    # a new session on the same decisions starts in the random phase, without a model
    again = ScreenSession(store, s, TA, "alice", read_key=keys(["q"]), console=Console(file=io.StringIO()),
                          prioritise=True, ranker_process=False)
    assert again.sampling and again.ranker is None
    unprioritised = ScreenSession(store, s, TA, "alice", read_key=keys(["q"]), console=Console(file=io.StringIO()),
                                  prioritise=False)
    assert unprioritised.sampling and unprioritised.queue.remaining_ids() == remaining
    store.close()


def sized(store, seq, width, height, **kw):  # type: ignore[no-untyped-def]
    console = Console(file=io.StringIO(), width=width, height=height, record=True)
    sess = ScreenSession(store, kw.pop("s", None) or settings(), TA, "alice", read_key=keys(seq),
                         console=console, prioritise=kw.pop("prioritise", False), **kw)
    return sess, console


def screen_text(sess: ScreenSession, rid: int) -> list[str]:
    assert sess.console is not None
    width, height = sess.console.size
    console = Console(file=io.StringIO(), width=width, height=height, record=True)
    console.print(sess.render(rid))
    return console.export_text().splitlines()


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
def test_the_layout_fills_the_screen_and_pins_title_progress_and_keys(store, size) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from synth.store.schema import records

    width, height = size
    long = " ".join(f"Line {i} says p &lt; 0.05 for <i>joint</i> teams." for i in range(1, 300))
    with store.begin() as conn:
        conn.execute(sa.update(records).where(records.c.id == 1).values(abstract=long))
    sess, _ = sized(store, [], width, height)
    first = screen_text(sess, 1)
    assert len(first) == height and all(len(line) <= width for line in first)
    assert first[0].startswith("title-abstract · alice · 0/7 screened · 0 included · 0 maybe")
    assert any("Integrated health and social care teams" in line for line in first)
    assert any("[q] quit" in line for line in first[-4:])
    assert "Line 1 says p < 0.05 for joint teams." in " ".join(first)  # entities and tags decoded
    assert "Line 299 " not in " ".join(first)
    sess._scroll(10_000)  # clamped to the end of the abstract
    last = screen_text(sess, 1)
    assert len(last) == height and "Line 299 says" in " ".join(last) and "Line 1 says" not in " ".join(last)
    assert last[:3] == first[:3]  # progress, rule and title unmoved
    sess._scroll(-10_000)
    assert screen_text(sess, 1) == first


def test_a_long_title_keeps_three_lines_and_the_screen_its_height(store) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from synth.store.schema import records

    with store.begin() as conn:
        conn.execute(sa.update(records).where(records.c.id == 1).values(title="Very long title " * 40))
    sess, _ = sized(store, [], 80, 24)
    lines = screen_text(sess, 1)
    assert len(lines) == 24
    assert sum("Very long title" in line for line in lines) == 3 and lines[4].endswith("…")


def test_tags_are_saved_shown_removed_and_listed(store) -> None:  # type: ignore[no-untyped-def]
    from synth.store.events import read

    lines = iter(["Ask  Author, qualitative", "-qualitative"])
    sess, _ = sized(store, ["t", "t", "i", "q"], 120, 30, read_line=lambda prompt: next(lines))
    sess.run()
    with store.connect() as conn:
        assert db.tags(conn, "alice") == {1: ["ask author"]}
        events = [e["payload"] for e in read(conn, "tag")]
    assert events == [{"record_id": 1, "added": ["ask author", "qualitative"], "removed": []},
                      {"record_id": 1, "added": [], "removed": ["qualitative"]}]
    again, _ = sized(store, [], 120, 30)
    assert "Tags: ask author" in "\n".join(screen_text(again, 1))  # loaded in a new session
    assert service.tag_list(store, reviewer="bob") == []
    rows = service.tag_list(store, tag="Ask author")
    assert [(r["record"], r["reviewer"], r["tag"]) for r in rows] == [(1, "alice", "ask author")]
    with pytest.raises(service.InputError, match="cannot be empty"):
        service.tag(store, record_id=1, reviewer="alice", add=[" "])
    with pytest.raises(service.InputError, match="screened out by dedup"):
        service.tag(store, record_id=6, reviewer="alice", add=["x"])


def test_the_filter_serves_only_matching_records_and_clears_itself(store) -> None:  # type: ignore[no-untyped-def]
    lines = iter(["ASTHMA", "joint commissioning"])
    sess, console = sized(store, ["/", "i", "/", "s", "e", "0", "q"], 120, 30, read_line=lambda prompt: next(lines))
    shown: list[int] = []
    original = sess.show

    def show(rid: int) -> None:
        shown.append(rid)
        original(rid)

    sess.show = show  # type: ignore[method-assign]
    sess.run()
    # 1 first; filter "asthma" -> 4 (included); no other match: the filter clears, 1 again; filter "joint
    # commissioning" -> 5; skipped, it comes back (the only match left), is excluded; the filter clears: 1
    assert shown == [1, 4, 1, 5, 5, 1]
    assert active(store) == [(4, "alice", "include", None, ""), (5, "alice", "exclude", None, "")]
    assert sess.filter == "" and "Saved: record 4 include. No record left to screen matches 'ASTHMA'; the filter is cleared." in (
        console.export_text())


def test_the_list_shows_records_with_status_and_opens_the_one_picked(store) -> None:  # type: ignore[no-untyped-def]
    sess, console = sized(store, ["i", "l", "down", "down", "\r", "m", "q"], 120, 30)
    sess.run()
    text = console.export_text()
    assert "records to screen in the order they come, then yours" in text
    assert "      1  include" in text and "      2  to screen" in text
    # the list held 2, 3, 4, ... then 1: two down from the top is record 4, which is now a maybe
    assert active(store) == [(1, "alice", "include", None, ""), (4, "alice", "maybe", None, "")]


def test_typed_text_is_edited_on_the_screen_itself(store) -> None:  # type: ignore[no-untyped-def]
    sess, console = sized(store, ["n", "o", "k", "x", "\x7f", "!", "\r", "i", "q"], 120, 30)
    sess.run()
    assert active(store)[0] == (1, "alice", "include", None, "ok!")
    assert "Note: ok▏" in console.export_text()


def test_why_next_shows_the_model_score_and_the_terms_behind_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    make_store(url, n=40)
    store = open_store(url)
    try:
        sess, _ = sized(store, [], 160, 40, prioritise=True, ranker_process=False)
        assert "not ranked yet" in sess._why(1)
        sess._decide(1, "include", None)
        sess._decide(4, "exclude", None)  # the asthma record
        assert sess.ranker.wait_idle(30)
        nxt = sess.queue.next()
        assert nxt is not None and sess.ranking is not None
        why = sess._why(nxt)
        assert why.startswith(f"score {sess.ranking.scores()[nxt]:+.2f}, ranked 1 of {len(sess.ranking.order)}")
        assert list(sess.ranking.ordered_scores) == sorted(sess.ranking.ordered_scores, reverse=True)
        assert "on 2 decisions (1 include or maybe)" in why and "raised by:" in why
        assert sess.progress.stop is not None  # the rule's state was shown before the first ranking too
    finally:
        if sess.ranker is not None:
            sess.ranker.close()
        store.close()


def test_help_lists_every_key_and_reason_and_maybes_are_counted_apart(store) -> None:  # type: ignore[no-untyped-def]
    sess, console = sized(store, ["?", "x", "m", "m", "i", "q"], 120, 40)
    progress = sess.run()
    text = console.export_text()
    assert "add a note to this record" in text and "1  population: Wrong population" in text
    assert (progress.includes, progress.maybes) == (1, 2)
    assert "2/7 screened · 0 included · 2 maybe" in text and "3/7 screened · 1 included · 2 maybe" in text
