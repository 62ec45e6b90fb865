"""Several effects of one study for one outcome (two scales of one trial), from the extraction files to the
pooled result and the evidence report: the multilevel model with CR2 inference is used, and said (issue 19,
item 2). The second scale is written here; it is not part of the bundled review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flagship_helpers import NAME, copy_flagship
from typer.testing import CliRunner

from synth.analysis.table import meta_effects, meta_table
from synth.cli.app import app
from synth.evidence import evidence_from_workspace
from synth.meta.analysis import pool_dependent
from synth.protocol.load import load_protocol
from synth.workspace import find_workspace

runner = CliRunner()
OUTCOME = "quality-of-life"
SECOND = """
[[outcomes]]
outcome = "quality-of-life"
timepoint = "up to 6 months"
effect = "physical component"
mean_t = 41.2
sd_t = 9.1
n_t = 32
mean_c = 40.0
sd_c = 9.4
n_c = 33
instrument = "physical health component (SF-12), written for this test"
source_location = "test record"
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_flagship(tmp_path_factory.mktemp("dep"))
    path = root / "extractions" / NAME / "kilbourne-2012.toml"
    text = path.read_text("utf-8")
    first = 'outcome = "quality-of-life"\ntimepoint = "up to 6 months"\nmean_t'
    assert text.count(first) == 1
    text = text.replace(first, first.replace("\nmean_t", '\neffect = "mental component"\nmean_t'))
    path.write_text(text + SECOND, encoding="utf-8")
    return root


def _pool(ws: Path) -> dict[str, Any]:
    r = runner.invoke(app, ["-w", str(ws), "meta", "pool", "--outcome", OUTCOME, "--format", "json"])
    assert r.exit_code == 0, r.output
    return dict(json.loads(r.stdout))


def test_the_extraction_check_accepts_named_effects(ws: Path) -> None:
    r = runner.invoke(app, ["-w", str(ws), "extract", "check"])
    assert r.exit_code == 0, r.output


def test_meta_pool_outcome_uses_the_multilevel_model(ws: Path) -> None:
    res = _pool(ws)
    frame = meta_table(find_workspace(explicit=ws), load_protocol(ws / "protocols" / f"{NAME}.toml"), OUTCOME)
    table = meta_effects(frame)
    ids = [str(s) for s, ok in zip(frame["study_id"], table.included, strict=True) if ok]
    assert ids.count("kilbourne-2012") == 2 and len(set(ids)) == len(ids) - 1
    assert res["model"] == "multilevel" and res["k"] == len(ids) and res["clusters"] == len(set(ids))
    assert res["warnings"][0].startswith(f"{len(ids)} effects come from {len(set(ids))} studies")
    labels = [s["study"] for s in res["studies"]]
    assert "Kilbourne 2012 (mental component)" in labels and "Kilbourne 2012 (physical component)" in labels
    same = pool_dependent(table.yi[table.included], table.vi[table.included], ids,
                          labels, "SMD", "REML")
    assert res["estimate"] == pytest.approx(same["estimate"], rel=1e-12)
    assert res["ci_low"] == pytest.approx(same["ci_low"], rel=1e-12)


def test_evidence_report_counts_studies_and_names_the_model(ws: Path) -> None:
    protocol = load_protocol(ws / "protocols" / f"{NAME}.toml")
    ev = evidence_from_workspace(find_workspace(explicit=ws), protocol, NAME)
    o = next(x for x in ev["outcomes"] if x["id"] == OUTCOME)
    assert o["effects"] == o["k"] + 1  # two effects of Kilbourne 2012, one study
    assert o["pooled_method"].startswith("multilevel model (effects within studies), REML, CR2")
    assert any(n.startswith(f"{o['effects']} effects come from {o['k']} studies, so they are not independent: "
                            "pooled with the multilevel model") and "most precise effect" in n for n in o["notes"])
    bauer = [s for s in o["studies"] if s["id"] == "kilbourne-2012"]
    assert len(bauer) == 2 and sum(s["weight"] for s in o["studies"]) == pytest.approx(1.0)
    # participants are counted once per study
    assert o["participants"] == sum({s["id"]: s["n"] for s in o["studies"]}.values())
    assert all(r["k"] <= o["k"] for r in o["cumulative"])
    assert o["estimate"] == pytest.approx(_pool(ws)["estimate"], rel=1e-12)


def test_forest_of_the_outcome_draws_the_multilevel_result(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "qol.svg"
    r = runner.invoke(app, ["-w", str(ws), "meta", "forest", "--outcome", OUTCOME, "-o", str(out)])
    assert r.exit_code == 0, r.output
    svg = out.read_text("utf-8")
    res = _pool(ws)
    assert "Multilevel random-effects model for dependent effects" in svg
    assert f"t({res['df']:.1f})" in svg  # the CR2 test with its Satterthwaite df
    b = res["natural"] or res
    total = f"{b['estimate']:.2f} [{b['ci_low']:.2f}, {b['ci_high']:.2f}]"
    assert total in svg
    assert "Kilbourne 2012 (mental component)" in svg and "Kilbourne 2012 (physical" in svg
