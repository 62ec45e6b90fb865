"""Screening benchmarks, run as ``python benchmarks/bench_screening.py [--sets a,b] [--seeds 0,1] [--skip-asreview]``.

1. Simulation against ``asreview simulate`` (ELAS u4, its default model) on the labelled corpus sets
   (../shared/corpus/screening: Cohen 2006, Kitchenham 2010, SYNERGY), in the same run, with the same priors
   (drawn once per seed by synth and passed to both as row indices) and the same seed. Both run as command-line
   programs (process start and imports included for both). WSS@95 for both is computed by synth's
   ``metrics`` from each tool's screening order, so the definition is identical. Prints the per-set table, the
   mean WSS@95 of each and the speed ratio (asreview time / synth time).
   Then, per stopping rule over every set and seed (``synth screen simulate``'s own summary): runs that met the
   95% recall target, mean share of the records screened at stop, mean and lowest recall at stop; and the
   issue's targets for the default rule (target met in >= 95% of runs, <= 60% screened on average).
2. Next-record latency in the interactive screen with 50,000 records in the queue and prioritisation running
   in the background: time from a key press to the next record drawn.

ASReview runs from its own virtual environment (it pins pandas<3): set ASREVIEW (default
/work/venv-asreview/bin/asreview); see benchmarks/requirements-screening.txt.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SYNTH_CORPUS", REPO.parent / "shared" / "corpus")) / "screening"
ASREVIEW = os.environ.get("ASREVIEW", "/work/venv-asreview/bin/asreview")
SYNTH = [sys.executable, "-m", "synth"]


def datasets() -> dict[str, Path]:
    found = {p.stem: p for p in sorted((CORPUS / "cohen2006").glob("*.csv"))}
    found["Kitchenham_2010"] = CORPUS / "Kitchenham_2010.csv"
    for folder in sorted((CORPUS / "synergy").iterdir()):
        csv_path = folder / f"{folder.name}.csv"
        if csv_path.is_file():
            found[folder.name] = csv_path
    return found


def run_synth(path: Path, seed: int) -> tuple[dict, float]:
    start = time.perf_counter()
    out = subprocess.run([*SYNTH, "screen", "simulate", str(path), "--seed", str(seed), "--format", "json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["runs"][0], time.perf_counter() - start


def run_asreview(path: Path, priors: list[int], seed: int, labels: list[int]) -> tuple[dict, float]:
    from synth.screening.simulate import metrics

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "sim.asreview"
        start = time.perf_counter()
        subprocess.run([ASREVIEW, "simulate", str(path), "--prior-idx", *map(str, priors), "--seed", str(seed),
                        "-o", str(project)], check=True, capture_output=True, text=True, cwd=tmp)
        elapsed = time.perf_counter() - start
        import zipfile

        with zipfile.ZipFile(project) as z:
            z.extract("results.db", tmp)
        con = sqlite3.connect(Path(tmp) / "results.db")
        order = [int(r[0]) for r in con.execute("select record_id from results order by rowid")]
        con.close()
    return metrics([labels[i] for i in order], len(labels), seed=seed), elapsed


def bench_simulation(names: list[str] | None, seeds: list[int], skip_asreview: bool) -> None:
    from synth.screening.simulate import choose_priors, load_dataset, summarise

    sets = datasets()
    chosen = names or list(sets)
    print(f"{'dataset':28} {'N':>5} {'incl':>4} {'seed':>4} | {'synth WSS@95':>12} {'asreview WSS@95':>15} | "
          f"{'synth s':>7} {'asreview s':>10} {'ratio':>6}")
    ws_s: list[float] = []
    ws_a: list[float] = []
    runs_s: list[dict] = []
    runs_a: list[dict] = []
    t_s = t_a = 0.0
    for name in chosen:
        path = sets[name]
        data = load_dataset(path)
        for seed in seeds:
            priors = choose_priors(data.labels, seed)
            ours, ours_t = run_synth(path, seed)
            ws_s.append(ours["wss@95"])
            runs_s.append(ours)
            t_s += ours_t
            line = f"{name:28} {ours['n']:>5} {ours['n_included']:>4} {seed:>4} | {ours['wss@95']:>12.4f} "
            if skip_asreview:
                print(line + f"{'-':>15} | {ours_t:>7.1f}")
                continue
            theirs, theirs_t = run_asreview(path, priors, seed, data.labels)
            ws_a.append(theirs["wss@95"])
            runs_a.append(theirs)
            t_a += theirs_t
            print(line + f"{theirs['wss@95']:>15.4f} | {ours_t:>7.1f} {theirs_t:>10.1f} {theirs_t / ours_t:>6.1f}",
                  flush=True)
    print(f"\nmean WSS@95 synth {statistics.mean(ws_s):.4f} over {len(ws_s)} runs")
    if ws_a:
        print(f"mean WSS@95 asreview (elas_u4) {statistics.mean(ws_a):.4f} over {len(ws_a)} runs")
        print(f"total time synth {t_s:.1f} s, asreview {t_a:.1f} s: speed ratio {t_a / t_s:.1f}x")
    print_stopping(summarise(runs_s), "synth's ranking")
    if runs_a:
        print_stopping(summarise(runs_a), "asreview's ranking (elas_u4), same rules")


def print_stopping(summary: list[dict], label: str) -> None:
    print(f"\nstopping rules on {label} (target recall {summary[0]['target']:.0%}, confidence 95%):")
    print(f"{'rule':16} {'target met':>12} {'mean screened':>14} {'mean recall':>12} {'lowest':>7}")
    for s in summary:
        print(f"{s['rule'] + (' *' if s['default'] else ''):16} {s['target_met']:>5}/{s['runs']:<3} "
              f"({s['target_met_share']:.0%}) {s['mean_screened']:>13.1%} {s['mean_recall']:>12.3f} "
              f"{s['min_recall']:>7.3f}")
    default = next(s for s in summary if s["default"])
    print(f"default rule (*): target met in {default['target_met_share']:.1%} of runs (target >= 95%): "
          f"{'met' if default['target_met_share'] >= 0.95 else 'NOT met'}; mean screened "
          f"{default['mean_screened']:.1%} (target <= 60%): "
          f"{'met' if default['mean_screened'] <= 0.60 else 'NOT met'}")


def bench_latency(n: int = 50_000, decisions: int = 150) -> None:
    import random

    from rich.console import Console

    from synth.records.model import Provenance, Record
    from synth.screening.service import CriterionInfo, Settings
    from synth.screening.tui import ScreenSession
    from synth.store import open_store
    from synth.store.records import insert_records

    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(3000)] + ["integrated", "care", "social", "trial", "randomised", "carer"]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/big.sqlite")
        t0 = time.perf_counter()
        with store.begin() as conn:
            insert_records(conn, (Record(title=" ".join(rng.choices(vocab, k=10)),
                                         abstract=" ".join(rng.choices(vocab, k=150)),
                                         provenance=Provenance(source="bench", source_record_id=str(i)),
                                         raw={"i": i}) for i in range(n)))
        print(f"\ninserted {n} records in {time.perf_counter() - t0:.1f} s")
        settings = Settings(required={"title-abstract": 1, "full-text": 1},
                            criteria={"title-abstract": [CriterionInfo("population", "Wrong population")]},
                            highlight_include=("integrated", "social care"), highlight_exclude=("mouse",))
        stamps: list[float] = []
        ends: list[float] = []
        script = iter(["i", "e"] + ["i" if k % 10 == 0 else "e" for k in range(decisions)] + ["q"])
        keys_for_reason = {"e"}
        pending_reason = [False]

        warm: dict[str, float | bool] = {"done": False}

        def read_key() -> str:
            if not warm["done"] and len(stamps) == 2:
                # after one include and one exclude: wait until the worker has built the features and ranked
                # once, so the timed decisions below run while re-ranking is really happening
                waited = time.perf_counter()
                assert session.ranker is not None and session.ranker.wait_idle(600)
                print(f"first ranking of {n} records ready after {time.perf_counter() - waited:.1f} s (in the "
                      "background worker; the screen was usable meanwhile)")
                warm["done"] = True
                stamps.clear()
                ends.clear()
                warm["rounds"] = session.ranker.rounds
            now = time.perf_counter()
            if pending_reason[0]:
                pending_reason[0] = False
                return "1"
            stamps.append(now)
            key = next(script)
            if key in keys_for_reason:
                pending_reason[0] = True
            return key

        t0 = time.perf_counter()
        session = ScreenSession(store, settings, "title-abstract", "bench", read_key=read_key,
                                console=Console(file=io.StringIO(), width=140), prioritise=True)
        print(f"screen opened with {len(session.queue)} records in the queue in {time.perf_counter() - t0:.2f} s")
        original_show = session.show

        def timed_show(rid: int) -> None:
            original_show(rid)
            ends.append(time.perf_counter())

        session.show = timed_show  # type: ignore[method-assign]
        session.run()
        # latency of record k+1 = time its drawing finished - time the key for record k was pressed
        lat = [(ends[k + 1] - stamps[k]) * 1000 for k in range(min(len(stamps), len(ends)) - 1)]
        lat.sort()
        rounds = (session.ranker.rounds if session.ranker else 0) - int(warm.get("rounds", 0))
        print(f"next-record latency over {len(lat)} decisions (50k queue, re-ranking in background, "
              f"{rounds} re-rankings done): median {statistics.median(lat):.1f} ms, "
              f"p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms, max {lat[-1]:.1f} ms")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", help="comma-separated dataset names (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument("--skip-asreview", action="store_true")
    parser.add_argument("--skip-simulation", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    if not args.skip_simulation:
        bench_simulation(args.sets.split(",") if args.sets else None, [int(s) for s in args.seeds.split(",")],
                         args.skip_asreview)
    if not args.skip_latency:
        bench_latency()


if __name__ == "__main__":
    main()
