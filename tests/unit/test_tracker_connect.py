"""Connecting trackers on SQLite and PostgreSQL: tested before stored, the key sealed and never
shown, edits re-tested, another user's tracker refused, disconnect and the 7-day purge."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.privacy import purge
from core.trackers import connect, mapping, push
from core.trackers.base import TrackerError
from core.trackers.connect import TrackerNotFound
from storage.db import session_factory
from storage.models import AuditEntry, Credential, Tracker, TrackerDaily, TrackerLink
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.unit.tracker_fakes import (
    NOW,
    OTHER,
    TODAY,
    USER,
    FakeTracker,
    campaign,
    seed_account,
    seed_user,
)

KEY = "s3cret-tracker-key-0123456789"


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def _add(uow: UnitOfWorkFactory, fake: FakeTracker, user: int = USER) -> int:
    added = await connect.add_tracker(uow, FixedClock(NOW), user, "keitaro", "My Keitaro",
                                      "https://trk.example.com/admin_api/v1", KEY, "Europe/Berlin",
                                      "usd", fake.factory)
    return added.tracker.id


async def test_add_tests_first_then_stores_the_key_sealed_and_never_shows_it(
        uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    fake = FakeTracker(campaigns=[campaign("1", "TT US"), campaign("2", "TT DE")])
    added = await connect.add_tracker(uow, FixedClock(NOW), USER, "keitaro", " My  Keitaro ",
                                      "https://Trk.example.com/admin_api/v1/", KEY,
                                      "Europe/Berlin", "usd", fake.factory)
    assert [c.name for c in added.campaigns] == ["TT US", "TT DE"]
    shown = added.tracker
    assert (shown.name, shown.url, shown.currency, shown.status) == (
        "My Keitaro", "https://trk.example.com", "USD", "active")
    assert KEY not in repr(shown)
    assert fake.keys_seen == [KEY]
    async with uow() as u:
        tracker = await u.session.get(Tracker, shown.id)
        assert tracker is not None and tracker.credential_id is not None
        cred = await u.session.get(Credential, tracker.credential_id)
        assert cred is not None and KEY.encode() not in cred.sealed
        assert await u.credentials.reveal(tracker.credential_id) == KEY
        audit = list(await u.session.scalars(select(AuditEntry)))
    assert [a.action for a in audit if a.target_type == "tracker"] == ["tracker.connected"]
    assert all(KEY not in str(a.details) for a in audit)
    assert [t.id for t in await connect.list_trackers(uow, USER)] == [shown.id]


@pytest.mark.parametrize("reason", ["unavailable", "bad_key"])
async def test_a_failed_test_stores_nothing_and_says_why(uow: UnitOfWorkFactory,
                                                         reason: str) -> None:
    await seed_user(uow)
    fake = FakeTracker(down=True)
    with pytest.raises(TrackerError) as err:
        if reason == "bad_key":
            await connect.add_tracker(uow, FixedClock(NOW), USER, "binom2", "b", "https://b.io",
                                      "  ", "UTC", "USD", fake.factory)
        else:
            await _add(uow, fake)
    assert err.value.reason == reason
    assert await connect.list_trackers(uow, USER, include_disconnected=True) == []
    async with uow() as u:
        assert list(await u.session.scalars(select(Credential))) == []


async def test_bad_inputs_are_refused_before_any_call(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    fake = FakeTracker()
    with pytest.raises(TrackerError) as err:
        await connect.add_tracker(uow, FixedClock(NOW), USER, "keitaro", "k", "ftp://x", KEY,
                                  "UTC", "USD", fake.factory)
    assert err.value.reason == "bad_url"
    for field, kwargs in (("time_zone", {"time_zone": "Mars/Base"}),
                          ("currency", {"currency": "dollars"}), ("kind", {"kind": "voluum"})):
        args = {"kind": "keitaro", "time_zone": "UTC", "currency": "USD", **kwargs}
        with pytest.raises(connect.BadInput) as bad:
            await connect.add_tracker(uow, FixedClock(NOW), USER, args["kind"], "k",
                                      "https://k.io", KEY, args["time_zone"], args["currency"],
                                      fake.factory)
        assert bad.value.field == field
    assert fake.keys_seen == []


async def test_edit_tests_a_new_key_and_keeps_the_old_one_if_it_fails(
        uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    fake = FakeTracker(campaigns=[campaign("1", "TT")])
    tid = await _add(uow, fake)
    fake.down = True
    with pytest.raises(TrackerError):
        await connect.edit_tracker(uow, FixedClock(NOW), USER, tid, fake.factory,
                                   api_key="new-key", name="Renamed")
    shown = await connect.get_tracker(uow, USER, tid)
    assert shown.name == "My Keitaro"
    fake.down = False
    shown = await connect.edit_tracker(uow, FixedClock(NOW), USER, tid, fake.factory,
                                       api_key="new-key", name="Renamed", discrepancy_pct=35,
                                       currency="eur", time_zone="UTC")
    assert (shown.name, shown.discrepancy_pct, shown.currency, shown.time_zone) == (
        "Renamed", 35, "EUR", "UTC")
    assert fake.keys_seen[-1] == "new-key"
    # A rename alone is not tested against the tracker.
    calls = fake.calls.get("list", 0)
    await connect.edit_tracker(uow, FixedClock(NOW), USER, tid, fake.factory, name="Again")
    assert fake.calls["list"] == calls
    async with uow() as u:
        tracker = await u.session.get(Tracker, tid)
        assert tracker is not None and tracker.credential_id is not None
        assert await u.credentials.reveal(tracker.credential_id) == "new-key"
        edits = [a for a in await u.audit.for_target("tracker", tid)
                 if a.action == "tracker.edited"]
    assert edits[0].details["api_key"] == "replaced"
    assert "new-key" not in str([e.details for e in edits])


async def test_another_users_tracker_is_refused_everywhere(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    await seed_user(uow, OTHER)
    fake = FakeTracker(campaigns=[campaign("1", "TT")])
    tid = await _add(uow, fake)
    clock = FixedClock(NOW)
    for call in (
        connect.get_tracker(uow, OTHER, tid),
        connect.edit_tracker(uow, clock, OTHER, tid, fake.factory, name="mine now"),
        connect.disconnect_tracker(uow, clock, OTHER, tid),
        mapping.mapping(uow, OTHER, tid),
        mapping.list_links(uow, OTHER, tid),
        mapping.tracker_campaigns(uow, OTHER, tid, fake.factory),
        push.push_log(uow, OTHER, tid, TODAY),
        push.push_costs(uow, clock, tid, [TODAY], fake.factory, user_id=OTHER),
    ):
        with pytest.raises(TrackerNotFound):
            await call
    assert await connect.list_trackers(uow, OTHER) == []
    assert (await connect.get_tracker(uow, USER, tid)).name == "My Keitaro"


async def test_disconnect_deletes_the_key_now_and_the_data_after_seven_days(
        uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(uow)
    fake = FakeTracker(campaigns=[campaign("1", "TT")])
    tid = await _add(uow, fake)
    async with uow() as u:
        u.session.add(TrackerLink(tracker_id=tid, ad_account_id=world.account_id,
                                  tiktok_campaign_id="c1", tracker_campaign_id="1",
                                  source="manual", id_fields={}))
        u.session.add(TrackerDaily(ad_account_id=world.account_id, level="campaign",
                                   object_id="c1", day=TODAY, tracker_id=tid, clicks=5,
                                   revenue=Decimal("3.5")))
        await u.commit()
    purge_after = await connect.disconnect_tracker(uow, FixedClock(NOW), USER, tid)
    assert purge_after == NOW + timedelta(days=7)
    async with uow() as u:
        tracker = await u.session.get(Tracker, tid)
        assert tracker is not None
        assert (tracker.status, tracker.credential_id) == ("disconnected", None)
        assert list(await u.session.scalars(select(Credential))) == []
        assert list(await u.session.scalars(select(TrackerLink))) == []
        assert len(list(await u.session.scalars(select(TrackerDaily)))) == 1  # kept for now
    assert await connect.list_trackers(uow, USER) == []
    assert (await connect.get_tracker(uow, USER, tid)).purge_after == purge_after
    with pytest.raises(TrackerNotFound):  # no second disconnect, no edits
        await connect.disconnect_tracker(uow, FixedClock(NOW), USER, tid)
    assert len(await purge.run_due(uow, FixedClock(NOW + timedelta(days=6)), "test")) == 0
    assert len(await purge.run_due(uow, FixedClock(NOW + timedelta(days=7)), "test")) == 1
    async with uow() as u:
        assert await u.session.get(Tracker, tid) is None
        assert list(await u.session.scalars(select(TrackerDaily))) == []
        actions = [a.action for a in await u.audit.for_target("tracker", tid)]
    assert actions == ["tracker.connected", "tracker.disconnected", "tracker.purged"]
