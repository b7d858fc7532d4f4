"""The stored rows a backtest replays (core.rules.backtest), read as prefix sums: per object,
per complete day and per hour of one account level, the tracker's days and the bid history;
and which runs a replay makes in one account."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from core.metrics import Totals
from core.rules.model import Window
from core.rules.windows import window_range

ZERO_MONEY = Decimal(0)
_CENTS = Decimal("0.00")
# (spend, impressions, clicks, conversions, purchase_value), money in integer micros (exact;
# turned into Decimal only where a rule reads it or a result shows it).
Row = tuple[int, int, int, int, int]
ZERO: Row = (0, 0, 0, 0, 0)
TICK = timedelta(microseconds=1)
# A tracker's (clicks, approved conversions, approved revenue in integer micros) of a day.
TRow = tuple[int, int, int]
_TZERO: TRow = (0, 0, 0)


def add_rows(a: Row, b: Row) -> Row:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4])


def _sub(a: Row, b: Row) -> Row:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4])


def _row(values: Sequence[Any]) -> Row:
    spend, impressions, clicks, conversions, value = values
    return (
        int(spend or 0),
        int(impressions or 0),
        int(clicks or 0),
        int(conversions or 0),
        int(value or 0),
    )


def money_of(micros: int) -> Decimal:
    """Micros as the storage layer shows money (storage.models.base.Micros)."""
    return Decimal(micros).scaleb(-6).normalize() + _CENTS


def totals_of(row: Row) -> Totals:
    return Totals(money_of(row[0]), row[1], row[2], row[3], money_of(row[4]))


def fast_totals(row: Row) -> Totals:
    # The same amounts at six places: equal values, only the printed form differs.
    return Totals(Decimal(row[0]).scaleb(-6), row[1], row[2], row[3], Decimal(row[4]).scaleb(-6))


@dataclass(frozen=True)
class Reader:
    """How to read one window at one run: complete days lo..hi (indexes into the account's
    sorted days), plus today's hours before `hours` (day, hour) or one hour (`one_hour`)."""

    lo: int
    hi: int
    day_from: date | None
    day_to: date | None
    today: tuple[date, int] | None = None
    one_hour: tuple[date, int] | None = None


@dataclass
class Run:
    """One simulated run in one account: when, which local day and hour, coarse or not."""

    at: datetime
    day: date
    hour: int
    coarse: bool


class LevelData:
    """One account-level's rows as prefix sums: per object, per complete day and per hour."""

    def __init__(
        self,
        hourly: Sequence[tuple[Any, ...]],
        daily: Sequence[tuple[Any, ...]],
        period: Sequence[date],
        wanted: set[str],
    ) -> None:
        hours: dict[str, dict[date, list[Row]]] = defaultdict(dict)
        self.hourly_days: set[date] = set()
        for oid, day, hour, *vals in hourly:
            self.hourly_days.add(day)
            if oid not in wanted or not 0 <= hour < 24:
                continue
            # One row per object, day and hour (the table's primary key).
            hours[oid].setdefault(day, [ZERO] * 24)[hour] = _row(vals)
        whole: dict[str, dict[date, Row]] = defaultdict(dict)
        self.daily_days: set[date] = set()
        for oid, day, *vals in daily:
            self.daily_days.add(day)
            if oid in wanted:
                whole[oid][day] = _row(vals)
        # A complete day reads its daily row; without one, its hours sum to the same.
        self.hour_prefix: dict[str, dict[date, list[Row]]] = {}
        for oid, per_day in hours.items():
            self.hour_prefix[oid] = {}
            for day, slots in per_day.items():
                prefix = [
                    ZERO,
                    *zip(*(accumulate(col) for col in zip(*slots, strict=True)), strict=True),
                ]
                self.hour_prefix[oid][day] = prefix
                whole[oid].setdefault(day, prefix[24])
        self.days = sorted({*period, *self.hourly_days, *self.daily_days})
        self.day_prefix: dict[str, list[Row]] = {}
        self.day_total: dict[str, dict[date, Row]] = whole
        for oid, per_day in whole.items():
            acc, prefix = ZERO, [ZERO]
            for day in self.days:
                acc = add_rows(acc, per_day.get(day, ZERO))
                prefix.append(acc)
            self.day_prefix[oid] = prefix

    def span(self, lo_day: date | None, hi_day: date) -> tuple[int, int]:
        """Prefix indexes of complete days lo_day..hi_day (lo_day None: from the first)."""
        lo = 0 if lo_day is None else bisect_left(self.days, lo_day)
        return lo, bisect_right(self.days, hi_day)

    def read(self, oid: str, r: Reader, removed: list[tuple[date, Row]] | None) -> Row:
        """One object's sums for one window at one run."""
        if r.one_hour is not None:
            prefix = self.hour_prefix.get(oid, {}).get(r.one_hour[0])
            if prefix is None:
                return ZERO
            h = r.one_hour[1]
            return _sub(prefix[h + 1], prefix[h])
        days = self.day_prefix.get(oid)
        out = ZERO if days is None or r.hi <= r.lo else _sub(days[r.hi], days[r.lo])
        if removed and r.day_to is not None:
            for day, row in removed:
                if (r.day_from is None or day >= r.day_from) and day <= r.day_to:
                    out = _sub(out, row)
        if r.today is not None:
            prefix = self.hour_prefix.get(oid, {}).get(r.today[0])
            if prefix is not None:
                out = add_rows(out, prefix[r.today[1]])
        return out

    def rest_of_day(self, oid: str, day: date, hour: int) -> Row:
        """What an object did on `day` from local `hour` on (hourly rows)."""
        prefix = self.hour_prefix.get(oid, {}).get(day)
        if prefix is None or hour >= 24:
            return ZERO
        return _sub(prefix[24], prefix[hour])


class TrackerDays:
    """One account level's tracker rows as per-object, per-day prefix sums, read beside the
    TikTok rows (`LevelData`) so parts of days follow the spend (see the module's docstring)."""

    def __init__(
        self,
        rows: Sequence[tuple[str, date, int, int, int]],
        first: dict[str, date],
        wanted: set[str],
    ) -> None:
        per: dict[str, dict[date, TRow]] = defaultdict(dict)
        self.days_with_rows: set[date] = set()
        for oid, day, clicks, conversions, revenue in rows:
            self.days_with_rows.add(day)
            if oid in wanted:
                per[oid][day] = (clicks, conversions, revenue)
        self.per = per
        self.first = {o: d for o, d in first.items() if o in wanted}
        self.days = {oid: sorted(days) for oid, days in per.items()}
        self.prefix: dict[str, list[TRow]] = {}
        for oid, days in self.days.items():
            acc, prefix = _TZERO, [_TZERO]
            for day in days:
                row = per[oid][day]
                acc = (acc[0] + row[0], acc[1] + row[1], acc[2] + row[2])
                prefix.append(acc)
            self.prefix[oid] = prefix

    def _part(self, oid: str, day: date, data: LevelData, spend: int) -> TRow:
        """The share of the tracker's `day` that `spend` of that day's TikTok spend brought."""
        row = self.per.get(oid, {}).get(day)
        if row is None:
            return _TZERO
        hours = data.hour_prefix.get(oid, {}).get(day)
        full = hours[24][0] if hours is not None else data.day_total.get(oid, {}).get(day, ZERO)[0]
        if full <= 0 or spend <= 0:
            return _TZERO
        if spend >= full:
            return row
        return (row[0] * spend // full, row[1] * spend // full, row[2] * spend // full)

    def read(
        self, oid: str, r: Reader, data: LevelData, removed: list[tuple[date, Row]] | None
    ) -> TRow | None:
        """One object's tracker numbers for one window at one run; None before its first row."""
        first = self.first.get(oid)
        if r.one_hour is not None:
            day = r.one_hour[0]
            if first is None or first > day:
                return None
            return self._part(oid, day, data, data.read(oid, r, None)[0])
        end = r.today[0] if r.today is not None else r.day_to
        if first is None or end is None or first > end:
            return None
        out = _TZERO
        days, prefix = self.days.get(oid), self.prefix.get(oid)
        if days and prefix and r.day_to is not None:
            lo = 0 if r.day_from is None else bisect_left(days, r.day_from)
            hi = bisect_right(days, r.day_to)
            if hi > lo:
                a, b = prefix[hi], prefix[lo]
                out = (a[0] - b[0], a[1] - b[1], a[2] - b[2])
        for day, row in removed or ():
            if (
                r.day_to is not None
                and (r.day_from is None or day >= r.day_from)
                and (day <= r.day_to)
            ):
                gone = self._part(oid, day, data, row[0])
                out = (out[0] - gone[0], out[1] - gone[1], out[2] - gone[2])
        if r.today is not None:
            day, hour = r.today
            hours = data.hour_prefix.get(oid, {}).get(day)
            spent = hours[hour][0] if hours is not None else 0
            part = self._part(oid, day, data, spent)
            out = (out[0] + part[0], out[1] + part[1], out[2] + part[2])
        return out


class BidHistory:
    """The ad groups' bids over time: their recorded changes, else the bid synced now."""

    def __init__(
        self,
        history: dict[str, list[tuple[datetime, Decimal | None]]],
        current: dict[str, Decimal | None],
    ) -> None:
        self._changes = history
        self._times = {g: [t for t, _ in changes] for g, changes in history.items()}
        self._current = current
        self.assumed = 0  # reads from before a group's history (or without one)
        self.known_from = min((c[0][0] for c in history.values() if c), default=None)

    def at(self, group: str | None, when: datetime) -> Decimal | None:
        """The group's bid at `when`."""
        if group is None:
            return None
        changes = self._changes.get(group)
        if not changes:
            self.assumed += 1
            return self._current.get(group)
        i = bisect_right(self._times[group], when)
        if i == 0:
            self.assumed += 1
            return changes[0][1]
        return changes[i - 1][1]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def reader_at(
    window: Window, at: datetime, tz: str, day: date, hour: int, coarse: bool, data: LevelData
) -> Reader:
    """How to read `window` at a run; a coarse run reads its day as complete."""
    rng = window_range(window, at, tz)
    if rng.hour is not None:
        return Reader(0, 0, None, None, one_hour=rng.hour)
    complete_to = min(rng.end, day if coarse else day - timedelta(days=1))
    lo, hi = (
        data.span(rng.start, complete_to)
        if rng.start is None or rng.start <= complete_to
        else (0, 0)
    )
    today = (day, hour) if not coarse and rng.end >= day else None
    return Reader(lo, hi, rng.start, complete_to, today=today)


def runs_in(
    ticks: Sequence[datetime],
    zone: ZoneInfo,
    period: Sequence[date],
    hourly_days: set[date],
    daily_days: set[date],
) -> list[Run]:
    """The runs in one account: scheduled ticks, one per local hour on days with hourly data,
    one at the end of a day that has only daily rows, none on days without rows."""
    first, last = period[0], period[-1]
    out: list[Run] = []
    seen_hours: set[tuple[date, int]] = set()
    coarse_seen: set[date] = set()
    for at in ticks:
        local = at.astimezone(zone)
        day = local.date()
        if not first <= day <= last:
            continue
        if day in hourly_days:
            if (day, local.hour) in seen_hours:
                continue
            seen_hours.add((day, local.hour))
            # A run off the top of the hour cannot stop that hour's spend: count from the next.
            out.append(Run(at, day, local.hour, False))
        elif day in daily_days and day not in coarse_seen:
            coarse_seen.add(day)
            end = local_midnight(day + timedelta(days=1), zone)
            out.append(Run(end, day, 24, True))
    out.sort(key=lambda r: r.at)
    return out
