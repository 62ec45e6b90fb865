"""`synth import`: per-file reports, one transaction per file, idempotent re-import, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from synth.cli.app import app
from synth.store import open_store
from synth.store.events import read as read_events
from synth.store.records import count_records, iter_records
from synth.store.schema import imports

FIX = Path(__file__).parent / "fixtures" / "import"
runner = CliRunner()


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


def test_import_reports_and_stores(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    code, out, err = run(db, "import", str(FIX / "quirks.ris"), str(FIX / "two.nbib"), "--format", "json")
    assert code == 0, err
    reports = json.loads(out)
    ris, nbib = reports
    assert (ris["format"], ris["records_found"], ris["imported"], ris["added"]) == ("ris", 4, 3, 3)
    assert ris["skipped"] == [{"record_number": 3, "line": 27, "reason": "no content: only TY/ID/ER tags or empty values"}]
    assert ris["missing"] == {"abstract": 2, "doi": 2, "year": 0}
    assert ris["source"] == "quirks"
    assert (nbib["format"], nbib["source"], nbib["imported"]) == ("nbib", "PubMed", 2)
    store = open_store(db)
    with store.connect() as conn:
        assert count_records(conn) == 5
        recs = [r for _, r in iter_records(conn)]
        assert recs[0].provenance.record_number == 1 and recs[0].provenance.file.endswith("quirks.ris")
        events = read_events(conn, "import")
        assert [e["payload"]["records_found"] for e in events] == [4, 2]
        rows = conn.execute(sa.select(imports.c.records_found, imports.c.imported)).all()
        assert [tuple(r) for r in rows] == [(4, 3), (2, 2)]


def test_reimport_adds_nothing_and_says_so(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert run(db, "import", str(FIX / "two.ciw"), "--source", "Web of Science")[0] == 0
    code, out, _ = run(db, "import", str(FIX / "two.ciw"))
    assert code == 0
    assert "already imported" in out and "nothing was added" in out
    with open_store(db).connect() as conn:
        assert count_records(conn) == 2
        assert len(read_events(conn, "import")) == 1


def test_identical_records_in_one_file_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "twice.ris"
    path.write_text("TY  - JOUR\nTI  - Same\nER  - \nTY  - JOUR\nTI  - Same\nER  - \n")
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    code, out, _ = run(db, "import", str(path), "--format", "json")
    assert code == 0 and json.loads(out)[0]["added"] == 2
    # the same records re-exported in another file from the same source are already known
    other = tmp_path / "again.ris"
    other.write_text("TY  - JOUR\nTI  - Same\nER  - \n\n")
    code, out, _ = run(db, "import", str(other), "--source", "twice", "--format", "json")
    report = json.loads(out)[0]
    assert (report["imported"], report["added"], report["already_in_store"]) == (1, 0, 1)


def test_bad_files_exit_1_and_write_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    binary = tmp_path / "x.ris"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    empty = tmp_path / "e.ris"
    empty.write_text("")
    code, out, err = run(db, "import", str(binary), str(empty))
    assert code == 1 and out == ""
    assert err.splitlines()[:2] == [
        f"Error: {binary}: this is a binary file, not a bibliographic export (control bytes near the start). "
        "Export the records as RIS, MEDLINE, BibTeX, CSV, EndNote XML, PubMed XML or OpenAlex JSON.",
        f"{empty}: the file is empty. Export the records again and import the new file.",
    ]
    truncated = tmp_path / "t.xml"
    truncated.write_text("<xml><records><record><titles><title>x</title>")
    code, _, err = run(db, "import", str(truncated))
    assert code == 1 and f"{truncated}: not well-formed XML" in err
    with open_store(db).connect() as conn:
        assert count_records(conn) == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(imports)).scalar_one() == 0


def test_good_file_kept_when_another_fails(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    prose = tmp_path / "letter.txt"
    prose.write_text("Dear colleague,\n")
    code, out, err = run(db, "import", str(FIX / "two.nbib"), str(prose))
    assert code == 1
    assert "two.nbib: nbib, source PubMed: imported; records found 2, imported 2, skipped 0" in out
    assert f"{prose}: unknown format" in err
    with open_store(db).connect() as conn:
        assert count_records(conn) == 2


def test_column_map_option(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Headline,Writers,Identifier\nA study,\"Smith, J\",R1\n")
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    code, out, err = run(db, "import", str(path), "--column-map", "title=Headline", "--column-map",
                         "authors=Writers", "--column-map", "source_record_id=Identifier", "--format", "json")
    assert code == 0, err
    assert json.loads(out)[0]["imported"] == 1
    code, _, err = run(db, "import", str(path), "--column-map", "title")
    assert code == 1 and "--column-map 'title': expected FIELD=COLUMN" in err


def test_table_output_lists_skips_and_warnings(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    code, out, _ = run(db, "import", str(FIX / "quirks.ris"), "--source", "Ovid", "--kind", "database")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("quirks.ris: ris, source Ovid: imported; records found 4, imported 3, skipped 1 "
                             "(added 3, already in store 0)")
    assert lines[1] == "  missing: abstract 2, DOI 2, year 0"
    assert lines[2] == "  skipped record 3 (line 27): no content: only TY/ID/ER tags or empty values"
    assert "  warning: record 4 (line 30) is the last one and has no ER line; kept" in lines


def test_import_tells_its_progress_in_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synth.importers import ris
    from synth.importers.pipeline import import_file

    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    seen: list[tuple[int, int]] = []
    bib = FIX / "quirks.bib"
    import_file(store, bib, progress=lambda done, total: seen.append((done, total)))
    size = bib.stat().st_size
    assert seen == [(0, size), (size, size)]  # other formats: at the start and the end
    monkeypatch.setattr(ris, "CHUNK_CHARS", 64)
    seen.clear()
    path = FIX / "quirks.ris"
    import_file(store, path, progress=lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    positions = [done for done, total in seen if total == size]
    assert len(positions) == len(seen) > 5  # a RIS file streamed in one process: chunk by chunk
    assert positions == sorted(positions) and positions[0] == 0 and positions[-1] == size


def test_import_shows_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    import os
    import pty
    import select
    import subprocess
    import sys

    def run_import(db: str, on_terminal: bool) -> tuple[bytes, str]:
        master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
        proc = subprocess.Popen([sys.executable, "-m", "synth", "--db", db, "import", str(FIX / "quirks.ris")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=slave if on_terminal else subprocess.PIPE, env={**env, "TERM": "xterm"})
        os.close(slave)
        seen = b""
        while True:  # read the terminal until the command is done and nothing more comes
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready and proc.poll() is not None:
                break
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the command closed the terminal
                    break
                seen += chunk
        out, err = proc.communicate(timeout=60)
        os.close(master)
        assert proc.returncode == 0, err
        return seen if on_terminal else err, out.decode()

    shown, out = run_import(f"sqlite:///{tmp_path / 'a.sqlite'}", on_terminal=True)
    size = (FIX / "quirks.ris").stat().st_size
    assert b"import quirks.ris" in shown and f"{size}/{size} bytes".encode() in shown  # the bar's name and count
    assert "records found 4" in out and "\x1b" not in out  # the report stays on stdout, plain
    err, _ = run_import(f"sqlite:///{tmp_path / 'b.sqlite'}", on_terminal=False)
    assert err == b""  # no terminal: no bar


def _workspace(tmp_path: Path, extra: str = "") -> Path:
    """A blank workspace whose protocol lists fixtures/import/two.nbib as an export from MEDLINE (Ovid)."""
    import shutil

    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--template", "blank"]).exit_code == 0
    shutil.copyfile(FIX / "two.nbib", ws / "two.nbib")
    shutil.copyfile(FIX / "quirks.ris", ws / "quirks.ris")
    protocol = next((ws / "protocols").glob("*.toml"))
    protocol.write_text(protocol.read_text("utf-8") + '\n[[sources.files]]\npath = "two.nbib"\n'
                        'database = "MEDLINE (Ovid)"\nkind = "database"\nplatform = "Ovid"\n' + extra, "utf-8")
    return ws


def test_a_file_the_protocol_lists_takes_its_database_name(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    r = runner.invoke(app, ["-w", str(ws), "import", str(ws / "two.nbib"), str(ws / "quirks.ris"),
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    listed, other = json.loads(r.stdout)
    assert listed["source"] == "MEDLINE (Ovid)"  # not "PubMed" from the file's content
    assert other["source"] == "quirks"  # not in the protocol: from the file as before
    again = runner.invoke(app, ["-w", str(ws), "import", str(ws / "two.nbib"), "--source", "PubMed"])
    assert "the protocol lists it as 'MEDLINE (Ovid)'; imported as 'PubMed', as asked." in again.stderr


@pytest.mark.sqlite_only  # opens the workspace's SQLite file itself
def test_rename_source_fixes_a_wrong_name_everywhere(tmp_path: Path) -> None:
    from synth.store.records import source_names

    ws = _workspace(tmp_path)
    assert runner.invoke(app, ["-w", str(ws), "import", str(ws / "quirks.ris")]).exit_code == 0
    r = runner.invoke(app, ["-w", str(ws), "records", "rename-source", "quirks", "Scopus"])
    assert r.exit_code == 0, r.output
    assert "Renamed source 'quirks' to 'Scopus' on 3 records." in r.stderr
    store = open_store(f"sqlite:///{ws / '.synth' / 'review.sqlite'}")
    with store.connect() as conn:
        assert source_names(conn) == {"Scopus": 3}
        assert [row.source for row in conn.execute(sa.select(imports.c.source))] == ["Scopus"]
        assert read_events(conn, "source_renamed")[0]["payload"] == {"old": "quirks", "new": "Scopus", "kind": None,
                                                                    "records": 3}
    prisma = runner.invoke(app, ["-w", str(ws), "prisma", "--format", "json"])
    assert prisma.exit_code == 0, prisma.output
    assert "Scopus" in prisma.stdout and "quirks" not in prisma.stdout
    wrong = runner.invoke(app, ["-w", str(ws), "records", "rename-source", "Scopus", "X", "--kind", "journal"])
    assert wrong.exit_code == 2 and "use one of database, register, website, organisation, citation, other" in \
        wrong.output
    bad = runner.invoke(app, ["-w", str(ws), "records", "rename-source", "Embase", "X"])
    assert bad.exit_code == 1 and bad.stderr == "Error: no records from source 'Embase'. Sources in the store: Scopus.\n"


def test_records_show_csv_is_the_list_row(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert run(db, "import", str(FIX / "two.nbib"))[0] == 0
    code, shown, err = run(db, "records", "show", "2", "-f", "csv")
    assert code == 0, err
    _, listed, _ = run(db, "records", "list", "--format", "csv")
    header, *rows = listed.splitlines()
    assert shown.splitlines() == [header, next(r for r in rows if r.startswith("2,"))]
