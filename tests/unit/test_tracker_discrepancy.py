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
    world = await seed_account(uow, clicks={("c1", D1): (100, 10), ("c1", D2): (100, 10),
                                            ("c2", D2): (200, 2), ("c1", TODAY): (100, 10)})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    added = await connect.add_tracker(uow, FixedClock(NOW), USER, "keitaro", "Keitaro main",
                                      "https://t.io", "key", "UTC", "USD", fake.factory)
    tid = added.tracker.id
    async with uow() as u:
        for cid in ("c1", "c2"):
            u.session.add(TrackerLink(tracker_id=tid, ad_account_id=world.account_id,
                                      tiktok_campaign_id=cid, tracker_campaign_id="10",
                                      tracker_campaign_name="T", source="auto", id_fields={}))
        for cid, day, clicks, conv, pending in (
            ("c1", D1, 95, 9, 1),  # within 20 %
            ("c1", D2, 60, 4, 1),  # clicks −40 %, conversions (4 + 1 pending) −50 %
            ("c2", D2, 190, 0, 0),  # clicks fine; 2 conversions are too few to judge
            ("c1", TODAY, 0, 0, 0),  # today is not complete: not checked
        ):
            u.session.add(TrackerDaily(ad_account_id=world.account_id, level="campaign",
                                       object_id=cid, day=day, tracker_id=tid, clicks=clicks,
                                       conversions=conv, pending=pending, revenue=Decimal(0)))
        await u.commit()
    assert await check_discrepancies(uow, FixedClock(NOW), tid) == 1
    assert await check_discrepancies(uow, FixedClock(NOW + timedelta(hours=1)), tid) == 0
    async with uow() as u:
        alerts = list(await u.session.scalars(select(OutboxMessage)))
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.user_id, alert.kind) == (USER, "tracker_discrepancy")
    assert alert.dedup_key == f"trk_disc:{tid}:{world.account_id}:c1:{D2.isoformat()}"
    assert alert.params == {
        "tracker_id": tid, "tracker_name": "Keitaro main", "tracker_kind": "keitaro",
        "ad_account_id": world.account_id, "campaign_id": "c1", "campaign_name": "Campaign c1",
        "tracker_campaign_id": "10", "tracker_campaign_name": "T", "day": D2.isoformat(),
        "threshold_pct": 20, "tiktok_clicks": 100, "tracker_clicks": 60,
        "clicks_gap_pct": -40.0, "tiktok_conversions": 10, "tracker_conversions": 5,
        "conversions_gap_pct": -50.0, "clicks_flagged": True, "conversions_flagged": True,
    }
    # A stricter threshold flags the 5 % gaps too (c1 on D1, c2 on D2), each once.
    await connect.edit_tracker(uow, FixedClock(NOW), USER, tid, fake.factory, discrepancy_pct=4)
    assert await check_discrepancies(uow, FixedClock(NOW), tid) == 2
    assert await check_discrepancies(uow, FixedClock(NOW), tid) == 0
