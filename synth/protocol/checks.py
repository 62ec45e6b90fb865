"""Cross-reference checks that a schema alone cannot express.

They run on the raw TOML data, so they report alongside type errors (every problem at once) and tolerate
parts that are missing or malformed (those are reported by the schema).
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _duplicates(entries: list[tuple[int, dict[str, Any]]], section: str) -> list[str]:
    counts = Counter(str(item.get("id")) for _, item in entries if "id" in item)
    problems = []
    for index, item in entries:
        ident = item.get("id")
        if ident is not None and counts[str(ident)] > 1:
            first = next(i for i, it in entries if it.get("id") == ident)
            if index != first:
                problems.append(
                    f"{section}[{index}].id: duplicate id '{ident}' (also {section}[{first}]). "
                    "Give each entry a unique id."
                )
    return problems


def check(data: dict[str, Any]) -> list[str]:
    """Every cross-reference problem in ``data``, each as ``path: what. how to fix``."""
    problems: list[str] = []
    criteria = _items(data, "criteria")
    domains = _items(data, "domains")
    outcomes = _items(data, "outcomes")
    problems += _duplicates(criteria, "criteria")
    problems += _duplicates(domains, "domains")
    problems += _duplicates(outcomes, "outcomes")

    if isinstance(data, dict) and data.get("pico") is None and data.get("pcc") is None:
        problems.append("pico: the review question needs a [pico] (or, for scoping reviews, [pcc]) table. Add one.")
    if isinstance(data, dict) and data.get("pico") is not None and data.get("pcc") is not None:
        problems.append("pcc: give either [pico] or [pcc], not both. Remove one.")

    domain_ids = {str(d.get("id")) for _, d in domains}
    for index, outcome in outcomes:
        domain = outcome.get("domain")
        if domain is not None and str(domain) not in domain_ids:
            known = ", ".join(sorted(domain_ids)) or "none"
            problems.append(
                f"outcomes[{index}].domain: unknown domain '{domain}'. Use one of the [[domains]] ids ({known})."
            )

    extraction_table = data.get("extraction") if isinstance(data, dict) else None
    fields = {str(f.get("id")): f for _, f in _items(extraction_table if isinstance(extraction_table, dict) else {},
                                                     "study_fields")}
    for index, criterion in criteria:
        rule = criterion.get("requires")
        if not isinstance(rule, dict) or rule.get("field") is None:
            continue
        spec = fields.get(str(rule["field"]))
        if spec is None:
            known = ", ".join(sorted(fields)) or "none"
            problems.append(f"criteria[{index}].requires.field: '{rule['field']}' is not a study field. Use one of "
                            f"the [[extraction.study_fields]] ids ({known}).")
            continue
        allowed = spec.get("allowed")
        wanted = rule.get("any_of")
        if isinstance(allowed, list) and isinstance(wanted, list):
            unknown = [str(v) for v in wanted if v not in allowed]
            if unknown:
                problems.append(f"criteria[{index}].requires.any_of: {', '.join(unknown)} not allowed for the "
                                f"study field '{rule['field']}'. Use values from its allowed list "
                                f"({', '.join(str(a) for a in allowed)}).")

    for index, outcome in outcomes:
        primary, listed = outcome.get("primary_timepoint"), outcome.get("timepoints")
        if primary is not None and isinstance(listed, list) and primary not in listed:
            problems.append(f"outcomes[{index}].primary_timepoint: '{primary}' is not one of its timepoints "
                            f"({', '.join(str(t) for t in listed) or 'none'}). Add it to timepoints or pick one.")

    outcome_ids = {str(o.get("id")) for _, o in outcomes}
    analysis = data.get("analysis") if isinstance(data, dict) else None
    if isinstance(analysis, dict):
        planned = analysis.get("outcomes")
        if isinstance(planned, list):
            for index, ident in enumerate(planned):
                if str(ident) not in outcome_ids:
                    known = ", ".join(sorted(outcome_ids)) or "none"
                    problems.append(
                        f"analysis.outcomes[{index}]: unknown outcome id '{ident}'. "
                        f"Use one of the [[outcomes]] ids ({known})."
                    )
        extraction = data.get("extraction") if isinstance(data.get("extraction"), dict) else {}
        study_fields = {str(f.get("id")) for _, f in _items(extraction, "study_fields")}
        rows = analysis.get("gap_map_rows")
        choice = {str(f.get("id")) for _, f in _items(extraction, "study_fields") if f.get("allowed")}
        if rows is not None and str(rows) not in choice:
            known = ", ".join(sorted(choice)) or "none"
            problems.append(f"analysis.gap_map_rows: '{rows}' is not a study field with allowed values. "
                            f"Use one of the [[extraction.study_fields]] ids with allowed values ({known}).")
        for index, sub in _items(analysis, "subgroups"):
            field = sub.get("field")
            if field is not None and str(field) not in study_fields:
                known = ", ".join(sorted(study_fields)) or "none"
                problems.append(
                    f"analysis.subgroups[{index}].field: unknown extraction field '{field}'. "
                    f"Use one of the [[extraction.study_fields]] ids ({known})."
                )

    extraction = data.get("extraction") if isinstance(data, dict) else None
    if isinstance(extraction, dict):
        for key in ("study_fields", "outcome_fields"):
            entries = _items(extraction, key)
            problems += _duplicates(entries, f"extraction.{key}")
            for index, field in entries:
                if field.get("type") in ("choice", "multichoice") and not field.get("allowed"):
                    problems.append(
                        f"extraction.{key}[{index}].allowed: a {field.get('type')} field needs its allowed values. "
                        'Add allowed = ["...", "..."].'
                    )

    sources = data.get("sources") if isinstance(data, dict) else None
    if isinstance(sources, dict):
        apis = [k for k in ("pubmed", "europepmc", "openalex", "crossref", "clinicaltrials") if k in sources]
        if not apis and not sources.get("files"):
            problems.append(
                "sources: no information source is configured. Add at least one [sources.<api>] table with a "
                "query, or a [[sources.files]] entry."
            )
    return problems
