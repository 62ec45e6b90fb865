"""Each format parser on the project's own small fixtures, one per vendor quirk."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synth.errors import InputError
from synth.importers.base import Skipped
from synth.importers.common import clean
from synth.importers.detect import detect_format
from synth.importers.encoding import _valid_utf8
from synth.importers.pipeline import parse_file
from synth.records.model import Author, Record

FIX = Path(__file__).parent / "fixtures" / "import"


def items(name: str, **kw: object) -> tuple[list[Record | Skipped], list[str], str]:
    parsed = parse_file(FIX / name, **kw)  # type: ignore[arg-type]
    return list(parsed.items()), parsed.context.warnings, parsed.format


def test_ris_vendor_quirks() -> None:
    got, warnings, fmt = items("quirks.ris")
    assert fmt == "ris"
    assert len(got) == 4  # four TY starts: BOM one, one-space one, ID-only one, last one without ER
    first, second, empty, last = got
    assert isinstance(first, Record) and isinstance(second, Record) and isinstance(last, Record)
    assert first.title == "Home care reablement for older people"  # untagged continuation line kept
    assert first.authors == [Author("Smith", "Jane"), Author("Brown", "T.")]  # AU and A1 both
    assert first.year == 2019
    assert first.doi == "10.1000/abc.123"
    assert first.issns == ["1234-5678", "2345-6789"]
    assert first.abstract == "Abstract only in N2."
    assert first.keywords == ["reablement", "home care"]
    assert ("DO", "https://doi.org/10.1000/abc.123") in first.raw  # repeated tag kept
    assert second.title == "One space before the hyphen in TY"
    assert second.authors == [Author(corporate="World Health Organization")]
    assert second.pages == "10-20"
    assert ("NL", "Health Policy") in second.raw  # Ovid NL after ER stays with its record
    assert empty == Skipped(3, 27, "no content: only TY/ID/ER tags or empty values")
    assert last.title == "Last record without ER" and last.provenance.line == 30
    assert any("no ER line" in w for w in warnings)


def test_medline_nbib() -> None:
    got, _, fmt = items("two.nbib")
    assert fmt == "nbib"
    rec = got[0]
    assert isinstance(rec, Record)
    assert rec.title == "Integrated health and social care: a systematic review."
    assert rec.doi == "10.1000/xyz.1"
    assert rec.pmid == "31000001" and rec.pmcid == "PMC7000001"
    assert rec.authors == [Author("Smith", "Jane A"), Author(corporate="Social Care Institute for Excellence")]
    assert rec.year == 2019 and rec.journal == "Journal of Integrated Care"
    assert rec.keywords == ["reablement", "Home Care Services"]
    assert rec.issns == ["1234-5678", "2345-6789"]
    assert isinstance(got[1], Record) and got[1].pmid == "31000002"


def test_wos_tagged() -> None:
    got, warnings, fmt = items("two.ciw")
    assert fmt == "wos"
    rec = got[0]
    assert isinstance(rec, Record)
    assert rec.authors == [Author("Smith", "Jane"), Author("Doe", "Anne")]
    assert rec.title == "Partnership working between health and social care"
    assert (rec.doi, rec.pmid, rec.pages, rec.year) == ("10.1111/hsc.1", "29000001", "100-110", 2018)
    assert rec.provenance.source_record_id == "WOS:000000000000001"
    assert len(got) == 2 and any("no ER" in w for w in warnings)


def test_bibtex_never_drops_entries() -> None:
    got, warnings, fmt = items("quirks.bib")
    assert fmt == "bibtex"
    assert len(got) == 4
    first = got[0]
    assert isinstance(first, Record)
    assert first.authors == [Author("Müller", "Jörg"), Author(corporate="World Health Organization"),
                             Author("Smith", "Jane")]
    assert first.title == "Reablement in Études: 50% better"
    assert first.journal == "Health & Social Care"  # @string macro
    assert first.doi == "10.1000/bib.1" and first.pages == "1-10"
    assert [v for k, v in first.raw if k == "note"] == ["first note", "second note"]
    assert isinstance(got[1], Record) and got[1].title == "Same key, different entry"
    assert isinstance(got[2], Skipped) and got[2].line == 18 and "unbalanced" in got[2].reason
    assert isinstance(got[3], Record) and got[3].title == "Quoted title"
    assert any("repeats the key 'key1'" in w for w in warnings)


def test_csv_semicolon_with_id_column() -> None:
    got, _, fmt = items("semicolon.csv")
    assert fmt == "csv"
    first, empty, third = got
    assert isinstance(first, Record) and isinstance(third, Record)
    assert first.provenance.source_record_id == "1"
    assert first.authors == [Author("Smith", "J"), Author("Doe", "A")]
    assert first.doi == "10.1/a"
    assert empty == Skipped(2, 3, "no content: only the id cell is filled")
    assert third.title == "Multi line" and third.provenance.line == 4


def test_csv_column_map_and_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Headline,Writers\nA study,\"Smith, J\"\n")
    with pytest.raises(InputError, match="no bibliographic column recognised"):
        list(parse_file(path).items())
    rec = next(iter(parse_file(path, column_map={"title": "Headline", "authors": "Writers"}).items()))
    assert isinstance(rec, Record) and rec.title == "A study" and rec.authors == [Author("Smith", "J")]
    with pytest.raises(InputError, match="no column 'Nope'"):
        list(parse_file(path, column_map={"title": "Nope"}).items())


def test_endnote_xml_style_runs() -> None:
    got, _, fmt = items("endnote.xml")
    assert fmt == "endnote-xml"
    rec, skipped = got
    assert isinstance(rec, Record)
    assert rec.title == "Style runs joined"
    assert rec.authors == [Author("Smith", "Jane")]
    assert rec.doi == "10.1000/en.1" and rec.year == 2018 and rec.journal == "Journal A"
    assert ("caption", "Duplicate") in rec.raw and ("label", "include") in rec.raw
    assert isinstance(skipped, Skipped) and skipped.record_number == 2


def test_encodings() -> None:
    got, warnings, _ = items("cp1252.ris")
    assert isinstance(got[0], Record) and got[0].title == "Café culture and care"
    assert any("Windows-1252" in w for w in warnings)
    got, warnings, _ = items("utf16.ris")
    assert isinstance(got[0], Record) and got[0].title == "Grüße from UTF-16"
    assert warnings == []


@pytest.mark.parametrize(("head", "expected"), [
    ("TY  - JOUR\nTI  - x\nER  - \n", "ris"),
    ("PMID- 1\nTI  - x\n", "nbib"),
    ("FN Clarivate\nVR 1.0\nPT J\nTI x\nER\n", "wos"),
    ("@article{a, title={x}}", "bibtex"),
    ("<?xml version='1.0'?><PubmedArticleSet>", "pubmed-xml"),
    ("<xml><records><record><ref-type>", "endnote-xml"),
    ('{"id": "https://openalex.org/W1", "display_name": "x"}', "openalex-json"),
    ("title,abstract\nx,y\n", "csv"),
    ("PT\tAU\tTI\nJ\tx\ty\n", "csv"),
    ("%0 Journal Article\n%T x\n", "endnote-tagged"),
    ("just some prose\n", None),
])
def test_detect_format(head: str, expected: str | None) -> None:
    assert detect_format(head) == expected


def test_bad_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ris"
    empty.write_bytes(b"\n\n")
    with pytest.raises(InputError, match=r"empty\.ris: the file is empty"):
        parse_file(empty)
    binary = tmp_path / "b.ris"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match=r"b\.ris: this is a binary file"):
        parse_file(binary)
    prose = tmp_path / "p.txt"
    prose.write_text("Dear colleague\nplease find attached\n")
    with pytest.raises(InputError, match=r"p\.txt: unknown format"):
        parse_file(prose)
    with pytest.raises(InputError, match="no such file"):
        parse_file(tmp_path / "missing.ris")


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000])
@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_ris_chunk_boundaries_change_nothing(chunk: int, line_end: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # the text is decoded in pieces cut anywhere (inside a line, a CRLF, a TY tag): records, record numbers,
    # lines, skips and warnings are those of one piece
    from synth.importers import ris

    path = tmp_path / "quirks.ris"
    path.write_bytes((FIX / "quirks.ris").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", line_end.encode()))

    def parse() -> tuple[list[object], list[str]]:
        parsed = parse_file(path)
        got = [i.to_dict() for i in parsed.items()]
        return got, parsed.context.all_warnings()

    whole = parse()
    assert [i["provenance"]["line"] for i in whole[0] if "provenance" in i] == [1, 18, 30]
    monkeypatch.setattr(ris, "CHUNK_CHARS", chunk)
    assert parse() == whole


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_decoded_chunks_normalise_line_ends(size: int) -> None:
    from synth.importers.encoding import decode_bytes

    text = "TY  - JOUR\r\nTI  - Caf\u00e9\r\rAB  - x\ry\nER  - "
    for encoding in ("utf-8", "utf-16"):
        decoded = decode_bytes(text.encode(encoding), "x")
        assert "".join(decoded.chunks(size)) == "TY  - JOUR\nTI  - Caf\u00e9\n\nAB  - x\ny\nER  - \n"


def test_endnote_tagged_ovid_proquest() -> None:
    got, _, fmt = items("two.enw")
    assert fmt == "endnote-tagged" and len(got) == 2
    rec = got[0]
    assert isinstance(rec, Record)
    assert rec.authors == [Author("Smith", "Jane"), Author("Doe", "A.")]
    assert (rec.title, rec.journal, rec.year, rec.volume, rec.issue, rec.pages, rec.doi) == (
        "Refer format record", "Journal of Care", 2020, "4", "2", "10-20", "10.1000/enw.1")
    assert rec.keywords == ["home care", "reablement"] and rec.abstract == "An abstract over two lines."
    got, _, fmt = items("fieldlabel.txt")
    assert fmt == "ovid" and len(got) == 2
    rec = got[0]
    assert isinstance(rec, Record)
    assert rec.authors == [Author("Smith", "Jane"), Author("Doe", "Anne")]
    assert (rec.journal, rec.volume, rec.issue, rec.pages, rec.year, rec.doi) == (
        "Journal of Care", "12", "3", "45-67", 2021, "10.1000/ovid.1")
    assert rec.provenance.source_record_id == "00001-0001"
    got, _, fmt = items("report.txt")
    assert fmt == "proquest"
    rec, empty = got
    assert isinstance(rec, Record) and rec.title == "A ProQuest thesis" and rec.year == 2014
    assert rec.abstract == "First paragraph. Second paragraph."
    assert empty == Skipped(2, 21, "no content: an empty document block")


def test_warnings_are_capped(tmp_path: Path) -> None:
    path = tmp_path / "noer.ris"
    path.write_text("".join(f"TY  - JOUR\nTI  - Record {i}\n" for i in range(80)))
    parsed = parse_file(path)
    assert len([i for i in parsed.items() if isinstance(i, Record)]) == 80
    warnings = parsed.context.all_warnings()
    assert len(warnings) == 51
    assert warnings[-1] == "... and 30 more warnings like these"


@given(st.text(alphabet=st.sampled_from(
    ["a", "é", " ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2009", "\u3000",
     "\u200b", "\xad", "-"]), max_size=30))
def test_clean_collapses_exactly_what_split_collapses(value: str) -> None:
    assert clean(value) == " ".join(value.split())


def test_clean_knows_every_whitespace_character() -> None:
    for char in map(chr, range(0x110000)):
        text = f"a{char}b"
        assert clean(text) == " ".join(text.split()), hex(ord(char))


def _first_bad_byte(data: bytes) -> int | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


@given(st.lists(st.sampled_from([b"ab", b"TI  - x\n", "é—☃😀".encode(), b"\xe2\x80", b"\x80", b"\xff",
                                  b"\xf0\x9f", b"\x98\x80", b"\n"]), max_size=12),
       st.integers(min_value=0, max_value=3), st.integers(min_value=1, max_value=9))
def test_utf8_check_finds_the_first_bad_byte(parts: list[bytes], start: int, window: int) -> None:
    # windows of ASCII bytes are skipped, and sequences cut at a window's edge are joined: same answer as
    # decoding the whole file (small windows, so that cuts fall everywhere)
    data = b"".join(parts)
    start = min(start, len(data))
    bad = _first_bad_byte(data[start:])
    assert _valid_utf8(data, start, window) == (None if bad is None else start + bad)
