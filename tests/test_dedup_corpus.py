"""Deduplication on the corpus: the BibDedupe gold sets and cross-database RIS exports."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synth.cli.app import app
from synth.dedup.core import deduplicate
from synth.dedup.evaluate import evaluate
from synth.dedup.goldcsv import read_gold_clusters, read_records_csv
from synth.dedup.normalise import dedup_doi
from synth.records.model import Record
from synth.store import open_store
from synth.store.records import insert_records

pytestmark = pytest.mark.corpus

#: BibDedupe's published record-level sensitivity per set (bibdedupe_published_results.md, Oct 2025).
PUBLISHED = {"cytology_screening": 0.9922, "respiratory": 0.9358, "haematology": 0.8889, "special_cases": 0.3333}



def _run(corpus_dir: Path, name: str):
    folder = corpus_dir / "dedup" / name
    records = list(read_records_csv(folder / "records_pre_merged.csv"))
    gold = read_gold_clusters(folder / "merged_record_ids.csv")
    result = deduplicate(list(enumerate(records)))
    sid = [r.provenance.source_record_id for r in records]
    clusters = [[sid[m] for m in c.members] for c in result.clusters]
    kept = [sid[c.representative] for c in result.clusters]
    return evaluate(clusters, kept, gold)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_gold_set_has_no_false_positive_and_high_recall(corpus_dir: Path, name: str) -> None:
    ev = _run(corpus_dir, name)
    assert ev.pairwise.false_positive_pairs == 0, ev.pairwise.false_positive_examples
    assert ev.record_level.fp == 0
    assert ev.record_level.sensitivity > PUBLISHED[name]  # better than BibDedupe on every set


def test_import_dedup_evaluate_through_the_store_and_cli(corpus_dir: Path, tmp_path: Path) -> None:
    folder = corpus_dir / "dedup" / "respiratory"
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    store = open_store(url)
    with store.begin() as conn:
        insert_records(conn, read_records_csv(folder / "records_pre_merged.csv"))
    store.close()
    runner = CliRunner()
    assert runner.invoke(app, ["--db", url, "dedup"]).exit_code == 0
    result = runner.invoke(app, ["--db", url, "dedup", "evaluate", "--gold", str(folder / "merged_record_ids.csv"),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert data["pairwise"]["false_positive_pairs"] == 0
    assert data["record_level"]["sensitivity"] >= PUBLISHED["respiratory"]


def _gambling(corpus_dir: Path) -> list[Record]:
    pipeline = pytest.importorskip("synth.importers.pipeline")
    out: list[Record] = []
    for path in sorted((corpus_dir / "exports" / "ris").glob("citesource_problem_gambling_*.ris")):
        source = path.stem.split("_")[3]
        out.extend(x for x in pipeline.parse_file(path, source=source).items() if isinstance(x, Record))
    return out


def test_cross_database_duplicates_in_citesource_exports(corpus_dir: Path) -> None:
    records = _gambling(corpus_dir)
    assert len({r.provenance.source for r in records}) == 4
    result = deduplicate(list(enumerate(records)))
    cluster_of = {m: c.id for c in result.clusters for m in c.members}
    by_doi: dict[str, set[int]] = defaultdict(set)
    for i, r in enumerate(records):
        if r.doi:
            by_doi[str(dedup_doi(r.doi))].add(cluster_of[i])
    # every DOI lands in exactly one cluster, and no cluster holds two DOIs
    assert all(len(cids) == 1 for cids in by_doi.values())
    for c in result.clusters:
        assert len({dedup_doi(records[m].doi) for m in c.members if records[m].doi}) <= 1
        if len(c.members) > 1:  # the databases do not repeat a record within one export
            assert len(c.sources) >= 2, [records[m].title for m in c.members]
    # a conference abstract indexed by WoS as a journal item (same volume and pages) is linked, without a DOI
    young = [i for i, r in enumerate(records) if r.title.lower().startswith("young, stressed, and blind-minded")]
    assert len(young) == 2 and cluster_of[young[0]] == cluster_of[young[1]]


def test_problem_gambling_gold_clusters_are_found_exactly(corpus_dir: Path) -> None:
    """The gold labelled for the four problem-gambling exports (benchmarks/gold/README.md): no false pair, none
    missed; a thesis and the article from it stay two reports."""
    pipeline = pytest.importorskip("synth.importers.pipeline")
    records: list[Record] = []
    ids: list[str] = []
    for path in sorted((corpus_dir / "exports" / "ris").glob("citesource_problem_gambling_*.ris")):
        short = path.stem.removeprefix("citesource_problem_gambling_")
        items = [x for x in pipeline.parse_file(path, source=short).items() if isinstance(x, Record)]
        records += items
        ids += [f"{short}:{n}" for n in range(1, len(items) + 1)]
    gold = read_gold_clusters(Path(__file__).parent.parent / "benchmarks" / "gold" /
                              "problem_gambling_merged_record_ids.csv")
    assert {i for c in gold for i in c} <= set(ids)
    result = deduplicate(list(enumerate(records)))
    ev = evaluate([[ids[m] for m in c.members] for c in result.clusters],
                  [ids[c.representative] for c in result.clusters], gold)
    assert ev.pairwise.false_positive_pairs == 0, ev.pairwise.false_positive_examples
    assert ev.pairwise.recall == 1.0, ev.pairwise.false_negative_examples
