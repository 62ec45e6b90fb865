"""Subgroup analysis (Borenstein & Higgins 2013; Cochrane Handbook 10.11.3).

* Separate tau^2 per subgroup (RevMan and R meta's default): each subgroup pooled on its own (one vectorised
  batch); the test for subgroup differences is Cochran's Q of an equal-effect meta-analysis of the subgroup
  estimates with their SEs, on G-1 df. A single-study subgroup contributes that study.
* Common tau^2 (mixed-effects model, metafor ``rma(mods = ~ factor(group))``): the omnibus QM test of the
  group contrasts, with the same tau^2 estimator and test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from synth.errors import InputError
from synth.meta import dist
from synth.meta.analysis import pool_by
from synth.meta.io import as_pandas
from synth.meta.pooling import PoolOptions
from synth.meta.regression import design, fit

if TYPE_CHECKING:
    from synth.meta.effects import EffectTable


def subgroup_analysis(table: EffectTable, by: str, opts: PoolOptions) -> dict[str, Any]:
    """Subgroup results, the test for subgroup differences (separate tau^2) and the common-tau^2 model."""
    frame = as_pandas(table.frame)
    if by not in frame.columns:
        raise InputError(f"--by column {by!r} is not in the data (columns: {', '.join(map(str, frame.columns))}). "
                         "Name an existing column.")
    inc = table.included
    sub = frame.loc[inc].reset_index(drop=True)
    groups = pool_by(sub, by, table.measure, opts)
    usable = [g for g in groups if g["k"] >= 1 and g["estimate"] is not None]
    warnings: list[str] = []
    if len(usable) < 2:
        raise InputError(f"Subgroup analysis needs at least 2 subgroups with estimable results in column {by!r}.")
    est = np.array([g["estimate"] for g in usable])
    se = np.array([g["se"] for g in usable])
    w = 1 / se**2
    mu = float(np.sum(w * est) / np.sum(w))
    q = float(np.sum(w * (est - mu) ** 2))
    dfb = len(usable) - 1
    test_sep = {"q": q, "df": dfb, "p": float(dist.chi2_sf(q, dfb)),
                "method": "Q test of the subgroup estimates (separate tau^2 per subgroup)"}
    for g in groups:
        if g["k"] == 1:
            warnings.append(f"subgroup {g['group']} has a single study; it is shown but not pooled")
    labels = [s for s, ok in zip(table.studies, inc, strict=True) if ok]
    common: dict[str, Any] | None = None
    try:
        X, names = design(sub, [f"cat:{by}"], labels)
        f = fit(table.yi[inc], table.vi[inc], X, opts.method, opts.test, opts.level)
        common = {"tau2": f.tau2, "qm": f.qm, "qm_df": f.qm_df, "qm_df2": f.qm_df2, "qm_p": f.qm_p, "qe": f.qe,
                  "qe_p": f.qe_p, "i2_residual": f.i2,
                  "coefficients": [{"name": n, "estimate": float(f.coef[j]), "se": float(f.se[j])}
                                   for j, n in enumerate(names)],
                  "method": "mixed-effects model with a common tau^2 (QM test of subgroup differences)"}
    except InputError as exc:
        warnings.append(f"common-tau^2 model not fitted: {exc}")
    return {"by": by, "measure": table.measure, "method": opts.method, "test": opts.test, "subgroups": groups,
            "test_separate": test_sep, "common_tau2": common, "excluded": table.excluded, "omitted": table.omitted, "warnings": warnings}
