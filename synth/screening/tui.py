"""The interactive screen: one record at a time on a fixed full-screen layout, single keys, everything
committed as it happens.

The layout (:mod:`synth.screening.view`) pins the progress, the stopping rule's state, the title, authors,
journal and year at the top and the reasons, keys and messages at the bottom; the abstract scrolls between
them. Keys are read through an injectable ``read_key`` (and, optionally, ``read_line`` for typed text), so
tests drive the screen with a scripted list of keys. Each decision and tag is its own transaction (plus audit
event) before the next record is drawn, so quitting, Ctrl-C or a closed terminal loses nothing. Re-ranking
runs in a background process; the next record comes from the in-memory queue and never waits for the model.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synth.errors import DecisionConflict, InputError, StoreBusy, StoreError
from synth.safetext import readable, visible
from synth.screening.decisions import Choice, Stage
from synth.screening.keys import BACKSPACE, ENTER, keyboard, read_key_terminal
from synth.screening.prioritise import BackgroundRanker, Prioritiser, ProcessPrioritiser, Ranking
from synth.screening.queue import ScreeningQueue, pending_for, visible_decisions
from synth.screening.service import Settings, decide, parse_tags, rule_detail, stage_state, tag
from synth.screening.state import open_access_links
from synth.screening.state import texts as ranking_texts
from synth.screening.stopping import RULES, heuristic_check, sample_start
from synth.screening.stopping import check as stop_check
from synth.screening.view import (
    KEYS,
    ListRow,
    ListView,
    Progress,
    Reason,
    RecordView,
    render_help,
    render_list,
    render_record,
    stop_text,
)
from synth.store import screening as db
from synth.store.records import iter_records

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from synth.store import Store

__all__ = ["KEYS", "Progress", "ScreenSession", "highlight_pattern", "read_key_terminal", "run_screen"]
SCROLL_KEYS = {"down": 1, "j": 1, "up": -1, "k": -1}
PAGE_KEYS = {"pgdn": 1, " ": 1, "pgup": -1}


def highlight_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """Case-insensitive pattern matching any term at a word start (``randomi`` matches randomised)."""
    cleaned = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in cleaned) + r")", re.IGNORECASE)


def matches(query: str, text: str, tags: list[str]) -> bool:
    """Every word of ``query`` is in ``text`` (case-insensitive; ``tag:NAME`` matches a tag instead)."""
    low = text.lower()
    for word in query.lower().split():
        if word.startswith("tag:"):
            if not any(word[4:] in t for t in tags):
                return False
        elif word not in low:
            return False
    return True


TAKEN_LOOKAHEAD = 32
"""How many upcoming records one query checks for claims by others, once a record turned out taken."""


@dataclass
class ScreenSession:
    """One reviewer screening one stage."""

    store: Store
    settings: Settings
    stage: str
    reviewer: str
    read_key: Callable[[], str] = read_key_terminal
    #: typed text (notes, tags, filters); None: typed on the screen's own bottom line, key by key
    read_line: Callable[[str], str] | None = None
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
        self.ranking: Ranking | None = None
        self.scroll = 0
        self._max_scroll = 0
        self._shown: int | None = None
        self.filter = ""
        self.prompt: str | None = None
        self._texts: dict[int, tuple[str, str]] | None = None
        self._screen: Any = None
        self._redraw: Callable[[], None] = lambda: None
        self._load()

    # --- state -------------------------------------------------------------------------------------

    def _load(self) -> None:
        with self.store.connect() as conn:
            st = stage_state(conn, self.settings, self.stage)
            self.pool = st.pool
            self._others = st.decisions
            taken = db.taken_by_others(conn, stage=self.stage, reviewer=self.reviewer,
                                       slots=self.settings.slots(self.stage))
            pending = [rid for rid in pending_for(self.reviewer, st.pool, st.decisions, st.outcomes)
                       if rid not in taken]
            mine = [d for d in st.decisions if d.reviewer == self.reviewer]
            self.tags: dict[int, list[str]] = db.tags(conn, self.reviewer)
        #: records this session holds a claim on, and when it last took it (see _take)
        self._claims: dict[int, float] = {}
        #: records skipped because others screening at the same time held every slot
        self.taken_by_others = 0
        self.queue = ScreeningQueue(pending)
        self.labels: dict[int, int] = {d.record_id: int(d.decision != Choice.exclude) for d in mine}
        self.sequence: list[int] = [int(d.decision != Choice.exclude) for d in sorted(mine, key=lambda d: d.id)]
        self.decided: dict[int, str] = {d.record_id: d.decision for d in mine}
        #: the id of this reviewer's active decision on each record, as this session last saw it
        self._ids: dict[int, int] = {d.record_id: d.id for d in mine}
        self.total = len(pending) + len(mine)
        self.prioritised = bool(self.settings.prioritisation if self.prioritise is None else self.prioritise)
        self.progress = Progress(screened=len(mine), total=self.total)
        self._count()
        #: the random-sample rule's random phase: the rest is served in a random order, without re-ranking
        self.sampling = False
        sampling = self._enter_sampling()  # with or without prioritisation: the rest must come at random
        if self.prioritised and pending and not sampling:
            self._start_ranker(pending)
        else:
            self._update_stop()

    def _count(self) -> None:
        """Includes and maybes as decided (a maybe is never counted as an include)."""
        self.progress.includes = sum(1 for d in self.decided.values() if d == Choice.include)
        self.progress.maybes = sum(1 for d in self.decided.values() if d == Choice.maybe)

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

    def _on_ranked(self, ranking: Ranking) -> None:
        self.queue.reorder(ranking.order)
        self.ranking = ranking
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

    def _record_texts(self) -> dict[int, tuple[str, str]]:
        """Every record's readable title and abstract (loaded once, for the filter and the list)."""
        if self._texts is None:
            with self.store.connect() as conn:
                found = db.title_abstracts(conn, self.pool)
            self._texts = {rid: (readable(t), readable(a)) for rid, (t, a) in found.items()}
        return self._texts

    def _matching(self, rid: int) -> bool:
        title, abstract = self._record_texts().get(rid, ("", ""))
        return matches(self.filter, f"{title} {abstract}", self.tags.get(rid, []))

    def _next(self) -> int | None:
        """The next record to show: the queue's, or under a filter the first matching one in queue order."""
        if not self.filter:
            return self.queue.next()
        first = self.queue.next()
        if first is not None and self._matching(first):
            return first
        for rid in self.queue.upcoming():
            if self._matching(rid):
                return rid
        self.message = " ".join(filter(None, [self.message, f"No record left to screen matches '{self.filter}'; "
                                                            "the filter is cleared."]))
        self.filter = ""
        return first

    # --- drawing -----------------------------------------------------------------------------------

    def _highlight(self, text: str, style: str = "") -> Any:
        from rich.text import Text

        out = Text(visible(readable(text)), style=style)
        if self._include_re is not None:
            out.highlight_regex(self._include_re, "bold green")
        if self._exclude_re is not None:
            out.highlight_regex(self._exclude_re, "bold red")
        return out

    def _reasons(self) -> list[Reason]:
        return [Reason(n, c.id, c.label, c.description)
                for n, c in enumerate(self.settings.criteria.get(self.stage, []), start=1)]

    def _why(self, rid: int) -> str:
        """Why this record is next, in the reviewer's words: the model's score and the terms behind it."""
        if self.sampling:
            return "random order: the random-sample rule's sample (the model no longer orders records)"
        if not self.prioritised:
            return "import order (prioritisation is off in the protocol)"
        r = self.ranking
        place = r.place(rid) if r is not None else None
        if r is None or place is None:
            return "not ranked yet: the model needs one include and one exclude first (import order until then)"
        text = (f"score {place[1]:+.2f}, ranked {place[0]} of {len(r.order)} "
                f"by the {self.model} model on {r.trained_on} decisions ({r.includes} include or maybe)")
        terms = r.terms.get(rid)
        return text + (f"; raised by: {', '.join(terms)}" if terms else "")

    def view(self, rid: int) -> RecordView:
        with self.store.connect() as conn:
            found = list(iter_records(conn, [rid]))
            report = oa_link = None
            if self.stage == Stage.full_text:
                report = next((r for r in db.reports(conn) if r["record_id"] == rid), None)
                oa_link = open_access_links(conn, [rid]).get(rid)
        record = found[0][1] if found else None
        status: list[tuple[str, str]] = []
        if self.stage == Stage.full_text:
            state = f"{report['status']} {report['location'] or ''}" if report else "not sought yet"
            link = (report or {}).get("oa_url") or oa_link or ""
            status.append((visible(f"Full text: {state}{f'  open access: {link}' if link else ''}",
                                   newlines=False), "cyan"))
        if rid in self.decided:
            status.append((f"Your decision: {self.decided[rid]} (decide again to change it)", "yellow"))
        seen = visible_decisions(self.reviewer, [d for d in self._others if d.record_id == rid],
                                 blinding=self.settings.blinding)
        for d in seen:
            if d.reviewer != self.reviewer:
                status.append((f"{d.reviewer}: {d.decision}{f' ({d.reason})' if d.reason else ''}", "magenta"))
        if rid in self._notes:
            status.append((f"Note: {visible(self._notes[rid], newlines=False)}", "yellow"))
        authors = journal = ""
        year: Any = "n.d."
        if record is not None:
            shown = record.authors[:8]
            authors = "; ".join(a.display() for a in shown) + (" et al." if len(record.authors) > 8 else "")
            journal, year = record.journal or "", record.year or "n.d."
        return RecordView(
            stage=self.stage, reviewer=self.reviewer, progress=self.progress,
            stop_text=stop_text(self.progress, self.settings.stop_rule, rule_detail), record_id=rid,
            title=self._highlight(record.title if record and record.title else "(no title)", "bold"),
            authors=visible(readable(authors), newlines=False) or "(no authors)",
            source=visible(f"{year} · {readable(journal)}", newlines=False),
            abstract=self._highlight(record.abstract if record and record.abstract else "(no abstract)"),
            tags=self.tags.get(rid, []), why=self._why(rid), status=status, reasons=self._reasons(),
            filter=self.filter, message=self.message, prompt=self.prompt, scroll=self.scroll,
        )

    def _size(self) -> tuple[int, int]:
        assert self.console is not None
        return self.console.size.width, self.console.size.height

    def render(self, rid: int) -> RenderableType:
        assert self.console is not None
        width, height = self._size()
        renderable, self._max_scroll = render_record(self.console, self.view(rid), width, height)
        return renderable

    def _draw(self, renderable: RenderableType) -> None:
        assert self.console is not None
        if self._screen is not None:
            self._screen.update(renderable)
        else:
            self.console.print(renderable)

    def show(self, rid: int) -> None:
        self._redraw = lambda: self._draw(self.render(rid))
        self._redraw()

    def show_help(self) -> None:
        assert self.console is not None
        width, height = self._size()
        self._draw(render_help(self.console, self._reasons(), width, height))
        self.read_key()

    def _ask(self, prompt: str) -> str | None:
        """Text typed by the reviewer (None when cancelled with Esc): on the screen's bottom line, or through
        ``read_line`` when one was given."""
        if self.read_line is not None:
            return self.read_line(prompt)
        typed = ""
        try:
            while True:
                self.prompt = prompt + typed
                self._redraw()
                key = self.read_key()
                if key in ENTER:
                    return typed
                if key == "\x1b":
                    return None
                if key in BACKSPACE:
                    typed = typed[:-1]
                elif len(key) == 1 and key.isprintable():
                    typed += key
        finally:
            self.prompt = None

    # --- actions -----------------------------------------------------------------------------------

    def _choose_reason(self) -> str | bool | None:
        """The reason picked (criterion id), ``None`` for no reason (title/abstract only), ``False`` to cancel."""
        criteria = self.settings.criteria.get(self.stage, [])
        optional = self.stage == Stage.title_abstract
        ask = (f"Exclude: press the reason's number (1-{len(criteria)})" + (", 0 or Enter for none" if optional else "")
               + ", Esc or c to cancel.")
        self.message = ask
        self._redraw()
        while True:
            key = self.read_key()
            if key in ("\x1b", "c"):
                return False
            if optional and key in ("0", "\r", "\n"):
                return None
            if key.isdigit() and 1 <= int(key) <= len(criteria):
                return criteria[int(key) - 1].id
            self.message = (f"'{key}' is not a reason number; press 1-{len(criteria)}"
                            + (", 0 for none" if optional else "") + " or c to cancel.")
            self._redraw()

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
        self._count()
        self.queue.done(rid)
        self.message = f"Saved: record {rid} {choice}{f' ({reason})' if reason else ''}."
        if self._enter_sampling() or self.ranker is None:
            self._update_stop()
        else:
            if self.ranking is None:  # no ranking yet (one class only): its callback will not update the rule
                self._update_stop(here=True)
            self._request_rank()

    def _update_stop(self, here: bool = False) -> None:
        """The protocol's stopping rule's state: in the ranker's worker process when one runs (so the screen's
        interpreter stays free), else (or when ``here``) in this process."""
        if self.settings.stop_rule not in RULES or not self.sequence:
            return
        args = (self.settings.stop_rule, list(self.sequence), len(self.pool), self.settings.stop_recall,
                self.settings.stop_confidence)
        self.progress.stop = (self.ranker.prioritiser.stop_state(*args) if self.ranker is not None and not here
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
            self._claims.pop(rid, None)
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
        self._count()
        return True

    def _take(self, rid: int) -> tuple[bool, bool]:
        """Before ``rid`` is shown, in one short transaction: whether this reviewer decided (or undid) it in
        another session meanwhile (then taken in: ``merged``), and a hold on one of the record's screening slots
        while it is on screen (renewed at half its lifetime), so nobody screening at the same time is handed it
        beyond the slots the stage needs (``claimed``)."""
        now = time.monotonic()
        renew = rid not in self.decided and now - self._claims.get(rid, -1e9) >= db.CLAIM_SECONDS / 2
        known = self._ids.get(rid)

        def work(conn: Any) -> bool | None:
            if db.active_decision_id(conn, rid, self.stage, self.reviewer) != known:
                return None
            return not renew or db.claim(conn, stage=self.stage, record_id=rid, reviewer=self.reviewer,
                                         slots=self.settings.slots(self.stage), durable=False)

        claimed = self.store.retrying(work, what=f"the claim on record {rid}")
        if claimed is None:
            return self._merge(rid), True
        if renew and claimed:
            self._claims[rid] = now
        return False, claimed

    def _taken(self, ids: list[int]) -> None:
        for rid in ids:
            self.queue.done(rid)
        self.total -= len(ids)
        self.progress.total = self.total
        self.taken_by_others += len(ids)

    def _skip_taken(self) -> list[int]:
        """After a record turned out taken: which of the next few in the queue are taken too, in one query (the
        others screening at the same time work down much the same ranking, so taken records come in runs)."""
        ahead = self.queue.upcoming(TAKEN_LOOKAHEAD)
        if not ahead:
            return []
        with self.store.connect() as conn:
            taken = db.taken_by_others(conn, stage=self.stage, reviewer=self.reviewer,
                                       slots=self.settings.slots(self.stage), among=ahead)
        return [rid for rid in ahead if rid in taken]

    def _undo(self) -> None:
        if not self.history:
            self.message = "Nothing to undo in this session."
            return
        rid, decision_id = self.history.pop()
        with self.store.begin() as conn:
            db.retract_decision(conn, decision_id, reviewer=self.reviewer)  # releases its claim too
        self._claims.pop(rid, None)
        self._ids.pop(rid, None)
        self.decided.pop(rid, None)
        self.labels.pop(rid, None)
        if self.sequence:
            self.sequence.pop()
        self.progress.screened -= 1
        self._count()
        self.queue.restore(rid)
        self.message = f"Undone: record {rid} is back in your queue."

    def _open(self, current: int, rid: int) -> None:
        """Show ``rid`` next (back, or picked from the list); ``current`` keeps its place or its decision."""
        if current in self.decided:
            self.queue.done(current)
        self.queue.restore(rid)

    def _back(self, rid: int) -> None:
        """Show the record decided before ``rid`` in this session (repeat to go further back)."""
        positions = [i for i, (r, _) in enumerate(self.history) if r == rid]
        pos = (positions[-1] - 1) if positions else len(self.history) - 1
        if pos < 0:
            self.message = "No earlier record in this session."
            return
        self._open(rid, self.history[pos][0])
        self.message = "Back: decide again to change your decision (s keeps it, b goes further back)."

    def _tag(self, rid: int) -> None:
        have = ", ".join(self.tags.get(rid, [])) or "none"
        typed = self._ask(f"Tags to add, comma-separated (-name removes; now: {have}): ")
        if not typed or not typed.strip():
            self.message = "Tags unchanged."
            return
        add, remove = parse_tags(typed)
        try:
            self.tags[rid] = tag(self.store, record_id=rid, reviewer=self.reviewer, add=add, remove=remove)
        except (InputError, StoreBusy) as exc:
            self.message = str(exc)
            return
        if not self.tags[rid]:
            self.tags.pop(rid)
        self.message = f"Tags on record {rid}: {', '.join(self.tags.get(rid, [])) or 'none'}."

    def _set_filter(self) -> None:
        typed = self._ask("Filter (words that must all appear; tag:NAME; empty clears): ")
        if typed is None:
            self.message = "Filter unchanged."
            return
        self.filter = " ".join(typed.split())
        self.message = f"Filter: {self.filter}." if self.filter else "Filter cleared."

    def _list_rows(self) -> list[ListRow]:
        texts = self._record_texts()
        scores = self.ranking.scores() if self.ranking is not None else {}
        ids = self.queue.upcoming() + [r for r in self.pool if r in self.decided]
        return [ListRow(rid, self.decided.get(rid, "to screen"), scores.get(rid), self.tags.get(rid, []),
                        visible(texts.get(rid, ("", ""))[0], newlines=False) or "(no title)")
                for rid in ids if not self.filter or self._matching(rid)]

    def _list(self, current: int) -> None:
        """The record list: move with the arrows, Enter opens the selected record, / filters, Esc goes back."""
        assert self.console is not None
        rows, selected, message = self._list_rows(), 0, ""
        while True:
            heading = (f"{len(rows)} records · {self.stage} · {self.reviewer} · records to screen in the order "
                       "they come, then yours")
            width, height = self._size()
            lv = ListView(rows, min(selected, max(len(rows) - 1, 0)), self.filter, message, self.prompt, heading)
            renderable, page = render_list(self.console, lv, width, height)
            self._redraw = lambda r=renderable: self._draw(r)  # type: ignore[misc]
            self._draw(renderable)
            key = self.read_key()
            message = ""
            step = {"down": 1, "j": 1, "up": -1, "k": -1, "pgdn": page, " ": page, "pgup": -page}.get(key)
            if step is not None:
                selected = min(max(selected + step, 0), max(len(rows) - 1, 0))
            elif key == "home":
                selected = 0
            elif key == "end":
                selected = max(len(rows) - 1, 0)
            elif key in ENTER and rows:
                self._open(current, rows[selected].record_id)
                self.message = f"Record {rows[selected].record_id} from the list."
                return
            elif key == "/":
                self._set_filter()
                rows, selected = self._list_rows(), 0
            elif key in ("\x1b", "q", "l"):
                return
            else:
                message = f"Unknown key '{key}' here: arrows move, Enter opens, / filters, Esc goes back."

    def _scroll(self, lines: int) -> None:
        self.scroll = min(max(self.scroll + lines, 0), self._max_scroll)

    def _handle(self, rid: int, key: str) -> bool:
        """Act on one key on the record screen; False to quit."""
        _, height = self._size()
        if key == "q":
            return False
        if key in SCROLL_KEYS:
            self._scroll(SCROLL_KEYS[key])
        elif key in PAGE_KEYS:
            self._scroll(PAGE_KEYS[key] * max(1, height // 2))
        elif key == "i":
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
            note = (self._ask("Note: ") or "").strip()
            if note:
                self._notes[rid] = note
                self.message = "Note kept; it is saved with your decision on this record."
        elif key == "t":
            self._tag(rid)
        elif key == "/":
            self._set_filter()
        elif key == "l":
            self._list(rid)
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
        elif key not in ("home", "end"):
            self.message = f"Unknown key '{visible(key, newlines=False)}'. Press ? for help."
        return True

    def _loop(self) -> None:
        while True:
            rid = self._next()
            if rid is None:
                break
            merged, claimed = self._take(rid)
            if merged:  # decided (or undone) in this reviewer's other session meanwhile
                self.message = f"Record {rid} was decided in your other session; that decision is kept."
                continue
            if not claimed:  # every slot taken by reviewers screening at the same time
                self._taken([rid])
                self._taken(self._skip_taken())
                continue
            if rid != self._shown:
                self._shown, self.scroll = rid, 0
            self.show(rid)
            key = self.read_key()
            started = time.perf_counter()
            self.message = ""
            if not self._handle(rid, key):
                break
            self.latencies.append(time.perf_counter() - started)

    def run(self, full_screen: bool = True) -> Progress:
        """Screen until the queue is empty or the reviewer quits. Returns the final progress. On a terminal the
        screen takes the whole window (its alternate screen, restored on leaving)."""
        assert self.console is not None
        # The re-ranker thread runs pure-Python tokenising; a short GIL switch interval keeps the screen
        # responsive while it works (the main thread waits at most ~1 ms each time it needs the GIL back).
        old_interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        context = self.console.screen(hide_cursor=True) if full_screen and self.console.is_terminal else None
        try:
            with keyboard() if self.read_key is read_key_terminal else nullcontext():
                if context is not None:
                    self._screen = context.__enter__()
                try:
                    self._loop()
                finally:
                    if context is not None:
                        self._screen = None
                        context.__exit__(None, None, None)
        except (KeyboardInterrupt, EOFError):
            pass
        finally:
            sys.setswitchinterval(old_interval)
            if self.ranker is not None:
                self.ranker.close()
            if self._claims:  # what is left undecided goes back to the team (else it expires by itself)
                with suppress(StoreError), self.store.begin() as conn:
                    db.release(conn, stage=self.stage, reviewer=self.reviewer)
        if self.queue.next() is None:
            self.console.print(f"Nothing left for {self.reviewer} at {self.stage}: "
                               f"{self.progress.screened} screened, {self.progress.includes} included, "
                               f"{self.progress.maybes} maybe.")
        return self.progress


def run_screen(store: Store, settings: Settings, *, stage: str, reviewer: str, model: str = "svm") -> str:
    """Open the interactive screen on the terminal; returns the closing line to show (progress saved)."""
    session = ScreenSession(store, settings, stage, reviewer, model=model)
    progress = session.run()
    return (f"Saved. {reviewer} at {stage}: {progress.screened}/{progress.total} screened, "
            f"{progress.includes} included, {progress.maybes} maybe.")
