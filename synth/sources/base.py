"""What every source module provides, and the search strategy it is given.

A source is pure request building and response parsing plus a thin paging step: :meth:`Source.fetch` takes
the paging *state* (a small JSON-able dict: cursor, token, offset...) and returns one :class:`Page` with the
records and the next state (``None`` when the result set is exhausted). The runner stores each state after
its page is stored, which is what makes runs resumable.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from synth.errors import InputError
from synth.records.model import Record
from synth.sources.errors import MalformedResponse
from synth.sources.http import HttpClient, Request, Response, api_message
from synth.sources.settings import Settings


@dataclass(frozen=True)
class Strategy:
    """One source's search strategy, taken from the protocol (``sources.<name>``)."""

    source: str
    query: str
    filter: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    languages: tuple[str, ...] = ()
    max_records: int | None = None

    @property
    def field(self) -> str:
        return f"sources.{self.source}.query"

    def limits(self) -> dict[str, Any]:
        return {
            "filter": self.filter,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "languages": list(self.languages),
            "max_records": self.max_records,
        }


def strategy_from_protocol(name: str, api_source: Any, max_records: int | None = None) -> Strategy:
    """Build a :class:`Strategy` from a protocol ``ApiSource``; ``max_records`` overrides the protocol's."""
    limits = api_source.limits
    return Strategy(
        source=name,
        query=api_source.query,
        filter=api_source.filter,
        date_from=limits.date_from,
        date_to=limits.date_to,
        languages=tuple(limits.languages),
        max_records=max_records if max_records is not None else limits.max_records,
    )


@dataclass
class Page:
    """One page of results. Mapping the page to records can be deferred (``build``) so that the runner
    fetches the next page while this one is parsed and stored; ``size`` is the number of items on the page."""

    records: list[Record]
    next_state: dict[str, Any] | None
    hits: int | None = None
    requests: list[Request] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    build: Callable[[], list[Record]] | None = None
    size: int = 0
    nbytes: int = 0

    def materialise(self) -> list[Record]:
        """The page's records (running the deferred mapping once)."""
        if self.build is not None:
            self.records = self.build()
            self.build = None
            self.size = len(self.records)
        return self.records


def deferred(mapper: Callable[[Any], Record], body: bytes,
             items: Callable[[Any], list[Any]]) -> Callable[[], list[Record]]:
    """Map the items of a JSON page later, from its raw body: pages waiting in the fetch-ahead buffer hold
    only bytes (decoding again costs far less than mapping), and the buffer is bounded in bytes."""
    return lambda: [mapper(item) for item in items(json.loads(body))]


class Source(Protocol):
    name: str
    label: str  # the database name as PRISMA-S wants it
    kind: str  # "database" or "register"
    endpoint: str  # path of the main endpoint, for the log

    def initial_state(self, strategy: Strategy) -> dict[str, Any]: ...

    def fetch(self, client: HttpClient, strategy: Strategy, state: dict[str, Any]) -> Page: ...

    def count(self, client: HttpClient, strategy: Strategy) -> Page: ...

    def params(self, settings: Settings, strategy: Strategy) -> dict[str, Any]: ...


def load_json(source: str, resp: Response, where: str) -> Any:
    """Parse a JSON body, or raise :class:`MalformedResponse` naming the source, page and position."""
    try:
        return json.loads(resp.body)
    except RecursionError:
        raise MalformedResponse(
            f"{source}: {where} returned JSON nested too deeply to read. Nothing from this page was stored; "
            "run `synth search run` again later, or report the response to the API's maintainers."
        ) from None
    except ValueError as exc:
        kind = "an HTML page" if resp.body.lstrip()[:1] == b"<" else "malformed JSON"
        pos = getattr(exc, "pos", None)
        at = f" at byte {pos} of {len(resp.body)}" if pos is not None else ""
        raise MalformedResponse(
            f"{source}: {where} returned {kind} instead of JSON{at} ({exc}). Nothing from this page was "
            "stored; run `synth search run` again to resume from this page."
        ) from exc


def blame(strategy: Strategy, resp: Response) -> str:
    """The protocol field an API error is about: ``sources.<name>.filter`` when the API's message names the
    filter or one of its fields, else ``sources.<name>.query``."""
    if resp.status < 400 or not strategy.filter:
        return strategy.field
    message = api_message(resp).lower()
    keys = {part.split(":", 1)[0].split("=", 1)[0].strip().lower() for part in strategy.filter.split(",")}
    if "filter" in message or any(k and k in message for k in keys):
        return f"sources.{strategy.source}.filter"
    return strategy.field


def dated(value: dt.date | None, fmt: str = "%Y-%m-%d") -> str:
    return value.strftime(fmt) if value else ""


def filter_pairs(text: str) -> list[tuple[str, str]]:
    """``key=value`` pairs from a protocol filter written as ``a=b&c=d`` (used by ClinicalTrials.gov)."""
    pairs: list[tuple[str, str]] = []
    for part in (p.strip() for p in text.replace(";", "&").split("&")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise InputError(f"filter '{text}': '{part}' is not key=value. Write e.g. "
                             "filter = \"filter.overallStatus=COMPLETED\".")
        pairs.append((key.strip(), value.strip()))
    return pairs


Clock = Callable[[], float]
