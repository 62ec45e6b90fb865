"""`synth meta`: effect sizes, random-effects pooling, heterogeneity, small-study tests, sensitivity analyses,
subgroups, meta-regression and plots, validated against R metafor. A thin reader of CSV files; the numbers come
from :mod:`synth.meta`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from synth.cli.output import FORMAT_HELP, Format, emit, emit_json, info

HELP = (
    "Effect sizes and random-effects meta-analysis (REML + HKSJ + Q-profile + prediction interval by default), "
    "validated against R metafor.\n\nExample: synth meta pool data.csv --measure OR"
)

DataArg = Annotated[Path | None, typer.Argument(help="CSV file with one row per study (column `study` as the "
                                                "label); leave out with --outcome.")]
OutcomeOpt = Annotated[str | None, typer.Option(
    "--outcome", help="Analyse a protocol outcome straight from the reconciled extractions instead of DATA; the "
    "protocol's analysis plan sets the measure, estimator, CI method and prediction interval.")]
TimepointOpt = Annotated[str | None, typer.Option(
    "--timepoint", help="With --outcome: the timepoint to analyse (default: the one with most studies).")]
MeasureOpt = Annotated[
    str | None,
    typer.Option("--measure", "-m", help="Effect measure: OR, RR, RD, MD, SMD, ROM, ZCOR, COR, PLO, PR, GEN "
                 "(default GEN when a yi column exists)."),
]
MethodOpt = Annotated[str | None, typer.Option(
    "--method", help="tau^2 estimator: REML, DL, PM, ML, HE, SJ, HS, EB, or EE (equal effect). Default: REML, or "
    "the protocol's with --outcome.")]
TestOpt = Annotated[str | None, typer.Option(
    "--test", help="Summary test/CI: hksj, z, t, hksj-adhoc. Default: hksj (z for bias and funnel), or the "
    "protocol's with --outcome.")]
LevelOpt = Annotated[float | None, typer.Option("--level", help="Confidence level in percent (default 95, or the "
                                                "protocol's with --outcome).")]
PiOpt = Annotated[str | None, typer.Option("--pi", help="Prediction interval: default (normal with z, t(k-1) "
                                           "otherwise) or hts (t(k-2)).")]

SUMMARY_COLUMNS = ["k", "measure", "method", "test", "estimate", "se", "ci_low", "ci_high", "stat", "p", "df",
                   "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "i2", "i2_ci_low", "i2_ci_high", "h2", "q", "q_df",
                   "q_p", "pi_low", "pi_high"]


BackOpt = Annotated[str | None, typer.Option("--back", help="Natural-scale transform for GEN data: exp (log ratios), "
                                              "tanh (Fisher z) or expit (logits).")]


@dataclass
class Input:
    """What a meta command analyses: an effect table from a CSV file or from a protocol outcome."""

    table: Any
    frame: Any = None
    protocol: Any = None
    outcome: str | None = None

    def opts(self, method: str | None, test: str | None, level: float | None, pi: str | None,
             back: str | None = None, *, default_test: str = "hksj") -> Any:
        """Explicit options win; then the protocol's plan (with --outcome); then synth's defaults."""
        if self.protocol is not None:
            from synth.extraction.meta_bridge import plan_options

            return plan_options(self.protocol, method=method, test=test, level=level, pi=pi, back=back)
        return _opts(method or "REML", test or default_test, 95.0 if level is None else level, pi or "default", back)


def _opts(method: str, test: str, level: float, pi: str, back: str | None = None) -> Any:
    from synth.meta.pooling import PoolOptions

    o = PoolOptions(method=method.upper(), test=test.lower(), level=level, pi=pi.lower(),
                    back=back.lower() if back else None)
    o.validate()
    return o


def _input(ctx: typer.Context, data: Path | None, outcome: str | None, timepoint: str | None,
           measure: str | None, *text_columns: str | None, check_k: bool = True) -> Input:
    """The effect table from DATA or from ``--outcome`` (exactly one of them)."""
    from synth.errors import InputError
    from synth.meta.effects import compute_effects, ensure_k

    if (data is None) == (outcome is None):
        raise InputError("give either a DATA file or --outcome ID (not both). Example: synth meta pool "
                         "--outcome mortality")
    if outcome is None:
        if timepoint:
            raise InputError("--timepoint only applies with --outcome.")
        assert data is not None
        table = compute_effects(_read(data, *text_columns), measure)
        if check_k:
            ensure_k(table)
        for e in table.excluded:
            info(f"Excluded: {e['study']}: {e['reason']}")
        return Input(table)
    from synth.cli import context
    from synth.extraction.meta_bridge import meta_effects, meta_table

    if measure:
        raise InputError(f"--measure cannot be used with --outcome: the protocol sets the measure of '{outcome}'.")
    c = context.get(ctx)
    frame = meta_table(c.workspace, c.protocol, outcome, timepoint, protocol_name=c.protocol_name)
    for col in text_columns:
        if col and col not in frame.columns:
            raise InputError(f"'{col}' is not a column of the extraction table for '{outcome}'. Use one of: "
                             f"{', '.join(str(x) for x in frame.columns)}.")
    table = meta_effects(frame)
    if check_k:
        ensure_k(table)
    for e in [*frame.attrs.get("excluded", []), *table.excluded]:
        info(f"Excluded: {e['study']}: {e['reason']}")
    info(f"Outcome {outcome}: {int(table.included.sum())} studies at timepoint {frame.attrs['timepoint']} "
         f"({frame.attrs['scale']}).")
    return Input(table, frame, c.protocol, outcome)


def _fmt(v: Any, digits: int = 6) -> str:
    """A cell for the human table (rich markup escaped, so labels like ``alloc[random]`` survive)."""
    from rich.markup import escape

    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.{digits}g}"
    return "" if v is None else escape(str(v))


def _warn(res: dict[str, Any], prefix: str = "") -> None:
    for w in res.get("warnings", []):
        info(f"Warning: {prefix}{w}")
    for e in res.get("excluded", []):
        info(f"Excluded: {prefix}{e['study']}: {e['reason']}")


def _flat(res: dict[str, Any]) -> dict[str, Any]:
    row = {c: res.get(c) for c in SUMMARY_COLUMNS}
    back = res.get("back") or {}
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        row[f"back_{key}"] = back.get(key)
    row["excluded"] = "; ".join(f"{e['study']}: {e['reason']}" for e in res.get("excluded", []))
    row["warnings"] = "; ".join(res.get("warnings", []))
    row["methods"] = res.get("methods", "")
    return row


def _read(data: Path, *text_columns: str | None) -> Any:
    from synth.meta.io import read_csv

    return read_csv(data, tuple(c for c in text_columns if c))


def _ctx(ctx: typer.Context) -> Any:
    from synth.cli import context

    return context.get(ctx)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, no_args_is_help=True)

    @group.command("effects")
    def effects(
        ctx: typer.Context,
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        fmt: Annotated[Format, typer.Option("--format", help="csv or json (table also accepted).")] = Format.csv,
    ) -> None:
        """Compute per-study effect sizes: the input rows plus yi (analysis scale) and vi (sampling variance).

        Example: synth meta effects trials.csv --measure OR --format csv
        """
        table = _input(ctx, data, outcome, timepoint, measure, check_k=False).table
        frame = table.frame
        rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                for r in frame.to_dict(orient="records")]
        if fmt is Format.table:
            rows = [{k: _fmt(v) for k, v in r.items()} for r in rows]
        emit(fmt, rows, list(frame.columns), title=f"Effect sizes ({table.measure})")

    @group.command("pool")
    def pool(
        ctx: typer.Context,
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        method: MethodOpt = None,
        test: TestOpt = None,
        level: LevelOpt = None,
        pi: PiOpt = None,
        by: Annotated[str | None, typer.Option("--by", help="Pool separately for each value of this column "
                                                "(vectorised; thousands of analyses in one run).")] = None,
        back: BackOpt = None,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.table,
    ) -> None:
        """Pool studies: summary effect, CI and test, tau^2 with Q-profile CI, I^2, H^2, Q, prediction interval.

        With --outcome the result adds the protocol's sensitivity analysis without high-risk studies
        (``without_high_risk``) and its planned subgroup analyses (``subgroups``).

        Example: synth meta pool trials.csv --measure OR --method REML --test hksj --format json

        Example: synth meta pool --outcome mortality --format json
        """
        from synth.meta.analysis import pool_by, pool_effects

        if by and data is not None:
            opts = _opts(method or "REML", test or "hksj", 95.0 if level is None else level, pi or "default", back)
            results = pool_by(_read(data, by), by, measure, opts, with_studies=fmt is Format.json)
            lines = [f"group {r['group']}: {w}" for r in results for w in r.get("warnings", [])]
            lines += [f"group {r['group']}: excluded {e['study']}: {e['reason']}" for r in results
                      for e in r.get("excluded", [])]
            for line in lines[:20]:
                info(f"Warning: {line}")
            if len(lines) > 20:
                info(f"Warning: ... and {len(lines) - 20} more (see the warnings/excluded fields of each group)")
            if fmt is Format.json:
                emit_json(results)
            else:
                rows = [{"group": r["group"], **_flat(r)} for r in results]
                cols = ["group", *SUMMARY_COLUMNS, "back_estimate", "back_ci_low", "back_ci_high",
                        "back_pi_low", "back_pi_high", "excluded", "warnings", "methods"]
                if fmt is Format.table:
                    rows = [{c: _fmt(r.get(c), 4) for c in cols} for r in rows]
                    cols = ["group", "k", "estimate", "ci_low", "ci_high", "p", "tau2", "i2", "pi_low", "pi_high"]
                emit(fmt, rows, cols, title=f"Meta-analyses by {by}")
            return
        if by:
            from synth.errors import InputError

            raise InputError("--by pools the groups of a DATA file; with --outcome use `synth meta subgroup "
                             "--outcome ID --by FIELD`.")
        inp = _input(ctx, data, outcome, timepoint, measure)
        opts = inp.opts(method, test, level, pi, back)
        if inp.outcome is not None:
            from synth.extraction.meta_bridge import outcome_analysis

            assert inp.protocol is not None
            c = _ctx(ctx)
            full = outcome_analysis(c.workspace, inp.protocol, inp.outcome, protocol_name=c.protocol_name,
                                    opts=opts, frame=inp.frame, table=inp.table)
            res = {**full["pool"], "outcome": inp.outcome, "timepoint": full["timepoint"], "scale": full["scale"],
                   "without_high_risk": full["without_high_risk"], "subgroups": full["subgroups"]}
            whr = full["without_high_risk"]
            if whr and whr["left_out"]:
                est = whr.get("estimate")
                info(f"Sensitivity without high-risk studies ({', '.join(whr['left_out'])} left out): k = {whr['k']}"
                     + (f", estimate {_fmt(est, 4)} [{_fmt(whr.get('ci_low'), 4)}, {_fmt(whr.get('ci_high'), 4)}]"
                        if est is not None else ""))
        else:
            res = pool_effects(inp.table, opts)
        for w in res["warnings"]:
            info(f"Warning: {w}")
        if fmt is Format.json:
            emit_json(res)
        elif fmt is Format.csv:
            emit(fmt, [_flat(res)])
        else:
            rows = [{"statistic": c, "value": _fmt(res.get(c))} for c in SUMMARY_COLUMNS]
            for key, v in (res.get("back") or {}).items():
                rows.append({"statistic": f"{key} (natural scale)", "value": _fmt(v)})
            emit(fmt, rows, ["statistic", "value"], title="Meta-analysis")
            info(f"Methods: {res['methods']}")

    @group.command("bias")
    def bias(
        ctx: typer.Context,
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        method: MethodOpt = None,
        test: TestOpt = None,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Small-study effects: Egger's regression test, Begg's rank test, trim-and-fill (warns below 10 studies).

        Example: synth meta bias trials.csv --measure OR --format json
        """
        from synth.meta.bias import bias_report

        inp = _input(ctx, data, outcome, timepoint, measure)
        res = bias_report(inp.table, inp.opts(method, test, 95.0, "default", default_test="z"))
        for w in res.get("warnings", []):
            info(f"Warning: {w}")
        if fmt is Format.json:
            emit_json(res)
        else:
            rows = [{"test": name, **{k: _fmt(v) for k, v in res[name].items()}} for name in ("egger", "begg", "trimfill")]
            cols = sorted({c for r in rows for c in r}, key=lambda c: (c != "test", c))
            emit(fmt, rows, cols, title="Small-study effects")

    @group.command("sensitivity")
    def sensitivity(
        ctx: typer.Context,
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        method: MethodOpt = None,
        test: TestOpt = None,
        order_by: Annotated[str | None, typer.Option("--order-by", help="Column ordering the cumulative "
                                                     "meta-analysis (e.g. year); default: file order.")] = None,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Leave-one-out, influence diagnostics and cumulative meta-analysis; with --outcome also the analysis
        without studies at high risk of bias (``without_high_risk``) when the protocol plans it.

        Example: synth meta sensitivity trials.csv --measure OR --order-by year --format json

        Example: synth meta sensitivity --outcome quality-of-life --order-by year
        """
        from synth.meta.sensitivity import sensitivity_report

        inp = _input(ctx, data, outcome, timepoint, measure)
        opts = inp.opts(method, test, None, None)
        res = sensitivity_report(inp.table, opts, order_by=order_by)
        if inp.outcome is not None and inp.protocol is not None and inp.protocol.analysis.exclude_high_risk_sensitivity:
            from synth.extraction.meta_bridge import high_risk_sensitivity

            res["without_high_risk"] = high_risk_sensitivity(inp.frame, opts)
        if fmt is Format.json:
            emit_json(res)
        else:
            whr = res.get("without_high_risk")
            if whr is not None:
                row = {k: _fmt(whr.get(k)) for k in ("k", "estimate", "ci_low", "ci_high", "tau2", "i2")}
                emit(fmt, [{"left_out": ", ".join(whr["left_out"]) or "none", **row}],
                     ["left_out", "k", "estimate", "ci_low", "ci_high", "tau2", "i2"], title="without high-risk studies")
            for name in ("leave_one_out", "influence", "cumulative"):
                rows = [{k: _fmt(v) for k, v in r.items()} for r in res[name]]
                emit(fmt, rows, list(rows[0]) if rows else [], title=name)

    @group.command("subgroup")
    def subgroup(
        ctx: typer.Context,
        by: Annotated[str, typer.Option("--by", help="Column holding the subgroup of each study (with --outcome: "
                                        "a study-level extraction field).")],
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        method: MethodOpt = None,
        test: TestOpt = None,
        level: LevelOpt = None,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Subgroup analysis: separate tau^2 per subgroup + test for subgroup differences, and the common-tau^2
        mixed-effects model.

        Example: synth meta subgroup trials.csv --measure OR --by setting --format json
        """
        from synth.meta.subgroup import subgroup_analysis

        inp = _input(ctx, data, outcome, timepoint, measure, by)
        res = subgroup_analysis(inp.table, by, inp.opts(method, test, level, None))
        for w in res.get("warnings", []):
            info(f"Warning: {w}")
        if fmt is Format.json:
            emit_json(res)
        else:
            rows = [{"group": _fmt(g["group"]), **{c: _fmt(g.get(c)) for c in ("k", "estimate", "ci_low", "ci_high",
                                                                         "tau2", "i2")}} for g in res["subgroups"]]
            emit(fmt, rows, ["group", "k", "estimate", "ci_low", "ci_high", "tau2", "i2"], title=f"Subgroups by {by}")
            t = res["test_separate"]
            info(f"Test for subgroup differences (separate tau^2): Q = {_fmt(t['q'])}, df = {t['df']}, p = {_fmt(t['p'])}")

    @group.command("regress")
    def regress(
        ctx: typer.Context,
        mods: Annotated[str, typer.Option("--mods", help="Moderator columns, comma-separated (numeric = continuous, "
                                          "otherwise categorical; prefix with cat: to force categorical).")],
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        method: MethodOpt = None,
        test: TestOpt = None,
        level: LevelOpt = None,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Meta-regression (mixed-effects) with continuous and categorical moderators: coefficients, QM test,
        residual heterogeneity, R^2.

        Example: synth meta regress trials.csv --measure OR --mods latitude,allocation --format json
        """
        from synth.meta.regression import meta_regression_frame

        inp = _input(ctx, data, outcome, timepoint, measure)
        res = meta_regression_frame(inp.table, [m.strip() for m in mods.split(",") if m.strip()],
                                    inp.opts(method, test, level, None))
        for w in res.get("warnings", []):
            info(f"Warning: {w}")
        if fmt is Format.json:
            emit_json(res)
        else:
            rows = [{c: _fmt(v) for c, v in r.items()} for r in res["coefficients"]]
            emit(fmt, rows, list(rows[0]), title="Meta-regression")
            info(f"QM = {_fmt(res['qm'])} (df {res['qm_df']}), p = {_fmt(res['qm_p'])}; tau2 = {_fmt(res['tau2'])}; "
                 f"R2 = {_fmt(res['r2'])}%")

    @group.command("forest")
    def forest(
        ctx: typer.Context,
        output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .svg or .png.")],
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        method: MethodOpt = None,
        test: TestOpt = None,
        level: LevelOpt = None,
        pi: PiOpt = None,
        by: Annotated[str | None, typer.Option("--by", help="Subgroup column (subgroup blocks).")] = None,
        back: BackOpt = None,
    ) -> None:
        """Forest plot in the RevMan style (effects with CIs, weights, diamond, prediction interval, subgroups;
        with --outcome also the risk-of-bias judgements per domain).

        Example: synth meta forest trials.csv --measure OR -o forest.svg

        Example: synth meta forest --outcome quality-of-life -o qol.svg
        """
        from synth.meta.plots import forest_plot

        inp = _input(ctx, data, outcome, timepoint, measure, by)
        forest_plot(inp.table, output, inp.opts(method, test, level, pi, back), by=by)
        info(f"Wrote {output}")

    @group.command("funnel")
    def funnel(
        ctx: typer.Context,
        output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .svg or .png.")],
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        method: MethodOpt = None,
    ) -> None:
        """Contour-enhanced funnel plot (90/95/99% significance contours around 0).

        Example: synth meta funnel trials.csv --measure OR -o funnel.png
        """
        from synth.meta.plots import funnel_plot

        inp = _input(ctx, data, outcome, timepoint, measure)
        if int(inp.table.included.sum()) < 10:
            info("Warning: fewer than 10 studies; funnel plots are hard to interpret with so few studies")
        funnel_plot(inp.table, output, inp.opts(method, "z", 95.0, "default"))
        info(f"Wrote {output}")

    app.add_typer(group, name="meta")
