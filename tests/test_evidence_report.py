"""Evidence-maturity assembly, evidence.json, Markdown/HTML report (checked in headless Chromium), CLI."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synth.cli.app import app
from synth.evidence import Evidence, Settings, StudyEffect, build_evidence
from synth.evidence.gather import load_overview, summarise_overview
from synth.evidence.maturity import _information_reached, assess_outcome
from synth.extraction.rob import rob_class
from synth.report.render import figure_ids, figure_svgs, to_html, to_markdown, write_report

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()
FAST = Settings(power_reps=500)

MORT = {"id": "mortality", "label": "Mortality", "domain": "service", "measure": "RR", "priority": "secondary",
        "minimal_important_effect": 0.223}
QOL = {"id": "qol", "label": "Quality of life", "domain": "quality-of-life", "measure": "SMD", "priority": "primary",
       "minimal_important_effect": 0.2}
CARER = {"id": "carer", "label": "Carer burden", "domain": "carers", "measure": "SMD", "minimal_important_effect": 0.2}


def _mortality_studies() -> list[StudyEffect]:
    ys = [-0.3, -0.1, -0.25, 0.05, -0.2, -0.15]
    vs = [0.04, 0.02, 0.05, 0.03, 0.01, 0.02]
    rob = ["low", "high", "some-concerns", "low", "low", "high"]
    return [StudyEffect(f"s{i}", f"Trial {i}", y, v, n=400, year=1995 + 3 * i, design="rct", rob=rob[i],
                        country="UK" if i % 2 else "USA", setting="hospital", model="hospital-at-home",
                        control_risk=0.2)
            for i, (y, v) in enumerate(zip(ys, vs, strict=True))]


@pytest.fixture(scope="module")
def ev() -> dict:
    return _evidence()


@pytest.fixture(scope="module")
def html(ev: dict) -> str:
    return to_html(ev, figure_svgs(ev, _forests(ev)))


def _forests(ev: dict) -> dict[str, str]:
    """The forest of each outcome with studies, drawn by synth.figures from the studies' effects (what
    synth.report.outputs.outcome_forests draws from the extraction tables of a workspace)."""
    from synth.analysis.options import pool_options
    from synth.figures.forest import forest_svg
    from synth.meta.effects import compute_effects, effects_frame

    out = {}
    for o in ev["outcomes"]:
        if o["k"]:
            studies = o["studies"]
            table = compute_effects(effects_frame([s["yi"] for s in studies], [s["vi"] for s in studies],
                                                  [s["label"] for s in studies]), "GEN")
            table.measure = o["measure"]
            out[o["id"]] = forest_svg(table, pool_options())
    return out


def _evidence() -> dict:
    qol = [StudyEffect("q1", "QoL trial", 0.3, 0.05, n=120, year=2010, design="cluster-rct", rob="high",
                       model="integrated-team")]
    gap = [Evidence(s.study_id, s.model, "service", s.rob) for s in _mortality_studies()]
    gap.append(Evidence("q1", "integrated-team", "quality-of-life", "high"))
    return build_evidence(
        [(MORT, _mortality_studies(), None), (QOL, qol, None), (CARER, [], None)],
        domains=[("quality-of-life", "Quality of life"), ("carers", "Carers"), ("service", "Service")],
        models=[("hospital-at-home", "Hospital at home"), ("integrated-team", "Integrated team")],
        gap_evidence=gap, rows_label="Partnership model", not_valued=["service"], settings=FAST,
        review={"title": "Test review", "question": "Does it work?"},
        prisma={"database_results": 10, "database_specific_results": {"A": 10}, "register_results": 0,
                "duplicates": 2, "records_screened": 8, "records_excluded": 5, "dbr_sought_reports": 3,
                "dbr_assessed": 3, "dbr_excluded": {}, "new_studies": 3, "new_reports": 3, "total_studies": 3,
                "total_reports": 3, "warnings": []},
    )


def test_evidence_json_has_the_issue_keys(ev: dict) -> None:
    for o in ev["outcomes"]:
        for key in ("id", "label", "k", "participants", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2",
                    "power", "ois_fraction", "certainty"):
            assert key in o, key
        assert set(o["certainty"]) >= {"rating", "reasons"}
    assert {"gap_map", "conclusion", "unmeasured_valued_outcomes", "overview"} <= set(ev)
    json.dumps(ev)  # every number is JSON-serialisable


def test_outcome_numbers_are_consistent() -> None:
    mort = assess_outcome(MORT, _mortality_studies(), None, FAST)
    assert mort["k"] == 6 and mort["participants"] == 2400
    assert mort["ci_low"] < mort["estimate"] < mort["ci_high"]
    assert mort["pi_low"] <= mort["ci_low"] and mort["pi_high"] >= mort["ci_high"]
    assert sum(mort["rob_weight"].values()) == pytest.approx(1.0)
    assert sum(s["weight"] for s in mort["studies"]) == pytest.approx(1.0)
    assert mort["share_randomised"] == pytest.approx(1.0)
    assert mort["countries"] == {"UK": 3, "USA": 3}
    assert mort["small_study"] is None  # k < 10
    assert "Small-study tests not run: k = 6 < 10." in mort["notes"]
    assert mort["ois_fraction"] == pytest.approx(2400 / mort["ois"])
    assert mort["cumulative"][-1]["k"] == 6
    assert mort["cumulative"][-1]["estimate"] == pytest.approx(mort["estimate"])


def test_outcome_is_pooled_by_synth_meta_with_the_protocol_defaults() -> None:
    """REML + HKSJ from synth.meta (the reference implementation), with RR back-transformed."""
    import pandas as pd

    from synth.meta.analysis import pool_frame
    from synth.meta.pooling import PoolOptions

    studies = _mortality_studies()
    mort = assess_outcome(MORT, studies, None, FAST)
    ref = pool_frame(pd.DataFrame({"yi": [s.yi for s in studies], "vi": [s.vi for s in studies]}), "GEN",
                     PoolOptions(method="REML", test="hksj"))
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2"):
        assert mort[key] == pytest.approx(ref[key]), key
    assert [s["weight"] for s in mort["studies"]] == pytest.approx([s["weight"] / 100 for s in ref["studies"]])
    assert mort["natural"]["estimate"] == pytest.approx(math.exp(ref["estimate"]))
    assert mort["pooled_method"] == "REML tau^2, HKSJ CI (synth.meta)"
    dl = assess_outcome(MORT, studies, None, Settings(power_reps=500, method="DL", ci_method="z"))
    assert dl["pooled_method"] == "DL tau^2, Wald z CI (synth.meta)" and dl["ci_low"] != pytest.approx(mort["ci_low"])


def test_outcome_not_pooled_when_the_estimator_does_not_converge(monkeypatch: pytest.MonkeyPatch) -> None:
    """synth.meta's own non-convergence (simulated) reaches the outcome's notes; no other method steps in."""
    import numpy as np

    import synth.meta.pooling as pooling
    from synth.meta.estimators import Tau2Fit

    real = pooling.estimate_tau2

    def never_converges(method, Y, V, M):  # type: ignore[no-untyped-def]
        fit = real(method, Y, V, M)
        return Tau2Fit(fit.tau2, np.zeros_like(fit.converged), fit.iterations)

    monkeypatch.setattr(pooling, "estimate_tau2", never_converges)
    res = assess_outcome(MORT, _mortality_studies(), None, FAST)
    assert res["estimate"] is None and res["ci_low"] is None and res["tau2"] is None and res["power"] is None
    assert res["notes"][0].startswith("Not pooled: synth.meta could not pool the 6 studies with REML/hksj (")
    assert "did not converge" in res["notes"][0]
    assert res["certainty"]["rating"] == "not rated" and res["maturity"] == "emerging"
    import pandas as pd

    from synth.meta.analysis import pool_frame

    studies = _mortality_studies()
    supplied = pool_frame(pd.DataFrame({"yi": [s.yi for s in studies], "vi": [s.vi for s in studies]}))
    res2 = assess_outcome(MORT, _mortality_studies(), supplied, FAST)
    assert res2["estimate"] is None and res2["notes"][0].startswith("Not pooled: synth.meta returned no pooled result")


def test_outcome_synth_meta_cannot_pool_is_said_and_not_invented() -> None:
    bad = [*_mortality_studies()[:4], StudyEffect("z", "Zero-variance trial", -0.2, 0.0, n=300, year=2010,
                                                  design="rct", rob="low")]
    res = assess_outcome({**MORT, "notes": ["gathered note"]}, bad, None, FAST)
    assert res["k"] == 5 and res["participants"] == 1900
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "power", "ois", "ris", "natural"):
        assert res[key] is None, key
    assert res["cumulative"] == [] and res["rob_weight"] == {}
    assert res["notes"][0] == "gathered note"
    assert res["notes"][1].startswith("Not pooled: Study 'Zero-variance trial': field vi = 0")  # synth.meta's message
    assert "its certainty is not rated" in res["notes"][1]
    assert res["certainty"]["rating"] == "not rated"
    assert res["maturity"] == "emerging"
    assert "weight" not in res["studies"][0]
    ev = build_evidence([(MORT, bad, None)], domains=[("service", "Service")], models=[], gap_evidence=[],
                        settings=FAST)
    md = to_markdown(ev)
    assert "- Pooled: not estimable; tau² –; I² –" in md and "- Note: Not pooled: Study 'Zero-variance trial'" in md
    assert 'data-figure="forest-mortality"' not in to_html(ev)  # no forest drawn: none shown
    assert 'data-figure="forest-mortality"' in to_html(ev, figure_svgs(ev, {"mortality": "<svg></svg>"}))


def test_single_study_and_no_study_outcomes(ev: dict) -> None:
    by_id = {o["id"]: o for o in ev["outcomes"]}
    assert by_id["qol"]["maturity"] == "nascent"
    inc = next(r for r in by_id["qol"]["certainty"]["reasons"] if r["domain"] == "inconsistency")
    assert inc["rule"] == "k < 2: not assessable"
    assert by_id["carer"]["maturity"] == "none" and by_id["carer"]["certainty"]["rating"] == "no evidence"
    assert "Carer burden" in ev["unmeasured_valued_outcomes"]
    assert "Carers (no outcome of this domain has data from an included study)" in ev["unmeasured_valued_outcomes"]
    assert ev["gap_map"]["only_high_risk_cells"] == [{"model": "integrated-team", "domain": "quality-of-life"}]


def test_cumulative_steps_are_described_not_judged() -> None:
    rows = [
        {"year": 2000, "k": 1, "participants": 100, "estimate": -0.5, "ci_low": -0.9, "ci_high": -0.1},
        {"year": 2005, "k": 2, "participants": 3000, "estimate": -0.4, "ci_low": -0.6, "ci_high": -0.2},
    ]
    out, year, kind = _information_reached(rows, 0.223, ris=2000.0)
    assert [r["status"] for r in out] == ["ci-excludes-no-effect-ris-not-reached", "ris-reached-ci-excludes-no-effect"]
    assert (year, kind) == (2005, "ris-reached-ci-excludes-no-effect")
    null_rows = [{"year": 2001, "k": 3, "participants": 50, "estimate": 0.01, "ci_low": -0.1, "ci_high": 0.1}]
    _, year2, kind2 = _information_reached(null_rows, 0.223, ris=2000.0)
    assert (year2, kind2) == (2001, "ci-excludes-important-effects")


def test_rob_class_mapping() -> None:
    assert [rob_class(x) for x in ("Low", "some concerns", "Some-concerns", "High", "serious", "NR", "", "moderate")] \
        == ["low", "some-concerns", "some-concerns", "high", "high", "unknown", "unknown", "some-concerns"]


def test_markdown_sections_and_certainty_reasons(ev: dict) -> None:
    md = to_markdown(ev)
    for heading in ("## Conclusion", "## Outcomes at a glance", "## Mortality", "## Evidence-gap map",
                    "## Valued outcomes that no included quantitative study measured", "## PRISMA 2020 flow"):
        assert heading in md
    assert "## Existing reviews" not in md  # no overview data: the section is left out, not shown empty
    assert "Studies per cell (partnership model × outcome domain):" in md and "| Partnership model |" in md
    assert "cells (partnership model x outcome domains)" in ev["conclusion"]["text"]
    assert "_Rule: k < 10: small-study tests not applied._" in md
    mort = ev["outcomes"][0]
    assert f"RR {math.exp(mort['estimate']):.2f}" in md


def test_overview_of_existing_reviews_in_report(domain_dir: Path, ev: dict) -> None:
    rows = summarise_overview(load_overview(domain_dir / "review_level_results.csv"))
    assert len(rows) >= 20
    md = to_markdown({**ev, "overview": rows})
    assert "## Existing reviews" in md and "partnership working" not in md
    assert "| Edgar K et al. (2024) | Living in residential care at follow-up (6 months) | RR 0.53 [0.41, 0.69] |" in md


def test_html_self_contained_with_every_figure(tmp_path: Path, ev: dict, html: str) -> None:
    ids = figure_ids(ev)
    assert ids == ["prisma", "gap-map", "rob", "forest-mortality", "cumulative-mortality", "funnel-mortality",
                   "forest-qol", "cumulative-qol"]
    for fid in ids:
        assert f'data-figure="{fid}"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "report must not load anything from the network"
    paths = write_report(ev, tmp_path, formats=("json", "md"))
    assert json.loads(paths["json"].read_text())["outcomes"][0]["id"] == "mortality"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium(tmp_path: Path, ev: dict, html: str) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium installed: `apt-get install -y chromium` to run the browser check")
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
         path.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    dom = proc.stdout
    assert "<body" in dom, proc.stderr[-2000:]
    ids = figure_ids(ev)
    rendered = re.findall(r'data-figure="([^"]+)"[^>]*data-rendered="yes"|data-rendered="yes"[^>]*data-figure="([^"]+)"', dom)
    rendered_ids = {a or b for a, b in rendered}
    assert rendered_ids == set(ids), f"not rendered: {set(ids) - rendered_ids}"
    assert f'data-figures-rendered="{len(ids)}"' in dom
    assert 'data-tables-fit="yes"' in dom
    # the summary table fits an A4 page's width too (794 px), not only a wide screen
    narrow = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--window-size=794,1123",
         "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=False).stdout
    assert 'data-tables-fit="yes"' in narrow
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,2000", path.as_uri()], capture_output=True, timeout=120, check=False)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _workspace(tmp_path: Path) -> Path:
    (tmp_path / "protocols").mkdir()
    shutil.copyfile((REPO / "protocols" / "partnership-outcomes.toml").resolve(),
                    tmp_path / "protocols" / "partnership-outcomes.toml")
    return tmp_path


def test_cli_evidence_without_extractions_reports_every_outcome_unmeasured(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    result = runner.invoke(app, ["-w", str(ws), "evidence", "--format", "json", "--no-prisma"])
    assert result.exit_code == 0, result.output
    ev = json.loads(result.stdout)
    assert len(ev["outcomes"]) == 10 and all(o["k"] == 0 for o in ev["outcomes"])
    assert ev["conclusion"]["verdict"] == "absent"
    assert ("Note: No data/partnership-outcomes/existing-reviews.toml in the workspace: the overview of existing "
            "reviews is empty.") in result.stderr


def test_cli_evidence_writes_file(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["-w", str(ws), "evidence", "--format", "md", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.md").read_text().startswith("# Evidence-maturity report:")
    assert f"Wrote {out / 'report.md'}" in result.stderr


@pytest.mark.slow
def test_flagship_workspace_evidence(tmp_path: Path) -> None:
    """The bundled flagship extractions (when present) give pooled numbers and a conclusion."""
    ext = REPO / "extractions" / "partnership-outcomes"
    if not ext.is_dir() or not any(ext.glob("*.toml")):
        pytest.skip("no bundled flagship extractions in extractions/partnership-outcomes")
    result = runner.invoke(app, ["-w", str(REPO), "evidence", "--format", "json", "--no-prisma"])
    assert result.exit_code == 0, result.output
    ev = json.loads(result.stdout)
    measured = [o for o in ev["outcomes"] if o["k"]]
    assert measured
    for o in measured:
        if o["k"] >= 2:
            assert o["ci_low"] <= o["estimate"] <= o["ci_high"]
            assert o["pooled_method"] == "REML tau^2, HKSJ CI (synth.meta)"
            if o["measure"] in ("RR", "OR"):  # also outcomes that mix counts and published log ratios
                assert o["natural"]["estimate"] == pytest.approx(math.exp(o["estimate"]))
        assert o["certainty"]["rating"] in ("high", "moderate", "low", "very low")


def test_unknown_participants_do_not_fake_an_information_fraction() -> None:
    studies = [StudyEffect("a", "A", 0.2, 0.04, n=0), StudyEffect("b", "B", 0.3, 0.05, n=100)]
    res = assess_outcome(QOL, studies, None, FAST)
    assert res["ois_fraction"] is None and res["ris"] is None
    assert "Information size not assessed: participants not reported for 1 of 2 studies (A)." in res["notes"]
    imp = next(r for r in res["certainty"]["reasons"] if r["domain"] == "imprecision")
    assert "OIS" not in imp["rule"]


def test_participants_not_reported_are_not_counted_as_zero() -> None:
    from synth.report.render import participants_text

    studies = [StudyEffect(f"s{i}", f"Trial {i}", -0.1 * i, 0.02, n=n, year=2000 + i, design="rct")
               for i, n in enumerate([200, 0, 0])]
    res = assess_outcome(MORT, studies, None, FAST)
    assert (res["participants"], res["participants_not_reported"]) == (200, 2)
    assert participants_text(res) == "at least 200 (2 of 3 studies not reported)"
    unreported = [StudyEffect("a", "A", -0.1, 0.02, n=0, year=2000, design="rct"),
                  StudyEffect("b", "B", -0.2, 0.03, n=0, year=2001, design="rct")]
    assert participants_text(assess_outcome(MORT, unreported, None, FAST)) == "not reported"
    ev = build_evidence([(MORT, unreported, None)], domains=[("service", "Service")], models=[], gap_evidence=[],
                        settings=FAST)
    assert "participants: not reported" in to_markdown(ev)


def test_report_text_comes_from_the_protocol_not_the_flagship() -> None:
    # a review of another question: no gap-map rows field, a costs domain the protocol does not count as valued
    ev = build_evidence([(MORT, _mortality_studies(), None), (CARER, [], None)],
                        domains=[("service", "Service"), ("carers", "Carers"), ("costs", "Costs")], models=[],
                        gap_evidence=[Evidence(s.study_id, "all-studies", "service", s.rob)
                                      for s in _mortality_studies()],
                        not_valued=["costs"], settings=FAST, review={"title": "Falls clinics", "question": "?"})
    md = to_markdown(ev)
    for phrase in ("partnership", "people who use services", "carers value"):
        assert phrase not in md.lower() and phrase not in ev["conclusion"]["text"].lower()
    assert "Studies per cell (studies × outcome domain):" in md
    assert ev["unmeasured_valued_outcomes"] == ["Carer burden",
                                                "Carers (no outcome of this domain has data from an included study)"]


def test_conclusion_is_grammatical_for_a_count_of_one() -> None:
    from synth.wording import agree, count

    assert (count(1, "cell"), count(2, "cell"), count(1, "study", "studies"), count(0, "study", "studies")) == \
        ("1 cell", "2 cells", "1 study", "0 studies")
    assert (agree(1, "was", "were"), agree(0, "was", "were")) == ("was", "were")
    ev = build_evidence([(MORT, _mortality_studies(), None)], domains=[("service", "Service")],
                        models=[("hospital-at-home", "Hospital at home")],
                        gap_evidence=[Evidence(s.study_id, s.model, "service", s.rob) for s in _mortality_studies()],
                        settings=FAST)
    text = ev["conclusion"]["text"]
    assert "Of 1 outcome in the protocol, 1 has data from at least one included quantitative study and 0 have none" in text
    assert "has 1 cell (studies x outcome domains): 0 are empty and 0 hold a single study" in text
    assert "1 outcomes" not in text and "1 were" not in text and "(s)" not in text


def test_epoc_and_mmat_assessments_feed_grade_by_a_stated_rule() -> None:
    from synth.extraction.rob import SUMMARY_RULES, summary_judgement

    def epoc(*js: str) -> dict:
        return {"tool": "epoc", "judgements": {f"E{i}": j for i, j in enumerate(js, start=1)}}

    assert summary_judgement(epoc("low", "low", "low")) == "low"
    assert summary_judgement(epoc("low", "Unclear", "low")) == "some-concerns"
    assert summary_judgement(epoc("low", "unclear", "High")) == "high"
    assert summary_judgement({"tool": "epoc", "judgements": {}}) is None

    def mmat(*answers: str, screening: tuple[str, str] = ("yes", "yes")) -> dict:
        return {"tool": "mmat", "category": "nonrandomised",
                "answers": {"S1": screening[0], "S2": screening[1],
                            **{f"3.{i}": a for i, a in enumerate(answers, start=1)}}}

    assert summary_judgement(mmat("yes", "yes", "yes", "yes", "yes")) == "low"
    assert summary_judgement(mmat("yes", "can't tell", "yes", "yes", "yes")) == "some-concerns"
    assert summary_judgement(mmat("yes", "yes", "yes")) == "some-concerns"  # two criteria not answered
    assert summary_judgement(mmat("yes", "no", "yes", "yes", "yes")) == "high"
    assert summary_judgement(mmat("yes", "yes", "yes", "yes", "yes", screening=("no", "yes"))) == "high"
    assert summary_judgement({"tool": "rob2", "judgements": {"D1": "low"}}) is None  # has its own overall
    assert rob_class(summary_judgement(epoc("low", "unclear"))) == "some-concerns"  # GRADE sees it, not "unknown"
    ev = build_evidence([(MORT, _mortality_studies(), None)], domains=[("service", "Service")], models=[],
                        gap_evidence=[], rob_tools=["epoc", "mmat"], settings=FAST)
    assert ev["rob_rules"] == [SUMMARY_RULES["epoc"], SUMMARY_RULES["mmat"]]
    md = to_markdown(ev)
    assert "## Risk of bias" in md and "- MMAT 2018: the tool gives no overall score" in md


def test_flagship_report_says_how_its_tool_feeds_grade() -> None:
    from synth.evidence import evidence_from_workspace
    from synth.protocol.load import load_protocol
    from synth.workspace import find_workspace

    ev = evidence_from_workspace(find_workspace(explicit=REPO), load_protocol(REPO / "protocols" /
                                                                            "partnership-outcomes.toml"),
                                 "partnership-outcomes")
    assert any(r.startswith("RoB 2: the tool's own overall judgement") for r in ev["rob_rules"])


def test_study_arm_sizes_take_the_largest_recorded_total() -> None:
    from synth.evidence.gather import study_arm_sizes

    rows = [{"study": "a", "n_t": 78, "n_c": 77}, {"study": "a", "n_t": 70, "n_c": 71},   # attrition at follow-up
            {"study": "b", "estimate": 1.2}, {"study": "c", "n_t": 10}]                    # no arms, one arm only
    assert study_arm_sizes(rows) == {"a": 155}


def test_an_outcome_given_as_effect_and_ci_borrows_the_study_arm_sizes() -> None:
    from synth.evidence import evidence_from_workspace
    from synth.protocol.load import load_protocol
    from synth.workspace import find_workspace

    ev = evidence_from_workspace(find_workspace(explicit=REPO), load_protocol(REPO / "protocols" /
                                                                            "partnership-outcomes.toml"),
                                 "partnership-outcomes")
    function = next(o for o in ev["outcomes"] if o["id"] == "function")
    assert function["participants"] > 0 and function["participants_not_reported"] == 0
    assert any("taken from the arm sizes" in n for n in function["notes"])
    mortality = next(o for o in ev["outcomes"] if o["id"] == "mortality")   # has its own counts: nothing borrowed
    assert not any("taken from the arm sizes" in n for n in mortality["notes"])


def test_a_report_without_a_database_search_says_so_and_drops_the_systematic_review_claim() -> None:
    from synth.report.render import report_title, search_statement

    title = "Do joint teams help carers? A systematic review and meta-analysis"
    no_search = {"review": {"title": title}, "prisma": {"database_results": 0, "register_results": 0,
                                                        "citations_results": 12,
                                                        "other_sources": {"Included studies of Smith 2020": 12}}}
    assert report_title(no_search) == "Evidence-maturity report: Do joint teams help carers?"
    text = search_statement(no_search)
    assert text.startswith("No bibliographic database or trial register was searched")
    assert "Included studies of Smith 2020: 12" in text and "not a systematic review" in text
    searched = {"review": {"title": title}, "prisma": {"database_results": 40, "citations_results": 12}}
    assert report_title(searched) == f"Evidence-maturity report: {title}" and search_statement(searched) == ""
    assert report_title({"review": {"title": title}}) == f"Evidence-maturity report: {title}"  # no flow: no claim
    assert report_title({"review": {"title": "Meta-analysis"}, "prisma": no_search["prisma"]}).endswith("Meta-analysis")
