"""The token vault: AES-256-GCM encryption at rest with key ids and row-bound associated data.

A sealed value is `b"\\x01" | len(kid) | kid | nonce(12) | ciphertext+tag`. The key id travels with
the ciphertext, so several keys can be accepted for reading while the first one writes, and a
rotation re-seals every value under the newest key without downtime. The associated data names
the owning row (table and id): a ciphertext copied into another row fails to open.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = 1
_NONCE = 12
_KID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class KeyringError(ValueError):
    """ENCRYPTION_KEYS is malformed."""


class VaultError(Exception):
    """A sealed value cannot be opened: wrong key, tampered bytes or moved to another row."""


@dataclass(frozen=True)
class Key:
    """One AES-256 key and its id."""

    kid: str
    secret: bytes = field(repr=False)

    def encode_b64(self) -> str:
        """The key as it is written in ENCRYPTION_KEYS."""
        return base64.b64encode(self.secret).decode()


@dataclass(frozen=True)
class Keyring:
    """Keys in order: the first encrypts, all decrypt."""

    keys: tuple[Key, ...]

    @property
    def current(self) -> Key:
        """The key new values are sealed with."""
        return self.keys[0]

    def get(self, kid: str) -> Key | None:
        """The key with that id, if this keyring has it."""
        return next((k for k in self.keys if k.kid == kid), None)

    def __repr__(self) -> str:
        return f"Keyring(kids={[k.kid for k in self.keys]})"


def parse_keyring(text: str) -> Keyring:
    """Parse `kid:base64key[,kid:base64key...]` with a clear error for each kind of mistake."""
    keys: list[Key] = []
    for n, raw in enumerate((p.strip() for p in text.split(",")), start=1):
        if not raw:
            continue
        kid, sep, b64 = raw.partition(":")
        if not sep:
            raise KeyringError(f"entry {n} has no ':' — expected kid:base64key")
        if not _KID.fullmatch(kid):
            raise KeyringError(f"entry {n}: key id must be 1-32 of A-Z a-z 0-9 _ . -")
        try:
            secret = base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_", validate=False)
        except (binascii.Error, ValueError):
            raise KeyringError(f"entry {n} ({kid}): the key is not valid base64") from None
        if len(secret) != 32:
            raise KeyringError(
                f"entry {n} ({kid}): the key must be 32 bytes (AES-256), got {len(secret)}"
            )
        if any(k.kid == kid for k in keys):
            raise KeyringError(f"entry {n}: key id {kid!r} is used twice")
        keys.append(Key(kid, secret))
    if not keys:
        raise KeyringError("no keys given")
    return Keyring(tuple(keys))


def generate_key_entry(kid: str) -> str:
    """A fresh random `kid:base64key` entry."""
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


def row_aad(table: str, row_id: object) -> bytes:
    """Associated data binding a sealed value to its owning row."""
    return f"{table}:{row_id}".encode()


class Vault:
    """Seals and opens secrets with a keyring."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def __repr__(self) -> str:
        return f"Vault({self._keyring!r})"

    @property
    def current_kid(self) -> str:
        """Id of the key that seals new values."""
        return self._keyring.current.kid

    def seal(self, plaintext: str, aad: bytes) -> bytes:
        """Encrypt under the current key, bound to `aad`."""
        key = self._keyring.current
        nonce = os.urandom(_NONCE)
        kid = key.kid.encode()
        ct = AESGCM(key.secret).encrypt(nonce, plaintext.encode(), aad)
        return bytes([_VERSION, len(kid)]) + kid + nonce + ct

    def open(self, sealed: bytes, aad: bytes) -> str:
        """Decrypt a sealed value; VaultError if it was tampered with, moved or its key is gone."""
        kid = self.key_id_of(sealed)
        key = self._keyring.get(kid)
        if key is None:
            raise VaultError(f"no key with id {kid!r} in ENCRYPTION_KEYS")
        start = 2 + sealed[1]
        nonce, ct = sealed[start : start + _NONCE], sealed[start + _NONCE :]
        try:
            return AESGCM(key.secret).decrypt(nonce, ct, aad).decode()
        except InvalidTag:
            raise VaultError("sealed value does not verify (tampered or not this row's)") from None

    @staticmethod
    def key_id_of(sealed: bytes) -> str:
        """The key id a sealed value names."""
        if len(sealed) < 2 + _NONCE + 16 or sealed[0] != _VERSION:
            raise VaultError("not a sealed value of a known version")
        kid_len = sealed[1]
        try:
            return sealed[2 : 2 + kid_len].decode("ascii")
        except UnicodeDecodeError:
            raise VaultError("corrupt key id") from None

    def reseal(self, sealed: bytes, aad: bytes) -> bytes | None:
        """The value sealed under the current key, or None when it already is."""
        if self.key_id_of(sealed) == self.current_kid:
            return None
        return self.seal(self.open(sealed, aad), aad)
