"""PubMed XML and OpenAlex JSON mappers (shared with the search stage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synth.errors import InputError
from synth.importers.openalex_json import openalex_work_to_record, parse_openalex_json, rebuild_abstract
from synth.importers.pubmed_xml import parse_pubmed_xml
from synth.records.model import Author

FIX = Path(__file__).parent / "fixtures" / "import"


def test_pubmed_article_fields() -> None:
    records = parse_pubmed_xml((FIX / "pubmed_small.xml").read_bytes())
    assert len(records) == 2
    rec = records[0]
    assert rec.pmid == "30000001"
    assert rec.doi == "10.1111/hsc.12345"
    assert rec.pmcid == "PMC7654321"
    assert rec.title == "Reablement for older adults: CO2 and a trial."
    assert rec.abstract == "BACKGROUND: Home care matters.\nMETHODS: We randomised 120 people."
    assert rec.authors == [Author(family="Müller", given="Anna K"),
                           Author(corporate="Social Care Institute for Excellence")]
    assert rec.year == 2019
    assert rec.journal == "Health & Social Care in the Community"
    assert (rec.volume, rec.issue, rec.pages) == ("12", "3", "e1-e9")
    assert rec.issns == ["1234-567X"]
    assert rec.keywords == ["reablement", "Aged"]
    assert rec.publication_type == "Randomized Controlled Trial"
    assert rec.provenance.source_record_id == "30000001"
    assert "<PubmedArticle>" in rec.raw["xml"]  # type: ignore[call-overload]


def test_pubmed_book_article() -> None:
    book = parse_pubmed_xml((FIX / "pubmed_small.xml").read_bytes())[1]
    assert book.pmid == "21413195"
    assert book.title == "Dementia: supporting people with dementia and their carers"
    assert book.authors == [Author(corporate="National Collaborating Centre for Mental Health (UK)")]
    assert book.year == 2007
    assert book.abstract == "Guidance on dementia care."
    assert book.publication_type == "Practice Guideline"


def test_pubmed_bad_xml_names_problem() -> None:
    with pytest.raises(InputError, match="not well-formed XML"):
        parse_pubmed_xml(b"<PubmedArticleSet><PubmedArticle>", file="x.xml")


def test_pubmed_entity_expansion_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxx">]><PubmedArticleSet>&x;</PubmedArticleSet>'
    with pytest.raises(InputError, match="unsafe XML"):
        parse_pubmed_xml(bomb)


def test_openalex_work_mapping() -> None:
    work = json.loads((FIX / "openalex_work.json").read_text())
    rec = openalex_work_to_record(work)
    assert rec.openalex_id == "W2741809807"
    assert rec.doi == "10.7717/peerj.4375"
    assert rec.pmid == "29456894"
    assert rec.pmcid == "PMC5815332"
    assert rec.abstract == "Despite growing interest in Open Access (OA) ... and in"
    assert rec.authors == [Author(family="Piwowar", given="Heather"), Author(family="Priem", given="Jason"),
                           Author(corporate="World Health Organization")]
    assert (rec.journal, rec.volume, rec.issue, rec.pages, rec.year) == ("PeerJ", "6", "", "e4375", 2018)
    assert rec.issns == ["2167-8359"]
    assert rec.raw == work


def test_openalex_page_and_jsonl() -> None:
    work = (FIX / "openalex_work.json").read_text()
    page = json.dumps({"meta": {}, "results": [json.loads(work), json.loads(work)]})
    assert len(parse_openalex_json(page)) == 2
    jsonl = json.dumps(json.loads(work)) + "\n" + json.dumps(json.loads(work)) + "\n"
    assert [r.provenance.record_number for r in parse_openalex_json(jsonl)] == [1, 2]


def test_rebuild_abstract_orders_positions() -> None:
    assert rebuild_abstract({"b": [1], "a": [0, 2]}) == "a b a"
    assert rebuild_abstract(None) == ""


@pytest.mark.corpus
def test_pubmed_corpus_efetch(corpus_dir: Path) -> None:
    ncbi = corpus_dir / "api" / "ncbi"
    recs = parse_pubmed_xml((ncbi / "efetch_pubmed_11748933_11700088.xml").read_bytes())
    assert [r.pmid for r in recs] == ["11748933", "11700088"]
    structured = parse_pubmed_xml((ncbi / "biomcp_efetch_pubmed_22663011.xml").read_bytes())[0]
    assert structured.abstract.startswith("BACKGROUND: ")
    assert "\nCONCLUSIONS: " in structured.abstract
    books = parse_pubmed_xml((ncbi / "efetch_pubmed_book_article_set.xml").read_bytes())
    assert books[0].authors[0].corporate.startswith("National Collaborating Centre")
    raw = (ncbi / "efetch_pubmed_mathml_29963580.xml").read_bytes()
    assert raw.count(b"<PubmedArticle>") == len(parse_pubmed_xml(raw))
