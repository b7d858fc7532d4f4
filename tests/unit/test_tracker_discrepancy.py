"""Discrepancy alerts: TikTok vs tracker clicks and conversions per mapped campaign per day,
beyond the tracker's threshold, at most once per campaign per day, with the numbers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.trackers import connect
from core.trackers.discrepancy import check_discrepancies, gap_pct
from storage.db import session_factory
from storage.models import OutboxMessage, TrackerDaily, TrackerLink
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.unit.tracker_fakes import (
    NOW,
    TODAY,
    USER,
    FakeTracker,
    campaign,
    seed_account,
    seed_user,
)

D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


def test_gap_is_relative_to_tiktok_and_needs_enough_to_judge() -> None:
    assert gap_pct(100, 60, 20) == -40.0
    assert gap_pct(30, 31, 20) == 3.3
    assert gap_pct(10, 0, 20) is None


async def test_one_alert_per_campaign_per_day_with_the_numbers(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(
        uow, structure={"c1": {"g1": ["a1"]}, "c2": {"g2": ["a2"]}, "c3": {"g3": ["a3"]}},
        clicks={("c1", D1): (1000, 100), ("c1", D2): (1000, 100), ("c2", D1): (30, 0),
                ("c2", D2): (200, 2), ("c3", D1): (20000, 0), ("c1", TODAY): (100, 10)})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    added = await connect.add_tracker(uow, FixedClock(NOW), USER, "keitaro", "Keitaro main",
                                      "https://t.io", "key", "UTC", "USD", fake.factory)
    tid = added.tracker.id
    async with uow() as u:
        for cid in ("c1", "c2", "c3"):
            u.session.add(TrackerLink(tracker_id=tid, ad_account_id=world.account_id,
                                      tiktok_campaign_id=cid, tracker_campaign_id="10",
                                      tracker_campaign_name="T", source="auto", id_fields={}))
        for cid, day, clicks, conv, pending in (
            ("c1", D1, 950, 55, 5),  # clicks −5 %; conversions (55 + 5 pending) −40 %, settled
            ("c1", D2, 600, 40, 0),  # clicks −40 %; yesterday's conversions are still arriving
            ("c2", D1, 22, 0, 0),  # −27 %, but 8 of 30 clicks is counting noise, not a break
            ("c2", D2, 190, 0, 0),  # clicks fine; 2 conversions are too few to judge
            ("c3", D1, 19000, 0, 0),  # −5 %: within 20 %, yet far beyond noise at this volume
            ("c1", TODAY, 0, 0, 0),  # today is not complete: not checked
        ):
            u.session.add(TrackerDaily(ad_account_id=world.account_id, level="campaign",
                                       object_id=cid, day=day, tracker_id=tid, clicks=clicks,
                                       conversions=conv, pending=pending, revenue=Decimal(0)))
        await u.commit()
    assert await check_discrepancies(uow, FixedClock(NOW), tid) == 2
    assert await check_discrepancies(uow, FixedClock(NOW + timedelta(hours=1)), tid) == 0
    async with uow() as u:
        alerts = {a.params["day"]: a for a in await u.session.scalars(select(OutboxMessage))}
    assert set(alerts) == {D1.isoformat(), D2.isoformat()}
    settled, fresh = alerts[D1.isoformat()], alerts[D2.isoformat()]
    assert (fresh.user_id, fresh.kind) == (USER, "tracker_discrepancy")
    assert fresh.dedup_key == f"trk_disc:{tid}:{world.account_id}:c1:{D2.isoformat()}"
    assert fresh.params == {
        "tracker_id": tid, "tracker_name": "Keitaro main", "tracker_kind": "keitaro",
        "ad_account_id": world.account_id, "campaign_id": "c1", "campaign_name": "Campaign c1",
        "tracker_campaign_id": "10", "tracker_campaign_name": "T", "day": D2.isoformat(),
        "threshold_pct": 20, "tiktok_clicks": 1000, "tracker_clicks": 600,
        "clicks_gap_pct": -40.0, "tiktok_conversions": 100, "tracker_conversions": 40,
        "conversions_gap_pct": None, "clicks_flagged": True, "conversions_flagged": False,
    }
    assert settled.params["campaign_id"] == "c1"
    assert (settled.params["clicks_flagged"], settled.params["conversions_flagged"]) == (
        False, True)
    assert settled.params["conversions_gap_pct"] == -40.0
    # A stricter threshold flags the large campaign's 5 % gap, once; the noise stays unflagged.
    await connect.edit_tracker(uow, FixedClock(NOW), USER, tid, fake.factory, discrepancy_pct=4)
    assert await check_discrepancies(uow, FixedClock(NOW), tid) == 1
    assert await check_discrepancies(uow, FixedClock(NOW), tid) == 0
    async with uow() as u:
        flagged = {(a.params["campaign_id"], a.params["day"])
                   for a in await u.session.scalars(select(OutboxMessage))}
    assert ("c3", D1.isoformat()) in flagged and ("c2", D1.isoformat()) not in flagged
