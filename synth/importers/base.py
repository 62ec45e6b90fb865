"""What every format parser produces: a stream of records and skipped record starts, plus warnings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from synth.importers.encoding import Decoded
from synth.records.model import Record
from synth.wording import count

__all__ = ["ParseContext", "Parser", "Skipped", "count_missing"]


@dataclass(frozen=True)
class Skipped:
    """A record start that produced no record: where it was and why."""

    record_number: int
    line: int | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"record_number": self.record_number, "line": self.line, "reason": self.reason}


def count_missing(record: Record, missing: dict[str, int]) -> None:
    """Count the fields an import report lists as missing (``abstract``, ``doi``, ``year``) for one record."""
    if not record.abstract:
        missing["abstract"] += 1
    if not record.doi:
        missing["doi"] += 1
    if record.year is None:
        missing["year"] += 1


MAX_WARNINGS = 50


@dataclass
class ParseContext:
    """Per-file settings and the warnings a parser collects while streaming."""

    file: str
    source: str = ""
    column_map: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    detected_source: str = ""

    more_warnings: int = 0

    def warn(self, message: str) -> None:
        """Keep the first :data:`MAX_WARNINGS` warnings; count the rest (a file without any ER would
        otherwise give one warning per record)."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.more_warnings += 1

    def all_warnings(self) -> list[str]:
        extra = [f"... and {count(self.more_warnings, 'more warning')} like these"] if self.more_warnings else []
        return [*self.warnings, *extra]


#: A parser turns decoded input into one item per record start seen: a Record, or a Skipped.
Parser = Callable[[Decoded, ParseContext], Iterator[Record | Skipped]]
