"""`synth meta ...` commands through the CLI (typer CliRunner): formats, keys, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synth.cli.app import app

FIX = Path(__file__).resolve().parent / "fixtures" / "meta"
BCG = str(FIX / "bcg.csv")
EXPECTED = json.loads((Path(__file__).resolve().parent.parent / "validation" / "metafor" / "expected.json").read_text())
runner = CliRunner()

POOL_KEYS = {"k", "measure", "method", "test", "estimate", "se", "ci_low", "ci_high", "stat", "p", "df", "tau2",
             "tau2_ci_low", "tau2_ci_high", "tau", "i2", "i2_ci_low", "i2_ci_high", "h2", "q", "q_df", "q_p",
             "pi_low", "pi_high", "studies", "excluded", "natural"}


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["meta", *args])
    return r.exit_code, r.stdout, r.stderr


def write(tmp_path: Path, text: str, name: str = "data.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def expected(case_id: str) -> dict:
    return next(c for c in EXPECTED["pool"] if c["id"] == case_id)["expected"]


def test_pool_json_has_the_documented_keys_and_metafor_values() -> None:
    code, out, _ = run("pool", BCG, "--measure", "RR", "--format", "json")
    assert code == 0
    res = json.loads(out)
    assert set(res) >= POOL_KEYS
    exp = expected("bcg_RR_REML_knha")
    assert res["method"] == "REML" and res["test"] == "hksj" and res["df"] == 12 and res["k"] == 13
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "pi_low", "pi_high", "tau2_ci_low"):
        assert res[key] == pytest.approx(exp[key], rel=1e-6, abs=1e-8), key
    assert set(res["studies"][0]) == {"study", "yi", "vi", "weight"}
    assert sum(s["weight"] for s in res["studies"]) == pytest.approx(100)
    assert res["natural"]["estimate"] == pytest.approx(0.4894209, rel=1e-6)  # exp(-0.7145323)
    assert "REML" in res["methods"] and "HKSJ" in res["methods"]


def test_pool_z_test_has_null_df_and_normal_prediction_interval() -> None:
    code, out, _ = run("pool", BCG, "--measure", "RR", "--test", "z", "--method", "DL", "--format", "json")
    res = json.loads(out)
    exp = expected("bcg_RR_DL_z")
    assert code == 0 and res["df"] is None
    assert [res["pi_low"], res["pi_high"]] == pytest.approx([exp["pi_low"], exp["pi_high"]], rel=1e-6)


def test_pool_by_json_is_an_array_with_group() -> None:
    code, out, _ = run("pool", BCG, "--measure", "RR", "--by", "alloc", "--format", "json", "--test", "z")
    assert code == 0
    res = json.loads(out)
    assert [r["group"] for r in res] == ["random", "alternate", "systematic"]
    sub = next(c for c in EXPECTED["subgroup"] if c["id"] == "bcg_alloc_REML")["expected"]
    for r in res:
        i = sub["groups"].index(r["group"])
        assert r["estimate"] == pytest.approx(sub["estimate"][i], rel=1e-6)
        assert r["k"] == sub["k"][i]


def test_pool_by_csv_has_one_row_per_group() -> None:
    code, out, _ = run("pool", BCG, "--measure", "RR", "--by", "alloc", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [r["group"] for r in rows] == ["random", "alternate", "systematic"]
    assert {"group", "k", "estimate", "tau2", "pi_low", "natural_estimate"} <= set(rows[0])


def test_pool_table_states_methods(tmp_path: Path) -> None:
    code, out, err = run("pool", BCG, "--measure", "RR")
    assert code == 0 and "estimate" in out
    assert "Methods: Random-effects inverse-variance meta-analysis of RR; tau^2 by restricted maximum likelihood" in err


def test_generic_measure_is_assumed_when_yi_is_present(tmp_path: Path) -> None:
    data = write(tmp_path, "study,yi,sei\nA,0.1,0.1\nB,0.3,0.2\nC,0.2,0.15\n")
    code, out, _ = run("pool", data, "--format", "json")
    assert code == 0 and json.loads(out)["measure"] == "GEN"


def test_effects_csv_adds_yi_and_vi() -> None:
    code, out, _ = run("effects", BCG, "--measure", "OR")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 13
    exp = next(c for c in EXPECTED["effects"] if c["id"] == "bcg_OR")
    assert float(rows[0]["yi"]) == pytest.approx(exp["yi"][0], rel=1e-12)
    assert float(rows[0]["vi"]) == pytest.approx(exp["vi"][0], rel=1e-12)


def test_zero_event_study_is_excluded_and_listed(tmp_path: Path) -> None:
    data = write(tmp_path, "study,events_t,n_t,events_c,n_c\nA,0,20,0,20\nB,3,20,1,20\nC,5,30,2,30\n")
    code, out, _err = run("pool", data, "--measure", "OR", "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["k"] == 2
    assert res["excluded"] == [{"study": "A", "reason": "no events in either arm (not estimable for OR)"}]
    code, out, _ = run("pool", data, "--measure", "RD", "--format", "json")
    assert json.loads(out)["k"] == 3 and json.loads(out)["excluded"] == []


def test_single_study_is_reported_but_not_pooled(tmp_path: Path) -> None:
    data = write(tmp_path, "study,yi,vi\nOnly,0.5,0.04\n")
    code, out, err = run("pool", data, "--format", "json")
    res = json.loads(out)
    assert code == 0
    assert res["k"] == 1 and res["pooled"] is False and res["tau2"] is None
    assert res["estimate"] == 0.5 and res["ci_low"] == pytest.approx(0.5 - 1.959964 * 0.2, rel=1e-6)
    assert "Warning: only 1 study (Only): reported as that single study with a Wald CI, not a pooled result" in err


@pytest.mark.parametrize(
    ("text", "measure", "message"),
    [
        ("study,yi,vi\nA,0.1,0.01\nB,0.2,-0.02\n", "GEN",
         "Error: Study 'B': field vi = -0.02 but sampling variances must be > 0. Correct the value.\n"),
        ("study,yi,vi\nA,0.1,0.01\nB,0.2,0\n", "GEN",
         "Error: Study 'B': field vi = 0 but sampling variances must be > 0. Correct the value.\n"),
        ("study,mean_t,sd_t,n_t,mean_c,sd_c,n_c\nA,1,1,10,0,1,10\nB,1,0,10,0,1,10\n", "SMD",
         "Error: Study 'B': field sd_t = 0 but standard deviations must be > 0. Correct the value.\n"),
        ("study,events_t,n_t,events_c,n_c\nA,1,10,2,10\nB,12,10,2,10\n", "OR",
         "Error: Study 'B': field events_t = 12 but events cannot exceed n_t. Correct the value.\n"),
        ("study,events_t,n_t,events_c,n_c\nA,1,10,2,10\nB,1,10,0,0\n", "RR",
         "Error: Study 'B': field n_c = 0 but group sizes must be > 0. Correct the value.\n"),
        ("study,events_t,n_t,events_c,n_c\nA,1,10,2,10\nB,one,10,0,10\n", "OR",
         "Error: Study 'B': field events_t is 'one', not a number. Give a finite number for every study.\n"),
        ("study,events_t,n_t,events_c,n_c\nA,,10,2,10\nB,NA,10,0,10\n", "OR",
         "Error: No study can be analysed with measure OR (A: events_t missing (NA): not estimable, omitted from the "
         "model; B: events_t missing (NA): not estimable, omitted from the model). Give at least 2 studies with "
         "estimable effects.\n"),
        ("study,events_t,n_t\nA,1,10\n", "OR",
         "Error: Measure OR needs columns events_c, n_c (found: study, events_t, n_t). Add them or choose "
         "another --measure.\n"),
        ("study,r,n\nA,1.2,50\nB,0.3,40\n", "ZCOR",
         "Error: Study 'A': field r = 1.2 but correlations must lie strictly between -1 and 1. Correct the value.\n"),
    ],
)
def test_bad_input_is_one_line_naming_study_and_field(tmp_path: Path, text: str, measure: str, message: str) -> None:
    code, out, err = run("pool", write(tmp_path, text), "--measure", measure)
    assert code == 1
    assert err == message
    assert out == ""


def test_no_estimable_study_is_an_error(tmp_path: Path) -> None:
    data = write(tmp_path, "study,events_t,n_t,events_c,n_c\nA,0,20,0,20\n")
    code, _, err = run("pool", data, "--measure", "OR")
    assert code == 1
    assert err == ("Error: No study can be analysed with measure OR (A: no events in either arm (not estimable for "
                   "OR)). Give at least 2 studies with estimable effects.\n")


def test_unknown_method_and_missing_file(tmp_path: Path) -> None:
    code, _, err = run("pool", BCG, "--measure", "RR", "--method", "XYZ")
    assert code == 2 and "Invalid value for '--method': 'XYZ' is not one of: REML, DL, PM, ML, HE, SJ, HS, EB, EE." in err
    code, _, err = run("pool", str(tmp_path / "nope.csv"), "--measure", "RR")
    assert code == 1 and err.startswith("Error: ") and "file not found" in err


def test_bias_json_shape_and_small_k_warning(tmp_path: Path) -> None:
    code, out, err = run("bias", BCG, "--measure", "RR", "--format", "json")
    res = json.loads(out)
    assert code == 0
    assert {"stat", "p", "df", "intercept"} <= set(res["egger"])
    assert {"stat", "p"} <= set(res["begg"])
    assert {"k0", "side", "estimate", "ci_low", "ci_high"} <= set(res["trimfill"])
    assert res["trimfill"]["k0"] == 1 and res["trimfill"]["side"] == "right"
    small = write(tmp_path, "study,yi,vi\nA,0.1,0.01\nB,0.3,0.04\nC,0.2,0.02\nD,0.5,0.09\n")
    code, _, err = run("bias", small)
    assert code == 0 and "Warning: only 4 studies: tests for funnel-plot asymmetry have low power" in err


def test_sensitivity_subgroup_regress_json() -> None:
    code, out, _ = run("sensitivity", BCG, "--measure", "RR", "--order-by", "year")
    res = json.loads(out)
    assert code == 0 and len(res["leave_one_out"]) == 13 and len(res["influence"]) == 13
    assert res["cumulative"][0]["study"] == "Aronson" and res["cumulative"][-1]["k"] == 13
    assert {"study", "estimate", "ci_low", "ci_high", "tau2", "i2"} <= set(res["leave_one_out"][0])
    code, out, _ = run("subgroup", BCG, "--measure", "RR", "--by", "alloc")
    res = json.loads(out)
    assert code == 0 and res["test_separate"]["df"] == 2 and res["common_tau2"]["qm_df"] == 2
    code, out, _ = run("regress", BCG, "--measure", "RR", "--mods", "ablat,alloc")
    res = json.loads(out)
    assert code == 0
    assert [c["name"] for c in res["coefficients"]] == ["intercept", "ablat", "alloc[random]", "alloc[systematic]"]
    assert res["qm_df"] == 3 and res["qm_df2"] == 9


@pytest.mark.parametrize("ext", ["svg", "png"])
def test_forest_and_funnel_write_files(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"forest.{ext}"
    code, _, err = run("forest", BCG, "--measure", "RR", "-o", str(out), "--by", "alloc")
    assert code == 0 and out.stat().st_size > 1000 and f"Wrote {out}" in err
    head = out.read_bytes()[:200]
    assert (b"<svg" in out.read_bytes()[:2000]) if ext == "svg" else head.startswith(b"\x89PNG")
    if ext == "svg":
        text = out.read_text()
        assert "Aronson" in text and "Test for subgroup differences" in text and "Prediction interval" in text
        assert "Events/Total" in text and "62/13598" in text
        # two studies share the label 'Rosenthal et al'; each keeps its own REML weight (metafor weights())
        assert ">4.4%<" in text and text.count(">8.4%<") == 2  # text stays text (svg.fonttype none)
    fun = tmp_path / f"funnel.{ext}"
    code, _, err = run("funnel", BCG, "--measure", "RR", "-o", str(fun))
    assert code == 0 and fun.stat().st_size > 1000


def test_plot_rejects_unknown_extension(tmp_path: Path) -> None:
    code, _, err = run("forest", BCG, "--measure", "RR", "-o", str(tmp_path / "f.pdf"))
    assert code == 1
    assert err == f"Error: {tmp_path / 'f.pdf'}: the plot file must end in .svg or .png. Choose one of those extensions.\n"


def test_funnel_warns_below_ten_studies(tmp_path: Path) -> None:
    data = write(tmp_path, "study,yi,vi\nA,0.1,0.01\nB,0.3,0.04\nC,0.2,0.02\n")
    code, _, err = run("funnel", data, "-o", str(tmp_path / "f.svg"))
    assert code == 0 and "Warning: fewer than 10 studies" in err


def test_pool_by_json_lists_studies_only_when_asked() -> None:
    args = ("pool", BCG, "--measure", "RR", "--by", "alloc", "--format", "json", "--test", "z")
    plain = json.loads(run(*args)[1])
    listed = json.loads(run(*args, "--studies")[1])
    assert all(r["studies"] is None for r in plain)
    assert [len(r["studies"]) for r in listed] == [r["k"] for r in listed]
    assert sum(s["weight"] for s in listed[0]["studies"]) == pytest.approx(100.0)
    assert [r["estimate"] for r in plain] == [r["estimate"] for r in listed]
