"""Stats use-cases: summaries and drill-downs per period, with the previous equal period.

Every ad account is read in its own time zone's days, so one "today" covers different UTC
hours for a Tokyo account and a New York one. Amounts stay in each account's currency; the
only cross-account total is per currency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.charts import DailyPoint, DailySeries, ProfitPoint, ProfitSeries, Ratio
from core.clock import Clock
from core.metrics import Totals
from core.money import totals_by_currency
from core.periods import DateRange, Period, resolve
from core.tracker_metrics import TrackerTotals
from storage.models import AdAccount
from storage.repos.stats import Sums
from storage.repos.tracker_stats import TrackerSums
from storage.uow import UnitOfWork, UnitOfWorkFactory

LEVELS = ("campaign", "adgroup", "ad")
CHILD = {"account": "campaign", "campaign": "adgroup", "adgroup": "ad"}


def _tracker(sums: TrackerSums | None, spend: Decimal) -> TrackerTotals | None:
    """Tracker numbers against `spend`; None where the tracker has nothing for the object."""
    if sums is None:
        return None
    return TrackerTotals(spend, sums.clicks, sums.conversions, sums.pending, sums.rejected,
                         sums.revenue, sums.pending_revenue)


def _totals(sums: Sums | None) -> Totals:
    if sums is None:
        return Totals()
    return Totals(sums.spend, sums.impressions, sums.clicks, sums.conversions, sums.purchase_value)


@dataclass(frozen=True)
class AccountStats:
    """One ad account's numbers for a period and the one before."""

    account_id: int
    name: str
    advertiser_id: str
    currency: str
    time_zone: str
    fresh_as_of: datetime | None
    days: DateRange
    current: Totals
    previous: Totals
    # Before the first full sync (fresh_as_of is None): when today's numbers were last pulled,
    # while the history (the back window) is still loading; None when nothing is in yet.
    today_as_of: datetime | None = None
    # The tracker's numbers for the period against the spend of the campaigns it has data for
    # (None: no tracker data), and the spend of the other campaigns (unmapped spend).
    tracker: TrackerTotals | None = None
    unmapped_spend: Decimal = Decimal(0)


@dataclass(frozen=True)
class Summary:
    """Every tracked account, and spend totals per currency."""

    accounts: list[AccountStats]
    spend_by_currency: dict[str, Decimal]


@dataclass(frozen=True)
class Line:
    """A campaign, ad group or ad in a breakdown."""

    object_id: str
    name: str
    status: str | None
    current: Totals
    previous: Totals
    tracker: TrackerTotals | None = None


@dataclass(frozen=True)
class Breakdown:
    """A level's objects under a parent, for one account and period, one page of them."""

    account: AccountStats
    level: str
    parent_id: str | None
    parent_name: str | None
    lines: list[Line]
    total: int
    page: int
    pages: int


def account_days(
    period: Period, now: datetime, account: AdAccount, custom: DateRange | None
) -> DateRange:
    """The period's days in this account's time zone."""
    return resolve(period, now, account.time_zone, custom)


async def _account_stats(
    u: UnitOfWork,
    accounts: list[AdAccount],
    period: Period,
    now: datetime,
    custom: DateRange | None,
) -> list[AccountStats]:
    first_sync = [a.id for a in accounts if a.fresh_as_of is None]
    pulled = await u.sync.last_ok(first_sync)
    # Accounts whose days are the same (one time zone, or zones whose dates, and for today the
    # hour, agree at this instant) are read together: a buyer's accounts sit in a few time
    # zones, and four queries per account made the summary of 50 accounts 200 queries.
    groups: dict[DateRange, list[int]] = {}
    for acc in accounts:
        groups.setdefault(account_days(period, now, acc, custom), []).append(acc.id)
    days_of: dict[int, DateRange] = {}
    cur: dict[int, Sums] = {}
    before: dict[int, Sums] = {}
    pulled_sums: dict[int, TrackerSums] = {}
    mapped: dict[int, Decimal] = {}
    for days, ids in groups.items():
        days_of.update(dict.fromkeys(ids, days))
        prev = days.previous()
        if days.until_hour is not None:  # today so far vs yesterday up to the same hour
            cur |= await u.stats.by_account(ids, days.start, days.end)
            before |= await u.stats.by_account_hours(ids, prev.end, days.until_hour)
        else:
            both = await u.stats.by_account_and_before(ids, days.start, days.end, prev.start)
            cur |= {account_id: sums for account_id, (sums, _) in both.items()}
            before |= {account_id: sums for account_id, (_, sums) in both.items()}
        tracked = await u.tracker_stats.by_account(ids, days.start, days.end)
        pulled_sums |= tracked
        if tracked:  # the spend the tracker's numbers stand against; none without them
            mapped |= await u.tracker_stats.mapped_spend(list(tracked), days.start, days.end)
    out = []
    for acc in accounts:
        spend = _totals(cur.get(acc.id)).spend
        tracker = _tracker(pulled_sums.get(acc.id), mapped.get(acc.id, Decimal(0)))
        unmapped = spend - tracker.spend if tracker is not None else Decimal(0)
        out.append(
            AccountStats(
                acc.id,
                acc.name,
                acc.advertiser_id,
                acc.currency,
                acc.time_zone,
                acc.fresh_as_of,
                days_of[acc.id],
                _totals(cur.get(acc.id)),
                _totals(before.get(acc.id)),
                pulled.get(acc.id, {}).get("today"),
                tracker,
                max(unmapped, Decimal(0)),
            )
        )
    return out


async def _owned(
    u: UnitOfWork,
    user_id: int,
    account_id: int,
    period: Period,
    now: datetime,
    custom: DateRange | None,
) -> tuple[AdAccount, AccountStats] | None:
    """The user's account (None if not theirs, whatever the button said) and its numbers."""
    acc = await u.connections.account(user_id, account_id)
    if acc is None:
        return None
    [head] = await _account_stats(u, [acc], period, now, custom)
    return acc, head


async def summary(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    period: Period,
    custom: DateRange | None = None,
) -> Summary:
    """Every tracked account of the user for the period, with spend totals per currency."""
    async with uow() as u:
        accounts = await u.connections.accounts(user_id, tracked_only=True)
        stats = await _account_stats(u, accounts, period, clock.now(), custom)
    spend = totals_by_currency((s.currency, s.current.spend) for s in stats)
    return Summary(stats, spend)


async def accounts(uow: UnitOfWorkFactory, user_id: int) -> list[AdAccount]:
    """The user's tracked ad accounts (to pick one), without their numbers."""
    async with uow() as u:
        return await u.connections.accounts(user_id, tracked_only=True)


async def breakdown(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    account_id: int,
    level: str,
    parent_id: str | None,
    period: Period,
    custom: DateRange | None,
    page: int,
    page_size: int = 8,
) -> Breakdown | None:
    """Campaigns of an account, ad groups of a campaign or ads of an ad group, by spend;
    None if the account is not the user's (whatever the button said)."""
    if level not in LEVELS:
        return None
    async with uow() as u:
        owned = await _owned(u, user_id, account_id, period, clock.now(), custom)
        if owned is None:
            return None
        acc, head = owned
        parent_name = None
        if parent_id is not None:
            parent_level = {"adgroup": "campaign", "ad": "adgroup"}[level]
            parent = await u.stats.object(acc.id, parent_level, parent_id)
            if parent is None:
                return None
            parent_name = parent.name
        days, prev = head.days, head.days.previous()
        rows, total = await u.stats.objects(
            acc.id, level, parent_id, days.start, days.end, page_size, page * page_size
        )
        ids = [r.object_id for r in rows]
        if days.until_hour is not None:
            before = await u.stats.objects_hours(acc.id, level, ids, prev.end, days.until_hour)
        else:
            before = await u.stats.objects_sums(acc.id, level, ids, prev.start, prev.end)
        pulled = await u.tracker_stats.objects_sums(acc.id, level, ids, days.start, days.end)
    lines = [
        Line(r.object_id, r.name, r.status, _totals(r.sums), _totals(before.get(r.object_id)),
             _tracker(pulled.get(r.object_id), r.sums.spend))
        for r in rows
    ]
    pages = max(1, -(-total // page_size))
    return Breakdown(head, level, parent_id, parent_name, lines, total, page, pages)


@dataclass(frozen=True)
class ChartData:
    """What the three charts of one account need."""

    account: AccountStats
    daily: DailySeries
    today: list[Decimal | None]
    yesterday: list[Decimal]
    top: list[tuple[str, Decimal]]
    profit: ProfitSeries | None = None  # None: no tracker data in the period


async def chart_data(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    account_id: int,
    period: Period,
    custom: DateRange | None,
) -> ChartData | None:
    """Daily series with CPA or ROAS, today vs yesterday by hour, top campaigns."""
    now = clock.now()
    async with uow() as u:
        owned = await _owned(u, user_id, account_id, period, now, custom)
        if owned is None:
            return None
        acc, head = owned
        days = head.days
        per_day = await u.stats.daily(acc.id, "advertiser", acc.advertiser_id, days.start, days.end)
        today = resolve(Period.TODAY, now, acc.time_zone)
        hours_today = await u.stats.hourly_spend(
            acc.id, "advertiser", acc.advertiser_id, today.start
        )
        hours_yesterday = await u.stats.hourly_spend(
            acc.id, "advertiser", acc.advertiser_id, today.start - timedelta(days=1)
        )
        top, _ = await u.stats.objects(acc.id, "campaign", None, days.start, days.end, 10, 0)
        profit = None
        if head.tracker is not None:
            revenue = await u.tracker_stats.daily_account(acc.id, days.start, days.end)
            spend = await u.tracker_stats.daily_mapped_spend(acc.id, days.start, days.end)
            profit = ProfitSeries(days.start, days.end, tuple(
                ProfitPoint(d, revenue[d].revenue if d in revenue else Decimal(0),
                            spend.get(d, Decimal(0)))
                for d in sorted(set(revenue) | set(spend))
            ))
    use_roas = head.current.purchase_value > 0
    points = []
    for day, sums in sorted(per_day.items()):
        t = _totals(sums)
        points.append(DailyPoint(day, t.spend, t.conversions, t.roas if use_roas else t.cpa))
    daily = DailySeries(days.start, days.end, tuple(points), Ratio.ROAS if use_roas else Ratio.CPA)
    until = today.until_hour or 24
    running = [hours_today.get(h, Decimal(0)) if h < until else None for h in range(24)]
    return ChartData(
        head,
        daily,
        running,
        [hours_yesterday.get(h, Decimal(0)) for h in range(24)],
        [(line.name, line.sums.spend) for line in top],
        profit,
    )


ExportRow = tuple[str, str, date, Totals, TrackerTotals | None]


def csv_table(rows: list[ExportRow], header: list[str]) -> bytes:
    """UTF-8 CSV (with BOM, so spreadsheet apps pick the encoding) of one row per object and day;
    the tracker columns are empty where the tracker has nothing for that object and day."""
    return csv_bytes(header, (csv_cells(row) for row in rows))


def csv_bytes(header: list[str], lines: Iterable[list[object]]) -> bytes:
    """A CSV file as spreadsheet apps open it: UTF-8 with a BOM."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([_inert(cell) for cell in line] for line in lines)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# A text cell starting with one of these is run as a formula by spreadsheet apps (OWASP "CSV
# injection"); names come from TikTok, where anyone with access to the account sets them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula, quoted with `'` (numbers, negative
    ones too, stay as they are)."""
    if not isinstance(cell, str) or not cell.startswith(_FORMULA_START):
        return cell
    try:
        if Decimal(cell).is_finite():
            return cell
    except ArithmeticError:
        pass
    return "'" + cell


def csv_cells(row: ExportRow) -> list[object]:
    """One object-day as the stats CSV writes it (csv_header's columns, in order)."""
    object_id, name, day, t, k = row
    tracker: list[object] = ["", "", "", "", "", "", ""] if k is None else [
        k.clicks, k.conversions, k.revenue, k.profit, _fmt(k.roi), _fmt(k.epc),
        _fmt(k.tracker_cpa),
    ]
    return [
        day.isoformat(),
        object_id,
        name,
        t.spend,
        t.impressions,
        t.clicks,
        t.conversions,
        _fmt(t.ctr),
        _fmt(t.cpc),
        _fmt(t.cpm),
        _fmt(t.cpa),
        _fmt(t.conversion_rate),
        t.purchase_value,
        _fmt(t.roas),
        *tracker,
    ]


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(Decimal('0.0001'))}"


async def export_rows(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    account_id: int,
    level: str,
    parent_id: str | None,
    period: Period,
    custom: DateRange | None,
) -> tuple[AccountStats, list[ExportRow]] | None:
    """Every object of the table on screen (all pages), one row per object and day."""
    async with uow() as u:
        owned = await _owned(u, user_id, account_id, period, clock.now(), custom)
        if owned is None or level not in (*LEVELS, "advertiser"):
            return None
        acc, head = owned
        days = head.days
        if level == "advertiser":
            names = {acc.advertiser_id: acc.name}
        else:
            lines, _ = await u.stats.objects(
                acc.id, level, parent_id, days.start, days.end, 100_000, 0
            )
            names = {line.object_id: line.name for line in lines}
        rows = await u.stats.daily_rows(acc.id, level, list(names), days.start, days.end)
        tracker = await tracker_lookup(u, acc, level, list(names), days.start, days.end)
    return head, [
        (
            r.object_id,
            names[r.object_id],
            r.day,
            Totals(r.spend, r.impressions, r.clicks, r.conversions, r.purchase_value),
            tracker(r.object_id, r.day, r.spend),
        )
        for r in rows
    ]


TrackerLookup = Callable[[str, date, Decimal], TrackerTotals | None]


async def tracker_lookup(
    u: UnitOfWork, acc: AdAccount, level: str, object_ids: list[str], start: date, end: date
) -> TrackerLookup:
    """The tracker's numbers per object and day of one level (None where it has nothing), taken
    against the object's spend — at account level against the spend of mapped campaigns."""
    against: dict[tuple[str, date], Decimal] = {}  # the spend profit is taken against
    if level == "advertiser":
        mapped = await u.tracker_stats.daily_mapped_spend(acc.id, start, end)
        against = {(acc.advertiser_id, day): v for day, v in mapped.items()}
        pulled = {
            (acc.advertiser_id, day): sums
            for day, sums in (await u.tracker_stats.daily_account(acc.id, start, end)).items()
        }
    else:
        pulled = await u.tracker_stats.daily_rows(acc.id, level, object_ids, start, end)

    def lookup(object_id: str, day: date, spend: Decimal) -> TrackerTotals | None:
        return _tracker(pulled.get((object_id, day)), against.get((object_id, day), spend))

    return lookup


@dataclass(frozen=True)
class Unmapped:
    """What one tracker's mapping leaves out over the last days: TikTok campaigns with spend
    and no link to it (name, currency, spend), and the tracker's revenue with no TikTok id."""

    spend: list[tuple[str, str, Decimal]]
    revenue: Decimal


async def unmapped(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    tracker_id: int,
    linked: set[tuple[int, str]],
) -> Unmapped | None:
    """Unmapped spend and revenue of the user's tracker over the last 7 days; `linked` is its
    effective links as (ad account, TikTok campaign) pairs (core.trackers.mapping). None if the
    tracker is not the user's."""
    # The days are Stats' "Last 7 days" (core.periods): the complete days up to yesterday, in
    # each account's own time zone for its spend and in the tracker's for its revenue, so a
    # campaign's spend here is the one its Stats screen shows.
    now = clock.now()
    async with uow() as u:
        tracker_zone = await u.tracker_stats.time_zone(user_id, tracker_id)
        if tracker_zone is None:
            return None
        by_days: dict[DateRange, list[int]] = {}
        for acc in await u.connections.accounts(user_id, tracked_only=True):  # as Stats reads
            by_days.setdefault(account_days(Period.LAST_7, now, acc, None), []).append(acc.id)
        spending = [
            row
            for span, ids in by_days.items()
            for row in await u.tracker_stats.campaign_spend(ids, span.start, span.end)
        ]
        span = resolve(Period.LAST_7, now, tracker_zone)
        revenue = await u.tracker_stats.unmapped_revenue(tracker_id, span.start, span.end)
    spend = [(name, cur, v) for acc, cid, name, cur, v in spending if (acc, cid) not in linked]
    return Unmapped(biggest_per_currency_first(spend), revenue)


def biggest_per_currency_first(
    rows: Iterable[tuple[str, str, Decimal]],
) -> list[tuple[str, str, Decimal]]:
    """(name, currency, amount) rows biggest first within each currency, the currencies taking
    turns: amounts in different currencies are not comparable (¥90,000 is not more than $500),
    so a short list shows the top of every currency rather than one currency's whole list."""
    rank: dict[str, int] = {}
    ordered = []
    for row in sorted(rows, key=lambda r: r[2], reverse=True):
        rank[row[1]] = rank.get(row[1], -1) + 1
        ordered.append((rank[row[1]], row[1], row))
    ordered.sort(key=lambda t: (t[0], t[1]))
    return [row for _rank, _cur, row in ordered]


async def last_pushes(uow: UnitOfWorkFactory, user_id: int) -> dict[int, datetime]:
    """Per tracker of the user, when it last accepted pushed costs (the Integrations list)."""
    async with uow() as u:
        return await u.tracker_stats.last_pushes(user_id)
