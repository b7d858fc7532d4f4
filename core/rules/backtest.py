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

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
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
from core.rules.model import ActionKind, Level, RuleSpec, status_word
from core.rules.replay_data import (
    TICK,
    ZERO,
    ZERO_MONEY,
    BidHistory,
    LevelData,
    Row,
    Run,
    TrackerDays,
    TRow,
    add_rows,
    fast_totals,
    local_midnight,
    money_of,
    reader_at,
    runs_in,
    totals_of,
)
from core.rules.schedule import next_due
from core.rules.settings import RuleSettings
from core.rules.text import parse_rule
from core.rules.tracker import NO_DATA, TrackerSums, tracker_windows
from core.rules.world import World
from storage.repos.rule_reads import ObjectRow, ScopeAccount
from storage.uow import UnitOfWork

MIN_DAYS, MAX_DAYS = 7, 30
FIRINGS_SHOWN = 200


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
    at = next_due(settings.schedule, start - TICK, user_tz)
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
        make = totals_of if shown else fast_totals
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
        data = LevelData(hourly, daily, period, set(ids))
        tracker = None
        if self.tracked:
            first = await u.rules.tracker_first_days([acc.id], level)
            tracker = TrackerDays(
                await u.rules.tracker_rows(acc.id, level, daily_from, period[-1]),
                {oid: day for (_, oid), day in first.items()},
                set(ids),
            )
        bids = None
        if self.reads_bid:
            bids = BidHistory(
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
            runs_in(ticks, zone, period, hourly_days, data.daily_days),
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
        data: LevelData,
        runs: list[Run],
        last_day: date,
        bids: BidHistory | None,
        tracker: TrackerDays | None = None,
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
            at = run.at - TICK if run.coarse else run.at  # a coarse run reads its own day
            readers = [
                reader_at(w, at, tz, run.day, run.hour, run.coarse, data) for w in self.windows
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
                        if gone != ZERO:
                            removed[obj.object_id].append((run.day, gone))
                    else:
                        paused_until[obj.object_id] = None
                        per_day = data.day_total.get(obj.object_id, {})
                        day = run.day + timedelta(days=1)
                        while day <= last_day:
                            gone = add_rows(gone, per_day.get(day, ZERO))
                            day += timedelta(days=1)
                    self.saved[cur] = add_rows(self.saved.get(cur, ZERO), gone)
                    firing = _with(firing, saved_spend=money_of(gone[0]))
                elif kind is ActionKind.ENABLE:
                    paused_until[obj.object_id] = None  # on now: no longer an enable candidate
                elif kind is ActionKind.BUDGET and own[obj.object_id] is not None:
                    before = own[obj.object_id]
                    assert before is not None
                    after = adjusted(before, self.spec.action)
                    own[obj.object_id] = after
                    self.budget_change[cur] = self.budget_change.get(cur, ZERO_MONEY) + (
                        after - before
                    )
                    firing = _with(firing, budget_before=before, budget_after=after)
                self.firings.append(firing)


def _tracker_sums(row: TRow, shown: bool) -> TrackerSums:
    return TrackerSums(row[0], row[1], money_of(row[2]) if shown else Decimal(row[2]).scaleb(-6))


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
            (local_midnight(today - timedelta(days=days), zone), local_midnight(today, zone))
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
        saved={c: totals_of(row) for c, row in state.saved.items()},
        budget_change=dict(state.budget_change),
        accounts=replays,
        skipped={reason: len(found) for reason, found in state.skipped.items()},
        bids_assumed=state.bids_assumed,
        bids_known_from=state.bids_known_from,
        tracker_days=max((r.tracker_days for r in replays), default=0) if state.tracked else None,
    )
