"""Counts in sentences a reader sees: "1 study", "2 studies", "1 was", "3 were" (never "1 studies" or "stud(ies)").

>>> count(1, "cell"), count(3, "study", "studies"), agree(1, "was", "were")
('1 cell', '3 studies', 'was')
"""

from __future__ import annotations


def agree(n: int, one: str, many: str) -> str:
    """``one`` for exactly 1, else ``many`` (a verb or noun that agrees with the count)."""
    return one if n == 1 else many


def count(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word`` in the number ``n`` asks for (``plural`` defaults to ``word + "s"``)."""
    return f"{n} {agree(n, word, plural or word + 's')}"
