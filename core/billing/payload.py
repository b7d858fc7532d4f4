"""Signed invoice payloads: what the user is buying (user, plan, period, price), with an HMAC so a
pre-checkout can refuse a payload we did not make (telegram-bot-platform.md §4: 1-128 bytes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

VERSION = "p1"
_INFO = b"ttpulse/invoice-payload"


@dataclass(frozen=True)
class Offer:
    """What an invoice sells: `days` of `plan` for `stars`, as a subscription when `recurring`."""

    user_id: int
    plan: str
    days: int
    recurring: bool
    stars: int
    issued_at: datetime


def _subkey(secret: bytes) -> bytes:
    # A key of its own for payloads, so a payload signature says nothing about the vault's key.
    return hmac.new(secret, _INFO, hashlib.sha256).digest()


def _sign(secret: bytes, body: str) -> str:
    mac = hmac.new(_subkey(secret), body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def encode(offer: Offer, secret: bytes) -> str:
    """The payload string for `offer`, signed with `secret` (the current encryption key)."""
    body = ".".join((VERSION, str(offer.user_id), offer.plan, str(offer.days),
                     "r" if offer.recurring else "o", str(offer.stars),
                     str(int(offer.issued_at.timestamp()))))
    return f"{body}.{_sign(secret, body)}"


def decode(payload: str, secrets: Sequence[bytes]) -> Offer | None:
    """The offer a payload names, or None unless one of `secrets` signed it (keys rotate: any
    key still on the keyring verifies)."""
    body, _, sig = payload.rpartition(".")
    parts = body.split(".")
    if len(parts) != 7 or parts[0] != VERSION:
        return None
    if not any(hmac.compare_digest(_sign(s, body), sig) for s in secrets):
        return None
    _, user, plan, days, kind, stars, issued = parts
    try:
        return Offer(int(user), plan, int(days), kind == "r", int(stars),
                     datetime.fromtimestamp(int(issued), UTC))
    except ValueError:
        return None
