"""Build a tracker client from what the user typed (team contract: base URLs per kind)."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from core.trackers.base import KINDS, TrackerClient, TrackerError, TrackerKind
from core.trackers.binom1 import Binom1Client
from core.trackers.binom2 import Binom2Client
from core.trackers.http import DEFAULT_RETRY, DEFAULT_TIMEOUT_S, RetryPolicy, Sleep
from core.trackers.keitaro import KeitaroClient

# API paths a user may paste along with the address; the client appends its own.
_STRIP_SUFFIXES: dict[TrackerKind, tuple[str, ...]] = {
    "keitaro": ("/admin_api/v1", "/admin_api", "/admin"),
    "binom1": (),
    "binom2": ("/public/api/v1", "/public/api", "/api/doc"),
}


def normalize_url(kind: TrackerKind, url: str) -> str:
    """The canonical address to store for `kind`; TrackerError("bad_url") for non-http(s)."""
    # Keitaro and Binom 2: the tracker's address without the API path (the client appends
    # /admin_api/v1 or /public/api/v1). Binom 1: the panel's PHP entry file (renamed files are
    # kept; a path not ending in .php gets /index.php). Query and fragment are dropped (a
    # pasted Binom 1 panel URL carries the key).
    if kind not in KINDS:
        raise TrackerError("wrong_kind", f"unknown tracker kind {kind!r}")
    text = (url or "").strip()
    if not text:
        raise TrackerError("bad_url", "no address")
    if "://" not in text:
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", text):
            raise TrackerError("bad_url", "the address must start with http:// or https://")
        text = "https://" + text  # a bare host (host:port too), as people type it
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise TrackerError("bad_url", "the address must start with http:// or https://")
    try:
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        raise TrackerError("bad_url", "the port is not a number from 1 to 65535") from None
    path = parts.path.rstrip("/")
    if kind == "binom1":
        if not path.lower().endswith(".php"):
            path += "/index.php"
    else:
        lowered = path.lower()
        for suffix in _STRIP_SUFFIXES[kind]:
            if lowered.endswith(suffix):
                path = path[: len(path) - len(suffix)]
                break
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def make_client(
    kind: TrackerKind,
    base_url: str,
    api_key: str,
    *,
    session: aiohttp.ClientSession | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    timeout: float = DEFAULT_TIMEOUT_S,
    rng: random.Random | None = None,
    sleep: Sleep = asyncio.sleep,
) -> TrackerClient:
    """A client for `kind` at `base_url` (normalised here); `session` stays the caller's."""
    url = normalize_url(kind, base_url)
    if not api_key or not api_key.strip():
        raise TrackerError("bad_key", "no API key")
    cls = {"keitaro": KeitaroClient, "binom1": Binom1Client, "binom2": Binom2Client}[kind]
    return cls(
        url, api_key.strip(), session=session, retry=retry, timeout=timeout, rng=rng, sleep=sleep
    )


def client_factory(
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Callable[[str, str, str], TrackerClient]:
    """`make_client` as the use-cases call it (kind, base_url, api_key), with this timeout per
    call (the service passes TRACKER_TIMEOUT_SECONDS)."""

    def build(kind: str, base_url: str, api_key: str) -> TrackerClient:
        """A client with the configured timeout."""
        return make_client(cast(TrackerKind, kind), base_url, api_key, timeout=timeout)

    return build
