"""One call for ``synth run``: every report file of a review into ``out/<protocol>/``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synth.protocol.model import Protocol
    from synth.store import Store
    from synth.workspace import Workspace


def write_review_outputs(
    workspace: Workspace,
    protocol: Protocol,
    protocol_name: str,
    store: Store,
    out_dir: Path | str,
    *,
    png: bool = True,
    previous_studies: int | None = None,
    previous_reports: int | None = None,
) -> dict[str, Any]:
    """Write ``prisma.json``, ``prisma.csv``, ``prisma.svg`` (+ ``prisma.png``), ``evidence.json``,
    ``report.md``, ``report.html`` and ``search-report.md`` into ``out_dir``.

    Returns ``{"paths": {name: Path}, "prisma": counts, "evidence": evidence, "warnings": [...]}`` so the caller
    can print a summary (``evidence["conclusion"]["text"]``) and the PRISMA warnings.
    """
    from synth.evidence import evidence_from_workspace
    from synth.prisma import prisma_from_store, search_report_from_store, write_outputs
    from synth.report.render import write_report

    out = Path(out_dir)
    prisma = prisma_from_store(store, protocol, previous_studies=previous_studies, previous_reports=previous_reports)
    paths: dict[str, Path] = {f"prisma.{k}": v for k, v in write_outputs(prisma, out, png=png).items()}
    ev = evidence_from_workspace(workspace, protocol, protocol_name, prisma=prisma)
    paths.update({{"json": "evidence.json", "md": "report.md", "html": "report.html"}[k]: v
                  for k, v in write_report(ev, out).items()})
    search = out / "search-report.md"
    search.write_text(search_report_from_store(store, protocol), encoding="utf-8")
    paths["search-report.md"] = search
    return {"paths": paths, "prisma": prisma, "evidence": ev,
            "warnings": list(prisma.get("warnings", [])) + list(ev.get("notes", []))}
