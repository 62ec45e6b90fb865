"""Import benchmark: 100,000 RIS records (built from real corpus records) into a fresh store, plus parse-only
speed against rispy and bibtexparser on the same data.

Run: ``python benchmarks/bench_import.py [--records 100000]``. Peers: benchmarks/requirements-import.txt.
Targets (issue 4): ``synth import`` of 100k RIS records < 10 s and peak memory < 1 GB; parse at least as
fast as rispy. Prints each timing and the ratios (peer time / synth time; > 1 means synth is faster). The import
is timed with the default worker processes and with ``--jobs 1``; the parse both in one process (CPU time) and
as an import parses, in worker processes (wall time); and synth's RIS reader alone (tags and values, before
the record model's normalisation: what rispy does) in one process, also with the garbage collector paused.
"""

from __future__ import annotations

import argparse
import gc
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


def synth_read_count(path: Path) -> int:
    """Records read by synth's RIS reader alone (tags and values, loss-free; not mapped to the record model),
    streamed as synth reads: the like-for-like comparison with rispy."""
    from synth.importers.pipeline import parse_file
    from synth.importers.ris import read_ris

    parsed = parse_file(path)
    return sum(1 for _ in read_ris(parsed.decoded, parsed.context))


def timed_without_gc(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """:func:`timed` with the cyclic garbage collector paused: rispy returns a list of every record, and the
    collector's passes over it grow with the file, a cost synth's streaming does not pay."""
    gc.collect()
    gc.disable()
    try:
        return timed(fn)
    finally:
        gc.enable()


def rispy_count(path: Path) -> int:
    import rispy

    with path.open(encoding="utf-8-sig") as handle:
        return len(rispy.load(handle))


def bibtexparser_count(path: Path) -> int:
    import bibtexparser

    return len(bibtexparser.parse_string(path.read_text(encoding="utf-8")).entries)


_IMPORT_CODE = """
import json, resource, sys, time
from pathlib import Path
from synth.store import open_store
from synth.importers.pipeline import import_file
store = open_store(sys.argv[1])
t = time.perf_counter(); c = time.process_time()
report = import_file(store, Path(sys.argv[2]), source="Bench", jobs=int(sys.argv[3]) or None)
store.close()
elapsed = time.perf_counter() - t; cpu = time.process_time() - c
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"elapsed": elapsed, "cpu": cpu, "workers_cpu": kids.ru_utime + kids.ru_stime,
                  "peak_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "found": report.records_found, "imported": report.imported, "added": report.added,
                  "skipped": len(report.skipped)}))
"""


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


def _tree(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            kids = [int(x) for x in handle.read().split()]
    except OSError:
        kids = []
    return [pid] + [p for kid in kids for p in _tree(kid)]


def synth_import(path: Path, folder: Path, jobs: int = 0, run: int = 0) -> dict[str, float]:
    """``import_file`` (store closed, so the final checkpoint is counted) in a child process: wall and CPU
    seconds, the workers' CPU, and peak memory: the main process's RSS, and the whole process tree's PSS sampled
    from here every second (PSS counts the pages workers share with their parent once; RSS would count them in
    every process). ``jobs`` 0 means the default."""
    db = folder / f"bench-{jobs}-{run}.sqlite"
    child = subprocess.Popen([sys.executable, "-c", _IMPORT_CODE, f"sqlite:///{db}", str(path), str(jobs)],
                             stdout=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        peak = max(peak, sum(_pss_kb(pid) for pid in _tree(child.pid)))
        time.sleep(1.0)
    out, _ = child.communicate()
    if child.returncode:
        raise SystemExit(f"import failed with exit code {child.returncode}")
    data: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    data["peak_total_mb"] = peak / 1024
    for leftover in folder.glob(f"{db.name}*"):  # each run starts from the same disk and page-cache state
        leftover.unlink()
    os.sync()
    return data


def synth_parallel_parse(path: Path) -> int:
    """Records parsed by the worker processes an import uses (into store rows: more work than rispy does)."""
    from synth.importers.parallel import parse_pieces
    from synth.importers.pipeline import parse_file
    from synth.importers.ris import ris_pieces
    from synth.store.records import RowMaker

    parsed = parse_file(path)
    pieces = ris_pieces(parsed.decoded)
    assert pieces is not None
    make_row = RowMaker(None, "database", "2026-01-01T00:00:00Z", sqlite=True)
    return sum(result.found for result in parse_pieces(parsed.decoded.data, pieces, parsed.context, make_row))


def wall(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


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

        os.sync()  # the file just written is on disk, not being written back while synth imports it
        runs = []
        for run, jobs in enumerate((0, 0, 0, 1)):
            r = synth_import(ris, folder, jobs, run)
            label = "default jobs (worker processes)" if jobs == 0 else "--jobs 1 (one process)"
            print(f"synth import, {label}: {r['elapsed']:.2f} s wall; CPU {r['cpu']:.2f} s main + "
                  f"{r['workers_cpu']:.2f} s workers; peak memory {r['peak_total_mb']:.0f} MB PSS in all "
                  f"(main RSS {r['peak_main_mb']:.0f} MB); found {r['found']:.0f}, imported {r['imported']:.0f}, "
                  f"added {r['added']:.0f}, skipped {r['skipped']:.0f}")
            if jobs == 0:
                runs.append(r)
        median = sorted(r["elapsed"] for r in runs)[len(runs) // 2]
        peak = max(r["peak_total_mb"] for r in runs)
        print(f"  default jobs, median of {len(runs)}: {median:.2f} s; target < 10 s: "
              f"{'MET' if median < 10 else 'NOT MET'}; peak {peak:.0f} MB < 1024 MB: "
              f"{'MET' if peak < 1024 else 'NOT MET'}")

        t_synth, n_synth = timed(lambda: synth_parse_count(ris))
        t_rispy, n_rispy = timed(lambda: rispy_count(ris))
        print(f"parse only, RIS, one process (CPU): synth {t_synth:.2f} s ({n_synth} records, normalised), "
              f"rispy {t_rispy:.2f} s ({n_rispy} records, tags only); ratio rispy/synth = {t_rispy / t_synth:.2f}")
        t_read, n_read = timed(lambda: synth_read_count(ris))
        print(f"read only, RIS, one process (CPU): synth's reader {t_read:.2f} s ({n_read} records, tags only, "
              f"not normalised, streamed: like for like), rispy {t_rispy:.2f} s; ratio rispy/synth = "
              f"{t_rispy / t_read:.2f}")
        g_read, _ = timed_without_gc(lambda: synth_read_count(ris))
        g_rispy, _ = timed_without_gc(lambda: rispy_count(ris))
        g_parse, _ = timed_without_gc(lambda: synth_parse_count(ris))
        print(f"  the same with the garbage collector paused (the parsing work alone): synth's reader {g_read:.2f} s, "
              f"synth's parse {g_parse:.2f} s, rispy {g_rispy:.2f} s; ratios rispy/reader = {g_rispy / g_read:.2f}, "
              f"rispy/parse = {g_rispy / g_parse:.2f}")
        w_synth, n_par = wall(lambda: synth_parallel_parse(ris))
        w_rispy, _ = wall(lambda: rispy_count(ris))
        print(f"parse only, RIS, as an import parses (wall): synth {w_synth:.2f} s ({n_par} records into store "
              f"rows, worker processes), rispy {w_rispy:.2f} s; ratio rispy/synth = {w_rispy / w_synth:.2f}")

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
