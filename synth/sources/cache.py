"""An on-disk cache of successful API responses (``synth search run --cache``), for reproducible re-runs.

Keys are SHA-256 hashes of the *redacted* request (method, URL, parameters, form body), so API keys and
contact addresses never reach the cache, and one cache can be shared between people. Each entry is two files,
``<key>.json`` (status, headers, the redacted request) and ``<key>.body``, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

#: Response headers worth keeping (never cookies or anything identifying).
_KEEP_HEADERS = ("content-type", "x-rate-limit-limit", "x-rate-limit-interval", "ratelimit-limit")


class _HasBody(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes: ...


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def cache_key(request: Mapping[str, Any]) -> str:
    payload = json.dumps(request, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResponseCache:
    """Responses on disk under ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.json", folder / f"{key}.body"

    def get(self, request: Mapping[str, Any]) -> CachedResponse | None:
        meta_path, body_path = self._paths(cache_key(request))
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        return CachedResponse(int(meta["status"]), dict(meta.get("headers", {})), body)

    def put(self, request: Mapping[str, Any], response: _HasBody) -> None:
        key = cache_key(request)
        meta_path, body_path = self._paths(key)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        headers = {k: v for k, v in response.headers.items() if k.lower() in _KEEP_HEADERS}
        meta = {"status": response.status, "headers": headers, "request": dict(request)}
        for path, data in ((body_path, response.body),
                           (meta_path, json.dumps(meta, ensure_ascii=False, default=str).encode("utf-8"))):
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)

    def discard(self, request: Mapping[str, Any]) -> None:
        """Forget one entry (used when a cached body turns out to be malformed)."""
        for path in self._paths(cache_key(request)):
            path.unlink(missing_ok=True)
