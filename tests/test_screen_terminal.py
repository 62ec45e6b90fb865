"""The screening screen as a reviewer meets it: `synth screen` run in a real pseudo-terminal of a given size,
its output read through a terminal emulator (pyte), keys typed one by one.

At 80x24 and at 120x40 the title, the progress line and the keys stay on screen while the abstract scrolls;
HTML entities are decoded; Ctrl-C leaves without a traceback (from the screen or the ranking worker) and keeps
every decision made."""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyte
import pytest
import sqlalchemy as sa
from screening_helpers import make_workspace

from synth.records.model import Author, Provenance, Record
from synth.store import open_store
from synth.store.records import insert_records
from synth.store.schema import records

LONG = " ".join(f"Sentence {i} of a long abstract on joint health and social care teams, p &lt; 0.001."
                for i in range(1, 61))
TITLES = ["Joint teams for older people: a cluster randomised trial of integrated care",
          "Pooled budgets and carers' outcomes in community services",
          "Hospital discharge planning with social workers"]


def long_store(url: str) -> None:
    store = open_store(url)
    with store.begin() as conn:
        conn.execute(sa.delete(records))
        insert_records(conn, [Record(title=t, abstract=LONG, authors=[Author(family="Khan", given="S")], year=2019,
                                     journal="Journal of Integrated Care",
                                     provenance=Provenance(source="test", source_record_id=f"t{i}"), raw={})
                              for i, t in enumerate(TITLES)])
        conn.execute(sa.update(records).values(cluster_id=records.c.id))
    store.close()


class Terminal:
    """A child process on a pseudo-terminal of ``cols`` x ``rows``, seen through a pyte screen."""

    def __init__(self, argv: list[str], cols: int, rows: int, cwd: Path) -> None:
        import fcntl
        import termios

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env.update(TERM="xterm-256color", PYTHONUNBUFFERED="1")

        def controlling_terminal() -> None:  # as a login shell's child: Ctrl-C sends SIGINT to the group
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                                     preexec_fn=controlling_terminal)
        os.close(slave)
        self.master = master
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""

    def pump(self, timeout: float) -> None:
        while select.select([self.master], [], [], timeout)[0]:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.raw += data
            self.stream.feed(data)
            timeout = 0.05

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait_for(self, ok: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            if ok(self.text()):
                return self.text()
            if self.proc.poll() is not None:
                self.pump(0.1)
                break
        raise AssertionError(f"screen never showed {what}:\n{self.text()}\n--- raw tail ---\n{self.raw[-2000:]!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        os.close(self.master)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_title_stays_on_screen_while_the_abstract_scrolls(tmp_path: Path, size: tuple[int, int]) -> None:
    cols, rows = size
    ws, url = make_workspace(tmp_path)
    long_store(url)
    term = Terminal([sys.executable, "-m", "synth", "--workspace", str(ws), "--db", url, "screen",
                     "--stage", "title-abstract", "--reviewer", "alice"], cols, rows, tmp_path)
    try:
        first = term.wait_for(lambda t: "Sentence 1 of" in t, "the first record")
        lines = term.lines()
        assert len(lines) == rows
        assert lines[0].startswith("title-abstract · alice · 0/3 screened · 0 included · 0 maybe")
        assert "Joint teams for older people" in first
        assert "p < 0.001" in first and "&lt;" not in first  # entities decoded
        assert "[q] quit" in first  # the keys' footer is on screen too
        assert "Sentence 60 of" not in first  # the abstract is longer than the screen: it scrolls
        # page down until the end: the title and progress stay where they were
        for _ in range(12):
            term.type(" ")
            term.wait_for(lambda t: "Joint teams for older people" in t, "the title after a page down")
            assert term.lines()[0].startswith("title-abstract · alice")
        last = term.wait_for(lambda t: "Sentence 60 of" in t, "the end of the abstract")
        assert "Sentence 1 of" not in last
        assert "[q] quit" in last
        term.type("k")  # one line back up, then decide: the next record starts at the top of its abstract
        term.type("i")
        second = term.wait_for(lambda t: "Pooled budgets" in t, "the second record")
        assert "Sentence 1 of" in second and "1/3 screened · 1 included" in second
        term.type("m")
        term.wait_for(lambda t: "Hospital discharge planning" in t, "the third record")
        term.type("\x03")  # Ctrl-C: leaves cleanly, decisions kept
        assert term.proc.wait(timeout=30) == 0
        term.pump(0.3)
        assert b"Traceback" not in term.raw and b"KeyboardInterrupt" not in term.raw
    finally:
        term.close()
    store = open_store(url)
    with store.connect() as conn:
        kept = conn.execute(sa.text("SELECT record_id, decision FROM screening_decisions WHERE active ORDER BY id")).all()
    store.close()
    assert [tuple(r) for r in kept] == [(1, "include"), (2, "maybe")]
