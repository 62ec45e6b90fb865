"""The tidy analysis table: one row per study, outcome and timepoint, from the reconciled extraction files.

Columns: ``study, outcome, timepoint``, then ``label, year, measure, data_kind``, the group-data columns of
:mod:`synth.extraction.columns` (the meta-analysis engine's input names), the protocol's study-level form
fields (for subgroup analyses; ``"NR"`` becomes empty), the risk-of-bias judgements for the row's outcome
(``rob_tool``, ``rob_D1`` ..., ``rob_overall``), and the outcome-level form fields (instrument, source location).
"""

from __future__ import annotations

from typing import Any

from synth.extraction.columns import DATA_COLUMNS, NOT_REPORTED, data_kind
from synth.extraction.files import ExtractionFile
from synth.extraction.rob import TOOLS, normalise, summary_judgement
from synth.protocol.model import Protocol

KEY_COLUMNS = ("study", "outcome", "timepoint")


def _clean(value: Any) -> Any:
    return None if value == NOT_REPORTED or value == "" else value


def rob_for(entries: list[dict[str, Any]], outcome: str, timepoint: str) -> dict[str, Any] | None:
    """The assessment that applies to ``outcome`` at ``timepoint``: the most specific match, else ``"*"``."""
    best: tuple[int, dict[str, Any]] | None = None
    for entry in entries:
        o, tp = entry.get("outcome", "*"), entry.get("timepoint", "")
        if o not in (outcome, "*") or tp not in ("", timepoint):
            continue
        score = (o == outcome) * 2 + (tp == timepoint)
        if best is None or score > best[0]:
            best = (score, entry)
    return best[1] if best else None


def columns(protocol: Protocol) -> list[str]:
    """The column order of the tidy table for ``protocol``."""
    study_fields = [f.id for f in protocol.extraction.study_fields]
    outcome_fields = [f.id for f in protocol.extraction.outcome_fields]
    domains = _rob_domains(protocol)
    return [*KEY_COLUMNS, "effect", "label", "year", "measure", "data_kind", *DATA_COLUMNS, *study_fields,
            "rob_tool", *(f"rob_{d}" for d in domains), "rob_overall", *outcome_fields]


def _rob_domains(protocol: Protocol) -> list[str]:
    seen: list[str] = []
    for tool in protocol.risk_of_bias.tools.values():
        if tool in TOOLS:
            for d in TOOLS[tool].domains:
                if d.id not in seen:
                    seen.append(d.id)
    return seen


def tidy_rows(files: list[ExtractionFile], protocol: Protocol, outcome: str | None = None) -> list[dict[str, Any]]:
    """Rows of the tidy table from the reconciled files (reviewer files are ignored), sorted by key."""
    measures = {o.id: o.measure.value for o in protocol.outcomes}
    cols = columns(protocol)
    study_fields = [f.id for f in protocol.extraction.study_fields]
    outcome_fields = [f.id for f in protocol.extraction.outcome_fields]
    rows: list[dict[str, Any]] = []
    for f in files:
        if not f.reconciled:
            continue
        citation = f.data.get("citation", {}) or {}
        chars = f.data.get("characteristics", {}) or {}
        entries = [e for e in f.data.get("rob", []) or [] if isinstance(e, dict)]
        for row in f.data.get("outcomes", []) or []:
            if not isinstance(row, dict) or (outcome is not None and row.get("outcome") != outcome):
                continue
            out: dict[str, Any] = dict.fromkeys(cols)
            out.update(study=f.study, outcome=row.get("outcome"), timepoint=row.get("timepoint"),
                       effect=row.get("effect"), label=citation.get("label"), year=citation.get("year"),
                       measure=measures.get(str(row.get("outcome"))), data_kind=data_kind(row))
            for col in DATA_COLUMNS:
                out[col] = row.get(col)
            for fid in study_fields:
                value = _clean(chars.get(fid))
                out[fid] = "; ".join(map(str, value)) if isinstance(value, list) else value
            for fid in outcome_fields:
                out[fid] = _clean(row.get(fid))
            entry = rob_for(entries, str(out["outcome"]), str(out["timepoint"]))
            if entry is not None:
                out["rob_tool"] = entry.get("tool")
                for d, value in (entry.get("judgements") or {}).items():
                    key = f"rob_{d}"
                    if key in out and isinstance(value, str):
                        out[key] = normalise(value)
                if not out.get("rob_overall"):  # EPOC and MMAT have no overall judgement: synth's stated rule
                    out["rob_overall"] = summary_judgement(entry)
            rows.append(out)
    rows.sort(key=lambda r: (str(r["outcome"]), str(r["timepoint"]), str(r["study"]), str(r["effect"] or "")))
    return rows


def rob_rows(files: list[ExtractionFile], tool: str, outcome: str | None = None) -> list[dict[str, Any]]:
    """One row per assessment with ``tool`` in the reconciled files: label, outcome and judgements."""
    rows = []
    for f in files:
        if not f.reconciled:
            continue
        label = (f.data.get("citation") or {}).get("label") or f.study
        for entry in f.data.get("rob", []) or []:
            if not isinstance(entry, dict) or entry.get("tool") != tool:
                continue
            o = str(entry.get("outcome", "*"))
            if outcome is not None and o not in (outcome, "*"):
                continue
            judgements = {d: normalise(v) for d, v in (entry.get("judgements") or {}).items() if isinstance(v, str)}
            rows.append({"study": f.study, "label": label, "outcome": o,
                         "timepoint": str(entry.get("timepoint", "")), "judgements": judgements})
    rows.sort(key=lambda r: (r["label"], r["outcome"], r["timepoint"]))
    return rows
