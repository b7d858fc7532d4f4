"""Pushing TikTok spend into a tracker as cost, and the push log.

Granularity (team contract): one CostItem per tracker campaign, per day, per linked TikTok
campaign, filtered by the click field holding the TikTok campaign id (the tracker campaign's
id_fields["campaign"]). A tracker campaign that records no campaign id can take the cost of one
linked TikTok campaign only (no filter); with several, its items are refused with a reason.

Days are the ad account's calendar days (its time zone goes with each item, so the tracker cuts
its clicks at the same midnights as TikTok). Binom 1 takes a numeric UTC offset: a day whose
offset is not a whole hour, or changes within the day (DST), is refused, never shifted.

Cost = TikTok's spend that day (metrics_daily, campaign level), a total: a re-push replaces what
the tracker holds. Currency: the ad account's when it is the tracker's; otherwise converted with
the user's rate for the pair (core.trackers.fx), else refused naming the pair.

Every item sent or refused is logged (TrackerPush), every attempt kept. A day with no spend is
skipped unless something non-zero was pushed for it before (TikTok revised it to 0: 0 is sent).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.clock import Clock
from core.periods import local_today
from core.trackers.base import CostItem, PushOutcome, TrackerError
from core.trackers.connect import (
    ClientFactory,
    TrackerNotFound,
    owned,
    record_failure,
    record_success,
)
from core.trackers.fx import NoRate, convert
from core.trackers.mapping import Linked, effective_links
from storage.models import Tracker, TrackerPush
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# Days pushed by a scheduled run: the last RECENT_DAYS before today and today (TikTok keeps
# revising recent spend), reaching back to the day before the last complete push after an
# outage, at most MAX_DAYS (also what a tracker's first push covers, and a link's first).
RECENT_DAYS = 3
MAX_DAYS = 30
# A converted cost is sent with 4 decimals: sub-cent, and what trackers keep of a cost.
COST_STEP = Decimal("0.0001")

Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class PushEntry:
    """One push-log line: what TikTok spent, what was sent (or why not), the answer."""

    day: date
    ad_account_id: int | None
    campaign_id: str | None  # TikTok's
    tracker_campaign_id: str
    id_field: str | None
    id_value: str | None
    spend: Decimal
    spend_currency: str
    cost: Decimal | None  # None: not sent
    currency: str
    ok: bool
    answer: str
    sent_at: datetime
    # Spend the tracker cannot hold: it counted no click of that campaign that day (spec §0).
    # None while nothing was pulled to tell.
    unattributed: bool | None = None


@dataclass(frozen=True)
class PushReport:
    """How a push went: `ok` when the tracker took the call (items may still be refused or
    rejected one by one: see the counts and entries); `error` when it could not be reached."""

    tracker_id: int
    ok: bool
    sent: int
    accepted: int
    rejected: int  # sent, the tracker said no
    refused: int  # not sent (currency, time zone, several campaigns without a filter)
    error: str | None
    entries: list[PushEntry]


def default_days(now: datetime, time_zone: str, pushed_ok_at: datetime | None) -> list[date]:
    """The days a scheduled push covers in an account's zone (see RECENT_DAYS / MAX_DAYS)."""
    today = local_today(now, time_zone)
    first = today - timedelta(days=RECENT_DAYS)
    if pushed_ok_at is None:
        first = today - timedelta(days=MAX_DAYS - 1)
    else:
        first = min(first, local_today(pushed_ok_at, time_zone) - timedelta(days=1))
    first = max(first, today - timedelta(days=MAX_DAYS - 1))
    return [first + timedelta(days=n) for n in range((today - first).days + 1)]


def cost_in(
    spend: Decimal, base: str, quote: str, rates: dict[tuple[str, str], Decimal]
) -> Decimal:
    """The cost to send for `spend` in the tracker's currency: the spend itself when the
    currencies match, else converted with the user's rate and rounded half-up to 4 decimals
    (NoRate when there is none)."""
    # Rounded once, to what is sent: micro-units first would round twice (1.09 USD at
    # 1 EUR = 1.0842 USD is 1.0053496… EUR: 1.005350, then 1.0054, not 1.0053).
    return convert(spend, base, quote, rates, COST_STEP)


def binom1_offset_problem(time_zone: str, day: date) -> str | None:
    """Why Binom 1 (numeric UTC offset) cannot take this day in this zone, or None."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), zone).utcoffset() or timedelta(0)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).utcoffset() or timedelta(0)
    if start != end:
        return (
            f"Binom 1 takes one UTC offset per day; {time_zone} changes on {day} "
            f"({_offset(start)} → {_offset(end)}): not sent"
        )
    if start.total_seconds() % 3600:
        return f"Binom 1 takes whole-hour UTC offsets; {time_zone} is {_offset(start)}: not sent"
    return None


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass
class _Plan:
    items: list[CostItem]
    sources: list[TrackerPush]  # one per item, filled in after the answer
    refused: list[TrackerPush]


def _plan(
    tracker: Tracker,
    links: Sequence[Linked],
    days_of: Callable[[Linked], list[date]],
    spend: dict[tuple[int, str, date], Decimal],
    previous: dict[tuple[int | None, str | None, str, date], Decimal],
    rates: dict[tuple[str, str], Decimal],
    now: datetime,
) -> _Plan:
    plan = _Plan([], [], [])
    by_campaign: dict[str, list[Linked]] = defaultdict(list)
    for link in links:
        by_campaign[link.tracker_campaign_id].append(link)
    for tc_id, group in sorted(by_campaign.items()):
        for link in group:
            field = link.id_fields.get("campaign") or None
            shared = field is None and len(group) > 1
            for day in days_of(link):
                spent = spend.get((link.ad_account_id, link.campaign_id, day), Decimal(0))
                before = previous.get((link.ad_account_id, link.campaign_id, tc_id, day))
                if spent == 0 and not before:
                    continue
                row = TrackerPush(
                    tracker_id=tracker.id,
                    tracker_campaign_id=tc_id,
                    ad_account_id=link.ad_account_id,
                    day=day,
                    id_field=field,
                    id_value=link.campaign_id if field else None,
                    tiktok_campaign_id=link.campaign_id,
                    spend=spent,
                    spend_currency=link.currency,
                    cost=None,
                    currency=tracker.currency,
                    ok=False,
                    answer="",
                    sent_at=now,
                )
                problem: str | None = None
                cost = spent
                if shared:
                    problem = (
                        f"tracker campaign {tc_id} records no TikTok campaign id and "
                        f"{len(group)} TikTok campaigns are linked to it: not sent"
                    )
                elif tracker.kind == "binom1":
                    problem = binom1_offset_problem(link.time_zone, day)
                if problem is None:
                    try:
                        cost = cost_in(spent, link.currency, tracker.currency, rates)
                    except NoRate as exc:
                        problem = f"{exc}: not sent"
                if problem is not None:
                    row.answer = problem[:300]
                    plan.refused.append(row)
                    continue
                row.cost = cost
                plan.items.append(
                    CostItem(
                        tc_id,
                        day,
                        link.time_zone,
                        cost,
                        tracker.currency,
                        field,
                        link.campaign_id if field else None,
                    )
                )
                plan.sources.append(row)
    return plan


async def _load(u: UnitOfWork, tracker_id: int, user_id: int | None) -> Tracker:
    if user_id is not None:
        return await owned(u, user_id, tracker_id)
    tracker = await u.trackers.by_id(tracker_id)
    if tracker is None or tracker.status == "disconnected":
        raise TrackerNotFound(tracker_id)
    return tracker


async def push_costs(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tracker_id: int,
    days: Sequence[date] | None,
    client_factory: ClientFactory,
    *,
    user_id: int | None = None,
    progress: Progress | None = None,
) -> PushReport:
    """Push TikTok's spend of `days` (None: the scheduled window of each ad account, see
    `default_days`) for every linked campaign; log each item; update the tracker's status.
    With `user_id`, the tracker must be theirs (TrackerNotFound otherwise). Tracker faults do
    not raise: they are in the report (`error`) and the status, and the next run repeats."""
    started = clock.now()
    async with uow() as u:
        tracker = await _load(u, tracker_id, user_id)
        key = await u.credentials.reveal(tracker.credential_id) if tracker.credential_id else None
        links = await effective_links(u, tracker)
        rates = {
            (r.base, r.quote): Decimal(r.rate) for r in await u.trackers.rates(tracker.user_id)
        }
        pushed_ok_at = tracker.push_ok_at
        chosen = sorted(set(days)) if days is not None else None
        taken: set[tuple[int | None, str | None, str]] = set()
        if chosen is None and links and pushed_ok_at is not None:
            reach = [default_days(started, lk.time_zone, None) for lk in links]
            since = await u.trackers.last_pushed(
                tracker.id, min(r[0] for r in reach), max(r[-1] for r in reach)
            )
            taken = {key[:3] for key in since}

        def days_of(link: Linked) -> list[date]:
            if chosen is not None:
                return chosen
            # A link the tracker never took a cost for (linked since the last push, or refused
            # until now: no rate, a shared campaign) gets a first push's window, or its older
            # days would never reach the tracker.
            fresh = (link.ad_account_id, link.campaign_id, link.tracker_campaign_id) not in taken
            return default_days(started, link.time_zone, None if fresh else pushed_ok_at)

        every = [d for lk in links for d in days_of(lk)]
        spend: dict[tuple[int, str, date], Decimal] = {}
        previous: dict[tuple[int | None, str | None, str, date], Decimal] = {}
        if every:
            first, last = min(every), max(every)
            for n in await u.trackers.tiktok_days(
                {(lk.ad_account_id, lk.campaign_id) for lk in links}, first, last
            ):
                spend[(n.ad_account_id, n.object_id, n.day)] = n.spend
            previous = await u.trackers.last_pushed(tracker.id, first, last)
        plan = _plan(tracker, links, days_of, spend, previous, rates, started)
        new_refusals = plan.refused
        if plan.refused:
            # A day still not sent for the same reason is logged once, not at every run (a
            # link waiting for a rate is planned over a first push's window each hour); the
            # run's report still lists it.
            waiting = await u.trackers.last_not_sent(tracker.id, min(every), max(every))
            new_refusals = [
                r for r in plan.refused
                if waiting.get((r.ad_account_id, r.tiktok_campaign_id, r.tracker_campaign_id,
                                r.day)) != (r.spend, r.answer)
            ]
        kind, url = tracker.kind, tracker.base_url
    total = 3
    if progress is not None:
        await progress(1, total)
    error: str | None = None
    outcomes: list[PushOutcome] = []
    if plan.items:
        if key is None:
            error = "bad_key: no key stored"
        else:
            client = client_factory(kind, url, key)
            try:
                outcomes = await client.push_costs(plan.items)
            except TrackerError as exc:
                error = str(exc)[:300]
            finally:
                await client.close()
            if error is None and len(outcomes) != len(plan.items):
                error = f"refused: {len(outcomes)} answers to {len(plan.items)} items"
    if progress is not None:
        await progress(2, total)
    sent_at = clock.now()
    accepted = rejected = 0
    for n, row in enumerate(plan.sources):
        row.sent_at = sent_at
        if error is None:
            outcome = outcomes[n]
            row.ok, row.answer = outcome.ok, (outcome.answer or ("ok" if outcome.ok else ""))[:300]
            accepted += outcome.ok
            rejected += not outcome.ok
        else:
            row.ok, row.answer = False, error
    async with uow() as u:
        await u.trackers.add_pushes(new_refusals + plan.sources)
        entries = await _entries(u, tracker_id, plan.refused + plan.sources)
        await u.commit()
    if error is not None:
        await record_failure(uow, clock, tracker_id, "push", error)
    elif not rejected:
        await record_success(uow, clock, tracker_id, "push", started)
    if progress is not None:
        await progress(3, total)
    log.info(
        "tracker.pushed",
        extra={
            "tracker_id": tracker_id,
            "sent": len(plan.items),
            "accepted": accepted,
            "refused": len(plan.refused),
            "error": error,
        },
    )
    return PushReport(
        tracker_id,
        error is None,
        len(plan.items) if error is None else 0,
        accepted,
        rejected,
        len(plan.refused),
        error,
        entries,
    )


async def _entries(u: UnitOfWork, tracker_id: int, rows: Sequence[TrackerPush]) -> list[PushEntry]:
    tracker = await u.trackers.by_id(tracker_id)
    pulled = tracker is not None and tracker.last_ok_at is not None
    clicks: dict[tuple[int, str, date], int] = {}
    if pulled:
        clicks = await u.trackers.campaign_clicks(
            (r.ad_account_id, r.tiktok_campaign_id, r.day)
            for r in rows
            if r.ad_account_id is not None and r.tiktok_campaign_id is not None
        )
    out = []
    for r in rows:
        unattributed: bool | None = None
        if pulled and r.ad_account_id is not None and r.tiktok_campaign_id is not None:
            unattributed = (
                r.spend > 0 and clicks.get((r.ad_account_id, r.tiktok_campaign_id, r.day), 0) == 0
            )
        out.append(
            PushEntry(
                r.day,
                r.ad_account_id,
                r.tiktok_campaign_id,
                r.tracker_campaign_id,
                r.id_field,
                r.id_value,
                r.spend,
                r.spend_currency,
                r.cost,
                r.currency,
                r.ok,
                r.answer,
                r.sent_at,
                unattributed,
            )
        )
    return out


async def push_log(
    uow: UnitOfWorkFactory, user_id: int, tracker_id: int, day: date
) -> list[PushEntry]:
    """Every push attempt for one day of the user's tracker, oldest first, each with the spend
    it came from, what was sent, the tracker's answer and whether the spend is unattributed."""
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id, connected=False)
        return await _entries(u, tracker.id, await u.trackers.pushes(tracker.id, day))
