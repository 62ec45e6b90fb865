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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from synth.dedup.core import deduplicate  # noqa: E402
from synth.dedup.evaluate import evaluate  # noqa: E402
from synth.dedup.goldcsv import read_gold_clusters, read_records_csv  # noqa: E402
from synth.dedup.rules import OPTIONAL, RULES  # noqa: E402
from synth.dedup.vetoes import Policy  # noqa: E402
from synth.records.model import Author, Provenance, Record  # noqa: E402

CORPUS = Path(os.environ.get("SYNTH_CORPUS", REPO.parent / "shared" / "corpus")) / "dedup"
PUBLISHED = {  # BibDedupe's published record-level sensitivity (bibdedupe_published_results.md)
    "cytology_screening": 0.9922, "haematology": 0.8889, "respiratory": 0.9358, "stroke": 0.9936,
    "digital_work": 0.9973, "special_cases": 0.3333,
}


GOLD_DIR = REPO / "benchmarks" / "gold"
RIS_DIR = CORPUS.parent / "exports" / "ris"
GAMBLING = "problem_gambling"  # four databases' RIS exports of one topic; gold in benchmarks/gold (see its README)


@dataclass
class GoldSet:
    """One labelled set: records, their ids, the gold clusters, and (for bib-dedupe) a records table."""

    name: str
    records: list[Record]
    ids: list[str]
    gold: list[list[str]]
    csv: Path | None = None

    def frame(self) -> Any:
        """The records as bib-dedupe's input table (the set's own CSV when it has one)."""
        import pandas as pd

        if self.csv is not None:
            return pd.read_csv(self.csv)
        rows = []
        for rid, r in zip(self.ids, self.records, strict=True):
            conference = r.publication_type.upper() in ("CONF", "CPAPER", "ABST")
            rows.append({"ID": rid, "ENTRYTYPE": "inproceedings" if conference else "article", "title": r.title,
                         "author": " and ".join(a.display() for a in r.authors), "year": r.year or "",
                         "journal": "" if conference else r.journal, "booktitle": r.journal if conference else "",
                         "volume": r.volume, "number": r.issue, "pages": r.pages, "doi": r.doi or "",
                         "abstract": r.abstract})
        return pd.DataFrame(rows)


def load_gambling() -> GoldSet | None:
    from synth.importers.pipeline import parse_file

    files = sorted(RIS_DIR.glob("citesource_problem_gambling_*.ris")) if RIS_DIR.is_dir() else []
    if not files:
        return None
    records: list[Record] = []
    ids: list[str] = []
    for path in files:
        short = path.stem.removeprefix("citesource_problem_gambling_")
        items = [x for x in parse_file(path, source=short.split("_")[0]).items() if isinstance(x, Record)]
        for number, record in enumerate(items, start=1):
            records.append(record)
            ids.append(f"{short}:{number}")
    gold_file = GOLD_DIR / f"{GAMBLING}_merged_record_ids.csv"
    gold = read_gold_clusters(gold_file)
    known = set(ids)
    missing = [i for c in gold for i in c if i not in known]
    if missing:
        raise SystemExit(f"{gold_file}: ids {missing[:3]} are not in the RIS files; relabel the set.")
    return GoldSet(GAMBLING, records, ids, gold)


def load_sets(names: list[str] | None) -> list[GoldSet]:
    found = sorted(p for p in CORPUS.iterdir() if (p / "merged_record_ids.csv").is_file()) if CORPUS.is_dir() else []
    out = []
    for folder in found:
        if names is None or folder.name in names:
            records = list(read_records_csv(folder / "records_pre_merged.csv"))
            out.append(GoldSet(folder.name, records, [r.provenance.source_record_id for r in records],
                               read_gold_clusters(folder / "merged_record_ids.csv"), folder / "records_pre_merged.csv"))
    if names is None or GAMBLING in names:
        gambling = load_gambling()
        if gambling is not None:
            out.append(gambling)
    return out


def score(ids: list[str], groups: list[list[str]], gold: list[list[str]],
          maybes: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Score a clustering given as duplicate groups (singletons implied) against gold."""
    in_group = {i for g in groups for i in g}
    clusters = [sorted(g) for g in groups] + [[i] for i in ids if i not in in_group]
    kept = [c[0] for c in clusters]
    ev = evaluate(clusters, kept, gold)
    out = {"fp_pairs": ev.pairwise.false_positive_pairs, "tp_pairs": ev.pairwise.true_positive_pairs,
           "pair_recall": ev.pairwise.recall, "pair_precision": ev.pairwise.precision,
           "sensitivity": ev.record_level.sensitivity, "record_fp": ev.record_level.fp,
           "fp_examples": ev.pairwise.false_positive_examples[:5]}
    if maybes is not None:
        cluster_of = {i: n for n, c in enumerate(gold) for i in c}
        out["maybes"] = len(maybes)
        out["maybes_true"] = sum(1 for a, b in maybes if a in cluster_of and cluster_of.get(a) == cluster_of.get(b))
    return out


def run_synth(data: GoldSet, policy: Policy | None = None) -> tuple[float, list[list[str]], list[tuple[str, str]]]:
    start = time.perf_counter()
    result = deduplicate(list(enumerate(data.records)), policy)
    elapsed = time.perf_counter() - start
    sid = data.ids
    groups = [[sid[m] for m in c.members] for c in result.clusters if len(c.members) > 1]
    return elapsed, groups, [(sid[m.a], sid[m.b]) for m in result.maybe_pairs]


def run_bibdedupe(data: GoldSet) -> tuple[float, list[list[str]]]:
    from bib_dedupe.bib_dedupe import block, cluster, match, prep

    df = data.frame()
    start = time.perf_counter()
    prepared = prep(df, verbosity_level=0)
    blocked = block(prepared, verbosity_level=0)
    matched = match(blocked, verbosity_level=0)
    groups = cluster(matched, verbosity_level=0)
    elapsed = time.perf_counter() - start
    return elapsed, [sorted(str(x) for x in g) for g in groups]


def bench_gold(sets: list[GoldSet], peer: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for data in sets:
        t_synth, groups, maybes = run_synth(data)
        row: dict[str, Any] = {"set": data.name, "n": len(data.ids), "published_bibdedupe": PUBLISHED.get(data.name),
                               "synth_s": t_synth, "synth": score(data.ids, groups, data.gold, maybes)}
        if peer:
            t_peer, peer_groups = run_bibdedupe(data)
            row["bibdedupe_s"] = t_peer
            row["bibdedupe"] = score(data.ids, peer_groups, data.gold)
            row["speedup"] = t_peer / t_synth if t_synth else float("inf")
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    s = row["synth"]
    published = f" (BibDedupe published {row['published_bibdedupe']})" if row["published_bibdedupe"] else ""
    text = (f"{row['set']:<20} n={row['n']:>5}  synth: {row['synth_s']:6.2f}s FP pairs {s['fp_pairs']:>3} "
            f"pair recall {s['pair_recall']:.4f} sensitivity {s['sensitivity']:.4f}{published}"
            f"\n{'':<28}maybe pairs {s['maybes']}, of which true duplicates {s['maybes_true']}")
    if "bibdedupe" in row:
        b = row["bibdedupe"]
        text += (f"\n{'':<28}bib-dedupe: {row['bibdedupe_s']:6.2f}s FP pairs {b['fp_pairs']:>3} "
                 f"pair recall {b['pair_recall']:.4f} sensitivity {b['sensitivity']:.4f}"
                 f"\n{'':<28}speed ratio bib-dedupe/synth: {row['speedup']:.1f}x")
    return text


# --- leave one set out ---------------------------------------------------------------------------------------

def _counts(data: GoldSet, disabled: frozenset[str]) -> tuple[int, int]:
    _, groups, _ = run_synth(data, Policy(disabled=disabled))
    s = score(data.ids, groups, data.gold)
    return s["fp_pairs"], s["tp_pairs"]


def leave_one_out(sets: list[GoldSet]) -> list[dict[str, Any]]:
    """Each set scored with only the optional rules the *other* sets support.

    One rule at a time is switched off on every set (ablation). For a held-out set the other sets decide: a
    merge rule or veto exception is kept only if, summed over them, it adds true pairs and no false ones; a veto
    is kept unless it only removes true pairs there (switching it off adds true pairs and no false ones). A rule
    that helps only the set it was written for is then dropped when that set is held out, and the set's figures
    show what it costs.
    """
    counts = {(d.name, rule): _counts(d, frozenset({rule})) for d in sets for rule in ("", *OPTIONAL)}
    rows: list[dict[str, Any]] = []
    for held in sets:
        train = [d.name for d in sets if d.name != held.name]
        base_fp = sum(counts[(n, "")][0] for n in train)
        base_tp = sum(counts[(n, "")][1] for n in train)
        dropped = []
        for rule in OPTIONAL:
            fp = sum(counts[(n, rule)][0] for n in train)
            tp = sum(counts[(n, rule)][1] for n in train)
            if RULES[rule].kind == "veto":
                if tp > base_tp and fp <= base_fp:
                    dropped.append(rule)
            elif not (base_tp > tp and base_fp <= fp):
                dropped.append(rule)
        _, groups, maybes = run_synth(held, Policy(disabled=frozenset(dropped)))
        row = {"set": held.name, "dropped": dropped, "synth": score(held.ids, groups, held.gold, maybes)}
        rows.append(row)
        s = row["synth"]
        print(f"{held.name:<20} leave-one-set-out: FP pairs {s['fp_pairs']:>3} pair recall {s['pair_recall']:.4f} "
              f"sensitivity {s['sensitivity']:.4f} maybes {s['maybes']} ({s['maybes_true']} true); rules the other "
              f"sets do not support: {', '.join(dropped) or 'none'}", flush=True)
    return rows


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
    parser.add_argument("--no-loso", action="store_true", help="skip the leave-one-set-out evaluation")
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
    sets = load_sets(names) if names != [] else []
    rows = bench_gold(sets, peer)
    loso = leave_one_out(sets) if len(sets) > 1 and not args.no_loso else []
    if rows and peer:
        total_synth = sum(r["synth_s"] for r in rows)
        total_peer = sum(r["bibdedupe_s"] for r in rows)
        print(f"overall: synth {total_synth:.2f}s, bib-dedupe {total_peer:.2f}s, "
              f"ratio {total_peer / total_synth:.1f}x (target >= 5x)")
    scale = bench_scale(args.scale) if args.scale else None
    store = bench_store(args.scale) if args.scale and args.store else None
    if args.json:
        args.json.write_text(json.dumps({"gold": rows, "leave_one_set_out": loso, "scale": scale, "store": store}, indent=2, default=str),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
