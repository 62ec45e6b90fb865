"""Finding the review workspace, its protocol and its store.

A workspace is the nearest folder, from the current directory upward, that holds ``protocols/``. The protocol
is the only ``*.toml`` in ``protocols/`` unless one is named. State lives in ``.synth/<protocol>.sqlite``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from synth.errors import WorkspaceError

PROTOCOLS_DIR = "protocols"
EXTRACTIONS_DIR = "extractions"
STATE_DIR = ".synth"
DATA_DIR = "data"
OUT_DIR = "out"


@dataclass(frozen=True)
class Workspace:
    """A review workspace on disk."""

    root: Path

    @property
    def protocols_dir(self) -> Path:
        return self.root / PROTOCOLS_DIR

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def protocol_names(self) -> list[str]:
        return sorted(p.stem for p in self.protocols_dir.glob("*.toml"))

    def protocol_path(self, name: str | None = None) -> Path:
        """The protocol file: ``name`` if given, else the only one in ``protocols/``."""
        names = self.protocol_names()
        if name is not None:
            stem = name[:-5] if name.endswith(".toml") else name
            path = self.protocols_dir / f"{stem}.toml"
            if not path.is_file():
                known = ", ".join(names) or "none"
                raise WorkspaceError(
                    f"no protocol named '{stem}' in {self.protocols_dir} (found: {known}). "
                    "Pass one of those to --protocol."
                )
            return path
        if not names:
            raise WorkspaceError(
                f"no protocol in {self.protocols_dir}. Create one with `synth init {self.root}`."
            )
        if len(names) > 1:
            raise WorkspaceError(
                f"{len(names)} protocols in {self.protocols_dir} ({', '.join(names)}). "
                "Choose one with --protocol NAME."
            )
        return self.protocols_dir / f"{names[0]}.toml"

    def extractions_dir(self, protocol: str) -> Path:
        return self.root / EXTRACTIONS_DIR / protocol

    def data_dir(self, protocol: str) -> Path:
        """Bundled inputs of a review that are not exports: ``data/<protocol>/`` (screening history, overview of
        existing reviews)."""
        return self.root / DATA_DIR / protocol

    def out_dir(self, protocol: str) -> Path:
        return self.root / OUT_DIR / protocol

    def default_db_path(self, protocol: str) -> Path:
        return self.state_dir / f"{protocol}.sqlite"

    def default_db_url(self, protocol: str) -> str:
        return f"sqlite:///{self.default_db_path(protocol)}"


def find_workspace(start: Path | None = None, explicit: Path | None = None) -> Workspace:
    """The workspace given by ``explicit``, or the nearest folder upward from ``start`` holding ``protocols/``."""
    if explicit is not None:
        root = explicit.expanduser().resolve()
        if not (root / PROTOCOLS_DIR).is_dir():
            raise WorkspaceError(
                f"{root} is not a synth workspace (no {PROTOCOLS_DIR}/ folder). "
                f"Create one with `synth init {explicit}`."
            )
        return Workspace(root)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROTOCOLS_DIR).is_dir():
            return Workspace(folder)
    raise WorkspaceError(
        f"no synth workspace found in {here} or any folder above it (none holds {PROTOCOLS_DIR}/). "
        "Run `synth init DIR` to create one, or pass --workspace DIR."
    )
