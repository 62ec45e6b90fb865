"""The record model shared by every importer, API source, dedup and screening."""

from synth.records.model import Author, Provenance, Record, normalise_doi

__all__ = ["Author", "Provenance", "Record", "normalise_doi"]
