# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Pinning comments against the emulator (issue 17): a pin is read back at TikTok before the
comment is said to be pinned; a video shows one pinned comment, so pinning another unpins the
first (at TikTok and in what TTPulse keeps); TikTok's refusal of a hidden comment changes
nothing; the way a pin is sent follows the TIKTOK_COMMENT_PIN setting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core import comments
from core.features import set_feature
from core.sync import worker_id
from core.tiktok import InvalidRequestError, TikTokClient
from storage.models import AdComment
from tests.contract.feature_db import db, emulator_options, optional_calls  # noqa: F401
from tests.contract.test_comments import _watch_first_campaign
from tests.contract.test_sync import NOW, USER, Db, sync_all


async def _pulled(db: Db, client: TikTokClient, emu: Any) -> list[AdComment]:
    """Comments pulled for the first campaign, 12 hours after the watch began."""
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "comments", True)
    await _watch_first_campaign(db)
    await comments.pull_due(db.uow, db.clock, client, worker_id())
    await emu.ctl("POST", "clock", {"advance_seconds": 12 * 3600})
    db.clock.set(NOW + timedelta(hours=12))
    assert await comments.pull_due(db.uow, db.clock, client, worker_id()) > 0
    async with db.uow() as u:
        return list(await u.session.scalars(select(AdComment).order_by(AdComment.id)))


def _two_of_one_ad(rows: list[AdComment]) -> tuple[AdComment, AdComment]:
    by_ad: dict[str, list[AdComment]] = {}
    for r in rows:
        by_ad.setdefault(r.ad_id, []).append(r)
    first, second = next(v for v in by_ad.values() if len(v) >= 2)[:2]
    return first, second


async def test_pin_is_read_back_and_one_per_video(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """Pin: pinned at the emulator and in the row; pinning a second comment of the same ad
    unpins the first in both; Unpin clears it; another user's id is refused; a double tap asks
    TikTok nothing more."""
    first, second = _two_of_one_ad(await _pulled(db, client, emu))
    row = await comments.set_pinned(db.uow, db.clock, client, USER, first.id, True)
    assert row is not None and row.pinned_at is not None
    assert emu.state.comment_pinned[first.ad_id] == first.comment_id
    calls = await optional_calls(emu)
    assert await comments.set_pinned(db.uow, db.clock, client, USER, first.id, True)
    assert await optional_calls(emu) == calls  # double tap
    assert await comments.set_pinned(db.uow, db.clock, client, USER + 1, second.id,
                                     True) is None
    await comments.set_pinned(db.uow, db.clock, client, USER, second.id, True)
    assert emu.state.comment_pinned[first.ad_id] == second.comment_id
    async with db.uow() as u:
        again = await u.session.get(AdComment, first.id)
        assert again is not None and again.pinned_at is None
    undone = await comments.set_pinned(db.uow, db.clock, client, USER, second.id, False)
    assert undone is not None and undone.pinned_at is None
    assert first.ad_id not in emu.state.comment_pinned
    async with db.uow() as u:
        logged = await u.audit.for_target("comment", second.id)
    assert [e.action for e in logged] == ["comments.pin", "comments.unpin"]


async def test_pin_refused_for_a_hidden_comment_and_by_setting(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """A hidden comment: TikTok's 40002, the row stays unpinned. The "endpoint" way pins
    through comment/pin/; "off" asks TikTok nothing."""
    first, second = _two_of_one_ad(await _pulled(db, client, emu))
    await comments.set_hidden(db.uow, db.clock, client, USER, first.id, True)
    with pytest.raises(InvalidRequestError):
        await comments.set_pinned(db.uow, db.clock, client, USER, first.id, True)
    async with db.uow() as u:
        kept = await u.session.get(AdComment, first.id)
        assert kept is not None and kept.pinned_at is None
    await emu.ctl("POST", "config", {"comment_pin": "endpoint"})
    await comments.set_pinned(db.uow, db.clock, client, USER, second.id, True, "endpoint")
    assert emu.state.comment_pinned[second.ad_id] == second.comment_id
    assert (await optional_calls(emu))["comment/pin/"] == 1
    before = await optional_calls(emu)
    with pytest.raises(comments.PinOff):
        await comments.set_pinned(db.uow, db.clock, client, USER, second.id, False, "off")
    assert await optional_calls(emu) == before
