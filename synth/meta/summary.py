"""One flat row per pooled result (for CSV output and tables): the summary statistics, the natural-scale
estimate, and the excluded studies, warnings and methods text joined into strings."""

from __future__ import annotations

from typing import Any

SUMMARY_COLUMNS = ["k", "measure", "method", "test", "estimate", "se", "ci_low", "ci_high", "stat", "p", "df",
                   "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "i2", "i2_ci_low", "i2_ci_high", "h2", "q", "q_df",
                   "q_p", "pi_low", "pi_high"]


def summary_row(res: dict[str, Any]) -> dict[str, Any]:
    """The flat row of a :func:`synth.meta.analysis.pool_effects` result: :data:`SUMMARY_COLUMNS`, then
    ``back_estimate`` ... ``back_pi_high``, ``excluded``, ``omitted``, ``warnings`` and ``methods``."""
    row = {c: res.get(c) for c in SUMMARY_COLUMNS}
    back = res.get("back") or {}
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        row[f"back_{key}"] = back.get(key)
    row["excluded"] = "; ".join(f"{e['study']}: {e['reason']}" for e in res.get("excluded", []))
    row["omitted"] = "; ".join(f"{e['study']}: {e['reason']}" for e in res.get("omitted", []))
    row["warnings"] = "; ".join(res.get("warnings", []))
    row["methods"] = res.get("methods", "")
    return row
