# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Pixels against the emulator (issue 17): with the "pixels" switch off nothing is asked of
TikTok; with it on an ad account's pixels are listed with their events and counts today / over
7 days, and the never-fired demo pixel shows zeros."""

from __future__ import annotations

from typing import Any

import pytest

from core import pixels
from core.feature_access import AccountNotFound, FeatureOff
from core.features import set_feature
from core.tiktok import ScopeMissingError, TikTokClient
from tests.contract.feature_db import db, emulator_options, optional_calls  # noqa: F401
from tests.contract.test_sync import USER, Db, sync_all


async def _accounts(db: Db) -> list[Any]:
    async with db.uow() as u:
        return list(await u.connections.accounts(USER, tracked_only=True))


async def test_pixels_off_asks_nothing_on_lists_pixels_with_counts(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """Off: FeatureOff and zero pixel calls. On: the account with pixels shows the tracked
    pixel's purchases (today ≤ 7 days, 7 days > 0) and the test pixel at zero."""
    await sync_all(db, client)
    accounts = await _accounts(db)
    with pytest.raises(FeatureOff):
        await pixels.account_pixels(db.uow, db.clock, client, USER, accounts[0].id)
    assert await optional_calls(emu) == {}

    await set_feature(db.uow, db.clock, USER, "pixels", True)
    found = [await pixels.account_pixels(db.uow, db.clock, client, USER, a.id)
             for a in accounts]
    with_pixels = [f for f in found if f.pixels]
    assert with_pixels
    first = min(with_pixels, key=lambda f: int(f.account.advertiser_id))
    tracked, test_pixel = first.pixels
    [ev] = tracked.events
    assert ev.event.kind == "COMPLETE_PAYMENT" and 0 <= ev.today <= ev.week and ev.week > 0
    assert test_pixel.pixel.name == "Landing test pixel"
    assert [(e.today, e.week) for e in test_pixel.events] == [(0, 0)]
    with pytest.raises(AccountNotFound):
        await pixels.account_pixels(db.uow, db.clock, client, USER, 10**9)


async def test_a_withheld_pixels_scope_is_explained_not_retried(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """The consent withheld pixels: the screen's one request is refused with TikTok's code and
    raised as ScopeMissingError (group "pixels") for the bot to explain; no retry."""
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "pixels", True)
    for tok in emu.state.tokens.values():
        tok.scope = [s for s in tok.scope if s != 15]  # 15: pixels (core/tiktok/scopes.py)
    [account, *_] = await _accounts(db)
    with pytest.raises(ScopeMissingError) as refused:
        await pixels.account_pixels(db.uow, db.clock, client, USER, account.id)
    assert refused.value.group == "pixels"
    assert await optional_calls(emu) == {"pixel/list/": 1}
