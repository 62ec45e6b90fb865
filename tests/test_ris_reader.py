"""The RIS reader alone (``read_ris``: tags and values, what rispy gives) reads exactly what the full parse
maps to records: the same record starts, skips, record numbers, lines, raw pairs and warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from synth.importers.base import ParseContext, Skipped
from synth.importers.pipeline import parse_file
from synth.importers.ris import RawRecord, read_ris
from synth.records.model import Record

FIX = Path(__file__).parent / "fixtures" / "import"


def _compare(path: Path) -> int:
    """Asserts that reading and parsing ``path`` agree; returns the number of records read."""
    parsed = parse_file(path)
    records = list(parsed.items())
    ctx = ParseContext(file=parsed.context.file, source=parsed.context.source)
    ctx.warnings.extend(parsed.decoded.warnings)
    raw = list(read_ris(parsed.decoded, ctx))
    assert len(raw) == len(records), path.name
    for got, want in zip(raw, records, strict=True):
        if isinstance(want, Skipped):
            assert got == want
        else:
            assert isinstance(got, RawRecord) and isinstance(want, Record)
            assert (got.number, got.line) == (want.provenance.record_number, want.provenance.line)
            assert got.pairs == want.raw
            assert got.tags == {t: [v for k, v in got.pairs if k == t and v] for t in got.tags}
    assert ctx.all_warnings() == parsed.context.all_warnings()
    return len(raw)


def test_reader_reads_what_the_parse_maps_on_every_quirk() -> None:
    assert _compare(FIX / "quirks.ris") == 4


@pytest.mark.corpus
def test_reader_reads_what_the_parse_maps_on_every_corpus_ris_file(corpus_ris_files: list[Path]) -> None:
    assert len(corpus_ris_files) >= 20
    for path in corpus_ris_files:
        assert _compare(path) > 0, path.name
