"""Extraction templates generated from the protocol's form, and an interactive prompt mode.

The template is a TOML file with a comment above every field giving its label, type, unit, allowed values
and whether it is required; prefilled citation values come from the study's records in the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from synth.extraction.columns import COUNT_COLUMNS, KINDS_FOR_MEASURE, NOT_REPORTED
from synth.extraction.files import CONSENSUS, SCHEMA_VERSION
from synth.extraction.validate import row_problems
from synth.protocol.model import FieldType, FormField, Protocol

GROUP_DATA_HELP = """\
# Group data, in the meta-analysis column names (t = intervention, c = control). Give ONE complete set:
#   binary:      events_t, n_t, events_c, n_c
#   continuous:  mean_t, sd_t, n_t, mean_c, sd_c, n_c
#   correlation: r, n            proportion: events, n
#   generic:     yi with sei or vi (analysis scale: log for OR/RR/ROM)
#                or estimate, ci_low, ci_high (95% CI, as reported: ratios for OR/RR/ROM)
# Leave out what the report does not give. Optional: label, notes, adjusted = true, measure_reported."""


def _value(key: str, value: Any) -> str:
    import tomli_w

    return tomli_w.dumps({key: value}).strip()


def _describe(field: FormField) -> str:
    bits = [field.label, field.type.value]
    if field.unit:
        bits.append(f"unit: {field.unit}")
    if field.required:
        bits.append("required")
    text = "# " + "; ".join(bits) + "."
    if field.allowed:
        text += f" One{' or more' if field.type is FieldType.multichoice else ''} of: {', '.join(field.allowed)}."
    if field.help:
        text += f" {field.help}"
    return text


def _field_line(field: FormField, value: Any = None) -> str:
    if value is not None:
        return _value(field.id, value)
    if field.type in (FieldType.text, FieldType.choice):
        return f'{field.id} = ""'
    if field.type is FieldType.multichoice:
        return f"{field.id} = []"
    return f"# {field.id} = "


def template(protocol: Protocol, protocol_name: str, study: str, reviewer: str | None,
             citation: dict[str, Any] | None = None, today: dt.date | None = None) -> str:
    """TOML text of a blank extraction form for ``study``, with ``citation`` prefilled."""
    citation = dict(citation or {})
    citation.setdefault("label", "")
    lines = [
        f"# Extraction form for study '{study}' (protocol '{protocol_name}').",
        f'# Fill in every field; write "{NOT_REPORTED}" when the report does not give a value.',
        "# Check with `synth extract check`. Format: docs/extraction.md",
        _value("schema_version", SCHEMA_VERSION),
        _value("study", study),
        _value("protocol", protocol_name),
        _value("reviewer", reviewer or CONSENSUS),
        'status = "draft"  # "complete" when finished',
        _value("updated", today or dt.date.today()),
        "",
        "[citation]",
    ]
    for key, value in citation.items():
        lines.append(_value(key, value))
    lines += ["", "[characteristics]"]
    for field in protocol.extraction.study_fields:
        lines += [_describe(field), _field_line(field)]
    lines.append('notes = ""')
    lines += ["", "# One [[outcomes]] table per outcome and timepoint. Outcomes in the protocol:"]
    for o in protocol.outcomes:
        tps = ", ".join(o.timepoints) or "any"
        lines.append(f"#   {o.id} ({o.measure.value}): {o.label}. Timepoints: {tps}.")
    lines.append(GROUP_DATA_HELP)
    lines += ["[[outcomes]]", 'outcome = ""', 'timepoint = ""']
    fields = protocol.extraction.outcome_fields
    if not any(f.id == "source_location" for f in fields):  # built in (see validate.ROW_EXTRA_KEYS)
        lines += ['source_location = ""  # where in the report the numbers are: page, table, figure']
    for field in fields:
        lines += [_describe(field), _field_line(field)]
    tools = ", ".join(f"{design}: {tool}" for design, tool in protocol.risk_of_bias.tools.items())
    lines += ["", f"# Risk of bias ({tools}): add with `synth extract rob {study} --outcome ID`.", ""]
    return "\n".join(lines)


Ask = Callable[[str, str], str]


def _parse(field: FormField, raw: str) -> Any:
    raw = raw.strip()
    if raw == "" or raw == NOT_REPORTED:
        return raw or None
    if field.type is FieldType.integer:
        return int(raw)
    if field.type is FieldType.number:
        return float(raw)
    if field.type is FieldType.boolean:
        return raw.lower() in ("y", "yes", "true", "1")
    if field.type is FieldType.multichoice:
        return [p.strip() for p in raw.split(",") if p.strip()]
    return raw


def prompt_characteristics(protocol: Protocol, ask: Ask) -> dict[str, Any]:
    """Ask for every study-level field; ``ask(question, default)`` returns the answer text.

    Answers that do not parse (a word for an integer) are asked again.
    """
    out: dict[str, Any] = {}
    for field in protocol.extraction.study_fields:
        question = _describe(field)[2:]
        while True:
            try:
                value = _parse(field, ask(question, ""))
                break
            except ValueError:
                question = f"Not a valid {field.type.value}. {_describe(field)[2:]}"
        if value is not None:
            out[field.id] = value
    return out


KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "binary": ("events_t", "n_t", "events_c", "n_c"),
    "continuous": ("mean_t", "sd_t", "n_t", "mean_c", "sd_c", "n_c"),
    "correlation": ("r", "n"),
    "proportion": ("events", "n"),
    "generic-se": ("yi", "sei"),
    "generic-ci": ("estimate", "ci_low", "ci_high"),
}


def _number(ask: Ask, question: str, integer: bool) -> int | float | None:
    while True:
        raw = ask(question, "").strip()
        if not raw:
            return None
        try:
            return int(raw) if integer else float(raw)
        except ValueError:
            question = f"Not a valid {'whole number' if integer else 'number'}. {question}"


def prompt_outcomes(protocol: Protocol, ask: Ask) -> list[dict[str, Any]]:
    """Ask for outcome rows until an empty outcome id: outcome, timepoint, data kind, numbers, form fields."""
    known = {o.id: o for o in protocol.outcomes}
    rows: list[dict[str, Any]] = []
    while True:
        oid = ask(f"Outcome id ({', '.join(known)}; empty to finish)", "").strip()
        if not oid:
            return rows
        if oid not in known:
            continue
        outcome = known[oid]
        row: dict[str, Any] = {"outcome": oid}
        while True:
            tp = ask(f"Timepoint ({', '.join(outcome.timepoints) or 'any'})", "").strip()
            if tp and (not outcome.timepoints or tp in outcome.timepoints):
                break
        row["timepoint"] = tp
        allowed = KINDS_FOR_MEASURE.get(outcome.measure.value, frozenset({"generic"}))
        kinds = [k for k in KIND_COLUMNS if k in allowed or k.startswith("generic")]
        kind = ""
        while kind not in kinds:
            kind = ask(f"Data ({', '.join(kinds)})", "").strip()
        while True:  # the numbers are checked as `synth extract check` checks them, and asked again if impossible
            numbers = {col: v for col in KIND_COLUMNS[kind] if (v := _number(ask, col, col in COUNT_COLUMNS)) is not None}
            problems = row_problems({**row, **numbers, "source_location": "-"}, protocol, KIND_COLUMNS[kind])
            if not problems:
                row.update(numbers)
                break
            ask(f"{'; '.join(p.rstrip('.') for p in problems)}. Press Enter to type the numbers again", "")
        for field in protocol.extraction.outcome_fields:
            value = _parse(field, ask(_describe(field)[2:], ""))
            if value is not None:
                row[field.id] = value
        rows.append(row)
