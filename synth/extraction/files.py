"""Extraction files on disk: ``extractions/<protocol>/<study>.<reviewer>.toml`` for each extractor and
``<study>.toml`` for the reconciled (consensus) version. The files are the record of truth, reviewable in git.

Study and reviewer ids are lower-case letters, digits, ``-`` and ``_`` (no dots: the dot separates them).
Nothing here overwrites a file unless the caller says so after asking the reviewer.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth.errors import InputError
from synth.extraction.problems import Problem

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SCHEMA_VERSION = 1
CONSENSUS = "consensus"
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class ExtractionFile:
    """One parsed extraction file. ``reviewer`` is None for the reconciled file."""

    path: Path
    study: str
    reviewer: str | None
    data: dict[str, Any]

    @property
    def reconciled(self) -> bool:
        return self.reviewer is None


def check_id(value: str, what: str) -> str:
    """Return ``value`` if it is a valid study/reviewer id, else raise :class:`InputError`."""
    if not ID_RE.match(value):
        raise InputError(
            f"'{value}' is not a valid {what} id. Use lower-case letters, digits, '-' or '_' "
            "(no dots or spaces), e.g. 'smith-2019'."
        )
    return value


def split_name(path: Path) -> tuple[str, str | None] | None:
    """``(study, reviewer)`` from a file name, ``reviewer`` None for ``<study>.toml``; None if not ours."""
    if path.suffix != ".toml":
        return None
    parts = path.name[: -len(".toml")].split(".")
    if len(parts) == 1 and ID_RE.match(parts[0]):
        return parts[0], None
    if len(parts) == 2 and ID_RE.match(parts[0]) and ID_RE.match(parts[1]):
        return parts[0], parts[1]
    return None


def reconciled_path(folder: Path, study: str) -> Path:
    return folder / f"{check_id(study, 'study')}.toml"


def reviewer_path(folder: Path, study: str, reviewer: str) -> Path:
    return folder / f"{check_id(study, 'study')}.{check_id(reviewer, 'reviewer')}.toml"


def toml_error_position(exc: tomllib.TOMLDecodeError, text: str) -> tuple[int, int]:
    """Line and column (1-based) of a TOML syntax error (parsed from the message on Python < 3.14)."""
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "colno", None)
    if isinstance(line, int) and isinstance(col, int):
        return line, col
    match = _TOML_POS.search(str(exc))
    if match:
        return int(match.group(1)), int(match.group(2))
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


SYNTAX_FIX = ("Fix the syntax there (text needs quotes, tables are [name], outcome rows [[outcomes]]) "
              "and save again")
NESTED = "arrays or tables are nested too deeply to read"
NESTED_FIX = "Flatten the nesting (an extraction file needs a few levels at most)"


def syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """``TOML syntax error (line L, column C): reason`` for a decode error."""
    line, col = toml_error_position(exc, text)
    reason = re.sub(r"\s*\((at line \d+, column \d+|at end of document)\)", "", str(exc)).strip()
    return f"TOML syntax error (line {line}, column {col}): {reason}"


def parse_text(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error raises :class:`InputError` naming file, line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col = toml_error_position(exc, text)
        raise InputError(f"{source}:{line}:{col}: {syntax_problem(exc, text)}. {SYNTAX_FIX}.") from None
    except RecursionError:
        raise InputError(f"{source}: {NESTED}. {NESTED_FIX}.") from None


def read_file(path: Path) -> ExtractionFile:
    """Read one extraction file. Raises :class:`InputError` for a bad name, encoding or TOML syntax."""
    parts = split_name(path)
    if parts is None:
        raise InputError(
            f"{path}: not an extraction file name. Name files <study>.toml (reconciled) or "
            "<study>.<reviewer>.toml, with lower-case ids without dots."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found. Create it with `synth extract new STUDY`.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}). Save the file as UTF-8.") from None
    return ExtractionFile(path, parts[0], parts[1], parse_text(text, str(path)))


def load_folder(folder: Path) -> tuple[list[ExtractionFile], list[Problem]]:
    """Every extraction file in ``folder`` (sorted by name), and a problem for each unreadable one."""
    files: list[ExtractionFile] = []
    problems: list[Problem] = []
    if not folder.is_dir():
        return files, problems
    for path in sorted(folder.glob("*.toml")):
        if split_name(path) is None:
            problems.append(Problem(
                str(path), "", "file name is not <study>.toml or <study>.<reviewer>.toml",
                "Rename it (lower-case ids, no dots or spaces) or move it out of the extractions folder",
            ))
            continue
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(path), "", f"not UTF-8 text (byte {exc.start})", "Save the file as UTF-8"))
            continue
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem(str(path), "", syntax_problem(exc, text), SYNTAX_FIX))
            continue
        except RecursionError:
            problems.append(Problem(str(path), "", NESTED, NESTED_FIX))
            continue
        study, reviewer = split_name(path)  # type: ignore[misc]
        files.append(ExtractionFile(path, study, reviewer, data))
    return files, problems


def by_study(files: list[ExtractionFile]) -> dict[str, list[ExtractionFile]]:
    """Files grouped by study id (reconciled first, then reviewers alphabetically)."""
    out: dict[str, list[ExtractionFile]] = {}
    for f in sorted(files, key=lambda f: (f.study, f.reviewer is not None, f.reviewer or "")):
        out.setdefault(f.study, []).append(f)
    return out


def dumps(data: dict[str, Any]) -> str:
    """TOML text for an extraction dict: top-level keys, then tables in a fixed order, then the
    ``[[outcomes]]`` and ``[[rob]]`` rows (always as arrays of tables, so more rows can be appended)."""
    import tomli_w

    order = ["schema_version", "study", "protocol", "reviewer", "status", "updated",
             "citation", "characteristics", "source_data"]
    clean = _drop_none(data)
    rows = {k: clean.pop(k) for k in ("outcomes", "rob") if isinstance(clean.get(k), list)}
    ordered = {k: clean[k] for k in order if k in clean}
    ordered.update(clean)
    parts = [tomli_w.dumps(ordered, multiline_strings=True)]
    parts += [array_of_tables(name, items) for name, items in rows.items() if items]
    return "\n".join(p.rstrip("\n") + "\n" for p in parts if p)


def array_of_tables(name: str, items: list[dict[str, Any]]) -> str:
    """``[[name]]`` blocks for ``items``; a row's sub-tables become ``[name.key]`` (tomli_w would inline
    short rows, and an inline array cannot be extended later)."""
    import tomli_w

    blocks = []
    for item in items:
        scalars = {k: v for k, v in item.items() if not isinstance(v, dict)}
        text = f"[[{name}]]\n" + tomli_w.dumps(scalars, multiline_strings=True)
        for key, table in item.items():
            if isinstance(table, dict):
                text += f"\n[{name}.{key}]\n" + tomli_w.dumps(table, multiline_strings=True)
        blocks.append(text)
    return "\n".join(blocks)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value if v is not None]
    return value


def write_text(path: Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path``; refuse to replace an existing file unless ``overwrite`` (after asking)."""
    if path.exists() and not overwrite:
        raise InputError(
            f"{path} already exists; nothing was overwritten. Edit it with `synth extract edit`, or confirm "
            "the overwrite when asked."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
