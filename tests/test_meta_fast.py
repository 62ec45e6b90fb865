"""The pieces that make ``synth meta`` fast: distribution functions without scipy (checked against scipy, an
independent implementation), the pandas-free CSV reader, bucketed batch pooling, and the lazy CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from synth.cli.root import command_name
from synth.errors import InputError
from synth.meta import dist
from synth.meta.analysis import pool_by
from synth.meta.io import Columns, read_csv
from synth.meta.pooling import PoolOptions, pad_codes, pool_batch, pool_ragged

RNG = np.random.default_rng(20261203)
X = np.concatenate([RNG.normal(0, 3, 600), RNG.uniform(-40, 40, 200), [0.0, 1e-8, -1e-8]])
DF = np.concatenate([RNG.uniform(0.3, 200, 600), RNG.integers(1, 1000, 200).astype(float), [1.0, 2.0, 3.0]])
P = np.concatenate([RNG.uniform(1e-12, 1, 600), 10 ** RNG.uniform(-15, -1, 200), [0.5, 0.025, 0.975]])


def _rel(a: object, b: object) -> float:
    x, y = np.asarray(a, float), np.asarray(b, float)
    assert np.array_equal(np.isfinite(x), np.isfinite(y))
    m = np.isfinite(y) & (y != 0)
    return float(np.max(np.abs(x[m] - y[m]) / np.abs(y[m])))


# 1e-10 relative: far inside the 1e-6 the metafor comparisons allow, and above the ~1e-12 that the log-gamma
# prefactor of the incomplete gamma/beta functions loses at df in the hundreds
@pytest.mark.parametrize(("ours", "theirs", "args"), [
    (dist.t_sf, stats.t.sf, (X, DF)),
    (dist.t_isf, stats.t.isf, (P, DF)),
    (dist.chi2_sf, stats.chi2.sf, (np.abs(X) * DF / 3, DF)),
    (dist.chi2_cdf, stats.chi2.cdf, (np.abs(X) * DF / 3, DF)),
    (dist.chi2_isf, stats.chi2.isf, (P, DF)),
    (dist.chi2_ppf, stats.chi2.ppf, (P, DF)),
    (dist.f_sf, stats.f.sf, (np.abs(X), RNG.uniform(0.5, 30, X.size), DF)),
    (dist.norm_sf, stats.norm.sf, (X,)),
    (dist.norm_cdf, stats.norm.cdf, (X,)),
    (dist.norm_isf, stats.norm.isf, (P,)),
    (dist.norm_ppf, stats.norm.ppf, (P,)),
])
def test_distribution_functions_match_scipy(ours: object, theirs: object, args: tuple[np.ndarray, ...]) -> None:
    assert _rel(ours(*args), theirs(*args)) < 1e-10  # type: ignore[operator]


def test_scalars_in_floats_out_and_edges() -> None:
    assert isinstance(dist.t_isf(0.025, 4), float)
    assert dist.t_isf(0.025, 1) == pytest.approx(12.706204736174698, rel=1e-13)  # tan(pi * 0.475)
    assert dist.chi2_sf(0.0, 3) == 1.0 and dist.chi2_cdf(0.0, 3) == 0.0
    assert dist.t_sf(np.inf, 5) == 0.0 and dist.t_sf(0.0, 5) == 0.5
    assert np.isnan(dist.t_sf(1.0, 0.0)) and np.isnan(dist.chi2_isf(0.05, -1))
    assert dist.norm_isf(0.0) == np.inf and dist.chi2_isf(1.0, 2) == 0.0


@pytest.mark.parametrize("n", [3, 7, 20, 60])
def test_kendall_tau_exact_and_tied_match_scipy(n: int) -> None:
    a, b = RNG.normal(size=n), RNG.normal(size=n)
    ref = stats.kendalltau(a, b, method="exact")
    tau, p = dist.kendalltau(a, b, exact=True)
    assert tau == pytest.approx(ref.statistic, abs=1e-12) and p == pytest.approx(ref.pvalue, rel=1e-9)
    a2, b2 = np.round(a * 2) / 2, np.round(b)
    ref = stats.kendalltau(a2, b2, method="asymptotic")
    tau, p = dist.kendalltau(a2, b2, exact=False)
    assert tau == pytest.approx(ref.statistic, abs=1e-12) and p == pytest.approx(ref.pvalue, rel=1e-10)


def test_csv_reader_types_and_missing_cells(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text('\ufeffstudy, n ,r,g\n"A, 2001",40,0.3,1\nB,50,NA,2\nC,60,,x\n\nD,70,0.5\n', encoding="utf-8")
    t = read_csv(f, ("g",))
    assert t.columns == ["study", "n", "r", "g"] and len(t) == 4
    assert t["study"].tolist() == ["A, 2001", "B", "C", "D"]
    assert t["n"].dtype == np.int64 and t["n"].tolist() == [40, 50, 60, 70]
    assert t["r"].dtype == object and t["r"].tolist() == ["0.3", "NA", None, "0.5"]  # NA stays text: omitted later
    assert t["g"].tolist() == ["1", "2", "x", ""]  # a text column keeps its cells as written


def test_csv_reader_refuses_a_row_wider_than_the_header(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("study,yi,vi\nA,0.1,0.01,9\n")
    with pytest.raises(InputError, match=r"bad\.csv.*line 2 has 4 fields"):
        read_csv(f)


def test_columns_and_pandas_give_the_same_pooled_results() -> None:
    rows = {"g": ["a", "a", "a", "b", "b"], "study": list("12345"), "yi": [0.1, 0.4, 0.2, -0.3, 0.5],
            "vi": [0.01, 0.02, 0.015, 0.03, 0.02]}
    cols = Columns({k: np.array(v, dtype=object if k in ("g", "study") else float) for k, v in rows.items()})
    assert pool_by(cols, "g") == pool_by(pd.DataFrame(rows), "g")


def test_bucketed_pooling_equals_one_padded_batch() -> None:
    ks = RNG.integers(2, 120, size=300)
    codes = np.repeat(np.arange(ks.size), ks)
    RNG.shuffle(codes)
    v = RNG.uniform(0.01, 0.5, codes.size)
    y = RNG.normal(0, 0.4, codes.size) + RNG.normal(0, 0.3, ks.size)[codes]
    opts = PoolOptions(method="REML", test="hksj")
    one = pool_batch(*pad_codes(codes, y, v, ks.size), opts)
    batches, batch_of, row_of = pool_ragged(codes, y, v, ks.size, opts)
    assert len(batches) > 5  # several buckets were used
    for key in ("estimate", "se", "tau2", "tau2_ci_low", "tau2_ci_high", "q_p", "pi_low"):
        ours = np.array([getattr(batches[b], key)[r] for b, r in zip(batch_of, row_of, strict=True)])
        np.testing.assert_allclose(ours, getattr(one, key), rtol=1e-12, atol=1e-15)


def test_pool_by_reports_iterations_and_boundary() -> None:
    df = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "yi": [0.1, 0.11, 0.09, 0.1, -0.5, 0.6, 0.1, 1.2],
                       "vi": [0.04, 0.05, 0.03, 0.06, 0.01, 0.02, 0.015, 0.01]})
    a, b = pool_by(df, "g", None, PoolOptions(method="REML"))
    assert a["converged"] is True and a["tau2"] == 0.0 and a["tau2_at_boundary"] is True
    assert b["tau2"] > 0 and b["tau2_at_boundary"] is False and b["iterations"] >= 1


@pytest.mark.parametrize(("argv", "name"), [
    (["meta", "pool", "x.csv"], "meta"), (["--db", "sqlite:///x", "screen", "run"], "screen"),
    (["-w", "meta", "run"], "run"), (["--debug", "--workspace=here", "prisma"], "prisma"),
    (["--help"], None), (["nosuch", "meta"], None), ([], None),
])
def test_the_console_script_registers_the_command_it_runs(argv: list[str], name: str | None) -> None:
    assert command_name(argv) == name


def test_console_script_runs_one_group_and_lists_all(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("study,yi,vi\nA,0.1,0.01\nB,0.3,0.02\nC,0.2,0.015\n")
    out = subprocess.run([sys.executable, "-m", "synth", "meta", "pool", str(f), "--format", "json"],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["k"] == 3
    helptext = subprocess.run([sys.executable, "-m", "synth", "--help"], capture_output=True, text=True,
                              check=True).stdout
    assert all(name in helptext for name in ("dedup", "screen", "meta", "prisma", "run"))
    bad = subprocess.run([sys.executable, "-m", "synth", "nosuch"], capture_output=True, text=True)
    assert bad.returncode == 2


def test_small_pool_imports_neither_pandas_nor_scipy(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("study,events_t,n_t,events_c,n_c\nA,5,50,10,50\nB,8,60,12,61\nC,3,40,7,42\n")
    code = ("import sys, runpy; sys.argv = ['synth', 'meta', 'pool', sys.argv[1], '--measure', 'OR', '--format', "
            "'json'];\ntry:\n    runpy.run_module('synth', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib') if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "[]"
    assert json.loads(out.stdout)["k"] == 3


@pytest.mark.parametrize("measure", ["OR", "ZCOR", "PLO"])
def test_scalar_back_transform_equals_the_array_one(measure: str) -> None:
    from synth.meta.effects import back_transform

    xs = [-800.0, -30.0, -1.5, 0.0, 1e-9, 0.7, 12.0, 800.0]
    with np.errstate(over="ignore"):  # exp(800) is inf on both paths
        arr = np.asarray(back_transform(measure, np.array(xs)), dtype=float)
    one = [back_transform(measure, x) for x in xs]
    assert all(type(v) is float for v in one)
    assert np.allclose(one, arr, rtol=4e-16, atol=0.0)  # the same formulas; libm and numpy may differ by an ulp
    assert np.array_equal(np.isinf(one), np.isinf(arr))


def test_json_array_output_is_valid_json_for_any_item(capfd: pytest.CaptureFixture[str]) -> None:
    from synth.cli.output import emit_json_array

    items = [{"group": "Zoë", "x": 1.5, "none": None, 3: "int key"}, {"big": 2**70}, {"path": Path("/a")}]
    emit_json_array(items)
    out = capfd.readouterr().out
    assert json.loads(out) == [{"group": "Zoë", "x": 1.5, "none": None, "3": "int key"}, {"big": 2**70},
                               {"path": "/a"}]
    assert out.startswith("[\n") and out.count("\n") == 5 and out.endswith("\n]\n")  # one item per line
