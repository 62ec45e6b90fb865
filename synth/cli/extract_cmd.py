"""`synth extract`: extraction forms, validation, double extraction, reconciliation, risk of bias, tables.

The files in ``extractions/<protocol>/`` are the record of truth (see docs/extraction.md); these commands
write, check, compare and tabulate them. Nothing is overwritten without the reviewer's confirmation.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synth.cli.choices import one_of
from synth.cli.context import Context, get
from synth.cli.output import FORMAT_HELP, Format, emit, emit_json, info
from synth.errors import InputError
from synth.wording import count

if TYPE_CHECKING:
    from synth.extraction.files import ExtractionFile
    from synth.extraction.problems import Problem

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

HELP = "Extraction forms, double extraction, risk of bias and the analysis table.\n\nExample: synth extract check"

ReviewerOpt = Annotated[
    str | None,
    typer.Option("--reviewer", "-r", help="Reviewer id (default: $SYNTH_REVIEWER; none = the reconciled file)."),
]


def _reviewer(value: str | None) -> str | None:
    from synth.extraction.files import check_id

    name = value or os.environ.get("SYNTH_REVIEWER") or None
    return check_id(name, "reviewer") if name else None


def _folder(c: Context) -> Path:
    return c.workspace.extractions_dir(c.protocol_name)


def _path_for(c: Context, study: str, reviewer: str | None) -> Path:
    from synth.extraction.service import path_for

    return path_for(_folder(c), study, reviewer)


def _log(c: Context, action: str, study: str, path: Path, actor: str | None, **extra: Any) -> None:
    from synth.extraction.service import log_event

    log_event(c.store, action, study, path, actor, **extra)


def _confirm_overwrite(path: Path, yes: bool) -> None:
    if path.exists() and not yes and not typer.confirm(f"{path} exists. Overwrite it?", default=False):
        raise InputError(f"{path} exists and was not overwritten. Nothing was changed.")


def _problems_out(c: Context, problems: list[Problem], fmt: Format) -> None:
    root = f"{c.workspace.root}{os.sep}"
    rows = [{**p.as_dict(), "file": p.file.replace(root, "")} for p in problems]
    if fmt is Format.table:  # one folder: the file name is enough on a terminal
        rows = [{**r, "file": ", ".join(Path(f).name for f in r["file"].split(", "))} for r in rows]
    emit(fmt, rows, ["file", "path", "message", "fix"], title="Extraction problems", json_data=rows)


def _load(c: Context) -> tuple[list[ExtractionFile], list[Problem]]:
    from synth.extraction.files import load_folder

    return load_folder(_folder(c))


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, no_args_is_help=True)

    @group.command("new")
    def new(
        ctx: typer.Context,
        study: Annotated[str, typer.Argument(help="Study id: lower-case letters, digits, '-', e.g. smith-2019.")],
        reviewer: ReviewerOpt = None,
        record: Annotated[list[int] | None, typer.Option("--record", help="Record id of a report of this study (repeatable; the first is the main report).")] = None,
        interactive: Annotated[bool, typer.Option("--interactive", "-i", help="Answer the form at prompts instead of editing a template.")] = False,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Overwrite an existing file without asking.")] = False,
    ) -> None:
        """Write an extraction template for STUDY, prefilled from its records.

        Example: synth extract new smith-2019 --reviewer alice --record 12
        """
        from synth.extraction.files import dumps, write_text
        from synth.extraction.forms import prompt_characteristics, prompt_outcomes, template

        c = get(ctx)
        name = _reviewer(reviewer)
        path = _path_for(c, study, name)
        _confirm_overwrite(path, yes)
        from synth.extraction.service import citation_from_records

        citation = citation_from_records(c.store, record) if record else {}
        text = template(c.protocol, c.protocol_name, study, name, citation)
        if interactive:
            import datetime as dt

            def ask(question: str, default: str) -> str:
                return str(typer.prompt(question, default=default, show_default=False))

            if not citation.get("label"):
                citation["label"] = ask("Study label (first author and year, e.g. Smith 2019)", "")
            chars = prompt_characteristics(c.protocol, ask)
            rows = prompt_outcomes(c.protocol, ask)
            data = {"schema_version": 1, "study": study, "protocol": c.protocol_name, "reviewer": name or "consensus",
                    "status": "draft", "updated": dt.date.today(), "citation": citation,
                    "characteristics": chars, "outcomes": rows}
            text = dumps(data)
        write_text(path, text, overwrite=True)
        _log(c, "new", study, path, name)
        info(f"Wrote {path}. Fill it in with `synth extract edit {study}`, then run `synth extract check`.")

    @group.command("edit")
    def edit(
        ctx: typer.Context,
        study: Annotated[str, typer.Argument(help="Study id.")],
        reviewer: ReviewerOpt = None,
    ) -> None:
        """Open STUDY's file in $VISUAL/$EDITOR and validate it on save (re-open until it is clean or you stop).

        Example: synth extract edit smith-2019 --reviewer alice
        """
        from synth.extraction.files import read_file
        from synth.extraction.validate import validate_file

        c = get(ctx)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            raise InputError("no editor configured: set $EDITOR (e.g. `export EDITOR=nano`) and run again.")
        path = _path_for(c, study, _reviewer(reviewer))
        if not path.exists():
            raise InputError(f"{path} does not exist. Create it with `synth extract new {study}`.")
        while True:
            result = subprocess.run([*shlex.split(editor), str(path)], check=False)
            if result.returncode != 0:
                raise InputError(f"the editor '{editor}' exited with code {result.returncode}; the file is as saved.")
            try:
                problems = validate_file(read_file(path), c.protocol, c.protocol_name)
            except InputError as exc:
                problems_text = [str(exc)]
            else:
                problems_text = [str(p) for p in problems]
            if not problems_text:
                info(f"{path}: no problems.")
                return
            for line in problems_text:
                info(line)
            if not typer.confirm(f"{count(len(problems_text), 'problem')}. Edit again?", default=True):
                raise typer.Exit(1)

    @group.command("status")
    def status(
        ctx: typer.Context,
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
    ) -> None:
        """Where each study stands: reviewer files, reconciled file, outcome rows, assessments, problems.

        Example: synth extract status
        """
        from synth.extraction.service import status_rows

        c = get(ctx)
        rows, n_problems = status_rows(_folder(c), c.protocol, c.protocol_name)
        emit(fmt, rows, ["study", "reviewers", "reconciled", "outcome_rows", "rob", "problems"], title="Extraction status")
        done = sum(1 for r in rows if r["reconciled"])
        info(f"{count(len(rows), 'study', 'studies')}, {done} reconciled, {count(n_problems, 'problem')}.")

    @group.command("check")
    def check(
        ctx: typer.Context,
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
    ) -> None:
        """Validate every extraction file against the protocol; list every problem (exit 1 if any).

        Example: synth extract check --format json
        """
        from synth.extraction.service import check_folder

        c = get(ctx)
        files, problems = check_folder(_folder(c), c.protocol, c.protocol_name, c.store)
        if fmt is Format.json or problems:
            _problems_out(c, problems, fmt)
        info(f"{count(len(files), 'file')} checked in {_folder(c)}: {count(len(problems), 'problem')}.")
        if problems:
            raise typer.Exit(1)

    @group.command("compare")
    def compare_cmd(
        ctx: typer.Context,
        study: Annotated[str | None, typer.Argument(help="Study id (default: every study with two reviewer files).")] = None,
        rel_tol: Annotated[float, typer.Option("--rel-tol", help="Relative tolerance for numbers.")] = 1e-3,
        abs_tol: Annotated[float, typer.Option("--abs-tol", help="Absolute tolerance for numbers.")] = 1e-9,
        show_all: Annotated[bool, typer.Option("--all", help="List agreeing fields too.")] = False,
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
    ) -> None:
        """Field-by-field discrepancies between two reviewers, and agreement per field type.

        Example: synth extract compare smith-2019
        """
        from synth.extraction.compare import agreement, methods_text
        from synth.extraction.service import compare_reviewers

        c = get(ctx)
        result = compare_reviewers(_folder(c), c.protocol, study, rel_tol, abs_tol)
        for note in result.notes:
            info(note)
        items, pairs = result.items, result.pairs
        shown = [i.as_dict() for i in items if show_all or not i.agree]
        stats = agreement(items)
        if fmt is Format.json:
            emit_json({"pairs": pairs, "discrepancies": shown, "agreement": stats,
                       "methods": methods_text(stats, len(pairs))})
            return
        emit(fmt, shown, ["study", "path", "kind", "a", "b", "agree"], title="Discrepancies (a = first reviewer, b = second)")
        if fmt is Format.table:
            emit(fmt, stats, ["field_type", "compared", "agreed", "percent", "kappa"], title="Agreement by field type")
            info(methods_text(stats, len(pairs)))
        info(f"{count(len(pairs), 'pair')} compared: {count(sum(not i.agree for i in items), 'discrepancy', 'discrepancies')} in {count(len(items), 'field')}.")

    @group.command("reconcile")
    def reconcile_cmd(
        ctx: typer.Context,
        study: Annotated[str, typer.Argument(help="Study id.")],
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Overwrite an existing reconciled file without asking.")] = False,
    ) -> None:
        """Produce STUDY's reconciled file from two reviewers' files, asking about each discrepancy.

        Example: synth extract reconcile smith-2019
        """
        from synth.extraction.files import dumps, read_file, reconciled_path, write_text
        from synth.extraction.reconcile import reconcile
        from synth.extraction.service import study_files
        from synth.extraction.validate import validate_file

        c = get(ctx)
        reviewers = [f for f in study_files(_folder(c), study) if not f.reconciled]
        if len(reviewers) != 2:
            raise InputError(f"study '{study}' has {len(reviewers)} reviewer file(s); reconciling needs exactly two. "
                             "Move extra files aside or merge them first.")
        path = reconciled_path(_folder(c), study)
        _confirm_overwrite(path, yes)
        merged, decisions = reconcile(reviewers[0], reviewers[1], c.protocol, lambda q: str(typer.prompt(q)))
        write_text(path, f"# Reconciled from {reviewers[0].path.name} and {reviewers[1].path.name}.\n" + dumps(merged),
                   overwrite=True)
        _log(c, "reconcile", study, path, None, decisions=decisions)
        for p in validate_file(read_file(path), c.protocol, c.protocol_name):
            info(str(p))
        info(f"Wrote {path} ({count(len(decisions), 'discrepancy', 'discrepancies')} resolved).")

    @group.command("rob")
    def rob_cmd(
        ctx: typer.Context,
        study: Annotated[str, typer.Argument(help="Study id.")],
        outcome: Annotated[str, typer.Option("--outcome", "-o", help="Outcome id the assessment is for ('*' = all).")] = "*",
        timepoint: Annotated[str, typer.Option("--timepoint", help="Timepoint, if the result is specific to one.")] = "",
        tool: Annotated[str | None, typer.Option("--tool", help="rob2, rob2-cluster, robins-i, mmat or epoc (default: the protocol's tool for the study design).", callback=one_of("synth.extraction.rob", "TOOLS"))] = None,
        effect: Annotated[str, typer.Option("--effect", help="RoB 2 effect of interest: assignment or adherence.", callback=one_of("synth.extraction.rob", "EFFECTS"))] = "assignment",
        reviewer: ReviewerOpt = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Replace an existing assessment without asking.")] = False,
    ) -> None:
        """Assess risk of bias: answer the signalling questions, confirm or override the suggested judgements.

        Example: synth extract rob smith-2019 --outcome mortality --reviewer alice
        """
        from synth.extraction.files import read_file
        from synth.extraction.robassess import assess, save_assessment
        from synth.extraction.service import check_outcome, rob_tool

        c = get(ctx)
        name = _reviewer(reviewer)
        path = _path_for(c, study, name)
        f = read_file(path)
        chosen = rob_tool(c.protocol, f, tool)
        if outcome != "*":
            check_outcome(c.protocol, outcome)
        entry = assess(chosen, outcome, timepoint, effect, lambda q: str(typer.prompt(q)), info, name or "")
        save_assessment(f, entry, confirm=lambda q: yes or typer.confirm(q, default=False))
        _log(c, "rob", study, path, name, tool=chosen, outcome=outcome)
        info(f"Saved the {chosen} assessment for '{outcome}' in {path}.")

    @group.command("robplot")
    def robplot_cmd(
        ctx: typer.Context,
        output: Annotated[Path, typer.Option("--output", "-o", help="Plot file (.svg, .png or .pdf).")],
        tool: Annotated[str, typer.Option("--tool", help="Which tool's assessments to plot.", callback=one_of("synth.figures.rob", "PLOT_TOOLS"))] = "rob2",
        outcome: Annotated[str | None, typer.Option("--outcome", help="Only assessments for this outcome.")] = None,
    ) -> None:
        """Traffic-light summary plot of the reconciled risk-of-bias judgements.

        Example: synth extract robplot -o out/rob.svg
        """
        from synth.extraction.table import rob_rows
        from synth.figures.rob import check_plot, traffic_light

        check_plot(output, tool)
        files, _ = _load(get(ctx))
        info(f"Wrote {traffic_light(rob_rows(files, tool, outcome), output, tool, outcome)}.")

    @group.command("table")
    def table_cmd(
        ctx: typer.Context,
        outcome: Annotated[str | None, typer.Option("--outcome", help="Only this outcome id.")] = None,
        timepoint: Annotated[str | None, typer.Option("--timepoint", help="Only this timepoint.")] = None,
        fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.csv,
    ) -> None:
        """The tidy table `synth meta` reads: one row per study, outcome and timepoint (reconciled files).
        One outcome at one timepoint, as CSV, is a file `synth meta pool` pools as it is, whatever data each
        study gave (counts, means, an estimate with its CI, yi with its SE).

        Example: synth extract table --outcome mortality --timepoint follow-up -f csv > mortality.csv
        """
        from synth.extraction.service import check_outcome, checked_reconciled
        from synth.extraction.table import columns, tidy_rows

        c = get(ctx)
        files = checked_reconciled(_folder(c), c.protocol, c.protocol_name)
        if outcome is not None:
            check_outcome(c.protocol, outcome)
        rows = [r for r in tidy_rows(files, c.protocol, outcome) if timepoint is None or r["timepoint"] == timepoint]
        cols = columns(c.protocol)
        if fmt is Format.table:
            from synth.extraction.columns import DATA_COLUMNS

            data_cols = [col for col in DATA_COLUMNS if any(r.get(col) is not None for r in rows)]
            cols = ["study", "outcome", "timepoint", *data_cols, "rob_overall"]
        emit(fmt, rows, cols, title="Extraction table")
        info(f"{count(len(rows), 'row')} from {count(len({r['study'] for r in rows}), 'study', 'studies')}.")

    app.add_typer(group, name="extract")
