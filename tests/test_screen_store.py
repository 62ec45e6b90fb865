"""Screening state in the store: every decision committed with its audit event; revisions and undo keep
history; dedup-removed records refused; resolutions, full-text retrieval, report-to-study links, stops."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from screening_helpers import make_store, settings

from synth.errors import InputError
from synth.screening import service
from synth.screening.state import active_decisions
from synth.store import open_store
from synth.store import screening as db
from synth.store.events import read
from synth.store.schema import screening_decisions

TA, FT = "title-abstract", "full-text"


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    make_store(url)
    s = open_store(url)
    yield s
    s.close()


def test_decision_is_committed_with_event(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    did = service.decide(store, settings(), record_id=1, stage=TA, reviewer="alice", decision="exclude",
                         reason="population", note="children only")
    # a separate connection (another process would see the same) finds it at once
    other = open_store(str(store.engine.url))
    with other.connect() as conn:
        rows = active_decisions(conn, TA)
        events = read(conn, "decision")
    other.close()
    assert [(r.id, r.record_id, r.reviewer, r.decision, r.reason, r.note) for r in rows] == [
        (did, 1, "alice", "exclude", "population", "children only")]
    assert rows[0].at
    assert len(events) == 1 and events[0]["actor"] == "alice" and events[0]["subject"] == "1"
    assert events[0]["payload"]["decision_id"] == did


def test_revision_deactivates_and_undo_retracts(store) -> None:  # type: ignore[no-untyped-def]
    s = settings()
    first = service.decide(store, s, record_id=2, stage=TA, reviewer="alice", decision="include")
    second = service.decide(store, s, record_id=2, stage=TA, reviewer="alice", decision="exclude")
    with store.connect() as conn:
        assert [d.id for d in active_decisions(conn, TA)] == [second]
        assert conn.execute(sa.select(sa.func.count()).select_from(screening_decisions)).scalar_one() == 2
    with store.begin() as conn:
        db.retract_decision(conn, second, reviewer="alice")
    with store.connect() as conn:
        assert active_decisions(conn, TA) == []
    assert first != second


def test_duplicate_record_refused_with_its_cluster(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as err:
        service.decide(store, settings(), record_id=6, stage=TA, reviewer="alice", decision="include")
    assert str(err.value) == ("record 6 was screened out by dedup: it is a duplicate in cluster 5, whose kept "
                              "record is 5. Screen record 5 instead.")
    with store.connect() as conn:
        assert db.screenable_ids(conn) == [1, 2, 3, 4, 5, 7, 8]
        assert active_decisions(conn) == []


def test_unknown_record_and_invalid_reason(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"^no record with id 99\. "):
        service.decide(store, settings(), record_id=99, stage=TA, reviewer="a", decision="include")
    with pytest.raises(InputError, match=r"^record 1: a full-text exclusion needs a reason"):
        service.decide(store, settings(), record_id=1, stage=FT, reviewer="a", decision="exclude")


def test_full_text_pool_conflicts_and_resolution(store) -> None:  # type: ignore[no-untyped-def]
    s = settings()
    for rid in (1, 2, 3):
        service.decide(store, s, record_id=rid, stage=TA, reviewer="alice", decision="include")
    service.decide(store, s, record_id=1, stage=TA, reviewer="bob", decision="maybe")
    service.decide(store, s, record_id=2, stage=TA, reviewer="bob", decision="exclude", reason="design")
    with store.connect() as conn:
        assert service.stage_state(conn, s, FT).pool == [1]
    conflicts = service.conflicts(store, s, TA)
    assert [c["record"] for c in conflicts] == [2]
    assert conflicts[0]["decisions"] == [
        {"reviewer": "alice", "decision": "include", "reason": None, "note": ""},
        {"reviewer": "bob", "decision": "exclude", "reason": "design", "note": ""},
    ]
    with pytest.raises(InputError, match="record 3 has no conflict to resolve at title-abstract"):
        service.resolve(store, s, record_id=3, stage=TA, decision="include", reason=None, method="consensus",
                        resolved_by="carol")
    service.resolve(store, s, record_id=2, stage=TA, decision="include", reason=None, method="third-reviewer",
                    resolved_by="carol")
    assert service.conflicts(store, s, TA) == []
    with store.connect() as conn:
        assert service.stage_state(conn, s, FT).pool == [1, 2]


def test_retrieval_statuses_and_study_links(store) -> None:  # type: ignore[no-untyped-def]
    service.set_retrieval(store, 1, status="sought", by="alice")
    service.set_retrieval(store, 1, status="retrieved", location="pdfs/one.pdf", by="alice")
    with pytest.raises(InputError, match="'not-retrieved' needs a reason"):
        service.set_retrieval(store, 2, status="not-retrieved")
    service.set_retrieval(store, 2, status="not-retrieved", reason="not held by any library")
    service.link_report(store, 3, 1)
    service.link_report(store, 4, 3)  # linking to a report that is itself linked goes to its study
    with store.connect() as conn:
        reports = {r["record_id"]: r for r in db.reports(conn)}
        kinds = [e["kind"] for e in read(conn)]
    assert reports[1]["status"] == "retrieved" and reports[1]["location"] == "pdfs/one.pdf"
    assert reports[2]["reason"] == "not held by any library"
    assert (reports[3]["study_id"], reports[4]["study_id"], reports[1]["study_id"]) == (1, 1, 1)
    assert kinds.count("retrieval") == 5


def test_stop_is_refused_until_the_rule_allows_it_then_recorded(store) -> None:  # type: ignore[no-untyped-def]
    s = settings()
    service.decide(store, s, record_id=1, stage=TA, reviewer="alice", decision="include")
    with pytest.raises(InputError, match=r"^the hypergeometric stopping rule does not allow stopping yet at "
                                         r"title-abstract: p = 1; about 6 more records if all excluded "):
        service.record_stop(store, s, TA, "alice", "alice")
    out = service.record_stop(store, s, TA, "alice", "alice", force=True)
    assert out["result"]["excluded_by_automation"] == 6 and out["result"]["forced"] is True
    with store.connect() as conn:
        stops = db.stops(conn, TA)
        kinds = [e["kind"] for e in read(conn)]
    assert stops[0]["rule"] == "hypergeometric" and stops[0]["params"]["recall"] == 0.95
    assert "stopping" in kinds


def test_stop_records_the_protocols_rule_with_its_evidence_and_prisma_names_it(store) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from synth.prisma.gather import gather_inputs

    s = replace(settings(), stop_rule="knee")
    service.decide(store, s, record_id=1, stage=TA, reviewer="alice", decision="include")
    service.decide(store, s, record_id=2, stage=TA, reviewer="alice", decision="exclude")
    checks = service.stopping_checks(store, s, TA, "alice")
    assert [r["rule"] for r in checks["rules"]] == ["knee", "hypergeometric", "random-sample", "composite"]
    assert checks["rules"][0]["chosen"] and not checks["rules"][1]["chosen"]
    with pytest.raises(InputError, match=r"^the knee stopping rule does not allow stopping yet at title-abstract: "
                                         r"slope ratio 1.0 \(needs 155\); no run of exclusions would stop it"):
        service.record_stop(store, s, TA, "alice", "alice")
    out = service.record_stop(store, s, TA, "alice", "alice", force=True)
    assert out["rule"] == "knee" and out["result"]["evidence"]["needed_ratio"] == 155
    assert out["result"]["excluded_by_automation"] == 5
    assert out["result"]["guarantee"].startswith("none: a heuristic")
    with store.connect() as conn:
        assert db.stops(conn, TA)[-1]["rule"] == "knee"
        notes = gather_inputs(conn, None).notes
    assert any("stopping rule was recorded (knee rule, target 95% recall with 95% confidence, recorded against "
               "the rule (forced))" in n for n in notes), notes
    none = replace(settings(), stop_rule="none")
    with pytest.raises(InputError, match=r'^the protocol sets no stopping rule \(\[screening.stopping\] rule = "none"\)'):
        service.record_stop(store, none, TA, "alice", "alice")
