"""The pure linkage core: preparation, vetoes, rules, clustering, evaluation, and its properties."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synth.dedup.cluster import ConstrainedUnionFind, choose_representative
from synth.dedup.compare import Decision, compare
from synth.dedup.core import deduplicate
from synth.dedup.evaluate import evaluate, pairwise, record_level
from synth.dedup.goldcsv import parse_authors, read_gold_clusters, read_records_csv
from synth.dedup.normalise import (
    is_generic_title,
    is_notice,
    normalise_title,
    pages_relation,
    parse_pages,
    prepare,
    title_alternatives,
)
from synth.dedup.vetoes import Policy, vetoes
from synth.errors import InputError
from synth.records.model import Author, Provenance, Record

FIXTURES = Path(__file__).parent / "fixtures" / "dedup"


def rec(title: str, *, year: int | None = 2010, authors: str = "Smith, J and Jones, M", journal: str = "Journal X",
        volume: str = "10", pages: str = "100-110", doi: str | None = None, ptype: str = "article",
        source: str = "db", abstract: str = "") -> Record:
    return Record(title=title, year=year, authors=parse_authors(authors), journal=journal, volume=volume,
                  pages=pages, doi=doi, publication_type=ptype, abstract=abstract,
                  provenance=Provenance(source=source))


def small() -> list[Record]:
    return list(read_records_csv(FIXTURES / "small_records.csv"))


def clusters_by_source_id(records: list[Record], policy: Policy | None = None) -> list[list[str]]:
    result = deduplicate(list(enumerate(records)), policy)
    return sorted(sorted(records[m].provenance.source_record_id for m in c.members)
                  for c in result.clusters if len(c.members) > 1)


# --- preparation -------------------------------------------------------------------------------------------

def test_parse_pages_expands_short_ranges_and_lists() -> None:
    assert parse_pages("221-8").ranges == ((221, 228),)
    assert parse_pages("233-238+230-235").ranges == ((233, 238), (230, 235))
    assert parse_pages("e12724").locator is True
    assert parse_pages("Suppl-29").ranges == ()
    assert parse_pages("01-Jun").ranges == ()
    assert parse_pages("2297-2108").ranges == ()


def test_pages_relation() -> None:
    assert pages_relation(parse_pages("221-8"), parse_pages("221-228")) is True
    assert pages_relation(parse_pages("221-228"), parse_pages("300-310")) is False
    assert pages_relation(parse_pages("569"), parse_pages("567-569")) is None
    assert pages_relation(parse_pages("e12724"), parse_pages("1-6")) is None
    assert pages_relation(parse_pages(""), parse_pages("1-6")) is None


def test_titles_lose_annotations_and_translation_brackets() -> None:
    assert normalise_title("Mindfulness for anxiety.[Erratum appears in Psychol Med. 2014]") == "mindfulness for anxiety"
    assert normalise_title("[Quality of life after surgery]. [Spanish]") == "quality of life after surgery"
    assert normalise_title("Tratamiento [Review] [33 refs]") == "tratamiento"
    alts = title_alternatives("[Are antimicrobials useful in thoracostomy?] TO: Utilidad de los antimicrobianos")
    assert alts == ("are antimicrobials useful in thoracostomy", "utilidad de los antimicrobianos")


def test_notices_and_generic_titles() -> None:
    assert is_notice("Erratum: Statin use", "erratum statin use", "")
    assert is_notice("Eculizumab for aHUS (vol 360, pg 542, 2009)", "eculizumab for ahus", "")
    assert not is_notice("Statin use.[Erratum appears in Neurology]", "statin use", "")
    assert is_generic_title("editorial")
    assert not is_generic_title("exercise therapy for chronic low back pain")


# --- vetoes and rules --------------------------------------------------------------------------------------

def test_different_dois_are_vetoed() -> None:
    a = prepare(1, rec("Vitamin D and falls", doi="10.1/a"))
    b = prepare(2, rec("Vitamin D and falls", doi="10.1/b"))
    assert vetoes(a, b, Policy())[0] == "different DOIs (10.1/a vs 10.1/b)"
    assert compare(a, b, Policy()).decision is Decision.distinct


def test_year_gap_volume_pages_and_title_numbers_are_vetoed() -> None:
    base = rec("Hypertension in primary care part i")
    assert "years more than one apart (2010 vs 2013)" in vetoes(
        prepare(1, base), prepare(2, rec("Hypertension in primary care part i", year=2013)), Policy())
    assert "different volumes (10 vs 11)" in vetoes(
        prepare(1, base), prepare(2, rec("Hypertension in primary care part i", volume="11")), Policy())
    assert "different pages (100 vs 300)" in vetoes(
        prepare(1, base), prepare(2, rec("Hypertension in primary care part i", pages="300-310")), Policy())
    part2 = prepare(2, rec("Hypertension in primary care part ii", pages="200-210"))
    assert any(v.startswith("different numbers in the titles") for v in vetoes(prepare(1, base), part2, Policy()))


def test_erratum_against_original_and_generic_titles_are_vetoed() -> None:
    original = prepare(1, rec("Statin use and dementia risk"))
    erratum = prepare(2, rec("Erratum: Statin use and dementia risk"))
    assert compare(original, erratum, Policy()).vetoes == [
        "a notice (erratum, retraction, comment or reply) against another item"]
    ed1 = prepare(3, rec("Editorial", journal="A", volume="1", pages="1"))
    ed2 = prepare(4, rec("Editorial", journal="B", volume="2", pages="5"))
    assert compare(ed1, ed2, Policy()).decision is Decision.distinct


def test_conference_abstract_against_article_follows_the_protocol() -> None:
    abstract = prepare(1, rec("Machine learning for sepsis prediction", journal="Annual Congress Abstracts",
                              volume="", pages="", ptype="inproceedings"))
    article = prepare(2, rec("Machine learning for sepsis prediction", journal="Critical Care Medicine"))
    assert compare(abstract, article, Policy(keep_conference_abstracts=True)).decision is Decision.distinct
    # without the veto the pair is similar but the venues differ: a person decides
    assert compare(abstract, article, Policy(keep_conference_abstracts=False)).decision is Decision.maybe


def test_match_rule_is_named_and_maybe_for_uncertain_pairs() -> None:
    a = prepare(1, rec("Exercise therapy for chronic low back pain"))
    b = prepare(2, rec("EXERCISE THERAPY FOR CHRONIC LOW BACK PAIN.", journal="J X", pages="100-10"))
    comp = compare(a, b, Policy())
    assert comp.decision is Decision.match
    assert comp.rule.startswith("title >= 0.97")
    c = prepare(3, rec("Exercise therapy for chronic low back pain in adults", authors="Other, P", volume="",
                       pages=""))
    assert compare(a, c, Policy()).decision is Decision.maybe


def test_same_doi_matches_despite_page_format() -> None:
    a = prepare(1, rec("Exercise therapy", doi="10.1/x", pages="e123"))
    b = prepare(2, rec("Exercise therapy for back pain", doi="https://doi.org/10.1/X", pages="1-9"))
    assert compare(a, b, Policy()).rule == "same doi"


# --- clustering --------------------------------------------------------------------------------------------

def test_small_fixture_clusters_exactly_the_gold() -> None:
    records = small()
    gold = sorted(sorted(c) for c in read_gold_clusters(FIXTURES / "small_gold.csv"))
    assert clusters_by_source_id(records) == gold


def test_representative_is_the_most_complete_record_unless_a_source_is_preferred() -> None:
    records = small()
    first = [prepare(0, records[0]), prepare(1, records[1])]  # r01 has DOI and abstract, r02 neither
    assert choose_representative(first).key == 0
    assert choose_representative(first, ("scopus",)).key == 1


def test_a_truncated_title_never_represents_the_cluster() -> None:
    whole = rec("Integrated care teams for older people living at home: a randomised controlled trial",
                source="embase")
    cut = rec("Integrated care teams for older people living at home...", source="pubmed",
              abstract="Background: an abstract the whole-title record lacks.", doi="10.1/x")
    members = [prepare(0, cut), prepare(1, whole)]
    assert choose_representative(members).key == 1  # despite the DOI and abstract
    assert choose_representative(members, ("pubmed",)).key == 1  # and despite the preferred source
    # when no title continues another, completeness decides as before
    same = [prepare(0, rec("A trial", abstract="text")), prepare(1, rec("A trial"))]
    assert choose_representative(same).key == 0


def test_union_find_refuses_incompatible_and_forbidden_merges() -> None:
    uf = ConstrainedUnionFind(4, {0: {2}, 2: {0}})
    assert uf.union(0, 1, lambda a, b: True)
    assert not uf.union(1, 2, lambda a, b: True)  # 0 (in 1's cluster) may not join 2
    assert not uf.union(2, 3, lambda a, b: False)
    assert sorted(uf.groups()) == [[0, 1], [2], [3]]


def test_human_decisions_force_and_forbid_links() -> None:
    records = small()
    keys = list(enumerate(records))
    # r01 (0) and r02 (1) match automatically; a person says different
    result = deduplicate(keys, decisions={(0, 1): "different"})
    assert all(not {0, 1} <= set(c.members) for c in result.clusters)
    # r17 (16) and r18 (17) are vetoed; a person says same
    result = deduplicate(keys, decisions={(16, 17): "same"})
    assert any({16, 17} <= set(c.members) for c in result.clusters)


def test_no_transitive_chain_merges_two_dois() -> None:
    a = rec("Cognitive therapy for insomnia in older adults", doi="10.1/a", pages="")
    b = rec("Cognitive therapy for insomnia in older adults", doi=None, pages="")
    c = rec("Cognitive therapy for insomnia in older adults", doi="10.1/c", pages="")
    result = deduplicate([(1, a), (2, b), (3, c)])
    for cluster in result.clusters:
        dois = {[a, b, c][m - 1].doi for m in cluster.members} - {None}
        assert len(dois) <= 1


# --- evaluation --------------------------------------------------------------------------------------------

def test_pairwise_scores() -> None:
    scores = pairwise([["a", "b", "c"], ["d"]], [["a", "b"], ["c", "d"]])
    assert (scores.true_positive_pairs, scores.false_positive_pairs, scores.false_negative_pairs) == (1, 2, 1)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == pytest.approx(0.5)
    assert scores.false_positive_examples == [["a", "c"], ["b", "c"]]


def test_record_level_follows_bibdedupe_example() -> None:
    # bibdedupe_evaluation_method.rst: records 1..5, gold duplicates {2,3,4}; merged list keeps 1, 2, 5
    scores = record_level(["1", "2", "3", "4", "5"], ["1", "2", "5"], [["2", "3", "4"]])
    assert (scores.tp, scores.fp, scores.fn, scores.tn) == (2, 0, 0, 3)
    removed_all = record_level(["1", "2", "3", "4", "5"], ["1", "5"], [["2", "3", "4"]])
    assert (removed_all.tp, removed_all.fp) == (2, 1)
    kept_two = record_level(["1", "2", "3", "4", "5"], ["1", "2", "3", "5"], [["2", "3", "4"]])
    assert (kept_two.tp, kept_two.fn) == (1, 1)


def test_evaluate_counts_clusters() -> None:
    result = evaluate([["a", "b"], ["c"], ["d"]], ["a", "c", "d"], [["a", "b"], ["c", "d"]])
    assert result.predicted_clusters == 1
    assert result.gold_clusters == 2
    assert result.pairwise.recall == pytest.approx(0.5)


def test_gold_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "gold.csv"
    bad.write_text("ids\na;b\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'merged_ids' column"):
        read_gold_clusters(bad)


# --- properties --------------------------------------------------------------------------------------------

WORDS = ["exercise", "therapy", "pain", "trial", "cohort", "dementia", "statin", "sleep", "anxiety", "falls"]


@st.composite
def record_sets(draw: st.DrawFn) -> list[Record]:
    n = draw(st.integers(min_value=2, max_value=14))
    out: list[Record] = []
    for _ in range(n):
        words = draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=6))
        title = " ".join(words)
        if draw(st.booleans()):
            title = title.upper()
        out.append(rec(
            title,
            year=draw(st.sampled_from([2010, 2011, 2013])),
            authors=draw(st.sampled_from(["Smith, J", "Smith, J and Lee, K", "Lee, K"])),
            volume=draw(st.sampled_from(["", "10", "11"])),
            pages=draw(st.sampled_from(["", "100-110", "100-10", "200-210"])),
            doi=draw(st.sampled_from([None, None, "10.1/a", "10.1/b"])),
            journal=draw(st.sampled_from(["Journal X", "J X", "Other Journal"])),
        ))
    return out


def _partition(records: list[Record], keys: list[int]) -> set[frozenset[int]]:
    result = deduplicate(list(zip(keys, records, strict=True)))
    return {frozenset(c.members) for c in result.clusters}


@settings(max_examples=30, deadline=None)
@given(record_sets(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(records: list[Record], rnd: random.Random) -> None:
    keys = list(range(len(records)))
    expected = _partition(records, keys)
    order = keys[:]
    rnd.shuffle(order)
    shuffled = deduplicate([(k, records[k]) for k in order])
    assert {frozenset(c.members) for c in shuffled.clusters} == expected
    assert {c.representative for c in shuffled.clusters} == {
        c.representative for c in deduplicate(list(enumerate(records))).clusters}


@settings(max_examples=30, deadline=None)
@given(record_sets())
def test_no_cluster_holds_two_dois_and_a_rerun_changes_nothing(records: list[Record]) -> None:
    first = deduplicate(list(enumerate(records)))
    for cluster in first.clusters:
        assert len({records[m].doi for m in cluster.members} - {None}) <= 1
    second = deduplicate(list(enumerate(records)))
    assert second.assignments() == first.assignments()


def test_author_parsing() -> None:
    assert parse_authors("Zuna, R E and Wang, S S") == [Author("Zuna", "R E"), Author("Wang", "S S")]
    assert parse_authors("John Smith") == [Author("Smith", "John")]


def test_review_highlights_the_differing_words() -> None:
    from synth.dedup.review import _diff_texts

    tx, ty = _diff_texts("Physical activity and depression", "Physical activity and depressive symptoms")
    assert [tx.plain[s.start:s.end].strip() for s in tx.spans if s.style == "bold red"] == ["depression"]
    assert [ty.plain[s.start:s.end].strip() for s in ty.spans if s.style == "bold red"] == ["depressive symptoms"]


@settings(max_examples=30, deadline=None)
@given(record_sets(), st.data())
def test_human_decisions_are_always_respected(records: list[Record], data: st.DataObject) -> None:
    n = len(records)
    pairs = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
                               max_size=4, unique_by=lambda p: frozenset(p)))
    decisions = {p: data.draw(st.sampled_from(["same", "different"])) for p in pairs}
    # a "same" and a "different" that contradict each other transitively cannot both hold; keep "different" only
    # where no chain of "same" decisions joins the pair
    same = [p for p, d in decisions.items() if d == "same"]
    uf = ConstrainedUnionFind(n)
    for a, b in same:
        uf.union(a, b, lambda x, y: True)
    decisions = {p: d for p, d in decisions.items() if d == "same" or uf.find(p[0]) != uf.find(p[1])}
    result = deduplicate(list(enumerate(records)), decisions=decisions)
    cluster_of = {m: c.id for c in result.clusters for m in c.members}
    for (a, b), d in decisions.items():
        if d == "different":
            assert cluster_of[a] != cluster_of[b]
        elif not any(dd == "different" for dd in decisions.values()):
            assert cluster_of[a] == cluster_of[b]
    again = deduplicate(list(enumerate(records)), decisions=decisions)
    assert again.assignments() == result.assignments()


def test_shifted_volume_issue_pages_do_not_veto() -> None:
    """Embase conference export: pages "9", no volume, issue "26" is volume 26, issue 9 of the other record."""
    a = Record(title="The treatment of atypical hus", year=2011, authors=parse_authors("Loirat, C."),
               journal="Pediatric Nephrology.Conference: 44th Annual Meeting", volume="", issue="26", pages="9")
    b = Record(title="The treatment of atypical hus", year=2011, authors=parse_authors("Loirat, C."),
               journal="Pediatric Nephrology.Conference: 44th Annual Meeting", volume="26", issue="9",
               pages="1746-1746")
    assert vetoes(prepare(1, a), prepare(2, b), Policy()) == []
    c = Record(**{**a.__dict__, "issue": "27"})  # not the shifted pattern: the page veto stands
    assert any("different pages" in v for v in vetoes(prepare(1, c), prepare(2, b), Policy()))


def test_same_meeting_abstract_with_two_page_numbers() -> None:
    title = "Maintenance of renal function under eculizumab after a third transplantation"
    conf = Record(title=title, year=2011, authors=parse_authors("Davin, J. C. and Groothoff, J. W."),
                  journal="Pediatric Transplantation.Conference: 6th Congress", volume="15", pages="22-22")
    item = Record(title=title.title(), year=2011, authors=parse_authors("Davin, J. C. and Groothoff, J. W."),
                  journal="Pediatric Transplantation", volume="15", pages="52-52")
    assert vetoes(prepare(1, conf), prepare(2, item), Policy()) == []
    other_authors = Record(**{**item.__dict__, "authors": parse_authors("Davin, J. C. and Bouts, A. H.")})
    assert vetoes(prepare(1, conf), prepare(2, other_authors), Policy())
    article = Record(**{**item.__dict__, "pages": "52-60"})  # a full article later: conference vs journal stands
    assert vetoes(prepare(1, conf), prepare(2, article), Policy())
