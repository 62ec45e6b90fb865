"""Shared test fixtures.

``corpus_dir`` points at ``../shared/corpus`` beside the checkout (or ``$SYNTH_CORPUS``); tests that need it are
marked ``@pytest.mark.corpus`` and skip with a clear message when it is absent. A guard fails any test that
tries to reach the network beyond loopback.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    return Path(os.environ.get("SYNTH_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    path = Path(os.environ.get("SYNTH_CORPUS", _shared_dir() / "corpus"))
    if not path.is_dir():
        pytest.skip(f"corpus not found at {path}: set SYNTH_CORPUS or place shared/ beside the checkout")
    return path


@pytest.fixture(scope="session")
def corpus_ris_files(corpus_dir: Path) -> list[Path]:
    """The corpus exports that synth detects as RIS (files it refuses on purpose left out)."""
    from synth.errors import InputError
    from synth.importers.pipeline import parse_file

    found = []
    for path in sorted((corpus_dir / "exports").rglob("*")):
        try:
            if path.is_file() and parse_file(path).format == "ris":
                found.append(path)
        except InputError:  # licences, provenance notes, files refused on purpose (see test_import_corpus)
            continue
    return found


@pytest.fixture(scope="session")
def domain_dir() -> Path:
    path = _shared_dir() / "domain"
    if not path.is_dir():
        pytest.skip(f"shared/domain not found at {path}: place shared/ beside the checkout")
    return path


BACKEND = os.environ.get("SYNTH_TEST_BACKEND", "sqlite")
"""``postgresql``: every command a test runs without ``--db`` uses a fresh database on the server at
``$SYNTH_TEST_PG_URL`` (through ``SYNTH_DB``), so the CLI-level tests run on PostgreSQL too; `.ci/run` runs the
suite both ways. Tests that open a store by an explicit URL keep it."""


@pytest.fixture(autouse=True)
def _store_backend(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[None]:
    """A SYNTH_DB of the person running the tests never receives the tests' writes; with
    ``SYNTH_TEST_BACKEND=postgresql`` each test gets its own server database instead of the workspace's file."""
    monkeypatch.delenv("SYNTH_DB", raising=False)
    if BACKEND != "postgresql" or request.node.get_closest_marker("sqlite_only"):
        yield
        return
    import uuid

    import sqlalchemy as sa

    base = sa.make_url(os.environ["SYNTH_TEST_PG_URL"])
    name = f"synth_suite_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    monkeypatch.setenv("SYNTH_DB", base.set(database=name).render_as_string(hide_password=False))
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Fail any connection to a non-loopback address (tests never touch the network)."""
    if request.node.get_closest_marker("live"):
        return
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        loopback = isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1"))
        if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("-m"):
        return
    skip_live = pytest.mark.skip(reason="live API test: run with -m live")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip_live)
