"""Per-source settings from the environment: base URLs, API keys, contact address, and secret redaction.

Keys come only from the environment (``SYNTH_NCBI_API_KEY``, ``SYNTH_OPENALEX_API_KEY``) and the contact
address from ``SYNTH_MAILTO``. They are sent to the API but never logged, cached or stored: every parameter
set that leaves this package for a log, the cache or the database passes through :func:`redact`, and every
secret is registered with :mod:`synth.secrets`, which masks it in every form wherever text leaves the process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from synth import __version__
from synth.errors import InputError
from synth.secrets import REDACTED, register
from synth.secrets import redact_text as _redact_text

#: Parameter names whose values are secrets or personal data.
SECRET_PARAMS = frozenset({"api_key", "email", "mailto", "tool_email"})

DEFAULT_URLS = {
    "pubmed": "https://eutils.ncbi.nlm.nih.gov/entrez/eutils",
    "europepmc": "https://www.ebi.ac.uk/europepmc/webservices/rest",
    "openalex": "https://api.openalex.org",
    "crossref": "https://api.crossref.org",
    "clinicaltrials": "https://clinicaltrials.gov/api/v2",
}
URL_ENV = {
    "pubmed": "SYNTH_PUBMED_URL",
    "europepmc": "SYNTH_EUROPEPMC_URL",
    "openalex": "SYNTH_OPENALEX_URL",
    "crossref": "SYNTH_CROSSREF_URL",
    "clinicaltrials": "SYNTH_CTGOV_URL",
}
SOURCE_NAMES = tuple(DEFAULT_URLS)


@dataclass(frozen=True)
class Settings:
    """What every source needs from the environment."""

    base_urls: Mapping[str, str]
    mailto: str = ""
    ncbi_api_key: str = ""
    openalex_api_key: str = ""
    attempts: int = 6
    """Tries per request before a source is given up (``SYNTH_HTTP_ATTEMPTS``)."""
    timeout: float = 60.0
    """Seconds to wait for a response, and at most 10 to connect (``SYNTH_HTTP_TIMEOUT``)."""
    budget: float = 300.0
    """Seconds one request may spend failing and retrying before its source is given up (``SYNTH_HTTP_BUDGET``)."""

    def base_url(self, source: str) -> str:
        return self.base_urls[source].rstrip("/")

    @property
    def user_agent(self) -> str:
        contact = f"; mailto:{self.mailto}" if self.mailto else ""
        return f"synth/{__version__} (systematic review search; https://github.com/synth{contact})"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.mailto, self.ncbi_api_key, self.openalex_api_key) if s)


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    urls = {name: env.get(URL_ENV[name]) or DEFAULT_URLS[name] for name in SOURCE_NAMES}
    settings = Settings(
        base_urls=urls,
        mailto=env.get("SYNTH_MAILTO", "").strip(),
        ncbi_api_key=env.get("SYNTH_NCBI_API_KEY", "").strip(),
        openalex_api_key=env.get("SYNTH_OPENALEX_API_KEY", "").strip(),
        attempts=int(_positive(env, "SYNTH_HTTP_ATTEMPTS", 6, whole=True)),
        timeout=_positive(env, "SYNTH_HTTP_TIMEOUT", 60.0),
        budget=_positive(env, "SYNTH_HTTP_BUDGET", 300.0),
    )
    register(*settings.secrets)  # masked from here on in everything synth prints, logs or stores
    return settings


def _positive(env: Mapping[str, str], name: str, default: float, *, whole: bool = False) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = 0
    if not value > 0:
        kind = "a whole number" if whole else "a number of seconds"
        raise InputError(f"{name} must be {kind} above 0, got {text!r}. Fix or unset the environment variable.")
    return float(value)


def redact(params: Mapping[str, Any] | None, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """A copy of ``params`` safe to log, cache or store: secret parameters replaced by ``***`` and any
    secret value that appears inside another value masked too."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if key.lower() in SECRET_PARAMS and value not in (None, ""):
            out[key] = REDACTED
        else:
            out[key] = redact_text(str(value), secrets) if isinstance(value, str) else value
    return out


def redact_text(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every form of every secret (``secrets`` and those registered) replaced by ``***``
    (see :func:`synth.secrets.redact_text`)."""
    return _redact_text(text, secrets)
