"""Mapping TikTok campaigns to tracker campaigns: automatic from the tracker's clicks, manual,
by name pattern, unlink; manual beats pattern beats auto; the landing-URL suffix."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import TrackerCb
from bot.i18n import make_i18n
from bot.routers import tracker_mapping
from core.clock import FixedClock
from core.trackers import connect, mapping
from core.trackers.mapping import LinkError, landing_suffix, matches
from core.trackers.push import push_costs
from storage.db import session_factory
from storage.models import AdObject, TrackerLink
from storage.repos.trackers import TrackerRepo
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.unit.tracker_fakes import (
    NOW,
    OTHER,
    TODAY,
    USER,
    FakeTracker,
    campaign,
    row,
    seed_account,
    seed_user,
)

YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def _tracker(uow: UnitOfWorkFactory, fake: FakeTracker) -> int:
    added = await connect.add_tracker(uow, FixedClock(NOW), USER, "keitaro", "K", "https://k.io",
                                      "key", "UTC", "USD", fake.factory)
    return added.tracker.id


def _pairs(links: list[mapping.Linked]) -> list[tuple[str, str, str]]:
    return [(lk.campaign_id, lk.tracker_campaign_id, lk.source) for lk in links]


def test_landing_suffix_follows_the_spec_convention() -> None:
    full = "campaign_id=__CAMPAIGN_ID__&adgroup_id=__AID__&ad_id=__CID__"
    assert landing_suffix("keitaro", {}) == full
    assert landing_suffix("binom2", {"campaign": "t1", "adgroup": "t2", "ad": "t3"}) == full
    assert landing_suffix("binom1", {"ad": "t3", "campaign": "t1"}) == (
        "campaign_id=__CAMPAIGN_ID__&ad_id=__CID__")


def test_patterns_are_globs_or_substrings_ignoring_case() -> None:
    assert matches("US*", "us - broad")
    assert not matches("US*", "Broad US")
    assert matches("broad", "Broad US")
    assert matches("TT-??", "tt-01")


async def test_auto_links_campaigns_whose_ids_reach_the_tracker(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(uow, structure={"c1": {"g1": ["a1"]}, "c2": {"g2": ["a2"]},
                                               "c3": {"g3": ["a3"]}})
    fake = FakeTracker(campaigns=[
        campaign("10", "By campaign id"),
        campaign("20", "By ad id only", {"ad": "creative_id"}),
        campaign("30", "Records nothing", {}),
        campaign("40", "Also gets c1, fewer clicks"),
    ])
    fake.rows = {
        ("10", "ad_campaign_id"): [row("10", YESTERDAY, "c1", 50, 1, "10"),
                                   row("10", YESTERDAY, "999", 5, 0, "0")],  # not ours
        ("40", "ad_campaign_id"): [row("40", YESTERDAY, "c1", 3, 0, "0")],
        ("20", "creative_id"): [row("20", TODAY, "a2", 7, 0, "0")],
    }
    tid = await _tracker(uow, fake)
    report = await mapping.auto_map(uow, FixedClock(NOW), tid, fake.factory, user_id=USER)
    assert report.new == 2
    assert sorted(report.linked) == [(world.account_id, "c1", "10"), (world.account_id, "c2", "20")]
    links = await mapping.mapping(uow, USER, tid)
    assert _pairs(links) == [("c1", "10", "auto"), ("c2", "20", "auto")]
    assert dict(links[1].id_fields) == {"ad": "creative_id"}
    # One pull per id field, over the last 60 days in the tracker's zone (a full mapping).
    assert sorted((p[1], p[2], p[3]) for p in fake.pulls) == [
        ("ad_campaign_id", TODAY - timedelta(days=59), TODAY),
        ("creative_id", TODAY - timedelta(days=59), TODAY)]
    again = await mapping.auto_map(uow, FixedClock(NOW + timedelta(hours=1)), tid, fake.factory)
    assert again.new == 0
    # Between daily full mappings only the last 2 days are read (new campaigns show there).
    assert fake.pulls[-1][2] == TODAY - timedelta(days=1), fake.pulls


async def test_a_link_made_while_the_mapping_saves_stands(uow: UnitOfWorkFactory) -> None:
    """A campaign linked by hand (or by another mapping run) after this run read the links but
    before it saved: the run saves the rest instead of failing on the duplicate (which held the
    tracker "being synced" until its lease expired), and the link made meanwhile stands."""
    await seed_user(uow)
    world = await seed_account(uow, structure={"c1": {"g1": ["a1"]}, "c2": {"g2": ["a2"]}})
    fake = FakeTracker(campaigns=[campaign("10", "Auto"), campaign("20", "Manual pick")])
    fake.rows = {("10", "ad_campaign_id"): [row("10", YESTERDAY, "c1", 9, 0, "0"),
                                            row("10", YESTERDAY, "c2", 9, 0, "0")]}
    tid = await _tracker(uow, fake)
    clock = FixedClock(NOW)
    reading, raced = TrackerRepo.links, False

    async def links_then_a_hand_link(repo: TrackerRepo, tracker_id: int) -> list[TrackerLink]:
        nonlocal raced
        found = await reading(repo, tracker_id)
        if not raced:
            raced = True
            await mapping.link_campaign(uow, clock, USER, tid, world.account_id, "c1", "20",
                                        fake.factory)
        return found

    with patch.object(TrackerRepo, "links", links_then_a_hand_link):
        report = await mapping.auto_map(uow, clock, tid, fake.factory)
    assert report.linked == [(world.account_id, "c2", "10")]
    assert sorted(_pairs(await mapping.mapping(uow, USER, tid))) == [("c1", "20", "manual"),
                                                                     ("c2", "10", "auto")]


async def test_manual_beats_pattern_beats_auto_and_unlink_sticks(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(uow, structure={"c1": {"g1": ["a1"]}, "c2": {"g2": ["a2"]}},
                               names={"c1": "US broad", "c2": "DE broad"})
    fake = FakeTracker(campaigns=[campaign("10", "Auto"), campaign("20", "Manual pick"),
                                  campaign("30", "US offers")])
    fake.rows = {("10", "ad_campaign_id"): [row("10", YESTERDAY, "c1", 9, 0, "0"),
                                            row("10", YESTERDAY, "c2", 9, 0, "0")]}
    tid = await _tracker(uow, fake)
    clock = FixedClock(NOW)
    await mapping.auto_map(uow, clock, tid, fake.factory)
    assert _pairs(await mapping.mapping(uow, USER, tid)) == [("c1", "10", "auto"),
                                                             ("c2", "10", "auto")]
    _, matched = await mapping.link_pattern(uow, clock, USER, tid, "us*", "30", fake.factory)
    assert [c.campaign_id for c in matched] == ["c1"]
    await mapping.link_campaign(uow, clock, USER, tid, world.account_id, "c2", "20",
                                fake.factory)
    await mapping.auto_map(uow, clock, tid, fake.factory)  # changes none of the user's choices
    assert _pairs(await mapping.mapping(uow, USER, tid)) == [("c2", "20", "manual"),
                                                             ("c1", "30", "pattern")]
    links = {lk.campaign_id or lk.pattern: lk for lk in await mapping.list_links(uow, USER, tid)}
    await mapping.unlink(uow, clock, USER, tid, links["us*"].id)  # the pattern goes: auto again
    assert _pairs(await mapping.mapping(uow, USER, tid)) == [("c1", "10", "auto"),
                                                             ("c2", "20", "manual")]
    await mapping.unlink(uow, clock, USER, tid, links["c1"].id)
    await mapping.unlink(uow, clock, USER, tid, links["c2"].id)
    await mapping.auto_map(uow, clock, tid, fake.factory)
    assert await mapping.mapping(uow, USER, tid) == []  # unlinked stays unlinked
    await mapping.link_campaign(uow, clock, USER, tid, world.account_id, "c1", "20",
                                fake.factory)
    assert _pairs(await mapping.mapping(uow, USER, tid)) == [("c1", "20", "manual")]


async def test_manual_links_check_both_sides(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    await seed_user(uow, OTHER)
    mine = await seed_account(uow)
    theirs = await seed_account(uow, OTHER, advertiser="adv2", structure={"x1": {"xg": ["xa"]}})
    fake = FakeTracker(campaigns=[campaign("10", "TT US main"), campaign("11", "TT DE"),
                                  campaign("12", "Push us")])
    tid = await _tracker(uow, fake)
    clock = FixedClock(NOW)
    found = await mapping.tracker_campaigns(uow, USER, tid, fake.factory, "us")
    assert [c.id for c in found] == ["12", "10"]  # by name, any case
    with pytest.raises(LinkError) as err:
        await mapping.link_campaign(uow, clock, USER, tid, theirs.account_id, "x1", "10",
                                    fake.factory)
    assert err.value.reason == "no_campaign"
    with pytest.raises(LinkError) as err:
        await mapping.link_campaign(uow, clock, USER, tid, mine.account_id, "c1", "404",
                                    fake.factory)
    assert err.value.reason == "no_tracker_campaign"
    assert [c.campaign_id for c in await mapping.tiktok_campaigns(uow, USER, "c2")] == ["c2"]
    assert [c.campaign_id for c in await mapping.tiktok_campaigns(uow, USER)] == ["c1", "c2"]


async def test_a_campaign_number_pressed_links_the_campaign_that_was_shown(
        uow: UnitOfWorkFactory) -> None:
    """Link a campaign lists the TikTok campaigns by name, numbered; a sync adds one that sorts
    first before the user presses "2": the campaign shown as 2 is the one linked, not the one
    now second in the list."""
    await seed_user(uow)
    world = await seed_account(uow, structure={"c1": {"g1": ["a1"]}, "c2": {"g2": ["a2"]}})
    fake = FakeTracker(campaigns=[campaign("10", "Main")])
    tid = await _tracker(uow, fake)
    state = FSMContext(MemoryStorage(), StorageKey(bot_id=1, chat_id=USER, user_id=USER))
    shown: list[Any] = []

    async def show(_event: object, screen: Any) -> None:
        shown.append(screen)

    async def press(cb: TrackerCb) -> bool | None:
        with make_i18n().context(), patch.object(tracker_mapping, "show", show):
            return await tracker_mapping.mapping_press(
                AsyncMock(), cb, SimpleNamespace(id=USER), state, uow,  # type: ignore[arg-type]
                FixedClock(NOW), fake.factory)

    await press(TrackerCb(a="lk", id=tid))
    assert "2. Campaign c2" in shown[-1][0], shown[-1][0]
    async with uow() as u:  # a sync brings a campaign whose name sorts first
        u.session.add(AdObject(ad_account_id=world.account_id, level="campaign",
                               object_id="c0", name="Campaign a0"))
        await u.commit()
    await press(TrackerCb(a="lkt", id=tid, n=1))
    assert "Campaign c2" in shown[-1][0], shown[-1][0]
    await press(TrackerCb(a="lkc", id=tid, n=0))
    assert [(lk.campaign_id, lk.tracker_campaign_id) for lk in
            await mapping.mapping(uow, USER, tid)] == [("c2", "10")]


async def test_a_tracker_campaign_changed_since_it_was_linked_by_hand_is_used_as_it_is_now(
        uow: UnitOfWorkFactory) -> None:
    """Two campaigns linked by hand to a tracker campaign that recorded no TikTok id yet: their
    costs are refused. The user then sets the campaign's parameters (and renames it) in the
    tracker: once the tracker's campaigns are read again, pushes filter by the campaign id and
    the mapping shows the new name — no need to link everything again."""
    await seed_user(uow)
    world = await seed_account(uow, structure={"c1": {"g1": ["a1"]}, "c2": {"g2": ["a2"]}},
                               spend={("c1", YESTERDAY): "5", ("c2", YESTERDAY): "6"})
    fake = FakeTracker(campaigns=[campaign("10", "Main", {})])
    tid = await _tracker(uow, fake)
    clock = FixedClock(NOW)
    for cid in ("c1", "c2"):
        await mapping.link_campaign(uow, clock, USER, tid, world.account_id, cid, "10",
                                    fake.factory)
    report = await push_costs(uow, clock, tid, [YESTERDAY], fake.factory)
    assert (report.sent, report.refused) == (0, 2)
    fake.campaigns = [campaign("10", "Main (TikTok)")]  # parameters set, renamed
    await mapping.auto_map(uow, clock, tid, fake.factory)  # as every scheduled run does first
    linked = await mapping.mapping(uow, USER, tid)
    assert [(lk.campaign_id, lk.source, lk.tracker_campaign_name) for lk in linked] == [
        ("c1", "manual", "Main (TikTok)"), ("c2", "manual", "Main (TikTok)")]
    report = await push_costs(uow, clock, tid, [YESTERDAY], fake.factory)
    assert (report.sent, report.refused) == (2, 0)
    assert fake.costs == {("10", YESTERDAY, "ad_campaign_id", "c1"): Decimal(5),
                          ("10", YESTERDAY, "ad_campaign_id", "c2"): Decimal(6)}
