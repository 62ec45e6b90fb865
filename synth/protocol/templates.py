"""Protocol templates shipped with synth, and creating a new workspace from one."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from synth.errors import WorkspaceError
from synth.workspace import EXTRACTIONS_DIR, PROTOCOLS_DIR, STATE_DIR

TEMPLATES = ("blank", "partnership-outcomes")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_GITIGNORE = f"{STATE_DIR}/\nout/\n"


def template_text(template: str) -> str:
    if template not in TEMPLATES:
        raise WorkspaceError(f"unknown template '{template}'. Use one of: {', '.join(TEMPLATES)}.")
    return resources.files("synth.protocol").joinpath("templates", f"{template}.toml").read_text("utf-8")


_FILE_SOURCES = re.compile(r"(?m)(?:^#[^\n]*\n)*^\[\[sources\.files\]\]\n(?:^(?![\[#])[^\n]*\n)*")
_FILE_SOURCES_NOTE = ("# Exports from databases searched elsewhere go here, one [[sources.files]] table each (path, database,\n"
                      "# format, kind); see docs/protocol.md.\n\n")


def init_workspace(root: Path, template: str = "blank", name: str | None = None) -> list[Path]:
    """Create a workspace at ``root`` with one protocol from ``template``; return the paths created.

    Refuses to overwrite an existing protocol file.
    """
    name = name or (template if template != "blank" else "review")
    if not _SLUG.match(name):
        raise WorkspaceError(
            f"'{name}' is not a valid protocol name. Use lower-case letters, digits, '-', '_' or '.'."
        )
    text = template_text(template)
    if template == "blank":
        text = text.replace("__NAME__", name)
    else:
        text = re.sub(r'(?m)^id = "[^"]*"', f'id = "{name}"', text, count=1)
        # the template's file sources name the bundled review's data, which a new workspace does not have
        text = _FILE_SOURCES.sub(_FILE_SOURCES_NOTE, text)
    protocol = root / PROTOCOLS_DIR / f"{name}.toml"
    if protocol.exists():
        raise WorkspaceError(f"{protocol} already exists. Choose another --name or edit that file.")
    created: list[Path] = []
    for folder in (root / PROTOCOLS_DIR, root / EXTRACTIONS_DIR / name, root / STATE_DIR):
        if not folder.is_dir():
            folder.mkdir(parents=True)
            created.append(folder)
    protocol.write_text(text, encoding="utf-8")
    created.append(protocol)
    gitignore = root / ".gitignore"
    existing = gitignore.read_text("utf-8") if gitignore.exists() else ""
    missing = [line for line in _GITIGNORE.splitlines() if line not in existing.splitlines()]
    if missing:
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        gitignore.write_text(existing + prefix + "\n".join(missing) + "\n", encoding="utf-8")
        created.append(gitignore)
    return created
