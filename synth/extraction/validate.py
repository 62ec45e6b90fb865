"""Validation of extraction files against the protocol's form: every problem in every file at once.

Each :class:`~synth.extraction.problems.Problem` names the file, the field path (``characteristics.design``,
``outcomes[2].sd_t``, ``rob[1].judgements.D3``; rows numbered from 1) and the fix. Checked: unknown and
mistyped fields, values outside the allowed list, missing required fields (the value ``"NR"`` records "not
reported in the source" and counts as answered), impossible numbers (events > n, n <= 0, SD <= 0, |r| > 1,
variance or SE <= 0, a CI that does not contain its estimate or a ratio <= 0), incomplete group data, data
that cannot feed the outcome's effect measure, outcome ids and timepoints not in the protocol, duplicate
rows, risk-of-bias answers and judgements (a judgement that differs from the algorithm needs a reason), two
reconciled files for one study and, when screening results are available, studies not included at full text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from synth.extraction import rob
from synth.extraction.columns import (
    BINARY,
    CONTINUOUS,
    COUNT_COLUMNS,
    DATA_COLUMNS,
    GENERIC_CI,
    KINDS_FOR_MEASURE,
    NOT_REPORTED,
    RATIO_MEASURES,
    SIZE_COLUMNS,
    data_kind,
)
from synth.extraction.files import CONSENSUS, SCHEMA_VERSION, ExtractionFile
from synth.extraction.problems import Problem
from synth.protocol.model import FieldType, FormField, Protocol

TOP_KEYS = frozenset({"schema_version", "study", "protocol", "reviewer", "status", "updated", "citation",
                      "characteristics", "source_data", "outcomes", "rob", "notes", "not_measured"})
CITATION_KEYS = {"label": str, "authors": list, "first_author": str, "year": int, "title": str, "journal": str,
                 "doi": str, "pmid": str, "trial_registration": str, "records": list, "reports": list,
                 "numbers_from": str, "notes": str}
#: keys every outcome row may have, whatever the protocol's form: ``source_location`` (where in the report the
#: numbers are: page, table, figure) is built in, as the Cochrane Handbook (5.5) asks every extraction to say; a
#: protocol may still declare it as an [[extraction.outcome_fields]] entry to make it required
ROW_EXTRA_KEYS = frozenset({"outcome", "timepoint", "effect", "label", "notes", "adjusted", "group_t", "group_c",
                            "measure_reported", "source_location"})
ROB_KEYS = frozenset({"tool", "outcome", "timepoint", "effect", "category", "answers", "judgements", "reasons",
                      "support", "source", "assessor", "notes"})
STATUSES = ("draft", "complete")


def _suggest_name(value: str, known: Iterable[str]) -> str:
    from rapidfuzz import process

    best = process.extractOne(value, list(known), score_cutoff=70)
    return f" Did you mean '{best[0]}'?" if best else ""


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _check_field(field: FormField, value: Any, path: str, add: Any) -> None:
    """Type and allowed-value checks for one form field value."""
    if _is_missing(value):
        if field.required:
            add(path, f"required field '{field.label}' is missing or empty",
                f'Fill it in, or write {field.id} = "{NOT_REPORTED}" if the source does not report it')
        return
    if value == NOT_REPORTED:
        return
    allowed = ", ".join(field.allowed)
    t = field.type
    if t is FieldType.text and not isinstance(value, str):
        add(path, f"expected text, got {value!r}", 'Put the value in quotes, e.g. "..."')
    elif t is FieldType.integer and (isinstance(value, bool) or not isinstance(value, int)):
        add(path, f"expected a whole number, got {value!r}", "Write digits only, without quotes or units")
    elif t is FieldType.number and (isinstance(value, bool) or not isinstance(value, (int, float))):
        add(path, f"expected a number, got {value!r}", f"Write a number without quotes{f' (in {field.unit})' if field.unit else ''}")
    elif t is FieldType.number and not math.isfinite(value):
        add(path, f"{value} is not a finite number", "Write the number reported in the source, or \"NR\" if it is not reported")
    elif t is FieldType.boolean and not isinstance(value, bool):
        add(path, f"expected true or false, got {value!r}", "Write true or false (no quotes)")
    elif t is FieldType.date and not isinstance(value, dt.date):
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            add(path, f"expected a date, got {value!r}", "Write an ISO date such as 2024-03-01")
    elif t is FieldType.choice:
        if not isinstance(value, str) or (field.allowed and value not in field.allowed):
            add(path, f"{value!r} is not an allowed value", f"Use one of: {allowed}{_suggest_name(str(value), field.allowed)}")
    elif t is FieldType.multichoice:
        if not isinstance(value, list):
            add(path, f"expected a list, got {value!r}", f'Write a list such as ["{field.allowed[0] if field.allowed else "..."}"]')
        else:
            for i, item in enumerate(value, start=1):
                if field.allowed and item not in field.allowed:
                    add(f"{path}[{i}]", f"{item!r} is not an allowed value",
                        f"Use values from: {allowed}{_suggest_name(str(item), field.allowed)}")


def _check_numbers(row: dict[str, Any], path: str, measure: str, add: Any) -> None:
    nums: dict[str, float] = {}
    for col in DATA_COLUMNS:
        value = row.get(col)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            add(f"{path}.{col}", f"expected a number, got {value!r}", "Write the number without quotes; leave the key out if not reported")
            continue
        if not math.isfinite(value):  # TOML allows nan and inf; no reported figure is either
            add(f"{path}.{col}", f"{col} of outcome {row.get('outcome')!r} at {row.get('timepoint')!r} is {value}, "
                "not a finite number", "Write the number reported in the source; leave the key out if it is not reported")
            continue
        if col in COUNT_COLUMNS and float(value) != int(value):
            add(f"{path}.{col}", f"a count must be a whole number, got {value}", "Write a whole number of people or events")
            continue
        nums[col] = float(value)
    for col in SIZE_COLUMNS & nums.keys():
        if nums[col] <= 0:
            add(f"{path}.{col}", f"group size must be > 0, got {row[col]}", "Write the number of participants analysed in the group")
    for ev, n in (("events_t", "n_t"), ("events_c", "n_c"), ("events", "n")):
        if ev in nums:
            if nums[ev] < 0:
                add(f"{path}.{ev}", f"events must be >= 0, got {row[ev]}", "Write the number of participants with the event")
            elif n in nums and nums[ev] > nums[n]:
                add(f"{path}.{ev}", f"events ({row[ev]}) exceed the group size {n} = {row[n]}",
                    "Check both numbers against the report; events cannot exceed participants")
    for col in ("sd_t", "sd_c"):
        if col in nums and nums[col] <= 0:
            add(f"{path}.{col}", f"SD must be > 0, got {row[col]}", "Check the report; convert an SE or CI to an SD if that is what was given")
    for col in ("vi", "sei"):
        if col in nums and nums[col] <= 0:
            add(f"{path}.{col}", f"{'variance' if col == 'vi' else 'standard error'} must be > 0, got {row[col]}",
                "Check the value against the report")
    if "r" in nums and not -1 <= nums["r"] <= 1:
        add(f"{path}.r", f"a correlation must lie in [-1, 1], got {row['r']}", "Check the value against the report")
    if all(c in nums for c in GENERIC_CI):
        lo, est, hi = nums["ci_low"], nums["estimate"], nums["ci_high"]
        if lo >= hi:
            add(f"{path}.ci_low", f"CI lower bound {row['ci_low']} is not below the upper bound {row['ci_high']}",
                "Check the order and the values of the bounds")
        elif not lo <= est <= hi:
            add(f"{path}.estimate", f"the CI [{row['ci_low']}, {row['ci_high']}] does not contain the estimate {row['estimate']}",
                "Check the estimate and both bounds against the report")
    if measure in RATIO_MEASURES:
        for col in GENERIC_CI:
            if col in nums and nums[col] <= 0:
                add(f"{path}.{col}", f"a {measure} is a ratio and must be > 0 on the reported scale, got {row[col]}",
                    "Give estimate and CI as ratios; put log-scale values in yi with sei or vi")


def _check_group_data(row: dict[str, Any], path: str, measure: str, add: Any) -> None:
    present = {c for c in DATA_COLUMNS if row.get(c) is not None}
    kind = data_kind(row)
    for name, cols in (("binary", BINARY), ("continuous", CONTINUOUS)):
        markers = {"events_t", "events_c"} if name == "binary" else {"mean_t", "sd_t", "mean_c", "sd_c"}
        if present & markers and not all(c in present for c in cols):
            missing = ", ".join(c for c in cols if c not in present)
            add(path, f"incomplete {name} data: missing {missing}", f"Add {missing}, or remove the partial {name} values")
    if ("yi" in present) != bool(present & {"vi", "sei"}) and not present & {"events_t", "mean_t"}:
        add(path, "incomplete generic data: yi needs vi or sei (and vice versa)", "Add the missing value or remove the other")
    if present & set(GENERIC_CI) and not all(c in present for c in GENERIC_CI):
        missing = ", ".join(c for c in GENERIC_CI if c not in present)
        add(path, f"incomplete estimate with CI: missing {missing}", "Give estimate, ci_low and ci_high together")
    if kind is None:
        if not present:
            add(path, "no group data", "Give events/n, means/SDs/n, r/n, or an estimate with its CI or SE (see docs/extraction.md)")
        return
    allowed = KINDS_FOR_MEASURE.get(measure, frozenset({"generic"}))
    if kind not in allowed:
        add(path, f"{kind} data cannot give the protocol's measure {measure} for this outcome",
            f"Give {' or '.join(sorted(allowed))} data, or use the generic columns (yi with sei, or estimate with a CI)")


def validate_file(f: ExtractionFile, protocol: Protocol, protocol_name: str) -> list[Problem]:
    """Every problem in one parsed extraction file."""
    problems: list[Problem] = []
    name = str(f.path)

    def add(path: str, message: str, fix: str) -> None:
        problems.append(Problem(name, path, message, fix))

    data = f.data
    for key in data:
        if key not in TOP_KEYS:
            add(key, f"unknown top-level key '{key}'", f"Remove it or check its spelling.{_suggest_name(key, TOP_KEYS)}")
    if data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        add("schema_version", f"unsupported schema_version {data.get('schema_version')!r}", f"Use schema_version = {SCHEMA_VERSION}")
    if data.get("study") != f.study:
        add("study", f"study is {data.get('study')!r} but the file name says '{f.study}'",
            f'Write study = "{f.study}" or rename the file')
    if "protocol" in data and data["protocol"] != protocol_name:
        add("protocol", f"protocol is {data['protocol']!r}, not this review's '{protocol_name}'",
            f'Write protocol = "{protocol_name}" or move the file to extractions/{data["protocol"]}/')
    expected_reviewer = f.reviewer or CONSENSUS
    if "reviewer" in data and data["reviewer"] != expected_reviewer:
        add("reviewer", f"reviewer is {data['reviewer']!r} but the file name says '{expected_reviewer}'",
            f'Write reviewer = "{expected_reviewer}" or rename the file')
    if data.get("status", "draft") not in STATUSES:
        add("status", f"{data.get('status')!r} is not a status", "Use status = \"draft\" or \"complete\"")

    citation = data.get("citation", {})
    if not isinstance(citation, dict):
        add("citation", "citation must be a table", "Write it as [citation] with label = ...")
        citation = {}
    if _is_missing(citation.get("label")):
        add("citation.label", "the study needs a label", 'Add label = "First author year" under [citation]')
    for key, value in citation.items():
        typ = CITATION_KEYS.get(key)
        if typ is None:
            add(f"citation.{key}", f"unknown citation field '{key}'", f"Use one of: {', '.join(CITATION_KEYS)}")
        elif not isinstance(value, typ) or isinstance(value, bool):
            add(f"citation.{key}", f"expected {typ.__name__}, got {value!r}", "Correct the value's type")

    chars = data.get("characteristics", {})
    if not isinstance(chars, dict):
        add("characteristics", "characteristics must be a table", "Write it as [characteristics]")
        chars = {}
    fields = {fld.id: fld for fld in protocol.extraction.study_fields}
    for key in chars:
        if key not in fields and key != "notes":
            add(f"characteristics.{key}", f"'{key}' is not a field of the protocol's extraction form",
                f"Remove it or use a form field: {', '.join(fields)}.{_suggest_name(key, fields)}")
    for fid, fld in fields.items():
        _check_field(fld, chars.get(fid), f"characteristics.{fid}", add)

    design = chars.get("design") if isinstance(chars.get("design"), str) else None
    _validate_not_measured(data.get("not_measured", []), data.get("outcomes", []), protocol, add)
    _validate_outcomes(data.get("outcomes", []), protocol, add)
    _validate_rob(data.get("rob", []), protocol, design, add)
    return problems


def row_problems(row: dict[str, Any], protocol: Protocol, fields: Iterable[str]) -> list[str]:
    """What :func:`validate_file` would say about ``fields`` of one outcome row (impossible numbers such as
    events > n, SD <= 0, a CI not holding its estimate; data that cannot give the outcome's measure), as
    "field: message. fix" lines, for forms that check numbers as they are typed."""
    wanted = set(fields)
    out: list[str] = []

    def add(path: str, message: str, fix: str) -> None:
        field = path.partition(".")[2]
        if field in wanted or not field:  # the row as a whole: incomplete group data, a kind the measure cannot use
            out.append(f"{field or 'row'}: {message}. {fix}")

    _validate_outcomes([row], protocol, add)
    return out


def _validate_not_measured(value: Any, rows: Any, protocol: Protocol, add: Any) -> None:
    """``not_measured``: protocol outcome ids the study's report shows it did not measure, none with data."""
    known = [o.id for o in protocol.outcomes]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        add("not_measured", "not_measured must be a list of outcome ids",
            f'Write not_measured = ["{known[0] if known else "outcome-id"}", ...]')
        return
    with_data = {r.get("outcome") for r in rows if isinstance(r, dict)} if isinstance(rows, list) else set()
    for i, oid in enumerate(value):
        if oid not in known:
            add(f"not_measured[{i}]", f"'{oid}' is not an outcome id in the protocol",
                f"Use one of: {', '.join(known)}.{_suggest_name(oid, known)}")
        elif oid in with_data:
            add(f"not_measured[{i}]", f"'{oid}' is listed as not measured but has [[outcomes]] rows",
                "Remove it from not_measured, or remove its rows")


def _validate_outcomes(rows: Any, protocol: Protocol, add: Any) -> None:
    if not isinstance(rows, list):
        add("outcomes", "outcomes must be rows written as [[outcomes]]", "Write each outcome row under its own [[outcomes]] header")
        return
    outcome_fields = {fld.id: fld for fld in protocol.extraction.outcome_fields}
    known = {o.id: o for o in protocol.outcomes}
    seen: dict[tuple[str, str], tuple[int, str | None]] = {}
    effects: set[tuple[str, str, str | None]] = set()
    for i, row in enumerate(rows, start=1):
        path = f"outcomes[{i}]"
        if not isinstance(row, dict):
            add(path, "an outcome row must be a table", "Write it under [[outcomes]]")
            continue
        oid = row.get("outcome")
        tp = row.get("timepoint")
        outcome = known.get(oid) if isinstance(oid, str) else None
        if _is_missing(oid):
            add(f"{path}.outcome", "outcome id is missing", f"Add outcome = one of: {', '.join(known)}")
        elif outcome is None:
            add(f"{path}.outcome", f"'{oid}' is not an outcome id in the protocol",
                f"Use one of: {', '.join(known)}.{_suggest_name(str(oid), known)}")
        if _is_missing(tp) or not isinstance(tp, str):
            add(f"{path}.timepoint", "timepoint is missing", "Add timepoint = \"...\" (one of the protocol's timepoints for the outcome)")
        elif outcome is not None and outcome.timepoints and tp not in outcome.timepoints:
            add(f"{path}.timepoint", f"'{tp}' is not a timepoint of outcome '{oid}' in the protocol",
                f"Use one of: {', '.join(outcome.timepoints)}, or add it to the protocol with an amendment")
        effect = row.get("effect")
        if effect is not None and (not isinstance(effect, str) or not effect.strip()):
            add(f"{path}.effect", "effect must be a short text naming this effect of the study",
                'Write e.g. effect = "Zarit scale" or effect = "site 2", or remove it')
            effect = None
        if isinstance(oid, str) and isinstance(tp, str):
            # several effects of one study for one outcome and timepoint (scales, subgroups, sites) are allowed
            # when each row names its effect: they are pooled as dependent effects (multilevel model)
            first = seen.get((oid, tp))
            if first is not None and (effect is None or first[1] is None or (oid, tp, effect) in effects):
                add(path, f"a second row for outcome '{oid}' at '{tp}' (first is outcomes[{first[0]}])",
                    "Keep one row per outcome and timepoint, or give each row its own effect = \"...\" (the scale, "
                    "subgroup or site) to pool them as dependent effects; record alternatives in notes")
            seen.setdefault((oid, tp), (i, effect))
            effects.add((oid, tp, effect))
        for key in row:
            if key not in ROW_EXTRA_KEYS and key not in DATA_COLUMNS and key not in outcome_fields:
                add(f"{path}.{key}", f"unknown outcome field '{key}'",
                    f"Use group-data columns or form fields.{_suggest_name(key, [*DATA_COLUMNS, *outcome_fields])}")
        for fid, fld in outcome_fields.items():
            _check_field(fld, row.get(fid), f"{path}.{fid}", add)
        if "adjusted" in row and not isinstance(row["adjusted"], bool):
            add(f"{path}.adjusted", f"expected true or false, got {row['adjusted']!r}", "Write adjusted = true or false")
        for key in ("label", "notes", "measure_reported", "group_t", "group_c", "source_location"):
            if key in row and not isinstance(row[key], str):
                add(f"{path}.{key}", f"expected text, got {row[key]!r}", 'Put the value in quotes, e.g. "..."')
        measure = outcome.measure.value if outcome is not None else "GEN"
        _check_numbers(row, path, measure, add)
        _check_group_data(row, path, measure, add)


def _validate_rob(entries: Any, protocol: Protocol, design: str | None, add: Any) -> None:
    if not isinstance(entries, list):
        add("rob", "risk of bias must be rows written as [[rob]]", "Write each assessment under its own [[rob]] header")
        return
    known = {o.id for o in protocol.outcomes}
    expected = protocol.risk_of_bias.tools.get(design) if design else None
    seen: set[tuple[str, str, str]] = set()
    for i, entry in enumerate(entries, start=1):
        path = f"rob[{i}]"
        if not isinstance(entry, dict):
            add(path, "an assessment must be a table", "Write it under [[rob]]")
            continue
        for key in entry:
            if key not in ROB_KEYS:
                add(f"{path}.{key}", f"unknown risk-of-bias field '{key}'", f"Use one of: {', '.join(sorted(ROB_KEYS))}")
        tool_name = entry.get("tool")
        if tool_name not in rob.TOOLS:
            add(f"{path}.tool", f"unknown tool {tool_name!r}", f"Use one of: {', '.join(rob.TOOLS)}")
            continue
        if expected and expected != "none" and tool_name != expected:
            add(f"{path}.tool", f"the protocol names '{expected}' for design '{design}', not '{tool_name}'",
                f'Use tool = "{expected}", or amend the protocol')
        oid = entry.get("outcome", "*")
        if oid != "*" and oid not in known:
            add(f"{path}.outcome", f"'{oid}' is not an outcome id in the protocol", f"Use \"*\" (all outcomes) or one of: {', '.join(sorted(known))}")
        key3 = (str(tool_name), str(oid), str(entry.get("timepoint", "")))
        if key3 in seen:
            add(path, f"a second {tool_name} assessment for outcome '{oid}'", "Keep one assessment per tool, outcome and timepoint")
        seen.add(key3)
        _validate_rob_entry(entry, rob.TOOLS[str(tool_name)], path, add)


def _validate_rob_entry(entry: dict[str, Any], tool: rob.Tool, path: str, add: Any) -> None:
    answers = entry.get("answers", {}) or {}
    judgements = entry.get("judgements", {}) or {}
    reasons = entry.get("reasons", {}) or {}
    if not all(isinstance(x, dict) for x in (answers, judgements, reasons)):
        add(path, "answers, judgements and reasons must be tables", "Write them as answers = { \"1.1\" = \"Y\" } etc.")
        return
    effect = str(entry.get("effect", "assignment"))
    if tool.name == "mmat":
        category = entry.get("category")
        if category not in rob.MMAT_CATEGORIES:
            add(f"{path}.category", f"MMAT needs a study category, got {category!r}", f"Use one of: {', '.join(rob.MMAT_CATEGORIES)}")
            return
        valid_q = {q for q, _ in rob.MMAT_SCREENING} | {q for q, _ in rob.MMAT_CATEGORIES[str(category)][1]}
        for q, a in answers.items():
            if q not in valid_q:
                add(f"{path}.answers.{q}", f"'{q}' is not an MMAT question for category '{category}'", f"Use: {', '.join(sorted(valid_q))}")
            elif not isinstance(a, str) or rob.normalise(a) not in rob.MMAT_ANSWERS:
                add(f"{path}.answers.{q}", f"{a!r} is not an MMAT answer", "Use yes, no or cant-tell")
        return
    if tool.name.startswith("rob2"):
        if effect not in ("assignment", "adherence"):
            add(f"{path}.effect", f"{effect!r} is not a RoB 2 effect of interest", 'Use "assignment" or "adherence"')
            effect = "assignment"
        valid_q = {q for d in tool.domains for q, _ in rob.domain_questions(tool.name, d.id, effect)}
        for q, a in answers.items():
            if q not in valid_q:
                add(f"{path}.answers.{q}", f"'{q}' is not a {tool.label} signalling question", f"Use: {', '.join(sorted(valid_q))}")
            elif not isinstance(a, str) or a.upper() not in rob.RESPONSES:
                add(f"{path}.answers.{q}", f"{a!r} is not a signalling answer", f"Use one of: {', '.join(rob.RESPONSES)}")
    domain_ids = [d.id for d in tool.domains] + (["overall"] if tool.has_overall else [])
    norm: dict[str, str] = {}
    for d, value in judgements.items():
        if d not in domain_ids:
            add(f"{path}.judgements.{d}", f"'{d}' is not a {tool.label} domain", f"Use: {', '.join(domain_ids)}")
        elif not isinstance(value, str) or rob.normalise(value) not in tool.judgements:
            add(f"{path}.judgements.{d}", f"{value!r} is not a {tool.label} judgement", f"Use one of: {', '.join(tool.judgements)}")
        else:
            norm[d] = rob.normalise(value)
    suggested = rob.suggest(tool.name, {k: str(v) for k, v in answers.items()}, norm, effect)
    for d, (value, rule) in suggested.items():
        given = norm.get(d)
        if given is not None and given != value and _is_missing(reasons.get(d)):
            add(f"{path}.judgements.{d}", f"judgement '{given}' differs from the algorithm's suggestion '{value}' ({rule})",
                f'Accept the suggestion, or give the reason for the override as reasons.{d} = "..."')


def validate_files(files: list[ExtractionFile], protocol: Protocol, protocol_name: str) -> list[Problem]:
    """Every problem in every file, plus cross-file problems (two reconciled files for one study)."""
    problems: list[Problem] = []
    for f in files:
        problems.extend(validate_file(f, protocol, protocol_name))
    declared: dict[str, list[str]] = {}
    for f in files:
        if f.reconciled and isinstance(f.data.get("study"), str):
            declared.setdefault(f.data["study"], []).append(f.path.name)
    for study, names in declared.items():
        if len(names) > 1:
            problems.append(Problem(", ".join(names), "study", f"{len(names)} reconciled files for study '{study}'",
                                    "Keep exactly one reconciled file per study; merge and delete the others"))
    return problems


def check_included(files: list[ExtractionFile], included: set[str]) -> list[Problem]:
    """A problem for each extracted study that is not among the studies ``included`` at full text."""
    problems = []
    for f in files:
        if f.study not in included:
            problems.append(Problem(str(f.path), "study", f"study '{f.study}' is not included at full text",
                                    "Check the study id, or record its full-text inclusion in screening first"))
    return problems
