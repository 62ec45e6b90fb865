"""Every file in ../shared/corpus/exports: records_found must equal an independent count of record starts,
and records_found == imported + len(skipped). Spot checks on fields for a few vendor files."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pytest

from synth.importers.base import Skipped
from synth.importers.pipeline import parse_file
from synth.records.model import Author, Record

pytestmark = pytest.mark.corpus

NOT_EXPORTS = {"PROVENANCE.txt", "LICENSE_Apache-2.0.txt", "LICENSE_MIT.txt", "LICENSE.md"}
#: Files synth refuses on purpose, with the reason the message must give.
REFUSED = {"PRISMA.csv": "no bibliographic column recognised"}


def _text(path: Path) -> str:
    data = path.read_bytes()
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _blocks(text: str, tag: str) -> int:
    return sum(1 for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")) if re.search(tag, block, re.M))


def independent_count(fmt: str, path: Path) -> int:
    """Record starts counted with simple regexes / the csv module, not with synth's parsers."""
    text = _text(path)
    if fmt == "ris":
        return len(re.findall(r"^TY[ \t]{1,2}-", text, re.M))
    if fmt == "nbib":
        return _blocks(text, r"^[A-Z]{2,4} *-")
    if fmt == "endnote-tagged":
        return _blocks(text, r"^%[0-9A-Z]")
    if fmt == "wos":
        return len(re.findall(r"^PT ", text, re.M))
    if fmt == "bibtex":
        return len(re.findall(r"^\s*@(?!comment|string|preamble)\w+\s*[{(]", text, re.M | re.I))
    if fmt == "endnote-xml":
        return len(re.findall(r"<record>", text))
    if fmt == "csv":
        first = text.split("\n", 1)[0]
        delimiter = max(("\t", ";", ","), key=first.count)
        rows = list(csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")), delimiter=delimiter))
        return sum(1 for row in rows[1:] if row)
    if fmt == "ovid":
        numbered = re.findall(r"^<\d+>\s*$", text, re.M)
        first_label = re.search(r"^(\S.*)$", re.sub(r"^<\d+>\s*$", "", text, flags=re.M), re.M)
        assert first_label is not None
        return len(numbered) or len(re.findall(rf"^{re.escape(first_label.group(1))}\s*$", text, re.M))
    if fmt == "proquest":
        return len(re.findall(r"^Document \d+ of \d+\s*$", text, re.M))
    raise AssertionError(f"no independent count for {fmt}")


def corpus_files() -> list[Path]:
    import os

    root = Path(os.environ.get("SYNTH_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")) / "exports"
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name not in NOT_EXPORTS)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_counts_invariant(path: Path, corpus_dir: Path) -> None:
    if path.name in REFUSED:
        from synth.errors import InputError

        with pytest.raises(InputError, match=REFUSED[path.name]):
            list(parse_file(path).items())
        return
    parsed = parse_file(path)
    items = list(parsed.items())
    skipped = [i for i in items if isinstance(i, Skipped)]
    records = [i for i in items if isinstance(i, Record)]
    assert len(items) == len(records) + len(skipped)
    assert len(items) == independent_count(parsed.format, path), parsed.context.warnings
    for rec in records:
        assert rec.has_content() and rec.raw


def _records(corpus_dir: Path, rel: str) -> list[Record]:
    return [i for i in parse_file(corpus_dir / "exports" / rel).items() if isinstance(i, Record)]


def test_spot_checks(corpus_dir: Path) -> None:
    scopus = _records(corpus_dir, "ris/asreview_scopus.ris")
    assert scopus[0].title.startswith("Stress and the brain-gut axis")
    assert scopus[0].doi == "10.1016/j.psyneuen.2019.104501"
    ovid = _records(corpus_dir, "ris/asreview_ovid_psycinfo.ris")
    assert ovid[0].doi == "10.1002/cpp.2398"  # given as http://dx.doi.org/ URL
    assert ovid[0].authors[0] == Author("Trindade", "Ines A")  # A1, not AU
    assert ovid[0].year == 2019  # Y1 2019//
    assert ovid[0].abstract.startswith("Considering that self-criticism")  # N2
    wos = _records(corpus_dir, "wos_tagged/synthesisr_wos_plaintext.txt")
    assert wos[0].authors[0].family == "Li"
    medline = _records(corpus_dir, "medline/synthesisr_pubmed_res_synth_methods.txt")
    assert medline[0].pmid == "32336025" and medline[0].doi == "10.1002/jrsm.1411"
    bib = _records(corpus_dir, "bibtex/jabref_latex_escapes_examples.bib")
    assert bib[1].authors[0] == Author("Aksın", "Özge")
    lens = _records(corpus_dir, "csv/bibliometrix_lens_sample.csv")
    assert lens[0].provenance.source_record_id == "000-360-106-493-122" and lens[0].pmid == "33251087"
    mendeley = _records(corpus_dir, "more_vendor_exports/asysd_testthat/mendeley_export.xml")
    assert mendeley[0].doi == "10.1111/jvim.16404" and mendeley[0].year == 2022
    ovid = _records(corpus_dir, "ovid/jabref_ovid_fieldlabel_4.txt")
    assert (ovid[0].journal, ovid[0].volume, ovid[0].issue, ovid[0].pages, ovid[0].year) == (
        "Ecohydrology", "8", "6", "1048-1064", 2015)
    assert ovid[0].authors[0] == Author("Kohler", "Lars")  # affiliation marker "1" dropped
    proquest = _records(corpus_dir, "proquest_text/metaknowledge_proquest_report.txt")
    assert proquest[0].title == "Entrenchment and the Kripke-Wittgenstein paradox"
    assert proquest[0].provenance.source_record_id == "1548716365" and proquest[0].year == 2014
    bom = _records(corpus_dir, "more_vendor_exports/rispy_tests/example_bom.ris")
    assert len(bom) == 1 and bom[0].doi == "10.1186/s40981-020-0316-0"  # rispy drops this record
