"""Pulling revenue, clicks and conversions from a tracker into TrackerDaily.

Per linked tracker campaign, the report is asked grouped by day (in the ad account's zone) and
by the click field holding the TikTok ad id (else the ad group's, else the campaign's; none: the
tracker campaign's total, usable when exactly one TikTok campaign is linked to it). Rows are
stored at their level and summed up to ad group and campaign through ad_objects, all in one
transaction that replaces what this tracker held for the pulled days: a re-pull never doubles.
An id that is no synced object of a campaign linked to this tracker goes to TrackerUnmapped
(shown as such, never guessed), and so do the daily totals of tracker campaigns linked to no
TikTok campaign (read in the tracker's own zone): unmapped revenue is never hidden. Money is
converted to the ad account's currency with the user's rate; without one the pull is refused
and the status names the pair.

The trailing attribution window (default 7 days: late conversions land on the click's day) is
re-read every run; the first pull, and the first after an outage, reach back further (up to
MAX_DAYS) so nothing is lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.clock import Clock
from core.periods import local_today
from core.trackers.base import RevenueRow, TrackerError
from core.trackers.connect import (
    ClientFactory,
    TrackerNotFound,
    owned,
    record_failure,
    record_success,
)
from core.trackers.fx import NoRate, convert
from core.trackers.mapping import Linked, effective_links
from storage.models import Tracker
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

WINDOW_DAYS = 7
MAX_DAYS = 30
Progress = Callable[[int, int], Awaitable[None]]
_LEVEL_ORDER = ("ad", "adgroup", "campaign")


@dataclass(frozen=True)
class PullReport:
    """How a pull went: rows stored (at every level), unmapped rows, or the error."""

    tracker_id: int
    ok: bool
    rows: int
    unmapped: int
    error: str | None


def pull_days(
    now: datetime, time_zone: str, last_ok_at: datetime | None, window_days: int = WINDOW_DAYS
) -> tuple[date, date]:
    """First and last day a pull covers in an account's zone (see the module docstring)."""
    today = local_today(now, time_zone)
    first = today - timedelta(days=window_days - 1)
    if last_ok_at is None:
        first = min(first, today - timedelta(days=MAX_DAYS - 1))
    else:
        first = min(first, local_today(last_ok_at, time_zone) - timedelta(days=1))
    return max(first, today - timedelta(days=max(MAX_DAYS, window_days) - 1)), today


def _grouping(link: Linked) -> tuple[str | None, str | None]:
    """(level, click field) a linked tracker campaign is pulled by."""
    for level in _LEVEL_ORDER:
        field = link.id_fields.get(level)
        if field:
            return level, field
    return None, None


@dataclass
class _Sums:
    clicks: int = 0
    conversions: int = 0
    pending: int = 0
    rejected: int = 0
    revenue: Decimal = Decimal(0)
    pending_revenue: Decimal = Decimal(0)

    def add(self, row: RevenueRow, revenue: Decimal, pending_revenue: Decimal) -> None:
        self.clicks += row.clicks
        self.conversions += row.conversions
        self.pending += row.pending
        self.rejected += row.rejected
        self.revenue += revenue
        self.pending_revenue += pending_revenue


class _Objects:
    """The synced objects under the linked campaigns: where an id belongs and its parents."""

    def __init__(
        self, links: list[Linked], objects: list[tuple[int, str, str, str, str | None]]
    ) -> None:
        linked = {(lk.ad_account_id, lk.campaign_id) for lk in links}
        self.zone = {lk.ad_account_id: lk.time_zone for lk in links}
        self.currency = {lk.ad_account_id: lk.currency for lk in links}
        # (level, object id) -> [(account, [(level, id) to add to: itself and its parents])]
        self.targets: dict[tuple[str, str], list[tuple[int, list[tuple[str, str]]]]] = defaultdict(
            list
        )
        for account, level, object_id, campaign, adgroup in objects:
            if (account, campaign) not in linked:
                continue
            chain = [(level, object_id)]
            if level == "ad" and adgroup:
                chain.append(("adgroup", adgroup))
            if level != "campaign":
                chain.append(("campaign", campaign))
            self.targets[(level, object_id)].append((account, chain))
        for account, campaign in linked:  # a campaign not synced as an object yet still counts
            if not any(a == account for a, _ in self.targets[("campaign", campaign)]):
                self.targets[("campaign", campaign)].append((account, [("campaign", campaign)]))


async def _load(u: UnitOfWork, tracker_id: int, user_id: int | None) -> Tracker:
    if user_id is not None:
        return await owned(u, user_id, tracker_id)
    tracker = await u.trackers.by_id(tracker_id)
    if tracker is None or tracker.status == "disconnected":
        raise TrackerNotFound(tracker_id)
    return tracker


async def pull_revenue(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tracker_id: int,
    client_factory: ClientFactory,
    window_days: int = WINDOW_DAYS,
    *,
    user_id: int | None = None,
    progress: Progress | None = None,
) -> PullReport:
    """Pull the tracker's numbers for every linked campaign over the attribution window and
    store them (replacing the window's earlier pull); set the status (active + last_ok_at, or
    failing with last_error and failing_since). With `user_id`, the tracker must be theirs.
    Tracker faults and a missing rate do not raise: they are in the report and the status."""
    started = clock.now()
    async with uow() as u:
        tracker = await _load(u, tracker_id, user_id)
        key = await u.credentials.reveal(tracker.credential_id) if tracker.credential_id else None
        links = await effective_links(u, tracker)
        rates = {
            (r.base, r.quote): Decimal(r.rate) for r in await u.trackers.rates(tracker.user_id)
        }
        objects = _Objects(
            links,
            await u.trackers.objects_under(
                {lk.ad_account_id for lk in links}, {lk.campaign_id for lk in links}
            ),
        )
        kind, url, currency, last_ok, own_zone = (
            tracker.kind,
            tracker.base_url,
            tracker.currency,
            tracker.last_ok_at,
            tracker.time_zone,
        )
    spans = {
        zone: pull_days(started, zone, last_ok, window_days)
        for zone in {lk.time_zone for lk in links} | {own_zone}
    }
    # (zone, level, field) -> tracker campaign ids; (zone, tracker campaign) -> its links.
    groups: dict[tuple[str, str | None, str | None], set[str]] = defaultdict(set)
    linked_to: dict[tuple[str, str], list[Linked]] = defaultdict(list)
    for lk in links:
        level, field = _grouping(lk)
        groups[(lk.time_zone, level, field)].add(lk.tracker_campaign_id)
        linked_to[(lk.time_zone, lk.tracker_campaign_id)].append(lk)
    total = len(groups) + 3
    done = 0

    async def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            await progress(done, total)

    pulled: list[tuple[str, str | None, list[RevenueRow]]] = []
    error: str | None = None
    if key is None:
        error = "bad_key: no key stored"
    else:
        client = client_factory(kind, url, key)
        try:
            # Campaigns linked to no TikTok campaign: their totals are unmapped revenue (shown
            # as such), in the tracker's own zone.
            listed = await client.list_campaigns()
            linked_ids = {lk.tracker_campaign_id for lk in links}
            loose = sorted(c.id for c in listed if c.id not in linked_ids)
            await step()
            for (zone, level, field), ids in sorted(
                groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])
            ):
                start, end = spans[zone]
                rows = await client.pull(sorted(ids), field, start, end, zone)
                pulled.append((zone, level, rows))
                await step()
            if loose:
                start, end = spans[own_zone]
                pulled.append(
                    (own_zone, None, await client.pull(loose, None, start, end, own_zone))
                )
            await step()
        except TrackerError as exc:
            error = str(exc)[:300]
        finally:
            await client.close()
    if error is None:
        try:
            daily, unmapped = _sum(tracker_id, pulled, linked_to, objects, currency, rates, started)
        except NoRate as exc:
            error = f"refused: {exc}"
    if error is not None:
        await record_failure(uow, clock, tracker_id, "pull", error)
        return PullReport(tracker_id, False, 0, 0, error)
    account_spans = [(account, *spans[zone]) for account, zone in sorted(objects.zone.items())]
    first = min((s for s, _ in spans.values()), default=None)
    last = max((e for _, e in spans.values()), default=None)
    async with uow() as u:
        if await u.trackers.by_id(tracker_id) is None:
            raise TrackerNotFound(tracker_id)
        written = await u.trackers.replace_daily(tracker_id, account_spans, daily)
        lost = 0
        if first is not None and last is not None:
            lost = await u.trackers.replace_unmapped(tracker_id, first, last, unmapped)
        await u.commit()
    await record_success(uow, clock, tracker_id, "pull", started)
    await step()
    log.info("tracker.pulled", extra={"tracker_id": tracker_id, "rows": written, "unmapped": lost})
    return PullReport(tracker_id, True, written, lost, None)


def _sum(
    tracker_id: int,
    pulled: list[tuple[str, str | None, list[RevenueRow]]],
    linked_to: dict[tuple[str, str], list[Linked]],
    objects: _Objects,
    currency: str,
    rates: dict[tuple[str, str], Decimal],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """TrackerDaily rows (every level, ad account currency) and TrackerUnmapped rows (tracker
    currency) from the pulled report rows."""
    daily: dict[tuple[int, str, str, date], _Sums] = defaultdict(_Sums)
    lost: dict[tuple[str, date, str], _Sums] = defaultdict(_Sums)
    for zone, level, rows in pulled:
        for row in rows:
            targets: list[tuple[int, list[tuple[str, str]]]] = []
            if level is None or row.id_value is None:
                mine = linked_to.get((zone, row.campaign_id), [])
                if level is None and len(mine) == 1:
                    targets = [(mine[0].ad_account_id, [("campaign", mine[0].campaign_id)])]
            else:
                targets = [
                    (account, chain)
                    for account, chain in objects.targets.get((level, row.id_value), [])
                    if objects.zone.get(account) == zone
                ]
            if not targets:
                lost[(row.campaign_id, row.day, row.id_value or "")].add(
                    row, row.revenue, row.pending_revenue
                )
                continue
            # The same ad reached through two connections: counted in each account.
            for account, chain in targets:
                to = objects.currency[account]
                revenue = convert(row.revenue, currency, to, rates)
                pending = convert(row.pending_revenue, currency, to, rates)
                for lvl, object_id in chain:
                    daily[(account, lvl, object_id, row.day)].add(row, revenue, pending)
    out = [
        {
            "ad_account_id": account,
            "level": lvl,
            "object_id": object_id,
            "day": day,
            "tracker_id": tracker_id,
            "clicks": s.clicks,
            "conversions": s.conversions,
            "pending": s.pending,
            "rejected": s.rejected,
            "revenue": s.revenue,
            "pending_revenue": s.pending_revenue,
            "pulled_at": now,
        }
        for (account, lvl, object_id, day), s in sorted(daily.items())
    ]
    unmapped = [
        {
            "tracker_id": tracker_id,
            "tracker_campaign_id": tc,
            "day": day,
            "id_value": value[:64],
            "clicks": s.clicks,
            "conversions": s.conversions,
            "revenue": s.revenue,
            "pulled_at": now,
        }
        for (tc, day, value), s in sorted(lost.items())
    ]
    return out, unmapped
