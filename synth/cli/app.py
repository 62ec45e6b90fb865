"""The ``synth`` app with every command registered (for ``--help``, the tests and the generated docs); the
console script builds only the group it runs (:func:`synth.cli.root.main`)."""

from __future__ import annotations

from synth.cli.root import build, main

app = build()

__all__ = ["app", "main"]
