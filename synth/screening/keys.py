"""Reading the keyboard for the screen: one key at a time, arrow and page keys as names.

From a terminal, keys are read unbuffered in cbreak mode, held for the whole session by :func:`keyboard`
(Ctrl-C still interrupts); an escape sequence that
follows ``Esc`` within 30 ms is read whole and named (``up``, ``down``, ``pgup``, ``pgdn``, ``home``, ``end``),
and ``Esc`` alone stays ``"\\x1b"``. From a pipe, each character is a key (newlines skipped), so scripts and
tests can drive the screen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

SEQUENCES = {
    "[A": "up", "[B": "down", "OA": "up", "OB": "down",
    "[5~": "pgup", "[6~": "pgdn", "[H": "home", "[F": "end", "[1~": "home", "[4~": "end",
    "OH": "home", "OF": "end",
}
ENTER = ("\r", "\n")
BACKSPACE = ("\x7f", "\x08")


def _read_sequence(fd: int) -> str:
    """The rest of an escape sequence already waiting on ``fd`` (nothing when Esc was pressed alone)."""
    import select

    seq = ""
    while len(seq) < 6 and select.select([fd], [], [], 0.03)[0]:
        seq += os.read(fd, 1).decode("latin-1")
        if seq[-1].isalpha() or seq[-1] == "~":
            break
    return seq


_HELD = False


@contextmanager
def keyboard() -> Iterator[None]:
    """Hold the terminal in cbreak mode (no echo, no line buffering) for a whole session: keys typed while the
    screen redraws are neither echoed over it nor held back until Enter, as they would be if the mode were set
    for each key. Restored on leaving, whatever happens. Does nothing when stdin is not a terminal."""
    global _HELD
    if not sys.stdin.isatty() or _HELD:
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    _HELD = True
    try:
        yield
    finally:
        _HELD = False
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def read_key_terminal() -> str:
    """One key press from the terminal (cbreak mode); from a pipe, the next non-newline character."""
    if not sys.stdin.isatty():
        while True:
            ch = sys.stdin.read(1)
            if ch == "":
                raise EOFError
            if ch not in ENTER:
                return ch
    with keyboard():
        fd = sys.stdin.fileno()
        raw = os.read(fd, 1)
        if raw and raw[0] >= 0xC0:  # the rest of one UTF-8 character
            raw += os.read(fd, 1 if raw[0] < 0xE0 else 2 if raw[0] < 0xF0 else 3)
        ch = raw.decode("utf-8", errors="replace")
        if ch == "\x1b":
            seq = _read_sequence(fd)
            ch = SEQUENCES.get(seq, "\x1b" if not seq else f"\x1b{seq}")
    if ch == "\x03":
        raise KeyboardInterrupt
    if ch in ("\x04", ""):
        raise EOFError
    return ch
