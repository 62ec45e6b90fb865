"""The protocol's analysis plan for one outcome, and the input of a ``synth meta`` command.

:func:`outcome_analysis` runs what the plan asks for one outcome: the pooled result, the sensitivity analysis
without studies at high risk of bias (``exclude_high_risk_sensitivity``) and the planned subgroup analyses.
:func:`load_input` reads what a ``synth meta`` command analyses, a CSV file of studies or a protocol outcome,
and :class:`Input` resolves its pooling options (explicit choice, then the protocol's plan, then defaults).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.analysis.options import pool_options
from synth.errors import InputError
from synth.meta.analysis import pool_effects
from synth.meta.effects import compute_effects, ensure_k
from synth.meta.io import read_csv

# The extraction table, protocol, sensitivity and subgroup modules are imported where a protocol outcome is
# analysed, not here: ``synth meta pool FILE`` should not pay for them (startup time, issue 19).
if TYPE_CHECKING:
    import pandas as pd

    from synth.meta.effects import EffectTable
    from synth.meta.pooling import PoolOptions
    from synth.protocol.model import Protocol
    from synth.workspace import Workspace


@dataclass
class Input:
    """What a meta command analyses: an effect table from a CSV file or from a protocol outcome. ``notes`` are
    the lines to show the user (studies left out, the timepoint chosen)."""

    table: EffectTable
    frame: pd.DataFrame | None = None
    protocol: Protocol | None = None
    outcome: str | None = None
    notes: list[str] = field(default_factory=list)

    def opts(self, method: str | None = None, test: str | None = None, level: float | None = None,
             pi: str | None = None, back: str | None = None, *, default_test: str = "hksj") -> PoolOptions:
        """Explicit options win; then the protocol's plan (an outcome); then synth's defaults."""
        plan = self.protocol.analysis if self.protocol is not None else None
        return pool_options(plan, method=method, test=test, level=level, pi=pi, back=back,
                            default_test=default_test)


def is_extraction_table(path: Path) -> bool:
    """Whether ``path`` is a ``synth extract table`` file (its header names ``outcome``, ``timepoint`` and
    ``data_kind``), which holds each study's own kind of data rather than one measure's columns."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = {c.strip() for c in fh.readline().split(",")}
    except (OSError, UnicodeDecodeError):
        return False  # read_data says what is wrong with the file
    return {"outcome", "timepoint", "data_kind"} <= header


def read_data(data: Path, *text_columns: str | None) -> pd.DataFrame:
    """A study-per-row CSV file for :mod:`synth.meta` (``text_columns`` are kept as text)."""
    return read_csv(data, tuple(c for c in text_columns if c))


def load_input(data: Path | None, outcome: str | None, timepoint: str | None, measure: str | None,
               *text_columns: str | None, check_k: bool = True, workspace: Workspace | None = None,
               protocol: Protocol | None = None, protocol_name: str | None = None,
               studies: Collection[str] | None = None) -> Input:
    """The effect table from ``data`` (a CSV file) or from ``outcome`` of ``protocol`` (exactly one of them).

    ``text_columns`` must exist (with an outcome: columns of the extraction table). Raises
    :class:`InputError` on a wrong combination, an unknown column, or (``check_k``) no analysable study.
    """
    if (data is None) == (outcome is None):
        raise InputError("give either a DATA file or --outcome ID (not both). Example: synth meta pool "
                         "--outcome mortality")
    if outcome is None:
        if timepoint:
            raise InputError("--timepoint only applies with --outcome.")
        assert data is not None
        if not is_extraction_table(data):
            table = compute_effects(read_data(data, *text_columns), measure)
            if check_k:
                ensure_k(table)
            return Input(table, notes=_not_in_model_notes(table.excluded, table.omitted))
    from synth.analysis.table import extraction_table_frame, meta_effects, meta_table

    if data is not None:  # a `synth extract table` file: each row's own data, as --outcome reads them
        frame = extraction_table_frame(data, measure)
    else:
        if measure:
            raise InputError(f"--measure cannot be used with --outcome: the protocol sets the measure of '{outcome}'.")
        if workspace is None or protocol is None:
            raise InputError("--outcome needs a workspace with a protocol (run inside it, or pass --workspace).")
        assert outcome is not None
        frame = meta_table(workspace, protocol, outcome, timepoint, protocol_name=protocol_name, studies=studies)
    for col in text_columns:
        if col and col not in frame.columns:
            raise InputError(f"'{col}' is not a column of the extraction table for '{frame.attrs['outcome']}'. "
                             f"Use one of: {', '.join(str(x) for x in frame.columns)}.")
    table = meta_effects(frame)
    if check_k:
        ensure_k(table)
    notes = _not_in_model_notes([*frame.attrs.get("excluded", []), *table.excluded], table.omitted)
    notes.append(f"Outcome {frame.attrs['outcome']}: {int(table.included.sum())} studies at timepoint "
                 f"{frame.attrs['timepoint']} ({frame.attrs['scale']}).")
    if data is not None:
        return Input(table, frame, None, None, notes)
    return Input(table, frame, protocol, outcome, notes)


def _not_in_model_notes(excluded: list[dict[str, Any]], omitted: list[dict[str, Any]]) -> list[str]:
    """One stderr line per study left out of the model: ``Excluded`` (no estimable effect) or ``Omitted``
    (a value is missing, as metafor's na.omit)."""
    return ([f"Excluded: {e['study']}: {e['reason']}" for e in excluded]
            + [f"Omitted: {e['study']}: {e['reason']}" for e in omitted])


def pool_input(inp: Input, opts: PoolOptions, *, workspace: Workspace | None = None,
               protocol_name: str | None = None) -> dict[str, Any]:
    """The pooled result of a meta command's input; for an outcome, with its plan's sensitivity analysis
    without high-risk studies (``without_high_risk``) and planned subgroups (``subgroups``)."""
    if inp.outcome is None or inp.protocol is None or workspace is None:
        return pool_effects(inp.table, opts)
    full = outcome_analysis(workspace, inp.protocol, inp.outcome, protocol_name=protocol_name, opts=opts,
                            frame=inp.frame, table=inp.table)
    return {**full["pool"], "outcome": inp.outcome, "timepoint": full["timepoint"], "scale": full["scale"],
            "without_high_risk": full["without_high_risk"], "subgroups": full["subgroups"]}


def sensitivity_input(inp: Input, opts: PoolOptions, order_by: str | None = None) -> dict[str, Any]:
    """Leave-one-out, influence and cumulative analyses of a meta command's input; for an outcome whose plan
    asks for it, also the analysis without studies at high risk of bias (``without_high_risk``)."""
    from synth.meta.sensitivity import sensitivity_report

    res = sensitivity_report(inp.table, opts, order_by=order_by)
    if inp.frame is not None and inp.protocol is not None and inp.protocol.analysis.exclude_high_risk_sensitivity:
        res["without_high_risk"] = high_risk_sensitivity(inp.frame, opts)
    return res


def without_high_risk(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows whose overall risk of bias is not high (serious and critical count as high), and the labels of
    the rows left out."""
    from synth.extraction.rob import rob_class

    if "rob_overall" not in df.columns:
        return df, []
    high = df["rob_overall"].map(lambda v: rob_class(v) == "high")
    kept = df.loc[~high].reset_index(drop=True)
    kept.attrs.update(df.attrs)
    return kept, [str(s) for s in df.loc[high, "study"]]


def planned_subgroups(protocol: Protocol, df: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(id, label, column)`` of the protocol's planned subgroup analyses whose field has at least two
    reported values in ``df`` ("NR" and blanks do not form a subgroup)."""
    out = []
    for s in protocol.analysis.subgroups:
        if s.field in df.columns:
            values = {str(v).strip() for v in df[s.field] if _reported(v)}
            if len(values) >= 2:
                out.append((s.id, s.label, s.field))
    return out


def _reported(value: Any) -> bool:
    """A subgroup value that says something ("NR", blanks and missing cells do not)."""
    return value is not None and str(value).strip() not in ("", "NR", "nan")


def high_risk_sensitivity(df: pd.DataFrame, opts: PoolOptions) -> dict[str, Any]:
    """The analysis of :func:`meta_table` rows without the studies at high risk of bias: ``left_out`` and the
    pooled result, or ``k`` with a ``note`` when no study (or every study) is at high risk."""
    from synth.analysis.table import meta_effects

    kept, dropped = without_high_risk(df)
    if not dropped:
        return {"left_out": [], "k": len(df), "note": "no study at high risk of bias"}
    sub = meta_effects(kept) if len(kept) else None
    if sub is None or not sub.included.any():
        return {"left_out": dropped, "k": 0, "note": "every study is at high risk of bias"}
    return {"left_out": dropped, **pool_table(kept, sub, opts)}


def dependent_studies(df: pd.DataFrame, table: Any) -> list[str] | None:
    """The study of each pooled effect (``study_id`` of the included rows) when some study gives more than one
    effect to the model, else None: effects of one study are not independent."""
    if "study_id" not in df.columns:
        return None
    ids = [str(s) for s, ok in zip(df["study_id"].tolist(), table.included, strict=True) if ok]
    return ids if len(set(ids)) < len(ids) else None


def pool_table(df: pd.DataFrame, table: Any, opts: PoolOptions) -> dict[str, Any]:
    """The pooled result of an outcome's effects: the standard random-effects model of ``opts``, or, when a
    study gives several effects, the multilevel model with CR2 inference
    (:func:`synth.meta.analysis.pool_dependent`, which says so in its first warning)."""
    from synth.meta.analysis import pool_dependent

    studies = dependent_studies(df, table)
    if studies is None:
        return pool_effects(table, opts)
    labels = [s for s, ok in zip(table.studies, table.included, strict=True) if ok]
    res = pool_dependent(table.yi[table.included], table.vi[table.included], studies, labels, table.measure,
                         opts.method, opts.level, opts.back)
    res["excluded"], res["omitted"] = list(table.excluded), list(table.omitted)
    return res


def outcome_analysis(workspace: Workspace, protocol: Protocol, outcome_id: str, *, protocol_name: str | None = None,
                     timepoint: str | None = None, opts: PoolOptions | None = None, frame: pd.DataFrame | None = None,
                     table: Any = None, studies: Collection[str] | None = None) -> dict[str, Any]:
    """The analysis plan for one outcome: the pooled result (``pool``), the sensitivity analysis without
    high-risk studies when the protocol asks for it (``without_high_risk``, see :func:`high_risk_sensitivity`),
    and the planned subgroup analyses (``subgroups``); with ``frame`` and ``table`` for plots. ``frame`` and
    ``table`` may be passed when the caller already read them; ``studies`` limits the analysis to those studies
    (those included at full text). Raises :class:`InputError` when nothing was
    extracted for the outcome."""
    from synth.analysis.table import meta_effects, meta_table
    from synth.meta.subgroup import subgroup_analysis

    opts = opts or pool_options(protocol.analysis)
    df = frame if frame is not None else meta_table(workspace, protocol, outcome_id, timepoint,
                                                    protocol_name=protocol_name, studies=studies)
    table = table if table is not None else meta_effects(df)
    ensure_k(table)
    result: dict[str, Any] = {"outcome": outcome_id, "timepoint": df.attrs["timepoint"], "scale": df.attrs["scale"],
                              "pool": pool_table(df, table, opts), "frame": df, "table": table,
                              "excluded": list(df.attrs.get("excluded", [])), "without_high_risk": None,
                              "subgroups": []}
    if protocol.analysis.exclude_high_risk_sensitivity:
        result["without_high_risk"] = high_risk_sensitivity(df, opts)
    if int(table.included.sum()) >= 2:
        for sid, label, field in planned_subgroups(protocol, df):
            reported = df[field].map(_reported)
            sub_df = df.loc[reported].reset_index(drop=True)
            sub_df.attrs.update(df.attrs)
            res = subgroup_analysis(meta_effects(sub_df), field, opts)
            left_out = [str(x) for x in df.loc[~reported, "study"]]
            if result["pool"].get("model") == "multilevel":  # said, not hidden: no multilevel subgroup model yet
                res["warnings"] = [*res.get("warnings", []), "the subgroup models treat the effects of one study "
                                   "as independent (the overall result uses the multilevel model)"]
            result["subgroups"].append({"id": sid, "label": label, "field": field, "not_reported": left_out, **res})
    return result
