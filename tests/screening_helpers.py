"""Shared set-up for the screening tests: a workspace with the partnership protocol and a few records."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from synth.cli.app import app
from synth.records.model import Author, Provenance, Record
from synth.store import open_store
from synth.store.records import insert_records
from synth.store.schema import records

FIXTURES = Path(__file__).parent / "fixtures" / "screening"
runner = CliRunner()

TITLES = [
    "Integrated health and social care teams for older adults: a randomised trial",
    "Hospital at home versus inpatient care",
    "Case management in primary care",
    "A paediatric asthma education programme",
    "Joint commissioning and delayed discharge",
    "Joint commissioning and delayed discharge (duplicate)",
    "Pooled budgets and carer outcomes",
    "Editorial: the future of integration",
]


def make_records(n: int = 8) -> list[Record]:
    out = []
    for i in range(1, n + 1):
        title = TITLES[i - 1] if i <= len(TITLES) else f"Record number {i} about care"
        out.append(Record(
            title=title,
            abstract=f"Abstract {i}: social care partnership evaluated in adults with a comparison group.",
            authors=[Author(family="Smith", given="J"), Author(family="Jones", given=f"A{i}")],
            year=2000 + i,
            journal="Journal of Integrated Care",
            doi="10.1000/two" if i == 2 else None,
            pmid="3333" if i == 3 else None,
            provenance=Provenance(source="test", source_record_id=f"src-{i}"),
            raw={"n": i},
        ))
    return out


def make_store(url: str, n: int = 8) -> None:
    """Records 1..n; record 6 is a dedup duplicate of record 5 (cluster 5)."""
    store = open_store(url)
    with store.begin() as conn:
        insert_records(conn, make_records(n))
        conn.execute(sa.update(records).values(cluster_id=records.c.id))
        if n >= 6:
            conn.execute(sa.update(records).where(records.c.id == 6).values(cluster_id=5, duplicate_of=5))
    store.close()


def make_workspace(tmp_path: Path) -> tuple[Path, str]:
    ws = tmp_path / "ws"
    result = runner.invoke(app, ["init", str(ws), "--template", "partnership-outcomes"], prog_name="synth")
    assert result.exit_code == 0, result.output
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    make_store(url)
    return ws, url


def settings():  # type: ignore[no-untyped-def]
    from synth.protocol import load_protocol
    from synth.screening.service import Settings

    path = Path(__file__).resolve().parent.parent / "synth" / "protocol" / "templates" / "partnership-outcomes.toml"
    return Settings.from_protocol(load_protocol(path))
