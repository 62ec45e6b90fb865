"""`synth screen`: screen records in the terminal, alone or in pairs, blinded; conflicts, agreement, import and
export of decisions, status, full-text retrieval, stopping and simulation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from synth.cli.choices import one_of
from synth.cli.context import get
from synth.cli.output import FORMAT_HELP, Format, emit, emit_json, info
from synth.errors import InputError

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

HELP = (
    "Screen records in the terminal, alone or in pairs, blinded. Without a subcommand, opens the interactive "
    "screen.\n\nExample: synth screen --reviewer alice"
)

STAGE_CHECK = one_of("synth.screening.decisions", "STAGES")
MODEL_CHECK = one_of("synth.screening.prioritise", "MODELS")
StageOpt = Annotated[str, typer.Option("--stage", "-s", help="title-abstract or full-text.", callback=STAGE_CHECK)]
ReviewerOpt = Annotated[
    str | None, typer.Option("--reviewer", "-r", help="Your name as reviewer (default: $SYNTH_REVIEWER).")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]


def _reviewer(ctx: typer.Context, value: str | None, *, required: bool = True) -> str:
    """Who acts: ``--reviewer`` or ``$SYNTH_REVIEWER``; on a team server, the login role (naming anyone else is
    refused, and the server's row-level security would refuse it anyway)."""
    name = (value or os.environ.get("SYNTH_REVIEWER", "")).strip()
    from synth.store.team import check_reviewer

    name = check_reviewer(get(ctx).store, name or None) or ""
    if not name and required:
        raise InputError("no reviewer given. Pass --reviewer NAME or set SYNTH_REVIEWER.")
    return name


def _settings(ctx: typer.Context) -> Any:
    from synth.screening.service import Settings

    return Settings.from_protocol(get(ctx).protocol)


def _seeds(value: str) -> list[int]:
    """``3``, ``0,1,2`` or ``0-4`` (inclusive) as a list of seeds."""
    seeds: list[int] = []
    try:
        for part in value.split(","):
            lo, sep, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a list of seeds. Use e.g. 3, 0,1,2 or 0-4.",
                                 param_hint="--seeds") from None
    if not seeds:
        raise typer.BadParameter(f"'{value}' names no seed. Use e.g. 3, 0,1,2 or 0-4.", param_hint="--seeds")
    return seeds


def _stage(value: str) -> str:
    from synth.screening.service import check_stage

    return check_stage(value)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True, no_args_is_help=False)

    @group.callback()
    def screen(
        ctx: typer.Context,
        stage: StageOpt = "title-abstract",
        reviewer: ReviewerOpt = None,
        model: Annotated[str, typer.Option("--model", help="Prioritisation model: svm, logistic or nb.",
                                           callback=MODEL_CHECK)] = "svm",
    ) -> None:
        """Open the interactive screen (one record at a time, single keys; press ? for help).

        Example: synth screen --stage title-abstract --reviewer alice
        """
        if ctx.invoked_subcommand is not None:
            return
        from synth.screening.tui import run_screen

        info(run_screen(get(ctx).store, _settings(ctx), stage=_stage(stage), reviewer=_reviewer(ctx, reviewer),
                        model=model))

    @group.command("status")
    def status_cmd(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
        """Per stage and reviewer: screened, included, excluded by reason, conflicts, remaining.

        Example: synth screen status --format json
        """
        from synth.screening.service import status

        data = status(get(ctx).store, _settings(ctx))
        rows = []
        for st in data:
            rows.append({"stage": st["stage"], "reviewer": "(all)", "records": st["records"],
                         "screened": st["records"] - st["pending"], "included": st["included"],
                         "excluded": st["excluded"], "excluded_by_reason": st["excluded_by_reason"],
                         "conflicts": st["conflicts"], "remaining": st["pending"]})
            for r in st["reviewers"]:
                rows.append({"stage": st["stage"], "records": st["records"], **r})
        cols = ["stage", "reviewer", "records", "screened", "included", "excluded", "excluded_by_reason",
                "conflicts", "remaining"]
        emit(fmt, rows, cols, title="Screening status", json_data={"stages": data})

    @group.command("conflicts")
    def conflicts_cmd(ctx: typer.Context, stage: StageOpt = "title-abstract", fmt: FormatOpt = Format.table) -> None:
        """List records on which reviewers disagree, with each decision and reason. Resolve them with
        `synth screen resolve`.

        Example: synth screen conflicts --stage title-abstract
        """
        from synth.screening.service import conflicts

        data = conflicts(get(ctx).store, _settings(ctx), _stage(stage))
        rows = [{"record": c["record"], "title": c["title"],
                 "decisions": "; ".join(f"{d['reviewer']}: {d['decision']}" + (f" ({d['reason']})" if d["reason"] else "")
                                        + (f" [{d['note']}]" if d["note"] else "") for d in c["decisions"])}
                for c in data]
        emit(fmt, rows, ["record", "title", "decisions"], title=f"Conflicts at {stage}: {len(rows)}",
             json_data=data)
        if fmt is Format.table and data:
            info("Resolve one with: synth screen resolve RECORD include|exclude [--reason ID] --method consensus")

    @group.command("tags")
    def tags_cmd(
        ctx: typer.Context,
        record: Annotated[int | None, typer.Argument(help="A record to tag (omit to list tags).")] = None,
        add: Annotated[list[str] | None, typer.Option("--add", "-a", help="Tag to add (repeatable).")] = None,
        remove: Annotated[list[str] | None, typer.Option("--remove", help="Tag to remove (repeatable).")] = None,
        reviewer: ReviewerOpt = None,
        tag_filter: Annotated[str | None, typer.Option("--tag", help="List only records with this tag.")] = None,
        everyone: Annotated[bool, typer.Option("--all", help="List every reviewer's tags, not only yours.")] = False,
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Tag records (your own labels, as in the screen's `t` key) or list the tags.

        Example: synth screen tags 12 --add "ask author" --reviewer alice
        Example: synth screen tags --tag "ask author" --all --format csv
        """
        from synth.screening.service import tag, tag_list

        store = get(ctx).store
        if record is not None:
            if not add and not remove:
                raise InputError("nothing to do: give --add TAG or --remove TAG with a record.")
            now = tag(store, record_id=record, reviewer=_reviewer(ctx, reviewer), add=add or [], remove=remove or [])
            info(f"Record {record}: {', '.join(now) or 'no tags'}.")
            return
        who = None if everyone else _reviewer(ctx, reviewer)
        rows = tag_list(store, reviewer=who, tag=tag_filter)
        emit(fmt, rows, ["record", "reviewer", "tag", "at", "title"],
             title=f"Tags{'' if who is None else f' by {who}'}: {len(rows)}")

    @group.command("resolve")
    def resolve_cmd(
        ctx: typer.Context,
        record: Annotated[int, typer.Argument(help="Record id in conflict.")],
        decision: Annotated[str, typer.Argument(help="include or exclude.")],
        reason: Annotated[str | None, typer.Option("--reason", help="Exclusion reason (a criterion id).")] = None,
        method: Annotated[str, typer.Option("--method", help="consensus or third-reviewer.", callback=one_of(
            "synth.screening.service", "RESOLUTION_METHODS"))] = "consensus",
        note: Annotated[str, typer.Option("--note", help="Why.")] = "",
        stage: StageOpt = "title-abstract",
        reviewer: ReviewerOpt = None,
    ) -> None:
        """Resolve a conflict by consensus or by a third reviewer.

        Example: synth screen resolve 42 exclude --reason population --method consensus --reviewer carol
        """
        from synth.screening.service import resolve

        who = _reviewer(ctx, reviewer)
        resolve(get(ctx).store, _settings(ctx), record_id=record, stage=_stage(stage), decision=decision.lower(),
                reason=reason, method=method, resolved_by=who, note=note)
        info(f"Record {record} resolved at {stage}: {decision}{f' ({reason})' if reason else ''} by {method}.")

    @group.command("agreement")
    def agreement_cmd(ctx: typer.Context, stage: StageOpt = "title-abstract", fmt: FormatOpt = Format.table) -> None:
        """Agreement per reviewer pair: percent, Cohen's kappa (95% CI), PABAK, Gwet's AC1, on decisions and
        on exclusion reasons.

        Example: synth screen agreement --stage title-abstract --format json
        """
        from synth.screening.service import agreement

        data = agreement(get(ctx).store, _settings(ctx), _stage(stage))

        def fmt_num(x: Any) -> str:
            return "" if x is None else f"{x:.3f}"

        rows = []
        for pair in data:
            for what in ("decisions", "reasons"):
                a = pair[what]
                ci = a["kappa_ci"]
                rows.append({"reviewers": " & ".join(pair["reviewers"]), "on": what, "n": a["n"],
                             "agreement": fmt_num(a["percent"]), "kappa": fmt_num(a["kappa"]),
                             "kappa_95ci": f"{ci[0]:.3f} to {ci[1]:.3f}" if ci else "",
                             "pabak": fmt_num(a["pabak"]), "ac1": fmt_num(a["ac1"])})
        emit(fmt, rows, ["reviewers", "on", "n", "agreement", "kappa", "kappa_95ci", "pabak", "ac1"],
             title=f"Agreement at {stage}", json_data={"stage": stage, "pairs": data})
        if not data:
            info(f"No two reviewers have screened the same records at {stage} yet.")

    @group.command("import")
    def import_cmd(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="Decisions CSV: record, decision[, reason, note, reviewer, stage].")],
        reviewer: ReviewerOpt = None,
        stage: StageOpt = "title-abstract",
    ) -> None:
        """Import decisions made elsewhere. Every bad row is listed with its line; good rows are imported.

        Example: synth screen import decisions.csv --reviewer alice --stage title-abstract
        """
        from synth.screening.service import import_decisions

        report = import_decisions(get(ctx).store, _settings(ctx), path, reviewer=_reviewer(ctx, reviewer),
                                  stage=_stage(stage))
        info(f"Imported {report.imported} of {report.rows} decisions from {path}.")
        if report.problems:
            for line in report.problems:
                info(f"  {line}")
            raise InputError(
                f"{len(report.problems)} of {report.rows} rows in {path} were not imported (listed above). "
                "Fix those rows and import the file again; rows already imported are simply replaced."
            )

    @group.command("export")
    def export_cmd(
        ctx: typer.Context,
        fmt: Annotated[str, typer.Option("--format", "-f", help="csv (one row per decision) or ris.", callback=one_of(
            "synth.screening.service", "EXPORT_FORMATS"))] = "csv",
        stage: Annotated[str | None, typer.Option("--stage", "-s", help="Only this stage (RIS: default title-abstract).",
                                                  callback=STAGE_CHECK)] = None,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    ) -> None:
        """Export decisions with reasons: CSV (re-importable) or RIS with the decision in N1 as ASReview does.

        Example: synth screen export --format ris --stage title-abstract -o screened.ris
        """
        from synth.screening import interop
        from synth.screening.service import export_entries, export_rows

        settings = _settings(ctx)
        if fmt == "csv":
            text = interop.export_csv(export_rows(get(ctx).store, settings, _stage(stage) if stage else None))
        elif fmt == "ris":
            text = interop.export_ris(export_entries(get(ctx).store, settings, _stage(stage or "title-abstract")))
        else:
            raise InputError(f"unknown export format '{fmt}'. Use csv or ris.")
        if output is None:
            typer.echo(text, nl=False)
        else:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write {output}: {exc.strerror}.") from exc
            info(f"Wrote {output}.")

    @group.command("retrieve")
    def retrieve_cmd(
        ctx: typer.Context,
        record: Annotated[int | None, typer.Argument(help="Report (record id) to update; omit to list.")] = None,
        status: Annotated[str | None, typer.Option("--status", help="sought, retrieved or not-retrieved.", callback=one_of(
            "synth.store.screening", "RETRIEVAL_STATUSES"))] = None,
        location: Annotated[str, typer.Option("--location", help="File path or URL of the full text.")] = "",
        reason: Annotated[str, typer.Option("--reason", help="Why it could not be retrieved.")] = "",
        link_to: Annotated[int | None, typer.Option("--study", help="Link this report to the study whose main report is this record.")] = None,
        reviewer: ReviewerOpt = None,
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Full-text retrieval: list reports with status and open-access links, or set one report's status
        (and link several reports to one study).

        Example: synth screen retrieve 17 --status retrieved --location pdfs/smith2020.pdf
        """
        from synth.screening import service

        store, settings = get(ctx).store, _settings(ctx)
        who = _reviewer(ctx, reviewer, required=False)
        if record is None:
            rows = service.retrieval_list(store, settings)
            emit(fmt, rows, ["record", "study", "status", "location", "reason", "oa_url", "title"],
                 title="Full-text reports")
            return
        if status is None and link_to is None:
            raise InputError("nothing to change: pass --status (sought, retrieved, not-retrieved) or --study ID.")
        if status is not None:
            service.set_retrieval(store, record, status=status, location=location, reason=reason, by=who)
            info(f"Record {record}: {status}.")
        if link_to is not None:
            service.link_report(store, record, link_to, by=who)
            info(f"Record {record} linked to the study of record {link_to}.")

    @group.command("stop")
    def stop_cmd(
        ctx: typer.Context,
        stage: StageOpt = "title-abstract",
        reviewer: ReviewerOpt = None,
        check: Annotated[bool, typer.Option("--check", help="Only show the stopping rules; record nothing.")] = False,
        force: Annotated[bool, typer.Option("--force", help="Record a stop even though the rule says continue.")] = False,
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Record that screening stops, with the protocol's stopping rule ([screening.stopping] rule: hypergeometric,
        knee, random-sample or composite), its parameters and evidence; unscreened records count as excluded by
        automation in PRISMA. --check shows every rule's state, the protocol's first.

        Example: synth screen stop --stage title-abstract --reviewer alice --check
        """
        from synth.screening import service

        store, settings = get(ctx).store, _settings(ctx)
        who = _reviewer(ctx, reviewer, required=False) or None
        if check:
            data = service.stopping_checks(store, settings, _stage(stage), who)
            rows = [{"rule": r["rule"] + (" (protocol)" if r["chosen"] else ""), "stop": r["stop"],
                     "detail": service.rule_detail(r)} for r in data["rules"]]
            u = data["heuristic"]
            rows.append({"rule": "consecutive-excludes", "stop": u["stop"],
                         "detail": f"{u['params']['current_run']} of {u['params']['run']}"})
            emit(fmt, rows, ["rule", "stop", "detail"], title=f"Stopping at {stage}", json_data=data)
            return
        data = service.record_stop(store, settings, _stage(stage), who, who or "", force=force)
        if fmt is Format.json:
            emit_json(data)
        p_value = data["result"]["p_value"]
        info(f"Stop recorded at {stage} ({data['rule']} rule): {data['result']['excluded_by_automation']} records "
             f"left unscreened (excluded by automation)" + (f", p = {p_value:.4g}." if p_value is not None else "."))

    @group.command("simulate")
    def simulate_cmd(
        datasets: Annotated[list[Path], typer.Argument(
            metavar="DATASET...", help="Labelled CSVs with title, abstract and a 0/1 label column (one or more).")],
        label_column: Annotated[str, typer.Option("--label-column", help="The 0/1 label column.")] = "label_included",
        seeds: Annotated[str, typer.Option(
            "--seeds", "--seed", help="Seeds for the priors and the model: 3, 0,1,2 or 0-4.")] = "0",
        prior_included: Annotated[int, typer.Option("--prior-included", min=1)] = 1,
        prior_excluded: Annotated[int, typer.Option("--prior-excluded", min=1)] = 1,
        model: Annotated[str, typer.Option("--model", help="svm, logistic or nb.", callback=MODEL_CHECK)] = "svm",
        recall: Annotated[float, typer.Option("--recall", min=0.01, max=0.99,
                                              help="Recall target of the stopping rules.")] = 0.95,
        confidence: Annotated[float, typer.Option("--confidence", min=0.01, max=0.99,
                                                  help="Confidence of the stopping rules.")] = 0.95,
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Simulate prioritised screening on labelled data, as `asreview simulate` does: WSS@95, WSS@100,
        RRF@10, loss, and for every stopping rule where it stops, the recall it reached and whether that met
        the target; over several data sets and seeds, a per-rule summary to choose a rule with.

        Example: synth screen simulate ADHD.csv Triptans.csv --seeds 0-2 --format json
        """
        from synth.cli.progress import stage_progress
        from synth.screening.prioritise import MODELS
        from synth.screening.simulate import load_dataset, simulate, summarise

        if model not in MODELS:
            raise InputError(f"unknown model '{model}'. Use one of: {', '.join(MODELS)}.")
        seed_list = _seeds(seeds)
        loaded = [(path, load_dataset(path, label_column)) for path in datasets]
        runs = []
        with stage_progress(len(loaded) * len(seed_list), "simulate") as advance:
            for path, data in loaded:
                for seed in seed_list:
                    advance(f"{path.name}, seed {seed}")
                    result = simulate(data, seed=seed, prior_included=prior_included, prior_excluded=prior_excluded,
                                      model=model, recall=recall, confidence=confidence)
                    runs.append({"dataset": path.name, "seed": seed, **result})
        summary = summarise(runs, recall)
        if fmt is Format.json:
            emit_json({"runs": runs, "summary": summary})
            return
        if fmt is Format.csv:
            emit(fmt, [{k: v for k, v in r.items() if k != "stopping"}
                       | {f"{s['rule']}.{k}": v for s in r["stopping"] for k, v in s.items() if k != "rule"}
                       for r in runs])
            return
        rows = [{"dataset": r["dataset"], "seed": r["seed"], "n": r["n"], "included": r["n_included"],
                 "wss@95": r["wss@95"],
                 **{s["rule"]: f"{s['screened']:.0%}/{s['recall_at_stop']:.2f}" + ("" if s["target_met"] else "*")
                    for s in r["stopping"]}} for r in runs]
        emit(fmt, rows, title="Simulated screening: share screened at stop/recall at stop (* target missed)")
        emit(fmt, [{"rule": s["rule"] + (" (default)" if s["default"] else ""),
                    "target met": f"{s['target_met']}/{s['runs']}", "mean screened": f"{s['mean_screened']:.1%}",
                    "mean recall": s["mean_recall"], "lowest recall": s["min_recall"]} for s in summary],
             title=f"Stopping rules at {recall:.0%} recall, {confidence:.0%} confidence")

    app.add_typer(group, name="screen")
