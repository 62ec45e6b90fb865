"""`synth records list|show|export` and the export -> re-import round trip (property-tested)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from synth.cli.app import app
from synth.importers.base import Skipped
from synth.importers.pipeline import parse_file
from synth.records.export import CSV_COLUMNS, export_records
from synth.records.model import Author, Provenance, Record
from synth.store import open_store
from synth.store.records import insert_records

FIX = Path(__file__).parent / "fixtures" / "import"
runner = CliRunner()

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüøß", min_size=1, max_size=10)
_sentence = st.lists(st.one_of(_word, st.sampled_from(["-", ":", "(a)", "1.5", "O'Neil", "?", "'s"])),
                     min_size=1, max_size=12).map(" ".join)
_person = st.builds(lambda f, g: Author(family=f.capitalize(), given=g.capitalize()), _word, _word)
_digits = st.integers(min_value=1, max_value=9999).map(str)

records = st.builds(
    Record,
    title=_sentence,
    abstract=st.one_of(st.just(""), _sentence),
    authors=st.lists(_person, max_size=4),
    year=st.one_of(st.none(), st.integers(min_value=1900, max_value=2030)),
    journal=st.one_of(st.just(""), _sentence),
    volume=st.one_of(st.just(""), _digits),
    issue=st.one_of(st.just(""), _digits),
    pages=st.one_of(st.just(""), st.tuples(_digits, _digits).map("-".join)),
    doi=st.one_of(st.none(), st.from_regex(r"10\.\d{4}/[a-z0-9]{1,8}([.-][a-z0-9]{1,4})?", fullmatch=True)),
    pmid=st.one_of(st.none(), st.integers(min_value=1, max_value=40_000_000).map(str)),
    pmcid=st.one_of(st.none(), st.integers(min_value=1000, max_value=9_999_999).map(lambda n: f"PMC{n}")),
    issns=st.lists(st.sampled_from(["1234-5678", "2049-3630", "0966-0410"]), max_size=2, unique=True),
    keywords=st.lists(_word, max_size=3, unique=True),
    language=st.sampled_from(["", "English", "eng"]),
    url=st.one_of(st.just(""), _word.map(lambda w: f"https://example.org/{w}")),
)

FIELDS = ("title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid", "pmcid",
          "issns", "keywords", "language", "url")


def _reimport(text: str, suffix: str) -> list[Record]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export{suffix}"
        path.write_text(text, encoding="utf-8")
        items = list(parse_file(path).items())
    assert not any(isinstance(i, Skipped) for i in items)
    return [i for i in items if isinstance(i, Record)]


@pytest.mark.parametrize("fmt", ["csv", "ris", "bibtex", "json"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=st.lists(records, min_size=1, max_size=4))
def test_export_reimport_round_trip(fmt: str, recs: list[Record]) -> None:
    items = [(i + 1, r, None, None) for i, r in enumerate(recs)]
    back = _reimport(export_records(items, fmt), ".txt")
    assert len(back) == len(recs)
    for original, again in zip(recs, back, strict=True):
        for name in FIELDS:
            assert getattr(again, name) == getattr(original, name), (fmt, name)


def test_corporate_author_round_trip() -> None:
    rec = Record(title="Guideline", authors=[Author(corporate="National Institute for Health and Care Excellence")])
    for fmt in ("ris", "bibtex", "csv", "json"):
        back = _reimport(export_records([(1, rec, None, None)], fmt), ".txt")
        assert back[0].authors == rec.authors, fmt


def _store_with_records(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    store = open_store(db)
    recs = [Record(title="Alpha", authors=[Author("Smith", "J")], year=2020, doi="10.1/a",
                   provenance=Provenance(source="Scopus", source_record_id="S1"), raw=[("TI", "Alpha")]),
            Record(title="Alpha again", year=2020, doi="10.1/a",
                   provenance=Provenance(source="PubMed", source_record_id="P1"), raw=[("TI", "Alpha again")]),
            Record(title="Beta", year=2019, provenance=Provenance(source="PubMed"), raw=[("TI", "Beta")])]
    with store.begin() as conn:
        insert_records(conn, recs)
        from synth.store.schema import records as table

        conn.execute(table.update().where(table.c.id.in_([1, 2])).values(cluster_id=1))
        conn.execute(table.update().where(table.c.id == 2).values(duplicate_of=1))
    store.close()
    return db


def test_records_list_and_export_representatives(tmp_path: Path) -> None:
    db = _store_with_records(tmp_path)
    result = runner.invoke(app, ["--db", db, "records", "list", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in json.loads(result.stdout)] == [1, 3]
    result = runner.invoke(app, ["--db", db, "records", "list", "--format", "json", "--include-duplicates"])
    rows = json.loads(result.stdout)
    assert [(r["id"], r["cluster"], r["duplicate_of"]) for r in rows] == [(1, 1, ""), (2, 1, 1), (3, "", "")]
    out = tmp_path / "all.csv"
    result = runner.invoke(app, ["--db", db, "records", "export", "--format", "csv", "--include-duplicates",
                                 "-o", str(out)])
    assert result.exit_code == 0 and "wrote 3 records" in result.stderr
    header = out.read_text().splitlines()[0].split(",")
    assert header == CSV_COLUMNS
    result = runner.invoke(app, ["--db", db, "records", "export", "--format", "ris", "--source", "PubMed"])
    assert result.stdout.count("TY  - ") == 1 and "TI  - Beta" in result.stdout


def test_records_show(tmp_path: Path) -> None:
    db = _store_with_records(tmp_path)
    result = runner.invoke(app, ["--db", db, "records", "show", "1"])
    assert result.exit_code == 0
    assert "title: Alpha" in result.stdout.splitlines()
    assert "authors: Smith, J" in result.stdout.splitlines()
    assert "  TI: Alpha" in result.stdout.splitlines()
    result = runner.invoke(app, ["--db", db, "records", "show", "2", "--format", "json"])
    data = json.loads(result.stdout)
    assert (data["id"], data["duplicate_of"], data["provenance"]["source"]) == (2, 1, "PubMed")
    result = runner.invoke(app, ["--db", db, "records", "show", "99"])
    assert result.exit_code == 1
    assert result.stderr == "Error: no record with id 99. List ids with `synth records list`.\n"
