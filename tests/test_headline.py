"""The report's headline: counts and names from the evidence data and the protocol, nothing else."""

from __future__ import annotations

from synth.evidence.headline import headline


def _o(label: str, k: int, rating: str = "low", domain: str = "users") -> dict:
    return {"label": label, "k": k, "domain": domain, "certainty": {"rating": rating}}


def test_headline_counts_studies_exclusions_evidence_and_gaps() -> None:
    outcomes = [_o("Falls", 6, "moderate"), _o("Fear of falling", 0), _o("Costs", 2, "very low", "service")]
    prisma = {"total_studies": 9, "database_results": 120, "register_results": 4,
              "dbr_excluded": {"Wrong population": 3}, "other_excluded": {"Wrong population": 1}}
    h = headline(outcomes, prisma, intervention="Group exercise", not_valued=["service"])
    assert h["text"] == (
        "For the question asked, 9 studies of group exercise were included; 4 assessed at full text were excluded "
        "(4 as \u201cwrong population\u201d). 1 of the protocol's 2 valued outcomes has any evidence: falls "
        "(moderate certainty, 6 studies). No included study measured fear of falling. Other outcomes with "
        "evidence: costs (very low, 2 studies).")
    assert h["with_evidence"] == ["Falls"] and h["without_evidence"] == ["Fear of falling"]


def test_headline_says_when_no_database_was_searched_and_when_nothing_has_evidence() -> None:
    h = headline([_o("Falls", 0)], {"total_studies": 1, "citations_results": 3}, intervention="Tai chi")
    assert h["text"].startswith("For the question asked, 1 study of tai chi was included.")
    assert "None of the protocol's 1 valued outcomes has any evidence." in h["text"]
    assert h["text"].endswith("No database was searched, so these figures describe the studies other methods "
                              "found, not the literature.")
    assert headline([], None, intervention="X")["text"] == ""
    adopted = headline([], {"total_studies": 4, "adopted_inclusions": 4, "database_results": 9}, intervention="X")
    assert adopted["text"] == ("For the question asked, 4 studies of x were included (all of them on decisions "
                               "adopted from elsewhere, not assessed against this protocol's criteria).")
