"""Benchmark: ``synth meta pool --by`` over many analyses vs an R metafor ``rma()`` loop, in the same run.

Generates N analyses (default 10,000) with k drawn uniformly from 2..50 (random-effects data), writes one CSV,
then times

* synth: the ``synth meta pool DATA.csv --by analysis --format csv`` command end to end (subprocess; includes
  Python start-up, CSV reading, validation, effect handling, REML + HKSJ + Q-profile CI + PI per analysis), and
  the library call ``pool_by`` alone;
* R: a loop of ``rma(yi, vi, method="REML", test="knha", control=tight)`` + ``confint()`` (Q-profile) +
  ``predict()`` per analysis (the same outputs), timed inside R with ``proc.time()`` (excludes R start-up);
  also ``rma()`` alone.

Both sides use tight convergence (metafor threshold/tol 1e-10). The script checks that the two agree
(max relative difference of estimate, tau^2, CI and PI) and prints the speed ratio.

With ``--collection`` it then runs the issue's end-to-end pairs from ``bench_meta_scale.py``: every analysis
of the Cochrane collection in ``../shared/corpus/meta/pairwise70/`` (synth ``--by`` against an Rscript metafor
loop, target 50x, 99.5% of estimates within 1e-6) and one small analysis (pool, bias, forest; target 3x).

Usage: python benchmarks/bench_meta.py [--n 10000] [--seed 1] [--collection [--runs 7]]
(needs Rscript with metafor on PATH)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
ctrl <- list(threshold = 1e-10, tol = 1e-10, maxiter = 10000)
groups <- split(d[, c("yi", "vi")], factor(d$analysis, levels = unique(d$analysis)))
t0 <- proc.time()[["elapsed"]]
res <- lapply(groups, function(g) {
  r <- try(suppressWarnings(rma(g$yi, g$vi, method = "REML", test = "knha", control = ctrl)), silent = TRUE)
  if (inherits(r, "try-error")) return(c(NA, NA, NA, NA, NA, NA, NA, NA))
  ci <- try(confint(r, control = list(tol = 1e-10))$random, silent = TRUE)
  p <- predict(r)
  c(r$beta[1], r$tau2, r$ci.lb, r$ci.ub, p$pi.lb, p$pi.ub,
    if (inherits(ci, "try-error")) c(NA, NA) else ci["tau^2", 2:3])
})
t1 <- proc.time()[["elapsed"]]
invisible(lapply(groups, function(g) try(suppressWarnings(rma(g$yi, g$vi, method = "REML", test = "knha", control = ctrl)), silent = TRUE)))
t2 <- proc.time()[["elapsed"]]
m <- do.call(rbind, res)
write.csv(data.frame(analysis = names(groups), estimate = m[, 1], tau2 = m[, 2], ci_low = m[, 3], ci_high = m[, 4],
                     pi_low = m[, 5], pi_high = m[, 6], tau2_ci_low = m[, 7], tau2_ci_high = m[, 8]),
          args[2], row.names = FALSE)
cat(sprintf('{"full": %.4f, "rma_only": %.4f}\n', t1 - t0, t2 - t1))
"""


def make_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ks = rng.integers(2, 51, size=n)
    rows = []
    for a, k in enumerate(ks):
        mu = rng.normal(0, 0.5)
        tau2 = rng.choice([0.0, 0.02, 0.1, 0.4])
        vi = rng.uniform(0.01, 0.5, size=k)
        yi = rng.normal(mu, np.sqrt(vi + tau2))
        for j in range(k):
            rows.append((f"A{a:05d}", f"A{a:05d}-S{j + 1}", yi[j], vi[j]))
    return pd.DataFrame(rows, columns=["analysis", "study", "yi", "vi"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of analyses")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--collection", action="store_true",
                    help="also run bench_meta_scale.py's collection and small-analysis pairs")
    ap.add_argument("--runs", type=int, default=7, help="with --collection: paired runs per small analysis")
    ap.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    args = ap.parse_args()
    if shutil.which("Rscript") is None:
        print("Rscript not found: install R and metafor to run the peer side.", file=sys.stderr)
        return 1
    synth = Path(sys.executable).with_name("synth")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "analyses.csv"
        df = make_data(args.n, args.seed)
        df.to_csv(data, index=False)
        print(f"{args.n} analyses, {len(df)} study rows (k = 2..50)")

        # synth, library call
        from synth.meta.analysis import pool_by
        from synth.meta.io import read_csv
        from synth.meta.pooling import PoolOptions

        t0 = time.perf_counter()
        results = pool_by(read_csv(data), "analysis", "GEN", PoolOptions(method="REML", test="hksj"))
        t_lib = time.perf_counter() - t0

        # synth, command line end to end
        out = Path(tmp) / "synth.csv"
        t0 = time.perf_counter()
        with out.open("w") as fh:
            subprocess.run([str(synth), "meta", "pool", str(data), "--by", "analysis", "--format", "csv"],
                           stdout=fh, stderr=subprocess.DEVNULL, check=True, env={**os.environ})
        t_cli = time.perf_counter() - t0

        # R metafor loop
        rfile = Path(tmp) / "bench.R"
        rfile.write_text(R_SCRIPT)
        rout = Path(tmp) / "r.csv"
        proc = subprocess.run(["Rscript", str(rfile), str(data), str(rout)], capture_output=True, text=True, check=True)
        r_times = json.loads(proc.stdout.strip().splitlines()[-1])
        r = pd.read_csv(rout)

    s = pd.DataFrame([{k: res[k] for k in ("group", "estimate", "tau2", "ci_low", "ci_high", "pi_low", "pi_high",
                                             "tau2_ci_low", "tau2_ci_high")} for res in results])
    merged = s.merge(r, left_on="group", right_on="analysis", suffixes=("_s", "_r"))
    n_s = int(np.isfinite(merged["estimate_s"].to_numpy(float)).sum())
    n_r = int(np.isfinite(merged["estimate_r"].to_numpy(float)).sum())
    print(f"pooled results: synth {n_s}/{len(merged)}, metafor {n_r}/{len(merged)} (failures are non-convergence)")
    worst = {}
    for key in ("estimate", "tau2", "ci_low", "ci_high", "pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high"):
        a, b = merged[f"{key}_s"].to_numpy(float), merged[f"{key}_r"].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(b) & (b < 99)  # metafor caps the Q-profile search at 100
        # the criterion: |a - b| <= 1e-6 |b| + 1e-8; report the worst ratio to that allowance
        worst[key] = float(np.max(np.abs(a[ok] - b[ok]) / (1e-6 * np.abs(b[ok]) + 1e-8))) if ok.any() else float("nan")
    print(f"synth pool --by (CLI, end to end): {t_cli:8.2f} s")
    print(f"synth pool_by (library call):      {t_lib:8.2f} s")
    print(f"R metafor rma+confint+predict loop: {r_times['full']:8.2f} s")
    print(f"R metafor rma() only loop:          {r_times['rma_only']:8.2f} s")
    print("agreement with metafor, worst |diff| / (1e-6 |ref| + 1e-8) (<= 1 means within tolerance): "
          + ", ".join(f"{k} {v:.2g}" for k, v in worst.items()))
    print(f"RATIO (R full loop / synth CLI):     {r_times['full'] / t_cli:6.1f}x")
    print(f"RATIO (R rma() only / synth CLI):    {r_times['rma_only'] / t_cli:6.1f}x")
    print(f"RATIO (R full loop / synth library): {r_times['full'] / t_lib:6.1f}x")
    if args.collection:
        import bench_meta_scale

        cmd = [str(synth)] if synth.exists() else [sys.executable, "-m", "synth"]
        with tempfile.TemporaryDirectory() as tmp:
            bench_meta_scale.scale(args.corpus, Path(tmp), cmd)
            bench_meta_scale.small(Path(tmp), cmd, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
