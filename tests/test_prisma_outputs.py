"""The PRISMA2020 CSV template and the flow diagram (SVG, PNG)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from synth.prisma.counts import ClusterFlow, PrismaInputs, compute_counts
from synth.prisma.csvtemplate import (
    COLUMNS,
    TEMPLATE_ROWS,
    clean_label,
    format_list,
    parse_list,
    read_csv,
    render_csv,
)
from synth.prisma.diagram import layout, render_png, render_svg

FIXTURE = Path(__file__).parent / "fixtures" / "prisma" / "PRISMA_template.csv"


def _data(other: bool = True, previous: bool = False) -> dict:
    clusters = [ClusterFlow(title_abstract="exclude") for _ in range(12)]
    clusters += [ClusterFlow(title_abstract="include", retrieved=True, full_text="exclude",
                             exclusion_reason="Wrong population, adults") for _ in range(2)]
    clusters += [ClusterFlow(title_abstract="include", retrieved=True, full_text="include", study_id="a")]
    if other:
        clusters += [ClusterFlow(column="other", retrieved=True, full_text="include", study_id="b")]
    return compute_counts(PrismaInputs(
        database_results={"PubMed": 10, "Embase; Ovid": 8}, register_results={"CT.gov": 1},
        other_results={"citation": 1} if other else {}, clusters=tuple(clusters),
        previous_studies=3 if previous else None, previous_reports=4 if previous else None,
    ))


def test_csv_has_template_columns_rows_and_texts() -> None:
    text = render_csv(_data())
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    # Every template row is there, in order, with the template's texts unchanged; only n differs.
    template = list(csv.reader(FIXTURE.open(encoding="utf-8")))
    assert [r[:7] for r in rows] == [r[:7] for r in template]
    by_key = {r[0]: r[7] for r in rows[1:]}
    assert by_key["database_results"] == "18"
    assert by_key["database_specific_results"] == "PubMed, 10; Embase - Ovid, 8"
    assert by_key["dbr_excluded"] == "Wrong population  adults, 2".replace("  ", " ")
    assert by_key["records_screened"] == "15"
    assert by_key["new_studies"] == "2"


def test_csv_round_trip() -> None:
    data = _data(previous=True)
    back = read_csv(render_csv(data))
    for key in ("database_results", "register_results", "duplicates", "records_screened", "records_excluded",
                "dbr_sought_reports", "dbr_assessed", "new_studies", "new_reports", "total_studies",
                "previous_studies", "citations_results"):
        assert back[key] == data[key], key
    assert back["dbr_excluded"] == {clean_label(k): v for k, v in data["dbr_excluded"].items()}


def test_csv_rows_findable_like_prisma_data_grep() -> None:
    """PRISMA_data() uses grep(key, data[,1]); each key must pick exactly one row (total_studies$ anchored)."""
    import re

    text = render_csv(_data(), meta_analysis=True)
    keys = [r[0] for r in csv.reader(io.StringIO(text))][1:]
    for key in ("database_results", "register_results", "duplicates", "records_screened", "dbr_excluded",
                "new_studies", "total_studies$", "total_reports$", "total_studies_ma", "previous_studies"):
        assert sum(1 for k in keys if re.search(key, k)) == 1, key


def test_reason_list_format_parses_back() -> None:
    items = {"No outcome": 3, "Design, non-randomised": 2, "A;B": 1}
    text = format_list(items)
    assert ";" not in "".join(clean_label(k) for k in items)
    assert parse_list(text) == {"No outcome": 3, "Design non-randomised": 2, "A -B": 1}


def test_read_csv_rejects_wrong_header() -> None:
    from synth.errors import InputError

    with pytest.raises(InputError, match="PRISMA CSV header is"):
        read_csv("a,b\n1,2\n")


def test_template_rows_count_matches_package() -> None:
    assert len(TEMPLATE_ROWS) == 32


def _texts(svg: str) -> str:
    root = ET.fromstring(svg)
    return " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_svg_is_valid_xml_with_every_box_and_number() -> None:
    svg = render_svg(_data())
    text = _texts(svg)
    for phrase in ("Identification of new studies via databases and registers",
                   "Identification of new studies via other methods", "Records identified from:",
                   "Databases (n = 18)", "PubMed (n = 10)", "Registers (n = 1)", "Duplicate records removed (n = 4)",
                   "Records screened (n = 15)", "Records excluded (n = 12)", "Reports sought for retrieval (n = 3)",
                   "Reports assessed for eligibility (n = 3)", "Citation searching (n = 1)",
                   "Studies included in review (n = 2)", "Identification", "Screening", "Included"):
        assert phrase in text, phrase


def test_svg_without_other_methods_has_no_other_column() -> None:
    svg = render_svg(_data(other=False))
    assert "via other methods" not in _texts(svg)
    assert "via other methods" in _texts(render_svg(_data(other=True)))


def test_svg_update_has_previous_column_and_totals() -> None:
    text = _texts(render_svg(_data(previous=True)))
    assert "Previous studies" in text
    assert "Total studies included in review (n = 5)" in text
    assert "New studies included in review (n = 2)" in text


def test_human_and_automation_split_drawn_when_automation_used() -> None:
    d = compute_counts(PrismaInputs(database_results={"A": 3}, clusters=(
        ClusterFlow(title_abstract="exclude"), ClusterFlow(title_abstract="exclude-automation"),
        ClusterFlow(title_abstract="exclude-automation"))))
    text = _texts(render_svg(d))
    assert "by a human (n = 1)" in text and "by automation tools (n = 2)" in text


def test_layout_boxes_do_not_overlap() -> None:
    lay = layout(_data(previous=True))
    boxes = lay.boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h
            assert not overlap, (a.id, b.id)
        assert a.x + a.w <= lay.width and a.y + a.h <= lay.height


def test_png_written(tmp_path: Path) -> None:
    out = render_png(_data(), tmp_path / "prisma.png", dpi=60)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_search_report_items_from_runs_and_imports() -> None:
    from synth.prisma.searchreport import search_report

    runs = [{"id": 1, "database": "PubMed", "kind": "database", "mode": "run",
             "endpoint": "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi",
             "query": '"integrated care"[tiab] AND trial[pt]', "limits": {"date_from": "1990-01-01", "languages": ["eng"]},
             "started_at": "2026-11-23T10:00:00+00:00", "finished_at": "2026-11-23T10:01:00+00:00",
             "status": "complete", "hits": 120, "retrieved": 120}]
    imports = [{"file": "embase.ris", "source": "Embase", "kind": "database", "format": "ris", "records_found": 80},
               {"file": "refs.ris", "source": "Reference lists", "kind": "citation", "format": "ris", "records_found": 4}]
    files = [{"database": "Embase", "platform": "Ovid", "searched_on": "2026-11-01", "query": "exp integrated care/"}]
    text = search_report(runs, imports, files, {"PubMed": 120, "Embase": 80}, {"events": []}, title="T")
    assert text.startswith("# PRISMA-S search report: T")
    assert "**Item 1 – Database name.** Embase (export file, platform: Ovid); PubMed (interface: " in text
    assert '"integrated care"[tiab] AND trial[pt]' in text and "exp integrated care/" in text
    assert "PubMed: publication dates 1990-01-01 to (any); languages eng" in text
    assert "**Item 5 – Citation searching.** Reference lists (4 records)." in text
    assert "**Item 13 – Dates of searches.** PubMed: 2026-11-23T10:00:00+00:00; Embase: 2026-11-01." in text
    assert "| PubMed | 120 | 120 |" in text and "| Embase | 80 |  |" in text
    assert "**Item 14 – Peer review.** No peer review" in text
    assert "**Item 16 – Deduplication.** No deduplication run is recorded." in text


R_CHECK = r"""
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
stopifnot(identical(names(d), c("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")))
get <- function(key) { rows <- d[grep(key, d[, 1]), ]; stopifnot(nrow(rows) == 1); rows$n }
num <- function(key) as.numeric(gsub("[^0-9.]", "", get(key)))
pairs <- function(key) {
  parts <- unlist(strsplit(get(key), split = "(;)( )?"))
  setNames(as.numeric(sub(".*, *", "", parts)), sub(",.*$", "", parts))
}
cat(num("database_results"), num("records_screened"), num("total_studies$"), num("new_reports"), "\n")
p <- pairs("dbr_excluded"); cat(paste(names(p), p, sep = "=", collapse = "|"), "\n")
q <- pairs("database_specific_results"); cat(paste(names(q), q, sep = "=", collapse = "|"), "\n")
"""


def test_csv_reads_in_r_as_prisma2020_reads_it(tmp_path: Path) -> None:
    """R's read.csv + grep on the data column (how PRISMA_data() finds rows) gives back our numbers."""
    import shutil
    import subprocess

    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("Rscript not installed: R check of the PRISMA2020 CSV skipped")
    data = _data()
    path = tmp_path / "PRISMA.csv"
    path.write_text(render_csv(data), encoding="utf-8")
    script = tmp_path / "check.R"
    script.write_text(R_CHECK, encoding="utf-8")
    proc = subprocess.run([rscript, str(script), str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == [str(data["database_results"]), str(data["records_screened"]),
                                str(data["total_studies"]), str(data["new_reports"])]
    assert lines[1].strip() == "Wrong population adults=2"
    assert lines[2].strip() == "PubMed=10|Embase - Ovid=8"
