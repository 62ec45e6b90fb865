"""File-level wrappers for PubMed XML and OpenAlex JSON, giving the importer its per-record items."""

from __future__ import annotations

from collections.abc import Iterator

from synth.importers.base import ParseContext, Skipped
from synth.importers.encoding import Decoded
from synth.importers.openalex_json import openalex_work_to_record, works_from_json
from synth.importers.pubmed_xml import parse_pubmed_xml
from synth.records.export import record_from_dict
from synth.records.model import Record


def _check(record: Record, number: int) -> Record | Skipped:
    if record.title or record.abstract or record.authors or record.doi or record.pmid or record.openalex_id:
        return record
    return Skipped(number, None, "no content: no title, abstract, authors or identifiers")


def parse_pubmed_file(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    for number, record in enumerate(parse_pubmed_xml(src.data, source=ctx.source, file=ctx.file), 1):
        yield _check(record, number)


def parse_openalex_file(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    for number, work in enumerate(works_from_json(src.text(), file=ctx.file), 1):
        yield _check(openalex_work_to_record(work, source=ctx.source, file=ctx.file, record_number=number), number)


def parse_synth_json(src: Decoded, ctx: ParseContext) -> Iterator[Record | Skipped]:
    """Records exported by ``synth records export --format json`` (provenance source replaced by this import's)."""
    for number, item in enumerate(works_from_json(src.text(), file=ctx.file), 1):
        record = record_from_dict(item)
        record.provenance.file = ctx.file
        record.provenance.record_number = number
        if item.get("id") is not None and not record.provenance.source_record_id:
            record.provenance.source_record_id = str(item["id"])
        if not record.provenance.source:
            record.provenance.source = ctx.source
        yield record if record.has_content() else Skipped(number, None, "no content: an empty record")
