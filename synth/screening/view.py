"""What the screen draws, as a fixed full-screen layout of exactly the terminal's size (rich).

Pinned at the top: the progress line, the stopping rule's state, the record's title (up to three lines), its
authors, journal and year, its tags and why it is next. Pinned at the bottom: the exclusion reasons, the keys
and the last message (or the line being typed). Between them the abstract, scrolled by the reviewer, in a panel
that says which lines are shown. Nothing here reads the store or the keyboard: :class:`RecordView` and
:class:`ListView` carry everything, so the layout is tested at any size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

#: the keys, in the order the footer and the help list them: (key, short label, what it does)
KEYS = [
    ("i", "include", "include"),
    ("e", "exclude", "exclude (then the reason number)"),
    ("m", "maybe", "maybe (goes on to full text at title/abstract)"),
    ("n", "note", "add a note to this record (saved with your decision)"),
    ("t", "tag", "tag this record (comma-separated; -name removes a tag)"),
    ("/", "filter", "show only records matching words (tag:NAME for a tag); empty clears"),
    ("l", "list", "list the records to screen (and yours), pick one with Enter"),
    ("u", "undo", "undo your last decision"),
    ("b", "back", "back to the previous record (to change it)"),
    ("s", "skip", "skip (comes back at the end)"),
    ("↑↓", "scroll", "scroll the abstract (j/k too; PgUp/PgDn or space a page)"),
    ("?", "help", "help"),
    ("q", "quit", "quit (everything is already saved)"),
]
TITLE_LINES = 3


@dataclass
class Progress:
    screened: int = 0
    total: int = 0
    includes: int = 0
    maybes: int = 0
    estimated_recall: float | None = None
    #: the protocol's stopping rule's state (StopCheck.to_dict), or None before it is first computed
    stop: dict[str, Any] | None = None
    heuristic_run: int = 0
    heuristic_needed: int = 0


@dataclass
class Reason:
    number: int
    id: str
    label: str
    description: str = ""


@dataclass
class RecordView:
    """One record on the screen, with the session's state around it."""

    stage: str
    reviewer: str
    progress: Progress
    stop_text: str
    record_id: int
    title: Text
    authors: str
    source: str
    abstract: Text
    tags: Sequence[str] = ()
    why: str = ""
    status: Sequence[tuple[str, str]] = ()  # (text, style): your decision, others', note, full text
    reasons: Sequence[Reason] = ()
    filter: str = ""
    message: str = ""
    prompt: str | None = None
    scroll: int = 0


@dataclass
class ListRow:
    record_id: int
    status: str
    score: float | None
    tags: Sequence[str]
    title: str


@dataclass
class ListView:
    rows: Sequence[ListRow]
    selected: int = 0
    filter: str = ""
    message: str = ""
    prompt: str | None = None
    heading: str = ""
    extra: list[str] = field(default_factory=list)


def _line(text: str | Text, style: str = "") -> Text:
    """One screen line: never wraps, cut with an ellipsis."""
    from rich.text import Text

    out = text.copy() if isinstance(text, Text) else Text(text, style=style)
    out.no_wrap = True
    out.overflow = "ellipsis"
    return out


def _wrapped(console: Console, text: Text | str, width: int, style: str = "") -> list[Text]:
    from rich.text import Text

    t = text if isinstance(text, Text) else Text(text, style=style)
    return [_line(x) for x in t.wrap(console, max(width, 1))]


def _progress_line(p: Progress, stage: str, reviewer: str, width: int) -> Any:
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    counts = Text()
    counts.append(f"{stage} · {reviewer} · ", style="bold")
    counts.append(f"{p.screened}/{p.total} screened · {p.includes} included · {p.maybes} maybe")
    if p.estimated_recall is not None:
        counts.append(f" · recall ≥ {p.estimated_recall:.0%} (est.)")
    grid = Table.grid(expand=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(width=max(8, min(30, width // 5)))
    grid.add_row(_line(counts), ProgressBar(total=max(p.total, 1), completed=p.screened))
    return grid


def stop_text(p: Progress, rule: str, detail: Callable[[dict[str, Any]], str]) -> str:
    """The stopping rule's live state in one sentence (``detail`` words the rule's statistic)."""
    if rule == "none":
        return "stopping rule: none chosen in the protocol (screen every record)"
    parts = []
    if p.stop is None:
        parts.append(f"{rule} rule: its state shows after your first decision")
    else:
        verdict = "you may stop (synth screen stop)" if p.stop["stop"] else "continue"
        parts.append(f"{p.stop['rule']} rule: {verdict}; {detail(p.stop)}")
    if p.heuristic_needed:
        parts.append(f"{p.heuristic_run}/{p.heuristic_needed} excludes in a row")
    return " · ".join(parts)


def _footer(console: Console, width: int, reasons: Sequence[Reason], message: str, prompt: str | None,
            keys: Sequence[tuple[str, str, str]] = KEYS) -> list[Text]:
    from rich.text import Text

    lines: list[Text] = []
    if reasons:
        r = Text("Reasons: ", style="bold")
        for i, reason in enumerate(reasons):
            r.append(("  " if i else "") + f"{reason.number} ", style="bold cyan")
            r.append(reason.id)
        lines += _wrapped(console, r, width)[:2]
    k = Text()
    for i, (key, label, _) in enumerate(keys):
        k.append(("  " if i else "") + f"[{key}]", style="bold")
        k.append(f" {label}", style="dim")
    lines += _wrapped(console, k, width)[:3]
    if prompt is not None:
        lines.append(_line(Text(prompt + "▏", style="bold yellow")))
    else:
        lines.append(_line(message, "yellow"))
    return lines


def render_record(console: Console, v: RecordView, width: int, height: int) -> tuple[RenderableType, int]:
    """The screen for one record, exactly ``height`` lines of ``width``; also the largest useful scroll."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    header: list[Any] = [_progress_line(v.progress, v.stage, v.reviewer, width), _line(v.stop_text, "dim")]
    title = _wrapped(console, v.title, width)
    if len(title) > TITLE_LINES:
        title = title[:TITLE_LINES]
        title[-1].append(" …")
    header += title
    header.append(_line(v.authors, "italic"))
    src = Text(v.source, style="dim")
    src.append(f"  [record {v.record_id}]", style="dim")
    header.append(_line(src))
    extra = Text()
    if v.tags:
        extra.append("Tags: ", style="bold")
        extra.append(", ".join(v.tags), style="cyan")
        extra.append("  ")
    if v.why:
        extra.append("Why next: ", style="bold")
        extra.append(v.why, style="dim")
    if extra.plain:
        header.append(_line(extra))
    for text, style in v.status:
        header.append(_line(text, style))
    footer = _footer(console, width, v.reasons, v.message, v.prompt)
    if v.filter:
        footer.insert(0, _line(f"Filter: {v.filter}  (/ then Enter on an empty line clears it)", "magenta"))
    panel_h = max(3, height - len(header) - len(footer))
    inner_w, inner_h = max(width - 4, 1), panel_h - 2
    body = _wrapped(console, v.abstract, inner_w)
    max_scroll = max(0, len(body) - inner_h)
    top = min(max(v.scroll, 0), max_scroll)
    shown = body[top:top + inner_h]
    where = (f"lines {top + 1}-{top + len(shown)} of {len(body)} · ↑↓ scroll" if max_scroll else "")
    panel = Panel(Group(*shown) if shown else Text(""), title="Abstract", title_align="left",
                  subtitle=where or None, subtitle_align="right", height=panel_h, padding=(0, 1))
    return Group(*header, panel, *footer), max_scroll


def render_list(console: Console, v: ListView, width: int, height: int) -> tuple[RenderableType, int]:
    """The record list: one line a record with its status, score and tags; the selected one highlighted.
    Returns the renderable and how many rows fit (the page size)."""
    from rich.console import Group
    from rich.text import Text

    head = [_line(Text(v.heading or "Records", style="bold"))] + [_line(x, "dim") for x in v.extra]
    if v.filter:
        head.append(_line(f"Filter: {v.filter}", "magenta"))
    keys = [("↑↓", "move", ""), ("Enter", "open", ""), ("/", "filter", ""), ("Esc/q", "back", "")]
    footer = _footer(console, width, (), v.message, v.prompt, keys)
    page = max(1, height - len(head) - 1 - len(footer))
    start = (v.selected // page) * page if v.rows else 0
    cols = _line(Text(f"{'record':>7}  {'status':<10} {'score':>6}  title [tags]", style="bold underline"))
    lines: list[Any] = []
    for i, row in enumerate(v.rows[start:start + page], start=start):
        score = f"{row.score:+.2f}" if row.score is not None else "     -"
        t = Text(f"{row.record_id:>7}  {row.status:<10} {score:>6}  {row.title}")
        if row.tags:
            t.append(f"  [{', '.join(row.tags)}]", style="cyan")
        if i == v.selected:
            t.stylize("reverse")
        lines.append(_line(t))
    if not v.rows:
        lines.append(_line("No records match.", "yellow"))
    lines += [_line("")] * (page - len(lines))
    return Group(*head, cols, *lines, *footer), page


def render_help(console: Console, reasons: Sequence[Reason], width: int, height: int) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    lines: list[Text] = [_line(Text("Keys", style="bold"))]
    for key, _, what in KEYS:
        lines += _wrapped(console, Text.assemble((f"{key:>3}  ", "bold"), what), width)
    if reasons:
        lines.append(_line(Text("Exclusion reasons", style="bold")))
        for r in reasons:
            lines += _wrapped(console, Text.assemble((f"{r.number:>3}  {r.id}", "bold"), f": {r.label}"), width)
            if r.description:
                lines += _wrapped(console, Text(f"     {r.description}", style="dim"), width)
    lines = lines[:max(1, height - 1)]
    lines += [_line("")] * (height - 1 - len(lines))
    lines.append(_line("Press any key to go back.", "yellow"))
    return Group(*lines)
