"""Interactive review of maybe pairs: a side-by-side view with differences highlighted, and the keys
``s`` same, ``d`` different, ``k`` skip, ``u`` undo, ``q`` quit. Input and output are injected so the loop can
be driven by tests; decisions are stored at once, and clusters are recomputed when the session ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synth.dedup import service
from synth.records.model import Record

if TYPE_CHECKING:
    from rich.console import Console

    from synth.store import Store
    from synth.store.dedup import LinkRow

KEYS = {"s": "same", "d": "different", "k": "skip", "u": "undo", "q": "quit"}
PROMPT = "[s]ame / [d]ifferent / s[k]ip / [u]ndo / [q]uit"
END_PROMPT = "All pairs seen: [u]ndo the last answer or [q]uit"


@dataclass
class ReviewOutcome:
    """What a session did."""

    shown: int = 0
    same: int = 0
    different: int = 0
    skipped: int = 0
    undone: int = 0
    decided: list[tuple[int, int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"shown": self.shown, "same": self.same, "different": self.different, "skipped": self.skipped,
                "undone": self.undone}


def _fields(record: Record) -> list[tuple[str, str]]:
    authors = "; ".join(a.display() for a in record.authors[:8]) + (" ..." if len(record.authors) > 8 else "")
    return [
        ("title", record.title),
        ("authors", authors),
        ("year", "" if record.year is None else str(record.year)),
        ("journal", record.journal),
        ("volume", record.volume),
        ("issue", record.issue),
        ("pages", record.pages),
        ("doi", record.doi or ""),
        ("type", record.publication_type),
        ("source", record.provenance.source),
        ("abstract", (record.abstract[:300] + "...") if len(record.abstract) > 300 else record.abstract),
    ]


def _diff_texts(x: str, y: str) -> tuple[Any, Any]:
    """Both values as rich Text with the words the other value lacks in bold red (difflib word alignment)."""
    from difflib import SequenceMatcher

    from rich.text import Text

    xs, ys = x.split(), y.split()
    tx, ty = Text(), Text()
    matcher = SequenceMatcher(a=[w.lower() for w in xs], b=[w.lower() for w in ys], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        style = "" if op == "equal" else "bold red"
        if i2 > i1:
            tx.append(" ".join(xs[i1:i2]) + " ", style=style)
        if j2 > j1:
            ty.append(" ".join(ys[j1:j2]) + " ", style=style)
    return tx, ty


def render_pair(console: Console, index: int, total: int, link: LinkRow, a: Record, b: Record) -> None:
    """Print one maybe pair side by side; in differing fields the differing words are bold red, equal fields
    are dim."""
    from rich.table import Table

    sims = link.detail.get("similarities", {})
    table = Table(title=f"Maybe pair {index}/{total}: records {link.record_a} and {link.record_b} "
                        f"(title similarity {sims.get('title', '?')})", show_lines=True)
    table.add_column("field")
    table.add_column(f"record {link.record_a}")
    table.add_column(f"record {link.record_b}")
    for (name, x), (_, y) in zip(_fields(a), _fields(b), strict=True):
        if not x and not y:
            continue
        if x.strip().lower() == y.strip().lower():
            table.add_row(name, x, y, style="dim")
        else:
            tx, ty = _diff_texts(x, y)
            table.add_row(name, tx, ty)
    console.print(table)
    vetoes = link.detail.get("vetoes") or []
    if vetoes:
        console.print("vetoes: " + "; ".join(vetoes))


def _undo(store: Store, links: list[LinkRow], history: list[int], outcome: ReviewOutcome, console: Console,
          actor: str) -> int:
    """Take back the last answer; return the index of the pair to show again."""
    i = history.pop()
    prev = links[i]
    if service.undo(store, prev.record_a, prev.record_b, actor=actor):
        outcome.undone += 1
        last = outcome.decided.pop() if outcome.decided else None
        if last is not None and last[2] == "same":
            outcome.same -= 1
        elif last is not None:
            outcome.different -= 1
    else:
        outcome.skipped -= 1
        outcome.undone += 1
    console.print(f"undone: records {prev.record_a} and {prev.record_b}")
    return i


def run_review(
    store: Store,
    links: list[LinkRow],
    ask: Callable[[str], str],
    console: Console,
    *,
    actor: str = "",
) -> ReviewOutcome:
    """Walk through ``links``; ``ask(prompt)`` returns the key a person pressed."""
    outcome = ReviewOutcome()
    history: list[int] = []
    i = 0
    while True:
        if i >= len(links):
            if not history:
                break
            console.print("All pairs seen.")
            if (ask(END_PROMPT) or "q").strip().lower()[:1] != "u":
                break
            i = _undo(store, links, history, outcome, console, actor)
            continue
        link = links[i]
        a, b = service.load_pair(store, link.record_a, link.record_b)
        render_pair(console, i + 1, len(links), link, a, b)
        outcome.shown += 1
        key = (ask(PROMPT) or "").strip().lower()[:1]
        action = KEYS.get(key)
        if action is None:
            console.print(f"unknown key {key!r}: use one of s, d, k, u, q")
            continue
        if action == "quit":
            break
        if action == "undo":
            if not history:
                console.print("nothing to undo")
                continue
            i = _undo(store, links, history, outcome, console, actor)
            continue
        if action == "skip":
            outcome.skipped += 1
        else:
            service.decide(store, link.record_a, link.record_b, action, actor=actor)
            outcome.decided.append((link.record_a, link.record_b, action))
            if action == "same":
                outcome.same += 1
            else:
                outcome.different += 1
        history.append(i)
        i += 1
    return outcome
