"""Accounting identities of the PRISMA 2020 flow, checked on a counts dictionary.

PRISMA itself states no arithmetic and the PRISMA2020 R package validates nothing (its issue #77), so a tool
must: every box should follow from the one above it. A break is not an error (one record can yield several
reports; decisions may be pending) but is reported as a :class:`IdentityWarning` with the numbers on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class IdentityWarning:
    """One identity that does not hold: ``left`` should equal ``right`` (``relation`` says how)."""

    rule: str
    left: int
    right: int
    relation: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _n(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    return int(value) if value is not None else 0


def _sum(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key) or {}
    return int(sum(int(v) for v in value.values())) if isinstance(value, Mapping) else 0


def check_identities(data: Mapping[str, Any]) -> list[IdentityWarning]:
    """Check the accounting identities of a :func:`~synth.prisma.counts.compute_counts` result.

    Identities (databases/registers column, then the other column and the totals):

    1. ``database_results`` = sum of ``database_specific_results`` (when given); same for registers.
    2. ``records_screened`` = identified - duplicates - automation-ineligible - removed for other reasons.
    3. ``records_excluded`` = human + automation exclusions (``records_excluded_detail``).
    4. ``dbr_sought_reports`` = ``records_screened`` - ``records_excluded``.
    5. ``dbr_assessed`` = sought - not retrieved.
    6. reports included from databases = assessed - sum of ``dbr_excluded`` reasons; same for other methods;
       the two add up to ``new_reports``.
    7. ``new_studies`` <= ``new_reports``; ``total_studies`` = previous + new; same for reports.
    """
    out: list[IdentityWarning] = []

    def eq(rule: str, left: int, right: int, message: str) -> None:
        if left != right:
            out.append(IdentityWarning(rule, left, right, "==", message.format(left=left, right=right)))

    def le(rule: str, left: int, right: int, message: str) -> None:
        if left > right:
            out.append(IdentityWarning(rule, left, right, "<=", message.format(left=left, right=right)))

    spec_db = data.get("database_specific_results")
    if isinstance(spec_db, Mapping) and spec_db:
        eq("databases-sum", _n(data, "database_results"), _sum(data, "database_specific_results"),
           "database_results ({left}) differs from the sum over databases ({right}).")
    spec_reg = data.get("register_specific_results")
    if isinstance(spec_reg, Mapping) and spec_reg:
        eq("registers-sum", _n(data, "register_results"), _sum(data, "register_specific_results"),
           "register_results ({left}) differs from the sum over registers ({right}).")

    identified = _n(data, "database_results") + _n(data, "register_results")
    removed = _n(data, "duplicates") + _n(data, "excluded_automatic") + _n(data, "excluded_other")
    pending = data.get("pending") or {}
    not_screened = int(pending.get("records_not_screened", 0)) if isinstance(pending, Mapping) else 0
    expected_screened = identified - removed
    eq("screened", _n(data, "records_screened"), expected_screened,
       "records_screened ({left}) != identified " + f"{identified} - duplicates {_n(data, 'duplicates')} - "
       f"automation {_n(data, 'excluded_automatic')} - other {_n(data, 'excluded_other')}" + " = {right}"
       + (f" ({not_screened} unique records not yet screened)" if not_screened else "") + ".")

    detail = data.get("records_excluded_detail")
    if isinstance(detail, Mapping):
        eq("excluded-split", _n(data, "records_excluded"), int(detail.get("human", 0)) + int(detail.get("automation", 0)),
           "records_excluded ({left}) != excluded by a human + by automation ({right}).")

    sought_expected = _n(data, "records_screened") - _n(data, "records_excluded")
    eq("sought", _n(data, "dbr_sought_reports"), sought_expected,
       "dbr_sought_reports ({left}) != records_screened - records_excluded = {right} "
       "(fine if one record led to several reports; otherwise a screening decision is missing).")

    assessed_expected = _n(data, "dbr_sought_reports") - _n(data, "dbr_notretrieved_reports")
    eq("assessed", _n(data, "dbr_assessed"), assessed_expected,
       "dbr_assessed ({left}) != dbr_sought_reports - dbr_notretrieved_reports = {right}"
       + _pending_note(pending, "dbr_reports_not_decided") + ".")
    other_assessed_expected = _n(data, "other_sought_reports") - _n(data, "other_notretrieved_reports")
    eq("other-assessed", _n(data, "other_assessed"), other_assessed_expected,
       "other_assessed ({left}) != other_sought_reports - other_notretrieved_reports = {right}"
       + _pending_note(pending, "other_reports_not_decided") + ".")

    included_dbr = _n(data, "dbr_assessed") - _sum(data, "dbr_excluded")
    included_other = _n(data, "other_assessed") - _sum(data, "other_excluded")
    le("excluded-reasons", _sum(data, "dbr_excluded"), _n(data, "dbr_assessed"),
       "reports excluded with reasons ({left}) exceed reports assessed ({right}).")
    eq("included-reports", _n(data, "new_reports"), included_dbr + included_other,
       "new_reports ({left}) != (dbr_assessed - dbr_excluded) + (other_assessed - other_excluded) = {right}.")
    le("studies-reports", _n(data, "new_studies"), _n(data, "new_reports"),
       "new_studies ({left}) exceeds new_reports ({right}): every study needs at least one report.")
    eq("total-studies", _n(data, "total_studies"), _n(data, "previous_studies") + _n(data, "new_studies"),
       "total_studies ({left}) != previous_studies + new_studies = {right}.")
    eq("total-reports", _n(data, "total_reports"), _n(data, "previous_reports") + _n(data, "new_reports"),
       "total_reports ({left}) != previous_reports + new_reports = {right}.")
    le("ma-studies", _n(data, "total_studies_ma"), _n(data, "total_studies"),
       "studies in meta-analysis ({left}) exceed studies included ({right}).")
    for key in ("database_results", "register_results", "records_screened", "dbr_assessed"):
        if _n(data, key) < 0:
            out.append(IdentityWarning("non-negative", _n(data, key), 0, ">=", f"{key} is negative ({_n(data, key)})."))
    return out


def _pending_note(pending: Any, key: str) -> str:
    if isinstance(pending, Mapping) and int(pending.get(key, 0)):
        return f" ({int(pending[key])} full-text decisions pending)"
    return ""
