"""Who still needs to screen what, in which order, and what a reviewer may see (blinding).

:func:`pending_for` says which records a reviewer still has to screen at a stage; :class:`ScreeningQueue` serves
them one at a time in O(1) amortised time per record (so the next record is instant with 50,000 in the queue),
with skip (to the end), undo/back (returned to the front) and an atomic :meth:`ScreeningQueue.reorder` for the
background re-ranker.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence

from synth.screening.decisions import Decision, Outcome, Stage


def stage_pool(stage: str, representatives: Sequence[int], ta_outcomes: dict[int, Outcome] | None) -> list[int]:
    """Records screened at ``stage``: every cluster representative at title/abstract; at full text, those
    whose title/abstract outcome is *include*."""
    if stage == Stage.title_abstract:
        return list(representatives)
    outcomes = ta_outcomes or {}
    return [rid for rid in representatives if (o := outcomes.get(rid)) is not None and o.status == "include"]


def pending_for(
    reviewer: str, pool: Iterable[int], decisions: Sequence[Decision], outcomes: dict[int, Outcome]
) -> list[int]:
    """Records in ``pool`` that ``reviewer`` has not decided and that still need a reviewer (status pending)."""
    mine = {d.record_id for d in decisions if d.reviewer == reviewer}
    return [rid for rid in pool if rid not in mine and outcomes[rid].status == "pending"]


def visible_decisions(
    reviewer: str, record_decisions: Sequence[Decision], *, blinding: bool
) -> list[Decision]:
    """What ``reviewer`` may see of the decisions on one record: only their own when blinded."""
    if blinding:
        return [d for d in record_decisions if d.reviewer == reviewer]
    return list(record_decisions)


class ScreeningQueue:
    """The records one reviewer has left, in screening order. Thread-safe: the re-ranker calls
    :meth:`reorder` from a background thread while the screen calls :meth:`next`."""

    def __init__(self, ids: Sequence[int]) -> None:
        self._lock = threading.Lock()
        self._order: list[int] = list(ids)
        self._pos = 0
        self._front: deque[int] = deque()
        self._skipped: deque[int] = deque()
        self._done: set[int] = set()
        self._members: set[int] = set(ids)

    def __len__(self) -> int:
        with self._lock:
            return len(self._members - self._done)

    @property
    def total(self) -> int:
        return len(self._members)

    def next(self) -> int | None:
        """The next record to screen (not removed), or ``None`` when the queue is empty."""
        with self._lock:
            while self._front:
                rid = self._front[0]
                if rid in self._done:
                    self._front.popleft()
                    continue
                return rid
            while self._pos < len(self._order):
                rid = self._order[self._pos]
                if rid in self._done or rid in self._skipped:
                    self._pos += 1
                    continue
                return rid
            while self._skipped:
                rid = self._skipped[0]
                if rid in self._done:
                    self._skipped.popleft()
                    continue
                return rid
            return None

    def done(self, rid: int) -> None:
        """``rid`` was decided: never serve it again (unless :meth:`restore`)."""
        with self._lock:
            self._done.add(rid)
            if self._front and self._front[0] == rid:
                self._front.popleft()

    def skip(self, rid: int) -> None:
        """Put ``rid`` at the end: it comes back after every other record."""
        with self._lock:
            if self._front and self._front[0] == rid:
                self._front.popleft()
            if rid in self._skipped:
                self._skipped.remove(rid)
            self._skipped.append(rid)

    def restore(self, rid: int) -> None:
        """Serve ``rid`` next (undo or back)."""
        with self._lock:
            self._done.discard(rid)
            self._members.add(rid)
            self._front.appendleft(rid)

    def reorder(self, ranked: Sequence[int]) -> None:
        """Replace the order of the not-yet-served records by ``ranked`` (best first); records missing from
        ``ranked`` keep their relative order after it.

        The new order is built outside the lock (50,000 records take tens of milliseconds) and swapped in under
        it, so the screen's :meth:`next` and :meth:`done` never wait for it. That is safe because the order
        only ever loses records while this runs: one decided meanwhile is still in the new order, and
        :meth:`next` skips it as done."""
        with self._lock:
            tail = self._order[self._pos:]
        ranked_set = set(ranked)
        members, done = self._members, self._done
        new = [r for r in ranked if r in members and r not in done] + [r for r in tail if r not in ranked_set]
        with self._lock:
            self._order = new
            self._pos = 0

    def upcoming(self, limit: int | None = None) -> list[int]:
        """The records still to serve (the first ``limit`` of them), in the order :meth:`next` would serve them
        (front, order, skipped); with a limit it reads only as far as it needs."""
        import itertools

        with self._lock:
            skipped = set(self._skipped)
            ordered = (r for r in itertools.islice(self._order, self._pos, None) if r not in skipped)
            out: dict[int, None] = {}
            for r in itertools.chain(self._front, ordered, self._skipped):
                if r not in self._done:
                    out[r] = None
                    if limit is not None and len(out) >= limit:
                        break
            return list(out)

    def remaining_ids(self) -> list[int]:
        with self._lock:
            return [r for r in self._order[self._pos:] if r not in self._done]
