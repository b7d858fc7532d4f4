"""The OAuth `state`: signed, bound to one Telegram user, short-lived; single use is enforced by
its nonce row in the database (storage.models.OAuthState).

Format: `<nonce>.<user_id>.<expires_unix>.<mac>`, the MAC an HMAC-SHA256 (truncated to 128 bits)
under a key derived with HKDF from each ENCRYPTION_KEYS key, so any configured key verifies and
rotation needs no extra secret. TikTok echoes `state` back unchanged (spec §2.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.vault import Keyring


class StateForged(ValueError):
    """The state was not made by this service (or was edited)."""


@dataclass(frozen=True)
class StateClaims:
    """What a verified state says."""

    nonce: str
    user_id: int
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class StateSigner:
    """Signs and verifies OAuth states with keys derived from the vault keyring."""

    def __init__(self, keyring: Keyring) -> None:
        self._keys = [self._derive(k.secret) for k in keyring.keys]

    @staticmethod
    def _derive(secret: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"ttpulse/oauth-state/v1").derive(secret)

    @staticmethod
    def _mac(key: bytes, payload: str) -> str:
        return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:16])

    def issue(self, user_id: int, expires: int) -> tuple[str, StateClaims]:
        """A fresh state for this user, valid until the unix time `expires`."""
        claims = StateClaims(_b64(secrets.token_bytes(16)), user_id, expires)
        payload = f"{claims.nonce}.{user_id}.{expires}"
        return f"{payload}.{self._mac(self._keys[0], payload)}", claims

    def verify(self, state: str) -> StateClaims:
        """The claims of a state this service signed; StateForged otherwise."""
        parts = state.split(".")
        if len(parts) != 4 or len(state) > 200:
            raise StateForged("malformed state")
        nonce, user, expires, mac = parts
        payload = f"{nonce}.{user}.{expires}"
        if not any(hmac.compare_digest(mac, self._mac(k, payload)) for k in self._keys):
            raise StateForged("bad signature")
        try:
            return StateClaims(nonce, int(user), int(expires))
        except ValueError:
            raise StateForged("malformed state") from None
