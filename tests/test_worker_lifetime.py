"""A ranking worker never outlives its screening process (issue 23): kill -9 a real process that runs a
:class:`~synth.screening.prioritise.ProcessPrioritiser` and check that no child survives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

CHILD = textwrap.dedent("""
    import multiprocessing, sys, time
    from synth.screening.prioritise import ProcessPrioritiser

    texts = {i: f"integrated care trial {i} " + ("hospital" if i % 2 else "community") for i in range(1, 61)}
    p = ProcessPrioritiser(texts)
    assert p.rank({1: 1, 2: 0}) is not None  # the worker is up and has ranked once
    print(" ".join(str(c.pid) for c in multiprocessing.active_children()), flush=True)
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        state = next(line for line in status.read_text().splitlines() if line.startswith("State:"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return False
    return " Z " not in state and "(zombie)" not in state  # a zombie has exited; only its entry is left


def test_the_ranking_worker_dies_with_a_killed_screening_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        assert proc.stdout is not None
        workers = [int(x) for x in proc.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [pid for pid in workers if _alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == [], "the ranking worker outlived the process that started it"
