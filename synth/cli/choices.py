"""Options whose value must be one of a fixed set: checked while the command line is parsed, so a wrong value is
a usage error (exit code 2, with the allowed values), like a wrong ``--format``.

The allowed values live in the library module that owns them; :func:`one_of` imports it only when the option is
given, so ``synth --help`` stays light and the list cannot drift from what the library accepts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

import typer


def one_of(module: str, name: str, *, ignore_case: bool = False) -> Callable[[str | None], str | None]:
    """An option callback accepting only the values in ``module.name`` (compared ignoring case when asked; the
    value is passed on as typed, for the library to normalise)."""

    def check(value: str | None) -> str | None:
        if value is None:
            return value
        allowed: Iterable[str] = getattr(importlib.import_module(module), name)
        shown = [str(a) for a in allowed]
        fold = (lambda s: s.lower()) if ignore_case else (lambda s: s)
        if fold(value) not in {fold(a) for a in shown}:
            raise typer.BadParameter(f"'{value}' is not one of: {', '.join(shown)}.")
        return value

    return check


def in_range(low: float, high: float, what: str) -> Callable[[float | None], float | None]:
    """An option callback accepting numbers strictly between ``low`` and ``high``."""

    def check(value: float | None) -> float | None:
        if value is not None and not low < value < high:
            raise typer.BadParameter(f"{value:g} is not {what} (between {low:g} and {high:g}).")
        return value

    return check
