"""Screening state read from the store as screening's model, and the one rule of what a stage included.

The store returns plain rows; here they become :class:`~synth.screening.decisions.Decision` and
:class:`~synth.screening.decisions.Resolution`. :func:`stage_outcomes` is the single place where a stage's
decisions and resolutions are added up (:func:`~synth.screening.decisions.outcomes`) into where each record
stands: the screening commands, PRISMA and the extraction check all ask it which records a stage included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from synth.screening.decisions import Decision, Outcome, Resolution, outcomes
from synth.screening.prioritise import document
from synth.store import records as rstore
from synth.store import screening as db


def active_decisions(conn: sa.Connection, stage: str | None = None, reviewer: str | None = None) -> list[Decision]:
    """The active decisions (optionally of one stage and reviewer), oldest first."""
    return [Decision(**row) for row in db.decision_rows(conn, stage, reviewer)]


def resolutions(conn: sa.Connection, stage: str) -> dict[int, Resolution]:
    """The active resolution of each record at ``stage``."""
    return {int(row["record_id"]): Resolution(**row) for row in db.resolution_rows(conn, stage)}


@dataclass(frozen=True)
class StageOutcomes:
    """A stage's active decisions and resolutions, and the outcome of each record of its pool."""

    stage: str
    decisions: list[Decision]
    resolutions: dict[int, Resolution]
    outcomes: dict[int, Outcome]

    @property
    def included(self) -> set[int]:
        """The records this stage included."""
        return {rid for rid, o in self.outcomes.items() if o.status == "include"}

    @property
    def started(self) -> bool:
        """Whether anyone decided or resolved anything at this stage."""
        return bool(self.decisions or self.resolutions)


def stage_outcomes(conn: sa.Connection, stage: str, *, required: int, pool: Iterable[int] | None = None,
                   criteria_order: Sequence[str] = ()) -> StageOutcomes:
    """Where each record of ``pool`` stands at ``stage`` (``required`` reviewers per record; resolutions win;
    the reported reason is the first in ``criteria_order``). Without ``pool``: every record someone decided or
    resolved at the stage."""
    decisions = active_decisions(conn, stage)
    resolved = resolutions(conn, stage)
    ids = list(pool) if pool is not None else sorted({d.record_id for d in decisions} | set(resolved))
    outs = outcomes(ids, decisions, stage=stage, required=required, resolutions=resolved,
                    criteria_order=criteria_order)
    return StageOutcomes(stage, decisions, resolved, outs)


def texts(conn: sa.Connection, ids: Iterable[int] | None = None) -> dict[int, str]:
    """The text each record is ranked on (:func:`synth.screening.prioritise.document`)."""
    return {rid: document(title, abstract) for rid, (title, abstract) in db.title_abstracts(conn, ids).items()}


def open_access_link(pmcid: str | None, raw: Any) -> str:
    """An open-access link from a record's OpenAlex metadata (``open_access.oa_url``, then
    ``best_oa_location``'s PDF or landing page) or its PMCID (Europe PMC); empty when there is none."""
    url = ""
    if isinstance(raw, dict):
        oa = raw.get("open_access") or {}
        best = raw.get("best_oa_location") or {}
        if isinstance(oa, dict):
            url = oa.get("oa_url") or ""
        if not url and isinstance(best, dict):
            url = best.get("pdf_url") or best.get("landing_page_url") or ""
    if not url and pmcid:
        url = f"https://europepmc.org/article/PMC/{pmcid.removeprefix('PMC')}"
    return str(url)


def open_access_links(conn: sa.Connection, ids: Sequence[int]) -> dict[int, str]:
    """An open-access link per record that has one (see :func:`open_access_link`)."""
    links = {int(r["id"]): open_access_link(r["pmcid"], r["raw"]) for r in rstore.open_access_rows(conn, ids)}
    return {rid: url for rid, url in links.items() if url}
