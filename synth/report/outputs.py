"""The I/O shell of the report: the evidence data of a workspace with its PRISMA flow, and the figures drawn
from the workspace's extractions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from synth.analysis.options import pool_options
from synth.analysis.outcome import pool_table
from synth.analysis.table import meta_effects, meta_table
from synth.evidence import evidence_from_workspace
from synth.figures.forest import arms_for, forest_svg
from synth.prisma import prisma_from_store

if TYPE_CHECKING:
    from synth.protocol.model import Protocol
    from synth.store import Store
    from synth.workspace import Workspace


def evidence_report(workspace: Workspace, protocol: Protocol, protocol_name: str,
                    store: Store | None = None, *, prisma: bool = True) -> dict[str, Any]:
    """The evidence report data (``evidence.json``). With ``store``: only the studies included at full text are
    analysed, and (``prisma``) the PRISMA flow is computed from it."""
    if store is None:
        return evidence_from_workspace(workspace, protocol, protocol_name)
    from synth.extraction.files import load_folder
    from synth.extraction.screening_link import included_studies, unextracted

    files = [f for f in load_folder(workspace.extractions_dir(protocol_name))[0] if f.reconciled]
    with store.connect() as conn:
        missing = unextracted(conn, protocol, files)
        included = included_studies(conn, protocol, files)
    return evidence_from_workspace(workspace, protocol, protocol_name,
                                   prisma=prisma_from_store(store, protocol) if prisma else None,
                                   not_extracted=missing, studies=included)


def outcome_forests(workspace: Workspace, protocol: Protocol, protocol_name: str,
                    ev: Mapping[str, Any]) -> dict[str, str]:
    """The forest plot of every outcome of the report with studies (outcome id -> SVG text), drawn from the
    outcome's effect table at the report's timepoint with the protocol's pooling options: the drawing
    ``synth run`` writes as ``figures/forest-<outcome>.svg``, with the studies the report analysed."""
    opts = pool_options(protocol.analysis)
    out = {}
    for o in ev["outcomes"]:
        if o["k"]:
            frame = meta_table(workspace, protocol, o["id"], o.get("timepoint"), protocol_name=protocol_name,
                               studies={str(s["id"]) for s in o.get("studies", [])})
            table = meta_effects(frame)
            out[o["id"]] = forest_svg(table, opts, overall=pool_table(frame, table, opts),
                                      arms=arms_for(protocol, o["id"]))
    return out
