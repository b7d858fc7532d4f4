"""Bursts of negative comments against the emulator (issue 17): enough comments with the user's
negative words under one ad within an hour make one alert per ad (not one per pull); Hide all
hides them at TikTok, each logged, a double tap does nothing twice, Undo shows them again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core import comment_bursts, comments
from core.features import set_feature
from core.sync import worker_id
from core.tiktok import TikTokClient
from storage.models import CommentBurst, OutboxMessage
from tests.contract.test_comments import _watch_first_campaign
from tests.contract.test_sync import NOW, USER, Db, connected_db, sync_all

WORDS = ["scam", "fake", "развод"]


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


@pytest.fixture
async def db(db_url: str, client: TikTokClient) -> AsyncIterator[Db]:
    """On SQLite and on PostgreSQL (the claims, the seed's insert and the sums differ)."""
    engines: list[Any] = []
    yield await connected_db(db_url, client, engines)
    for engine in engines:
        await engine.dispose()


async def _pull_after(db: Db, emu: Any, client: TikTokClient, delta: timedelta) -> None:
    await emu.ctl("POST", "clock", {"advance_seconds": delta.total_seconds()})
    db.clock.set(db.clock.now() + delta)
    await comments.pull_due(db.uow, db.clock, client, worker_id())


async def _bursts(db: Db) -> tuple[list[OutboxMessage], list[CommentBurst]]:
    async with db.uow() as u:
        sent = list(
            await u.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == comment_bursts.BURST_KIND)
            )
        )
        rows = list(await u.session.scalars(select(CommentBurst).order_by(CommentBurst.id)))
    return sent, rows


async def _setup(db: Db, client: TikTokClient, emu: Any, threshold: int) -> None:
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "comments", True)
    await comment_bursts.set_negative(db.uow, db.clock, USER, WORDS)
    assert await comment_bursts.set_threshold(db.uow, db.clock, USER, threshold)
    assert not await comment_bursts.set_threshold(db.uow, db.clock, USER, 7)  # not offered
    await _watch_first_campaign(db)
    await comments.pull_due(db.uow, db.clock, client, worker_id())  # the backlog: quiet
    # A comment a minute per ad: about a third carry a negative word.
    await emu.ctl("POST", "config", {"comment_slot_seconds": 60, "comment_chance_percent": 100})


async def test_a_burst_alerts_once_per_ad_and_hide_all_is_undoable(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    await _setup(db, client, emu, 3)
    await _pull_after(db, emu, client, timedelta(minutes=30))
    sent, bursts = await _bursts(db)
    assert bursts and len(sent) == len(bursts) == len({b.ad_id for b in bursts})
    assert all(b.count >= 3 for b in bursts)
    await _pull_after(db, emu, client, timedelta(minutes=11))
    assert len((await _bursts(db))[0]) == len(sent)  # within the hour: no second alert per ad

    burst = bursts[0]
    async with db.uow() as u:
        rows = await comment_bursts.comments_of(u, burst)
    assert len(rows) == burst.count
    assert all(comments.matching(WORDS, r.content) for r in rows)
    public = [r for r in rows if r.status == "PUBLIC"]
    assert (
        await comment_bursts.hide_all(db.uow, db.clock, client, USER + 1, burst.id, True) is None
    )  # not theirs
    done = await comment_bursts.hide_all(db.uow, db.clock, client, USER, burst.id, True)
    assert done is not None and done.hidden_at is not None
    assert all(emu.state.comment_status[r.comment_id] == "HIDDEN" for r in rows)
    with pytest.raises(comment_bursts.Busy):  # a double tap does nothing twice
        await comment_bursts.hide_all(db.uow, db.clock, client, USER, burst.id, True)
    async with db.uow() as u:
        logged = await u.audit.for_target("comment", public[0].id)
    assert [e.action for e in logged] == ["comments.burst_hide"]

    undone = await comment_bursts.hide_all(db.uow, db.clock, client, USER, burst.id, False)
    assert undone is not None and undone.hidden_at is None
    assert all(emu.state.comment_status[r.comment_id] == "PUBLIC" for r in public)
    with pytest.raises(comment_bursts.Busy):
        await comment_bursts.hide_all(db.uow, db.clock, client, USER, burst.id, False)
    # One of them unhidden by its own card stays as the user left it after a second Hide all.
    again = await comment_bursts.hide_all(db.uow, db.clock, client, USER, burst.id, True)
    assert again is not None
    one = await comments.set_hidden(db.uow, db.clock, client, USER, public[0].id, False)
    assert one is not None and one.status == "PUBLIC" and one.auto_hidden_at is None


async def test_below_the_threshold_no_alert(db: Db, client: TikTokClient, emu: Any) -> None:
    await _setup(db, client, emu, 20)
    await _pull_after(db, emu, client, timedelta(minutes=20))
    assert await _bursts(db) == ([], [])


async def test_a_pull_that_listed_before_hide_all_leaves_its_comments_hidden(
    db: Db, client: TikTokClient, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pull lists the burst's ad group, Hide all runs, then the pull writes what it listed:
    the comments stay hidden here as at TikTok, and Undo shows every one of them again."""
    await _setup(db, client, emu, 3)
    await _pull_after(db, emu, client, timedelta(minutes=30))
    # The next pull lists the last few minutes again (comments.OVERLAP): a burst with a comment
    # among them is the one a stale listing could touch.
    cutoff = db.clock.now() - comments.OVERLAP
    async with db.uow() as u:
        bursts = [(b, await comment_bursts.comments_of(u, b)) for b in (await _bursts(db))[1]]
    burst, rows = next((b, r) for b, r in bursts if r[0].created_time >= cutoff)
    list_since = comments.api.list_since
    hid: list[object] = []

    async def listed_then_hidden(*args: Any) -> list[Any]:
        found = await list_since(*args)
        if args[3] == rows[0].adgroup_id and not hid:
            assert any(c.comment_id == rows[0].comment_id for c in found)  # listed PUBLIC
            db.clock.set(db.clock.now() + timedelta(seconds=1))  # the press comes a moment later
            hid.append(await comment_bursts.hide_all(db.uow, db.clock, client, USER, burst.id,
                                                     True))
        return found

    monkeypatch.setattr(comments.api, "list_since", listed_then_hidden)
    await _pull_after(db, emu, client, comments.PULL_EVERY)
    assert hid
    async with db.uow() as u:
        after = await comment_bursts.comments_of(u, burst)
    assert [(c.comment_id, c.status) for c in after if c.comment_id in {r.comment_id for r in rows}
            ] == [(r.comment_id, emu.state.comment_status[r.comment_id]) for r in rows]
    await comment_bursts.hide_all(db.uow, db.clock, client, USER, burst.id, False)
    assert {emu.state.comment_status[r.comment_id] for r in rows} == {"PUBLIC"}


async def test_hide_all_hides_the_rest_when_one_comment_was_deleted(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """One of the burst's comments deleted at TikTok (its author took it down): TikTok refuses
    the whole batch naming it (40007), yet Hide all hides every other one instead of failing
    on every press for good."""
    await _setup(db, client, emu, 3)
    await _pull_after(db, emu, client, timedelta(minutes=30))
    burst = (await _bursts(db))[1][0]
    async with db.uow() as u:
        rows = await comment_bursts.comments_of(u, burst)
    public = [r for r in rows if r.status == "PUBLIC"]
    assert len(public) >= 2
    emu.state.comment_deleted[public[0].comment_id] = 0.0
    done = await comment_bursts.hide_all(db.uow, db.clock, client, USER, burst.id, True)
    assert done is not None and done.hidden_at is not None
    assert all(emu.state.comment_status.get(r.comment_id) == "HIDDEN" for r in public[1:])
