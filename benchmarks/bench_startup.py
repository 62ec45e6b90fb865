"""Start-up time of `synth --help` against importing the heavy scientific stack.

Issue #2 asks `synth --help` to start at least 3x faster than
`python -c "import pandas, scipy.stats, matplotlib.pyplot"`. Both run as fresh processes, alternately, and the
medians are compared.

Run: python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

SYNTH = [sys.executable, "-m", "synth", "--help"]
HEAVY = [sys.executable, "-c", "import pandas, scipy.stats, matplotlib.pyplot"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    timed(SYNTH), timed(HEAVY)  # warm the file-system cache for both
    synth, heavy = [], []
    for _ in range(args.runs):
        synth.append(timed(SYNTH))
        heavy.append(timed(HEAVY))
    s, h = statistics.median(synth), statistics.median(heavy)
    print(f"synth --help                                   median {s * 1000:7.1f} ms over {args.runs} runs")
    print(f"import pandas, scipy.stats, matplotlib.pyplot  median {h * 1000:7.1f} ms over {args.runs} runs")
    print(f"ratio: synth --help starts {h / s:.1f}x faster (target >= 3x)")


if __name__ == "__main__":
    main()
