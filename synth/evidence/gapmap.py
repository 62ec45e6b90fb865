"""Evidence-and-gap map: outcome domains x the rows the protocol chooses (e.g. intervention models).

Following Campbell's guidance for evidence and gap maps (White et al. 2020; Saran & White 2018; Snilstveit et
al. 2013): a matrix of intervention types (rows) by outcome domains (columns); each cell counts the distinct
studies with evidence there. Maps show *what evidence exists*, not what it says. Flags per cell: empty (a
gap), a single study, and only high-risk evidence (every study in the cell is at high risk of bias).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """One study contributing to one outcome domain under one partnership model."""

    study_id: str
    model: str
    domain: str
    rob: str = "unknown"
    """``low``, ``some-concerns``, ``high`` or ``unknown`` (the study's overall judgement for that outcome)."""
    design: str = ""


def build_gap_map(
    evidence: Iterable[Evidence],
    domains: Sequence[tuple[str, str]],
    models: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """The map as plain data.

    Parameters
    ----------
    evidence
        Study x model x domain rows (one row may repeat; studies are counted once per cell).
    domains, models
        ``(id, label)`` pairs in display order, e.g. from the protocol's domains and its ``partnership_model``
        choices. Ids found in ``evidence`` but not listed are appended (so nothing is silently dropped).

    Returns
    -------
    dict
        ``{"domains": [...], "models": [...], "cells": [{"model", "domain", "n_studies", "studies",
        "single_study", "only_high_risk", "empty", "rob": {...}}], "empty_cells": [...],
        "single_study_cells": [...], "only_high_risk_cells": [...], "studies_per_domain": {...},
        "studies_per_model": {...}}``.
    """
    rows = list(evidence)
    dom_ids = [d for d, _ in domains]
    mod_ids = [m for m, _ in models]
    labels_d = dict(domains)
    labels_m = dict(models)
    for r in rows:
        if r.domain not in labels_d:
            dom_ids.append(r.domain)
            labels_d[r.domain] = r.domain
        if r.model not in labels_m:
            mod_ids.append(r.model)
            labels_m[r.model] = r.model

    cell_rob: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        studies = cell_rob.setdefault((r.model, r.domain), {})
        prev = studies.get(r.study_id)
        # A study in a cell counts at its worst judgement across the outcomes in that domain.
        studies[r.study_id] = _worse(prev, r.rob) if prev else r.rob

    cells: list[dict[str, Any]] = []
    for m in mod_ids:
        for d in dom_ids:
            studies = cell_rob.get((m, d), {})
            n = len(studies)
            rob_counts: dict[str, int] = {}
            for judgement in studies.values():
                rob_counts[judgement] = rob_counts.get(judgement, 0) + 1
            cells.append({
                "model": m, "model_label": labels_m[m], "domain": d, "domain_label": labels_d[d],
                "n_studies": n, "studies": sorted(studies), "empty": n == 0, "single_study": n == 1,
                "only_high_risk": n > 0 and all(j == "high" for j in studies.values()), "rob": rob_counts,
            })

    def ids(flag: str) -> list[dict[str, str]]:
        return [{"model": c["model"], "domain": c["domain"]} for c in cells if c[flag]]

    per_domain = {d: len({s for (m, dd), st in cell_rob.items() if dd == d for s in st}) for d in dom_ids}
    per_model = {m: len({s for (mm, d), st in cell_rob.items() if mm == m for s in st}) for m in mod_ids}
    return {
        "domains": [{"id": d, "label": labels_d[d]} for d in dom_ids],
        "models": [{"id": m, "label": labels_m[m]} for m in mod_ids],
        "cells": cells,
        "empty_cells": ids("empty"),
        "single_study_cells": ids("single_study"),
        "only_high_risk_cells": ids("only_high_risk"),
        "studies_per_domain": per_domain,
        "studies_per_model": per_model,
        "n_cells": len(cells),
    }


_ORDER = {"low": 0, "unknown": 1, "some-concerns": 2, "high": 3}


def _worse(a: str | None, b: str) -> str:
    if a is None:
        return b
    return a if _ORDER.get(a, 1) >= _ORDER.get(b, 1) else b
