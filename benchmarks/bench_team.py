"""Team screening under load (issue 17): reviewer processes screening at once against one PostgreSQL server.

Each reviewer is its own ``python`` process running the real screen (``ScreenSession``: claims, decisions with
their events, the active-learning re-ranker in its background worker, drawing to an off-screen console), fed
the corpus's gold labels as keys. Records: the Cohen 2006 sets of ``../shared/corpus/screening`` pooled into one
queue (no single corpus set holds 5 x 2,000 records). Reported per configuration: decisions per second, and
p50/p95 time from a key press to the next record drawn; then a consistency check on the server: every decision
stored once, with its event, no record decided by two reviewers in single screening, and (in a dual-screening
phase) the kappa the server computes equal to the kappa of the decisions the processes made.

Needs a PostgreSQL server and a URL whose user may create databases and roles, e.g.
``SYNTH_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres python benchmarks/bench_team.py``.
Targets: 0 lost or duplicated decisions; p95 under 50 ms; one reviewer on the server no slower than on SQLite
by more than 2x.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SYNTH_CORPUS", REPO.parent / "shared" / "corpus")) / "screening"
TA = "title-abstract"


def corpus_records() -> list[tuple[str, str, int]]:
    csv.field_size_limit(1 << 30)
    out: list[tuple[str, str, int]] = []
    for path in sorted((CORPUS / "cohen2006").glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                out.append((row.get("title") or "", row.get("abstract") or "",
                            int((row.get("label_included") or "0").strip() in ("1", "true"))))
    return out


def settings(required: int):  # type: ignore[no-untyped-def]
    from synth.screening.service import CriterionInfo, Settings

    return Settings(required={TA: required, "full-text": required}, prioritisation=True,
                    criteria={TA: [CriterionInfo("population", "Wrong population")]})


def load(url: str, rows: list[tuple[str, str, int]]) -> None:
    from synth.records.model import Provenance, Record
    from synth.store import open_store
    from synth.store.records import insert_records
    from synth.store.schema import records

    store = open_store(url)
    with store.begin() as conn:
        insert_records(conn, (Record(title=t, abstract=a, provenance=Provenance(source="cohen2006",
                                                                                 source_record_id=str(i)),
                                     raw={"label": y}) for i, (t, a, y) in enumerate(rows)))
        conn.execute(sa.update(records).values(cluster_id=records.c.id))
    store.close()


def reviewer_process(url: str, name: str, decisions: int, required: int, flip: float, think: float,
                     out: Path) -> None:
    """One reviewer: screen ``decisions`` records by their gold label (``flip`` of them answered the other way,
    every 1/flip-th, so a second reviewer disagrees sometimes), reading each for ``think`` seconds first, and
    write what happened to ``out``."""
    from rich.console import Console

    from synth.screening.tui import ScreenSession
    from synth.store import open_store
    from synth.store.schema import records

    store = open_store(url)
    with store.connect() as conn:
        gold = {int(r.id): int(r.raw["label"]) for r in conn.execute(sa.select(records.c.id, records.c.raw))}
    made: list[tuple[int, str]] = []
    pressed: list[float] = []
    drawn: list[float] = []
    state = {"reason": False, "current": 0}
    every = round(1 / flip) if flip else 0

    def read_key() -> str:
        if state["reason"]:
            state["reason"] = False
            return "1"
        if len(made) >= decisions:
            return "q"
        if think:
            time.sleep(think)
        rid = state["current"]
        label = gold[rid]
        if every and (len(made) + 1) % every == 0:
            label = 1 - label
        made.append((rid, "include" if label else "exclude"))
        pressed.append(time.perf_counter())
        state["reason"] = not label
        return "i" if label else "e"

    session = ScreenSession(store, settings(required), TA, name, read_key=read_key,
                            console=Console(file=io.StringIO(), width=120), prioritise=True)
    real_show = session.show

    def show(rid: int) -> None:
        state["current"] = rid
        real_show(rid)
        drawn.append(time.perf_counter())

    session.show = show  # type: ignore[method-assign]
    started = time.perf_counter()
    session.run(full_screen=False)
    elapsed = time.perf_counter() - started
    latencies = [(drawn[k + 1] - pressed[k]) * 1000 for k in range(min(len(pressed), len(drawn) - 1))]
    out.write_text(json.dumps({"name": name, "made": made, "latencies": latencies, "elapsed": elapsed,
                               "taken": session.taken_by_others}))
    store.close()


def run_reviewers(url: str, names: list[str], decisions: int, required: int, flips: list[float],
                  member_url: bool, think: float = 0.0) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for name, flip in zip(names, flips, strict=True):
            own = sa.make_url(url).set(username=name).render_as_string(hide_password=False) if member_url else url
            procs.append(subprocess.Popen([sys.executable, __file__, "--reviewer-proc", own, name, str(decisions),
                                           str(required), str(flip), str(think), f"{tmp}/{name}.json"]))
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"a reviewer process failed (exit {p.returncode})")
        return [json.loads(Path(f"{tmp}/{n}.json").read_text()) for n in names]


def summary(label: str, results: list[dict]) -> dict:
    lat = sorted(x for r in results for x in r["latencies"])
    made = sum(len(r["made"]) for r in results)
    wall = max(r["elapsed"] for r in results)
    row = {"config": label, "decisions": made, "per_second": made / wall, "p50_ms": statistics.median(lat),
           "p95_ms": lat[int(0.95 * (len(lat) - 1))], "max_ms": lat[-1]}
    taken = sum(r.get("taken", 0) for r in results)
    print(f"{label:44} {made:>6} decisions  {row['per_second']:7.1f}/s  p50 {row['p50_ms']:6.1f} ms  "
          f"p95 {row['p95_ms']:6.1f} ms  max {row['max_ms']:7.1f} ms  ({taken} skipped: taken by others)")
    return row


def consistency(url: str, results: list[dict], *, single: bool) -> list[str]:
    """What the server holds against what the processes did; an empty list when they agree."""
    problems: list[str] = []
    made = {(r["name"], rid): d for r in results for rid, d in r["made"]}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT reviewer, record_id, decision FROM screening_decisions WHERE active")).all()
        events = conn.execute(sa.text("SELECT COUNT(*) FROM events WHERE kind = 'decision'")).scalar_one()
        linked = conn.execute(sa.text("SELECT COUNT(*) FROM screening_decisions d JOIN events e ON e.id = d.event_id"
                                      )).scalar_one()
    engine.dispose()
    stored = {(r.reviewer, r.record_id): r.decision for r in rows}
    if len(rows) != len(stored):
        problems.append(f"{len(rows) - len(stored)} decisions stored twice")
    if stored != made:
        lost = len(set(made) - set(stored))
        extra = len(set(stored) - set(made))
        problems.append(f"{lost} decisions lost, {extra} stored that nobody made, "
                        f"{sum(1 for k in made if k in stored and stored[k] != made[k])} changed")
    if events != len(rows) or linked != len(rows):
        problems.append(f"{len(rows)} decisions but {events} decision events ({linked} linked)")
    if single:
        per_record: dict[int, int] = {}
        for _, rid in stored:
            per_record[rid] = per_record.get(rid, 0) + 1
        twice = sum(1 for n in per_record.values() if n > 1)
        if twice:
            problems.append(f"{twice} records screened by two reviewers in single screening")
    return problems


def kappa(a: list[int], b: list[int]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return (po - pe) / (1 - pe)


def fresh(base: sa.URL) -> str:
    from synth.store.team import create_database

    url = base.set(database=f"synth_bench_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    create_database(url)
    return url


def drop(base: sa.URL, url: str) -> None:
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def team(url: str, names: list[str]) -> None:
    from synth.store import open_store
    from synth.store.team import add_member, init_team

    store = open_store(url)
    init_team(store)
    for name in names:
        add_member(store, name, "screener")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=5)
    parser.add_argument("--per-reviewer", type=int, default=2000)
    parser.add_argument("--dual", type=int, default=500, help="records both reviewers screen in the kappa phase")
    parser.add_argument("--think", type=float, default=0.25,
                        help="seconds each reviewer reads a record in the paced run (a person takes several)")
    args = parser.parse_args()
    base_text = os.environ.get("SYNTH_BENCH_PG_URL") or os.environ.get("SYNTH_TEST_PG_URL")
    if not base_text:
        raise SystemExit("set SYNTH_BENCH_PG_URL to a PostgreSQL URL whose user may create databases and roles")
    base = sa.make_url(base_text)
    rows = corpus_records()
    need = args.reviewers * args.per_reviewer
    if len(rows) < need:
        raise SystemExit(f"the pooled corpus holds {len(rows)} records, fewer than {need}")
    print(f"{len(rows)} records (Cohen 2006 sets pooled); {args.reviewers} reviewers x {args.per_reviewer}")
    tag = uuid.uuid4().hex[:6]
    names = [f"r{i}_{tag}" for i in range(1, args.reviewers + 1)]
    results: dict[str, dict] = {}
    failures: list[str] = []

    with tempfile.TemporaryDirectory() as tmp:
        lite = f"sqlite:///{tmp}/one.sqlite"
        load(lite, rows)
        results["sqlite_1"] = summary("SQLite, 1 reviewer, no pause", run_reviewers(lite, [names[0]], args.per_reviewer, 1,
                                                                         [0.0], member_url=False))
    urls: list[str] = []
    try:
        for label, count, think in (("pg_1", 1, 0.0), ("pg_n", args.reviewers, 0.0),
                                    ("pg_n_paced", args.reviewers, args.think)):
            url = fresh(base)
            urls.append(url)
            team(url, names[:count])
            load(url, rows)
            done = run_reviewers(url, names[:count], args.per_reviewer, 1, [0.0] * count, member_url=True,
                                 think=think)
            pace = f", {think:g} s a record" if think else ", no pause"
            results[label] = summary(f"PostgreSQL, {count} at once{pace}", done)
            failures += [f"{label}: {p}" for p in consistency(url, done, single=True)]
        url = fresh(base)
        urls.append(url)
        team(url, names[:2])
        load(url, rows[:args.dual])
        done = run_reviewers(url, names[:2], args.dual, 2, [0.0, 0.1], member_url=True)
        results["pg_dual"] = summary("PostgreSQL, 2 reviewers, dual", done)
        failures += [f"dual: {p}" for p in consistency(url, done, single=False)]
        mine = {r["name"]: dict(map(tuple, r["made"])) for r in done}
        common = sorted(set(mine[names[0]]) & set(mine[names[1]]))
        local = kappa([int(mine[names[0]][k] == "include") for k in common],
                      [int(mine[names[1]][k] == "include") for k in common])
        from synth.screening.service import agreement
        from synth.store import open_store

        store = open_store(url)
        pairs = agreement(store, settings(2), TA)
        store.close()
        served = pairs[0]["decisions"]["kappa"] if pairs else float("nan")
        print(f"kappa on {len(common)} records both screened: from the decisions made {local:.6f}, "
              f"from the server {served:.6f}")
        if abs(served - local) > 1e-9:
            failures.append(f"kappa differs: {served} on the server, {local} from the decisions")
    finally:
        for url in urls:
            drop(base, url)
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for role in conn.execute(sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"),
                                     {"p": f"%\\_{tag}"}).scalars().all():
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
            for role in conn.execute(sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE 'synth\\_synth\\_bench\\_%'")
                                     ).scalars().all():
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
    one, lite_row, paced = results["pg_1"], results["sqlite_1"], results["pg_n_paced"]
    print(f"p95 ratio, PostgreSQL 1 reviewer / SQLite 1 reviewer: {one['p95_ms'] / lite_row['p95_ms']:.2f}x "
          f"(target at most 2x); p95 with {args.reviewers} paced reviewers: {paced['p95_ms']:.1f} ms (target < 50 ms)")
    print(f"consistency: {'0 lost or duplicated decisions' if not failures else '; '.join(failures)}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--reviewer-proc":
        _, _, u, n, d, req, f, t, o = sys.argv
        reviewer_process(u, n, int(d), int(req), float(f), float(t), Path(o))
    else:
        main()
