"""Pure screening core: outcomes and conflicts, decision checks, agreement statistics, queue, stopping,
simulation metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import hypergeom
from statsmodels.stats.inter_rater import cohens_kappa

from synth.screening.agreement import agreement, pairwise
from synth.screening.decisions import Decision, Resolution, check_decision, first_reason, outcome
from synth.screening.queue import ScreeningQueue, pending_for, stage_pool, visible_decisions
from synth.screening.simulate import choose_priors, metrics, screening_order
from synth.screening.stopping import first_stop, heuristic_check, hypergeometric_p, p_values

TA, FT = "title-abstract", "full-text"


def d(rid: int, who: str, choice: str, reason: str | None = None, stage: str = TA) -> Decision:
    return Decision(rid, stage, who, choice, reason)


# --- outcomes ------------------------------------------------------------------------------------------

def test_outcome_needs_required_reviewers() -> None:
    assert outcome(1, [d(1, "a", "include")], stage=TA, required=2).status == "pending"
    assert outcome(1, [d(1, "a", "include")], stage=TA, required=1).status == "include"
    assert outcome(1, [], stage=TA, required=1).status == "pending"


def test_maybe_advances_at_title_abstract_but_conflicts_at_full_text() -> None:
    assert outcome(1, [d(1, "a", "include"), d(1, "b", "maybe")], stage=TA, required=2).status == "include"
    assert outcome(1, [d(1, "a", "exclude"), d(1, "b", "maybe")], stage=TA, required=2).status == "conflict"
    ft = [d(1, "a", "include", stage=FT), d(1, "b", "maybe", stage=FT)]
    assert outcome(1, ft, stage=FT, required=2).status == "conflict"


def test_exclusion_reason_is_first_in_protocol_order() -> None:
    decs = [d(1, "a", "exclude", "design"), d(1, "b", "exclude", "population")]
    got = outcome(1, decs, stage=TA, required=2, criteria_order=["population", "intervention", "design"])
    assert (got.status, got.reason) == ("exclude", "population")
    assert first_reason([None, "zzz", "design"], ["population", "design"]) == "design"


def test_resolution_overrides_conflict() -> None:
    decs = [d(1, "a", "exclude", "design"), d(1, "b", "include")]
    res = Resolution(1, TA, "include", None, "consensus", "carol")
    got = outcome(1, decs, stage=TA, required=2, resolution=res)
    assert (got.status, got.resolved) == ("include", True)


def test_check_decision_messages() -> None:
    reasons = ["population", "design"]
    assert check_decision(TA, "exclude", None, reasons) is None
    assert check_decision(FT, "exclude", None, reasons) == "a full-text exclusion needs a reason (one of: population, design)"
    assert check_decision(TA, "include", "design", reasons) == "a reason ('design') is only given with an exclusion, not with 'include'"
    assert check_decision(TA, "exclude", "age", reasons) == "unknown reason 'age' at title-abstract (the protocol's criteria: population, design)"
    assert check_decision("final", "include", None, reasons) == "unknown stage 'final' (use one of: title-abstract, full-text)"
    assert check_decision(TA, "yes", None, reasons) == "unknown decision 'yes' (use one of: include, exclude, maybe)"


# --- agreement -----------------------------------------------------------------------------------------

def test_kappa_and_ci_match_statsmodels() -> None:
    rng = np.random.default_rng(3)
    cats = ["x", "y", "z"]
    a = rng.integers(0, 3, 120)
    b = np.where(rng.random(120) < 0.6, a, rng.integers(0, 3, 120))
    pairs = [(cats[i], cats[j]) for i, j in zip(a, b, strict=True)]
    table = np.zeros((3, 3))
    for i, j in zip(a, b, strict=True):
        table[i, j] += 1
    ref = cohens_kappa(table)
    got = agreement(pairs, cats)
    assert got.kappa == pytest.approx(ref.kappa, abs=1e-12)
    assert got.kappa_se == pytest.approx(ref.std_kappa, abs=1e-12)
    assert got.kappa_ci == pytest.approx((ref.kappa_low, ref.kappa_upp), abs=1e-9)


def test_low_prevalence_paradox_pabak_and_ac1() -> None:
    # 100 records: both exclude 95, both include 1, disagree on 4. Kappa collapses; PABAK and AC1 do not.
    pairs = [("exclude", "exclude")] * 95 + [("include", "include")] + [("include", "exclude")] * 2 \
        + [("exclude", "include")] * 2
    got = agreement(pairs, ["include", "exclude"])
    po = 0.96
    pe = 0.03 * 0.03 + 0.97 * 0.97
    assert got.percent == pytest.approx(po)
    assert got.kappa == pytest.approx((po - pe) / (1 - pe))
    assert got.pabak == pytest.approx(2 * po - 1)
    pi_inc = 0.03
    pe_ac1 = 2 * pi_inc * (1 - pi_inc) / 1
    assert got.ac1 == pytest.approx((po - pe_ac1) / (1 - pe_ac1))
    assert got.kappa is not None and got.ac1 is not None and got.kappa < 0.35 < 0.9 < got.ac1


def test_kappa_undefined_when_everyone_says_the_same() -> None:
    got = agreement([("exclude", "exclude")] * 10, ["include", "exclude"])
    assert got.kappa is None and got.kappa_ci is None
    assert got.percent == 1.0 and got.pabak == 1.0


def test_pairwise_on_decisions_and_reasons() -> None:
    decs = [d(1, "a", "exclude", "population"), d(1, "b", "exclude", "design"),
            d(2, "a", "include"), d(2, "b", "maybe"),
            d(3, "a", "exclude", "design"), d(3, "b", "exclude", "design"),
            d(4, "a", "include"), d(4, "c", "include")]
    out = pairwise(decs, ["population", "design"])
    assert [p["reviewers"] for p in out] == [["a", "b"], ["a", "c"]]
    ab = out[0]
    assert ab["n"] == 3
    assert ab["decisions"]["percent"] == 1.0  # maybe counts with include
    assert ab["reasons"]["n"] == 2 and ab["reasons"]["percent"] == 0.5


# --- queue and blinding --------------------------------------------------------------------------------

def test_pending_and_blinding() -> None:
    decs = [d(1, "a", "include"), d(1, "b", "exclude"), d(2, "a", "include")]
    outs = {r: outcome(r, [x for x in decs if x.record_id == r], stage=TA, required=2) for r in (1, 2, 3)}
    assert pending_for("a", [1, 2, 3], decs, outs) == [3]
    assert pending_for("b", [1, 2, 3], decs, outs) == [2, 3]
    assert pending_for("c", [1, 2, 3], decs, outs) == [2, 3]  # record 1 already has its two reviewers
    on_1 = [x for x in decs if x.record_id == 1]
    assert [x.reviewer for x in visible_decisions("a", on_1, blinding=True)] == ["a"]
    assert [x.reviewer for x in visible_decisions("a", on_1, blinding=False)] == ["a", "b"]
    assert stage_pool(FT, [1, 2, 3], outs) == []
    assert stage_pool(TA, [1, 2, 3], outs) == [1, 2, 3]


def test_queue_skip_restore_reorder() -> None:
    q = ScreeningQueue([1, 2, 3, 4])
    assert q.next() == 1
    q.skip(1)
    assert q.next() == 2
    q.done(2)
    q.reorder([4, 3, 1])
    assert q.next() == 4
    q.done(4)
    q.restore(2)
    assert q.next() == 2
    q.done(2)
    assert q.next() == 3
    q.done(3)
    assert q.next() == 1  # the skipped record comes back last
    q.done(1)
    assert q.next() is None and len(q) == 0


# --- stopping ------------------------------------------------------------------------------------------

def brute_p(labels: list[int], n_total: int, recall: float = 0.95) -> float:
    seen = np.asarray(labels)
    n = len(seen)
    r = seen.sum()
    k = seen[::-1].cumsum()
    size = np.arange(1, n + 1)
    k_hat = np.minimum(np.floor(r / recall + 1 - (r - k)), n_total - (n - size))
    return float(hypergeom.cdf(k, n_total - (n - size), k_hat, size).min())


def test_hypergeometric_p_equals_every_sample_evaluation() -> None:
    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(1, 150))
        labels = (rng.random(n) < rng.random() * 0.4).astype(int).tolist()
        total = n + int(rng.integers(0, 400))
        assert hypergeometric_p(labels, total) == pytest.approx(brute_p(labels, total), abs=1e-12)
        series = p_values(labels, total)
        for m in (1, n // 2 or 1, n):
            assert series[m - 1] == pytest.approx(brute_p(labels[:m], total), abs=1e-12)


def test_stopping_rule_fires_only_after_enough_exclusions() -> None:
    labels = [1] * 20 + [0] * 980
    stop = first_stop(labels, 1000)
    assert stop is not None and 20 < stop < 1000
    assert hypergeometric_p(labels[:stop], 1000) < 0.05 <= hypergeometric_p(labels[: stop - 1], 1000)
    assert first_stop([1] * 5 + [0] * 5, 1000) is None


def test_heuristic() -> None:
    check = heuristic_check([1] + [0] * 60, 400)
    assert check.stop and check.params == {"run": 50, "current_run": 60}
    assert not heuristic_check([0] * 60 + [1], 400).stop


# --- simulation metrics ----------------------------------------------------------------------------------

def test_metrics_on_a_known_order() -> None:
    # N = 100, 20 includes: found at positions 1..19 and 40 (1-based).
    labels = [1] * 19 + [0] * 20 + [1]
    m = metrics(labels, 100)
    assert m["n"] == 100 and m["n_included"] == 20
    assert m["records_to_95"] == 19
    assert m["wss@95"] == pytest.approx(round((100 - 19) / 100 - 0.05, 4))
    assert m["wss@100"] == pytest.approx(0.60)
    assert m["rrf@10"] == pytest.approx(10 / 20)
    seq = np.zeros(100)
    seq[:40] = labels
    ref_loss = (20 * (100 - 19 / 2) - seq.cumsum().sum()) / (20 * 80)
    assert m["loss"] == pytest.approx(round(ref_loss, 4))
    assert set(m["stopping"]) == {"rule", "stopped_at", "recall_at_stop"}


def test_perfect_and_worst_orders_bound_loss() -> None:
    assert metrics([1] * 5, 50)["loss"] == 0.0
    assert metrics([0] * 45 + [1] * 5, 50)["loss"] == 1.0


def test_screening_order_finds_all_includes_and_beats_random() -> None:
    rng = np.random.default_rng(1)
    texts, labels = [], []
    for i in range(300):
        inc = i % 15 == 0
        words = ["social", "care", "integration", "trial"] if inc else ["mouse", "cell", "protein", "gene"]
        texts.append(" ".join(rng.choice(words, 6)) + f" filler{i % 7}")
        labels.append(int(inc))
    priors = choose_priors(labels, seed=2)
    assert labels[priors[0]] == 1 and labels[priors[1]] == 0
    order = screening_order(texts, labels, priors, model="svm")
    assert order[:2] == priors
    assert len(set(order)) == len(order)
    assert sum(labels[i] for i in order) == sum(labels)
    m = metrics([labels[i] for i in order], len(labels))
    assert m["records_to_95"] <= 30  # perfectly separable: about the 20 includes
    assert m["wss@95"] > 0.8
    assert math.isclose(m["wss@95"], (300 - m["records_to_95"]) / 300 - 0.05, abs_tol=1e-4)


def test_first_stop_equals_checking_after_every_record() -> None:
    rng = np.random.default_rng(5)
    fired = 0
    for _ in range(80):
        n = int(rng.integers(20, 400))
        prevalence = rng.random() * 0.3
        labels = (rng.random(n) < prevalence * np.linspace(2, 0, n)).astype(int).tolist()
        total = n + int(rng.integers(0, 200))
        series = p_values(labels, total)
        hits = np.flatnonzero(series < 0.05)
        expected = int(hits[0]) + 1 if len(hits) else None
        assert first_stop(labels, total) == expected
        fired += expected is not None
    assert fired >= 5  # the comparison covered both outcomes
