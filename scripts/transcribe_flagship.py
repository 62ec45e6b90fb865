"""Transcribe the bundled flagship extraction files from the per-study data in ``shared/domain/``.

Run once by hand (``python scripts/transcribe_flagship.py ../shared/domain
extractions/partnership-outcomes``); the output is committed and reviewed like any extraction. It copies
numbers verbatim: nothing is computed except moving each value into its column, and fields the sources do
not give are written as "NR" (not reported). ``tests/test_extract_flagship.py`` re-reads the CSVs and checks
every number in the bundled files independently of this script.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synth.extraction.files import dumps

UPDATED = dt.date(2026, 11, 23)
NR = "NR"

BACHMANN = (
    "Bachmann S, Finger C, Huss A, Egger M, Stuck AE, Clough-Gorr KM. Inpatient rehabilitation specifically "
    "designed for geriatric patients: systematic review and meta-analysis of randomised controlled trials. "
    "BMJ 2010;340:c1718. doi:10.1136/bmj.c1718. Per-study data as distributed in the R package metadat "
    "(dat.bachmann2010; wviechtb/metadat data-raw/dat.bachmann2010.txt, commit "
    "8c670438de0d46e0f603ef63dd0cc7e6651978e2), file shared/domain/metadat_bachmann2010_geriatric_rehab.csv."
)
EDGAR = (
    "Edgar K, Iliffe S, Doll HA, Clarke MJ, Gonçalves-Bradley DC, Wong E, Shepperd S. Admission avoidance "
    "hospital at home. Cochrane Database Syst Rev 2024;3:CD007491. doi:10.1002/14651858.CD007491.pub3. "
    "Data and analyses as distributed in the R package Pairwise70 (mahmood789/Pairwise70 "
    "data/CD007491_pub3_data.rda, commit cdc933f739307a57340a377c7c68a1815476f825), file "
    "shared/domain/pairwise70_CD007491_pub3.csv."
)
REILLY = (
    "Reilly S, Hobson-Merrett C, Gibbons B, Jones B, Richards D, Plappert H, Gibson J, Green M, Gask L, "
    "Huxley PJ, Druss BG, Planner CL. Collaborative care approaches for people with severe mental illness. "
    "Cochrane Database Syst Rev 2024;5:CD009531. doi:10.1002/14651858.CD009531.pub3. Data, analyses and "
    "RoB 2 judgements as distributed in the R package Pairwise70 (mahmood789/Pairwise70 "
    "data/CD009531_pub3_data.rda, commit cdc933f739307a57340a377c7c68a1815476f825), file "
    "shared/domain/pairwise70_CD009531_pub3.csv. Numbers not verified against the review text."
)
BACHMANN_ITEMS = {
    "rehabtype": "type of rehabilitation (general / orthopaedic)",
    "lohs1": "mean/median length of hospital stay before randomisation (days)",
    "lohs2": "mean/median length of hospital stay after randomisation (days)",
    "mage": "mean age of participants",
    "nti": "participants in the intervention group",
    "nci": "participants in the control group",
    "multidim": "multidimensional geriatric assessment",
    "assign": "assignment to therapy",
    "meetings": "intervention team meetings for goal setting",
    "fup": "follow-up after discharge",
    "conc": "concealment of allocation",
    "blind": "blinding of outcome assessor",
    "itt": "intention-to-treat analysis",
}


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def num(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value.item() if hasattr(value, "item") else value


def base(study: str, label: str, year: int, numbers_from: str) -> dict[str, Any]:
    return {
        "schema_version": 1, "study": study, "protocol": "partnership-outcomes", "reviewer": "consensus",
        "status": "complete", "updated": UPDATED,
        "citation": {"label": label, "first_author": label.rsplit(" ", 1)[0], "year": year,
                     "numbers_from": numbers_from},
    }


def bachmann(domain: Path) -> dict[str, dict[str, Any]]:
    d = pd.read_csv(domain / "metadat_bachmann2010_geriatric_rehab.csv")
    out: dict[str, dict[str, Any]] = {}
    tp = {"discharge": "discharge", "followup": "follow-up"}
    oid = {"function": "function", "admission": "residential-care", "mortality": "mortality"}
    instrument = {"function": "Functional status: odds of improvement, as reported by Bachmann et al. 2010",
                  "admission": "Admission to a nursing home", "mortality": "Death"}
    for (author, year), rows in d.groupby(["author", "year"], sort=False):
        label = f"{author} {year}"
        study = slug(label)
        first = rows.iloc[0]
        data = base(study, label, int(year), BACHMANN)
        data["characteristics"] = {
            "design": "rct", "country": first["country"], "setting": "hospital",
            "partnership_model": "geriatric-rehabilitation", "sectors": ["health"], "governance": NR,
            "pooled_budget": NR,
            "population": f"Geriatric patients in {first['rehabtype']} inpatient rehabilitation "
                          f"(mean age {num(first['mage'])})",
            "n_randomised": NR, "follow_up_months": NR,
            "notes": "Trial in Bachmann et al. 2010 (meta-analysis of randomised controlled trials of inpatient "
                     "rehabilitation specifically designed for geriatric patients). Setting and sector follow from "
                     "that definition; no social-care partner is reported in the source data. Country as given "
                     "in metadat, not checked against the trial report.",
        }
        data["source_data"] = {k: num(first[k]) for k in BACHMANN_ITEMS if num(first[k]) is not None}
        data["source_data"]["meaning"] = BACHMANN_ITEMS
        outcomes = []
        for _, r in rows.iterrows():
            row: dict[str, Any] = {"outcome": oid[r["outcome"]], "timepoint": tp[r["time"]]}
            if r["outcome"] == "function":
                if num(r["or"]) is None:
                    continue
                row.update(estimate=num(r["or"]), ci_low=num(r["lb"]), ci_high=num(r["ub"]),
                           measure_reported="odds ratio with 95% CI")
            else:
                if num(r["ai"]) is None:
                    continue
                row.update(events_t=num(r["ai"]), n_t=num(r["n1i"]), events_c=num(r["ci"]), n_c=num(r["n2i"]))
            row["instrument"] = instrument[r["outcome"]]
            row["source_location"] = (f"Bachmann 2010 per-study data (metadat dat.bachmann2010): author={author}, "
                                      f"outcome={r['outcome']}, time={r['time']}")
            outcomes.append(row)
        data["outcomes"] = outcomes
        out[study] = data
    return out


def _clean_html(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def edgar(domain: Path) -> dict[str, dict[str, Any]]:
    d = pd.read_csv(domain / "pairwise70_CD007491_pub3.csv")
    spec = {1: ("mortality", "3 months"), 2: ("mortality", "6 months"), 3: ("hospital-admission", "3-12 months"),
            5: ("residential-care", "6 months")}
    out: dict[str, dict[str, Any]] = {}
    for label, rows in d.groupby("Study", sort=False):
        study = slug(label)
        year = int(label.rsplit(" ", 1)[1])
        data = out.setdefault(study, base(study, label, year, EDGAR))
        subgroups = {s for s in rows["Subgroup"].dropna() if s}
        if any("older patients with a medical condition" in s for s in subgroups):
            population = "Older patients with a medical condition (subgroup of Edgar 2024 analysis 1.3)"
        elif any(s.startswith("With a medical condition") for s in subgroups):
            population = "Patients with a medical condition (subgroup of Edgar 2024 analysis 1.5)"
        else:
            population = NR
        data["characteristics"] = {
            "design": "rct", "country": NR, "setting": "community", "partnership_model": "hospital-at-home",
            "sectors": NR, "governance": NR, "pooled_budget": NR,
            "population": population,
            "n_randomised": NR, "follow_up_months": NR,
            "notes": "Randomised trial included in Edgar et al. 2024 (admission avoidance hospital at home: "
                     "hospital-level care in the patient's home, hence setting 'community'). Population is the "
                     "review's subgroup label for the analyses this trial contributes to. Country, sectors and "
                     "trial size are not given in the source data.",
        }
        outcomes = []
        for _, r in rows.iterrows():
            oid, tp = spec[int(r["Analysis.number"])]
            row: dict[str, Any] = {"outcome": oid, "timepoint": tp, "yi": num(r["GIV.Mean"]), "sei": num(r["GIV.SE"]),
                                   "n_t": num(r["Experimental.N"]), "n_c": num(r["Control.N"]),
                                   "measure_reported": "log risk ratio with its standard error (generic inverse variance)"}
            foot = r["Footnotes"] if isinstance(r["Footnotes"], str) else ""
            if foot.startswith("Adjusted"):
                row["adjusted"] = True
            if foot:
                row["notes"] = f"Review footnote: {foot}"
            row["instrument"] = str(r["Analysis.name"])
            row["source_location"] = (f"Edgar 2024 CD007491, Analysis 1.{int(r['Analysis.number'])} "
                                      f"'{r['Analysis.name']}', study row {label}")
            outcomes.append(row)
        data["outcomes"] = outcomes
    return out


ROB_COLS = {
    "D1": "Bias.arising.from.the.randomization.process",
    "D2": "Bias.due.to.deviations.from.intended.interventions",
    "D3": "Bias.due.to.missing.outcome.data",
    "D4": "Bias.in.measurement.of.the.outcome",
    "D5": "Bias.in.selection.of.the.reported.result",
    "overall": "Overall.bias",
}
JUDGEMENT = {"Low risk": "low", "Some concerns": "some-concerns", "High risk": "high"}


def reilly(domain: Path) -> dict[str, dict[str, Any]]:
    d = pd.read_csv(domain / "pairwise70_CD009531_pub3.csv")
    d["Subgroup"] = d["Subgroup"].fillna("")
    picks = [
        # (analysis group, number, subgroup, outcome, timepoint, what)
        (1, 1, "", "quality-of-life", "12 months", "mental health component"),
        (2, 1, "Quality of life: average endpoint in mental health - up to 6 months", "quality-of-life",
         "up to 6 months", "mental health component"),
        (2, 1, "Quality of life: average endpoint in mental health component (more than 12 months)",
         "quality-of-life", "more than 12 months", "mental health component"),
        (1, 3, "Number of participants admitted to hospital (up to 12 months)", "hospital-admission",
         "12 months", "psychiatric hospital admission"),
        (2, 3, "Number of participants admitted to hospital (in year 2)", "hospital-admission", "year 2",
         "psychiatric hospital admission"),
        (2, 3, "Number of participants admitted to hospital (in year 3)", "hospital-admission", "year 3",
         "psychiatric hospital admission"),
        (2, 14, "Any deaths (12 months)", "mortality", "12 months", "death from any cause"),
        (2, 16, "Intervention costs (at 36 months)", "costs", "36 months", "intervention costs"),
    ]
    out: dict[str, dict[str, Any]] = {}
    for label in d["Study"].unique():
        study = slug(label)
        year = int(label.rsplit(" ", 1)[1])
        data = base(study, label, year, REILLY)
        data["characteristics"] = {
            "design": "rct", "country": NR, "setting": NR, "partnership_model": "collaborative-care",
            "sectors": NR, "governance": NR, "pooled_budget": NR,
            "population": "People with severe mental illness (review population, Reilly et al. 2024)",
            "n_randomised": NR, "follow_up_months": NR,
            "notes": "Randomised trial included in Reilly et al. 2024. Country, setting, sectors and trial size "
                     "are not given in the source data. Outcomes transcribed: quality of life (mental health "
                     "component), psychiatric hospital admission, all-cause death, intervention costs; other analyses "
                     "of the review (physical health component, mental state scales, social functioning, "
                     "cause-specific deaths, attrition) are not transcribed.",
        }
        data["outcomes"] = []
        data["rob"] = []
        out[study] = data
    for group, number, subgroup, oid, tp, what in picks:
        sel = d[(d["Analysis.group"] == group) & (d["Analysis.number"] == number) & (d["Subgroup"] == subgroup)]
        for _, r in sel.iterrows():
            data = out[slug(r["Study"])]
            row: dict[str, Any] = {"outcome": oid, "timepoint": tp}
            if oid in ("quality-of-life", "costs"):
                row.update(mean_t=num(r["Experimental.mean"]), sd_t=num(r["Experimental.SD"]), n_t=num(r["Experimental.N"]),
                           mean_c=num(r["Control.mean"]), sd_c=num(r["Control.SD"]), n_c=num(r["Control.N"]))
            else:
                row.update(events_t=num(r["Experimental.cases"]), n_t=num(r["Experimental.N"]),
                           events_c=num(r["Control.cases"]), n_c=num(r["Control.N"]))
            foot = r["Footnotes"] if isinstance(r["Footnotes"], str) else ""
            row["instrument"] = f"{what}{f' ({foot})' if foot else ''}"
            where = f"Analysis {group}.{number} '{r['Analysis.name']}'"
            if subgroup:
                where += f", subgroup '{subgroup}'"
            row["source_location"] = f"Reilly 2024 CD009531, {where}, study row {r['Study']}"
            data["outcomes"].append(row)
            judg = {k: JUDGEMENT[r[f"{c}..judgement."]] for k, c in ROB_COLS.items()
                    if isinstance(r[f"{c}..judgement."], str)}
            if not judg:
                continue
            support = {k: _clean_html(r[f"{c}..support."]) for k, c in ROB_COLS.items()
                       if _clean_html(r[f"{c}..support."])}
            entry = {"tool": "rob2", "outcome": oid, "timepoint": tp,
                     "source": f"Reilly 2024 CD009531, RoB 2 assessment of the result in {where}",
                     "judgements": judg, "support": support}
            data["rob"].append(entry)
    for data in out.values():
        data["rob"] = _merge_timepoints(data["rob"])
        if not data["outcomes"]:
            data["characteristics"]["notes"] += (" The review's analyses give no result of this trial for those "
                                                 "outcomes, so the file has no outcome rows.")
    return out


def _merge_timepoints(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One assessment per outcome when every timepoint of it was judged and supported identically."""
    by_outcome: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_outcome.setdefault(e["outcome"], []).append(e)
    merged = []
    for group in by_outcome.values():
        same = all(e["judgements"] == group[0]["judgements"] and e["support"] == group[0]["support"] for e in group)
        if same and len(group) > 1:
            first = dict(group[0])
            del first["timepoint"]
            first["source"] = "; ".join(e["source"] for e in group)
            merged.append(first)
        else:
            merged.extend(group)
    return merged


def main(domain: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    studies = {**bachmann(domain), **edgar(domain), **reilly(domain)}
    for study, data in sorted(studies.items()):
        (target / f"{study}.toml").write_text(
            f"# Extraction for {data['citation']['label']}, transcribed from published per-study figures.\n"
            "# Source of the numbers: see citation.numbers_from. \"NR\" = not reported in that source.\n"
            + dumps(data), encoding="utf-8")
    print(f"wrote {len(studies)} files to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
