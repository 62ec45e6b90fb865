"""The group-data columns an outcome row may hold, and which effect measures each kind of data can feed.

Column names are those of the meta-analysis engine (:mod:`synth.meta`), one row per study:

* binary ``events_t, n_t, events_c, n_c`` (treatment / control);
* continuous ``mean_t, sd_t, n_t, mean_c, sd_c, n_c``;
* correlation ``r, n``; single-group proportion ``events, n``;
* generic: ``yi`` with ``vi`` or ``sei`` on the analysis scale (log scale for OR, RR and ROM), or a reported
  ``estimate`` with its 95% confidence interval ``ci_low, ci_high`` on the reported scale (ratio scale for
  OR, RR and ROM).
"""

from __future__ import annotations

BINARY = ("events_t", "n_t", "events_c", "n_c")
CONTINUOUS = ("mean_t", "sd_t", "n_t", "mean_c", "sd_c", "n_c")
CORRELATION = ("r", "n")
PROPORTION = ("events", "n")
GENERIC_SE = ("yi", "vi", "sei")
GENERIC_CI = ("estimate", "ci_low", "ci_high")

#: Every group-data column, in the order of the tidy table.
DATA_COLUMNS: tuple[str, ...] = (
    "events_t", "n_t", "events_c", "n_c",
    "mean_t", "sd_t", "mean_c", "sd_c",
    "r", "events", "n",
    "yi", "vi", "sei", "estimate", "ci_low", "ci_high",
)

#: Columns that must be whole numbers.
COUNT_COLUMNS = frozenset({"events_t", "n_t", "events_c", "n_c", "events", "n"})
SIZE_COLUMNS = frozenset({"n_t", "n_c", "n"})

#: Measures whose reported estimate and CI are ratios (analysed on the log scale).
RATIO_MEASURES = frozenset({"OR", "RR", "ROM"})

#: Which kinds of group data can feed each protocol measure ("generic" always can).
KINDS_FOR_MEASURE: dict[str, frozenset[str]] = {
    "OR": frozenset({"binary", "generic"}),
    "RR": frozenset({"binary", "generic"}),
    "RD": frozenset({"binary", "generic"}),
    "MD": frozenset({"continuous", "generic"}),
    "SMD": frozenset({"continuous", "generic"}),
    "ROM": frozenset({"continuous", "generic"}),
    "ZCOR": frozenset({"correlation", "generic"}),
    "COR": frozenset({"correlation", "generic"}),
    "PLO": frozenset({"proportion", "generic"}),
    "PR": frozenset({"proportion", "generic"}),
    "GEN": frozenset({"generic"}),
}

#: Value that marks a field as "not reported in the source" (counts as answered, never as data).
NOT_REPORTED = "NR"


def data_kind(row: dict[str, object]) -> str | None:
    """The kind of complete group data in an outcome row, or None.

    Order of preference: binary, continuous, correlation, proportion, generic (yi + vi/sei), generic
    (estimate + CI). Group sizes ``n_t``/``n_c`` may accompany generic data.
    """

    def has(cols: tuple[str, ...]) -> bool:
        return all(row.get(c) is not None for c in cols)

    if has(BINARY):
        return "binary"
    if has(CONTINUOUS):
        return "continuous"
    if has(CORRELATION) and row.get("events") is None:
        return "correlation"
    if has(PROPORTION):
        return "proportion"
    if row.get("yi") is not None and (row.get("vi") is not None or row.get("sei") is not None):
        return "generic"
    if has(GENERIC_CI):
        return "generic"
    return None
