"""The tidy table, the template and the bridge to the meta-analysis engine."""

from __future__ import annotations

import math
import shutil
import tomllib
from pathlib import Path

import pytest

from synth.analysis.table import choose_timepoint, meta_table
from synth.errors import InputError
from synth.extraction.files import ExtractionFile, load_folder
from synth.extraction.forms import prompt_characteristics, template
from synth.extraction.table import columns, rob_for, tidy_rows
from synth.extraction.validate import validate_file
from synth.protocol import load_protocol
from synth.protocol.model import Protocol
from synth.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "extraction"
TEMPLATE = REPO / "synth" / "protocol" / "templates" / "partnership-outcomes.toml"

HEAD = """schema_version = 1
study = "{study}"
[citation]
label = "{label}"
year = {year}
[characteristics]
design = "rct"
country = "NR"
setting = "community"
partnership_model = "{model}"
sectors = ["health"]
population = "Adults"
"""


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol(TEMPLATE)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    (tmp_path / "protocols").mkdir()
    shutil.copy(TEMPLATE, tmp_path / "protocols" / "partnership-outcomes.toml")
    (tmp_path / "extractions" / "partnership-outcomes").mkdir(parents=True)
    return Workspace(tmp_path)


def _study(ws: Workspace, study: str, rows: str, model: str = "integrated-team", year: int = 2001) -> None:
    text = HEAD.format(study=study, label=study.replace("-", " ").title(), year=year, model=model) + rows
    (ws.extractions_dir("partnership-outcomes") / f"{study}.toml").write_text(text)


def _row(outcome: str, timepoint: str, body: str) -> str:
    return f'\n[[outcomes]]\noutcome = "{outcome}"\ntimepoint = "{timepoint}"\nsource_location = "T1"\n{body}\n'


BIN = "events_t = {}\nn_t = {}\nevents_c = {}\nn_c = {}"


def test_template_is_valid_toml_listing_the_form(protocol: Protocol) -> None:
    text = template(protocol, "partnership-outcomes", "smith-2019", "alice", {"label": "Smith 2019", "year": 2019})
    data = tomllib.loads(text)
    assert data["reviewer"] == "alice" and data["citation"] == {"label": "Smith 2019", "year": 2019}
    assert list(data["characteristics"]) == ["design", "country", "setting", "partnership_model", "sectors",
                                             "governance", "population", "notes"]
    assert "# Participants randomised or enrolled; integer; unit: people." in text
    f = ExtractionFile(Path("smith-2019.alice.toml"), "smith-2019", "alice", data)
    paths = {p.path for p in validate_file(f, protocol, "partnership-outcomes")}
    assert "characteristics.design" in paths and "outcomes[1].outcome" in paths


def test_prompt_characteristics_reasks_bad_numbers(protocol: Protocol) -> None:
    answers = iter(["rct", "UK", "community", "other", "health", "NR", "", "Adults", "ten", "10", "6"])
    asked: list[str] = []

    def ask(q: str, default: str) -> str:
        asked.append(q)
        return next(answers)

    chars = prompt_characteristics(protocol, ask)
    assert chars == {"design": "rct", "country": "UK", "setting": "community", "partnership_model": "other",
                     "sectors": ["health"], "governance": "NR", "population": "Adults", "n_randomised": 10,
                     "follow_up_months": 6.0}
    assert asked[9].startswith("Not a valid integer.")


def test_tidy_rows(ws: Workspace, protocol: Protocol) -> None:
    _study(ws, "a-2001", _row("mortality", "follow-up", BIN.format(1, 10, 2, 10))
           + '\n[[rob]]\ntool = "rob2"\njudgements = { D1 = "Low risk", overall = "High risk" }\n'
           + '\n[[rob]]\ntool = "rob2"\noutcome = "mortality"\njudgements = { D1 = "low", overall = "some-concerns" }\n')
    _study(ws, "b-2002", _row("mortality", "follow-up", "yi = -0.1\nsei = 0.2") + _row("function", "discharge", "estimate = 1.5\nci_low = 1.1\nci_high = 2.0"))
    shutil.copy(FIXTURES / "demo-2020.alice.toml", ws.extractions_dir("partnership-outcomes"))
    files, _ = load_folder(ws.extractions_dir("partnership-outcomes"))
    rows = tidy_rows(files, protocol)
    assert [(r["study"], r["outcome"], r["timepoint"], r["data_kind"]) for r in rows] == [
        ("b-2002", "function", "discharge", "generic"), ("a-2001", "mortality", "follow-up", "binary"),
        ("b-2002", "mortality", "follow-up", "generic")]  # reviewer files are not tabulated
    a = rows[1]
    assert (a["events_t"], a["n_t"], a["country"], a["sectors"], a["rob_overall"], a["rob_D1"]) == (1, 10, None, "health", "some-concerns", "low")
    assert rows[0]["rob_overall"] is None and rows[0]["measure"] == "OR"
    assert list(rows[0]) == columns(protocol)
    assert rob_for([{"outcome": "*"}, {"outcome": "x", "timepoint": "t"}, {"outcome": "x"}], "x", "t") == {"outcome": "x", "timepoint": "t"}
    assert rob_for([{"outcome": "y"}], "x", "t") is None


def test_meta_table_native_binary(ws: Workspace, protocol: Protocol) -> None:
    _study(ws, "a-2001", _row("mortality", "follow-up", BIN.format(1, 10, 2, 10)), model="integrated-team")
    _study(ws, "b-2002", _row("mortality", "follow-up", BIN.format(3, 30, 6, 30)) + _row("mortality", "discharge", BIN.format(1, 30, 1, 30)), model="case-management")
    df = meta_table(ws, protocol, "mortality", protocol_name="partnership-outcomes")
    assert df.attrs["measure"] == "RR" and df.attrs["timepoint"] == "follow-up"
    assert df.attrs["timepoints"] == {"discharge": 1, "follow-up": 2}
    assert list(df["study"]) == ["A 2001", "B 2002"] and list(df["study_id"]) == ["a-2001", "b-2002"]
    assert list(df["events_c"]) == [2, 6] and list(df["partnership_model"]) == ["integrated-team", "case-management"]
    assert meta_table(ws, protocol, "mortality", "discharge").attrs["timepoint"] == "discharge"
    from synth.meta.analysis import pool_frame

    result = pool_frame(df, df.attrs["measure"])
    assert result["k"] == 2 and result["natural"]["estimate"] == pytest.approx(0.5)


def test_meta_table_mixed_kinds_go_generic(ws: Workspace, protocol: Protocol) -> None:
    _study(ws, "a-2001", _row("mortality", "follow-up", BIN.format(4, 20, 8, 25)))
    _study(ws, "b-2002", _row("mortality", "follow-up", "yi = -0.1\nsei = 0.2"))
    _study(ws, "c-2003", _row("mortality", "follow-up", "estimate = 0.8\nci_low = 0.5\nci_high = 1.28"))
    _study(ws, "d-2004", _row("mortality", "follow-up", BIN.format(0, 20, 0, 20)))
    df = meta_table(ws, protocol, "mortality")
    assert df.attrs["measure"] == "GEN" and df.attrs["scale"] == "log risk ratio"
    assert [e["study"] for e in df.attrs["excluded"]] == ["D 2004"]
    got = dict(zip(df["study_id"], zip(df["yi"], df["vi"], strict=True), strict=True))
    assert got["a-2001"][0] == pytest.approx(math.log((4 / 20) / (8 / 25)))
    assert got["a-2001"][1] == pytest.approx(1 / 4 - 1 / 20 + 1 / 8 - 1 / 25)
    assert got["b-2002"] == pytest.approx((-0.1, 0.04))
    assert got["c-2003"][0] == pytest.approx(math.log(0.8))
    assert got["c-2003"][1] == pytest.approx(((math.log(1.28) - math.log(0.5)) / (2 * 1.959963984540054)) ** 2)


def test_meta_table_errors(ws: Workspace, protocol: Protocol) -> None:
    with pytest.raises(InputError, match="'happiness' is not an outcome id in the protocol"):
        meta_table(ws, protocol, "happiness")
    with pytest.raises(InputError, match="no reconciled extraction has data for outcome 'mortality'"):
        meta_table(ws, protocol, "mortality")
    _study(ws, "a-2001", _row("mortality", "follow-up", BIN.format(1, 10, 2, 10)))
    with pytest.raises(InputError, match=r"no data for outcome 'mortality' at timepoint 'discharge'. Timepoints with data: follow-up \(1\)"):
        meta_table(ws, protocol, "mortality", "discharge")
    _study(ws, "b-2002", _row("mortality", "follow-up", BIN.format(12, 10, 2, 10)))
    with pytest.raises(InputError, match=r"1 problem in the reconciled extraction files, first: .*b-2002.toml: outcomes\[1\].events_t"):
        meta_table(ws, protocol, "mortality")


def test_choose_timepoint() -> None:
    rows = [{"timepoint": t, "study": s} for t, s in (("b", "s1"), ("a", "s2"), ("a", "s3"), ("b", "s4"), ("c", "s5"))]
    assert choose_timepoint(rows, ["a", "b", "c"]) == "a"
    assert choose_timepoint(rows, ["b", "a", "c"]) == "b"
    assert choose_timepoint([{"timepoint": "z", "study": "s1"}], []) == "z"
    # studies are counted, not effects: three effects of one study do not outweigh two studies
    many = [*({"timepoint": "x", "study": "s9"} for _ in range(3)), {"timepoint": "y", "study": "s1"},
            {"timepoint": "y", "study": "s2"}]
    assert choose_timepoint(many, ["x", "y"]) == "y"


def test_meta_effects_relabels_generic_frames(ws: Workspace, protocol: Protocol) -> None:
    from synth.analysis.table import meta_effects
    from synth.meta.analysis import pool_effects

    _study(ws, "a-2001", _row("mortality", "follow-up", BIN.format(4, 20, 8, 25)))
    _study(ws, "b-2002", _row("mortality", "follow-up", "yi = -0.1\nsei = 0.2"))
    df = meta_table(ws, protocol, "mortality")
    table = meta_effects(df)
    assert table.measure == "RR"
    result = pool_effects(table)
    assert result["natural"]["estimate"] == pytest.approx(math.exp(result["estimate"]))


CONT = "mean_t = {}\nsd_t = {}\nn_t = {}\nmean_c = {}\nsd_c = {}\nn_c = {}"


@pytest.mark.parametrize(("outcome", "rows"), [
    ("mortality", [BIN.format(4, 20, 8, 25), "estimate = 0.8\nci_low = 0.5\nci_high = 1.28", "yi = -0.1\nsei = 0.2",
                   BIN.format(3, 30, 6, 30)]),
    ("mortality", [BIN.format(4, 20, 8, 25), BIN.format(3, 30, 6, 30), BIN.format(5, 40, 9, 41)]),
    ("quality-of-life", [CONT.format(0.61, 0.2, 40, 0.55, 0.22, 38), "yi = 0.3\nsei = 0.15",
                         CONT.format(55, 10, 60, 52, 11, 61)]),
])
def test_extract_table_output_feeds_meta_pool_as_the_outcome_does(ws: Workspace, outcome: str,
                                                                    rows: list[str]) -> None:
    """Whatever data each study gave, the CSV `synth extract table` writes for one outcome and timepoint pools
    to the same result as `synth meta pool --outcome` on the extractions themselves."""
    import json

    from typer.testing import CliRunner

    from synth.cli.app import app

    first, second = ("follow-up", "discharge") if outcome == "mortality" else ("12 months", "6 months")
    for i, body in enumerate(rows):
        _study(ws, f"s{i}-200{i}", _row(outcome, first, body) + _row(outcome, second, body))
    runner = CliRunner()
    base = ["--workspace", str(ws.root)]
    table = runner.invoke(app, [*base, "extract", "table", "--outcome", outcome, "--timepoint", first, "-f", "csv"])
    assert table.exit_code == 0, table.output
    path = ws.root / "table.csv"
    path.write_text(table.stdout)
    from_file = runner.invoke(app, [*base, "meta", "pool", str(path), "-f", "json"])
    assert from_file.exit_code == 0, from_file.output
    direct = runner.invoke(app, [*base, "meta", "pool", "--outcome", outcome, "--timepoint", first, "-f", "json"])
    assert direct.exit_code == 0, direct.output
    a, b = json.loads(from_file.stdout), json.loads(direct.stdout)
    assert a["k"] == b["k"] == len(rows)
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-15)
    assert a["measure"] == b["measure"] and a["natural"] == b["natural"]
    # both timepoints in one file: said, with the way out
    both = runner.invoke(app, [*base, "extract", "table", "--outcome", outcome, "-f", "csv"])
    path.write_text(both.stdout)
    two = runner.invoke(app, [*base, "meta", "pool", str(path)])
    assert two.exit_code == 1 and "has data at 2 timepoints" in two.output
    assert f"synth extract table --outcome {outcome} --timepoint T" in two.output


def test_the_primary_timepoint_leads_when_a_study_reports_it() -> None:
    from synth.analysis.table import timepoint_basis

    rows = [{"timepoint": t, "study": s} for t, s in [("3 months", "a"), ("3 months", "b"), ("6 months", "c")]]
    assert choose_timepoint(rows, ["3 months", "6 months"], primary="6 months") == "6 months"   # not the most studies
    assert choose_timepoint(rows, ["3 months", "6 months"], primary="12 months") == "3 months"  # not reported
    assert timepoint_basis("6 months", "6 months") == "the protocol's primary timepoint"
    assert timepoint_basis("3 months", "12 months").startswith("most studies (no study reports")
    assert timepoint_basis("3 months", None) == "most studies (the protocol names no primary timepoint)"


def test_a_primary_timepoint_must_be_one_of_the_outcomes_timepoints() -> None:
    from synth.errors import SynthError
    from synth.protocol.load import parse_protocol, read_toml

    data = read_toml(Path(__file__).resolve().parent.parent / "protocols" / "partnership-outcomes.toml")
    mortality = next(o for o in data["outcomes"] if o["id"] == "mortality")
    mortality["primary_timepoint"] = "9 months"
    with pytest.raises(SynthError, match=r"primary_timepoint: '9 months' is not one of its timepoints"):
        parse_protocol(data, "p.toml")
