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
from synth.screening.stopping import (
    RULES,
    check,
    first_stop,
    heuristic_check,
    heuristic_run,
    hypergeometric_check,
    hypergeometric_p,
    knee_check,
    knee_steps,
    p_values,
    random_sample_check,
    sample_p,
    sample_start,
    simulated_stops,
)

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


def test_upcoming_lists_what_next_would_serve_in_its_order() -> None:
    q = ScreeningQueue([1, 2, 3, 4, 5])
    q.skip(1)
    q.done(3)
    q.restore(3)
    assert q.upcoming() == [3, 2, 4, 5, 1]
    served = []
    while (rid := q.next()) is not None:
        assert q.upcoming()[0] == rid
        served.append(rid)
        q.done(rid)
    assert served == [3, 2, 4, 5, 1] and q.upcoming() == []


def test_a_record_decided_while_the_new_order_is_built_is_never_served() -> None:
    import threading

    ids = list(range(20_000))
    q = ScreeningQueue(ids)
    decided: list[int] = []
    worker = threading.Thread(target=lambda: q.reorder(ids[::-1]))
    worker.start()
    for _ in range(200):  # the screen keeps deciding while the re-ranker swaps the order in
        rid = q.next()
        assert rid is not None and rid not in decided
        decided.append(rid)
        q.done(rid)
    worker.join()
    rest = []
    while (rid := q.next()) is not None:
        rest.append(rid)
        q.done(rid)
    assert not set(rest) & set(decided) and sorted(rest + decided) == ids


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


def test_hypergeometric_more_is_the_exact_number_of_exclusions_still_needed() -> None:
    labels = [1] * 20 + [0] * 100
    more = hypergeometric_check(labels, 1000).more
    assert more is not None and more > 0
    assert hypergeometric_p(labels + [0] * more, 1000) < 0.05 <= hypergeometric_p(labels + [0] * (more - 1), 1000)
    assert hypergeometric_check([0] * 10, 1000).more is None  # no include yet: nothing to test
    assert hypergeometric_check([1] * 20, 22).more == 1  # never more than the records left


def test_knee_method_on_a_hand_computed_gain_curve() -> None:
    # 30 includes first, then exclusions: the knee is at record 30, the slope before it is 1 and after it
    # 1/m (one include added), so the ratio is m; it must reach 156 - 30 = 126, with 150 records screened.
    fires = knee_steps([1] * 30 + [0] * 300)
    assert int(np.argmax(fires)) + 1 == 156 and fires[155:].all() and not fires[:155].any()
    state = knee_check([1] * 30 + [0] * 100, 1000)
    assert state.params["ratio"] == pytest.approx(100.0) and state.params["needed_ratio"] == 126
    assert not state.stop and state.more == 26
    assert knee_check([1] * 30 + [0] * 126, 1000).stop
    # fewer than 150 records screened: never, whatever the ratio
    assert not knee_steps([1] * 2 + [0] * 140).any()


def test_random_sample_rule_keeps_its_promise_on_random_urns() -> None:
    """Drawn at random from an urn whose missed includes put recall below the target, the rule stops early in
    about 1 - confidence of draws (exact for a fixed size; checking after every draw adds a little)."""
    rng = np.random.default_rng(1)
    for prior, urn_size, missed in [(20, 1000, 3), (5, 300, 1)]:
        wrong = 0
        for _ in range(1500):
            urn = np.zeros(urn_size, dtype=int)
            urn[:missed] = 1
            rng.shuffle(urn)
            hits = np.flatnonzero(sample_p(prior, urn_size, urn, 0.95) < 0.05)
            if len(hits) and (prior + urn[: hits[0] + 1].sum()) / (prior + missed) < 0.95:
                wrong += 1
        assert wrong / 1500 < 0.075


def test_random_sample_rule_phases() -> None:
    n = 1000
    run = heuristic_run(n)
    prioritised = [1] * 20 + [0] * (run - 1)
    state = random_sample_check(prioritised, n)
    assert state.params["phase"] == "prioritised" and not state.stop and state.more is not None
    assert sample_start([*prioritised, 0], n) == len(prioritised) + 1
    labels = [*prioritised, 0]
    more = random_sample_check(labels, n).more
    assert more is not None
    done = random_sample_check(labels + [0] * more, n)
    assert done.stop and done.params["sample_size"] == more and done.params["urn"] == n - len(labels)
    assert not random_sample_check(labels + [0] * (more - 1), n).stop
    # the prioritised phase's estimate is the exclusions to the run plus the sample's own need
    assert state.more == 1 + more


def test_composite_needs_the_test_and_the_run_of_exclusions() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(40):
        n = int(rng.integers(100, 500))
        labels = (rng.random(n) < 0.3 * np.linspace(2, 0, n) ** 3).astype(int).tolist()
        total = n + int(rng.integers(0, 100))
        need = heuristic_run(total)
        fired = p_values(labels, total) < 0.05
        streak, expected = 0, None
        for i, v in enumerate(labels):
            streak = 0 if v else streak + 1
            if fired[i] and streak >= need:
                expected = i + 1
                break
        assert first_stop(labels, total, run=need) == expected
        checked += expected is not None and expected != first_stop(labels, total)
        if expected is not None:
            assert check("composite", labels[:expected], total).stop
            assert not check("composite", labels[: expected - 1], total).stop
    assert checked >= 1  # some sequences where the run, not the test, decided


def test_simulated_stops_agree_with_the_live_checks() -> None:
    rng = np.random.default_rng(3)
    labels = (rng.random(3000) < 0.6 * np.exp(-np.arange(3000) / 80)).astype(int).tolist()
    stops = {s.rule: s for s in simulated_stops(labels, 3000, seed=4)}
    assert list(stops) == ["hypergeometric", "knee", "random-sample", "composite"]
    for rule in ("hypergeometric", "knee", "composite"):
        at = stops[rule].stopped_at
        assert at is not None and check(rule, labels[:at], 3000).stop and not check(rule, labels[: at - 1], 3000).stop
        assert stops[rule].found == sum(labels[:at])
    rs = stops["random-sample"]
    start = sample_start(labels, 3000)
    assert start is not None and rs.stopped_at is not None and rs.stopped_at > start
    assert sum(labels[:start]) <= rs.found <= sum(labels)
    with pytest.raises(ValueError, match="unknown stopping rule 'magic'"):
        check("magic", labels, 3000)


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
    assert [r["rule"] for r in m["stopping"]] == list(RULES)
    for r in m["stopping"]:
        assert set(r) == {"rule", "stopped_at", "screened", "recall_at_stop", "target_met"}
        assert r["target_met"] == (r["recall_at_stop"] >= 0.95)
        assert r["screened"] == round((r["stopped_at"] or 100) / 100, 4)


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


def test_hypergeometric_after_more_exclusions_equals_the_extended_sequence() -> None:
    """The live 'records to go' search evaluates the p-value after m further exclusions without building the
    longer sequence; it must equal the p-value of the sequence with m zeros appended."""
    import random

    from synth.screening.stopping import _hypergeometric_min, _hypergeometric_points, hypergeometric_p

    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 120)
        seq = [int(rng.random() < rng.choice((0.05, 0.2, 0.5))) for _ in range(n)]
        total = n + rng.randint(0, 300)
        points = _hypergeometric_points(seq, total, 0.95)
        assert points is not None
        for m in (0, 1, rng.randint(0, total - n), total - n):
            assert abs(_hypergeometric_min(points, m) - hypergeometric_p(seq + [0] * m, total)) < 1e-12


def test_records_to_go_is_the_first_count_at_which_the_rule_fires() -> None:
    """The live 'more' figure of the hypergeometric rule: the smallest number of further exclusions after which
    it says stop, checked against trying every count."""
    import random

    from synth.screening.stopping import hypergeometric_check, hypergeometric_p

    rng = random.Random(11)
    for _ in range(40):
        n = rng.randint(5, 60)
        seq = [int(rng.random() < 0.3) for _ in range(n)]
        seq[0] = 1
        total = n + rng.randint(0, 200)
        want = next((m for m in range(total - n + 1) if hypergeometric_p(seq + [0] * m, total) < 1 - 0.95), None)
        assert hypergeometric_check(seq, total).more == want
        for j in range(1, min(4, total - n) + 1):  # exclusions after a search reuse it: same answers
            later = hypergeometric_check(seq + [0] * j, total)
            assert later.more == (None if want is None else max(want - j, 0))
            assert abs(later.p_value - hypergeometric_p(seq + [0] * j, total)) < 1e-12
