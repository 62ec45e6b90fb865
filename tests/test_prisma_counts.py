"""PRISMA 2020 counts and accounting identities: worked examples and count-conservation properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from synth.prisma.counts import ClusterFlow, PrismaInputs, compute_counts, is_update, other_methods_used
from synth.prisma.identities import check_identities


def _example() -> PrismaInputs:
    clusters: list[ClusterFlow] = []
    clusters += [ClusterFlow(title_abstract="exclude", key=f"h{i}") for i in range(40)]
    clusters += [ClusterFlow(title_abstract="exclude-automation", key=f"a{i}") for i in range(30)]
    clusters += [ClusterFlow(removed_before_screening="automation", key=f"r{i}") for i in range(2)]
    clusters += [ClusterFlow(removed_before_screening="other", key="o1")]
    clusters += [
        ClusterFlow(title_abstract="include", retrieved=True, full_text="exclude", exclusion_reason="Wrong population")
        for _ in range(7)
    ]
    clusters += [
        ClusterFlow(title_abstract="include", retrieved=True, full_text="exclude", exclusion_reason="Wrong design")
        for _ in range(3)
    ]
    clusters += [ClusterFlow(title_abstract="include", retrieved=False) for _ in range(5)]
    # 6 included reports of 4 studies (two studies have two reports each).
    clusters += [
        ClusterFlow(title_abstract="include", retrieved=True, full_text="include", study_id=f"s{i % 4}")
        for i in range(6)
    ]
    clusters += [ClusterFlow(column="other", retrieved=True, full_text="include", study_id="s9")]
    return PrismaInputs(
        database_results={"PubMed": 60, "Embase": 50},
        register_results={"ClinicalTrials.gov": 5},
        other_results={"citation": 3},
        clusters=tuple(clusters),
    )


def test_worked_example_every_box() -> None:
    d = compute_counts(_example())
    assert d["database_results"] == 110
    assert d["database_specific_results"] == {"PubMed": 60, "Embase": 50}
    assert d["register_results"] == 5
    assert d["citations_results"] == 3
    # 115 identified, 94 unique clusters in the databases/registers column.
    assert d["duplicates"] == 115 - 94
    assert d["excluded_automatic"] == 2
    assert d["excluded_other"] == 1
    assert d["records_screened"] == 91
    assert d["records_excluded"] == 70
    assert d["records_excluded_detail"] == {"human": 40, "automation": 30}
    assert d["dbr_sought_reports"] == 21
    assert d["dbr_notretrieved_reports"] == 5
    assert d["dbr_assessed"] == 16
    assert d["dbr_excluded"] == {"Wrong population": 7, "Wrong design": 3}
    assert d["other_sought_reports"] == 1
    assert d["other_assessed"] == 1
    assert d["new_reports"] == 7
    assert d["new_studies"] == 5
    assert d["total_studies"] == 5
    assert d["previous_studies"] is None
    assert check_identities(d) == []
    assert other_methods_used(d)
    assert not is_update(d)


def test_update_totals_add_previous() -> None:
    inputs = _example()
    d = compute_counts(
        PrismaInputs(
            database_results=inputs.database_results,
            clusters=inputs.clusters,
            register_results=inputs.register_results,
            previous_studies=10,
            previous_reports=12,
        )
    )
    assert d["total_studies"] == 10 + d["new_studies"]
    assert d["total_reports"] == 12 + d["new_reports"]
    assert is_update(d)


def test_explicit_duplicates_from_dedup_log_are_used() -> None:
    d = compute_counts(PrismaInputs(database_results={"A": 10}, duplicates=3,
                                    clusters=tuple(ClusterFlow(title_abstract="exclude") for _ in range(7))))
    assert d["duplicates"] == 3
    assert check_identities(d) == []


def test_identity_break_is_reported_with_numbers() -> None:
    d = compute_counts(_example())
    d["records_screened"] = 90
    warnings = check_identities(d)
    rules = {w.rule for w in warnings}
    assert "screened" in rules
    screened = next(w for w in warnings if w.rule == "screened")
    assert (screened.left, screened.right) == (90, 91)
    assert "records_screened (90) != identified 115 - duplicates 21 - automation 2 - other 1 = 91" in screened.message


def test_pending_screening_breaks_identity_and_says_how_many() -> None:
    clusters = (ClusterFlow(title_abstract="exclude"), ClusterFlow(title_abstract=None), ClusterFlow())
    d = compute_counts(PrismaInputs(database_results={"A": 3}, clusters=clusters))
    assert d["pending"]["records_not_screened"] == 2
    w = next(w for w in check_identities(d) if w.rule == "screened")
    assert "2 unique records not yet screened" in w.message


def test_pending_full_text_decision_is_named() -> None:
    clusters = (ClusterFlow(title_abstract="include", retrieved=True),)
    d = compute_counts(PrismaInputs(database_results={"A": 1}, clusters=clusters))
    w = next(w for w in check_identities(d) if w.rule == "assessed")
    assert w.left == 0 and w.right == 1
    assert "1 full-text decisions pending" in w.message


def test_studies_exceeding_reports_is_flagged() -> None:
    d = compute_counts(_example())
    d["new_studies"] = d["new_reports"] + 1
    assert "studies-reports" in {w.rule for w in check_identities(d)}


def test_negative_count_rejected() -> None:
    import pytest

    with pytest.raises(ValueError, match="database 'A' must be >= 0, got -1"):
        compute_counts(PrismaInputs(database_results={"A": -1}))


cluster_st = st.builds(
    ClusterFlow,
    column=st.sampled_from(["dbr", "dbr", "other"]),
    removed_before_screening=st.sampled_from([None, None, None, "automation", "other"]),
    title_abstract=st.sampled_from([None, "include", "exclude", "exclude-automation"]),
    retrieved=st.sampled_from([None, True, False]),
    full_text=st.sampled_from([None, "include", "exclude"]),
    exclusion_reason=st.sampled_from([None, "Wrong population", "Wrong design", "No outcome"]),
    study_id=st.sampled_from([None, "s1", "s2", "s3"]),
)


@settings(max_examples=150, deadline=None)
@given(clusters=st.lists(cluster_st, max_size=60), extra_dups=st.integers(0, 30))
def test_count_conservation(clusters: list[ClusterFlow], extra_dups: int) -> None:
    n_dbr = sum(1 for c in clusters if c.column == "dbr")
    d = compute_counts(PrismaInputs(database_results={"A": n_dbr + extra_dups}, clusters=tuple(clusters)))
    # Every unique record in the databases column is removed, screened or pending: none is lost or invented.
    removed = d["excluded_automatic"] + d["excluded_other"]
    assert removed + d["records_screened"] + d["pending"]["records_not_screened"] == n_dbr
    assert d["duplicates"] == extra_dups
    # Every screened record is excluded or sought.
    assert d["records_screened"] == d["records_excluded"] + d["dbr_sought_reports"]
    # Every sought report is not retrieved, assessed, or pending.
    assert (
        d["dbr_notretrieved_reports"] + d["dbr_assessed"] + d["pending"]["dbr_reports_not_decided"]
        == d["dbr_sought_reports"]
    )
    # Reasons sum to the excluded total, and included = assessed - excluded (both columns).
    inc = d["dbr_assessed"] - sum(d["dbr_excluded"].values()) + d["other_assessed"] - sum(d["other_excluded"].values())
    assert inc == d["new_reports"]
    assert d["new_studies"] <= d["new_reports"]
    warnings = {w.rule for w in check_identities(d)}
    fully_decided = all(v == 0 for v in d["pending"].values())
    if fully_decided:
        assert warnings == set(), warnings
