"""Errors raised while searching the bibliographic APIs.

All are :class:`synth.errors.SynthError` subclasses, so the CLI prints them as one ``Error: ...`` line. Each
message says which source, request or page failed and how to carry on (a failed run is resumable).
"""

from __future__ import annotations

from synth.errors import SynthError


class SearchError(SynthError):
    """A search could not be completed."""


class NetworkError(SearchError):
    """The API could not be reached (connection refused, DNS, timeouts) even after retries."""


class ApiError(SearchError):
    """The API answered with an error that retrying will not fix (400 bad query, 401/403 key problems)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CursorExpired(SearchError):
    """A paging cursor (Crossref ``cursor``, NCBI ``WebEnv``) is no longer valid; paging must restart."""


class MalformedResponse(SearchError):
    """A response body could not be parsed (truncated JSON/XML, an HTML page instead of data)."""
