"""`synth meta`: effect sizes, random-effects pooling, heterogeneity, small-study tests, sensitivity analyses,
subgroups, meta-regression and plots, validated against R metafor. A thin reader of CSV files; the numbers come
from :mod:`synth.meta`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synth.cli.choices import in_range, one_of
from synth.cli.output import FORMAT_HELP, Format, emit, emit_json, emit_json_array, info

if TYPE_CHECKING:
    from synth.analysis.outcome import Input

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

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
                 "(default GEN when a yi column exists).", callback=one_of("synth.meta.io", "MEASURES", ignore_case=True)),
]
MethodOpt = Annotated[str | None, typer.Option(
    "--method", help="tau^2 estimator: REML, DL, PM, ML, HE, SJ, HS, EB, or EE (equal effect). Default: REML, or "
    "the protocol's with --outcome.", callback=one_of("synth.meta.estimators", "METHODS", ignore_case=True))]
TestOpt = Annotated[str | None, typer.Option(
    "--test", help="Summary test/CI: hksj, z, t, hksj-adhoc. Default: hksj (z for bias and funnel), or the "
    "protocol's with --outcome.", callback=one_of("synth.meta.pooling", "TESTS", ignore_case=True))]
LevelOpt = Annotated[float | None, typer.Option("--level", help="Confidence level in percent (default 95, or the "
                                                "protocol's with --outcome).",
                                                callback=in_range(0, 100, "a confidence level in percent"))]
PiOpt = Annotated[str | None, typer.Option("--pi", help="Prediction interval: default (normal with z, t(k-1) "
                                           "otherwise) or hts (t(k-2)).",
                                           callback=one_of("synth.meta.pooling", "PI_TYPES", ignore_case=True))]

BackOpt = Annotated[str | None, typer.Option("--back", help="Natural-scale transform for GEN data: exp (log ratios), "
                                              "tanh (Fisher z) or expit (logits).",
                                              callback=one_of("synth.meta.effects", "BACK_KINDS", ignore_case=True))]


def _input(ctx: typer.Context, data: Path | None, outcome: str | None, timepoint: str | None,
           measure: str | None, *text_columns: str | None, check_k: bool = True) -> Input:
    """The effect table from DATA or from ``--outcome`` (the workspace is looked up only for an outcome)."""
    from synth.analysis.outcome import load_input

    c = _ctx(ctx) if outcome is not None else None
    inp = load_input(data, outcome, timepoint, measure, *text_columns, check_k=check_k,
                     workspace=c.workspace if c else None, protocol=c.protocol if c else None,
                     protocol_name=c.protocol_name if c else None,
                     studies=_included(c) if c and data is None else None)
    for note in inp.notes:
        info(note)
    return inp


def _included(c: Any) -> set[str] | None:
    """The studies included at full text in the workspace's store, or None (no store yet, or full-text
    screening not started): an outcome's analysis uses only included studies' extractions."""
    store = c.existing_store()
    if store is None:
        return None
    from synth.extraction.files import load_folder
    from synth.extraction.screening_link import included_studies

    files = [f for f in load_folder(c.workspace.extractions_dir(c.protocol_name))[0] if f.reconciled]
    with store.connect() as conn:
        return included_studies(conn, c.protocol, files)


def _ctx(ctx: typer.Context) -> Any:
    from synth.cli import context

    return context.get(ctx)


def _fmt(v: Any, digits: int = 6) -> str:
    """A cell for the human table (rich markup escaped, so labels like ``alloc[random]`` survive)."""
    from rich.markup import escape

    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.{digits}g}"
    return "" if v is None else escape(str(v))


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, no_args_is_help=True)

    @group.command("effects")
    def effects(
        ctx: typer.Context,
        data: DataArg = None,
        outcome: OutcomeOpt = None,
        timepoint: TimepointOpt = None,
        measure: MeasureOpt = None,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="csv or json (table also accepted).")] = Format.csv,
    ) -> None:
        """Compute per-study effect sizes: the input rows plus yi (analysis scale) and vi (sampling variance).

        Example: synth meta effects trials.csv --measure OR --format csv
        """
        table = _input(ctx, data, outcome, timepoint, measure, check_k=False).table
        from synth.meta.io import as_pandas

        frame = as_pandas(table.frame)
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
        studies: Annotated[bool, typer.Option("--studies", help="With --by and JSON: also list each group's "
                                              "studies (yi, vi, weight); off by default, as it adds about a "
                                              "fifth to a run at collection scale.")] = False,
        back: BackOpt = None,
        cluster: Annotated[str | None, typer.Option("--cluster", help="Multilevel model for dependent effects: "
                                                    "the column naming each effect's study (cluster).")] = None,
        within: Annotated[str | None, typer.Option("--within", help="With --cluster: the level nested in the "
                                                   "cluster (default: each effect its own level).")] = None,
        robust: Annotated[str | None, typer.Option("--robust", help="With --cluster: cluster-robust CR1 and CR2 "
                                                   "(Satterthwaite df) inference clustered by this column.")] = None,
        yi: Annotated[str, typer.Option("--yi", help="With --cluster: the effect-size column.")] = "yi",
        vi: Annotated[str, typer.Option("--vi", help="With --cluster: the sampling-variance column.")] = "vi",
        mods: Annotated[str | None, typer.Option("--mods", help="With --cluster: moderator columns, "
                                                 "comma-separated (as synth meta regress).")] = None,
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
    ) -> None:
        """Pool studies: summary effect, CI and test, tau^2 with Q-profile CI, I^2, H^2, Q, prediction interval.

        With --cluster, several effects per study are pooled with the multilevel model (metafor rma.mv,
        ~ 1 | cluster/within; REML or ML; z test unless --test t), giving sigma2 [between, within]; --robust
        adds cluster-robust CR1 (metafor robust) and CR2 with Satterthwaite df (clubSandwich).

        Example: synth meta pool effects.csv --yi g --vi var_g --cluster study --robust study --format json

        With --outcome the result adds the protocol's sensitivity analysis without high-risk studies
        (``without_high_risk``) and its planned subgroup analyses (``subgroups``).

        Example: synth meta pool trials.csv --measure OR --method REML --test hksj --format json

        Example: synth meta pool --outcome mortality --format json

        With --by, one result per group (a whole collection in one run); per-study lists only with --studies.

        Example: synth meta pool pairwise.csv --by analysis --measure OR --test z --format json
        """
        from synth.meta.summary import NATURAL_COLUMNS, SUMMARY_COLUMNS, summary_row

        if cluster is not None:
            from synth.errors import InputError

            if data is None or by:
                raise InputError("--cluster pools a DATA file with one row per effect size (not --outcome or --by).")
            from synth.analysis.outcome import read_data
            from synth.meta.multilevel import multilevel_frame, multilevel_rows

            texts = tuple(c for c in (cluster, within, robust) if c)
            res = multilevel_frame(read_data(data, *texts), cluster, yi=yi, vi=vi, within=within, robust=robust,
                                   mods=[m.strip() for m in mods.split(",") if m.strip()] if mods else None,
                                   method=(method or "REML"), test=test or "z", level=level or 95.0)
            for e in res["omitted"]:
                info(f"Omitted: {e['study']}: {e['reason']}")
            for w in res["warnings"]:
                info(f"Warning: {w}")
            if fmt is Format.json:
                emit_json(res)
                return
            rows = multilevel_rows(res)
            if fmt is Format.csv:
                emit(fmt, rows)
            elif "coefficients" in res:
                emit(fmt, [{c: _fmt(v) for c, v in r.items()} for r in rows], list(rows[0]),
                     title="Multilevel meta-regression")
                info(f"sigma2 = {_fmt(res['sigma2'][0])} (between), {_fmt(res['sigma2'][1])} (within); k = {res['k']}, "
                     f"{res['clusters']} clusters. Methods: {res['methods']}")
            else:
                emit(fmt, [{"statistic": key, "value": _fmt(val)} for key, val in rows[0].items()],
                     ["statistic", "value"], title="Multilevel meta-analysis")
                info(f"Methods: {res['methods']}")
            return
        if by and data is not None:
            from synth.analysis.options import pool_options
            from synth.analysis.outcome import read_data
            from synth.meta.analysis import pool_by

            opts = pool_options(method=method, test=test, level=level, pi=pi, back=back)
            results = pool_by(read_data(data, by), by, measure, opts, with_studies=studies and fmt is Format.json)
            lines = [f"group {r['group']}: {w}" for r in results for w in r.get("warnings", [])]
            lines += [f"group {r['group']}: excluded {e['study']}: {e['reason']}" for r in results
                      for e in r.get("excluded", [])]
            lines += [f"group {r['group']}: omitted {e['study']}: {e['reason']}" for r in results
                      for e in r.get("omitted", [])]
            for line in lines[:20]:
                info(f"Warning: {line}")
            if len(lines) > 20:
                info(f"Warning: ... and {len(lines) - 20} more (see the warnings/excluded/omitted fields of each group)")
            if fmt is Format.json:
                emit_json_array(results)
            else:
                rows = [{"group": r["group"], **summary_row(r)} for r in results]
                cols = ["group", *SUMMARY_COLUMNS, *NATURAL_COLUMNS, "excluded", "omitted", "warnings", "methods"]
                if fmt is Format.table:
                    rows = [{c: _fmt(r.get(c), 4) for c in cols} for r in rows]
                    cols = ["group", "k", "estimate", "ci_low", "ci_high", "p", "tau2", "i2", "pi_low", "pi_high"]
                emit(fmt, rows, cols, title=f"Meta-analyses by {by}")
            return
        if by:
            from synth.errors import InputError

            raise InputError("--by pools the groups of a DATA file; with --outcome use `synth meta subgroup "
                             "--outcome ID --by FIELD`.")
        from synth.analysis.outcome import pool_input

        inp = _input(ctx, data, outcome, timepoint, measure)
        c = _ctx(ctx) if inp.outcome is not None else None
        res = pool_input(inp, inp.opts(method, test, level, pi, back), workspace=c.workspace if c else None,
                         protocol_name=c.protocol_name if c else None)
        whr = res.get("without_high_risk")
        if whr and whr["left_out"]:
            est = whr.get("estimate")
            info(f"Sensitivity without high-risk studies ({', '.join(whr['left_out'])} left out): k = {whr['k']}"
                 + (f", estimate {_fmt(est, 4)} [{_fmt(whr.get('ci_low'), 4)}, {_fmt(whr.get('ci_high'), 4)}]"
                    if est is not None else ""))
        for w in res["warnings"]:
            info(f"Warning: {w}")
        if fmt is Format.json:
            emit_json(res)
        elif fmt is Format.csv:
            emit(fmt, [summary_row(res)])
        else:
            rows = [{"statistic": c, "value": _fmt(res.get(c))} for c in SUMMARY_COLUMNS]
            for key, v in (res.get("natural") or {}).items():
                rows.append({"statistic": f"natural_{key}", "value": _fmt(v)})
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
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.json,
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
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Leave-one-out, influence diagnostics and cumulative meta-analysis; with --outcome also the analysis
        without studies at high risk of bias (``without_high_risk``) when the protocol plans it.

        Example: synth meta sensitivity trials.csv --measure OR --order-by year --format json

        Example: synth meta sensitivity --outcome quality-of-life --order-by year
        """
        from synth.analysis.outcome import sensitivity_input

        inp = _input(ctx, data, outcome, timepoint, measure)
        res = sensitivity_input(inp, inp.opts(method, test), order_by=order_by)
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
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.json,
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
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Meta-regression (mixed-effects) with continuous and categorical moderators: coefficients, QM test,
        residual heterogeneity, R^2.

        Example: synth meta regress trials.csv --measure OR --mods latitude,allocation --format json
        """
        from synth.meta.regression import meta_regression_frame

        inp = _input(ctx, data, outcome, timepoint, measure)
        res = meta_regression_frame(inp.table, [m.strip() for m in mods.split(",") if m.strip()],
                                    inp.opts(method, test, level, None))
        for e in res["omitted"][len(inp.table.omitted):]:  # the studies left out for a missing moderator
            info(f"Omitted: {e['study']}: {e['reason']}")
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
        arms: Annotated[str | None, typer.Option("--arms", help="The two arms' short names, intervention first "
                                                 "(e.g. 'Partnership,Usual care'); with --outcome the "
                                                 "protocol's [pico] labels.")] = None,
        direction: Annotated[str | None, typer.Option("--direction", help="lower-is-better or higher-is-better: "
                                                      "adds 'Favours ...' under the axis (with --outcome: the "
                                                      "outcome's).")] = None,
    ) -> None:
        """Forest plot in the RevMan style (effects with CIs, weights, per-arm data and totals, diamond,
        prediction interval, subgroups, "Favours ..." labels; with --outcome also the risk-of-bias judgements per
        domain).

        Example: synth meta forest trials.csv --measure OR --arms "Partnership,Usual care" --direction
        lower-is-better -o forest.svg

        Example: synth meta forest --outcome quality-of-life -o qol.svg
        """
        from dataclasses import replace

        from synth.analysis.outcome import pool_table
        from synth.errors import InputError
        from synth.figures.forest import Arms, arms_for, forest_plot

        if direction not in (None, "lower-is-better", "higher-is-better"):
            raise typer.BadParameter("use lower-is-better or higher-is-better", param_hint="--direction")
        inp = _input(ctx, data, outcome, timepoint, measure, by)
        opts = inp.opts(method, test, level, pi, back)
        # an outcome whose studies give several effects is drawn with the model the report uses
        overall = pool_table(inp.frame, inp.table, opts) if inp.frame is not None else None
        names = arms_for(inp.protocol, inp.outcome) if inp.protocol is not None else Arms()
        if arms is not None:
            parts = [a.strip() for a in arms.split(",")]
            if len(parts) != 2 or not all(parts):
                raise InputError(f"--arms {arms!r}: give two names separated by a comma, intervention first, "
                                 "e.g. --arms 'Partnership,Usual care'.")
            names = replace(names, intervention=parts[0], control=parts[1])
        if direction is not None:
            names = replace(names, direction=direction)
        forest_plot(inp.table, output, opts, by=by, overall=overall, arms=names)
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
        from synth.figures.funnel import funnel_plot

        inp = _input(ctx, data, outcome, timepoint, measure)
        if int(inp.table.included.sum()) < 10:
            info("Warning: fewer than 10 studies; funnel plots are hard to interpret with so few studies")
        funnel_plot(inp.table, output, inp.opts(method, "z", 95.0, "default"))
        info(f"Wrote {output}")

    app.add_typer(group, name="meta")
