"""What every format parser produces: a stream of records and skipped record starts, plus warnings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from synth.importers.encoding import Decoded
from synth.records.model import Record

__all__ = ["Parser", "ParseContext", "Skipped"]


@dataclass(frozen=True)
class Skipped:
    """A record start that produced no record: where it was and why."""

    record_number: int
    line: int | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"record_number": self.record_number, "line": self.line, "reason": self.reason}


@dataclass
class ParseContext:
    """Per-file settings and the warnings a parser collects while streaming."""

    file: str
    source: str = ""
    column_map: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    detected_source: str = ""

    def warn(self, message: str) -> None:
        self.warnings.append(message)


#: A parser turns decoded input into one item per record start seen: a Record, or a Skipped.
Parser = Callable[[Decoded, ParseContext], Iterator[Record | Skipped]]
