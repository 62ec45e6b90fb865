"""Import benchmark: 100,000 RIS records (built from real corpus records) into a fresh store, plus parse-only
speed against rispy and bibtexparser on the same data.

Run: ``python benchmarks/bench_import.py [--records 100000]``. Peers: benchmarks/requirements-import.txt.
Targets (issue 4): ``synth import`` of 100k RIS records < 10 s and peak memory < 1 GB; parse at least as
fast as rispy. Prints each timing and the ratios (peer time / synth time; > 1 means synth is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SYNTH_CORPUS", REPO.parent / "shared" / "corpus")) / "exports"
SOURCES = ["ris/citesource_medline_84.ris", "ris/citesource_dimensions_246.ris", "ris/asreview_scopus.ris",
           "ris/citesource_greenfile_ebsco.ris", "ris/citesource_problem_gambling_psycinfo_64.ris",
           "ris/citesource_test_wos_218.ris", "ris/asreview_embase.ris"]


def corpus_blocks() -> list[str]:
    """Real RIS records (TY..ER blocks) from several vendors' corpus files."""
    blocks: list[str] = []
    for rel in SOURCES:
        text = (CORPUS / rel).read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        for block in re.findall(r"^TY  - .*?^ER  -[^\n]*", text, flags=re.M | re.S):
            blocks.append(block)
    return blocks


def build_ris(path: Path, n: int) -> None:
    """``n`` records cycling through the corpus blocks, each made unique by a numbered title suffix."""
    blocks = corpus_blocks()
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            block = blocks[i % len(blocks)]
            block = re.sub(r"^(TI|T1)  - (.*)$", rf"\g<1>  - \g<2> [{i}]", block, count=1, flags=re.M)
            out.write(block + "\n\n")


def build_bibtex(ris_path: Path, bib_path: Path, n: int) -> None:
    """The first ``n`` records of the RIS file as BibTeX, written by synth's exporter."""
    from synth.importers.pipeline import parse_file
    from synth.records.export import export_records

    items = []
    for i, rec in enumerate(parse_file(ris_path).items(), 1):
        if i > n:
            break
        items.append((i, rec, None, None))
    bib_path.write_text(export_records(items, "bibtex"), encoding="utf-8")  # type: ignore[arg-type]


def timed(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """CPU seconds of ``fn()`` (the machine is shared, so CPU time is the fairer comparison) and its result."""
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def synth_parse_count(path: Path) -> int:
    from synth.importers.pipeline import parse_file

    return sum(1 for _ in parse_file(path).items())


def rispy_count(path: Path) -> int:
    import rispy

    with path.open(encoding="utf-8-sig") as handle:
        return len(rispy.load(handle))


def bibtexparser_count(path: Path) -> int:
    import bibtexparser

    return len(bibtexparser.parse_string(path.read_text(encoding="utf-8")).entries)


def synth_import(path: Path, folder: Path) -> tuple[float, float, dict[str, object]]:
    """Wall time and peak RSS (MB) of ``synth import`` in a child process, and its report."""
    db = f"sqlite:///{folder / 'bench.sqlite'}"
    code = (
        "import resource, sys, json, time\n"
        "from pathlib import Path\n"
        "from synth.store import open_store\n"
        "from synth.importers.pipeline import import_file\n"
        "store = open_store(sys.argv[1])\n"
        "t = time.perf_counter(); c = time.process_time()\n"
        "report = import_file(store, Path(sys.argv[2]), source='Bench')\n"
        "elapsed = time.perf_counter() - t; cpu = time.process_time() - c\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'elapsed': elapsed, 'cpu': cpu, 'peak_mb': peak, 'found': report.records_found,"
        " 'imported': report.imported, 'added': report.added, 'skipped': len(report.skipped)}))\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, db, str(path)], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, float(data["peak_mb"]), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--bibtex-records", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ris = folder / "bench.ris"
        build_ris(ris, args.records)
        size_mb = ris.stat().st_size / 1e6
        print(f"RIS file: {args.records} records, {size_mb:.0f} MB")

        wall, peak, report = synth_import(ris, folder)
        print(f"synth import into store: {report['elapsed']:.2f} s wall / {report['cpu']:.2f} s CPU in import_file "
              f"({wall:.2f} s process wall "
              f"incl. start-up), peak RSS {peak:.0f} MB; found {report['found']}, imported {report['imported']}, "
              f"added {report['added']}, skipped {report['skipped']}")
        print(f"  target < 10 s: {'MET' if report['elapsed'] < 10 else 'NOT MET'}; "  # type: ignore[operator]
              f"peak < 1024 MB: {'MET' if peak < 1024 else 'NOT MET'}")

        t_synth, n_synth = timed(lambda: synth_parse_count(ris))
        t_rispy, n_rispy = timed(lambda: rispy_count(ris))
        print(f"parse only, RIS: synth {t_synth:.2f} s ({n_synth} records), rispy {t_rispy:.2f} s "
              f"({n_rispy} records); ratio rispy/synth = {t_rispy / t_synth:.2f}")

        bib = folder / "bench.bib"
        build_bibtex(ris, bib, args.bibtex_records)
        from synth.importers.pipeline import parse_file

        t_sb, n_sb = timed(lambda: sum(1 for _ in parse_file(bib).items()))
        t_bp, n_bp = timed(lambda: bibtexparser_count(bib))
        print(f"parse only, BibTeX ({args.bibtex_records} records, {bib.stat().st_size / 1e6:.0f} MB): synth "
              f"{t_sb:.2f} s ({n_sb}), bibtexparser {t_bp:.2f} s ({n_bp}); ratio bibtexparser/synth = "
              f"{t_bp / t_sb:.2f}")
    print(f"(parse timings are CPU seconds; machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; max RSS of this driver "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
