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

Each report is read in the batches of campaigns the client asks for (`pull_batch`, several in
flight up to `pull_parallel`) and summed as each answer arrives, so the work on one answer
overlaps the tracker building the next; what is stored is the same whichever order they come in.

The trailing attribution window (default 7 days: late conversions land on the click's day) is
re-read every run; the first pull, and the first after an outage, reach back further (up to
MAX_DAYS) so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.clock import Clock
from core.periods import local_today
from core.trackers.base import RevenueRow, TrackerClient, TrackerError
from core.trackers.binom1 import offset_runs
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
_ZERO = Decimal(0)


@dataclass(frozen=True)
class PullReport:
    """How a pull went: rows stored (at every level), unmapped rows, or the error."""

    tracker_id: int
    ok: bool
    rows: int
    unmapped: int
    error: str | None
    # Why some ad accounts' time zones could not be read (the rest were): Binom 1 takes
    # whole-hour UTC offsets only (core.trackers.binom1.offset_runs).
    unread: tuple[str, ...] = ()


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
    # A zone the tracker cannot read is left out, not the whole pull: the other accounts'
    # revenue still comes in, and this one's stored rows are left as they are.
    unread = {
        zone: why
        for zone, (start, end) in spans.items()
        if kind == "binom1" and (why := _binom1_unreadable(zone, start, end)) is not None
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

    sums = _Summer(linked_to, objects, currency, rates)
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
                if zone not in unread:
                    await _read(client, sorted(ids), field, start, end, zone, level, sums)
                await step()
            if loose and own_zone not in unread:
                start, end = spans[own_zone]
                await _read(client, loose, None, start, end, own_zone, None, sums)
            await step()
        except TrackerError as exc:
            error = str(exc)[:300]
        finally:
            await client.close()
    if error is None and sums.no_rate is not None:
        error = f"refused: {sums.no_rate}"
    linked_zones = {lk.time_zone for lk in links}
    if error is None and linked_zones and linked_zones <= unread.keys():
        error = f"refused: {unread[min(linked_zones)]}"  # no linked account could be read
    if error is not None:
        await record_failure(uow, clock, tracker_id, "pull", error)
        return PullReport(tracker_id, False, 0, 0, error)
    daily, unmapped = sums.rows(tracker_id, started)
    account_spans = [(account, *spans[zone]) for account, zone in sorted(objects.zone.items())
                     if zone not in unread]
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
    return PullReport(tracker_id, True, written, lost, None, tuple(sorted(set(unread.values()))))


def _binom1_unreadable(zone: str, start: date, end: date) -> str | None:
    """Why Binom 1 cannot read this zone's days (a half-hour offset), or None."""
    try:
        offset_runs(start, end, zone)
    except TrackerError as exc:
        return exc.detail or str(exc)
    return None


async def _read(
    client: TrackerClient,
    ids: list[str],
    field: str | None,
    start: date,
    end: date,
    zone: str,
    level: str | None,
    sums: _Summer,
) -> None:
    """Pull `ids` in the client's batches, up to `pull_parallel` calls in flight, and add each
    answer to the sums as it arrives; the first failure cancels the calls still running."""
    size = getattr(client, "pull_batch", None) or len(ids)
    parallel = max(1, getattr(client, "pull_parallel", 1))
    batches = [ids[at : at + size] for at in range(0, len(ids), size)]
    if parallel == 1 or len(batches) == 1:
        for batch in batches:
            sums.add(zone, level, await client.pull(batch, field, start, end, zone))
        return
    # The first batch alone: a client may learn something of the API on it (Keitaro's report
    # field names), which the others then use.
    sums.add(zone, level, await client.pull(batches[0], field, start, end, zone))
    gate = asyncio.Semaphore(parallel)

    async def one(batch: list[str]) -> list[RevenueRow]:
        async with gate:
            return await client.pull(batch, field, start, end, zone)

    tasks = [asyncio.ensure_future(one(batch)) for batch in batches[1:]]
    try:
        for done in asyncio.as_completed(tasks):
            sums.add(zone, level, await done)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Summer:
    """TrackerDaily sums (every level, ad account currency) and TrackerUnmapped sums (tracker
    currency) of the pulled report rows, added answer by answer; a pair without a rate stops the
    adding and is kept in `no_rate` (the pull is then refused)."""

    def __init__(
        self,
        linked_to: dict[tuple[str, str], list[Linked]],
        objects: _Objects,
        currency: str,
        rates: dict[tuple[str, str], Decimal],
    ) -> None:
        self.linked_to = linked_to
        self.objects = objects
        self.currency = currency
        self.rates = rates
        self.daily: dict[tuple[int, str, str, date], list[Any]] = {}
        self.lost: dict[tuple[str, date, str], list[Any]] = {}
        self.no_rate: NoRate | None = None
        # (zone, level, id) -> [(account, chain, target currency)]: looked up once per id.
        self._targets: dict[tuple[str, str, str], list[tuple[int, list[tuple[str, str]], str]]] = {}

    def _mapped(
        self, zone: str, level: str, value: str
    ) -> list[tuple[int, list[tuple[str, str]], str]]:
        key = (zone, level, value)
        got = self._targets.get(key)
        if got is None:
            objects = self.objects
            got = self._targets[key] = [
                (account, chain, objects.currency[account])
                for account, chain in objects.targets.get((level, value), [])
                if objects.zone.get(account) == zone
            ]
        return got

    def add(self, zone: str, level: str | None, rows: list[RevenueRow]) -> None:
        """Add one answer's rows."""
        if self.no_rate is not None:
            return
        try:
            self._add(zone, level, rows)
        except NoRate as exc:
            self.no_rate = exc

    def _add(self, zone: str, level: str | None, rows: list[RevenueRow]) -> None:
        daily, lost, currency, rates = self.daily, self.lost, self.currency, self.rates
        for row in rows:
            targets: list[tuple[int, list[tuple[str, str]], str]] = []
            if level is None or row.id_value is None:
                mine = self.linked_to.get((zone, row.campaign_id), [])
                if level is None and len(mine) == 1:
                    account = mine[0].ad_account_id
                    targets = [
                        (
                            account,
                            [("campaign", mine[0].campaign_id)],
                            self.objects.currency[account],
                        )
                    ]
            else:
                targets = self._mapped(zone, level, row.id_value)
            if not targets:
                _add_to(
                    lost,
                    (row.campaign_id, row.day, row.id_value or ""),
                    row,
                    row.revenue,
                    row.pending_revenue,
                )
                continue
            # The same ad reached through two connections: counted in each account.
            for account, chain, to in targets:
                revenue = convert(row.revenue, currency, to, rates)
                pending = convert(row.pending_revenue, currency, to, rates)
                for lvl, object_id in chain:
                    _add_to(daily, (account, lvl, object_id, row.day), row, revenue, pending)

    def rows(
        self, tracker_id: int, now: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """TrackerDaily rows and TrackerUnmapped rows, in key order."""
        daily, lost = self.daily, self.lost
        out = [
            {
                "ad_account_id": account,
                "level": lvl,
                "object_id": object_id,
                "day": day,
                "tracker_id": tracker_id,
                "clicks": s[0],
                "conversions": s[1],
                "pending": s[2],
                "rejected": s[3],
                "revenue": s[4],
                "pending_revenue": s[5],
                "pulled_at": now,
            }
            for (account, lvl, object_id, day), s in ((k, daily[k]) for k in sorted(daily))
        ]
        unmapped = [
            {
                "tracker_id": tracker_id,
                "tracker_campaign_id": tc,
                "day": day,
                "id_value": value[:64],
                "clicks": s[0],
                "conversions": s[1],
                "revenue": s[4],
                "pulled_at": now,
            }
            for (tc, day, value), s in ((k, lost[k]) for k in sorted(lost))
        ]
        return out, unmapped


def _add_to(
    sums: dict[Any, list[Any]], key: Any, row: RevenueRow, revenue: Decimal, pending: Decimal
) -> None:
    """Add a row's counts and the converted amounts to the sums under `key`."""
    s = sums.get(key)
    if s is None:
        sums[key] = [
            row.clicks,
            row.conversions,
            row.pending,
            row.rejected,
            _ZERO + revenue,
            _ZERO + pending,
        ]
        return
    s[0] += row.clicks
    s[1] += row.conversions
    s[2] += row.pending
    s[3] += row.rejected
    s[4] += revenue
    s[5] += pending
