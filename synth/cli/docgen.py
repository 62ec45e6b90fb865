"""Docs that cannot drift: ``docs/cli.md`` from every command's ``--help`` and ``docs/protocol-fields.md``
from the protocol model. Regenerate with ``python -m synth.cli.docgen``; a test fails when they are stale."""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

DOCS = Path(__file__).resolve().parents[2] / "docs"


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command path, e.g. ``("meta", "pool")``, in pipeline order (groups before their commands)."""
    import typer.main

    from synth.cli.app import app

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def help_text(path: tuple[str, ...]) -> str:
    from typer.testing import CliRunner

    from synth.cli.app import app

    env = {"COLUMNS": "100", "TERMINAL_WIDTH": "100", "NO_COLOR": "1", "TERM": "dumb"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = CliRunner().invoke(app, [*path, "--help"], prog_name="synth")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return "\n".join(line.rstrip() for line in result.output.strip().splitlines())


def cli_markdown() -> str:
    parts = [
        "# synth command reference",
        "",
        "Generated from `--help` by `python -m synth.cli.docgen`; do not edit by hand.",
        "",
    ]
    for path in command_paths():
        title = " ".join(("synth", *path))
        parts += [f"## `{title}`", "", "```text", help_text(path), "```", ""]
    return "\n".join(parts)


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is typing.Literal:
        return " \\| ".join(f'"{a}"' for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"table of {_type_name(args[1])}"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "table"
        if hasattr(annotation, "__members__"):
            return " \\| ".join(f'"{m.value}"' for m in annotation)  # type: ignore[attr-defined]
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "date": "date"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _models(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, type[BaseModel]]]:
    yield prefix, model
    for name, info in model.model_fields.items():
        for arg in typing.get_args(info.annotation) or (info.annotation,):
            inner = typing.get_args(arg)[0] if typing.get_origin(arg) is list else arg
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                sub = f"{prefix}.{name}" if prefix else name
                if typing.get_origin(arg) is list:
                    sub = f"[{sub}]"
                yield from _models(inner, sub)


def protocol_markdown() -> str:
    from pydantic_core import PydanticUndefined

    from synth.protocol.model import Protocol

    lines = [
        "# Protocol fields",
        "",
        "Every field of a protocol file, generated from the model by `python -m synth.cli.docgen`; do not edit by",
        "hand. `[table]` is a TOML table, `[[table]]` an array of tables. See docs/protocol.md for the guide.",
        "",
    ]
    def _shown(value: Any) -> str:  # a default as a user would write it (enum values, not reprs)
        if isinstance(value, list | tuple):
            return "[" + ", ".join(_shown(v) for v in value) + "]"
        return str(getattr(value, "value", value))

    for table, model in _models(Protocol, ""):
        lines += [f"## `[{table}]`" if table else "## top level", "", "| field | type | required | default | meaning |",
                  "|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            required = "yes" if info.is_required() else ""
            default = ""
            if not info.is_required():
                value = info.default if info.default is not PydanticUndefined else info.default_factory()  # type: ignore[call-arg,misc]
                if not isinstance(value, BaseModel) and value not in (None, "", [], {}):
                    default = f"`{_shown(value)}`"
            meaning = (info.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_name(info.annotation)} | {required} | {default} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def dedup_rules_markdown() -> str:
    from synth.dedup.rules import RULES

    lines = [
        "# Deduplication rules",
        "",
        "Every veto, veto exception and merge rule of `synth dedup`, with the bibliographic fact it relies on;",
        "generated from `synth/dedup/rules.py` by `python -m synth.cli.docgen`, do not edit by hand. See",
        "docs/dedup.md for the method. *Optional* rules are the ones the benchmark switches off to evaluate each",
        "gold set with only the rules the other sets support (leave one set out).",
        "",
        "| rule | kind | optional | fact |",
        "|---|---|---|---|",
    ]
    for rule in RULES.values():
        lines.append(f"| `{rule.name}` | {rule.kind} | {'yes' if rule.optional else ''} | "
                     f"{rule.fact.replace('|', '/')} |")
    return "\n".join(lines)


GENERATED = {"cli.md": cli_markdown, "protocol-fields.md": protocol_markdown, "dedup-rules.md": dedup_rules_markdown}


def main() -> None:
    for name, make in GENERATED.items():
        (DOCS / name).write_text(make() + "\n", encoding="utf-8")
        print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
