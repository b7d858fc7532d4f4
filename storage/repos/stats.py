"""Aggregate metric queries for stats: sums in SQL, never Python loops over rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Result, Row, Select, Subquery, bindparam, case, func, select
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


_COLUMNS = ("spend", "impressions", "clicks", "conversions", "purchase_value")


def _sum_columns(model: type[MetricDaily] | type[MetricHourly]) -> list[ColumnElement[object]]:
    return [func.coalesce(func.sum(getattr(model, c)), 0).label(c) for c in _COLUMNS]


def _sums(values: Sequence[Any]) -> Sums:
    """The five summed columns, in `_sum_columns` order."""
    spend, impressions, clicks, conversions, purchase_value = values
    return Sums(
        Decimal(spend), int(impressions), int(clicks), int(conversions), Decimal(purchase_value)
    )


# The screens' statements are built once, with bound parameters, and run with each call's
# values: building a statement and generating its cache key cost as much CPU as running it
# through SQLAlchemy and aiosqlite, and a stats screen runs several (bench/README.md,
# "Updates, second pass").
_IDS = bindparam("ids", expanding=True)
_OBJECT_IDS = bindparam("object_ids", expanding=True)
_ACCOUNT, _LEVEL = bindparam("account"), bindparam("level")
# Every row of a page also carries how many rows the whole result has (one query, not two).
_TOTAL = func.count().over().label("total")
_START, _END = bindparam("start"), bindparam("end")
_DAY, _BEFORE = bindparam("day"), bindparam("before")  # one day's hours before an hour

_BY_ACCOUNT = (
    select(MetricDaily.ad_account_id, *_sum_columns(MetricDaily))
    .where(
        MetricDaily.ad_account_id.in_(_IDS),
        MetricDaily.level == "advertiser",
        MetricDaily.day >= _START,
        MetricDaily.day <= _END,
    )
    .group_by(MetricDaily.ad_account_id)
)
# A range and the equal range right before it in one read: the rows from `start` on are the
# range's, the earlier ones (from `before_start`) the previous range's.
_BY_ACCOUNT_AND_BEFORE = (
    select(
        MetricDaily.ad_account_id,
        *(
            func.coalesce(func.sum(case((rows, getattr(MetricDaily, c)))), 0)
            for rows in (MetricDaily.day >= _START, MetricDaily.day < _START)
            for c in _COLUMNS
        ),
    )
    .where(
        MetricDaily.ad_account_id.in_(_IDS),
        MetricDaily.level == "advertiser",
        MetricDaily.day >= bindparam("before_start"),
        MetricDaily.day <= _END,
    )
    .group_by(MetricDaily.ad_account_id)
)
_BY_ACCOUNT_HOURS = (
    select(MetricHourly.ad_account_id, *_sum_columns(MetricHourly))
    .where(
        MetricHourly.ad_account_id.in_(_IDS),
        MetricHourly.level == "advertiser",
        MetricHourly.day == _DAY,
        MetricHourly.hour < _BEFORE,
    )
    .group_by(MetricHourly.ad_account_id)
)


def _per_object(
    table: type[MetricDaily] | type[MetricHourly], *rows: ColumnElement[bool]
) -> Select[Any]:
    """The bound objects' sums, one line per object, over the `rows` of their level."""
    return (
        select(table.object_id, *_sum_columns(table))
        .where(
            table.ad_account_id == _ACCOUNT,
            table.level == _LEVEL,
            table.object_id.in_(_OBJECT_IDS),
            *rows,
        )
        .group_by(table.object_id)
    )


_OBJECTS_SUMS = _per_object(MetricDaily, MetricDaily.day >= _START, MetricDaily.day <= _END)
_OBJECTS_HOURS = _per_object(MetricHourly, MetricHourly.day == _DAY, MetricHourly.hour < _BEFORE)
_OBJECT = select(AdObject).where(
    AdObject.ad_account_id == _ACCOUNT,
    AdObject.level == _LEVEL,
    AdObject.object_id == bindparam("object_id"),
)


def _object_sums(level: str) -> Subquery:
    """Per object of a level, its daily rows summed over the bound range."""
    return (
        select(MetricDaily.object_id, *_sum_columns(MetricDaily))
        .where(
            MetricDaily.ad_account_id == _ACCOUNT,
            MetricDaily.level == level,
            MetricDaily.day >= _START,
            MetricDaily.day <= _END,
        )
        .group_by(MetricDaily.object_id)
        .subquery()
    )


def _parent_filter(level: str, with_parent: bool) -> list[ColumnElement[bool]]:
    """The objects under the bound `parent` (an ad group's campaign, an ad's ad group)."""
    if not with_parent:
        return []
    column = AdObject.campaign_id if level == "adgroup" else AdObject.adgroup_id
    return [column == bindparam("parent")]


@cache
def _objects_page(level: str, with_parent: bool) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of a level's objects that delivered in a range, by spend (each
    row of the page ends with the count, see `_paged`)."""
    sums = _object_sums(level)
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
            AdObject.ad_account_id == _ACCOUNT,
            AdObject.level == level,
            *_parent_filter(level, with_parent),
        )
    )
    count = select(func.count()).select_from(base.subquery())
    page = (
        base.add_columns(_TOTAL)
        .order_by(sums.c.spend.desc(), AdObject.name, AdObject.object_id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return count, page


@cache
def _manageable_page(level: str, with_parent: bool) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of a level's objects that are not deleted, with their sums over a
    range (zero when they did not deliver), by spend then name (rows end with the count)."""
    sums = _object_sums(level)
    where = [
        AdObject.ad_account_id == _ACCOUNT,
        AdObject.level == level,
        func.coalesce(AdObject.operation_status, "") != "DELETE",
        *_parent_filter(level, with_parent),
    ]
    count = select(func.count()).select_from(AdObject).where(*where)
    page = (
        select(AdObject, *(func.coalesce(c, 0).label(c.name) for c in list(sums.c)[1:]), _TOTAL)
        .outerjoin(sums, sums.c.object_id == AdObject.object_id)
        .where(*where)
        .order_by(func.coalesce(sums.c.spend, 0).desc(), AdObject.name, AdObject.object_id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return count, page


@dataclass(frozen=True)
class ObjectLine:
    """One object of a breakdown with its sums."""

    object_id: str
    name: str
    status: str | None
    sums: Sums


async def plain_rows(
    session: AsyncSession, query: Select[Any], values: dict[str, Any]
) -> Result[Any]:
    """Plain columns, read on the session's connection: no ORM handling of the rows, a third of
    such a read's CPU (bench/README.md, "Updates, fourth pass"). For the metric tables, which
    only Core statements write, and the screens' reads of objects (read-only units of work):
    nothing to autoflush."""
    return await (await session.connection()).execute(query, values)


class StatsRepo:
    """Reads synced metrics, summed per account or per object."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _grouped(self, query: Select[Any], **values: object) -> dict[object, Sums]:
        return {row[0]: _sums(row[1:]) for row in await self._plain(query, values)}

    async def _plain(self, query: Select[Any], values: dict[str, Any]) -> Result[Any]:
        return await plain_rows(self._s, query, values)

    async def by_account(
        self, account_ids: Sequence[int], start: date, end: date
    ) -> dict[int, Sums]:
        """Account-level sums of daily rows per account."""
        return await self._grouped(  # type: ignore[return-value]
            _BY_ACCOUNT, ids=list(account_ids), start=start, end=end
        )

    async def by_account_and_before(
        self, account_ids: Sequence[int], start: date, end: date, before_start: date
    ) -> dict[int, tuple[Sums, Sums]]:
        """Per account, account-level sums of daily rows over `start`..`end` and over the days
        from `before_start` to the day before `start` (the previous equal period)."""
        rows = await self._plain(
            _BY_ACCOUNT_AND_BEFORE,
            {"ids": list(account_ids), "start": start, "end": end, "before_start": before_start},
        )
        return {int(r[0]): (_sums(r[1:6]), _sums(r[6:11])) for r in rows}

    async def by_account_hours(
        self, account_ids: Sequence[int], day: date, before_hour: int
    ) -> dict[int, Sums]:
        """Account-level sums of one day's hours before `before_hour`, per account."""
        return await self._grouped(  # type: ignore[return-value]
            _BY_ACCOUNT_HOURS, ids=list(account_ids), day=day, before=before_hour
        )

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
        values = {"account": account_id, "start": start, "end": end, "parent": parent_id}
        rows, total = await self._paged(
            _objects_page(level, parent_id is not None), values, limit, offset, plain=True
        )
        return [ObjectLine(r[0], r[1], r[2], _sums(r[3:-1])) for r in rows], total

    async def objects_sums(
        self, account_id: int, level: str, object_ids: Sequence[str], start: date, end: date
    ) -> dict[str, Sums]:
        """Daily sums per object for given objects over a range."""
        return await self._grouped(  # type: ignore[return-value]
            _OBJECTS_SUMS, account=account_id, level=level, object_ids=list(object_ids),
            start=start, end=end,
        )

    async def objects_hours(
        self, account_id: int, level: str, object_ids: Sequence[str], day: date, before_hour: int
    ) -> dict[str, Sums]:
        """Hourly sums per object for one day before an hour."""
        return await self._grouped(  # type: ignore[return-value]
            _OBJECTS_HOURS, account=account_id, level=level, object_ids=list(object_ids),
            day=day, before=before_hour,
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
        values = {"account": account_id, "start": start, "end": end, "parent": parent_id}
        rows, total = await self._paged(
            _manageable_page(level, parent_id is not None), values, limit, offset
        )
        return [(r[0], _sums(r[1:-1])) for r in rows], total

    async def _paged(
        self, statements: tuple[Select[Any], Select[Any]], values: dict[str, Any], limit: int,
        offset: int, plain: bool = False,
    ) -> tuple[Sequence[Row[Any]], int]:
        """A page and the count of every row, in one query while the page has rows (each ends
        with the count, a window over the whole result); a page past the end counts apart.
        `plain`: a page of columns only, for a screen's read (`_plain`)."""
        count, page = statements
        run = self._plain if plain else self._s.execute
        rows = (await run(page, {**values, "limit": limit, "offset": offset})).all()
        if rows:
            return rows, int(rows[0][-1])
        return rows, (int((await run(count, values)).scalar() or 0) if offset else 0)

    async def object(self, account_id: int, level: str, object_id: str) -> AdObject | None:
        """One synced object."""
        return await self._s.scalar(
            _OBJECT, {"account": account_id, "level": level, "object_id": object_id}
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
