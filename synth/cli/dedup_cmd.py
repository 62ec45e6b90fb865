"""`synth dedup`: find duplicate records as reversible, explainable clusters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synth.cli.context import get
from synth.cli.output import Format, emit, emit_json, info
from synth.errors import InputError, WorkspaceError
from synth.wording import count

if TYPE_CHECKING:
    from synth.dedup.vetoes import Policy

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

HELP = ("Find duplicate records as reversible, explainable clusters (records are linked, never deleted).\n\n"
        "Example: synth dedup --format json")


def _policy(ctx: typer.Context) -> Policy:
    from synth.dedup.service import policy_from_protocol

    c = get(ctx)
    try:
        protocol = c.protocol
    except WorkspaceError:
        if c.db_opt:
            return policy_from_protocol(None)
        raise
    return policy_from_protocol(protocol)


def _emit_summary(fmt: Format, summary: dict[str, Any], title: str) -> None:
    keys = ["records", "clusters", "duplicates", "maybe_pairs"]
    if fmt is Format.json:
        emit_json({k: summary[k] for k in keys})
    else:
        emit(fmt, [{k: summary[k] for k in keys}], keys, title=title)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, invoke_without_command=True)

    @group.callback()
    def dedup(
        ctx: typer.Context,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table, json or csv.")] = Format.table,
    ) -> None:
        """Cluster duplicate records: identifiers first, then blocked fuzzy comparison with vetoes.

        Prints {records, clusters, duplicates, maybe_pairs}. Re-running is idempotent and keeps every
        decision made in `synth dedup review`.

        Example: synth dedup --format json
        """
        if ctx.invoked_subcommand is not None:
            return
        from synth.dedup.service import run

        summary = run(get(ctx).store, _policy(ctx))
        _emit_summary(fmt, summary, "Deduplication")
        info(f"{count(summary['duplicates'], 'duplicate')} in {count(summary['clusters'], 'cluster')}; "
             f"{count(summary['maybe_pairs'], 'maybe pair')} for `synth dedup review`; "
             f"{count(summary['changed'], 'record')} changed.")

    @group.command("review")
    def review(
        ctx: typer.Context,
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="Review at most this many pairs.")]
        = None,
    ) -> None:
        """Review maybe pairs side by side: s same, d different, k skip, u undo, q quit.

        Decisions are stored at once and clusters recomputed at the end; later runs keep them.

        Example: synth dedup review --limit 20
        """
        import sys

        from rich.console import Console

        from synth.dedup import service
        from synth.dedup.review import run_review

        store = get(ctx).store
        links = service.maybe_pairs(store)
        if limit is not None:
            links = links[:limit]
        if not links:
            info("No maybe pairs to review. Run `synth dedup` first if you have imported new records.")
            return
        console = Console(file=sys.stdout, soft_wrap=True, highlight=False)

        def ask(prompt: str) -> str:
            try:
                return str(typer.prompt(prompt, default="", show_default=False))
            except typer.Abort:  # end of input (Ctrl-D): stop, keeping what was decided
                return "q"

        outcome = run_review(store, links, ask, console)
        summary = service.run(store, _policy(ctx)) if outcome.decided or outcome.undone else None
        info(f"Reviewed {count(outcome.shown, 'pair')}: {outcome.same} same, {outcome.different} different, "
             f"{outcome.skipped} skipped, {outcome.undone} undone.")
        if summary is not None:
            info(f"Re-clustered: {count(summary['duplicates'], 'duplicate')}, {count(summary['maybe_pairs'], 'maybe pair')} left.")

    @group.command("explain")
    def explain(
        ctx: typer.Context,
        record_id: Annotated[int, typer.Argument(help="Record id (from `synth records list`).")],
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
    ) -> None:
        """Explain why a record is in its cluster: the links and rules that joined it, the representative and
        why, decisions, and open maybe pairs.

        Example: synth dedup explain 42
        """
        from synth.dedup.explain import evidence_rows
        from synth.dedup.service import explain as explain_record

        data = explain_record(get(ctx).store, record_id, _policy(ctx))
        if fmt is Format.json:
            emit_json(data)
            return
        typer.echo(f"Record {record_id}: cluster {data['cluster']} with {count(len(data['members']), 'record')}; "
                   f"representative {data['representative']}.")
        emit(Format.table, data["members"], ["id", "year", "source", "doi", "duplicate_of", "title"],
             title="Members")
        evidence = evidence_rows(data)
        if evidence:
            emit(Format.table, evidence, ["pair", "kind", "rule", "similarities"], title="Why")
        if not data["links"] and len(data["members"]) == 1:
            typer.echo("No duplicate found for this record.")

    @group.command("split")
    def split(
        ctx: typer.Context,
        record_id: Annotated[int, typer.Argument(help="Record id to take out of its cluster.")],
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
    ) -> None:
        """Take a record out of its cluster (stored as 'different' decisions, so later runs respect it).

        Example: synth dedup split 42
        """
        from synth.dedup.service import split as split_record

        summary = split_record(get(ctx).store, record_id, _policy(ctx))
        _emit_summary(fmt, summary, "Deduplication after split")
        info(f"Record {record_id} separated from {', '.join(str(x) for x in summary['separated_from'])}.")

    @group.command("reset")
    def reset(
        ctx: typer.Context,
        forget_decisions: Annotated[bool, typer.Option(
            "--forget-decisions", help="Also forget every same/different decision made in review or split.")]
        = False,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
    ) -> None:
        """Undo all clustering (records are never deleted; decisions are kept unless --forget-decisions).

        Example: synth dedup reset
        """
        from synth.dedup.service import reset as reset_all

        cleared = reset_all(get(ctx).store, forget_decisions=forget_decisions)
        emit(fmt, [cleared], list(cleared), title="Reset", json_data=cleared)

    @group.command("evaluate")
    def evaluate(
        ctx: typer.Context,
        gold: Annotated[Path, typer.Option("--gold", help="Gold clusters CSV (column merged_ids = 'id;id;...').")],
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
    ) -> None:
        """Compare the stored clusters with a gold clustering: pairwise precision, recall, F1, false-positive
        pairs, and BibDedupe's record-level sensitivity. Gold ids are matched to each record's source id
        (e.g. the ID column of a CSV import), else to its synth id.

        Example: synth dedup evaluate --gold merged_record_ids.csv --format json
        """
        from synth.dedup.evaluate import evaluate as evaluate_clusters
        from synth.dedup.goldcsv import read_gold_clusters
        from synth.store.dedup import current_assignments
        from synth.store.records import iter_records

        gold_clusters = read_gold_clusters(gold)
        with get(ctx).store.connect() as conn:
            assignments = current_assignments(conn)
            names = {rid: (rec.provenance.source_record_id or str(rid)) for rid, rec in iter_records(conn)}
        if not assignments:
            raise InputError("the store holds no records. Import records, run `synth dedup`, then evaluate.")
        if all(cid is None for cid, _ in assignments.values()):
            raise InputError("no deduplication has been run yet. Run `synth dedup` first, then evaluate.")
        clusters: dict[int, list[str]] = {}
        kept: list[str] = []
        for rid, (cid, dup) in sorted(assignments.items()):
            clusters.setdefault(cid if cid is not None else -rid, []).append(names[rid])
            if dup is None:
                kept.append(names[rid])
        known = set(names.values())
        missing = sorted({g for c in gold_clusters for g in c} - known)
        if len(missing) == sum(len(c) for c in gold_clusters):
            raise InputError(f"{gold}: none of the gold ids (e.g. {missing[0]!r}) matches a record's source id "
                             "or synth id. Evaluate against the gold file of the records you imported.")
        if missing:
            info(f"{len(missing)} gold id(s) not in the store were ignored (e.g. {missing[0]}).")
        result = evaluate_clusters(list(clusters.values()), kept, gold_clusters)
        if fmt is Format.json:
            emit_json(result.as_dict())
            return
        pw, rl = result.pairwise, result.record_level
        rows = [
            {"metric": "pairwise precision", "value": f"{pw.precision:.4f}"},
            {"metric": "pairwise recall", "value": f"{pw.recall:.4f}"},
            {"metric": "pairwise F1", "value": f"{pw.f1:.4f}"},
            {"metric": "false-positive pairs", "value": str(pw.false_positive_pairs)},
            {"metric": "false-negative pairs", "value": str(pw.false_negative_pairs)},
            {"metric": "record-level sensitivity (BibDedupe)", "value": f"{rl.sensitivity:.4f}"},
            {"metric": "record-level false positives (BibDedupe)", "value": str(rl.fp)},
        ]
        emit(Format.table, rows, ["metric", "value"], title=f"Evaluation against {gold.name}")
        for a, b in pw.false_positive_examples[:20]:
            typer.echo(f"false positive pair: {a} {b}")

    app.add_typer(group, name="dedup")
