"""Per-invocation state shared by every command: global options, resolved lazily.

Commands ask for what they need (``ctx.workspace``, ``ctx.protocol``, ``ctx.store``); nothing is opened before
a command asks, so ``synth --help`` and ``synth init`` never touch a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from synth.workspace import Workspace, find_workspace

if TYPE_CHECKING:
    from synth.protocol.model import Protocol
    from synth.store import Store

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.


@dataclass
class Context:
    workspace_opt: Path | None = None
    protocol_opt: str | None = None
    db_opt: str | None = None
    debug: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)
    _protocol: Protocol | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = find_workspace(explicit=self.workspace_opt)
        return self._workspace

    @property
    def protocol_path(self) -> Path:
        return self.workspace.protocol_path(self.protocol_opt)

    @property
    def protocol_name(self) -> str:
        return self.protocol_path.stem

    @property
    def protocol(self) -> Protocol:
        if self._protocol is None:
            from synth.protocol import load_protocol

            self._protocol = load_protocol(self.protocol_path)
        return self._protocol

    @property
    def db_url(self) -> str:
        return self.db_opt or self.workspace.default_db_url(self.protocol_name)

    @property
    def store(self) -> Store:
        if self._store is None:
            from synth.store import open_store

            self._store = open_store(self.db_url)
        return self._store


    def existing_store(self) -> Store | None:
        """The store when one exists (``--db`` given, or the workspace's default file is there), else None:
        for commands that only read it, so they never create an empty one."""
        if self.db_opt is None and not self.workspace.default_db_path(self.protocol_name).is_file():
            return None
        return self.store


def get(ctx: typer.Context) -> Context:
    """The :class:`Context` of this invocation (created by the root callback)."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Context):
        obj = Context()
        ctx.find_root().obj = obj
    return obj
