"""`synth meta ... --outcome ID`: pooling straight from the reconciled extractions with the protocol's plan."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synth.cli.app import app

REPO = Path(__file__).resolve().parent.parent
NAME = "partnership-outcomes"
runner = CliRunner()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    (root / "protocols").mkdir()
    shutil.copyfile((REPO / "protocols" / f"{NAME}.toml").resolve(), root / "protocols" / f"{NAME}.toml")
    shutil.copytree(REPO / "extractions" / NAME, root / "extractions" / NAME)
    return root


def meta(ws: Path, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["-w", str(ws), "meta", *args])
    return r.exit_code, r.stdout, r.stderr


def _table_csv(ws: Path, tmp_path: Path, outcome: str, timepoint: str, keep=lambda row: True) -> str:
    """The outcome's rows at one timepoint from `synth extract table` (an independent route to the data)."""
    r = runner.invoke(app, ["-w", str(ws), "extract", "table", "--outcome", outcome, "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = [row for row in csv.DictReader(io.StringIO(r.stdout)) if row["timepoint"] == timepoint and keep(row)]
    out = tmp_path / f"{outcome}.csv"
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["study", "mean_t", "sd_t", "n_t", "mean_c", "sd_c", "n_c"],
                           extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({**row, "study": row["label"]})
    return str(out)


def test_pool_outcome_equals_pooling_the_extract_table(ws: Path, tmp_path: Path) -> None:
    code, out, err = meta(ws, "pool", "--outcome", "quality-of-life", "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert res["outcome"] == "quality-of-life" and res["measure"] == "SMD"
    assert (res["method"], res["test"]) == ("REML", "hksj")  # the protocol's plan
    data = _table_csv(ws, tmp_path, "quality-of-life", res["timepoint"])
    code, out2, err2 = meta(ws, "pool", data, "--measure", "SMD", "--format", "json")
    assert code == 0, err2
    direct = json.loads(out2)
    for key in ("k", "estimate", "se", "tau2", "i2", "pi_low", "pi_high"):
        assert res[key] == pytest.approx(direct[key], rel=1e-12), key


def test_high_risk_sensitivity_leaves_out_exactly_the_high_risk_studies(ws: Path, tmp_path: Path) -> None:
    code, out, err = meta(ws, "sensitivity", "--outcome", "quality-of-life", "--format", "json")
    assert code == 0, err
    whr = json.loads(out)["without_high_risk"]
    _, pool_out, _ = meta(ws, "pool", "--outcome", "quality-of-life", "--format", "json")
    timepoint = json.loads(pool_out)["timepoint"]
    r = runner.invoke(app, ["-w", str(ws), "extract", "table", "--outcome", "quality-of-life", "--format", "csv"])
    rows = [row for row in csv.DictReader(io.StringIO(r.stdout)) if row["timepoint"] == timepoint]
    high = sorted(row["label"] for row in rows if row["rob_overall"] == "high")
    assert high and sorted(whr["left_out"]) == high
    data = _table_csv(ws, tmp_path, "quality-of-life", timepoint, keep=lambda row: row["rob_overall"] != "high")
    _, direct_out, _ = meta(ws, "pool", data, "--measure", "SMD", "--format", "json")
    direct = json.loads(direct_out)
    assert whr["k"] == direct["k"] == len(rows) - len(high)
    assert whr["estimate"] == pytest.approx(direct["estimate"], rel=1e-12)


def test_explicit_options_override_the_plan_and_the_plan_is_read(ws: Path, tmp_path: Path) -> None:
    _, out, _ = meta(ws, "pool", "--outcome", "mortality", "--method", "DL", "--test", "z", "--format", "json")
    res = json.loads(out)
    assert (res["method"], res["test"], res["df"]) == ("DL", "z", None)
    other = tmp_path / "ws2"
    shutil.copytree(ws, other)
    path = other / "protocols" / f"{NAME}.toml"
    path.write_text(path.read_text().replace('estimator = "REML"', 'estimator = "PM"'))
    _, out2, _ = meta(other, "pool", "--outcome", "mortality", "--format", "json")
    assert json.loads(out2)["method"] == "PM"


def test_forest_outcome_has_risk_of_bias_columns(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "qol.svg"
    code, _, err = meta(ws, "forest", "--outcome", "quality-of-life", "-o", str(path))
    assert code == 0, err
    text = path.read_text()
    assert "Risk of bias" in text and ">D5<" in text and ">Overall<" in text  # text stays text (svg.fonttype none)
    assert "#02c100" in text.lower() or "#e2df07" in text.lower() or "#bf0000" in text.lower()  # robvis palette
    # mortality has no domain judgements in its sources: no risk-of-bias columns are drawn
    mort = tmp_path / "mort.svg"
    assert meta(ws, "forest", "--outcome", "mortality", "-o", str(mort))[0] == 0
    assert "Risk of bias" not in mort.read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["pool"], "give either a DATA file or --outcome ID"),
    (["pool", str(REPO / "tests" / "fixtures" / "meta" / "bcg.csv"), "--outcome", "mortality"], "not both"),
    (["pool", "--outcome", "mortality", "--measure", "OR"], "--measure cannot be used with --outcome"),
    (["pool", "--outcome", "no-such"], "'no-such' is not an outcome id in the protocol"),
    (["pool", "--outcome", "symptoms"], "no reconciled extraction has data for outcome 'symptoms'"),
    (["subgroup", "--outcome", "mortality", "--by", "nope"], "'nope' is not a column"),
])
def test_outcome_errors_are_one_line(ws: Path, args: list[str], message: str) -> None:
    code, _, err = meta(ws, *args)
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("Error: ") and message in last
