"""PRISMA 2020 flow counts from the store, the PRISMA2020 CSV template, the flow diagram and PRISMA-S text.

Entry points for callers (``synth prisma``, ``synth run``):

* :func:`prisma_from_store` -> counts dict (PRISMA2020 ``data`` keys) with ``warnings``.
* :func:`write_outputs` -> ``prisma.json``, ``prisma.csv``, ``prisma.svg`` (and ``prisma.png``) in a folder.
* :func:`search_report_from_store` -> PRISMA-S Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.prisma.counts import ClusterFlow, PrismaInputs, compute_counts
from synth.prisma.csvtemplate import render_csv
from synth.prisma.diagram import render_png, render_svg
from synth.prisma.gather import dedup_summary, gather_inputs, identified_by_source, import_log, search_log
from synth.prisma.identities import IdentityWarning, check_identities
from synth.prisma.searchreport import search_report

if TYPE_CHECKING:
    from synth.protocol.model import Protocol
    from synth.store import Store

__all__ = [
    "ClusterFlow",
    "IdentityWarning",
    "PrismaInputs",
    "check_identities",
    "compute_counts",
    "prisma_from_store",
    "search_report_from_store",
    "with_warnings",
    "write_outputs",
]


def with_warnings(inputs: PrismaInputs) -> dict[str, Any]:
    """Counts plus ``warnings`` (gathering notes, then identity breaks with their numbers)."""
    data = compute_counts(inputs)
    data["warnings"] = list(data.pop("notes", [])) + [w.message for w in check_identities(data)]
    data["identity_checks"] = [w.to_dict() for w in check_identities(data)]
    return data


def prisma_from_store(
    store: Store,
    protocol: Protocol | None = None,
    *,
    previous_studies: int | None = None,
    previous_reports: int | None = None,
    meta_analysis_record_ids: Iterable[int] = (),
) -> dict[str, Any]:
    """PRISMA 2020 counts for the review in ``store`` (read-only), with warnings."""
    with store.connect() as conn:
        inputs = gather_inputs(conn, protocol, previous_studies=previous_studies,
                               previous_reports=previous_reports, meta_analysis_record_ids=meta_analysis_record_ids)
    return with_warnings(inputs)


def write_outputs(data: dict[str, Any], out_dir: Path | str, *, png: bool = True) -> dict[str, Path]:
    """Write ``prisma.json``, ``prisma.csv``, ``prisma.svg`` (and ``prisma.png``) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "prisma.json", "csv": out / "prisma.csv", "svg": out / "prisma.svg"}
    paths["json"].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths["csv"].write_text(render_csv(data, meta_analysis=bool(data.get("total_studies_ma"))), encoding="utf-8")
    paths["svg"].write_text(render_svg(data), encoding="utf-8")
    if png:
        paths["png"] = render_png(data, out / "prisma.png")
    return paths


def search_report_from_store(store: Store, protocol: Protocol | None = None) -> str:
    """PRISMA-S Markdown from the stored search runs, imports, dedup events and the protocol's file sources."""
    with store.connect() as conn:
        runs = search_log(conn)
        imps = import_log(conn)
        dedup = dedup_summary(conn)
        identified = identified_by_source(conn)
    files = [f.model_dump(mode="json") for f in protocol.sources.files] if protocol is not None else []
    title = protocol.review.title if protocol is not None else ""
    return search_report(runs, imps, files, identified, dedup, title=title)
