"""Inter-rater agreement for pairs of reviewers: percent agreement, Cohen's kappa with a 95% CI, PABAK and
Gwet's AC1.

Kappa depends on prevalence: with few includes it can be near zero while agreement is 98% (Feinstein &
Cicchetti 1990, "the kappa paradox"), so PABAK (Byrt, Bishop & Carlin 1993) and AC1 (Gwet 2008) are reported
beside it. The kappa standard error is the large-sample (non-null) one of Fleiss, Cohen & Everitt (1969);
the CI is kappa ± 1.96 SE, clipped to [-1, 1].

Decisions are compared as *include* (include or maybe) vs *exclude*, the way they advance a record; reasons
are compared on the records both reviewers excluded with a reason, over the stage's criteria.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

from synth.screening.decisions import Choice, Decision

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Agreement:
    n: int
    percent: float | None
    kappa: float | None
    kappa_se: float | None
    kappa_ci: tuple[float, float] | None
    pabak: float | None
    ac1: float | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kappa_ci"] = list(self.kappa_ci) if self.kappa_ci else None
        return data


def _table(pairs: Sequence[tuple[str, str]], categories: Sequence[str]) -> list[list[float]]:
    index = {c: i for i, c in enumerate(categories)}
    k = len(categories)
    table = [[0.0] * k for _ in range(k)]
    for a, b in pairs:
        table[index[a]][index[b]] += 1
    return table


def agreement(pairs: Sequence[tuple[str, str]], categories: Sequence[str]) -> Agreement:
    """All statistics for paired ratings ``(rater_a, rater_b)`` on the scale ``categories`` (k >= 2)."""
    n = len(pairs)
    k = len(categories)
    if n == 0 or k < 2:
        return Agreement(n, None, None, None, None, None, None)
    t = _table(pairs, categories)
    p = [[cell / n for cell in row] for row in t]
    rows = [sum(row) for row in p]
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum(p[i][i] for i in range(k))
    pe = sum(rows[i] * cols[i] for i in range(k))
    pabak = (k * po - 1) / (k - 1)
    pi = [(rows[i] + cols[i]) / 2 for i in range(k)]
    pe_ac1 = sum(x * (1 - x) for x in pi) / (k - 1)
    ac1 = (po - pe_ac1) / (1 - pe_ac1) if pe_ac1 < 1 else None
    kappa = se = None
    ci = None
    if pe < 1:
        kappa = (po - pe) / (1 - pe)
        term_a = sum(p[i][i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(k))
        term_b = (1 - kappa) ** 2 * sum(
            p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(k) for j in range(k) if i != j
        )
        term_c = (kappa - pe * (1 - kappa)) ** 2
        var = (term_a + term_b - term_c) / (1 - pe) ** 2 / n
        se = math.sqrt(max(var, 0.0))
        ci = (max(-1.0, kappa - Z95 * se), min(1.0, kappa + Z95 * se))
    return Agreement(n, po, kappa, se, ci, pabak, ac1)


def _binary(decision: str) -> str:
    return Choice.exclude.value if decision == Choice.exclude else Choice.include.value


def pairwise(decisions: Sequence[Decision], reasons: Sequence[str]) -> list[dict[str, Any]]:
    """Agreement for every pair of reviewers who screened records in common (decisions of one stage)."""
    by_reviewer: dict[str, dict[int, Decision]] = {}
    for d in decisions:
        by_reviewer.setdefault(d.reviewer, {})[d.record_id] = d
    out: list[dict[str, Any]] = []
    for a, b in combinations(sorted(by_reviewer), 2):
        common = sorted(set(by_reviewer[a]) & set(by_reviewer[b]))
        if not common:
            continue
        dec_pairs = [(_binary(by_reviewer[a][r].decision), _binary(by_reviewer[b][r].decision)) for r in common]
        reason_pairs = [
            (by_reviewer[a][r].reason or "", by_reviewer[b][r].reason or "")
            for r in common
            if by_reviewer[a][r].decision == Choice.exclude and by_reviewer[b][r].decision == Choice.exclude
            and by_reviewer[a][r].reason in reasons and by_reviewer[b][r].reason in reasons
        ]
        out.append({
            "reviewers": [a, b],
            "n": len(common),
            "decisions": agreement(dec_pairs, [Choice.include.value, Choice.exclude.value]).to_dict(),
            "reasons": agreement(reason_pairs, list(reasons)).to_dict(),
        })
    return out
