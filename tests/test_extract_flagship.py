"""The bundled flagship extraction files: every number checked against the published per-study data in
shared/domain, nothing added, and the Edgar 2024 summary-of-findings results reproduced from them."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synth.analysis.table import meta_table
from synth.extraction.files import load_folder
from synth.extraction.validate import validate_files
from synth.protocol import load_protocol
from synth.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "extractions" / "partnership-outcomes"
TEMPLATE = REPO / "synth" / "protocol" / "templates" / "partnership-outcomes.toml"


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


@pytest.fixture(scope="module")
def bundled() -> dict[str, dict[str, Any]]:
    files, problems = load_folder(BUNDLED)
    assert problems == []
    return {f.study: f.data for f in files}


def _rows(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["outcome"], r["timepoint"]): r for r in data.get("outcomes", [])}


def test_bundled_files_are_valid_and_reconciled() -> None:
    files, problems = load_folder(BUNDLED)
    protocol = load_protocol(TEMPLATE)
    assert len(files) == 34
    assert all(f.reconciled for f in files)
    assert validate_files(files, protocol, "partnership-outcomes") + problems == []
    for f in files:
        source = f.data["citation"]["numbers_from"]
        assert re.search(r"doi:10\.\d{4,}/", source), f.study
        assert all(r["source_location"] for r in f.data.get("outcomes", []))


def test_bachmann_numbers_match_metadat(domain_dir: Path, bundled: dict[str, dict[str, Any]]) -> None:
    d = pd.read_csv(domain_dir / "metadat_bachmann2010_geriatric_rehab.csv")
    outcome = {"function": "function", "admission": "residential-care", "mortality": "mortality"}
    time = {"discharge": "discharge", "followup": "follow-up"}
    seen = 0
    expected_keys: dict[str, set[tuple[str, str]]] = {}
    for _, r in d.iterrows():
        study = _slug(f"{r['author']} {r['year']}")
        data = bundled[study]
        assert data["characteristics"]["country"] == r["country"]
        assert data["source_data"]["nti"] == r["nti"] and data["source_data"]["nci"] == r["nci"]
        key = (outcome[r["outcome"]], time[r["time"]])
        row = _rows(data).get(key)
        has_data = not (pd.isna(r["or"]) and pd.isna(r["ai"]))
        assert (row is not None) == has_data, (study, key)
        if row is None:
            continue
        expected_keys.setdefault(study, set()).add(key)
        seen += 1
        if r["outcome"] == "function":
            assert (row["estimate"], row["ci_low"], row["ci_high"]) == (r["or"], r["lb"], r["ub"])
        else:
            assert (row["events_t"], row["n_t"], row["events_c"], row["n_c"]) == (r["ai"], r["n1i"], r["ci"], r["n2i"])
    assert seen == int((d["or"].notna() | d["ai"].notna()).sum())
    for study, keys in expected_keys.items():
        assert set(_rows(bundled[study])) == keys


def test_edgar_numbers_match_pairwise70(domain_dir: Path, bundled: dict[str, dict[str, Any]]) -> None:
    d = pd.read_csv(domain_dir / "pairwise70_CD007491_pub3.csv")
    spec = {1: ("mortality", "3 months"), 2: ("mortality", "6 months"), 3: ("hospital-admission", "3-12 months"),
            5: ("residential-care", "6 months")}
    studies: dict[str, set[tuple[str, str]]] = {}
    for _, r in d.iterrows():
        study = _slug(r["Study"])
        key = spec[int(r["Analysis.number"])]
        row = _rows(bundled[study])[key]
        studies.setdefault(study, set()).add(key)
        assert (row["yi"], row["sei"], row["n_t"], row["n_c"]) == (r["GIV.Mean"], r["GIV.SE"], r["Experimental.N"], r["Control.N"])
        assert "events_t" not in row  # the review gives log RR and SE only; no counts were made up
        assert row.get("adjusted", False) == str(r["Footnotes"]).startswith("Adjusted")
    assert len(studies) == 9
    for study, keys in studies.items():
        assert set(_rows(bundled[study])) == keys


def test_reilly_numbers_and_rob_match_pairwise70(domain_dir: Path, bundled: dict[str, dict[str, Any]]) -> None:
    d = pd.read_csv(domain_dir / "pairwise70_CD009531_pub3.csv")
    d["Subgroup"] = d["Subgroup"].fillna("")
    judgement = {"Low risk": "low", "Some concerns": "some-concerns", "High risk": "high"}
    domains = {"D1": "Bias.arising.from.the.randomization.process..judgement.",
               "D5": "Bias.in.selection.of.the.reported.result..judgement.", "overall": "Overall.bias..judgement."}
    n_rows = 0
    for study in d["Study"].unique():
        data = bundled[_slug(study)]
        assert data["characteristics"]["partnership_model"] == "collaborative-care"
        for row in data.get("outcomes", []):
            m = re.search(r"Analysis (\d+)\.(\d+) '[^']*'(?:, subgroup '([^']*)')?, study row (.+)$", row["source_location"])
            assert m, row["source_location"]
            src = d[(d["Analysis.group"] == int(m[1])) & (d["Analysis.number"] == int(m[2]))
                    & (d["Subgroup"] == (m[3] or "")) & (d["Study"] == m[4])]
            assert len(src) == 1 and m[4] == study
            r = src.iloc[0]
            if "mean_t" in row:
                assert (row["mean_t"], row["sd_t"], row["n_t"], row["mean_c"], row["sd_c"], row["n_c"]) == (
                    r["Experimental.mean"], r["Experimental.SD"], r["Experimental.N"],
                    r["Control.mean"], r["Control.SD"], r["Control.N"])
            else:
                assert (row["events_t"], row["n_t"], row["events_c"], row["n_c"]) == (
                    r["Experimental.cases"], r["Experimental.N"], r["Control.cases"], r["Control.N"])
            entries = [e for e in data.get("rob", []) if e["outcome"] == row["outcome"]
                       and e.get("timepoint", row["timepoint"]) == row["timepoint"]]
            assert len(entries) == 1
            for key, col in domains.items():
                given = r[col]
                assert entries[0]["judgements"].get(key) == (judgement[given] if isinstance(given, str) else None)
            n_rows += 1
    assert n_rows == 15  # quality of life 3 + 5 + 2, psychiatric admission 3, all-cause death 1, costs 1


@pytest.mark.parametrize(
    ("outcome", "timepoint", "published"),
    [  # Edgar et al. 2024, summary of findings table 1 (PMC10911897), fixed-effect RR [95% CI]
        ("residential-care", "6 months", (0.53, 0.41, 0.69)),
        ("mortality", "6 months", (0.88, 0.68, 1.13)),
        ("hospital-admission", "3-12 months", (1.14, 0.97, 1.34)),
    ],
)
def test_edgar_summary_of_findings_reproduced(tmp_path: Path, outcome: str, timepoint: str,
                                              published: tuple[float, float, float]) -> None:
    (tmp_path / "protocols").mkdir()
    shutil.copy(TEMPLATE, tmp_path / "protocols" / "partnership-outcomes.toml")
    shutil.copytree(BUNDLED, tmp_path / "extractions" / "partnership-outcomes")
    df = meta_table(Workspace(tmp_path), load_protocol(TEMPLATE), outcome, timepoint)
    assert df.attrs["measure"] == "GEN" and df.attrs["scale"] == "log risk ratio"
    w = 1 / df["vi"].to_numpy(float)
    est = float(np.sum(w * df["yi"].to_numpy(float)) / w.sum())
    se = math.sqrt(1 / w.sum())
    got = tuple(round(math.exp(x), 2) for x in (est, est - 1.959964 * se, est + 1.959964 * se))
    assert got == published
