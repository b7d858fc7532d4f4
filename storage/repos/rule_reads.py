"""What rules read: the objects and accounts in a rule's scope, the window sums its conditions
test, and the rows a backtest replays (RulesRepo inherits these queries)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    case,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    MetricHourly,
    ObjectValue,
    RuleAction,
    RuleSum,
    TikTokConnection,
    Tracker,
    TrackerDaily,
    TrackerLink,
)
from storage.models.ads import rule_sum_column
from storage.rule_sums import segment_run

_SUMMED = ("spend", "impressions", "clicks", "conversions", "purchase_value")
_MONEY = ("spend", "purchase_value")
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class DayRange:
    """Local days `start`..`end` (start None: from the beginning)."""

    start: date | None
    end: date


class ObjectRow(NamedTuple):
    """What rules read of a synced object (AdObject's names)."""

    ad_account_id: int
    level: str
    object_id: str
    campaign_id: str | None
    adgroup_id: str | None
    name: str
    operation_status: str | None
    secondary_status: str | None
    budget_mode: str | None
    budget: Decimal | None
    bid: Decimal | None
    created_time: datetime | None
    # issue 11 (eligibility): what decides whether a budget or bid change can happen.
    bid_type: str | None = None
    budget_optimize_on: bool | None = None


@dataclass(frozen=True)
class ScopeAccount:
    """An ad account a rule may read and act on, with what acting needs."""

    account: AdAccount
    credential_id: int | None
    connection_status: str
    user_id: int


class RuleReads:
    """The read-only queries of rules, their previews and backtests; never commits."""

    _s: AsyncSession

    # What rules read --------------------------------------------------------------------------

    async def scope_accounts(
        self, user_id: int | Sequence[int], account_ids: Sequence[int] | None
    ) -> list[ScopeAccount]:
        """The tracked ad accounts on live connections of one user (or several: a batch of
        rules asks once), all or those listed."""
        users = [user_id] if isinstance(user_id, int) else list(user_id)
        query = (
            select(
                AdAccount,
                TikTokConnection.credential_id,
                TikTokConnection.status,
                TikTokConnection.user_id,
            )
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(
                TikTokConnection.user_id.in_(users),
                TikTokConnection.status != "disconnected",
                AdAccount.tracked.is_(True),
            )
            .order_by(AdAccount.id)
        )
        if account_ids is not None:
            query = query.where(AdAccount.id.in_(list(account_ids)))
        return [ScopeAccount(a, c, s, u) for a, c, s, u in await self._s.execute(query)]

    async def objects(self, account_ids: Sequence[int]) -> list[ObjectRow]:
        """Every synced object (all levels) of these accounts, deleted ones excluded (plain
        tuples: a batch of rules reads thousands, and entities would cost more)."""
        o = AdObject
        # ObjectRow's fields are AdObject's column names: one list to extend. Executed on the
        # Core connection (no ORM row processing).
        conn = await self._s.connection()
        rows = await conn.execute(
            select(*(getattr(o, f) for f in ObjectRow._fields)).where(
                o.ad_account_id.in_(list(account_ids)),
                or_(o.operation_status.is_(None), o.operation_status != "DELETE"),
            )
        )
        return [ObjectRow(*r) for r in rows.all()]

    async def held_objects(
        self, account_ids: Sequence[int]
    ) -> dict[tuple[int, str, str], datetime]:
        """(account, level, object) of these accounts that "pause for today" holds off → when
        it is to be switched back on (its account's midnight)."""
        rows = await self._s.execute(
            select(
                RuleAction.ad_account_id,
                RuleAction.level,
                RuleAction.object_id,
                func.min(RuleAction.reenable_at),
            )
            .where(
                RuleAction.ad_account_id.in_(list(account_ids)),
                RuleAction.state == "applied",
                RuleAction.reenable_at.is_not(None),
                RuleAction.reenabled_at.is_(None),
            )
            .group_by(RuleAction.ad_account_id, RuleAction.level, RuleAction.object_id)
        )
        return {(a, level, o): due for a, level, o, due in rows.all()}

    async def window_sums(
        self,
        account_ids: Sequence[int],
        level: str,
        days: dict[K, DayRange],
        hours: dict[K, tuple[date, int]],
        make: Callable[..., T] | None,
        today: date | None = None,
    ) -> dict[tuple[int, str], dict[K, Any]]:
        """Per (account, object), the sums of each window (keyed as given): one aggregate query
        over the daily rows of all these accounts for all day windows, and one over hourly rows
        per "last hour" window. Money is summed as integer micros. `make` builds each window's
        value from (spend, impressions, clicks, conversions, purchase value); with `make` None
        a value is those five sums as integers, money in micros. With `today`
        (the accounts' local day), accounts whose rule sums are as of that day are read from
        them (storage.rule_sums) instead, with the same result; objects without daily rows
        in the windows' days are left out either way."""
        out: dict[tuple[int, str], dict[K, Any]] = {}
        hourly_ids = list(account_ids)
        if days and today is not None:
            served = await self._rule_sums(account_ids, level, days, today, make, out)
            account_ids = [a for a in account_ids if a not in served]
        if days and account_ids:
            # Every window's edges cut the days into segments (today, yesterday, 2-3 days ago,
            # ...). The query sums each object's rows per segment — one CASE per row instead of
            # one per row, window and metric — and a window is the sum of its segments.
            cuts = sorted(
                {r.start for r in days.values() if r.start is not None}
                | {r.end + timedelta(days=1) for r in days.values()}
            )
            segment = case(
                *[(MetricDaily.day < cut, n) for n, cut in enumerate(cuts)], else_=len(cuts)
            )
            # Window [start, end] is the run of segments from just after `start`'s cut (or the
            # first) to the one ending at `end + 1 day`.
            spans = {
                key: (
                    0 if rng.start is None else cuts.index(rng.start) + 1,
                    cuts.index(rng.end + timedelta(days=1)),
                )
                for key, rng in days.items()
            }
            first = None if any(r.start is None for r in days.values()) else cuts[0]
            query = (
                select(
                    MetricDaily.ad_account_id,
                    MetricDaily.object_id,
                    segment,
                    *(func.sum(_raw(MetricDaily, m)) for m in _SUMMED),
                )
                .where(
                    MetricDaily.ad_account_id.in_(list(account_ids)),
                    MetricDaily.level == level,
                    MetricDaily.day < cuts[-1],
                )
                .group_by(MetricDaily.ad_account_id, MetricDaily.object_id, segment)
            )
            if first is not None:
                query = query.where(MetricDaily.day >= first)
            width = len(cuts) + 1
            # Core rows, not ORM ones: tens of thousands of (object, segment) sums per batch.
            conn = await self._s.connection()
            parts: dict[tuple[int, str], list[Sequence[int] | None]] = {}
            for account_id, object_id, seg, *sums in (await conn.execute(query)).all():
                segs = parts.get((account_id, object_id))
                if segs is None:
                    segs = parts[(account_id, object_id)] = [None] * width
                segs[seg] = sums
            windows, made = list(spans.items()), _Made(make)
            for obj, segs in parts.items():
                out[obj] = _windows(segs, windows, made)
        for key, (day, hour) in hours.items():
            query = (
                select(
                    MetricHourly.ad_account_id,
                    MetricHourly.object_id,
                    *(func.sum(_raw(MetricHourly, m)) for m in _SUMMED),
                )
                .where(
                    MetricHourly.ad_account_id.in_(hourly_ids),
                    MetricHourly.level == level,
                    MetricHourly.day == day,
                    MetricHourly.hour == hour,
                )
                .group_by(MetricHourly.ad_account_id, MetricHourly.object_id)
            )
            made = _Made(make)
            for row in (await (await self._s.connection()).execute(query)).all():
                out.setdefault((row[0], row[1]), {})[key] = made[tuple(row[2:])]
        return out

    async def _rule_sums(
        self,
        account_ids: Sequence[int],
        level: str,
        days: dict[K, DayRange],
        today: date,
        make: Callable[..., T] | None,
        out: dict[tuple[int, str], dict[K, Any]],
    ) -> set[int]:
        """`window_sums`' day windows from the rule sums of the accounts whose rows are all as
        of `today` (added to `out`); those accounts' ids. One indexed read: each window is the
        sum of its segments' columns, added up by the database."""
        runs = {key: segment_run(today, rng.start, rng.end) for key, rng in days.items()}
        starts = [r.start for r in days.values()]
        # The days the aggregate query would read: an object is known if it has rows there.
        scan = segment_run(
            today,
            None if None in starts else min(s for s in starts if s is not None),
            max(r.end for r in days.values()),
        )
        if scan is None or any(run is None for run in runs.values()):
            return set()  # not a window of the rule language: the aggregate query answers
        c = RuleSum.__table__.c

        def total(name: str, run: tuple[int, int] | None) -> ColumnElement[Any]:
            assert run is not None
            parts = [c[rule_sum_column(s, name)] for s in range(run[0], run[1] + 1)]
            return reduce(operator.add, parts)

        keys = list(runs)
        query = select(
            c.ad_account_id,
            c.object_id,
            c.as_of,
            total("rows", scan),
            *(total(f, runs[k]) for k in keys for f in _SUMMED),
        ).where(c.ad_account_id.in_(list(account_ids)), c.level == level)
        conn = await self._s.connection()
        rows = (await conn.execute(query)).all()
        other_day = {row[0] for row in rows if row[2] != today}
        served = {row[0] for row in rows} - other_day
        # Five sums per window, in the order of `keys`; equal ones share one value. Without
        # `make`, the sums are the values: integers as read (BIGINT additions on PostgreSQL too).
        made = None if make is None else _Made(make).__getitem__
        for account_id, object_id, _, present, *values in rows:
            if present and account_id in served:
                it = iter(values)
                fives = zip(it, it, it, it, it, strict=True)
                out[(account_id, object_id)] = dict(
                    zip(keys, fives if made is None else map(made, fives), strict=True)
                )
        return served

    # Backtests ------------------------------------------------------------------------------

    async def micros_rows(
        self, account_id: int, level: str, start: date, end: date, hourly: bool
    ) -> list[tuple[Any, ...]]:
        """All objects' hourly (object, day, hour, ...) or daily (object, day, ...) rows of one
        account level over local days `start`..`end`, money as integer micros: exact, and a
        backtest reading a month of hours makes no Decimal per row it never looks at."""
        model = MetricHourly if hourly else MetricDaily
        keys = [model.object_id, model.day, *([MetricHourly.hour] if hourly else [])]
        values = [_raw(model, m) for m in _SUMMED]
        return [
            tuple(r)
            for r in await self._s.execute(
                select(*keys, *values).where(
                    model.ad_account_id == account_id,
                    model.level == level,
                    model.day >= start,
                    model.day <= end,
                )
            )
        ]

    async def value_history(
        self, account_id: int, level: str, field: str
    ) -> dict[str, list[tuple[datetime, Decimal | None]]]:
        """Per object of one account level, the recorded changes of `field` (bid | budget),
        oldest first: (valid_from, value)."""
        out: dict[str, list[tuple[datetime, Decimal | None]]] = {}
        rows = await self._s.execute(
            select(ObjectValue.object_id, ObjectValue.valid_from, ObjectValue.value)
            .where(
                ObjectValue.ad_account_id == account_id,
                ObjectValue.level == level,
                ObjectValue.field == field,
            )
            .order_by(ObjectValue.valid_from, ObjectValue.id)
        )
        for oid, valid_from, value in rows:
            out.setdefault(oid, []).append((valid_from, value))
        return out

    # Tracker numbers (issue 12) ------------------------------------------------------------
    # Read only for rules that use tracker metrics (core.rules.tracker), apart from TikTok's sums.

    async def tracker_freshness(self, owners: dict[int, int]) -> dict[int, datetime | None]:
        """Per ad account (id → its owner's user id) with a connected tracker linked to it (or
        to all the owner's accounts, by a pattern link without one): the oldest last good
        pull among those trackers (None: one has never pulled). Accounts without a tracker
        are left out."""
        if not owners:
            return {}
        t, link = Tracker, TrackerLink
        rows = await self._s.execute(
            select(link.ad_account_id, t.user_id, t.id, t.last_ok_at)
            .join(t, t.id == link.tracker_id)
            .where(
                t.status != "disconnected",
                or_(
                    link.ad_account_id.in_(list(owners)),
                    link.ad_account_id.is_(None) & t.user_id.in_(set(owners.values())),
                ),
            )
        )
        per: dict[int, dict[int, datetime | None]] = {}
        for account_id, user_id, tracker_id, ok_at in rows:
            accounts = (
                [account_id]
                if account_id is not None
                else [a for a, owner in owners.items() if owner == user_id]
            )
            for a in accounts:
                per.setdefault(a, {})[tracker_id] = ok_at
        return {
            a: None if None in found.values() else min(v for v in found.values() if v)
            for a, found in per.items()
        }

    async def tracker_first_days(
        self, account_ids: Sequence[int], level: str
    ) -> dict[tuple[int, str], date]:
        """Per (account, object) of one level, the first local day the tracker reported it."""
        d = TrackerDaily
        conn = await self._s.connection()
        rows = await conn.execute(
            select(d.ad_account_id, d.object_id, func.min(d.day))
            .where(d.ad_account_id.in_(list(account_ids)), d.level == level)
            .group_by(d.ad_account_id, d.object_id)
        )
        return {(a, o): _day(first) for a, o, first in rows.all()}

    async def tracker_sums(
        self, account_ids: Sequence[int], level: str, days: dict[str, DayRange]
    ) -> dict[tuple[int, str], dict[str, tuple[int, int, int]]]:
        """Per (account, object), the tracker's (clicks, approved conversions, approved revenue
        in integer micros) of each named window: one aggregate query per segment of days cut
        by the windows' edges, as `window_sums` reads TikTok's; objects without rows in a
        window are left out of it."""
        if not days:
            return {}
        cuts = sorted(
            {r.start for r in days.values() if r.start is not None}
            | {r.end + timedelta(days=1) for r in days.values()}
        )
        d = TrackerDaily
        segment = case(*[(d.day < cut, n) for n, cut in enumerate(cuts)], else_=len(cuts))
        query = (
            select(
                d.ad_account_id,
                d.object_id,
                segment,
                func.sum(d.clicks),
                func.sum(d.conversions),
                func.sum(type_coerce(d.revenue, BigInteger)),
            )
            .where(d.ad_account_id.in_(list(account_ids)), d.level == level, d.day < cuts[-1])
            .group_by(d.ad_account_id, d.object_id, segment)
        )
        if all(r.start is not None for r in days.values()):
            query = query.where(d.day >= cuts[0])
        segs: dict[tuple[int, str], dict[int, tuple[int, int, int]]] = {}
        conn = await self._s.connection()
        for account_id, object_id, seg, clicks, conv, revenue in (await conn.execute(query)).all():
            segs.setdefault((account_id, object_id), {})[int(seg)] = (
                int(clicks or 0),
                int(conv or 0),
                int(revenue or 0),
            )
        out: dict[tuple[int, str], dict[str, tuple[int, int, int]]] = {}
        for obj, per in segs.items():
            for key, rng in days.items():
                lo = 0 if rng.start is None else cuts.index(rng.start) + 1
                hi = cuts.index(rng.end + timedelta(days=1))
                parts = [per[n] for n in range(lo, hi + 1) if n in per]
                if parts:
                    out.setdefault(obj, {})[key] = (
                        sum(p[0] for p in parts),
                        sum(p[1] for p in parts),
                        sum(p[2] for p in parts),
                    )
        return out

    async def tracker_rows(
        self, account_id: int, level: str, start: date, end: date
    ) -> list[tuple[str, date, int, int, int]]:
        """One account level's tracker rows over local days `start`..`end` for a backtest:
        (object, day, clicks, approved conversions, approved revenue in integer micros)."""
        d = TrackerDaily
        conn = await self._s.connection()
        rows = await conn.execute(
            select(
                d.object_id,
                d.day,
                d.clicks,
                d.conversions,
                type_coerce(d.revenue, BigInteger),
            ).where(
                d.ad_account_id == account_id,
                d.level == level,
                d.day >= start,
                d.day <= end,
            )
        )
        return [(o, _day(day), int(c or 0), int(v or 0), int(r or 0)) for o, day, c, v, r in rows]


def _day(value: Any) -> date:
    """A DATE as read on the Core connection (SQLite may hand back its ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _raw(model: type[MetricDaily] | type[MetricHourly], metric: str) -> ColumnElement[Any]:
    """A metric column as stored: money as integer micros (exact to sum, cheap to read)."""
    column = getattr(model, metric)
    return type_coerce(column, BigInteger) if metric in _MONEY else column


def _windows(
    segs: Sequence[Sequence[int] | None],
    windows: Sequence[tuple[str, tuple[int, int]]],
    made: _Made,
) -> dict[str, Any]:
    """One object's windows from its per-segment sums: running totals over the segments, so
    each window (a run of segments `lo..hi`) is one difference per metric; windows that come
    out equal share one value (they are immutable)."""
    spend = impressions = clicks = conversions = value = 0
    cums = [(0, 0, 0, 0, 0)]
    for seg in segs:
        if seg is not None:
            spend += seg[0]
            impressions += seg[1]
            clicks += seg[2]
            conversions += seg[3]
            value += seg[4]
        cums.append((spend, impressions, clicks, conversions, value))
    out: dict[str, Any] = {}
    for key, (lo, hi) in windows:
        a, b = cums[hi + 1], cums[lo]
        out[key] = made[(a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4])]
    return out


class _Made(dict[tuple[Any, ...], Any]):
    """Window values by their five sums, made once each (they are immutable): `make` of the
    sums as Decimal money and int counts, or (make None) the five sums as integers, money in
    micros (core.rules.exact)."""

    def __init__(self, make: Callable[..., Any] | None) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, sums: tuple[Any, ...]) -> Any:
        # int(): PostgreSQL sums BIGINT as NUMERIC; `or 0`: an hour's SUM of only NULLs.
        spend, impressions, clicks, conversions, value = (int(v or 0) for v in sums)
        made = self[sums] = (
            (spend, impressions, clicks, conversions, value)
            if self._make is None
            else self._make(
                Decimal(spend).scaleb(-6),
                impressions,
                clicks,
                conversions,
                Decimal(value).scaleb(-6),
            )
        )
        return made
