"""Double extraction: field-by-field comparison of two reviewers' files, and agreement statistics.

Fields are matched by meaning, not position: study characteristics by field id, outcome rows by (outcome,
timepoint), risk-of-bias assessments by (tool, outcome, timepoint). Numbers agree when
``|a - b| <= max(abs_tol, rel_tol * max(|a|, |b|))`` (defaults 0.001 relative, 1e-9 absolute); counts must be
equal; text is compared ignoring case and repeated white space; multiple choices as sets.

Agreement per field type (for the methods section): items compared, items agreeing, percentage agreement,
and for categorical types (choice, boolean, RoB judgements and signalling answers) Cohen's kappa
(Cohen 1960) pooled over all items of the type: ``kappa = (p_o - p_e) / (1 - p_e)``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from synth.extraction.columns import COUNT_COLUMNS, DATA_COLUMNS, NOT_REPORTED
from synth.extraction.rob import normalise
from synth.protocol.model import FieldType, Protocol

CATEGORICAL = frozenset({"choice", "boolean", "multichoice", "rob-judgement", "rob-answer"})
DEFAULT_REL_TOL = 1e-3
DEFAULT_ABS_TOL = 1e-9


@dataclass(frozen=True)
class Item:
    """One compared field. ``a``/``b`` are the two reviewers' values (None when absent)."""

    study: str
    path: str
    kind: str
    a: Any
    b: Any
    agree: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row_key(row: dict[str, Any]) -> str:
    """``outcome@timepoint``, and ``#effect`` when the row names one of several effects of the study."""
    effect = row.get("effect")
    return f"{row.get('outcome', '?')}@{row.get('timepoint', '?')}" + (f"#{effect}" if effect else "")


def flatten(data: dict[str, Any], protocol: Protocol) -> dict[str, tuple[Any, str]]:
    """``path -> (value, field kind)`` for everything a reviewer extracts (not the file's metadata)."""
    out: dict[str, tuple[Any, str]] = {}
    form = {f.id: f.type.value for f in protocol.extraction.study_fields}
    outcome_form = {f.id: f.type.value for f in protocol.extraction.outcome_fields}
    chars = data.get("characteristics", {}) or {}
    for fid, kind in form.items():
        if fid in chars:
            out[f"characteristics.{fid}"] = (chars[fid], kind)
    for row in data.get("outcomes", []) or []:
        if not isinstance(row, dict):
            continue
        base = f"outcomes[{_row_key(row)}]"
        for key, value in row.items():
            if key in ("outcome", "timepoint", "effect"):  # the row's key, in ``base``
                continue
            if key in DATA_COLUMNS:
                kind = "count" if key in COUNT_COLUMNS else "number"
            else:
                kind = outcome_form.get(key, FieldType.text.value)
                if key == "adjusted":
                    kind = "boolean"
            out[f"{base}.{key}"] = (value, kind)
    for entry in data.get("rob", []) or []:
        if not isinstance(entry, dict):
            continue
        base = f"rob[{entry.get('tool')}:{entry.get('outcome', '*')}@{entry.get('timepoint', '')}]"
        for q, value in (entry.get("answers") or {}).items():
            out[f"{base}.answers.{q}"] = (value, "rob-answer")
        for d, value in (entry.get("judgements") or {}).items():
            out[f"{base}.judgements.{d}"] = (value, "rob-judgement")
    return out


def _norm_text(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.lower().split())
    return value


def values_agree(a: Any, b: Any, kind: str, rel_tol: float = DEFAULT_REL_TOL,
                 abs_tol: float = DEFAULT_ABS_TOL) -> bool:
    """Whether two reviewers' values for a field of ``kind`` agree (see module docstring)."""
    if a is None or b is None:
        return a is None and b is None
    if a == NOT_REPORTED or b == NOT_REPORTED:
        return a == b
    if kind == "count":
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b)
    if kind in ("number", "integer") and isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=abs_tol)
    if kind == "multichoice" and isinstance(a, list) and isinstance(b, list):
        return {_norm_text(x) for x in a} == {_norm_text(x) for x in b}
    if kind in ("rob-judgement", "rob-answer") and isinstance(a, str) and isinstance(b, str):
        return normalise(a) == normalise(b)
    return bool(_norm_text(a) == _norm_text(b))


def compare(study: str, a: dict[str, Any], b: dict[str, Any], protocol: Protocol,
            rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = DEFAULT_ABS_TOL) -> list[Item]:
    """Every field of either file, with both values and whether they agree."""
    fa, fb = flatten(a, protocol), flatten(b, protocol)
    items = []
    for path in sorted(fa.keys() | fb.keys()):
        va, ka = fa.get(path, (None, ""))
        vb, kb = fb.get(path, (None, ""))
        kind = ka or kb
        items.append(Item(study, path, kind, va, vb, values_agree(va, vb, kind, rel_tol, abs_tol)))
    return items


def _kappa(pairs: list[tuple[str, str]]) -> float | None:
    n = len(pairs)
    if n == 0:
        return None
    p_o = sum(x == y for x, y in pairs) / n
    ca = Counter(x for x, _ in pairs)
    cb = Counter(y for _, y in pairs)
    p_e = sum(ca[c] * cb[c] for c in ca.keys() | cb.keys()) / (n * n)
    if p_e >= 1:
        return 1.0 if p_o == 1 else None
    return (p_o - p_e) / (1 - p_e)


def agreement(items: list[Item]) -> list[dict[str, Any]]:
    """Agreement statistics per field kind: compared, agreed, percent, Cohen's kappa (categorical only)."""
    by_kind: dict[str, list[Item]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    rows = []
    for kind in sorted(by_kind):
        group = by_kind[kind]
        agreed = sum(i.agree for i in group)
        kappa = None
        if kind in CATEGORICAL:
            def label(v: Any) -> str:
                return "(absent)" if v is None else str(sorted(v) if isinstance(v, list) else _norm_text(v))
            kappa = _kappa([(label(i.a), label(i.b)) for i in group])
        rows.append({"field_type": kind, "compared": len(group), "agreed": agreed,
                     "percent": round(100 * agreed / len(group), 1),
                     "kappa": None if kappa is None else round(kappa, 3)})
    return rows


def methods_text(stats: list[dict[str, Any]], n_studies: int) -> str:
    """A sentence for the methods section summarising agreement per field type."""
    parts = []
    for row in stats:
        kappa = f", kappa {row['kappa']:.2f}" if row["kappa"] is not None else ""
        parts.append(f"{row['field_type']} {row['agreed']}/{row['compared']} ({row['percent']:.1f}%{kappa})")
    return (f"Two reviewers extracted {n_studies} stud{'y' if n_studies == 1 else 'ies'} independently; "
            f"agreement before reconciliation by field type: {'; '.join(parts)}.")
