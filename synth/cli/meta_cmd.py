"""`synth meta`: effect sizes, random-effects pooling, heterogeneity, small-study tests, sensitivity analyses,
subgroups, meta-regression and plots, validated against R metafor. A thin reader of CSV files; the numbers come
from :mod:`synth.meta`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from synth.cli.output import FORMAT_HELP, Format, emit, emit_json, info

HELP = (
    "Effect sizes and random-effects meta-analysis (REML + HKSJ + Q-profile + prediction interval by default), "
    "validated against R metafor.\n\nExample: synth meta pool data.csv --measure OR"
)

DataArg = Annotated[Path, typer.Argument(help="CSV file with one row per study (column `study` as the label).")]
MeasureOpt = Annotated[
    str | None,
    typer.Option("--measure", "-m", help="Effect measure: OR, RR, RD, MD, SMD, ROM, ZCOR, COR, PLO, PR, GEN "
                 "(default GEN when a yi column exists)."),
]
MethodOpt = Annotated[str, typer.Option("--method", help="tau^2 estimator: REML, DL, PM, ML, HE, SJ, HS, EB, or EE "
                                        "(equal effect).")]
TestOpt = Annotated[str, typer.Option("--test", help="Summary test/CI: hksj, z, t, hksj-adhoc.")]
LevelOpt = Annotated[float, typer.Option("--level", help="Confidence level in percent.")]
PiOpt = Annotated[str, typer.Option("--pi", help="Prediction interval: default (normal with z, t(k-1) otherwise) "
                                    "or hts (t(k-2)).")]

SUMMARY_COLUMNS = ["k", "measure", "method", "test", "estimate", "se", "ci_low", "ci_high", "stat", "p", "df",
                   "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "i2", "i2_ci_low", "i2_ci_high", "h2", "q", "q_df",
                   "q_p", "pi_low", "pi_high"]


BackOpt = Annotated[str | None, typer.Option("--back", help="Natural-scale transform for GEN data: exp (log ratios), "
                                              "tanh (Fisher z) or expit (logits).")]


def _opts(method: str, test: str, level: float, pi: str, back: str | None = None) -> Any:
    from synth.meta.pooling import PoolOptions

    o = PoolOptions(method=method.upper(), test=test.lower(), level=level, pi=pi.lower(),
                    back=back.lower() if back else None)
    o.validate()
    return o


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


def _frame_and_table(data: Path, measure: str | None, *text_columns: str | None) -> Any:
    from synth.meta.effects import compute_effects, ensure_k

    table = compute_effects(_read(data, *text_columns), measure)
    ensure_k(table)
    for e in table.excluded:
        info(f"Excluded: {e['study']}: {e['reason']}")
    return table


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, no_args_is_help=True)

    @group.command("effects")
    def effects(
        data: DataArg,
        measure: MeasureOpt = None,
        fmt: Annotated[Format, typer.Option("--format", help="csv or json (table also accepted).")] = Format.csv,
    ) -> None:
        """Compute per-study effect sizes: the input rows plus yi (analysis scale) and vi (sampling variance).

        Example: synth meta effects trials.csv --measure OR --format csv
        """
        from synth.meta.effects import compute_effects

        table = compute_effects(_read(data), measure)
        for e in table.excluded:
            info(f"Excluded: {e['study']}: {e['reason']}")
        frame = table.frame
        rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                for r in frame.to_dict(orient="records")]
        if fmt is Format.table:
            rows = [{k: _fmt(v) for k, v in r.items()} for r in rows]
        emit(fmt, rows, list(frame.columns), title=f"Effect sizes ({table.measure})")

    @group.command("pool")
    def pool(
        data: DataArg,
        measure: MeasureOpt = None,
        method: MethodOpt = "REML",
        test: TestOpt = "hksj",
        level: LevelOpt = 95.0,
        pi: PiOpt = "default",
        by: Annotated[str | None, typer.Option("--by", help="Pool separately for each value of this column "
                                                "(vectorised; thousands of analyses in one run).")] = None,
        back: BackOpt = None,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.table,
    ) -> None:
        """Pool studies: summary effect, CI and test, tau^2 with Q-profile CI, I^2, H^2, Q, prediction interval.

        Example: synth meta pool trials.csv --measure OR --method REML --test hksj --format json
        """
        from synth.meta.analysis import pool_by, pool_effects

        opts = _opts(method, test, level, pi, back)
        if by:
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
        res = pool_effects(_frame_and_table(data, measure), opts)
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
        data: DataArg,
        measure: MeasureOpt = None,
        method: MethodOpt = "REML",
        test: TestOpt = "z",
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Small-study effects: Egger's regression test, Begg's rank test, trim-and-fill (warns below 10 studies).

        Example: synth meta bias trials.csv --measure OR --format json
        """
        from synth.meta.bias import bias_report

        table = _frame_and_table(data, measure)
        res = bias_report(table, _opts(method, test, 95.0, "default"))
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
        data: DataArg,
        measure: MeasureOpt = None,
        method: MethodOpt = "REML",
        test: TestOpt = "hksj",
        order_by: Annotated[str | None, typer.Option("--order-by", help="Column ordering the cumulative "
                                                     "meta-analysis (e.g. year); default: file order.")] = None,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Leave-one-out, influence diagnostics and cumulative meta-analysis.

        Example: synth meta sensitivity trials.csv --measure OR --order-by year --format json
        """
        from synth.meta.sensitivity import sensitivity_report

        table = _frame_and_table(data, measure)
        res = sensitivity_report(table, _opts(method, test, 95.0, "default"), order_by=order_by)
        if fmt is Format.json:
            emit_json(res)
        else:
            for name in ("leave_one_out", "influence", "cumulative"):
                rows = [{k: _fmt(v) for k, v in r.items()} for r in res[name]]
                emit(fmt, rows, list(rows[0]) if rows else [], title=name)

    @group.command("subgroup")
    def subgroup(
        data: DataArg,
        by: Annotated[str, typer.Option("--by", help="Column holding the subgroup of each study.")],
        measure: MeasureOpt = None,
        method: MethodOpt = "REML",
        test: TestOpt = "hksj",
        level: LevelOpt = 95.0,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Subgroup analysis: separate tau^2 per subgroup + test for subgroup differences, and the common-tau^2
        mixed-effects model.

        Example: synth meta subgroup trials.csv --measure OR --by setting --format json
        """
        from synth.meta.subgroup import subgroup_analysis

        table = _frame_and_table(data, measure, by)
        res = subgroup_analysis(table, by, _opts(method, test, level, "default"))
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
        data: DataArg,
        mods: Annotated[str, typer.Option("--mods", help="Moderator columns, comma-separated (numeric = continuous, "
                                          "otherwise categorical; prefix with cat: to force categorical).")],
        measure: MeasureOpt = None,
        method: MethodOpt = "REML",
        test: TestOpt = "hksj",
        level: LevelOpt = 95.0,
        fmt: Annotated[Format, typer.Option("--format", help=FORMAT_HELP)] = Format.json,
    ) -> None:
        """Meta-regression (mixed-effects) with continuous and categorical moderators: coefficients, QM test,
        residual heterogeneity, R^2.

        Example: synth meta regress trials.csv --measure OR --mods latitude,allocation --format json
        """
        from synth.meta.regression import meta_regression_frame

        table = _frame_and_table(data, measure)
        res = meta_regression_frame(table, [m.strip() for m in mods.split(",") if m.strip()],
                                    _opts(method, test, level, "default"))
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
        data: DataArg,
        output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .svg or .png.")],
        measure: MeasureOpt = None,
        method: MethodOpt = "REML",
        test: TestOpt = "hksj",
        level: LevelOpt = 95.0,
        pi: PiOpt = "default",
        by: Annotated[str | None, typer.Option("--by", help="Subgroup column (subgroup blocks).")] = None,
        back: BackOpt = None,
    ) -> None:
        """Forest plot in the RevMan style (effects with CIs, weights, diamond, prediction interval, subgroups).

        Example: synth meta forest trials.csv --measure OR -o forest.svg
        """
        from synth.meta.plots import forest_plot

        table = _frame_and_table(data, measure, by)
        forest_plot(table, output, _opts(method, test, level, pi, back), by=by)
        info(f"Wrote {output}")

    @group.command("funnel")
    def funnel(
        data: DataArg,
        output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .svg or .png.")],
        measure: MeasureOpt = None,
        method: MethodOpt = "REML",
    ) -> None:
        """Contour-enhanced funnel plot (90/95/99% significance contours around 0).

        Example: synth meta funnel trials.csv --measure OR -o funnel.png
        """
        from synth.meta.plots import funnel_plot

        table = _frame_and_table(data, measure)
        if int(table.included.sum()) < 10:
            info("Warning: fewer than 10 studies; funnel plots are hard to interpret with so few studies")
        funnel_plot(table, output, _opts(method, "z", 95.0, "default"))
        info(f"Wrote {output}")

    app.add_typer(group, name="meta")
