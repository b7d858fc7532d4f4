# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Comments against the emulator (issue 17): a user with the feature off makes no call to any
optional endpoint; with it on, new comments under a watched campaign are pulled once and
announced, and a hide is read back at TikTok before it is said to have happened."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.i18n import make_i18n
from bot.views import alerts as alerts_view
from core import audiences, catalogs, comments, pixel_watch, pixels
from core.feature_access import FeatureOff
from core.features import set_feature
from core.rules import engine as rules_engine
from core.rules.tiktok_changer import TikTokChanger
from core.sync import worker_id
from core.tiktok import TikTokClient
from storage.models import AdComment, OutboxMessage
from tests.contract.feature_db import db, emulator_options, optional_calls  # noqa: F401
from tests.contract.test_sync import NOW, USER, Db, sync_all

i18n = make_i18n()


async def _watch_first_campaign(db: Db) -> tuple[int, str]:
    async with db.uow() as u:
        accounts = await u.connections.accounts(USER, tracked_only=True)
        [camp, *_] = await u.comments.campaigns([a.id for a in accounts])
    assert await comments.set_watch(db.uow, db.clock, USER, camp.ad_account_id, camp.object_id,
                                    True)
    return camp.ad_account_id, camp.object_id


def _labels(screen: Any) -> list[str]:
    return [b.text for row in screen[1].inline_keyboard for b in row]


async def test_features_off_make_zerooptional_calls(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """Sync, a rules tick, a comments tick, a pixel-watch tick and the Pixels, Audiences and
    Catalogs screens for a user who watches a campaign but has every optional feature off: not
    one request to a comment/pixel/audience/catalog endpoint."""
    await sync_all(db, client)
    await _watch_first_campaign(db)
    db.clock.set(NOW + timedelta(hours=2))
    await sync_all(db, client)
    await rules_engine.run_due(db.uow, db.clock, TikTokChanger(db.uow, client), worker_id())
    assert await comments.pull_due(db.uow, db.clock, client, worker_id()) == 0
    assert await pixel_watch.watch_due(db.uow, db.clock, client, worker_id()) == 0
    async with db.uow() as u:
        [account, *_] = await u.connections.accounts(USER, tracked_only=True)
    with pytest.raises(FeatureOff):  # the Pixels screen asks nothing with pixels off
        await pixels.account_pixels(db.uow, db.clock, client, USER, account.id)
    with pytest.raises(FeatureOff):  # nor the Audiences screen with audiences off
        await audiences.account_audiences(db.uow, client, USER, account.id)
    with pytest.raises(FeatureOff):  # the Catalogs screen asks nothing with it off
        await catalogs.user_catalogs(db.uow, client, USER)
    assert await optional_calls(emu) == {}


async def test_new_comments_are_pulled_once_and_a_hide_is_read_back(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """Feature on: comments written after the watch began are announced once each; a hide
    shows as HIDDEN at the emulator; the feature off again stops the calls."""
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "comments", True)
    await _watch_first_campaign(db)
    assert await comments.pull_due(db.uow, db.clock, client, worker_id()) == 0  # backlog: quiet
    await emu.ctl("POST", "clock", {"advance_seconds": 3 * 3600})
    db.clock.set(NOW + timedelta(hours=3))
    announced = await comments.pull_due(db.uow, db.clock, client, worker_id())
    assert announced > 0
    db.clock.set(NOW + timedelta(hours=3, minutes=11))
    assert await comments.pull_due(db.uow, db.clock, client, worker_id()) == 0  # no repeats
    async with db.uow() as u:
        alerts = list(await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == comments.NEW_KIND)))
        assert len(alerts) == announced
        row = await u.session.get(AdComment, alerts[0].params["comment"])
        assert row is not None and row.ad_name and row.content
        # The alert's card offers Pin unless TIKTOK_COMMENT_PIN is "off" (the notifier's pin).
        with i18n.context(), i18n.use_locale("en"):
            buttons = {pin: _labels(await alerts_view.render(
                u, comments.NEW_KIND, USER, alerts[0].params, db.clock.now(), pin=pin))
                for pin in (True, False)}
        assert "📌 Pin" in buttons[True] and "🙈 Hide" in buttons[True]
        assert "📌 Pin" not in buttons[False] and "🙈 Hide" in buttons[False]
    hidden = await comments.set_hidden(db.uow, db.clock, client, USER, row.id, True)
    assert hidden is not None and hidden.status == "HIDDEN"
    assert emu.state.comment_status[row.comment_id] == "HIDDEN"
    assert await comments.set_hidden(db.uow, db.clock, client, USER + 1, row.id, True) is None
    assert await comments.reply_to(db.uow, db.clock, client, USER, row.id, "Thanks! " * 40)
    [sent] = emu.state.comment_replies.values()
    assert sent["original"] == row.comment_id and len(sent["text"]) == comments.REPLY_MAX

    await set_feature(db.uow, db.clock, USER, "comments", False)
    before = await optional_calls(emu)
    db.clock.set(NOW + timedelta(hours=5))
    assert await comments.pull_due(db.uow, db.clock, client, worker_id()) == 0
    assert await optional_calls(emu) == before


async def test_hide_words_hide_new_comments_logged_and_undoable(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """A new comment with one of the user's words is hidden at TikTok, logged with the word,
    and Unhide undoes it for good (a later pull does not hide it again)."""
    assert comments.parse_words("Scam, fake,\nразвод, scam") == ["scam", "fake", "развод"]
    with pytest.raises(ValueError):
        comments.parse_words(",".join(f"w{i}" for i in range(31)))
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "comments", True)
    await comments.set_words(db.uow, db.clock, USER, ["scam", "fake", "развод"])
    await _watch_first_campaign(db)
    await comments.pull_due(db.uow, db.clock, client, worker_id())
    await emu.ctl("POST", "clock", {"advance_seconds": 12 * 3600})
    db.clock.set(NOW + timedelta(hours=12))
    assert await comments.pull_due(db.uow, db.clock, client, worker_id()) > 0
    async with db.uow() as u:
        rows = list(await u.session.scalars(select(AdComment)))
    auto = [r for r in rows if r.auto_hidden_at is not None]
    assert auto and all(r.status == "HIDDEN" and r.matched in r.content.casefold() for r in auto)
    assert all(comments.matching(["scam", "fake", "развод"], r.content) is None
               for r in rows if r.auto_hidden_at is None)
    assert all(emu.state.comment_status[r.comment_id] == "HIDDEN" for r in auto)
    undone = await comments.set_hidden(db.uow, db.clock, client, USER, auto[0].id, False)
    assert undone is not None and undone.status == "PUBLIC"
    assert emu.state.comment_status[auto[0].comment_id] == "PUBLIC"
    db.clock.set(NOW + timedelta(hours=12, minutes=11))
    await comments.pull_due(db.uow, db.clock, client, worker_id())
    assert emu.state.comment_status[auto[0].comment_id] == "PUBLIC"
    async with db.uow() as u:
        logged = await u.audit.for_target("comment", auto[0].id)
    assert [e.action for e in logged] == ["comments.auto_hide", "comments.unhide"]


async def test_a_withheld_comments_scope_is_told_once_not_retried(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """The token lacks the comments scope: one request, one alert saying how to grant it, and
    the watch waits an hour instead of retrying."""
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "comments", True)
    await _watch_first_campaign(db)
    for tok in emu.state.tokens.values():
        tok.scope = [s for s in tok.scope if s != 14]  # 14: comments (core/tiktok/scopes.py)
    await comments.pull_due(db.uow, db.clock, client, worker_id())
    assert (await optional_calls(emu)) == {"comment/list/": 1}
    db.clock.set(NOW + timedelta(minutes=30))
    await comments.pull_due(db.uow, db.clock, client, worker_id())
    assert (await optional_calls(emu)) == {"comment/list/": 1}
    async with db.uow() as u:
        kinds = list(await u.session.scalars(select(OutboxMessage.kind)))
    assert kinds.count(comments.SCOPE_KIND) == 1 and comments.NEW_KIND not in kinds


async def test_a_comment_deleted_at_tiktok_is_told_as_gone_not_as_no_answer(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """Hide, Unhide or Pin on the card of a comment since deleted at TikTok (40007): the
    bot says it is gone (None -> "not among yours (or was deleted)"), not "TikTok did not
    answer; try again later" for a press that can never work."""
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "comments", True)
    await _watch_first_campaign(db)
    await comments.pull_due(db.uow, db.clock, client, worker_id())
    await emu.ctl("POST", "clock", {"advance_seconds": 3 * 3600})
    db.clock.set(NOW + timedelta(hours=3))
    assert await comments.pull_due(db.uow, db.clock, client, worker_id()) > 0
    async with db.uow() as u:
        row = (await u.session.scalars(select(AdComment).limit(1))).one()
    emu.state.comment_deleted[row.comment_id] = 0.0  # its author deleted it
    assert await comments.set_hidden(db.uow, db.clock, client, USER, row.id, True) is None
    assert await comments.set_hidden(db.uow, db.clock, client, USER, row.id, False) is None
    assert await comments.set_pinned(db.uow, db.clock, client, USER, row.id, True) is None
    assert await comments.reply_to(db.uow, db.clock, client, USER, row.id, "Thanks") is None
