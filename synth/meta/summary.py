"""One flat row per pooled result (for CSV output and tables): the summary statistics, the natural-scale
estimate, and the excluded studies, warnings and methods text joined into strings."""

from __future__ import annotations

from typing import Any

#: the natural-scale (back-transformed) estimate, CI and PI: ``natural`` in JSON, ``natural_*`` in tables and CSV
NATURAL_KEYS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
NATURAL_COLUMNS = [f"natural_{k}" for k in NATURAL_KEYS]
SUMMARY_COLUMNS = ["k", "measure", "method", "test", "estimate", "se", "ci_low", "ci_high", "stat", "p", "df",
                   "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "i2", "i2_ci_low", "i2_ci_high", "h2", "q", "q_df",
                   "q_p", "pi_low", "pi_high"]


def summary_row(res: dict[str, Any]) -> dict[str, Any]:
    """The flat row of a :func:`synth.meta.analysis.pool_effects` result: :data:`SUMMARY_COLUMNS`, then
    :data:`NATURAL_COLUMNS` (``natural_estimate`` ... ``natural_pi_high``, the JSON's ``natural`` object
    flattened), ``excluded``, ``omitted``, ``warnings`` and ``methods``."""
    row = {c: res.get(c) for c in SUMMARY_COLUMNS}
    natural = res.get("natural") or {}
    for key in NATURAL_KEYS:
        row[f"natural_{key}"] = natural.get(key)
    row["excluded"] = "; ".join(f"{e['study']}: {e['reason']}" for e in res.get("excluded", []))
    row["omitted"] = "; ".join(f"{e['study']}: {e['reason']}" for e in res.get("omitted", []))
    row["warnings"] = "; ".join(res.get("warnings", []))
    row["methods"] = res.get("methods", "")
    return row
