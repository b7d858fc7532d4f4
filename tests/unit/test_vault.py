"""The token vault: AES-256-GCM with key ids, row binding and rotation."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.secrets import rotate_secrets
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import Credential
from storage.uow import UnitOfWorkFactory
from storage.vault import (
    Keyring,
    KeyringError,
    Vault,
    VaultError,
    generate_key_entry,
    parse_keyring,
    row_aad,
)
from tests.unit.test_storage import NOW

OLD = generate_key_entry("old")
NEW = generate_key_entry("new")


def test_round_trip_and_key_id_travels_with_ciphertext() -> None:
    vault = Vault(parse_keyring(OLD))
    sealed = vault.seal("act.secret-token", row_aad("credentials", 1))
    assert b"act.secret-token" not in sealed
    assert Vault.key_id_of(sealed) == "old"
    assert vault.open(sealed, row_aad("credentials", 1)) == "act.secret-token"
    # Same plaintext, fresh nonce: ciphertexts differ.
    assert vault.seal("act.secret-token", row_aad("credentials", 1)) != sealed


def test_flipped_byte_fails() -> None:
    vault = Vault(parse_keyring(OLD))
    sealed = bytearray(vault.seal("token", row_aad("credentials", 1)))
    sealed[-5] ^= 0x01
    with pytest.raises(VaultError):
        vault.open(bytes(sealed), row_aad("credentials", 1))


def test_ciphertext_moved_to_another_row_fails() -> None:
    vault = Vault(parse_keyring(OLD))
    sealed = vault.seal("token", row_aad("credentials", 1))
    with pytest.raises(VaultError):
        vault.open(sealed, row_aad("credentials", 2))


def test_unknown_key_id_is_a_clear_error() -> None:
    sealed = Vault(parse_keyring(OLD)).seal("token", b"a")
    with pytest.raises(VaultError, match="no key with id 'old'"):
        Vault(parse_keyring(NEW)).open(sealed, b"a")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no keys"),
        ("nokey", "no ':'"),
        ("bad id!:" + base64.b64encode(b"x" * 32).decode(), "key id"),
        ("k1:" + base64.b64encode(b"x" * 16).decode(), "32 bytes"),
        ("k1:%%%notbase64", "32 bytes|base64"),
        (f"{OLD},{OLD}", "used twice"),
    ],
    ids=["empty", "no colon", "bad id", "short key", "not base64", "id twice"],  # keys are random
)
def test_malformed_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message):
        parse_keyring(text)


def test_keys_never_show_in_repr() -> None:
    ring = parse_keyring(f"{NEW},{OLD}")
    secret = OLD.split(":", 1)[1]
    assert secret not in repr(ring) and secret not in repr(Vault(ring))
    assert isinstance(ring, Keyring) and ring.current.kid == "new"


async def test_rotation_keeps_every_secret_readable(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    old = UnitOfWorkFactory(sessions, Vault(parse_keyring(OLD)))
    await register_user(
        old,
        FixedClock(NOW),
        SignUp(
            user_id=1,
            first_name="A",
            last_name=None,
            username=None,
            language="en",
            time_zone="UTC",
            email=None,
            marketing_opt_in=False,
        ),
    )
    ids = []
    async with old() as u:
        for n in range(7):
            ids.append((await u.credentials.add(1, "tiktok_token", f"token-{n}")).id)
        await u.commit()

    # New key first, old still accepted for reading: everything readable before rotation.
    both = UnitOfWorkFactory(sessions, Vault(parse_keyring(f"{NEW},{OLD}")))
    async with both() as u:
        assert [await u.credentials.reveal(i) for i in ids] == [f"token-{n}" for n in range(7)]

    assert await rotate_secrets(both) == 7
    assert await rotate_secrets(both) == 0  # nothing left under the old key

    new_only = UnitOfWorkFactory(sessions, Vault(parse_keyring(NEW)))
    async with new_only() as u:
        assert [await u.credentials.reveal(i) for i in ids] == [f"token-{n}" for n in range(7)]
        row = await u.session.get(Credential, ids[0])
        assert row is not None and row.key_id == "new" and row.rotated_at is not None

    # A sealed value copied onto another row does not open there.
    async with new_only() as u:
        a = await u.session.get(Credential, ids[0])
        b = await u.session.get(Credential, ids[1])
        assert a is not None and b is not None
        b.sealed = a.sealed
        await u.commit()
    async with new_only() as u:
        with pytest.raises(VaultError):
            await u.credentials.reveal(ids[1])


async def test_rotate_keys_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`python -m bot rotate-keys` re-seals stored secrets under the first configured key."""
    import asyncio
    import os
    import sys

    from storage.db import create_engine
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    engine = create_engine(url)
    await upgrade(engine)
    old = UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(OLD)))
    await register_user(
        old,
        FixedClock(NOW),
        SignUp(
            user_id=1,
            first_name="A",
            last_name=None,
            username=None,
            language="en",
            time_zone="UTC",
            email=None,
            marketing_opt_in=False,
        ),
    )
    async with old() as u:
        ids = [(await u.credentials.add(1, "tracker_key", f"k{n}")).id for n in range(3)]
        await u.commit()

    env = {**os.environ, "DATABASE_URL": url, "ENCRYPTION_KEYS": f"{NEW},{OLD}"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "rotate-keys",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == "re-encrypted 3 secret(s) under key 'new'"
    assert OLD.split(":")[1] not in out.decode() + err.decode()

    new_only = UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(NEW)))
    async with new_only() as u:
        assert [await u.credentials.reveal(i) for i in ids] == ["k0", "k1", "k2"]
    await engine.dispose()

    bad = {**env, "ENCRYPTION_KEYS": "k1:short"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "rotate-keys",
        env=bad,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2 and "ENCRYPTION_KEYS" in err.decode()
