"""One outcome's per-study DataFrame, from the reconciled extractions, ready for :mod:`synth.meta` to pool.

``meta_table(workspace, protocol, outcome_id)`` returns one row per study for one outcome and timepoint.
When every row holds the same kind of group data that the outcome's measure needs (e.g. all binary for RR),
the frame keeps those columns and ``attrs["measure"]`` is the protocol's measure. When kinds are mixed (e.g.
event counts from some trials and a published log risk ratio with its SE from others), every row is brought
to the analysis scale first (``yi``, ``vi``): counts and means with :func:`synth.meta.effects.compute_effects`
for the protocol's measure, ``yi`` with ``sei`` as ``vi = sei^2``, and a reported estimate with its 95% CI as
``yi = log(estimate)`` (ratio measures) and ``vi = ((log ci_high - log ci_low) / (2 * 1.959964))^2``
(Cochrane Handbook 6.3.2); then ``attrs["measure"]`` is ``"GEN"`` and ``attrs["scale"]`` names the scale.
Rows whose effect cannot be estimated (no events in either arm for OR/RR) are dropped and listed in
``attrs["excluded"]``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.errors import InputError
from synth.extraction.columns import RATIO_MEASURES
from synth.extraction.files import load_folder
from synth.extraction.table import tidy_rows
from synth.extraction.validate import validate_files
from synth.meta.effects import compute_effects
from synth.meta.io import MEASURE_COLUMNS
from synth.protocol.model import Protocol
from synth.wording import count
from synth.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

Z975 = 1.959963984540054
NATIVE = {"binary": ("OR", "RR", "RD"), "continuous": ("MD", "SMD", "ROM"), "correlation": ("ZCOR", "COR"),
          "proportion": ("PLO", "PR")}
SCALE = {"OR": "log odds ratio", "RR": "log risk ratio", "ROM": "log ratio of means", "RD": "risk difference",
         "MD": "mean difference", "SMD": "standardised mean difference", "ZCOR": "Fisher's z", "COR": "correlation",
         "PLO": "log odds", "PR": "proportion", "GEN": "as reported"}
KEEP = ("study", "study_id", "outcome", "timepoint", "effect", "year", "data_kind")


def studies_per_timepoint(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Distinct studies with data at each timepoint (a study with several effects counts once)."""
    seen: dict[str, set[str]] = {}
    for r in rows:
        seen.setdefault(str(r["timepoint"]), set()).add(str(r["study"]))
    return {tp: len(ids) for tp, ids in seen.items()}


def choose_timepoint(rows: list[dict[str, Any]], order: list[str], primary: str | None = None) -> str:
    """The protocol's primary timepoint when any study reports it; otherwise the timepoint with the most
    studies, ties going to the one listed first in the protocol."""
    counts = studies_per_timepoint(rows)
    if primary and primary in counts:
        return primary
    rank = {tp: i for i, tp in enumerate(order)}
    return min(counts, key=lambda tp: (-counts[tp], rank.get(tp, len(rank)), tp))


def timepoint_basis(chosen: str, primary: str | None, asked: str | None = None) -> str:
    """Why ``chosen`` is the analysed timepoint, in words for the report."""
    if asked:
        return "asked for"
    if primary and chosen == primary:
        return "the protocol's primary timepoint"
    if primary:
        return f"most studies (no study reports the protocol's primary timepoint, {primary})"
    return "most studies (the protocol names no primary timepoint)"


def _generic_yi_vi(row: dict[str, Any], measure: str) -> tuple[float, float]:
    if row.get("yi") is not None:
        vi = row.get("vi")
        return float(row["yi"]), float(vi) if vi is not None else float(row["sei"]) ** 2
    est, lo, hi = float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])
    if measure in RATIO_MEASURES:
        est, lo, hi = math.log(est), math.log(lo), math.log(hi)
    return est, ((hi - lo) / (2 * Z975)) ** 2


def meta_table(workspace: Workspace, protocol: Protocol, outcome_id: str, timepoint: str | None = None,
               protocol_name: str | None = None, studies: Collection[str] | None = None) -> pd.DataFrame:
    """Per-study data for ``outcome_id`` from the reconciled extraction files, ready for the meta engine.

    Raises :class:`InputError` when the outcome is unknown, a reconciled file has a problem, or nothing was
    extracted for the outcome (or the timepoint). ``attrs``: ``measure`` (pass to the pooling function),
    ``effect_measure`` (the protocol's), ``scale``, ``timepoint``, ``timepoints`` (studies per timepoint)
    and ``excluded``. ``studies``: only these studies' files (the studies included at full text), or every
    reconciled file when None. Subgroup fields, ``rob_tool``, ``rob_overall`` and the judged ``rob_<domain>`` columns
    (for risk-of-bias columns on a forest plot) are kept.
    """

    try:
        outcome = protocol.outcome(outcome_id)
    except KeyError:
        known = ", ".join(o.id for o in protocol.outcomes)
        raise InputError(f"'{outcome_id}' is not an outcome id in the protocol. Use one of: {known}.") from None
    name = protocol_name or protocol.review.id
    files, problems = load_folder(workspace.extractions_dir(name))
    files = [f for f in files if f.reconciled and (studies is None or f.study in studies)]
    problems += validate_files(files, protocol, name)
    if problems:
        raise InputError(f"{count(len(problems), 'problem')} in the reconciled extraction files, first: {problems[0]}. "
                         "Run `synth extract check` and fix them first.")
    rows = tidy_rows(files, protocol, outcome_id)
    if not rows:
        raise InputError(f"no reconciled extraction has data for outcome '{outcome_id}'. "
                         "Add [[outcomes]] rows to the extraction files (see `synth extract table`).")
    counts = studies_per_timepoint(rows)
    chosen = timepoint or choose_timepoint(rows, list(outcome.timepoints), outcome.primary_timepoint)
    basis = timepoint_basis(chosen, outcome.primary_timepoint, timepoint)
    rows = [r for r in rows if r["timepoint"] == chosen]
    if not rows:
        raise InputError(f"no data for outcome '{outcome_id}' at timepoint '{chosen}'. "
                         f"Timepoints with data: {', '.join(f'{t} ({n})' for t, n in counts.items())}.")
    rob_cols = [c for c in rows[0] if c.startswith("rob_") and (c in ("rob_tool", "rob_overall") or any(r.get(c) for r in rows))]
    subgroup_cols = [f.id for f in protocol.extraction.study_fields] + rob_cols
    measure = outcome.measure.value
    return effects_frame(rows, measure, subgroup_cols, timepoint=chosen, timepoints=counts, outcome=outcome_id,
                         timepoint_basis=basis)


def effects_frame(rows: list[dict[str, Any]], measure: str, keep: list[str], **attrs: Any) -> pd.DataFrame:
    """One outcome and timepoint's tidy rows as the frame to pool: native group data when every row holds the
    kind ``measure`` needs, else every row on the analysis scale (``yi``, ``vi``; see the module's text).
    ``attrs`` (timepoint, timepoints, outcome) join the frame's ``measure``, ``effect_measure``, ``scale`` and
    ``excluded`` (rows with no estimable effect)."""
    import pandas as pd

    for r in rows:  # several effects of one study are told apart by their effect name
        label = r.get("label") or r["study"]
        r["study_id"], r["study"] = r["study"], f"{label} ({r['effect']})" if r.get("effect") else label
    kinds = {r["data_kind"] for r in rows}
    native = next((k for k, ms in NATIVE.items() if measure in ms), None)
    excluded: list[dict[str, str]] = []
    if kinds == {native}:
        cols = [*KEEP, *MEASURE_COLUMNS[measure], *keep]
        frame, used = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols), measure
    else:
        (frame, excluded), used = _to_generic(rows, measure, [*KEEP, *keep]), "GEN"
    frame.attrs.update(measure=used, effect_measure=measure, scale=SCALE.get(measure, measure), excluded=excluded,
                       **attrs)
    return frame


def extraction_table_frame(path: Path, measure: str | None) -> pd.DataFrame:
    """A ``synth extract table`` CSV file as the frame to pool, as ``--outcome`` would build it from the
    extractions: each row's own data (counts, means, a reported estimate with its CI, ``yi`` with ``sei``)
    brought to one scale. The file must hold one outcome at one timepoint (a clear error says which it holds).
    ``measure`` defaults to the file's ``measure`` column."""
    import csv

    from synth.extraction.columns import DATA_COLUMNS

    with path.open(newline="", encoding="utf-8-sig") as fh:
        raw = list(csv.DictReader(fh))
    numeric = {*DATA_COLUMNS, "year", "n_randomised", "follow_up_months"}
    rows: list[dict[str, Any]] = []
    for line, r in enumerate(raw, start=2):
        row: dict[str, Any] = {}
        for key, value in r.items():
            cell = (value or "").strip()
            if not cell:
                row[key] = None
            elif key in numeric:
                try:
                    row[key] = float(cell)
                except ValueError:
                    raise InputError(f"{path}, line {line}: {key} = '{cell}' is not a number. Fix the cell, "
                                     "or write the table again with `synth extract table`.") from None
            else:
                row[key] = cell
        rows.append(row)
    if not rows:
        raise InputError(f"{path}: the extraction table has no rows. Write it with `synth extract table --outcome ID`.")
    outcomes = sorted({str(r["outcome"]) for r in rows})
    if len(outcomes) > 1:
        raise InputError(f"{path}: an extraction table of {len(outcomes)} outcomes ({', '.join(outcomes)}); pool one at "
                         "a time: `synth extract table --outcome ID` writes one, or run `synth meta pool --outcome ID`.")
    counts = studies_per_timepoint(rows)
    if len(counts) > 1:
        raise InputError(f"{path}: outcome {outcomes[0]} has data at {len(counts)} timepoints "
                         f"({', '.join(f'{t}: ' + count(n, 'study', 'studies') for t, n in counts.items())}); pool one "
                         f"at a time: `synth extract table --outcome {outcomes[0]} --timepoint T` writes one.")
    measures = sorted({str(r["measure"]) for r in rows if r.get("measure")})
    if measure is None and len(measures) != 1:
        raise InputError(f"{path}: the rows name {len(measures) or 'no'} measure(s) "
                         f"{'(' + ', '.join(measures) + ') ' if measures else ''}; pass --measure.")
    chosen = (measure or measures[0]).upper()
    keep = [c for c in raw[0] if c not in numeric and c not in KEEP and c not in ("label", "measure")]
    return effects_frame(rows, chosen, keep, timepoint=next(iter(counts)), timepoints=counts, outcome=outcomes[0])


GROUP_DATA = tuple(dict.fromkeys((*MEASURE_COLUMNS["OR"], *MEASURE_COLUMNS["SMD"])))
"""Group data kept beside ``yi``/``vi`` in a mixed frame, so a forest plot shows each row's own data."""


def _to_generic(rows: list[dict[str, Any]], measure: str, keep: list[str]) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    import pandas as pd

    out: list[dict[str, Any]] = []
    excluded: list[dict[str, str]] = []
    keep = [*keep, *(c for c in GROUP_DATA if c not in keep and any(r.get(c) is not None for r in rows))]
    for r in rows:
        base = {c: r.get(c) for c in keep}
        if r["data_kind"] == "generic":
            yi, vi = _generic_yi_vi(r, measure)
        else:
            if measure not in MEASURE_COLUMNS or r["data_kind"] not in NATIVE or measure not in NATIVE[r["data_kind"]]:
                raise InputError(f"study {r['study']}: {r['data_kind']} data cannot give measure {measure}. "
                                 "Fix the extraction (see `synth extract check`).")
            cols = ["study", *MEASURE_COLUMNS[measure]]
            table = compute_effects(pd.DataFrame([{c: r.get(c) for c in cols}]), measure)
            yi, vi = float(table.yi[0]), float(table.vi[0])
            if not math.isfinite(yi):
                excluded.extend(table.excluded)
                continue
        out.append({**base, "yi": yi, "vi": vi})
    return pd.DataFrame(out, columns=[*keep, "yi", "vi"]), excluded


def meta_effects(df: pd.DataFrame) -> Any:
    """Effect sizes for a :func:`meta_table` frame, labelled with the protocol's measure.

    For a ``GEN`` frame built from mixed data the effects are already on the measure's analysis scale (e.g.
    log RR), so the :class:`synth.meta.effects.EffectTable` is relabelled with ``effect_measure`` and pooled
    results are reported and back-transformed as that measure.
    """
    table = compute_effects(df, df.attrs.get("measure"))
    effect_measure = df.attrs.get("effect_measure")
    if table.measure == "GEN" and effect_measure:
        table.measure = effect_measure
    return table
