"""Advertiser consent URL and redirect parsing (spec §2.1, §2.2)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

DEFAULT_AUTH_URL = "https://business-api.tiktok.com/portal/auth"


def consent_url(
    app_id: str, state: str, redirect_uri: str, auth_url: str = DEFAULT_AUTH_URL
) -> str:
    """Build the advertiser consent URL: `<auth_url>?app_id=…&state=…&redirect_uri=…`."""
    parts = urlsplit(auth_url)
    query = urlencode({"app_id": app_id, "state": state, "redirect_uri": redirect_uri})
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def auth_code_from_redirect(query: Mapping[str, str]) -> str | None:
    """Read the auth code from the redirect query: `auth_code` first, then `code` (spec §2.2)."""
    return query.get("auth_code") or query.get("code") or None
