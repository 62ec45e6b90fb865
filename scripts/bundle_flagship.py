"""Build the bundled inputs of the flagship review from their published sources.

- ``data/partnership-outcomes/citation-records.csv``: one record per trial in ``extractions/partnership-outcomes/``
  (first author and year, the only identifiers the sources give), identified by citation searching of the
  included-studies lists of the published reviews the numbers come from.
- ``data/partnership-outcomes/screening-history.csv``: the published reviews' inclusion of each trial, adopted
  at title/abstract and full text (method ``adopted``, by the review's authors; see ``synth.screening.history``),
  with the review's per-study data as the report assessed.
- ``data/partnership-outcomes/existing-reviews.toml``: the review-level syntheses of partnership working
  transcribed from ``shared/domain/review_level_results.csv`` (each finding keeps its source location).

Run from the repository root with ``../shared`` beside it: ``python scripts/bundle_flagship.py``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import tomllib
from pathlib import Path

import tomli_w

REPO = Path(__file__).resolve().parent.parent
DOMAIN = Path(os.environ.get("SYNTH_SHARED", REPO.parent / "shared")) / "domain"  # as the tests find it
EXTRACTIONS = REPO / "extractions" / "partnership-outcomes"
OUT = REPO / "data" / "partnership-outcomes"


def review_name(numbers_from: str) -> tuple[str, str]:
    """Short name and DOI of the published review a trial's numbers come from, e.g. ('Bachmann 2010', ...)."""
    match = re.match(r"([A-Z][\w'-]+) [A-Z]+,.*?(\d{4})", numbers_from)
    doi = re.search(r"doi:(\S+?)\.?(?:\s|$)", numbers_from)
    return (f"{match.group(1)} {match.group(2)}" if match else "published review"), (doi.group(1) if doi else "")


def source_review(numbers_from: str) -> str:
    """Short name of the published review with its DOI, e.g. 'Bachmann 2010, doi:10.1136/bmj.c1718'."""
    name, doi = review_name(numbers_from)
    return f"{name}, doi:{doi}" if doi else name


def _studies() -> list[dict[str, object]]:
    out = []
    for path in sorted(EXTRACTIONS.glob("*.toml")):
        if path.stem.count(".") > 0:
            continue  # per-reviewer files; the reconciled file names the study
        out.append(tomllib.loads(path.read_text("utf-8")))
    return out


def screening_history() -> list[dict[str, str]]:
    """Two adopted decisions per trial: included at title/abstract and at full text by the source review."""
    rows = []
    for data in _studies():
        cite: dict[str, str] = data["citation"]  # type: ignore[assignment]
        name, doi = review_name(cite["numbers_from"])
        by = f"{name} review authors"
        note = (f"Included in {source_review(cite['numbers_from'])}; decision adopted from that review, not "
                "re-screened by this review's reviewers.")
        rows.append({"record": str(data["study"]), "stage": "title-abstract", "decision": "include", "reason": "",
                     "by": by, "note": note, "retrieval": "", "location": ""})
        rows.append({"record": str(data["study"]), "stage": "full-text", "decision": "include", "reason": "",
                     "by": by, "note": note + " The report assessed is the review's per-study data, not the trial "
                     "publication.", "retrieval": "retrieved", "location": f"https://doi.org/{doi}" if doi else name})
    return rows


def citation_records() -> list[dict[str, str]]:
    rows = []
    for data in _studies():
        cite: dict[str, str] = data["citation"]  # type: ignore[assignment]
        review = source_review(cite["numbers_from"])
        rows.append({
            "id": data["study"],
            "authors": cite["first_author"],
            "year": str(cite["year"]),
            "title": "",
            "notes": (f"Trial '{cite['label']}' identified from the included studies of {review}; "
                      "the source gives first author and year only."),
        })
    return rows


def _number(text: str) -> int | float | str:
    """A number as a number; text such as '11/21 reviews' kept as written."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def existing_reviews() -> dict[str, object]:
    with (DOMAIN / "review_level_results.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    reviews: dict[str, dict[str, object]] = {}
    for row in rows:
        key = row["doi"] or row["title"]
        review = reviews.setdefault(key, {
            "authors": row["review"], "year": int(row["year"]), "title": row["title"], "journal": row["journal"],
            "doi": row["doi"], "design": row["design_of_synthesis"], "included": row["n_included"], "findings": [],
        })
        finding: dict[str, object] = {"outcome": row["outcome"], "measure": row["effect_measure"]}
        for name in ("estimate", "ci_low", "ci_high", "k_studies", "n_participants"):
            value = row[name].strip()
            if value:
                finding[name] = _number(value)
        finding["note"] = row["certainty_or_note"]
        finding["source_location"] = row["source_location"]
        review["findings"].append(finding)  # type: ignore[union-attr]
    return {
        "about": "Review-level syntheses of health and social care partnership working, transcribed from "
                 "shared/domain/review_level_results.csv (see its SOURCES.md); only numbers visible in each "
                 "source were transcribed.",
        "reviews": list(reviews.values()),
    }


def _csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def build() -> dict[str, str]:
    """File name -> content of every bundled file (pure: the test compares it with the committed files)."""
    return {
        "citation-records.csv": _csv(citation_records()),
        "screening-history.csv": _csv(screening_history()),
        "existing-reviews.toml": "# Generated by scripts/bundle_flagship.py; do not edit by hand.\n"
                                 + tomli_w.dumps(existing_reviews()),
    }


def main() -> None:
    if not DOMAIN.is_dir():
        sys.exit(f"shared/domain not found at {DOMAIN}")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in build().items():
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(build())} to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
