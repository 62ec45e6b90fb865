"""One problem found in an extraction file: where (file, field path) and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """A problem in ``file`` at ``path`` (e.g. ``outcomes[2].sd_t``; rows are numbered from 1).

    ``message`` says what is wrong with the offending value; ``fix`` how to fix it.
    """

    file: str
    path: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}. {self.fix}"
