"""PRISMA 2020 flow counts from plain inputs: a pure function, no I/O.

The output keys are the ``data`` keys of the PRISMA2020 R package's CSV template (Haddaway, Page, Pritchard &
McGuinness 2022, Campbell Systematic Reviews 18:e1230), so the same dictionary feeds the JSON, the CSV template
and the diagram. Definitions follow Page et al. (2021, BMJ 372:n71): a *record* is a title/abstract from a
source, a *report* is a document about a study, a *study* may have several reports.

Conventions (documented in ``docs/prisma.md``):

* Records identified are counted per source **before** deduplication.
* A deduplicated cluster belongs to the databases-and-registers column if any of its records came from a
  database or register; otherwise to the other-methods column (which has no records-screened box).
* ``duplicates`` = records identified in the databases/registers column - clusters in that column, unless the
  caller passes the number the dedup log gives.
* ``records_excluded`` = excluded by a human + excluded by automation (for instance records left unscreened
  when an active-learning stopping rule fired); the split is kept in ``records_excluded_detail``.
* One record leads to one report; a report excluded at full text is counted once, under its primary (first)
  reason, so the reasons sum to the excluded total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Column = Literal["dbr", "other"]
TitleAbstract = Literal["include", "exclude", "exclude-automation"]
PreScreening = Literal["automation", "other"]
FullText = Literal["include", "exclude"]

OTHER_KINDS = ("website", "organisation", "citation")
"""The other-methods sources the template has boxes for; anything else is folded into ``citations_results``'s
neighbours as ``other_results`` (reported, and drawn, under its own name)."""


@dataclass(frozen=True)
class ClusterFlow:
    """What happened to one unique record (a dedup cluster) after identification.

    Parameters
    ----------
    column
        ``"dbr"`` (databases and registers) or ``"other"`` (websites, organisations, citation searching...).
    removed_before_screening
        ``"automation"`` (marked ineligible by an automation tool before screening), ``"other"`` (removed for
        another reason) or ``None``.
    title_abstract
        Final title/abstract decision: ``include``, ``exclude`` (by a human), ``exclude-automation`` (e.g. left
        unscreened after a stopping rule) or ``None`` (not yet screened). Ignored in the other column.
    retrieved
        Full text obtained (``True``), sought but not obtained (``False``), or not sought (``None``; then it
        counts as sought when the record passed title/abstract or came from other methods).
    full_text
        Final full-text decision, ``include``/``exclude``, or ``None`` (pending).
    exclusion_reason
        Label of the primary reason when ``full_text == "exclude"``.
    study_id
        The study the report belongs to (several reports may share one); defaults to the cluster itself.
    key
        Identifier of the cluster, used in warnings.
    """

    column: Column = "dbr"
    removed_before_screening: PreScreening | None = None
    title_abstract: TitleAbstract | None = None
    retrieved: bool | None = None
    full_text: FullText | None = None
    exclusion_reason: str | None = None
    study_id: str | None = None
    key: str = ""
    in_meta_analysis: bool = False


@dataclass(frozen=True)
class PrismaInputs:
    """Everything the flow diagram needs, as plain numbers and per-cluster outcomes."""

    database_results: Mapping[str, int] = field(default_factory=dict)
    register_results: Mapping[str, int] = field(default_factory=dict)
    other_results: Mapping[str, int] = field(default_factory=dict)
    """Other methods by kind: ``website``, ``organisation``, ``citation`` (others are kept under their name)."""
    other_sources: Mapping[str, int] = field(default_factory=dict)
    """Other methods by source name (the import's source, e.g. "Included studies of Smith 2020"), for the text
    beside the diagram; the boxes count by kind."""
    clusters: tuple[ClusterFlow, ...] = ()
    adopted_inclusions: int = 0
    """Reports included at full text on a decision adopted from elsewhere (not assessed against this protocol)."""
    duplicates: int | None = None
    """Duplicates removed as the dedup log says; ``None`` derives it from identified minus unique records."""
    previous_studies: int | None = None
    previous_reports: int | None = None
    notes: tuple[str, ...] = ()
    """Warnings from gathering (e.g. a stage with no tables yet), carried into the result."""


def _nonneg(name: str, value: int) -> int:
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def compute_counts(inputs: PrismaInputs) -> dict[str, Any]:
    """Compute every PRISMA2020 ``data`` key from ``inputs``.

    Returns a dict with the template keys (integers, or ``{label: n}`` objects for ``database_specific_results``,
    ``register_specific_results``, ``dbr_excluded`` and ``other_excluded``) plus ``records_excluded_detail``
    (``{"human": n, "automation": n}``), ``other_specific_results`` (other-method sources beyond the three
    template boxes), ``pending`` (records/reports without a final decision) and ``notes``.
    The previous-review keys are present (``None`` for a new review).
    """
    db = {str(k): _nonneg(f"database {k!r}", v) for k, v in inputs.database_results.items()}
    reg = {str(k): _nonneg(f"register {k!r}", v) for k, v in inputs.register_results.items()}
    other = {str(k): _nonneg(f"other source {k!r}", v) for k, v in inputs.other_results.items()}
    identified_dbr = sum(db.values()) + sum(reg.values())

    dbr = [c for c in inputs.clusters if c.column == "dbr"]
    oth = [c for c in inputs.clusters if c.column == "other"]

    duplicates = (
        _nonneg("duplicates", inputs.duplicates) if inputs.duplicates is not None else max(identified_dbr - len(dbr), 0)
    )
    excluded_automatic = sum(1 for c in dbr if c.removed_before_screening == "automation")
    excluded_other = sum(1 for c in dbr if c.removed_before_screening == "other")
    entering = [c for c in dbr if c.removed_before_screening is None]
    screened = [c for c in entering if c.title_abstract is not None]
    excl_human = sum(1 for c in screened if c.title_abstract == "exclude")
    excl_auto = sum(1 for c in screened if c.title_abstract == "exclude-automation")
    passed = [c for c in screened if c.title_abstract == "include"]

    dbr_reports = _report_counts(passed)
    oth_reports = _report_counts([c for c in oth if c.removed_before_screening is None])

    included = dbr_reports["included"] + oth_reports["included"]
    studies = {c.study_id or f"cluster:{c.key or id(c)}" for c in included}
    ma = [c for c in included if c.in_meta_analysis]
    ma_studies = {c.study_id or f"cluster:{c.key or id(c)}" for c in ma}

    new_studies, new_reports = len(studies), len(included)
    prev_s, prev_r = inputs.previous_studies, inputs.previous_reports
    total_studies = new_studies + (prev_s or 0)
    total_reports = new_reports + (prev_r or 0)

    data: dict[str, Any] = {
        "previous_studies": prev_s,
        "previous_reports": prev_r,
        "database_results": sum(db.values()),
        "database_specific_results": db,
        "register_results": sum(reg.values()),
        "register_specific_results": reg,
        "website_results": other.get("website", 0),
        "organisation_results": other.get("organisation", 0),
        "citations_results": other.get("citation", 0),
        "other_specific_results": {k: v for k, v in other.items() if k not in OTHER_KINDS},
        "other_sources": {str(k): _nonneg(f"other source {k!r}", v) for k, v in sorted(inputs.other_sources.items())},
        "adopted_inclusions": _nonneg("adopted inclusions", inputs.adopted_inclusions),
        "duplicates": duplicates,
        "excluded_automatic": excluded_automatic,
        "excluded_other": excluded_other,
        "records_screened": len(screened),
        "records_excluded": excl_human + excl_auto,
        "records_excluded_detail": {"human": excl_human, "automation": excl_auto},
        "dbr_sought_reports": dbr_reports["sought"],
        "dbr_notretrieved_reports": dbr_reports["notretrieved"],
        "dbr_assessed": dbr_reports["assessed"],
        "dbr_excluded": dbr_reports["excluded"],
        "other_sought_reports": oth_reports["sought"],
        "other_notretrieved_reports": oth_reports["notretrieved"],
        "other_assessed": oth_reports["assessed"],
        "other_excluded": oth_reports["excluded"],
        "new_studies": new_studies,
        "new_reports": new_reports,
        "total_studies": total_studies,
        "total_reports": total_reports,
        "total_studies_ma": len(ma_studies),
        "total_reports_ma": len(ma),
        "pending": {
            "records_not_screened": len(entering) - len(screened),
            "dbr_reports_not_decided": dbr_reports["pending"],
            "other_reports_not_decided": oth_reports["pending"],
        },
        "notes": list(inputs.notes),
    }
    return data


def _report_counts(clusters: Iterable[ClusterFlow]) -> dict[str, Any]:
    sought = notretrieved = assessed = pending = 0
    reasons: Counter[str] = Counter()
    included: list[ClusterFlow] = []
    for c in clusters:
        sought += 1
        if c.retrieved is False:
            notretrieved += 1
            continue
        if c.full_text is None:
            pending += 1
            continue
        assessed += 1
        if c.full_text == "exclude":
            reasons[c.exclusion_reason or "Reason not recorded"] += 1
        else:
            included.append(c)
    return {
        "sought": sought,
        "notretrieved": notretrieved,
        "assessed": assessed,
        "excluded": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "pending": pending,
        "included": included,
    }


def other_methods_used(data: Mapping[str, Any]) -> bool:
    """Whether the other-methods column has anything to show."""
    keys = ("website_results", "organisation_results", "citations_results", "other_sought_reports")
    return any(int(data.get(k) or 0) > 0 for k in keys) or bool(data.get("other_specific_results"))


def is_update(data: Mapping[str, Any]) -> bool:
    """Whether the previous-studies column is used (an updated review)."""
    return data.get("previous_studies") is not None or data.get("previous_reports") is not None
