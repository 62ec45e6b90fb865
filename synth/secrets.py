"""Secrets never leave the process: every known secret is masked, in every form it can take, wherever text
is printed, logged, cached or stored.

API keys and the contact address come only from the environment (:mod:`synth.sources.settings` registers them
here when it reads them). A secret can reach text raw, percent-encoded in a URL (``%2B``/``%2b``, with or
without ``/`` kept, ``+`` for a space), JSON-escaped (``\\/``) or HTML-escaped; :func:`redact_text` masks each
form. The writers that take text out of the process call it: the CLI's error and progress lines
(:mod:`synth.cli.output`, :mod:`synth.cli.app`), the search log in the store (:mod:`synth.store.searches`),
the audit log (:mod:`synth.store.events`) and the HTTP layer's cache and messages.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"
MIN_LENGTH = 3
"""Shorter values are not searched for in free text: masking every "k" or "ab" would damage what is stored.
Real API keys and e-mail addresses are far longer; a secret *parameter* is masked whatever its length
(:func:`synth.sources.settings.redact`)."""

_lock = threading.Lock()
_registered: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register(*values: str) -> None:
    """Remember ``values`` (empty ones are ignored) as secrets for the rest of the process."""
    global _pattern
    with _lock:
        new = {v for v in values if v} - _registered
        if new:
            _registered.update(new)
            _pattern = None


def forms(secret: str) -> set[str]:
    """Every spelling of ``secret`` that can appear in text: raw, percent-encoded (upper- and lower-case hex,
    ``/`` kept or not, ``+`` for spaces), JSON-escaped and HTML-escaped."""
    out = {secret, html.escape(secret), json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret), quote_plus(secret, safe="/")):
        out.add(encoded)
        out.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded))
    return {f for f in out if f}


def _compiled(extra: Iterable[str]) -> re.Pattern[str] | None:
    global _pattern
    extra = tuple(e for e in extra if e and e not in _registered)
    with _lock:
        if _pattern is None and _registered:
            _pattern = _build(_registered)
        base = _pattern
    if not extra:
        return base
    return _build(set(_registered) | set(extra))


def _build(secrets: Iterable[str]) -> re.Pattern[str] | None:
    spellings = sorted({f for s in secrets if len(s) >= MIN_LENGTH for f in forms(s)}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, spellings))) if spellings else None


def redact_text(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every form of every registered secret (and of ``extra``) replaced by ``***``."""
    pattern = _compiled(extra)
    if pattern is None or not text:
        return text
    return pattern.sub(REDACTED, text)


def redact_value(value: Any, extra: Iterable[str] = ()) -> Any:
    """``value`` (text, or dicts and lists of them, as stored in JSON columns) with every secret masked."""
    extra = tuple(extra)
    if isinstance(value, str):
        return redact_text(value, extra)
    if isinstance(value, dict):
        return {k: redact_value(v, extra) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v, extra) for v in value)
    return value
