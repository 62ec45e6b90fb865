"""Loading a protocol file: TOML syntax, then schema and cross-reference checks, every problem at once."""

from __future__ import annotations

import difflib
import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from synth.errors import ProtocolError
from synth.protocol.checks import check
from synth.protocol.model import Protocol


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The field names the protocol model allows at ``loc`` (list positions skipped), [] when unknown."""
    model: Any = Protocol
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation (``X``, ``X | None``, ``list[X]``, ``dict[str, X]``), if any."""
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def placeholders(data: Any, path: str = "") -> list[str]:
    """TOML paths of text values still holding a template's ``TODO`` placeholder."""
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in placeholders(v, f"{path}.{k}" if path else str(k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in placeholders(v, f"{path}[{i}]")]  # from 0, as the checks
    return [path] if isinstance(data, str) and "TODO" in data else []


def _fix(error: dict[str, Any]) -> str:
    """A one-line hint on how to fix one pydantic error."""
    kind = error["type"]
    loc = error["loc"]
    name = str(loc[-1]) if loc else ""
    table = _path(loc[:-1]) if len(loc) > 1 else ""
    where = f" under [{table}]" if table and not table.endswith("]") else ""
    if kind == "missing":
        return f"required field is missing. Add {name} = ...{where}."
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(name, _fields_at(loc[:-1]), n=1, cutoff=0.7)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"unknown field '{name}'.{hint} Remove it or check its spelling (see docs/protocol.md)."
    if kind == "string_too_short":
        return "must not be empty. Write the text in."
    if kind == "too_short":
        return f"{error['msg'].lower()}. Add at least one entry."
    if kind == "string_pattern_mismatch":
        return (
            f"'{error.get('input')}' is not a valid id. Use lower-case letters, digits, '-', '_' or '.', "
            "starting with a letter or digit."
        )
    got = error.get("input")
    shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
    return f"{error['msg']}{shown}. Correct the value."


def _schema_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        problems.append(f"{_path(loc)}: {_fix({**error, 'loc': loc})}")
    return problems


def parse_protocol(data: dict[str, Any], source: str) -> Protocol:
    """Validate raw protocol data; raise :class:`ProtocolError` listing every problem."""
    problems: list[str] = []
    protocol: Protocol | None = None
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        problems += _schema_problems(exc)
    problems += check(data)
    if problems or protocol is None:
        raise ProtocolError(source, sorted(set(problems), key=problems.index))
    return protocol


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(str(path), ["file not found. Check the path or run `synth init`."]) from None
    except UnicodeDecodeError as exc:
        raise ProtocolError(str(path), [f"not UTF-8 text (byte {exc.start}). Save the file as UTF-8."]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(str(path), [f"invalid TOML: {exc}. Fix the syntax at that line and column."]) from None
    except RecursionError:
        raise ProtocolError(str(path), ["arrays or tables are nested too deeply to read (no protocol needs "
                                        "that many levels). Flatten the nesting."]) from None


def load_protocol(path: Path) -> Protocol:
    """Read and validate the protocol at ``path``."""
    return parse_protocol(read_toml(path), str(path))
