"""Aggregate metric queries for stats: sums in SQL, never Python loops over rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Subquery, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AdObject, MetricDaily, MetricHourly


@dataclass(frozen=True)
class Sums:
    """Summed raw metrics."""

    spend: Decimal = Decimal(0)
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    purchase_value: Decimal = Decimal(0)


def _sum_columns(model: type[MetricDaily] | type[MetricHourly]) -> list[ColumnElement[object]]:
    return [
        func.coalesce(func.sum(getattr(model, c)), 0).label(c)
        for c in ("spend", "impressions", "clicks", "conversions", "purchase_value")
    ]


def _sums(row: object) -> Sums:
    return Sums(
        Decimal(row.spend),
        int(row.impressions),
        int(row.clicks),  # type: ignore[attr-defined]
        int(row.conversions),
        Decimal(row.purchase_value),
    )  # type: ignore[attr-defined]


def _object_sums(account_id: int, level: str, start: date, end: date) -> Subquery:
    """Per object of a level, its daily rows summed over a range."""
    return (
        select(MetricDaily.object_id, *_sum_columns(MetricDaily))
        .where(
            MetricDaily.ad_account_id == account_id,
            MetricDaily.level == level,
            MetricDaily.day >= start,
            MetricDaily.day <= end,
        )
        .group_by(MetricDaily.object_id)
        .subquery()
    )


@dataclass(frozen=True)
class ObjectLine:
    """One object of a breakdown with its sums."""

    object_id: str
    name: str
    status: str | None
    sums: Sums


class StatsRepo:
    """Reads synced metrics, summed per account or per object."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _grouped(self, query: Select[tuple[object, ...]]) -> dict[object, Sums]:
        return {row[0]: _sums(row) for row in await self._s.execute(query)}

    async def by_account(
        self, account_ids: Sequence[int], start: date, end: date
    ) -> dict[int, Sums]:
        """Account-level sums of daily rows per account."""
        return await self._grouped(  # type: ignore[return-value]
            select(MetricDaily.ad_account_id, *_sum_columns(MetricDaily))
            .where(
                MetricDaily.ad_account_id.in_(list(account_ids)),
                MetricDaily.level == "advertiser",
                MetricDaily.day >= start,
                MetricDaily.day <= end,
            )
            .group_by(MetricDaily.ad_account_id)
        )

    async def by_account_hours(
        self, account_ids: Sequence[int], day: date, before_hour: int
    ) -> dict[int, Sums]:
        """Account-level sums of one day's hours before `before_hour`, per account."""
        return await self._grouped(  # type: ignore[return-value]
            select(MetricHourly.ad_account_id, *_sum_columns(MetricHourly))
            .where(
                MetricHourly.ad_account_id.in_(list(account_ids)),
                MetricHourly.level == "advertiser",
                MetricHourly.day == day,
                MetricHourly.hour < before_hour,
            )
            .group_by(MetricHourly.ad_account_id)
        )

    def _parent(self, level: str, parent_id: str | None) -> list[ColumnElement[bool]]:
        if parent_id is None:
            return []
        column = AdObject.campaign_id if level == "adgroup" else AdObject.adgroup_id
        return [column == parent_id]

    async def objects(
        self,
        account_id: int,
        level: str,
        parent_id: str | None,
        start: date,
        end: date,
        limit: int,
        offset: int,
    ) -> tuple[list[ObjectLine], int]:
        """Objects of a level (under a parent) that delivered in the range, by spend, paged."""
        sums = _object_sums(account_id, level, start, end)
        base = (
            select(
                AdObject.object_id,
                AdObject.name,
                AdObject.operation_status,
                sums.c.spend,
                sums.c.impressions,
                sums.c.clicks,
                sums.c.conversions,
                sums.c.purchase_value,
            )
            .join(sums, sums.c.object_id == AdObject.object_id)
            .where(
                AdObject.ad_account_id == account_id,
                AdObject.level == level,
                *self._parent(level, parent_id),
            )
        )
        total = await self._s.scalar(select(func.count()).select_from(base.subquery()))
        rows = await self._s.execute(
            base.order_by(sums.c.spend.desc(), AdObject.name, AdObject.object_id)
            .limit(limit)
            .offset(offset)
        )
        lines = [
            ObjectLine(
                r.object_id,
                r.name,
                r.operation_status,
                Sums(
                    Decimal(r.spend),
                    int(r.impressions),
                    int(r.clicks),
                    int(r.conversions),
                    Decimal(r.purchase_value),
                ),
            )
            for r in rows
        ]
        return lines, int(total or 0)

    async def objects_sums(
        self, account_id: int, level: str, object_ids: Sequence[str], start: date, end: date
    ) -> dict[str, Sums]:
        """Daily sums per object for given objects over a range."""
        return await self._grouped(  # type: ignore[return-value]
            select(MetricDaily.object_id, *_sum_columns(MetricDaily))
            .where(
                MetricDaily.ad_account_id == account_id,
                MetricDaily.level == level,
                MetricDaily.object_id.in_(list(object_ids)),
                MetricDaily.day >= start,
                MetricDaily.day <= end,
            )
            .group_by(MetricDaily.object_id)
        )

    async def objects_hours(
        self, account_id: int, level: str, object_ids: Sequence[str], day: date, before_hour: int
    ) -> dict[str, Sums]:
        """Hourly sums per object for one day before an hour."""
        return await self._grouped(  # type: ignore[return-value]
            select(MetricHourly.object_id, *_sum_columns(MetricHourly))
            .where(
                MetricHourly.ad_account_id == account_id,
                MetricHourly.level == level,
                MetricHourly.object_id.in_(list(object_ids)),
                MetricHourly.day == day,
                MetricHourly.hour < before_hour,
            )
            .group_by(MetricHourly.object_id)
        )

    async def manageable(
        self,
        account_id: int,
        level: str,
        parent_id: str | None,
        start: date,
        end: date,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[AdObject, Sums]], int]:
        """Every object of a level (under a parent) that is not deleted, with its sums over a
        range (zero when it did not deliver), by spend then name, paged."""
        sums = _object_sums(account_id, level, start, end)
        where = [
            AdObject.ad_account_id == account_id,
            AdObject.level == level,
            func.coalesce(AdObject.operation_status, "") != "DELETE",
            *self._parent(level, parent_id),
        ]
        total = await self._s.scalar(select(func.count()).select_from(AdObject).where(*where))
        spend = func.coalesce(sums.c.spend, 0)
        rows = await self._s.execute(
            select(AdObject, *(func.coalesce(c, 0).label(c.name) for c in list(sums.c)[1:]))
            .outerjoin(sums, sums.c.object_id == AdObject.object_id)
            .where(*where)
            .order_by(spend.desc(), AdObject.name, AdObject.object_id)
            .limit(limit)
            .offset(offset)
        )
        return [(r[0], _sums(r)) for r in rows], int(total or 0)

    async def object(self, account_id: int, level: str, object_id: str) -> AdObject | None:
        """One synced object."""
        return await self._s.scalar(
            select(AdObject).where(
                AdObject.ad_account_id == account_id,
                AdObject.level == level,
                AdObject.object_id == object_id,
            )
        )

    async def daily(
        self, account_id: int, level: str, object_id: str, start: date, end: date
    ) -> dict[date, Sums]:
        """One object's sums per day."""
        return await self._grouped(  # type: ignore[return-value]
            select(MetricDaily.day, *_sum_columns(MetricDaily))
            .where(
                MetricDaily.ad_account_id == account_id,
                MetricDaily.level == level,
                MetricDaily.object_id == object_id,
                MetricDaily.day >= start,
                MetricDaily.day <= end,
            )
            .group_by(MetricDaily.day)
        )

    async def hourly_spend(
        self, account_id: int, level: str, object_id: str, day: date
    ) -> dict[int, Decimal]:
        """One object's spend per hour of one day."""
        rows = await self._s.execute(
            select(MetricHourly.hour, MetricHourly.spend).where(
                MetricHourly.ad_account_id == account_id,
                MetricHourly.level == level,
                MetricHourly.object_id == object_id,
                MetricHourly.day == day,
            )
        )
        return {int(r.hour): r.spend for r in rows}

    async def daily_rows(
        self, account_id: int, level: str, object_ids: Sequence[str], start: date, end: date
    ) -> list[MetricDaily]:
        """Daily rows of given objects, by object then day (for CSV export)."""
        return list(
            await self._s.scalars(
                select(MetricDaily)
                .where(
                    MetricDaily.ad_account_id == account_id,
                    MetricDaily.level == level,
                    MetricDaily.object_id.in_(list(object_ids)),
                    MetricDaily.day >= start,
                    MetricDaily.day <= end,
                )
                .order_by(MetricDaily.object_id, MetricDaily.day)
            )
        )

    async def account_daily(self, account_id: int) -> list[Row[Any]]:
        """Every daily row of an ad account, by level, object and day (for the data export;
        plain rows, as ORM objects cost several times more at this count)."""
        t = MetricDaily.__table__
        return list(await self._s.execute(
            select(t).where(t.c.ad_account_id == account_id)
            .order_by(t.c.level, t.c.object_id, t.c.day)
        ))

    async def account_hourly(self, account_id: int) -> list[Row[Any]]:
        """Every hourly row of an ad account, by level, object, day and hour (data export)."""
        t = MetricHourly.__table__
        return list(await self._s.execute(
            select(t).where(t.c.ad_account_id == account_id)
            .order_by(t.c.level, t.c.object_id, t.c.day, t.c.hour)
        ))
