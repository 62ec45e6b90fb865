"""Importers: one module per export format, all producing :class:`synth.records.Record` objects.

``import_file`` (in :mod:`synth.importers.pipeline`) reads, detects, parses and stores one file in one
transaction; ``parse_pubmed_xml`` (:mod:`~synth.importers.pubmed_xml`) and ``openalex_work_to_record``
(:mod:`~synth.importers.openalex_json`) are reused for API responses. Heavier modules load on first use.
"""

from __future__ import annotations

from typing import Any

from synth.importers.detect import FORMATS, detect_format

__all__ = ["FORMATS", "detect_format", "import_file", "openalex_work_to_record", "parse_pubmed_xml"]

_LAZY = {
    "import_file": "synth.importers.pipeline",
    "openalex_work_to_record": "synth.importers.openalex_json",
    "parse_pubmed_xml": "synth.importers.pubmed_xml",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
