"""Tracker numbers beside TikTok's: sums of pulled TrackerDaily rows per object over a period,
per-day series, and the TikTok spend of the objects that have tracker data. Sums in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    Tracker,
    TrackerDaily,
    TrackerPush,
    TrackerUnmapped,
)
from storage.repos.stats import plain_rows

_COLUMNS = ("clicks", "conversions", "pending", "rejected", "revenue", "pending_revenue")


@dataclass(frozen=True)
class TrackerSums:
    """Summed tracker numbers; money in the ad account's currency (converted at pull)."""

    clicks: int = 0
    conversions: int = 0  # approved
    pending: int = 0
    rejected: int = 0
    revenue: Decimal = Decimal(0)  # approved
    pending_revenue: Decimal = Decimal(0)


def _sum_columns() -> list[ColumnElement[object]]:
    return [func.coalesce(func.sum(getattr(TrackerDaily, c)), 0).label(c) for c in _COLUMNS]


def _sums(values: Sequence[object]) -> TrackerSums:
    """The six summed columns, in `_COLUMNS` order."""
    clicks, conversions, pending, rejected, revenue, pending_revenue = values
    return TrackerSums(
        int(clicks),  # type: ignore[call-overload]
        int(conversions),  # type: ignore[call-overload]
        int(pending),  # type: ignore[call-overload]
        int(rejected),  # type: ignore[call-overload]
        Decimal(revenue),  # type: ignore[arg-type]
        Decimal(pending_revenue),  # type: ignore[arg-type]
    )


def _range(start: object, end: object) -> list[ColumnElement[bool]]:
    return [TrackerDaily.day >= start, TrackerDaily.day <= end]


# The stats screens' statements, built once with bound parameters (as in storage/repos/stats.py).
_START, _END = bindparam("start"), bindparam("end")
_IDS = bindparam("ids", expanding=True)
_BY_ACCOUNT = (
    select(TrackerDaily.ad_account_id, *_sum_columns())
    .where(
        TrackerDaily.ad_account_id.in_(_IDS),
        TrackerDaily.level == "campaign",
        *_range(_START, _END),
    )
    .group_by(TrackerDaily.ad_account_id)
)
_OBJECTS_SUMS = (
    select(TrackerDaily.object_id, *_sum_columns())
    .where(
        TrackerDaily.ad_account_id == bindparam("account"),
        TrackerDaily.level == bindparam("level"),
        TrackerDaily.object_id.in_(bindparam("object_ids", expanding=True)),
        *_range(_START, _END),
    )
    .group_by(TrackerDaily.object_id)
)
_MAPPED = (
    select(TrackerDaily.object_id)
    .where(
        TrackerDaily.ad_account_id == MetricDaily.ad_account_id,
        TrackerDaily.level == "campaign",
        *_range(_START, _END),
    )
    .correlate(MetricDaily)
)
_MAPPED_SPEND = (
    select(MetricDaily.ad_account_id, func.coalesce(func.sum(MetricDaily.spend), 0))
    .where(
        MetricDaily.ad_account_id.in_(_IDS),
        MetricDaily.level == "campaign",
        MetricDaily.day >= _START,
        MetricDaily.day <= _END,
        MetricDaily.object_id.in_(_MAPPED),
    )
    .group_by(MetricDaily.ad_account_id)
)


class TrackerStatsRepo:
    """Reads pulled tracker numbers. Account totals are the sums of its campaign-level rows
    (pull writes ads and sums them up to ad groups and campaigns in one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _grouped(self, query: Select[Any], **values: object) -> dict[object, TrackerSums]:
        rows = await plain_rows(self._s, query, values)
        return {row[0]: _sums(tuple(row)[1:]) for row in rows}

    async def by_account(
        self, account_ids: Sequence[int], start: date, end: date
    ) -> dict[int, TrackerSums]:
        """Per ad account, its tracker numbers over a range (accounts without any: absent)."""
        return await self._grouped(  # type: ignore[return-value]
            _BY_ACCOUNT, ids=list(account_ids), start=start, end=end
        )

    async def objects_sums(
        self, account_id: int, level: str, object_ids: Sequence[str], start: date, end: date
    ) -> dict[str, TrackerSums]:
        """Per object of a level, its tracker numbers over a range (objects without: absent)."""
        return await self._grouped(  # type: ignore[return-value]
            _OBJECTS_SUMS, account=account_id, level=level, object_ids=list(object_ids),
            start=start, end=end,
        )

    async def mapped_spend(
        self, account_ids: Sequence[int], start: date, end: date
    ) -> dict[int, Decimal]:
        """Per ad account, TikTok's spend over a range of the campaigns that have tracker data
        in it: the spend the tracker's revenue stands against (the rest is unmapped spend)."""
        rows = await self._s.execute(
            _MAPPED_SPEND, {"ids": list(account_ids), "start": start, "end": end}
        )
        return {int(r[0]): Decimal(r[1]) for r in rows}

    async def daily_account(
        self, account_id: int, start: date, end: date
    ) -> dict[date, TrackerSums]:
        """One account's tracker numbers per day (sum of its campaigns' rows)."""
        return await self._grouped(  # type: ignore[return-value]
            select(TrackerDaily.day, *_sum_columns())
            .where(
                TrackerDaily.ad_account_id == account_id,
                TrackerDaily.level == "campaign",
                *_range(start, end),
            )
            .group_by(TrackerDaily.day)
        )

    async def daily_mapped_spend(
        self, account_id: int, start: date, end: date
    ) -> dict[date, Decimal]:
        """Per day, TikTok's spend of the campaigns that have tracker data in the range (the
        same campaigns every day, so a day with spend but no tracker row counts as a loss)."""
        mapped = select(TrackerDaily.object_id).where(
            TrackerDaily.ad_account_id == account_id,
            TrackerDaily.level == "campaign",
            *_range(start, end),
        )
        rows = await self._s.execute(
            select(MetricDaily.day, func.coalesce(func.sum(MetricDaily.spend), 0))
            .where(
                MetricDaily.ad_account_id == account_id,
                MetricDaily.level == "campaign",
                MetricDaily.day >= start,
                MetricDaily.day <= end,
                MetricDaily.object_id.in_(mapped),
            )
            .group_by(MetricDaily.day)
        )
        return {r[0]: Decimal(r[1]) for r in rows}

    async def daily_rows(
        self, account_id: int, level: str, object_ids: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, date], TrackerSums]:
        """Per (object, day), the tracker numbers of given objects (for CSV export)."""
        rows = await self._s.execute(
            select(TrackerDaily.object_id, TrackerDaily.day, *_sum_columns())
            .where(
                TrackerDaily.ad_account_id == account_id,
                TrackerDaily.level == level,
                TrackerDaily.object_id.in_(list(object_ids)),
                *_range(start, end),
            )
            .group_by(TrackerDaily.object_id, TrackerDaily.day)
        )
        return {(r[0], r[1]): _sums(tuple(r)[2:]) for r in rows}

    async def campaign_spend(
        self, account_ids: Sequence[int], start: date, end: date
    ) -> list[tuple[int, str, str, str, Decimal]]:
        """Given ad accounts' campaigns with spend over a range of their days: (ad account,
        campaign id, name, currency, spend), in no order (core.stats orders them)."""
        spend = func.sum(MetricDaily.spend).label("spend")
        rows = await self._s.execute(
            select(AdObject.ad_account_id, AdObject.object_id, AdObject.name,
                   AdAccount.currency, spend)
            .join(AdAccount, AdAccount.id == AdObject.ad_account_id)
            .join(MetricDaily, (MetricDaily.ad_account_id == AdObject.ad_account_id)
                  & (MetricDaily.level == "campaign")
                  & (MetricDaily.object_id == AdObject.object_id))
            .where(AdAccount.id.in_(list(account_ids)), AdObject.level == "campaign",
                   MetricDaily.day >= start, MetricDaily.day <= end)
            .group_by(AdObject.ad_account_id, AdObject.object_id, AdObject.name,
                      AdAccount.currency)
            .having(func.sum(MetricDaily.spend) > 0)
        )
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3]), Decimal(r[4])) for r in rows]

    async def unmapped_revenue(self, tracker_id: int, start: date, end: date) -> Decimal:
        """Revenue the tracker reported for ids matching no synced TikTok object (in the
        tracker's currency)."""
        total = await self._s.scalar(
            select(func.coalesce(func.sum(TrackerUnmapped.revenue), 0)).where(
                TrackerUnmapped.tracker_id == tracker_id,
                TrackerUnmapped.day >= start,
                TrackerUnmapped.day <= end,
            )
        )
        return Decimal(total or 0)

    async def time_zone(self, user_id: int, tracker_id: int) -> str | None:
        """The tracker's own time zone (its days), or None if it is not the user's."""
        return await self._s.scalar(
            select(Tracker.time_zone).where(Tracker.id == tracker_id, Tracker.user_id == user_id)
        )

    async def last_pushes(self, user_id: int) -> dict[int, datetime]:
        """Per tracker of the user, when the tracker last accepted a pushed cost."""
        rows = await self._s.execute(
            select(TrackerPush.tracker_id, func.max(TrackerPush.sent_at))
            .join(Tracker, Tracker.id == TrackerPush.tracker_id)
            .where(Tracker.user_id == user_id, TrackerPush.ok.is_(True))
            .group_by(TrackerPush.tracker_id)
        )
        return {int(r[0]): r[1] for r in rows if r[1] is not None}
