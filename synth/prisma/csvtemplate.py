"""The PRISMA2020 R package's CSV template, filled in.

Rows, columns and texts are those of ``inst/extdata/PRISMA.csv`` in the PRISMA2020 package (Haddaway et al.
2022; the file the Shiny app offers as its template): columns ``data,node,box,description,boxtext,tooltips,url,n``.
Only ``n`` changes. ``PRISMA_data()`` finds rows with ``grep()`` on ``data``; ``*_specific_results`` and
``*_excluded`` rows hold ``"Label, n; Label, n"``, so labels are cleaned of ``,`` and ``;`` here (its issue #77:
a malformed reasons string silently breaks the diagram). ``total_studies_ma``/``total_reports_ma`` rows are
appended only when asked for (the template has none; the package reads them when present).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from synth.errors import InputError

COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")

_EXCL_DESC = "Reports excluded ({col}): [separate reasons and numbers using ; e.g. Reason1, xxx; Reason2, xxx; Reason3, xxx]"

# (data, node, box, description, boxtext, tooltips, url); "" where the template leaves the cell empty.
TEMPLATE_ROWS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("NA", "node4", "prevstud", "Grey title box; Previous studies", "Previous studies", "Grey title box; Previous studies", "prevstud.html"),
    ("previous_studies", "node5", "box1", "Studies included in previous version of review", "Studies included in previous version of review", "Studies included in previous version of review", "previous_studies.html"),
    ("previous_reports", "NA", "box1", "Reports of studies included in previous version of review", "Reports of studies included in previous version of review", "NA", "previous_reports.html"),
    ("NA", "node6", "newstud", "Yellow title box; Identification of new studies via databases and registers", "Identification of new studies via databases and registers", "Yellow title box; Identification of new studies via databases and registers", "newstud.html"),
    ("database_results", "node7", "box2", "Records identified from: Databases", "Databases", "Records identified from: Databases and Registers", "database_results.html"),
    ("database_specific_results", "NA", "box2", "Records identified from: specific databases", "Specific Databases", "NA", "database_results.html"),
    ("register_results", "NA", "box2", "Records identified from: Registers", "Registers", "NA", "NA"),
    ("register_specific_results", "NA", "box2", "Records identified from: specific registers", "Specific Registers", "NA", "database_results.html"),
    ("NA", "node16", "othstud", "Grey title box; Identification of new studies via other methods", "Identification of new studies via other methods", "Grey title box; Identification of new studies via other methods", "othstud.html"),
    ("website_results", "node17", "box11", "Records identified from: Websites", "Websites", "Records identified from: Websites, Organisations and Citation Searching", "website_results.html"),
    ("organisation_results", "", "box11", "Records identified from: Organisations", "Organisations", "NA", "NA"),
    ("citations_results", "NA", "box11", "Records identified from: Citation searching", "Citation searching", "NA", "NA"),
    ("duplicates", "node8", "box3", "Duplicate records", "Duplicate records", "Duplicate records", "duplicates.html"),
    ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools", "Records marked as ineligible by automation tools", "NA", "NA"),
    ("excluded_other", "NA", "box3", "Records removed for other reasons", "Records removed for other reasons", "NA", "NA"),
    ("records_screened", "node9", "box4", "Records screened (databases and registers)", "Records screened", "Records screened (databases and registers)", "records_screened.html"),
    ("records_excluded", "node10", "box5", "Records excluded (databases and registers)", "Records excluded", "Records excluded (databases and registers)", "records_excluded.html"),
    ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval (databases and registers)", "Reports sought for retrieval", "Reports sought for retrieval (databases and registers)", "dbr_sought_reports.html"),
    ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved (databases and registers)", "Reports not retrieved", "Reports not retrieved (databases and registers)", "dbr_notretrieved_reports.html"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval (other)", "Reports sought for retrieval", "Reports sought for retrieval (other)", "other_sought_reports.html"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved (other)", "Reports not retrieved", "Reports not retrieved (other)", "other_notretrieved_reports.html"),
    ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility (databases and registers)", "Reports assessed for eligibility", "Reports assessed for eligibility (databases and registers)", "dbr_assessed.html"),
    ("dbr_excluded", "node14", "box9", _EXCL_DESC.format(col="databases and registers"), "Reports excluded", "Reports excluded (databases and registers)", "dbrexcludedrecords.html"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility (other)", "Reports assessed for eligibility", "Reports assessed for eligibility (other)", "other_assessed.html"),
    ("other_excluded", "node21", "box15", _EXCL_DESC.format(col="other"), "Reports excluded", "Reports excluded (other)", "other_excluded.html"),
    ("new_studies", "node15", "box10", "New studies included in review", "New studies included in review", "New studies included in review", "new_studies.html"),
    ("new_reports", "NA", "box10", "Reports of new included studies", "Reports of new included studies", "NA", "NA"),
    ("total_studies", "node22", "box16", "Total studies included in review", "Total studies included in review", "Total studies included in review", "total_studies.html"),
    ("total_reports", "NA", "box16", "Reports of total included studies", "Reports of total included studies", "NA", "NA"),
    ("identification", "node1", "identification", "Blue identification box", "Identification", "Blue identification box", "identification.html"),
    ("screening", "node2", "screening", "Blue screening box", "Screening", "Blue screening box", "screening.html"),
    ("included", "node3", "included", "Blue included box", "Included", "Blue included box", "included.html"),
)

MA_ROWS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("total_studies_ma", "NA", "box17", "Total studies included in meta-analysis", "Total studies included in meta-analysis", "NA", "NA"),
    ("total_reports_ma", "NA", "box17", "Reports of total included studies in meta-analysis", "Reports of total included studies in meta-analysis", "NA", "NA"),
)

LIST_KEYS = ("database_specific_results", "register_specific_results", "dbr_excluded", "other_excluded")


def clean_label(label: str) -> str:
    """A label safe inside ``"Label, n; Label, n"``: commas and semicolons become spaces/dashes."""
    text = " ".join(str(label).replace(";", " -").replace(",", " ").split())
    return text or "Unlabelled"


def format_list(items: Mapping[str, Any]) -> str:
    """``{"Embase": 12, "MEDLINE": 30}`` -> ``"Embase, 12; MEDLINE, 30"`` (order kept)."""
    return "; ".join(f"{clean_label(k)}, {int(v)}" for k, v in items.items())


def parse_list(text: str) -> dict[str, int]:
    """Inverse of :func:`format_list` (how ``PRISMA_parse_reasons_`` reads the cell)."""
    out: dict[str, int] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        label, _, number = part.rpartition(",")
        out[label.strip()] = int(number.strip())
    return out


def _cell(key: str, data: Mapping[str, Any]) -> str:
    if key in ("NA", "identification", "screening", "included"):
        return "0"
    value = data.get(key)
    if key in LIST_KEYS:
        return format_list(value) if isinstance(value, Mapping) and value else ""
    if value is None:
        return "0"
    return str(int(value))


def render_csv(data: Mapping[str, Any], *, meta_analysis: bool = False) -> str:
    """The template CSV with ``n`` filled from ``data`` (quoted like R's ``write.csv``: only where needed).

    Empty ``*_specific_results``/``*_excluded`` cells are left empty, which the package treats as "no line";
    previous-review rows are empty for a new review.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    rows = TEMPLATE_ROWS + (MA_ROWS if meta_analysis else ())
    for row in rows:
        writer.writerow([*row, _cell(row[0], data)])
    return buffer.getvalue()


def read_csv(text: str) -> dict[str, Any]:
    """Read a PRISMA2020 template CSV back into a ``data`` dict (numbers as ints, lists as dicts)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or tuple(reader.fieldnames) != COLUMNS:
        raise InputError(
            f"PRISMA CSV header is {reader.fieldnames!r}, expected {','.join(COLUMNS)}. "
            "Use the PRISMA2020 template (synth prisma --format csv writes one)."
        )
    out: dict[str, Any] = {}
    for row in reader:
        key, n = row["data"], (row["n"] or "").strip()
        if key in ("NA", "identification", "screening", "included"):
            continue
        if key in LIST_KEYS:
            out[key] = parse_list(n) if n else {}
        else:
            out[key] = int(n) if n else None
    return out
