"""Email address validation (what a sign-up form can honestly check without sending mail)."""

from __future__ import annotations

import re

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def normalize_email(text: str) -> str | None:
    """The address with its domain lower-cased, or None if it is not a plausible address."""
    value = text.strip()
    if len(value) > 254 or not _EMAIL.match(value) or ".." in value:
        return None
    local, _, domain = value.rpartition("@")
    if local.startswith(".") or local.endswith("."):
        return None
    return f"{local}@{domain.lower()}"
