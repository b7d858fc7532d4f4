"""What a rule would have done over the last 7–30 days of stored data (before enabling it).

The replay covers the last `days` complete local days of each ad account in scope (today, still
running, is left out). Runs follow the rule's schedule in the user's time zone, at most one per
local hour of the account: the data is hourly, and a run at instant t sees only the hours that
ended by t (the hour containing t is not reported yet), exactly as `window_range` reads them.

Rows are loaded once per ad account and level (one query for hourly rows, one for daily rows
over the period plus the longest window before it) and every window is read from per-day and
per-hour prefix sums, so a 30-day replay of hundreds of objects needs no query per run.

Consequences are simulated: a pause stops the object's later spend from counting (that spend
and the conversions and purchase value it brought are reported per currency as "saved"; a
pause for today until the account's next midnight, and the days after it then read the day
without the saved hours); budget changes compound from the object's own budget as last synced;
enable, bid and notify are counted only. Days with daily rows but no hourly rows are evaluated
once at the end of the day from the daily rows (`coarse_days`).

A rule that reads tracker metrics (core.rules.tracker) reads the tracker's daily rows of each
day. The tracker reports whole days, so a part of a day — today up to a run, one hour, the
hours a pause took away — counts that day's tracker numbers in proportion to the TikTok spend
of the part (revenue follows spend through the day). An object is "no data" until the day of
its first tracker row, skipped for that reason as in a live run, never read as zero revenue.

A rule that reads the bid (`bid`, `target`) reads each ad group's bid as it was at the run,
from the history syncs record (storage ObjectValue: a change is dated when a sync first saw
it). Before an ad group's first recorded value, or without any, it reads the earliest known
(else the current) bid, and the result says from when bids were known (`bids_known_from`).

Assumptions worth knowing when reading a result: objects are the ones synced now (deleted
ones and objects created later are left out), all treated as running at the start (for an
enable rule: the ones off now, treated as off); budgets start at today's synced values; the
hour a run falls in is not counted as saved unless the run is at the top of that hour.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from core.eligibility import Blocked
from core.metrics import Totals
from core.rules.acting import adjusted, next_midnight
from core.rules.evaluate import (
    Facts,
    Reading,
    holds,
    leaves,
    readings,
    reads_bid,
    summed,
    windows_of,
)
from core.rules.model import ActionKind, Level, RuleSpec, Window, status_word
from core.rules.schedule import next_due
from core.rules.settings import RuleSettings
from core.rules.text import parse_rule
from core.rules.tracker import NO_DATA, TrackerSums, tracker_windows
from core.rules.windows import window_range
from core.rules.world import World
from storage.repos.rules import ObjectRow, ScopeAccount
from storage.uow import UnitOfWork

MIN_DAYS, MAX_DAYS = 7, 30
FIRINGS_SHOWN = 200
_ZERO_MONEY = Decimal(0)
_CENTS = Decimal("0.00")
# (spend, impressions, clicks, conversions, purchase_value), money in integer micros (exact;
# turned into Decimal only where a rule reads it or a result shows it).
Row = tuple[int, int, int, int, int]
_ZERO: Row = (0, 0, 0, 0, 0)
_TICK = timedelta(microseconds=1)
# A tracker's (clicks, approved conversions, approved revenue in integer micros) of a day.
TRow = tuple[int, int, int]
_TZERO: TRow = (0, 0, 0)


def _add(a: Row, b: Row) -> Row:
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


def _money(micros: int) -> Decimal:
    """Micros as the storage layer shows money (storage.models.base.Micros)."""
    return Decimal(micros).scaleb(-6).normalize() + _CENTS


def _totals(row: Row) -> Totals:
    return Totals(_money(row[0]), row[1], row[2], row[3], _money(row[4]))


def _fast_totals(row: Row) -> Totals:
    # The same amounts at six places: equal values, only the printed form differs.
    return Totals(Decimal(row[0]).scaleb(-6), row[1], row[2], row[3], Decimal(row[4]).scaleb(-6))


@dataclass(frozen=True)
class Firing:
    """One time the rule would have acted on one object, and what it read then."""

    at: datetime
    account_id: int
    object_id: str
    name: str
    readings: tuple[Reading, ...]
    currency: str = ""
    saved_spend: Decimal | None = None  # pause: the spend that would not have happened
    budget_before: Decimal | None = None  # budget change: the daily budget before and after
    budget_after: Decimal | None = None


@dataclass(frozen=True)
class ObjectFirings:
    """How often the rule would have acted on one object."""

    account_id: int
    object_id: str
    name: str
    count: int


@dataclass(frozen=True)
class AccountReplay:
    """What was replayed for one ad account: its local days and how much data they had."""

    account_id: int
    name: str
    currency: str
    time_zone: str
    first_day: date
    last_day: date
    objects: int
    hourly_days: int
    coarse_days: tuple[date, ...]
    empty_days: tuple[date, ...]
    tracker_days: int = 0  # replayed days with tracker rows (rules reading tracker metrics)


@dataclass
class Backtest:
    """What a rule would have done over the replayed days (money per currency, never mixed)."""

    days: int
    hourly_days: int  # requested days with hourly data (in the account with the most)
    coarse_days: tuple[date, ...]  # days replayed once, at their end, from daily rows
    empty_days: tuple[date, ...]  # days with no rows at all at the rule's level: not replayed
    runs: int
    objects: int
    firing_count: int
    firings: list[Firing]  # newest first, at most FIRINGS_SHOWN
    per_object: list[ObjectFirings]  # most firings first
    saved: dict[str, Totals] = field(default_factory=dict)  # what paused objects did not spend
    budget_change: dict[str, Decimal] = field(default_factory=dict)  # daily budgets, new − old
    accounts: list[AccountReplay] = field(default_factory=list)
    # Objects that matched but whose budget or bid cannot change, per reason (core.eligibility).
    skipped: dict[str, int] = field(default_factory=dict)
    # For a rule that reads the bid: runs that read a bid from before its recorded history
    # (the earliest known, or the current, bid stood in), and when the history starts (None:
    # no bid history yet — every run read the current bid).
    bids_assumed: int = 0
    bids_known_from: datetime | None = None
    # For a rule reading tracker metrics: replayed days with tracker rows (in the account with
    # the most); None for other rules.
    tracker_days: int | None = None

    @property
    def saved_spend(self) -> dict[str, Decimal]:
        """Spend that pauses would have saved, per currency."""
        return {c: t.spend for c, t in self.saved.items()}

    @property
    def lost_conversions(self) -> dict[str, int]:
        """Conversions the saved spend brought (lost with it), per currency of that spend."""
        return {c: t.conversions for c, t in self.saved.items()}

    @property
    def lost_value(self) -> dict[str, Decimal]:
        """Purchase value the saved spend brought (lost with it), per currency."""
        return {c: t.purchase_value for c, t in self.saved.items()}


@dataclass(frozen=True)
class _Reader:
    """How to read one window at one run: complete days lo..hi (indexes into the account's
    sorted days), plus today's hours before `hours` (day, hour) or one hour (`one_hour`)."""

    lo: int
    hi: int
    day_from: date | None
    day_to: date | None
    today: tuple[date, int] | None = None
    one_hour: tuple[date, int] | None = None


@dataclass
class _Run:
    """One simulated run in one account: when, which local day and hour, coarse or not."""

    at: datetime
    day: date
    hour: int
    coarse: bool


class _Data:
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
            hours[oid].setdefault(day, [_ZERO] * 24)[hour] = _row(vals)
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
                    _ZERO,
                    *zip(*(accumulate(col) for col in zip(*slots, strict=True)), strict=True),
                ]
                self.hour_prefix[oid][day] = prefix
                whole[oid].setdefault(day, prefix[24])
        self.days = sorted({*period, *self.hourly_days, *self.daily_days})
        self.day_prefix: dict[str, list[Row]] = {}
        self.day_total: dict[str, dict[date, Row]] = whole
        for oid, per_day in whole.items():
            acc, prefix = _ZERO, [_ZERO]
            for day in self.days:
                acc = _add(acc, per_day.get(day, _ZERO))
                prefix.append(acc)
            self.day_prefix[oid] = prefix

    def span(self, lo_day: date | None, hi_day: date) -> tuple[int, int]:
        """Prefix indexes of complete days lo_day..hi_day (lo_day None: from the first)."""
        lo = 0 if lo_day is None else bisect_left(self.days, lo_day)
        return lo, bisect_right(self.days, hi_day)

    def read(self, oid: str, r: _Reader, removed: list[tuple[date, Row]] | None) -> Row:
        """One object's sums for one window at one run."""
        if r.one_hour is not None:
            prefix = self.hour_prefix.get(oid, {}).get(r.one_hour[0])
            if prefix is None:
                return _ZERO
            h = r.one_hour[1]
            return _sub(prefix[h + 1], prefix[h])
        days = self.day_prefix.get(oid)
        out = _ZERO if days is None or r.hi <= r.lo else _sub(days[r.hi], days[r.lo])
        if removed and r.day_to is not None:
            for day, row in removed:
                if (r.day_from is None or day >= r.day_from) and day <= r.day_to:
                    out = _sub(out, row)
        if r.today is not None:
            prefix = self.hour_prefix.get(oid, {}).get(r.today[0])
            if prefix is not None:
                out = _add(out, prefix[r.today[1]])
        return out

    def rest_of_day(self, oid: str, day: date, hour: int) -> Row:
        """What an object did on `day` from local `hour` on (hourly rows)."""
        prefix = self.hour_prefix.get(oid, {}).get(day)
        if prefix is None or hour >= 24:
            return _ZERO
        return _sub(prefix[24], prefix[hour])


class _Tracker:
    """One account level's tracker rows as per-object, per-day prefix sums, read beside the
    TikTok rows (`_Data`) so parts of days follow the spend (see the module's docstring)."""

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

    def _part(self, oid: str, day: date, data: _Data, spend: int) -> TRow:
        """The share of the tracker's `day` that `spend` of that day's TikTok spend brought."""
        row = self.per.get(oid, {}).get(day)
        if row is None:
            return _TZERO
        hours = data.hour_prefix.get(oid, {}).get(day)
        full = hours[24][0] if hours is not None else data.day_total.get(oid, {}).get(day, _ZERO)[0]
        if full <= 0 or spend <= 0:
            return _TZERO
        if spend >= full:
            return row
        return (row[0] * spend // full, row[1] * spend // full, row[2] * spend // full)

    def read(
        self, oid: str, r: _Reader, data: _Data, removed: list[tuple[date, Row]] | None
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


class _Bids:
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


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _reader(
    window: Window, at: datetime, tz: str, day: date, hour: int, coarse: bool, data: _Data
) -> _Reader:
    """How to read `window` at a run; a coarse run reads its day as complete."""
    rng = window_range(window, at, tz)
    if rng.hour is not None:
        return _Reader(0, 0, None, None, one_hour=rng.hour)
    complete_to = min(rng.end, day if coarse else day - timedelta(days=1))
    lo, hi = (
        data.span(rng.start, complete_to)
        if rng.start is None or rng.start <= complete_to
        else (0, 0)
    )
    today = (day, hour) if not coarse and rng.end >= day else None
    return _Reader(lo, hi, rng.start, complete_to, today=today)


def _runs(
    ticks: Sequence[datetime],
    zone: ZoneInfo,
    period: Sequence[date],
    hourly_days: set[date],
    daily_days: set[date],
) -> list[_Run]:
    """The runs in one account: scheduled ticks, one per local hour on days with hourly data,
    one at the end of a day that has only daily rows, none on days without rows."""
    first, last = period[0], period[-1]
    out: list[_Run] = []
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
            out.append(_Run(at, day, local.hour, False))
        elif day in daily_days and day not in coarse_seen:
            coarse_seen.add(day)
            end = _local_midnight(day + timedelta(days=1), zone)
            out.append(_Run(end, day, 24, True))
    out.sort(key=lambda r: r.at)
    return out


def _lookback(spec: RuleSpec) -> int | None:
    """Days before the period a rule's windows reach back (None: lifetime)."""
    most = 1
    for window in windows_of(spec):
        if window.span == "lifetime":
            return None
        if window.span.endswith("d"):
            most = max(most, int(window.span.removesuffix("d")))
    return most


def _uses_age(spec: RuleSpec) -> bool:
    return any(
        c.metric == "age_days"
        or c.operand.metric == "age_days"
        or (c.upper is not None and c.upper.metric == "age_days")
        for c in leaves(spec.when)
    )


def _schedule_ticks(
    settings: RuleSettings, user_tz: str, start: datetime, end: datetime
) -> list[datetime]:
    """The scheduled run instants in [start, end)."""
    out: list[datetime] = []
    at = next_due(settings.schedule, start - _TICK, user_tz)
    while at < end:
        out.append(at)
        at = next_due(settings.schedule, at, user_tz)
    return out


class _Replay:
    """The state of one replay: what fired, what is paused, budgets, sums per currency."""

    def __init__(self, spec: RuleSpec, settings: RuleSettings) -> None:
        self.spec, self.settings = spec, settings
        self.windows = sorted(windows_of(spec), key=repr)
        self.memo: dict[Any, bool] | None = None if _uses_age(spec) else {}
        self.firings: list[Firing] = []
        self.fired: dict[tuple[int, str], list[datetime]] = defaultdict(list)
        self.saved: dict[str, Row] = {}
        self.budget_change: dict[str, Decimal] = {}
        self.runs: set[tuple[datetime, bool]] = set()
        # What a matched object's action changes (itself or the parent the rule names), or
        # why nothing can be: set per account by `backtest`.
        self.aims: dict[str, ObjectRow | Blocked] = {}
        self.skipped: dict[str, set[tuple[int, str]]] = defaultdict(set)
        self.reads_bid = reads_bid(spec) and spec.level is not Level.CAMPAIGN
        self.bids_assumed = 0
        self.bids_known_from: datetime | None = None
        tracked = tracker_windows(spec)
        self.tracked = tuple(i for i, w in enumerate(self.windows) if w in tracked)

    def allowed(self, key: tuple[int, str], at: datetime) -> bool:
        """Whether the frequency limit lets the rule act on this object again at `at`."""
        freq = self.settings.frequency
        times = self.fired.get(key, ())
        if freq.hours is None:
            return len(times) < freq.times
        # An action exactly `hours` ago no longer counts, as in the engine: "once per 24 h" on
        # an hourly schedule fires at the same hour each day, not an hour later every day.
        since = at - timedelta(hours=freq.hours)
        return sum(1 for t in times if t > since) < freq.times

    def facts(
        self,
        obj: ObjectRow,
        rows: tuple[Row, ...],
        budget: Decimal | None,
        bid: Decimal | None,
        shown: bool = False,
        tracker: tuple[TRow | None, ...] | None = None,
    ) -> Facts:
        """What the rule knows about one object at one run (`shown`: money as stored;
        `tracker`: the tracker's numbers per window, None where it has no data)."""
        make = _totals if shown else _fast_totals
        return Facts(
            obj.object_id,
            obj.name,
            budget,
            obj.created_time,
            {w: make(row) for w, row in zip(self.windows, rows, strict=True)},
            status_word(obj.operation_status, obj.secondary_status),  # as synced now
            bid=bid,
            tracker=None
            if tracker is None
            else {
                w: _tracker_sums(t, shown)
                for w, t in zip(self.windows, tracker, strict=True)
                if t is not None
            },
        )

    def check(
        self,
        obj: ObjectRow,
        rows: tuple[Row, ...],
        budget: Decimal | None,
        bid: Decimal | None,
        at: datetime,
        tracker: tuple[TRow | None, ...] | None = None,
    ) -> bool:
        """`holds`, remembered for identical sums when the rule does not read age."""
        if self.memo is None:
            return holds(self.spec.when, self.facts(obj, rows, budget, bid, False, tracker), at)
        key = (rows, budget, bid, tracker)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = holds(
                self.spec.when, self.facts(obj, rows, budget, bid, False, tracker), at
            )
        return found

    def lacks(self, tracker: tuple[TRow | None, ...] | None) -> bool:
        """Whether the tracker has no data for a window in which the rule reads it."""
        if not self.tracked:
            return False
        return tracker is None or any(tracker[i] is None for i in self.tracked)

    async def account(
        self,
        u: UnitOfWork,
        sa: ScopeAccount,
        objects: list[ObjectRow],
        budgets: dict[str, Decimal | None],
        group_bids: dict[str, Decimal | None],
        ticks: Sequence[datetime],
        now: datetime,
        days: int,
    ) -> AccountReplay:
        """Replay the rule over one ad account."""
        acc = sa.account
        tz, zone = acc.time_zone, ZoneInfo(acc.time_zone)
        today = now.astimezone(zone).date()
        period = [today - timedelta(days=days - i) for i in range(days)]
        replay = AccountReplay(
            acc.id, acc.name, acc.currency, tz, period[0], period[-1], len(objects), 0, (), ()
        )
        if not objects:
            return replay
        ids = [o.object_id for o in objects]
        level = self.spec.level.value
        back = _lookback(self.spec)
        daily_from = date.min if back is None else period[0] - timedelta(days=back)
        hourly = await u.rules.micros_rows(
            acc.id, level, period[0] - timedelta(days=1), period[-1], hourly=True
        )
        daily = await u.rules.micros_rows(acc.id, level, daily_from, period[-1], hourly=False)
        data = _Data(hourly, daily, period, set(ids))
        tracker = None
        if self.tracked:
            first = await u.rules.tracker_first_days([acc.id], level)
            tracker = _Tracker(
                await u.rules.tracker_rows(acc.id, level, daily_from, period[-1]),
                {oid: day for (_, oid), day in first.items()},
                set(ids),
            )
        bids = None
        if self.reads_bid:
            bids = _Bids(
                await u.rules.value_history(acc.id, "adgroup", "bid"),
                group_bids,
            )
        hourly_days = {d for d in period if d in data.hourly_days}
        coarse = tuple(d for d in period if d not in hourly_days and d in data.daily_days)
        empty = tuple(d for d in period if d not in hourly_days and d not in data.daily_days)
        self._replay(
            sa,
            objects,
            budgets,
            data,
            _runs(ticks, zone, period, hourly_days, data.daily_days),
            period[-1],
            bids,
            tracker,
        )
        if bids is not None:
            self.bids_assumed += bids.assumed
            if bids.known_from is not None:
                self.bids_known_from = min(bids.known_from, self.bids_known_from or bids.known_from)
        return AccountReplay(
            acc.id,
            acc.name,
            acc.currency,
            tz,
            period[0],
            period[-1],
            len(objects),
            len(hourly_days),
            coarse,
            empty,
            sum(1 for d in period if tracker is not None and d in tracker.days_with_rows),
        )

    def _replay(
        self,
        sa: ScopeAccount,
        objects: list[ObjectRow],
        budgets: dict[str, Decimal | None],
        data: _Data,
        runs: list[_Run],
        last_day: date,
        bids: _Bids | None,
        tracker: _Tracker | None = None,
    ) -> None:
        acc = sa.account
        tz, cur = acc.time_zone, acc.currency
        kind = self.spec.action.kind
        targets = [t for t in self.aims.values() if not isinstance(t, Blocked)]
        own: dict[str, Decimal | None] = {
            o.object_id: (
                None
                if o.level == "ad" or o.budget_mode == "BUDGET_MODE_INFINITE" or not o.budget
                else o.budget
            )
            for o in [*objects, *targets]
        }
        paused_until: dict[str, datetime | None] = {}  # None: for the rest of the replay
        removed: dict[str, list[tuple[date, Row]]] = defaultdict(list)
        # Plain values read once: ORM attribute access is slow in the loop below.
        plain = [
            (o, o.object_id, o.created_time, o.object_id if o.level == "adgroup" else o.adgroup_id)
            for o in objects
        ]
        for run in runs:
            self.runs.add((run.at, run.coarse))
            at = run.at - _TICK if run.coarse else run.at  # a coarse run reads its own day
            readers = [
                _reader(w, at, tz, run.day, run.hour, run.coarse, data) for w in self.windows
            ]
            live: list[
                tuple[
                    ObjectRow,
                    tuple[Row, ...],
                    Decimal | None,
                    Decimal | None,
                    tuple[TRow | None, ...] | None,
                ]
            ] = []
            lacking: list[ObjectRow] = []
            for obj, oid, created, group in plain:
                if oid in paused_until:
                    until = paused_until[oid]
                    if until is None or run.at < until:
                        continue
                    del paused_until[oid]
                if created is not None and created > run.at:
                    continue
                rows = tuple(data.read(oid, r, removed.get(oid)) for r in readers)
                budget = own[oid] if own[oid] is not None else budgets.get(oid)
                bid = bids.at(group, run.at) if bids is not None else None
                sums = (
                    tuple(
                        tracker.read(oid, r, data, removed.get(oid)) if i in self.tracked else None
                        for i, r in enumerate(readers)
                    )
                    if tracker is not None
                    else None
                )
                if self.settings.aggregate == "sum" and self.lacks(sums):
                    lacking.append(obj)  # a summed scope leaves out what has no tracker data
                    continue
                live.append((obj, rows, budget, bid, sums))
            if self.settings.aggregate == "sum":
                total = summed(
                    (self.facts(o, rows, b, bid, True, t) for o, rows, b, bid, t in live),
                    acc.name,
                )
                hits = (
                    [(o, total) for o, _, _, _, _ in live]
                    if live and holds(self.spec.when, total, at)
                    else []
                )
            else:
                hits = [
                    (o, self.facts(o, rows, b, bid, True, t))
                    for o, rows, b, bid, t in live
                    if self.check(o, rows, b, bid, at, t)
                ]
                if self.tracked:
                    # Not judged for lack of tracker data (matched on other conditions: judged).
                    hit_ids = {o.object_id for o, _ in hits}
                    lacking = [
                        o for o, _, _, _, t in live if o.object_id not in hit_ids and self.lacks(t)
                    ]
            for obj in lacking:
                self.skipped[NO_DATA].add((acc.id, obj.object_id))
            acted: set[str] = set()
            for matched, facts in hits:
                obj = self.aims.get(matched.object_id, matched)
                if isinstance(obj, Blocked):
                    self.skipped[obj.value].add((acc.id, matched.object_id))
                    continue
                if obj.object_id in acted:
                    continue  # a parent is changed once per run for all its matched children
                acted.add(obj.object_id)
                key = (acc.id, obj.object_id)
                if not self.allowed(key, run.at):
                    continue
                self.fired[key].append(run.at)
                firing = Firing(
                    run.at,
                    acc.id,
                    obj.object_id,
                    obj.name,
                    tuple(readings(self.spec, facts, at)),
                    cur,
                )
                if kind in (ActionKind.PAUSE, ActionKind.PAUSE_TODAY):
                    # Hours that start at or after the run would not have been spent.
                    on_top = run.at.astimezone(ZoneInfo(tz)).minute == 0 and not run.coarse
                    start = run.hour if on_top else run.hour + 1
                    gone = data.rest_of_day(obj.object_id, run.day, start)
                    if kind is ActionKind.PAUSE_TODAY:
                        # Off until the account's next midnight (a coarse run is already there).
                        paused_until[obj.object_id] = (
                            run.at if run.coarse else next_midnight(run.at, tz)
                        )
                        if gone != _ZERO:
                            removed[obj.object_id].append((run.day, gone))
                    else:
                        paused_until[obj.object_id] = None
                        per_day = data.day_total.get(obj.object_id, {})
                        day = run.day + timedelta(days=1)
                        while day <= last_day:
                            gone = _add(gone, per_day.get(day, _ZERO))
                            day += timedelta(days=1)
                    self.saved[cur] = _add(self.saved.get(cur, _ZERO), gone)
                    firing = _with(firing, saved_spend=_money(gone[0]))
                elif kind is ActionKind.ENABLE:
                    paused_until[obj.object_id] = None  # on now: no longer an enable candidate
                elif kind is ActionKind.BUDGET and own[obj.object_id] is not None:
                    before = own[obj.object_id]
                    assert before is not None
                    after = adjusted(before, self.spec.action)
                    own[obj.object_id] = after
                    self.budget_change[cur] = self.budget_change.get(cur, _ZERO_MONEY) + (
                        after - before
                    )
                    firing = _with(firing, budget_before=before, budget_after=after)
                self.firings.append(firing)


def _tracker_sums(row: TRow, shown: bool) -> TrackerSums:
    return TrackerSums(row[0], row[1], _money(row[2]) if shown else Decimal(row[2]).scaleb(-6))


def _with(firing: Firing, **values: Any) -> Firing:
    return replace(firing, **values)


def _candidates(
    objects: Sequence[ObjectRow], spec: RuleSpec, settings: RuleSettings, account_id: int
) -> list[ObjectRow]:
    """The account's objects a rule would look at: its level, its scope filter; for an enable
    rule the ones off now, else all (taken as running when the replay starts)."""
    level = spec.level.value
    enable = spec.action.kind is ActionKind.ENABLE
    return [
        o
        for o in objects
        if o.ad_account_id == account_id
        and o.level == level
        and (not enable or o.operation_status == "DISABLE")
        and settings.scope.admits(o.object_id, o.name)
    ]


async def backtest(
    u: UnitOfWork, user_id: int, text: str, settings: RuleSettings, now: datetime, days: int
) -> Backtest:
    """Replay a rule over the last `days` (7–30) complete local days of each account in scope."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError("days")
    spec = parse_rule(text)
    user = await u.users.get(user_id)
    user_tz = user.time_zone if user is not None else "UTC"
    accounts = await u.rules.scope_accounts(user_id, settings.scope.accounts)
    all_objects = await u.rules.objects([sa.account.id for sa in accounts])
    world = World()
    world.add_objects(all_objects)
    spans: list[tuple[datetime, datetime]] = []
    for sa in accounts:
        zone = ZoneInfo(sa.account.time_zone)
        today = now.astimezone(zone).date()
        spans.append(
            (_local_midnight(today - timedelta(days=days), zone), _local_midnight(today, zone))
        )
    ticks = (
        _schedule_ticks(settings, user_tz, min(s for s, _ in spans), max(e for _, e in spans))
        if spans
        else []
    )
    state = _Replay(spec, settings)
    replays: list[AccountReplay] = []
    for sa in accounts:
        objects = _candidates(all_objects, spec, settings, sa.account.id)
        budgets = {
            o.object_id: world.budgets.get((sa.account.id, o.level, o.object_id)) for o in objects
        }
        state.aims = {o.object_id: world.aim(o, spec.action) for o in objects}
        group_bids = {
            o.object_id: o.bid
            for o in all_objects
            if o.ad_account_id == sa.account.id and o.level == "adgroup"
        }
        replays.append(await state.account(u, sa, objects, budgets, group_bids, ticks, now, days))
    counts: dict[tuple[int, str], int] = defaultdict(int)
    names: dict[tuple[int, str], str] = {}
    for f in state.firings:
        counts[(f.account_id, f.object_id)] += 1
        names[(f.account_id, f.object_id)] = f.name
    per_object = sorted(
        (ObjectFirings(a, o, names[(a, o)], n) for (a, o), n in counts.items()),
        key=lambda x: (-x.count, x.name, x.account_id, x.object_id),
    )
    newest = sorted(state.firings, key=lambda f: (f.at, f.account_id, f.object_id), reverse=True)
    return Backtest(
        days=days,
        hourly_days=max((r.hourly_days for r in replays), default=0),
        coarse_days=tuple(sorted({d for r in replays for d in r.coarse_days})),
        empty_days=tuple(sorted({d for r in replays for d in r.empty_days})),
        runs=len(state.runs),
        objects=sum(r.objects for r in replays),
        firing_count=len(state.firings),
        firings=newest[:FIRINGS_SHOWN],
        per_object=per_object,
        saved={c: _totals(row) for c, row in state.saved.items()},
        budget_change=dict(state.budget_change),
        accounts=replays,
        skipped={reason: len(found) for reason, found in state.skipped.items()},
        bids_assumed=state.bids_assumed,
        bids_known_from=state.bids_known_from,
        tracker_days=max((r.tracker_days for r in replays), default=0) if state.tracked else None,
    )
