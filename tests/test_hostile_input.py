"""Hostile and careless input gets one clear line and exit code 1, never an internal error (issue 23):
deep nesting that would overflow the parser's recursion, non-finite numbers, and a workspace synth cannot
write into."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flagship_helpers import copy_flagship
from typer.testing import CliRunner

from synth.cli.app import app

REPO = Path(__file__).resolve().parent.parent
NAME = "partnership-outcomes"
runner = CliRunner()
DEEP = 100_000  # far beyond Python's recursion limit


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, output
    assert "Traceback" not in output and "internal error" not in output, output
    return lines[0]


def test_deeply_nested_protocol_is_a_protocol_error(tmp_path: Path) -> None:
    (tmp_path / "protocols").mkdir()
    path = tmp_path / "protocols" / "deep.toml"
    path.write_text("x = " + "[" * DEEP + "]" * DEEP + "\n", encoding="utf-8")
    code, out = _invoke("-w", str(tmp_path), "protocol", "validate")
    assert code == 1
    line = _one_error_line(out)
    assert "deep.toml" in out and "nested too deeply" in out, line


def test_deeply_nested_openalex_json_is_an_import_error(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    path = tmp_path / "works.json"
    path.write_text("[" * DEEP + "]" * DEEP, encoding="utf-8")
    code, out = _invoke("-w", str(ws), "import", str(path), "--input-format", "openalex-json", "--source", "OpenAlex")
    assert code == 1, out
    line = _one_error_line(out)
    assert "works.json" in line and "nested too deeply" in line


def test_deeply_nested_extraction_file_is_a_problem(tmp_path: Path) -> None:
    from synth.extraction.files import load_folder

    (tmp_path / "deep-2000.alice.toml").write_text("x = " + "[" * DEEP + "]" * DEEP + "\n", encoding="utf-8")
    files, problems = load_folder(tmp_path)
    assert files == [] and [p.message for p in problems] == ["arrays or tables are nested too deeply to read"]


def test_nan_in_an_extraction_file_does_not_abort_the_run(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    path = next(iter(sorted((ws / "extractions" / NAME).glob("*.toml"))))
    text = path.read_text(encoding="utf-8")
    assert "n_t = " in text
    path.write_text(text.replace("n_t = ", "n_t = nan # was ", 1), encoding="utf-8")
    code, out = _invoke("-w", str(ws), "extract", "check", "--format", "json")
    assert code == 1 and "not a finite number" in out and "internal error" not in out
    result = runner.invoke(app, ["-w", str(ws), "run", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    extraction = next(s for s in summary["stages"] if s["stage"] == "extraction")
    assert extraction["status"] == "problems"


def test_a_workspace_synth_cannot_write_into_is_one_line(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    (ws / "out").write_text("a file where the output folder goes\n", encoding="utf-8")
    code, out = _invoke("-w", str(ws), "run")
    assert code == 1, out
    line = _one_error_line(out)
    assert "out" in line and "writable" in line


@pytest.mark.parametrize("text", ["[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP])
def test_deeply_nested_api_json_is_a_malformed_response(text: str) -> None:
    from synth.sources.base import load_json
    from synth.sources.errors import MalformedResponse
    from synth.sources.http import Response

    with pytest.raises(MalformedResponse, match="nested too deeply"):
        load_json("OpenAlex", Response(200, {}, text.encode()), "page 1")


# --- text from records is shown, never obeyed -------------------------------------------------------------

HOSTILE = "Clear\x1b[2J me \x1b]0;pwned\x07 now\r\u202eevil"


def test_visible_escapes_every_control_character() -> None:
    from synth.safetext import visible

    shown = visible(HOSTILE + "\nsecond line\ttab")
    assert shown == "Clear\\x1b[2J me \\x1b]0;pwned\\x07 now\\x0d\\u202eevil\nsecond line\ttab"
    assert visible("a\nb", newlines=False) == "a\\x0ab"
    assert visible("Ünïcode — fine") == "Ünïcode — fine"


def test_readable_decodes_entities_and_inline_tags_but_never_control_characters() -> None:
    from synth.safetext import readable, visible

    assert readable("p &lt; 0.001 &amp; H<sub>2</sub>O in <i>vivo</i> &#x3B1;") == "p < 0.001 & H2O in vivo α"
    assert readable("p <0.05 and >3 visits; a<b") == "p <0.05 and >3 visits; a<b"  # no tag: untouched
    assert readable("Fish & chips") == "Fish & chips"
    assert readable("<jats:p>Text</jats:p><br/>") == "Text"
    # an entity that spells a control character never becomes one (Python drops it), and visible() still runs
    assert visible(readable("&#27;[2J&#7;")) == "[2J"
    assert visible(readable("&lt;script&gt;")) == "<script>"  # decoded text is shown, not run


def _hostile_workspace(tmp_path: Path) -> Path:
    ws = copy_flagship(tmp_path / "ws")
    ris = tmp_path / "hostile.ris"
    ris.write_text(f"TY  - JOUR\nTI  - {HOSTILE}\nAU  - Evil\x1b[31m, Eve\nPY  - 2020\n"
                   "AB  - =HYPERLINK(\"http://x\",\"click\")\nER  - \n", encoding="utf-8")
    code, out = _invoke("-w", str(ws), "import", str(ris), "--source", "hostile")
    assert code == 0, out
    return ws


def test_records_list_and_show_never_send_control_characters(tmp_path: Path) -> None:
    ws = _hostile_workspace(tmp_path)
    listed = runner.invoke(app, ["-w", str(ws), "records", "list"])
    assert listed.exit_code == 0 and "\x1b" not in listed.stdout and "\\x1b[2J" in listed.stdout
    shown = runner.invoke(app, ["-w", str(ws), "records", "show", "1"])
    assert shown.exit_code == 0 and "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "Clear\\x1b[2J me \\x1b]0;pwned\\x07 now" in shown.stdout and "\\u202eevil" in shown.stdout


@pytest.mark.sqlite_only  # opens the workspace's SQLite file itself
def test_the_screen_shows_control_characters_instead_of_obeying_them(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from synth.protocol import load_protocol
    from synth.screening.service import Settings
    from synth.screening.tui import ScreenSession
    from synth.store import open_store

    ws = _hostile_workspace(tmp_path)
    store = open_store(f"sqlite:///{ws / '.synth' / f'{NAME}.sqlite'}")
    try:
        with store.begin() as conn:
            import sqlalchemy as sa

            from synth.store.schema import records

            conn.execute(sa.update(records).values(cluster_id=records.c.id))
        settings = Settings.from_protocol(load_protocol(ws / "protocols" / f"{NAME}.toml"))
        out = io.StringIO()
        sess = ScreenSession(store, settings, "title-abstract", "alice", read_key=lambda: "q",
                             read_line=lambda prompt: "", console=Console(file=out, width=160), prioritise=False)
        console = Console(file=io.StringIO(), width=160)
        console.print(sess.render(1))
        text = console.file.getvalue()  # type: ignore[attr-defined]
    finally:
        store.close()
    assert "\x1b" not in text and "\x07" not in text and "\\x1b[2J" in text


def test_csv_exports_neutralise_formulas_and_reimport_restores_them(tmp_path: Path) -> None:
    from synth.safetext import from_spreadsheet, spreadsheet_safe

    for cell in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx"):
        assert spreadsheet_safe(cell) == "'" + cell and from_spreadsheet(spreadsheet_safe(cell)) == cell
    for cell in ("-0.5", "+3", "plain", "'quoted already", ""):
        assert spreadsheet_safe(cell) == cell and from_spreadsheet(cell) == cell
    ws = _hostile_workspace(tmp_path)
    out = tmp_path / "records.csv"
    code, text = _invoke("-w", str(ws), "records", "export", "--format", "csv", "-o", str(out))
    assert code == 0, text
    exported = out.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in exported and ",=HYPERLINK" not in exported and '"=HYPERLINK' not in exported
    again = copy_flagship(tmp_path / "again")
    code, text = _invoke("-w", str(again), "import", str(out), "--input-format", "csv", "--source", "reimport")
    assert code == 0, text
    listed = runner.invoke(app, ["-w", str(again), "records", "list", "--format", "json"])
    abstracts = [r["abstract"] for r in json.loads(listed.stdout) if r["source"] == "reimport"]
    assert abstracts == ['=HYPERLINK("http://x","click")']


def test_damaged_import_text_is_kept_and_reported(tmp_path: Path) -> None:
    ws = copy_flagship(tmp_path / "ws")
    bib = tmp_path / "broken.bib"
    bib.write_text("@article{a1,\n  title = {Integrated care {for older people},\n  author = {Smith, J},\n"
                   "  year = {2019}\n}\n\n@article{a2,\n  title = {Second one},\n  year = {2020}\n}\n", encoding="utf-8")
    result = runner.invoke(app, ["-w", str(ws), "import", str(bib), "--source", "bib"])
    assert result.exit_code == 0, result.output
    assert "entry 1 (line 1) 'a1': unbalanced braces or quotes in title" in result.output
    csv_file = tmp_path / "nul.csv"
    rows = "".join(f"Padding record {i},1990\n" for i in range(600))  # the NUL comes late, past the binary check
    csv_file.write_text(f"title,year\nFirst,2001\n{rows}Second with a NUL\x00 byte,2002\n", encoding="utf-8")
    result = runner.invoke(app, ["-w", str(ws), "import", str(csv_file), "--source", "csv"])
    assert result.exit_code == 0, result.output
    assert "row 602 (line 603): NUL bytes removed from title" in result.output
    listed = json.loads(runner.invoke(app, ["-w", str(ws), "records", "list", "--format", "json"]).stdout)
    titles = {r["source"] + ":" + r["title"] for r in listed if r["source"] in ("bib", "csv")
              and not r["title"].startswith("Padding")}
    assert titles == {"bib:Integrated care for older people", "bib:Second one", "csv:First",
                      "csv:Second with a NUL byte"}


def test_a_zero_width_interval_is_said_in_the_result() -> None:
    from synth.meta.analysis import pool_effects
    from synth.meta.effects import compute_effects, effects_frame
    from synth.meta.pooling import PoolOptions

    same = pool_effects(compute_effects(effects_frame([0.5, 0.5], [0.04, 0.04], ["a", "b"]), "GEN"), PoolOptions())
    assert same["se"] == 0.0 and same["ci_low"] == same["ci_high"] == 0.5
    assert same["zero_width_ci"] is True and same["warnings"][0].startswith("the 95% CI has zero width (SE 0)")
    adhoc = pool_effects(compute_effects(effects_frame([0.5, 0.5], [0.04, 0.04], ["a", "b"]), "GEN"),
                         PoolOptions(test="hksj-adhoc"))
    assert adhoc["zero_width_ci"] is False and adhoc["ci_high"] - adhoc["ci_low"] > 0.5
    apart = pool_effects(compute_effects(effects_frame([0.1, 0.5], [0.04, 0.04], ["a", "b"]), "GEN"), PoolOptions())
    assert apart["zero_width_ci"] is False


def test_a_stalled_api_is_given_up_within_its_budget_and_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real loopback server that accepts connections and never answers: each wait is shown, the request is
    given up once its time budget is spent, and the command exits 1 instead of hanging."""
    import socket
    import threading
    import time

    from synth.protocol.templates import init_workspace

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)  # read nothing, answer nothing
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        init_workspace(tmp_path / "review", "partnership-outcomes", "review")
        monkeypatch.setenv("SYNTH_OPENALEX_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
        monkeypatch.setenv("SYNTH_HTTP_TIMEOUT", "1")
        monkeypatch.setenv("SYNTH_HTTP_BUDGET", "3")
        begun = time.monotonic()
        result = runner.invoke(app, ["--workspace", str(tmp_path / "review"), "search", "run", "--source", "openalex"])
        took = time.monotonic() - begun
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
    assert result.exit_code == 1, result.output
    assert "openalex: ReadTimeout" in result.stderr or "openalex: ConnectionError" in result.stderr
    assert "retry 2 of 6 in" in result.stderr
    assert "the limit for one request (SYNTH_HTTP_BUDGET = 3 s)" in result.output
    assert took < 60  # not the six and a half minutes of six full timeouts


def test_http_settings_from_the_environment_are_checked() -> None:
    from synth.errors import InputError
    from synth.sources.settings import from_env

    s = from_env({"SYNTH_HTTP_ATTEMPTS": "2", "SYNTH_HTTP_TIMEOUT": "7.5", "SYNTH_HTTP_BUDGET": "30"})
    assert (s.attempts, s.timeout, s.budget) == (2, 7.5, 30.0)
    with pytest.raises(InputError, match="SYNTH_HTTP_ATTEMPTS must be a whole number above 0, got 'many'"):
        from_env({"SYNTH_HTTP_ATTEMPTS": "many"})
    with pytest.raises(InputError, match="SYNTH_HTTP_TIMEOUT must be a number of seconds above 0, got '-1'"):
        from_env({"SYNTH_HTTP_TIMEOUT": "-1"})


def test_markdown_reports_carry_text_never_html() -> None:
    from synth.prisma.searchreport import search_report
    from synth.safetext import markdown_safe

    assert markdown_safe("a <script>x</script> & k < 10 &amp; b") == "a &lt;script>x&lt;/script> & k < 10 &amp;amp; b"
    assert markdown_safe("```\n<keep> in code\n```\n<b>") == "```\n<keep> in code\n```\n&lt;b>"
    run = {"id": 1, "source": "openalex", "database": "OpenAlex <img src=x onerror=alert(1)>", "interface": "API",
           "query": "care ```\n<script>alert(1)</script>", "params": {}, "started_at": "2026-01-01T00:00:00+00:00",
           "finished_at": "2026-01-01T00:00:01+00:00", "status": "complete", "hits": 1, "retrieved": 1, "new": 1,
           "known": 0, "linked": 0, "pages": 1, "requests": 1, "warnings": [], "error": "", "mode": "run",
           "filter": "", "limits": {}, "fingerprint": "x", "strategy": "s", "endpoint": "/works", "state": None,
           "protocol": "p"}
    text = search_report([run])
    assert "<img" not in text and "&lt;img" in text  # text outside code blocks is escaped
    assert "  ````\n  care ```\n  <script>alert(1)</script>\n  ````" in text  # the query, shown as written in a
    # fence longer than its own backticks, so it cannot close the block and turn into HTML
