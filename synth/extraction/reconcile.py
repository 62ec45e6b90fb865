"""Producing the consensus file from two reviewers' extractions, asking about every discrepancy.

Agreed values are taken as they are; for each discrepancy ``ask`` is called with a prompt offering the first
reviewer's value (``1``), the second's (``2``), another value typed as TOML (``e``) or leaving the field out
(``s``). ``ask`` is injectable so the logic is tested without a terminal. Writing the result never replaces an
existing reconciled file unless ``confirm`` says yes.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from collections.abc import Callable
from typing import Any

from synth.errors import InputError
from synth.extraction.compare import DEFAULT_ABS_TOL, DEFAULT_REL_TOL, Item, compare
from synth.extraction.files import CONSENSUS, ExtractionFile
from synth.protocol.model import Protocol

Ask = Callable[[str], str]

_CHAR = re.compile(r"^characteristics\.(?P<field>.+)$")
_ROW = re.compile(r"^outcomes\[(?P<outcome>[^@\]]*)@(?P<timepoint>[^\]#]*)(?:#(?P<effect>[^\]]*))?\]\.(?P<field>.+)$")
_ROB = re.compile(r"^rob\[(?P<tool>[^:\]]*):(?P<outcome>[^@\]]*)@(?P<timepoint>[^\]]*)\]\.(?P<part>answers|judgements)\.(?P<field>.+)$")
_SKIP = object()


def parse_value(raw: str) -> Any:
    """A typed value from what a reviewer typed: TOML syntax if it parses (42, 1.5, true, ["a"]), else text."""
    raw = raw.strip()
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _row(data: dict[str, Any], outcome: str, timepoint: str, effect: str | None = None) -> dict[str, Any]:
    rows = data.setdefault("outcomes", [])
    for row in rows:
        if (str(row.get("outcome", "?")), str(row.get("timepoint", "?")), row.get("effect") or None) == \
                (outcome, timepoint, effect):
            return row
    new = {"outcome": outcome, "timepoint": timepoint, **({"effect": effect} if effect else {})}
    rows.append(new)
    return new


def _rob(data: dict[str, Any], other: dict[str, Any], tool: str, outcome: str, timepoint: str) -> dict[str, Any]:
    def find(d: dict[str, Any]) -> dict[str, Any] | None:
        for e in d.get("rob", []) or []:
            if (str(e.get("tool")), str(e.get("outcome", "*")), str(e.get("timepoint", ""))) == (tool, outcome, timepoint):
                return e
        return None

    entry = find(data)
    if entry is None:
        source = find(other)
        entry = copy.deepcopy(source) if source else {"tool": tool, "outcome": outcome}
        if timepoint:
            entry["timepoint"] = timepoint
        entry["answers"], entry["judgements"] = {}, {}
        data.setdefault("rob", []).append(entry)
    return entry


def set_path(data: dict[str, Any], other: dict[str, Any], path: str, value: Any) -> None:
    """Set (or, with ``value`` None, remove) the field at a :func:`~synth.extraction.compare.flatten` path."""
    if m := _CHAR.match(path):
        target, key = data.setdefault("characteristics", {}), m["field"]
    elif m := _ROW.match(path):
        target, key = _row(data, m["outcome"], m["timepoint"], m["effect"]), m["field"]
    elif m := _ROB.match(path):
        target = _rob(data, other, m["tool"], m["outcome"], m["timepoint"]).setdefault(m["part"], {})
        key = m["field"]
    else:
        raise InputError(f"cannot reconcile field path '{path}'. This is a bug in synth; please report it.")
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _show(value: Any) -> str:
    return "(absent)" if value is None else repr(value)


def decide(item: Item, names: tuple[str, str], ask: Ask) -> Any:
    """Ask about one discrepancy until the answer is valid; the chosen value (None = leave out)."""
    prompt = (f"{item.path}: [1] {names[0]}: {_show(item.a)}  [2] {names[1]}: {_show(item.b)}  "
              "[e] enter another value  [s] leave out")
    while True:
        answer = ask(prompt).strip().lower()
        if answer == "1":
            return item.a
        if answer == "2":
            return item.b
        if answer == "s":
            return None
        if answer == "e":
            return parse_value(ask(f"{item.path}: value (TOML syntax: 42, 1.5, \"text\", [\"a\", \"b\"])"))
        prompt = f"Please answer 1, 2, e or s. {prompt}"


def reconcile(first: ExtractionFile, second: ExtractionFile, protocol: Protocol, ask: Ask,
              rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = DEFAULT_ABS_TOL,
              today: dt.date | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The consensus data and a log of the decisions (path, both values, chosen value)."""
    names = (first.reviewer or CONSENSUS, second.reviewer or CONSENSUS)
    merged = copy.deepcopy(first.data)
    merged.update(reviewer=CONSENSUS, status="complete", updated=today or dt.date.today())
    for key in ("citation", "source_data"):
        if key not in merged and key in second.data:
            merged[key] = copy.deepcopy(second.data[key])
    decisions = []
    for item in compare(first.study, first.data, second.data, protocol, rel_tol, abs_tol):
        if item.agree:
            continue
        chosen = decide(item, names, ask)
        set_path(merged, second.data, item.path, chosen)
        decisions.append({"path": item.path, names[0]: item.a, names[1]: item.b, "chosen": chosen})
    merged["outcomes"] = [r for r in merged.get("outcomes", []) or []
                          if set(r) - {"outcome", "timepoint", "effect"}]
    merged["rob"] = [e for e in merged.get("rob", []) or [] if e.get("answers") or e.get("judgements")]
    if not merged["rob"]:
        del merged["rob"]
    return merged, decisions
