"""TikTok permission scopes in the product: what a consent granted is stored per connection and
re-read at reconnect; an optional endpoint refused for a missing scope is a ScopeMissingError,
asked once, never retried (spec §2.3, §8.1, §9; issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import FixedClock
from core.connections import begin_connect, finish_connect
from core.features import grant_of, grants
from core.oauth_state import StateSigner
from core.tiktok import ScopeMissingError, TikTokClient
from core.users import SignUp, register_user
from sandbox.tiktok.browser import click, redirect_query
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.contract.test_connections import REDIRECT, USER, World

ALL = frozenset({"comments", "pixels", "audiences", "catalogs"})


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    """A migrated database with one signed-up user."""
    keyring = parse_keyring(generate_key_entry("t1"))
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    await upgrade(engine)
    uow = UnitOfWorkFactory(session_factory(engine), Vault(keyring))
    clock = FixedClock(datetime.now(UTC))
    await register_user(uow, clock, SignUp(USER, "Ann", None, None, "en", "UTC", None, False))
    yield World(uow, clock, StateSigner(keyring))
    await engine.dispose()


async def _connect(world: World, client: TikTokClient, withhold: tuple[str, ...] = (),
                   reconnect: int | None = None) -> Any:
    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER,
                              reconnect)
    _, location, _ = await click(url, withhold=withhold)
    q = redirect_query(location)
    return await finish_connect(world.uow, world.clock, world.signer, client, q["state"],
                                q.get("auth_code"))


async def test_granted_scopes_are_stored_and_reread_at_reconnect(
    world: World, client: TikTokClient
) -> None:
    """Everything granted at first; a reconnect that withholds comments says so."""
    first = await _connect(world, client)
    [grant] = await grants(world.uow, USER)
    assert grant.granted == ALL and not grant.lacks("comments")
    await _connect(world, client, withhold=("Comment management",), reconnect=first.connection_id)
    [grant] = await grants(world.uow, USER)
    assert grant.granted == ALL - {"comments"} and grant.lacks("comments")


async def test_connection_from_before_scopes_is_unknown_not_missing(
    world: World, client: TikTokClient
) -> None:
    """A connection stored before scopes were read is not taken to lack anything."""
    await _connect(world, client)
    async with world.uow() as u:
        [conn] = await u.connections.connections(USER)
        conn.scope = None
        assert grant_of(conn).granted is None and not grant_of(conn).lacks("comments")


async def test_missing_scope_is_explained_and_not_retried(
    world: World, client: TikTokClient, emu: Any
) -> None:
    """pixel/list with a token that lacks the pixel scope: one request, a ScopeMissingError."""
    minted = await emu.ctl("POST", "token", {"withhold": ["pixels"]})
    before = (await emu.requests()).get("pixel/list/", 0)
    with pytest.raises(ScopeMissingError) as caught:
        await client.get_pixels(minted["access_token"], minted["advertiser_ids"][0])
    assert caught.value.group == "pixels" and caught.value.code == 40001
    assert (await emu.requests()).get("pixel/list/", 0) == before + 1
    await emu.ctl("POST", "config", {"missing_scope_code": 40130})
    with pytest.raises(ScopeMissingError):
        await client.get_pixels(minted["access_token"], minted["advertiser_ids"][0])
