"""Drill-down and manage pages: each page's objects by spend, and the count of them all (read
with the page; counted apart only for a page past the end), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import AdAccount, AdObject, MetricDaily, TikTokConnection
from storage.uow import UnitOfWorkFactory

DAY = date(2026, 12, 1)
DELIVERED, SILENT = 17, 2  # campaigns with spend on DAY, campaigns without


async def _seed(uow: UnitOfWorkFactory) -> tuple[int, int]:
    """An account with delivering, silent and deleted campaigns, and one with none."""
    await register_user(uow, FixedClock(datetime(2026, 12, 2, 10, tzinfo=UTC)),
                        SignUp(5, "Ann", None, None, "en", "UTC", None, False))
    async with uow() as u:
        conn = TikTokConnection(user_id=5, display_name="me")
        u.session.add(conn)
        await u.session.flush()
        full, empty = (AdAccount(connection_id=conn.id, advertiser_id=a, name=a) for a in "12")
        u.session.add_all([full, empty])
        await u.session.flush()
        for n in range(DELIVERED + SILENT + 1):
            status = "DELETE" if n == DELIVERED + SILENT else "ENABLE"
            u.session.add(AdObject(ad_account_id=full.id, level="campaign", object_id=f"c{n:02d}",
                                   name=f"Campaign {n:02d}", operation_status=status))
            if n < DELIVERED:
                u.session.add(MetricDaily(ad_account_id=full.id, level="campaign",
                                          object_id=f"c{n:02d}", day=DAY,
                                          spend=Decimal(100 - n) + Decimal("0.5"), impressions=1,
                                          clicks=0, conversions=0, purchase_value=Decimal(0)))
        await u.commit()
        return full.id, empty.id


async def test_pages_carry_the_count_of_every_object(engine: AsyncEngine) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    full, empty = await _seed(uow)
    async with uow() as u:
        pages = [await u.stats.objects(full, "campaign", None, DAY, DAY, 8, n * 8)
                 for n in range(4)]
        assert [total for _, total in pages] == [DELIVERED] * 4
        assert [len(lines) for lines, _ in pages] == [8, 8, 1, 0]  # the last: past the end
        spends = [line.sums.spend for lines, _ in pages for line in lines]
        assert spends == [Decimal(100 - n) + Decimal("0.5") for n in range(DELIVERED)]
        assert await u.stats.objects(empty, "campaign", None, DAY, DAY, 8, 0) == ([], 0)

        managed = [await u.stats.manageable(full, "campaign", None, DAY, DAY, 8, n * 8)
                   for n in range(4)]
        # Silent campaigns are listed (with zero sums) for managing; deleted ones are not.
        assert [total for _, total in managed] == [DELIVERED + SILENT] * 4
        assert [len(rows) for rows, _ in managed] == [8, 8, 3, 0]
        last = [(obj.object_id, sums.spend) for obj, sums in managed[2][0]]
        assert last == [("c16", Decimal("84.5")), ("c17", 0), ("c18", 0)]
        assert await u.stats.manageable(empty, "campaign", None, DAY, DAY, 8, 0) == ([], 0)
