"""Deduplication benchmark: synth against BibDedupe on the gold sets, in the same run, plus a synthetic scale run.

Usage::

    python benchmarks/bench_dedup.py                 # every gold set: synth and bib-dedupe, then 100k scale run
    python benchmarks/bench_dedup.py --no-peer       # synth only
    python benchmarks/bench_dedup.py --scale 100000 --sets none --store   # also the SQLite store path

For each gold set (``../shared/corpus/dedup/<set>/records_pre_merged.csv`` + ``merged_record_ids.csv``) both
tools get the same records; both results are scored with :mod:`synth.dedup.evaluate` (pairwise false-positive
pairs and recall, and BibDedupe's record-level sensitivity, the figure it publishes). Times are wall-clock for
the linkage itself (synth: prepare+block+compare+cluster; bib-dedupe: prep+block+match+cluster), not file
reading. The scale run generates records with known duplicates and runs in a subprocess so its peak memory
(max RSS) is its own. Peer requirements: ``benchmarks/requirements-dedup.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from synth.dedup.core import deduplicate  # noqa: E402
from synth.dedup.evaluate import evaluate  # noqa: E402
from synth.dedup.goldcsv import read_gold_clusters, read_records_csv  # noqa: E402
from synth.records.model import Author, Provenance, Record  # noqa: E402

CORPUS = Path(os.environ.get("SYNTH_CORPUS", REPO.parent / "shared" / "corpus")) / "dedup"
PUBLISHED = {  # BibDedupe's published record-level sensitivity (bibdedupe_published_results.md)
    "cytology_screening": 0.9922, "haematology": 0.8889, "respiratory": 0.9358, "stroke": 0.9936,
    "digital_work": 0.9973, "special_cases": 0.3333,
}


def score(ids: list[str], groups: list[list[str]], gold: list[list[str]]) -> dict[str, Any]:
    """Score a clustering given as duplicate groups (singletons implied) against gold."""
    in_group = {i for g in groups for i in g}
    clusters = [sorted(g) for g in groups] + [[i] for i in ids if i not in in_group]
    kept = [c[0] for c in clusters]
    ev = evaluate(clusters, kept, gold)
    return {"fp_pairs": ev.pairwise.false_positive_pairs, "pair_recall": ev.pairwise.recall,
            "pair_precision": ev.pairwise.precision, "sensitivity": ev.record_level.sensitivity,
            "record_fp": ev.record_level.fp, "fp_examples": ev.pairwise.false_positive_examples[:5]}


def run_synth(folder: Path) -> tuple[float, list[str], list[list[str]]]:
    records = list(read_records_csv(folder / "records_pre_merged.csv"))
    start = time.perf_counter()
    result = deduplicate(list(enumerate(records)))
    elapsed = time.perf_counter() - start
    sid = [r.provenance.source_record_id for r in records]
    groups = [[sid[m] for m in c.members] for c in result.clusters if len(c.members) > 1]
    return elapsed, sid, groups


def run_bibdedupe(folder: Path) -> tuple[float, list[list[str]]]:
    import pandas as pd
    from bib_dedupe.bib_dedupe import block, cluster, match, prep

    df = pd.read_csv(folder / "records_pre_merged.csv")
    start = time.perf_counter()
    prepared = prep(df, verbosity_level=0)
    blocked = block(prepared, verbosity_level=0)
    matched = match(blocked, verbosity_level=0)
    groups = cluster(matched, verbosity_level=0)
    elapsed = time.perf_counter() - start
    return elapsed, [sorted(str(x) for x in g) for g in groups]


def gold_sets(names: list[str] | None) -> list[Path]:
    found = sorted(p for p in CORPUS.iterdir() if (p / "merged_record_ids.csv").is_file()) if CORPUS.is_dir() else []
    return [p for p in found if names is None or p.name in names]


def bench_gold(names: list[str] | None, peer: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for folder in gold_sets(names):
        gold = read_gold_clusters(folder / "merged_record_ids.csv")
        t_synth, ids, groups = run_synth(folder)
        row: dict[str, Any] = {"set": folder.name, "n": len(ids), "published_bibdedupe": PUBLISHED.get(folder.name),
                               "synth_s": t_synth, "synth": score(ids, groups, gold)}
        if peer:
            t_peer, peer_groups = run_bibdedupe(folder)
            row["bibdedupe_s"] = t_peer
            row["bibdedupe"] = score(ids, peer_groups, gold)
            row["speedup"] = t_peer / t_synth if t_synth else float("inf")
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    s = row["synth"]
    text = (f"{row['set']:<20} n={row['n']:>5}  synth: {row['synth_s']:6.2f}s FP pairs {s['fp_pairs']:>3} "
            f"pair recall {s['pair_recall']:.4f} sensitivity {s['sensitivity']:.4f} "
            f"(BibDedupe published {row['published_bibdedupe']})")
    if "bibdedupe" in row:
        b = row["bibdedupe"]
        text += (f"\n{'':<28}bib-dedupe: {row['bibdedupe_s']:6.2f}s FP pairs {b['fp_pairs']:>3} "
                 f"pair recall {b['pair_recall']:.4f} sensitivity {b['sensitivity']:.4f}"
                 f"\n{'':<28}speed ratio bib-dedupe/synth: {row['speedup']:.1f}x")
    return text


# --- synthetic scale run -----------------------------------------------------------------------------------

def _word(rnd: random.Random) -> str:
    return "".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randint(4, 10)))


def synthetic(n: int, seed: int = 7, dup_share: float = 0.2) -> tuple[list[Record], list[list[int]]]:
    """``n`` records of which about ``dup_share`` are perturbed copies of others; returns records and truth."""
    rnd = random.Random(seed)
    vocab = [_word(rnd) for _ in range(6000)]
    surnames = [_word(rnd).capitalize() for _ in range(4000)]
    journals = [" ".join(_word(rnd).capitalize() for _ in range(rnd.randint(2, 4))) for _ in range(800)]
    originals = int(n * (1 - dup_share))
    records: list[Record] = []
    for i in range(originals):
        first = rnd.randint(1, 2000)
        records.append(Record(
            title=" ".join(rnd.choice(vocab) for _ in range(rnd.randint(6, 14))).capitalize(),
            authors=[Author(rnd.choice(surnames), rnd.choice(string.ascii_uppercase)) for _ in range(rnd.randint(1, 6))],
            year=rnd.randint(1990, 2024), journal=rnd.choice(journals), volume=str(rnd.randint(1, 200)),
            pages=f"{first}-{first + rnd.randint(3, 15)}",
            doi=f"10.{rnd.randint(1000, 9999)}/syn.{i}" if rnd.random() < 0.6 else None,
            abstract="An abstract." if rnd.random() < 0.7 else "",
            provenance=Provenance(source=rnd.choice(["pubmed", "embase", "scopus", "wos"])),
        ))
    truth: dict[int, list[int]] = {}
    while len(records) < n:
        k = rnd.randrange(originals)
        o = records[k]
        title = o.title.upper() if rnd.random() < 0.3 else o.title
        if rnd.random() < 0.2:
            pos = rnd.randrange(len(title))
            title = title[:pos] + rnd.choice(string.ascii_lowercase) + title[pos + 1:]
        first, last = o.pages.split("-")
        pages = f"{first}-{last[-1]}" if rnd.random() < 0.4 and len(last) > 1 and last[:-1] == first[:-1] else o.pages
        journal = " ".join(w[:4] for w in o.journal.split()) if rnd.random() < 0.3 else o.journal
        records.append(Record(
            title=title + ("." if rnd.random() < 0.3 else ""), authors=list(o.authors), year=o.year,
            journal=journal, volume=o.volume, pages=pages, doi=o.doi if rnd.random() < 0.5 else None,
            provenance=Provenance(source=rnd.choice(["pubmed", "embase", "scopus", "wos"])),
        ))
        truth.setdefault(k, [k]).append(len(records) - 1)
    return records, list(truth.values())


def scale_worker(n: int) -> None:
    records, truth = synthetic(n)
    start = time.perf_counter()
    result = deduplicate(list(enumerate(records)))
    elapsed = time.perf_counter() - start
    groups = [[str(m) for m in c.members] for c in result.clusters if len(c.members) > 1]
    scores = score([str(i) for i in range(len(records))], groups, [[str(x) for x in t] for t in truth])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "seconds": elapsed, "peak_mb": peak_mb, "compared_pairs": result.compared,
                      "maybe_pairs": len(result.maybe_pairs), **{k: v for k, v in scores.items()
                                                                if k != "fp_examples"}}))


def store_worker(n: int) -> None:
    """The whole `synth dedup` path on a SQLite store: read records, link, write clusters, links and event."""
    import tempfile

    from synth.dedup.service import run
    from synth.dedup.vetoes import Policy
    from synth.store import open_store
    from synth.store.records import insert_records

    records, _ = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/scale.sqlite")
        with store.begin() as conn:
            insert_records(conn, records, skip_known=False)
        del records
        start = time.perf_counter()
        first = run(store, Policy())
        t_first = time.perf_counter() - start
        start = time.perf_counter()
        second = run(store, Policy())
        t_second = time.perf_counter() - start
        store.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "first_run_s": t_first, "second_run_s": t_second, "peak_mb": peak_mb,
                      "duplicates": first["duplicates"], "second_changed": second["changed"]}))


def bench_store(n: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--store-worker", str(n)], capture_output=True, text=True,
                         check=True)
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"store path n={data['n']}: `synth dedup` {data['first_run_s']:.1f}s first run, "
          f"{data['second_run_s']:.1f}s re-run ({data['second_changed']} changed), peak RSS "
          f"{data['peak_mb']:.0f} MB (insert not timed)", flush=True)
    return data


def bench_scale(n: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--scale-worker", str(n)], capture_output=True, text=True,
                         check=True)
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"scale n={data['n']}: {data['seconds']:.1f}s (target < 60 s), peak RSS {data['peak_mb']:.0f} MB "
          f"(target < 2048 MB), {data['compared_pairs']} pairs compared, FP pairs {data['fp_pairs']}, "
          f"pair recall {data['pair_recall']:.4f}", flush=True)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="all", help="comma-separated gold set names, 'all' or 'none'")
    parser.add_argument("--no-peer", action="store_true", help="skip bib-dedupe")
    parser.add_argument("--scale", type=int, default=100_000, help="records in the synthetic run (0: skip)")
    parser.add_argument("--store", action="store_true", help="also time the store path at --scale records")
    parser.add_argument("--scale-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write all results to this JSON file")
    args = parser.parse_args()
    if args.scale_worker:
        scale_worker(args.scale_worker)
        return
    if args.store_worker:
        store_worker(args.store_worker)
        return
    names = None if args.sets == "all" else [] if args.sets == "none" else args.sets.split(",")
    peer = not args.no_peer
    if peer:
        try:
            import bib_dedupe  # noqa: F401
        except ImportError:
            print("bib-dedupe is not installed (pip install -r benchmarks/requirements-dedup.txt); synth only.",
                  file=sys.stderr)
            peer = False
    rows = bench_gold(names, peer) if names != [] else []
    if rows and peer:
        total_synth = sum(r["synth_s"] for r in rows)
        total_peer = sum(r["bibdedupe_s"] for r in rows)
        print(f"overall: synth {total_synth:.2f}s, bib-dedupe {total_peer:.2f}s, "
              f"ratio {total_peer / total_synth:.1f}x (target >= 5x)")
    scale = bench_scale(args.scale) if args.scale else None
    store = bench_store(args.scale) if args.scale and args.store else None
    if args.json:
        args.json.write_text(json.dumps({"gold": rows, "scale": scale, "store": store}, indent=2, default=str),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
