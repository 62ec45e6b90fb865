"""The interactive screen (rich): one record at a time, single keys, everything committed as it happens.

Keys are read through an injectable ``read_key`` (and ``read_line`` for notes), so tests drive the screen with
a scripted list of keys. Each decision is its own transaction (plus audit event) before the next record is
drawn, so quitting, Ctrl-C or a closed terminal loses nothing. Re-ranking runs in a background thread; the
next record comes from the in-memory queue and never waits for the model.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synth.errors import DecisionConflict, StoreBusy
from synth.safetext import visible
from synth.screening.decisions import Choice, Stage
from synth.screening.prioritise import BackgroundRanker, Prioritiser, ProcessPrioritiser
from synth.screening.queue import ScreeningQueue, pending_for, visible_decisions
from synth.screening.service import Settings, decide, rule_detail, stage_state
from synth.screening.state import open_access_links
from synth.screening.state import texts as ranking_texts
from synth.screening.stopping import RULES, heuristic_check, sample_start
from synth.screening.stopping import check as stop_check
from synth.store import screening as db
from synth.store.records import iter_records

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from synth.store import Store

KEYS = [
    ("i", "include"),
    ("e", "exclude (then the reason number)"),
    ("m", "maybe"),
    ("n", "add a note to this record"),
    ("u", "undo your last decision"),
    ("b", "back to the previous record (to change it)"),
    ("s", "skip (comes back at the end)"),
    ("?", "help"),
    ("q", "quit (everything is already saved)"),
]


def read_key_terminal() -> str:
    """One key press from the terminal (raw mode); from a pipe, the next non-newline character."""
    if not sys.stdin.isatty():
        while True:
            ch = sys.stdin.read(1)
            if ch == "":
                raise EOFError
            if ch not in "\r\n":
                return ch
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        ch = sys.stdin.read(1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
    if ch == "\x03":
        raise KeyboardInterrupt
    if ch == "\x04":
        raise EOFError
    return ch


def read_line_terminal(prompt: str) -> str:
    return input(prompt)


def highlight_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """Case-insensitive pattern matching any term at a word start (``randomi`` matches randomised)."""
    cleaned = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in cleaned) + r")", re.IGNORECASE)


@dataclass
class Progress:
    screened: int = 0
    total: int = 0
    includes: int = 0
    estimated_recall: float | None = None
    #: the protocol's stopping rule's state (StopCheck.to_dict), or None before it is first computed
    stop: dict[str, Any] | None = None
    heuristic_run: int = 0
    heuristic_needed: int = 0


@dataclass
class ScreenSession:
    """One reviewer screening one stage."""

    store: Store
    settings: Settings
    stage: str
    reviewer: str
    read_key: Callable[[], str] = read_key_terminal
    read_line: Callable[[str], str] = read_line_terminal
    console: Console | None = None
    model: str = "svm"
    prioritise: bool | None = None
    ranker_process: bool = True
    history: list[tuple[int, int]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    message: str = ""

    def __post_init__(self) -> None:
        from rich.console import Console

        if self.console is None:
            self.console = Console()
        self._include_re = highlight_pattern(self.settings.highlight_include)
        self._exclude_re = highlight_pattern(self.settings.highlight_exclude)
        self._notes: dict[int, str] = {}
        self.ranker: Any = None
        self._load()

    # --- state -------------------------------------------------------------------------------------

    def _load(self) -> None:
        with self.store.connect() as conn:
            st = stage_state(conn, self.settings, self.stage)
            self.pool = st.pool
            self._others = st.decisions
            pending = pending_for(self.reviewer, st.pool, st.decisions, st.outcomes)
            mine = [d for d in st.decisions if d.reviewer == self.reviewer]
        self.queue = ScreeningQueue(pending)
        self.labels: dict[int, int] = {d.record_id: int(d.decision != Choice.exclude) for d in mine}
        self.sequence: list[int] = [int(d.decision != Choice.exclude) for d in sorted(mine, key=lambda d: d.id)]
        self.decided: dict[int, str] = {d.record_id: d.decision for d in mine}
        #: the id of this reviewer's active decision on each record, as this session last saw it
        self._ids: dict[int, int] = {d.record_id: d.id for d in mine}
        self.total = len(pending) + len(mine)
        use = self.settings.prioritisation if self.prioritise is None else self.prioritise
        self.progress = Progress(screened=len(mine), total=self.total,
                                 includes=sum(1 for d in mine if d.decision != Choice.exclude))
        #: the random-sample rule's random phase: the rest is served in a random order, without re-ranking
        self.sampling = False
        sampling = self._enter_sampling()  # with or without prioritisation: the rest must come at random
        if use and pending and not sampling:
            self._start_ranker(pending)
        else:
            self._update_stop()

    def _enter_sampling(self) -> bool:
        """Under the random-sample rule, switch to its random phase once the run of exclusions is reached: the
        records left are shuffled (seeded by stage and reviewer, never by anything the model learnt) and the
        re-ranker stops, so what follows is a random sample. True when in that phase."""
        import random

        if self.sampling:
            return True
        if self.settings.stop_rule != "random-sample" or sample_start(self.sequence, len(self.pool)) is None:
            return False
        self.sampling = True
        if self.ranker is not None:
            self.ranker.close()
            self.ranker = None
        rest = sorted(self.queue.remaining_ids())
        random.Random(f"{self.stage}:{self.reviewer}").shuffle(rest)
        self.queue.reorder(rest)
        self.message = ("Random-sample phase of the stopping rule: the records left now come in a random order, "
                        "so they are a fair sample of what is unscreened.")
        return True

    def _start_ranker(self, pending: list[int]) -> None:
        with self.store.connect() as conn:
            docs = ranking_texts(conn, self.pool)
        prioritiser = (ProcessPrioritiser(docs, self.model) if self.ranker_process
                       else Prioritiser(docs, self.model))
        self.ranker = BackgroundRanker(prioritiser, self._on_ranked)
        self._request_rank()

    def _on_ranked(self, order: list[int]) -> None:
        self.queue.reorder(order)
        self._update_estimates()

    def _training_labels(self) -> dict[int, int]:
        # Blinded: learn only from this reviewer's decisions, so the order cannot reveal anyone else's.
        if self.settings.blinding:
            return dict(self.labels)
        labels = {d.record_id: int(d.decision != Choice.exclude) for d in self._others}
        labels.update(self.labels)
        return labels

    def _request_rank(self) -> None:
        if self.ranker is not None:
            self.ranker.request(self._training_labels())

    def _update_estimates(self) -> None:
        """Estimated recall (conservative: assumes the rest holds includes at the rate of the last 50 screened,
        which prioritisation makes an over-estimate) and the stopping rules; run in the background thread."""
        seq = list(self.sequence)
        found = sum(seq)
        remaining = self.total - len(seq)
        window = seq[-50:]
        if len(seq) >= 50 and found:
            rate = sum(window) / len(window)
            self.progress.estimated_recall = found / (found + rate * remaining)
        self._update_stop()
        h = heuristic_check(seq, len(self.pool))
        self.progress.heuristic_run = h.params["current_run"]
        self.progress.heuristic_needed = h.params["run"]

    # --- drawing -----------------------------------------------------------------------------------

    def _highlight(self, text: str, style: str = "") -> Any:
        from rich.text import Text

        out = Text(visible(text), style=style)
        if self._include_re is not None:
            out.highlight_regex(self._include_re, "bold green")
        if self._exclude_re is not None:
            out.highlight_regex(self._exclude_re, "bold red")
        return out

    def render(self, rid: int) -> RenderableType:
        from rich.console import Group
        from rich.panel import Panel
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        with self.store.connect() as conn:
            found = list(iter_records(conn, [rid]))
            report = oa_link = None
            if self.stage == Stage.full_text:
                report = next((r for r in db.reports(conn) if r["record_id"] == rid), None)
                oa_link = open_access_links(conn, [rid]).get(rid)
        record = found[0][1] if found else None
        p = self.progress
        head = Text()
        head.append(f"{self.stage} · {self.reviewer} · ", style="bold")
        head.append(f"{p.screened}/{p.total} screened · {p.includes} included")
        if p.estimated_recall is not None:
            head.append(f" · estimated recall ≥ {p.estimated_recall:.0%}")
        if p.stop is not None:
            verdict = "may stop: synth screen stop" if p.stop["stop"] else "continue"
            head.append(f" · {p.stop['rule']} rule: {verdict}, {rule_detail(p.stop)}")
        if p.heuristic_needed:
            head.append(f" · {p.heuristic_run}/{p.heuristic_needed} excludes in a row")
        bar = ProgressBar(total=max(p.total, 1), completed=p.screened, width=None)
        body = Text()
        if record is not None:
            body.append_text(self._highlight(record.title or "(no title)", "bold"))
            body.append("\n")
            authors = "; ".join(a.display() for a in record.authors[:8]) + (" et al." if len(record.authors) > 8 else "")
            body.append(f"{visible(authors, newlines=False)}\n", style="italic")
            body.append(f"{record.year or 'n.d.'} · {visible(record.journal or '', newlines=False)}  [record {rid}]\n\n",
                        style="dim")
            body.append_text(self._highlight(record.abstract or "(no abstract)"))
        if self.stage == Stage.full_text:
            status = f"{report['status']} {report['location'] or ''}" if report else "not sought yet"
            link = (report or {}).get("oa_url") or oa_link or ""
            body.append(visible(f"\n\nFull text: {status}{f'  open access: {link}' if link else ''}"), style="cyan")
        seen = visible_decisions(self.reviewer, [d for d in self._others if d.record_id == rid],
                                 blinding=self.settings.blinding)
        if rid in self.decided:
            body.append(f"\n\nYour decision: {self.decided[rid]}", style="yellow")
        for d in seen:
            if d.reviewer != self.reviewer:
                body.append(f"\n{d.reviewer}: {d.decision}{f' ({d.reason})' if d.reason else ''}", style="magenta")
        if rid in self._notes:
            body.append(f"\nNote: {visible(self._notes[rid])}", style="yellow")
        crit = Text()
        for n, c in enumerate(self.settings.criteria.get(self.stage, []), start=1):
            crit.append(f"{n} {c.id}", style="bold")
            crit.append(f": {c.label}\n")
            if c.description:
                crit.append(f"  {c.description}\n", style="dim")
        grid = Table.grid(expand=True)
        grid.add_column(ratio=3)
        grid.add_column(ratio=2)
        grid.add_row(Panel(body, title="Record"), Panel(crit, title="Exclusion reasons"))
        keys = Text(" ".join(f"[{k}] {v.split(' ')[0]}" for k, v in KEYS), style="dim")
        parts: list[Any] = [head, bar, grid, keys]
        if self.message:
            parts.append(Text(self.message, style="yellow"))
        return Group(*parts)

    def show(self, rid: int) -> None:
        assert self.console is not None
        self.console.clear()
        self.console.print(self.render(rid))

    def show_help(self) -> None:
        from rich.table import Table

        assert self.console is not None
        table = Table(title="Keys", show_header=False)
        for k, v in KEYS:
            table.add_row(k, v)
        self.console.print(table)
        self.console.print("Press any key to go back.")
        self.read_key()

    # --- actions -----------------------------------------------------------------------------------

    def _choose_reason(self) -> str | bool | None:
        """The reason picked (criterion id), ``None`` for no reason (title/abstract only), ``False`` to cancel."""
        assert self.console is not None
        criteria = self.settings.criteria.get(self.stage, [])
        optional = self.stage == Stage.title_abstract
        self.console.print(
            "Reason: " + "  ".join(f"[{n}] {c.id}" for n, c in enumerate(criteria, start=1))
            + ("  [0/Enter] none" if optional else "") + "  [Esc/c] cancel"
        )
        while True:
            key = self.read_key()
            if key in ("\x1b", "c"):
                return False
            if optional and key in ("0", "\r", "\n"):
                return None
            if key.isdigit() and 1 <= int(key) <= len(criteria):
                return criteria[int(key) - 1].id
            self.console.print(f"'{key}' is not a reason number; press 1-{len(criteria)}"
                               + (", 0 for none" if optional else "") + " or c to cancel.")

    def _decide(self, rid: int, choice: str, reason: str | None) -> None:
        try:
            decision_id = decide(self.store, self.settings, record_id=rid, stage=self.stage, reviewer=self.reviewer,
                                 decision=choice, reason=reason, note=self._notes.get(rid, ""),
                                 replaces=self._ids.get(rid))
        except StoreBusy as exc:  # nothing saved: the record stays in the queue and the reviewer is told
            self.message = str(exc)
            return
        except DecisionConflict as exc:  # another session of this reviewer decided it: keep that one
            self._merge(rid)
            self.message = str(exc)
            return
        self._notes.pop(rid, None)
        self._ids[rid] = decision_id
        first_time = rid not in self.decided
        self.decided[rid] = choice
        self.history.append((rid, decision_id))
        value = int(choice != Choice.exclude)
        self.labels[rid] = value
        if first_time:
            self.sequence.append(value)
            self.progress.screened += 1
        self.progress.includes = sum(self.labels.values())
        self.queue.done(rid)
        self.message = f"Saved: record {rid} {choice}{f' ({reason})' if reason else ''}."
        if self._enter_sampling() or self.ranker is None:
            self._update_stop()
        else:
            self._request_rank()

    def _update_stop(self) -> None:
        """The protocol's stopping rule's state: in the ranker's worker process when one runs (so the screen's
        interpreter stays free), else here."""
        if self.settings.stop_rule not in RULES or not self.sequence:
            return
        args = (self.settings.stop_rule, list(self.sequence), len(self.pool), self.settings.stop_recall,
                self.settings.stop_confidence)
        self.progress.stop = (self.ranker.prioritiser.stop_state(*args) if self.ranker is not None
                              else stop_check(*args).to_dict())

    def _merge(self, rid: int) -> bool:
        """Take in a decision this reviewer made on ``rid`` in another session (same store, same time); True
        when there was one this session did not know."""
        from synth.screening.state import active_decisions

        with self.store.connect() as conn:
            current = db.active_decision_id(conn, rid, self.stage, self.reviewer)
            if current == self._ids.get(rid):
                return False
            mine = {d.id: d for d in active_decisions(conn, self.stage, self.reviewer) if d.record_id == rid}
        if current is None:  # undone elsewhere: back in the queue
            self._ids.pop(rid, None)
            self.decided.pop(rid, None)
            self.labels.pop(rid, None)
            self.queue.restore(rid)
        else:
            d = mine[current]
            if rid not in self.decided:
                self.progress.screened += 1
            self._ids[rid], self.decided[rid] = current, d.decision
            self.labels[rid] = int(d.decision != Choice.exclude)
            self.queue.done(rid)
        self.progress.includes = sum(self.labels.values())
        return True

    def _undo(self) -> None:
        if not self.history:
            self.message = "Nothing to undo in this session."
            return
        rid, decision_id = self.history.pop()
        with self.store.begin() as conn:
            db.retract_decision(conn, decision_id, reviewer=self.reviewer)
        self._ids.pop(rid, None)
        self.decided.pop(rid, None)
        self.labels.pop(rid, None)
        if self.sequence:
            self.sequence.pop()
        self.progress.screened -= 1
        self.progress.includes = sum(self.labels.values())
        self.queue.restore(rid)
        self.message = f"Undone: record {rid} is back in your queue."

    def _back(self, rid: int) -> None:
        """Show the record decided before ``rid`` in this session (repeat to go further back)."""
        positions = [i for i, (r, _) in enumerate(self.history) if r == rid]
        pos = (positions[-1] - 1) if positions else len(self.history) - 1
        if pos < 0:
            self.message = "No earlier record in this session."
            return
        if rid in self.decided:
            self.queue.done(rid)
        self.queue.restore(self.history[pos][0])
        self.message = "Back: decide again to change your decision (s keeps it, b goes further back)."

    def run(self) -> Progress:
        """Screen until the queue is empty or the reviewer quits. Returns the final progress."""
        # The re-ranker thread runs pure-Python tokenising; a short GIL switch interval keeps the screen
        # responsive while it works (the main thread waits at most ~1 ms each time it needs the GIL back).
        old_interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        try:
            while True:
                rid = self.queue.next()
                if rid is None:
                    assert self.console is not None
                    self.console.print(f"Nothing left for {self.reviewer} at {self.stage}: "
                                       f"{self.progress.screened} screened, {self.progress.includes} included.")
                    break
                if self._merge(rid):  # decided (or undone) in this reviewer's other session meanwhile
                    self.message = f"Record {rid} was decided in your other session; that decision is kept."
                    continue
                self.show(rid)
                key = self.read_key()
                started = time.perf_counter()
                self.message = ""
                if key == "q":
                    break
                if key == "i":
                    self._decide(rid, Choice.include, None)
                elif key == "m":
                    self._decide(rid, Choice.maybe, None)
                elif key == "e":
                    reason = self._choose_reason()
                    if isinstance(reason, bool):
                        self.message = "Exclusion cancelled."
                    else:
                        self._decide(rid, Choice.exclude, reason)
                elif key == "n":
                    note = self.read_line("Note: ").strip()
                    if note:
                        self._notes[rid] = note
                        self.message = "Note kept; it is saved with your decision on this record."
                elif key == "u":
                    self._undo()
                elif key == "b":
                    self._back(rid)
                elif key == "s":
                    if rid in self.decided:
                        self.queue.done(rid)
                    else:
                        self.queue.skip(rid)
                elif key in ("?", "h"):
                    self.show_help()
                else:
                    self.message = f"Unknown key '{key}'. Press ? for help."
                self.latencies.append(time.perf_counter() - started)
        except (KeyboardInterrupt, EOFError):
            pass
        finally:
            sys.setswitchinterval(old_interval)
            if self.ranker is not None:
                self.ranker.close()
        return self.progress


def run_screen(store: Store, settings: Settings, *, stage: str, reviewer: str, model: str = "svm") -> str:
    """Open the interactive screen on the terminal; returns the closing line to show (progress saved)."""
    session = ScreenSession(store, settings, stage, reviewer, model=model)
    progress = session.run()
    return (f"Saved. {reviewer} at {stage}: {progress.screened}/{progress.total} screened, "
            f"{progress.includes} included.")
