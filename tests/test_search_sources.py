"""Each source: request building, paging to the end on the loopback server, largest page sizes, PubMed's
10,000-record window, errors inside HTTP 200, and the record mappers on real recorded records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from search_server import FakeApis, fast_client

from synth.records.model import Author, Record
from synth.sources.base import Strategy
from synth.sources.clinicaltrials import ClinicalTrials, study_to_record
from synth.sources.crossref import Crossref, item_to_record
from synth.sources.errors import ApiError
from synth.sources.europepmc import EuropePMC, result_to_record
from synth.sources.openalex import OpenAlex
from synth.sources.pubmed import PubMed, split_window
from synth.sources.settings import from_env

FIX = Path(__file__).parent / "fixtures" / "search"


def page_all(source: Any, client: Any, strategy: Strategy) -> tuple[list[Record], int | None]:
    state: dict[str, Any] | None = source.initial_state(strategy)
    records: list[Record] = []
    hits = None
    while state is not None:
        page = source.fetch(client, strategy, state)
        records += page.materialise()
        hits = page.hits if page.hits is not None else hits
        state = page.next_state
    return records, hits


@pytest.fixture
def apis(corpus_dir: Path):
    server = FakeApis(corpus_dir, {"pubmed": 260, "europepmc": 2100, "openalex": 230, "crossref": 2100,
                                   "clinicaltrials": 1100}, pubmed_window=100).start()
    yield server
    server.stop()


# -- pure request building -------------------------------------------------------------------------------------
def test_pubmed_term_limits_and_post_for_long_queries() -> None:
    settings = from_env({"SYNTH_NCBI_API_KEY": "k", "SYNTH_MAILTO": "me@x.org"})
    pubmed = PubMed(settings)
    strategy = Strategy("pubmed", "care[tiab]", filter="humans[mh]", date_from=dt.date(1990, 1, 1),
                        languages=("eng",))
    req = pubmed.esearch_request(strategy, pubmed.initial_window(strategy))
    assert req.method == "GET"
    assert req.params["term"] == "(care[tiab]) AND (humans[mh]) AND (eng[la])"
    assert (req.params["mindate"], req.params["datetype"], req.params["usehistory"]) == ("1990/01/01", "pdat", "y")
    assert (req.params["tool"], req.params["email"], req.params["api_key"]) == ("synth", "me@x.org", "k")
    long = pubmed.esearch_request(Strategy("pubmed", "x[tiab] OR " * 40 + "y"), None)
    assert long.method == "POST" and long.params == {} and long.data is not None and "term" in long.data


def test_split_window_halves_by_day() -> None:
    assert split_window(["2000-01-01", "2000-01-04"], Strategy("pubmed", "x")) == [
        ["2000-01-01", "2000-01-02"], ["2000-01-03", "2000-01-04"]]
    assert split_window(["2000-01-01", "2000-01-01"], Strategy("pubmed", "x")) is None


def test_other_sources_request_shapes() -> None:
    s = from_env({"SYNTH_MAILTO": "me@x.org", "SYNTH_OPENALEX_API_KEY": "oa"})
    strat = Strategy("x", "care", filter="type:article", date_from=dt.date(2015, 1, 1), date_to=dt.date(2020, 12, 31),
                     languages=("eng",))
    assert EuropePMC(s).request(strat, "*").params["query"] == (
        "(care) AND (type:article) AND FIRST_PDATE:[2015-01-01 TO 2020-12-31] AND (LANG:eng)")
    oa = OpenAlex(s).request(strat, "*").params
    assert oa["filter"] == "type:article,from_publication_date:2015-01-01,to_publication_date:2020-12-31,language:en"
    assert (oa["api_key"], oa["mailto"], oa["per_page"]) == ("oa", "me@x.org", 100)
    cr = Crossref(s).request(Strategy("crossref", "care", filter="type:journal-article",
                                      date_from=dt.date(2015, 1, 1)), "*").params
    assert cr["filter"] == "type:journal-article,from-pub-date:2015-01-01" and cr["rows"] == 1000
    ct = ClinicalTrials(s).request(Strategy("clinicaltrials", "care", filter="filter.overallStatus=COMPLETED",
                                            date_from=dt.date(2015, 1, 1)), None).params
    assert ct["filter.overallStatus"] == "COMPLETED"
    assert ct["filter.advanced"] == "AREA[StudyFirstPostDate]RANGE[2015-01-01, MAX]"
    assert (ct["pageSize"], ct["countTotal"]) == (1000, "true")


# -- paging on the loopback server -------------------------------------------------------------------------------
@pytest.mark.corpus
@pytest.mark.parametrize(("name", "cls", "size_param", "size"), [
    ("europepmc", EuropePMC, "pageSize", 1000), ("openalex", OpenAlex, "per_page", 100),
    ("crossref", Crossref, "rows", 1000), ("clinicaltrials", ClinicalTrials, "pageSize", 1000)])
def test_paging_is_complete_without_duplicates(apis: FakeApis, name: str, cls: Any, size_param: str, size: int) -> None:
    client = fast_client(apis)
    source = cls(client.settings)
    records, hits = page_all(source, client, Strategy(name, "integrated care"))
    ids = [r.provenance.source_record_id for r in records]
    assert hits == apis.pool.sizes[name]
    assert len(ids) == len(set(ids)) == apis.pool.sizes[name]
    assert {q[size_param] for _, _, q, _ in apis.requests_to(name)} == {str(size)}


@pytest.mark.corpus
def test_pubmed_splits_by_date_past_the_window(apis: FakeApis) -> None:
    client = fast_client(apis)
    pubmed = PubMed(client.settings, batch=40, limit=100)  # the server's window is 100 records here
    records, hits = page_all(pubmed, client, Strategy("pubmed", "integrated care"))
    pmids = [r.pmid for r in records]
    assert hits == 260
    assert sorted(pmids) == sorted(str(40000000 + i) for i in range(260))
    searches = [q for _, p, q, _ in apis.requests_to("pubmed") if p.endswith("esearch.fcgi")]
    assert "mindate" not in searches[0] and all("mindate" in q for q in searches[1:])
    assert all(int(q["retmax"]) == 40 for _, p, q, _ in apis.requests_to("pubmed") if p.endswith("efetch.fcgi"))


@pytest.mark.corpus
def test_pubmed_phrase_not_found_and_error_in_200(apis: FakeApis) -> None:
    client = fast_client(apis)
    pubmed = PubMed(client.settings)
    with pytest.raises(ApiError) as err:
        page_all(pubmed, client, Strategy("pubmed", "abcXYZ"))
    assert str(err.value) == ("pubmed: phrase not found: abcXYZ (ErrorList/PhraseNotFound), so the search found "
                              "nothing. Query from protocol field sources.pubmed.query. Fix the query.")
    with pytest.raises(ApiError, match=r"^pubmed rejected the search: Invalid query: unbalanced parentheses\. "
                       r"Query from protocol field sources\.pubmed\.query\."):
        page_all(pubmed, client, Strategy("pubmed", "BADQUERY"))


@pytest.mark.corpus
def test_pubmed_expired_webenv_is_renewed(apis: FakeApis) -> None:
    client = fast_client(apis)
    pubmed = PubMed(client.settings, batch=30)
    apis.fault("pubmed", "expire", at=3)
    records, _ = page_all(pubmed, client, Strategy("pubmed", "care", date_from=dt.date(2000, 1, 1),
                                                   date_to=dt.date(2001, 12, 31)))
    expected = {str(40000000 + i) for i in range(260) if "2000-01-01" <= apis.pool.pm_date(i) <= "2001-12-31"}
    assert [r.pmid for r in records] and {r.pmid for r in records} == expected and len(records) == len(expected)


@pytest.mark.corpus
def test_openalex_bad_filter_names_protocol_field(apis: FakeApis) -> None:
    client = fast_client(apis)
    with pytest.raises(ApiError) as err:
        page_all(OpenAlex(client.settings), client, Strategy("openalex", "care", filter="bogus:1"))
    assert str(err.value).startswith("openalex rejected the request (HTTP 400): Invalid query parameters error.: "
                                     "bogus is not a valid field. Query from protocol field sources.openalex.filter.")


# -- mappers on real recorded records ----------------------------------------------------------------------------
@pytest.mark.corpus
def test_europepmc_lite_result_mapping(corpus_dir: Path) -> None:
    data = json.loads((corpus_dir / "api/europepmc/biomcp_search_ba037a15794e.json").read_text())
    rec = result_to_record(data["resultList"]["result"][0])
    assert (rec.pmid, rec.pmcid, rec.doi, rec.year) == ("22799487", "PMC3458979", "10.1186/1471-2350-13-55", 2012)
    assert rec.journal == "BMC Med Genet" and rec.issns == ["1471-2350"]
    assert rec.authors[0] == Author(family="Torrezan", given="GT") and len(rec.authors) == 6
    assert rec.provenance.source_record_id == "MED:22799487"
    assert rec.publication_type.startswith("research support, non-u.s. gov't; research-article")


def test_europepmc_core_result_mapping() -> None:
    rec = result_to_record(json.loads((FIX / "europepmc_core_result.json").read_text()))
    assert rec.abstract == "Background: Integrated care matters. Methods: We randomised 200 people."
    assert rec.authors == [Author(family="Smith", given="Jane"), Author(corporate="Care Trials Group")]
    assert (rec.journal, rec.volume, rec.issue, rec.issns) == ("Age and Ageing", "48", "2", ["0002-0729", "1468-2834"])
    assert rec.keywords == ["integrated care", "Aged"]


@pytest.mark.corpus
def test_crossref_item_mapping(corpus_dir: Path) -> None:
    data = json.loads((corpus_dir / "api/crossref/colrev_works_10.2196_22081.json").read_text())
    rec = item_to_record(data.get("message", data))
    assert rec.doi == "10.2196/22081" and rec.provenance.source_record_id == "10.2196/22081"
    assert rec.abstract.startswith("Background: The COVID-19 crisis has drastically changed care delivery")
    assert "<jats" not in rec.abstract and "  " not in rec.abstract
    assert rec.year == 2020
    assert rec.authors[:2] == [Author(family="Grenier Ouimet", given=rec.authors[0].given),
                               Author(family="Wagner", given=rec.authors[1].given)]


@pytest.mark.corpus
def test_clinicaltrials_study_mapping(corpus_dir: Path) -> None:
    study = json.loads((corpus_dir / "api/clinicaltrials/biomcp_search_phelan_limit5_20260811.json").read_text())[
        "studies"][0]
    rec = study_to_record(study)
    assert rec.provenance.source_record_id == "NCT02710084"
    assert rec.title == "Piloting Treatment With Intranasal Oxytocin in Phelan-McDermid Syndrome"
    assert rec.year == 2016 and rec.authors == [Author(corporate="Alexander Kolevzon")]
    assert rec.url == "https://clinicaltrials.gov/study/NCT02710084"
    assert rec.publication_type == "INTERVENTIONAL; PHASE2" and rec.pmid is None
    assert ClinicalTrials.kind == "register"
