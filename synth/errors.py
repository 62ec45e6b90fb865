"""Domain errors. The CLI translates every :class:`SynthError` into one ``Error: ...`` line and exit code 1."""

from __future__ import annotations


class SynthError(Exception):
    """A user-facing error: the message says what was wrong and how to fix it."""


class WorkspaceError(SynthError):
    """The workspace or protocol file could not be found."""


class ProtocolError(SynthError):
    """The protocol file is invalid. ``problems`` holds one line per problem, each with its TOML path; a single
    problem is said on one line, several are listed under a head line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        count = len(problems)
        if count == 1:  # one problem: one line
            super().__init__(f"{path}: {problems[0]}")
            return
        head = f"{path}: {count} problems in the protocol"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in problems))


class StoreError(SynthError):
    """The database could not be opened or is in an unexpected state."""


class StoreBusy(StoreError):
    """Another process kept the store locked past the wait; the change was not saved (safe to try again)."""


class DecisionConflict(StoreError):
    """The reviewer's decision on a record changed in another session since this one last saw it."""


class InputError(SynthError):
    """A data file (import, CSV, extraction form) is malformed or holds impossible values."""


class NotYetAvailable(SynthError):
    """A pipeline stage that a later issue fills in; it says so instead of pretending to work."""
