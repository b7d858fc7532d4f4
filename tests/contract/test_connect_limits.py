"""Connecting a TikTok login that brings more ad accounts than the plan tracks: the first ones
by name are tracked up to the limit, the rest are kept, paused by the plan and said, and a
higher plan brings them back."""

from __future__ import annotations

from typing import Any

from core.billing import account, enforce
from core.billing.plans import PlanBook
from core.connections import begin_connect, finish_connect
from core.tiktok import TikTokClient
from tests.contract.test_connections import REDIRECT, USER, World, consent, world

__all__ = ["world"]  # the fixture, shared with test_connections

PLANS = PlanBook().current()  # Free tracks 2 ad accounts


async def _connect(world: World, client: TikTokClient) -> Any:
    url = await begin_connect(world.uow, world.clock, world.signer, client, REDIRECT, USER)
    q = await consent(url)
    return await finish_connect(world.uow, world.clock, world.signer, client, q["state"],
                                q.get("auth_code"), catalogue=PLANS)


async def test_a_login_with_more_accounts_than_free_tracks_up_to_the_limit(
    world: World, client: TikTokClient, emu: Any
) -> None:
    owned = emu.state.users[emu.state.default_login].advertiser_ids
    assert len(owned) == 3
    result = await _connect(world, client)
    names = sorted(a.name for a in result.accounts)
    assert [a.name for a in result.untracked] == names[2:]
    assert result.hit is not None
    assert (result.hit.limit, result.hit.used, result.hit.allowed) == ("ad_accounts", 2, 2)
    async with world.uow() as u:
        rows = {a.name: a for a in await u.connections.accounts(USER)}
    assert {n for n, a in rows.items() if a.tracked} == set(names[:2])
    assert rows[names[2]].plan_paused_at is not None

    # Connecting the same login again changes nothing: still two tracked, nothing new to say.
    again = await _connect(world, client)
    assert again.updated and again.untracked == [] and again.hit is None
    async with world.uow() as u:
        assert await u.connections.count_tracked(USER) == 2

    # Pro tracks ten: the account the plan held back comes back.
    await account.grant(world.uow, PLANS, world.clock, 900, USER, "pro", 30, "test")
    done = await enforce.apply_plan(world.uow, PLANS, world.clock, USER)
    assert [i.name for i in done.restored] == names[2:]
    async with world.uow() as u:
        assert await u.connections.count_tracked(USER) == 3
