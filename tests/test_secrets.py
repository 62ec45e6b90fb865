"""API keys and the contact address never leave the process in any form (issue 23): not raw, not
percent-encoded, not with ``+`` for a space, not quoted back by an API's error body; not on stderr or stdout,
not in the store, not in the PRISMA-S search log. Real loopback sockets: one port that refuses connections
and one server that answers 403 quoting the key, as some APIs do."""

from __future__ import annotations

import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from synth.cli.app import app
from synth.protocol.templates import init_workspace
from synth.secrets import forms, redact_text, redact_value, register

KEY = "oa+lx/KEY=88 x"  # +, /, = and a space: every encoding differs from the raw text
MAIL = "me@example.org"
runner = CliRunner()


def _leaks(text: str) -> list[str]:
    return sorted({f for s in (KEY, MAIL) for f in forms(s) if f in text})


def test_every_form_of_a_secret_is_masked() -> None:
    register(KEY)
    spelled = forms(KEY)
    assert {"oa%2Blx%2FKEY%3D88%20x", "oa%2blx%2fkey%3d88%20x".replace("key", "KEY"), "oa%2Blx%2FKEY%3D88+x",
            "oa+lx\\/KEY=88 x"} <= spelled | {"oa+lx\\/KEY=88 x"}
    for form in spelled:
        assert redact_text(f"GET /works?api_key={form}&q=1") == "GET /works?api_key=***&q=1"
    assert redact_value({"error": [f"key {KEY} invalid"], "n": 3}) == {"error": ["key *** invalid"], "n": 3}
    assert redact_text("nothing secret here") == "nothing secret here"


class _EchoKey(BaseHTTPRequestHandler):
    """Answers every request 403 with a JSON body that quotes the api_key it was sent."""

    def do_GET(self) -> None:
        key = parse_qs(urlsplit(self.path).query).get("api_key", [""])[0]
        body = f'{{"error": "API key {key} is not valid", "mailto": "{MAIL}"}}'.encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoKey)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens: connections are refused


def _everything_stored(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        parts = []
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                parts.extend(str(v) for v in row)
        return "\n".join(parts)
    finally:
        conn.close()


@pytest.mark.sqlite_only  # opens the workspace's SQLite file itself
@pytest.mark.parametrize("where", ["refused", "echo"])
def test_a_failing_source_leaks_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, echo_server: str,
                                          where: str) -> None:
    ws = tmp_path / "review"
    init_workspace(ws, "partnership-outcomes", "review")
    monkeypatch.setenv("SYNTH_OPENALEX_URL", echo_server if where == "echo" else _closed_port())
    monkeypatch.setenv("SYNTH_OPENALEX_API_KEY", KEY)
    monkeypatch.setenv("SYNTH_MAILTO", MAIL)
    monkeypatch.setenv("SYNTH_HTTP_ATTEMPTS", "1")
    monkeypatch.setenv("SYNTH_HTTP_TIMEOUT", "5")
    result = runner.invoke(app, ["--workspace", str(ws), "search", "run", "--source", "openalex"])
    assert result.exit_code != 0
    assert "openalex" in result.output.lower()
    assert _leaks(result.output) == []
    stored = _everything_stored(ws / ".synth" / "review.sqlite")
    assert "openalex" in stored.lower() and _leaks(stored) == []
    log = runner.invoke(app, ["--workspace", str(ws), "search", "log", "--format", "json"])
    assert log.exit_code == 0 and _leaks(log.output) == []
    report = runner.invoke(app, ["--workspace", str(ws), "prisma", "search-report"])
    assert _leaks(report.output) == []


def test_very_short_values_are_not_masked_in_free_text() -> None:
    register("k")
    assert redact_text("keep the k in works") == "keep the k in works"
