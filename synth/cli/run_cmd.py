"""`synth run`: the main job on the workspace's protocol."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from synth.cli import context
from synth.cli.output import Format, emit, info

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        ctx: typer.Context,
        offline: Annotated[
            bool, typer.Option("--offline/--online", help="Use only stored and bundled data (default) or search the APIs.")
        ] = True,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="Summary format: table, json or csv.")] = Format.table,
    ) -> None:
        """Run the whole pipeline for the protocol and write out/<protocol>/: report.html, evidence.json,
        prisma.json/csv/svg/png, search-report.md, meta/ and figures/, with a summary.

        Offline by default: imports the protocol's declared files, deduplicates, applies the bundled screening
        history, checks the extractions, pools every planned outcome and writes the reports. --online also
        searches the protocol's API sources first.

        Example: synth run
        """
        from synth import pipeline
        from synth.cli.progress import stage_progress

        c = context.get(ctx)
        with stage_progress(len(pipeline.STAGES), "synth run") as advance:
            summary = pipeline.run(c.workspace, c.protocol_path, c.db_url, offline=offline, on_stage=advance,
                                   notify=info)
        rows = [{"stage": r.stage, "status": r.status, "result": r.message} for r in summary.stages]
        emit(fmt, rows, ["stage", "status", "result"], title=f"synth run: {summary.protocol}", json_data=asdict(summary))
        for w in summary.warnings:
            info(f"Warning: {w}")
        if summary.conclusion:
            info(f"Conclusion: {summary.conclusion}")
        info(f"Wrote {summary.out_dir}/report.html and the rest of the results (summary.md lists the stages)")
        failed = [r for r in summary.stages if r.status == "failed"]
        if failed:  # everything that could be written was; the exit code still says a stage asked for failed
            from synth.errors import InputError

            raise InputError(f"the {', '.join(r.stage for r in failed)} stage failed ({failed[0].message}); the "
                             "results were written from what is stored. Fix the cause above and run again.")
