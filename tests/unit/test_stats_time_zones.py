"""The summary of accounts in several time zones: each account's numbers are its own days.

The accounts sharing days are read together (one query per group of days, not per account);
these tests pin that the grouping never hands one account another's days or numbers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.periods import Period
from core.stats import summary
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import AdAccount, MetricDaily, MetricHourly, TikTokConnection
from storage.uow import UnitOfWorkFactory

USER = 11
# 03:30 UTC: 04:30 on 4 December in Berlin, 22:30 on 3 December in New York, 12:30 on
# 4 December in Tokyo.
NOW = datetime(2026, 12, 4, 3, 30, tzinfo=UTC)
ACCOUNTS = (  # name, time zone, currency, local date and hour at NOW
    ("Berlin A", "Europe/Berlin", "EUR", date(2026, 12, 4), 4),
    ("Berlin B", "Europe/Berlin", "EUR", date(2026, 12, 4), 4),
    ("New York", "America/New_York", "USD", date(2026, 12, 3), 22),
    ("Tokyo", "Asia/Tokyo", "USD", date(2026, 12, 4), 12),
)
FIRST_DAY = date(2026, 11, 10)


def _daily_spend(n: int, day: date) -> Decimal:
    """Each account's spend differs on every day, so a wrong day or account shows."""
    return Decimal(100 * (n + 1) + day.toordinal() % 100) + Decimal("0.25")


def _hourly_spend(n: int, hour: int) -> Decimal:
    return Decimal(n + 1) + Decimal(hour) / 100


async def _seed(uow: UnitOfWorkFactory) -> dict[str, int]:
    await register_user(
        uow, FixedClock(NOW), SignUp(USER, "Ann", None, None, "en", "UTC", None, False)
    )
    ids: dict[str, int] = {}
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="me", status="active")
        u.session.add(conn)
        await u.session.flush()
        for n, (name, zone, currency, _, _) in enumerate(ACCOUNTS):
            acc = AdAccount(connection_id=conn.id, advertiser_id=f"70{n}", name=name,
                            currency=currency, time_zone=zone, tracked=True, fresh_as_of=NOW)
            u.session.add(acc)
            await u.session.flush()
            ids[name] = acc.id
            day = FIRST_DAY
            while day <= date(2026, 12, 5):
                u.session.add(MetricDaily(ad_account_id=acc.id, level="advertiser",
                                          object_id=acc.advertiser_id, day=day,
                                          spend=_daily_spend(n, day), impressions=1000,
                                          clicks=10, conversions=1, purchase_value=Decimal(0)))
                u.session.add_all(
                    MetricHourly(ad_account_id=acc.id, level="advertiser",
                                 object_id=acc.advertiser_id, day=day, hour=h,
                                 spend=_hourly_spend(n, h), impressions=0, clicks=0,
                                 conversions=0, purchase_value=Decimal(0))
                    for h in range(24)
                )
                day += timedelta(days=1)
        await u.commit()
    return ids


@pytest.mark.parametrize("period", [Period.LAST_7, Period.YESTERDAY, Period.THIS_MONTH])
async def test_each_account_is_summed_over_its_own_days(
    engine: AsyncEngine, period: Period
) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await _seed(uow)
    data = await summary(uow, FixedClock(NOW), USER, period)
    assert [a.name for a in data.accounts] == [a[0] for a in ACCOUNTS]
    for n, ((name, _, _, today, _), stats) in enumerate(zip(ACCOUNTS, data.accounts, strict=True)):
        if period is Period.LAST_7:
            start, end = today - timedelta(days=7), today - timedelta(days=1)
        elif period is Period.YESTERDAY:
            start = end = today - timedelta(days=1)
        else:
            start, end = today.replace(day=1), today
        length = (end - start).days + 1
        days = [start + timedelta(days=k) for k in range(length)]
        before = [d - timedelta(days=length) for d in days]
        assert (stats.days.start, stats.days.end) == (start, end), name
        assert stats.current.spend == sum(_daily_spend(n, d) for d in days), name
        assert stats.previous.spend == sum(_daily_spend(n, d) for d in before), name
    # Totals per currency: the two Berlin accounts in euros, the others in dollars.
    by_name = {a.name: a.current.spend for a in data.accounts}
    assert data.spend_by_currency == {
        "EUR": by_name["Berlin A"] + by_name["Berlin B"],
        "USD": by_name["New York"] + by_name["Tokyo"],
    }


async def test_today_compares_each_account_with_its_own_yesterday_to_the_same_hour(
    engine: AsyncEngine,
) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await _seed(uow)
    data = await summary(uow, FixedClock(NOW), USER, Period.TODAY)
    pairs = zip(ACCOUNTS, data.accounts, strict=True)
    for n, ((name, _, _, today, hour), stats) in enumerate(pairs):
        assert (stats.days.start, stats.days.until_hour) == (today, hour + 1), name
        assert stats.current.spend == _daily_spend(n, today), name
        # Yesterday's hours up to and including the current one (until_hour is exclusive).
        assert stats.previous.spend == sum(_hourly_spend(n, h) for h in range(hour + 1)), name
