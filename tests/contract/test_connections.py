"""Connecting TikTok through the emulator's consent page: the good path and every bad one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import make_i18n
from bot.views import accounts as accounts_view
from core.clock import FixedClock
from core.connections import (
    ConnectError,
    begin_connect,
    disconnect,
    finish_connect,
    set_tracking,
)
from core.oauth_state import StateSigner
from core.privacy import purge
from core.tiktok import TikTokClient, TokenInvalidError
from core.users import SignUp, register_user
from sandbox.tiktok.browser import click, redirect_query
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Credential
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring

REDIRECT = "http://127.0.0.1:9/oauth/tiktok/callback"
USER = 501


class World:
    """The database, clock and signer of one test."""

    def __init__(self, uow: UnitOfWorkFactory, clock: FixedClock, signer: StateSigner) -> None:
        self.uow, self.clock, self.signer = uow, clock, signer


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    keyring = parse_keyring(generate_key_entry("t1"))
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/c.db")
    await upgrade(engine)
    uow = UnitOfWorkFactory(session_factory(engine), Vault(keyring))
    clock = FixedClock(datetime.now(UTC))
    await register_user(uow, clock, SignUp(USER, "Ann", None, None, "en", "UTC", None, False))
    yield World(uow, clock, StateSigner(keyring))
    await engine.dispose()


async def consent(url: str, choice: str = "Authorize") -> dict[str, str]:
    """Open the consent page, follow Authorize or Cancel, return the redirect's query."""
    _, location, _ = await click(url, choice)
    assert location.startswith(REDIRECT)
    return redirect_query(location)


async def connect(world: World, client: TikTokClient) -> Any:
    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER)
    q = await consent(url)
    return await finish_connect(
        world.uow, world.clock, world.signer, client, q["state"], q.get("auth_code")
    )


async def test_connect_lists_accounts_and_stores_the_token_sealed(
    world: World, client: TikTokClient, emu: Any
) -> None:
    result = await connect(world, client)
    assert result.user_id == USER and not result.updated
    owned = emu.state.users[emu.state.default_login].advertiser_ids
    assert sorted(a.advertiser_id for a in result.accounts) == sorted(owned)
    assert {a.currency for a in result.accounts} >= {"USD"} and len(
        {a.time_zone for a in result.accounts}
    ) >= 2
    async with world.uow() as u:
        [conn] = await u.connections.connections(USER)
        token = await u.credentials.reveal(conn.credential_id)
        accounts = await u.connections.accounts(USER)
        row = await u.session.get(Credential, conn.credential_id)
    assert token and row is not None and token.encode() not in row.sealed
    assert all(a.tracked for a in accounts) and len(accounts) == len(owned)
    # The stored token really works at TikTok.
    assert await client.get_authorized_advertisers(token)

    # Connecting the same login again updates the connection instead of adding one.
    again = await connect(world, client)
    assert again.updated and again.connection_id == result.connection_id
    async with world.uow() as u:
        assert len(await u.connections.connections(USER)) == 1
        assert len(await u.connections.accounts(USER)) == len(owned)


async def test_forged_reused_and_expired_states(world: World, client: TikTokClient) -> None:
    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER)
    q = await consent(url)
    state = q["state"]
    forged = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
    other_user = state.replace(f".{USER}.", ".502.", 1)
    for bad in (forged, other_user, "garbage", ""):
        with pytest.raises(ConnectError) as err:
            await finish_connect(world.uow, world.clock, world.signer, client, bad, "x")
        assert err.value.reason == "forged" and err.value.user_id is None

    await finish_connect(world.uow, world.clock, world.signer, client, state, q["auth_code"])
    with pytest.raises(ConnectError) as err:
        await finish_connect(world.uow, world.clock, world.signer, client, state, q["auth_code"])
    assert (err.value.reason, err.value.user_id) == ("used", USER)

    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER)
    q = await consent(url)
    world.clock.set(world.clock.now() + timedelta(minutes=16))
    with pytest.raises(ConnectError) as err:
        await finish_connect(
            world.uow, world.clock, world.signer, client, q["state"], q["auth_code"]
        )
    assert err.value.reason == "expired"


async def test_denied_consent_and_failed_exchange_leave_nothing(
    world: World, client: TikTokClient
) -> None:
    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER)
    q = await consent(url, "Cancel")
    with pytest.raises(ConnectError) as err:
        await finish_connect(
            world.uow,
            world.clock,
            world.signer,
            client,
            q["state"],
            q.get("auth_code"),
            q.get("error"),
        )
    assert err.value.reason == "denied"

    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER)
    q = await consent(url)
    with pytest.raises(ConnectError) as err:
        await finish_connect(
            world.uow, world.clock, world.signer, client, q["state"], "not-a-real-code"
        )
    assert err.value.reason == "exchange_failed" and err.value.detail
    async with world.uow() as u:
        assert await u.connections.connections(USER) == []
        assert await u.connections.accounts(USER) == []


async def test_tracking_and_disconnect_then_purge(world: World, client: TikTokClient) -> None:
    result = await connect(world, client)
    async with world.uow() as u:
        first, *_ = await u.connections.accounts(USER)
        [conn] = await u.connections.connections(USER)
        token = await u.credentials.reveal(conn.credential_id)
    account = await set_tracking(world.uow, world.clock, USER, first.id, False)
    assert account.tracked is False
    with pytest.raises(LookupError):  # someone else's account id
        await set_tracking(world.uow, world.clock, 999, first.id, True)

    purge_at = await disconnect(world.uow, world.clock, client, USER, result.connection_id)
    assert purge_at == world.clock.now() + timedelta(days=7)
    with pytest.raises(TokenInvalidError):  # revoked at TikTok
        await client.get_authorized_advertisers(token)
    async with world.uow() as u:
        assert await u.connections.connections(USER) == []
        assert await u.connections.accounts(USER) == []

    world.clock.set(world.clock.now() + timedelta(days=6, hours=23))
    assert len(await purge.run_due(world.uow, world.clock, "test")) == 0
    world.clock.set(world.clock.now() + timedelta(hours=2))
    assert len(await purge.run_due(world.uow, world.clock, "test")) == 1
    async with world.uow() as u:
        assert await u.connections.connection(USER, result.connection_id) is None
        assert await u.connections.accounts_of(result.connection_id) == []


async def test_an_ad_account_two_logins_reach_is_tracked_once(
    world: World, client: TikTokClient, emu: Any
) -> None:
    """Reconnecting one login's connection with another login (or a login that reaches an ad
    account another connection holds) keeps that account tracked in one place only: its spend
    is not counted, nor its rules run, twice."""
    first = await connect(world, client)
    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER)
    q = await consent(url + "&user=agency")
    agency = await finish_connect(world.uow, world.clock, world.signer, client, q["state"],
                                  q.get("auth_code"))
    assert agency.connection_id != first.connection_id and not agency.elsewhere
    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER,
                              first.connection_id)
    q = await consent(url + "&user=agency")
    wrong = await finish_connect(world.uow, world.clock, world.signer, client, q["state"],
                                 q.get("auth_code"))
    assert wrong.connection_id == first.connection_id
    assert sorted(a.advertiser_id for a in wrong.elsewhere) == sorted(
        a.advertiser_id for a in agency.accounts)
    async with world.uow() as u:
        tracked = [a.advertiser_id for a in await u.connections.accounts(USER, tracked_only=True)]
    assert sorted(tracked) == sorted(a.advertiser_id for a in agency.accounts)
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text, _ = accounts_view.connected(wrong.accounts, True, world.clock.now(),
                                          wrong.untracked, wrong.hit, wrong.elsewhere)
    assert "Already tracked through another TikTok connection, so not tracked twice: «" in text
