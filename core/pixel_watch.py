""" "Tracking broken?" (issue 17): a pixel's event stopped arriving while the ads optimising for
it keep spending.

Leased per ad account like sync (core/sync.py): a `pixel_watches` row per tracked account of a
user with the pixels feature on, claimed by one instance at a time, due every
PIXEL_WATCH_MINUTES. A user with the feature off is never claimed, so no call is made for them.

TikTok's event stats count whole days of the account's time zone (pixel_event_stats.yml
``date_range``; spec §7), so silence is measured between reads: each read stores today's count
per pixel event (`pixel_signals`), and an event is *silent* since the last read that saw its
count grow. Across the account's midnight the day's count starts again at zero, so the first
read of a new day also asks for yesterday's whole day to see whether the event fired after the
last read of yesterday. A first read that finds zero today knows the event has not fired since
the account's midnight.

An event is alerted on — once per incident — when it has been silent for at least
PIXEL_SILENT_HOURS, fired in the 7 days before today (it normally works), and the ad groups
optimising for it (adgroup/get ``pixel_id`` + ``optimization_event``) spent since, enough that
at their usual cost per event (7 days' synced spend / events) at least MIN_EXPECTED events were
due (an account with no spend history: at the usual events per hour). The alert names the pixel,
the event, the spend since and the campaigns; when the count grows again a "back to normal"
message follows and the incident closes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.clock import Clock
from core.scheduler import stopping
from core.tiktok import AdGroup, ScopeMissingError, TikTokClient, TikTokError
from core.tiktok.pixels import event_counts, list_pixels
from storage.models import PixelSignal
from storage.repos.pixel_watch import ClaimedPixelWatch
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

FEATURE = "pixels"
WATCH_EVERY = timedelta(minutes=30)
SILENT_AFTER = timedelta(hours=3)
BASELINE_DAYS = 7
MIN_EXPECTED = Decimal(3)  # events the spend should have bought before silence is alarming
RETRY_AFTER = timedelta(minutes=30)
SCOPE_RETRY = timedelta(hours=6)  # the pixels scope withheld: the Pixels screen says so
LEASE = timedelta(minutes=5)
SILENT_KIND = "pixel_silent"
BACK_KIND = "pixel_back"
MAX_CAMPAIGNS = 10
ADGROUP_FIELDS = (
    "adgroup_id",
    "campaign_id",
    "advertiser_id",
    "adgroup_name",
    "pixel_id",
    "optimization_event",
)


def local_midnight(day: date, zone: str) -> datetime:
    """The UTC instant the account's local `day` begins."""
    return datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Reading:
    """One read of an account's counts: today's per (pixel, event), yesterday's whole day when
    asked (the first read after the account's midnight), and the 7 days before today when
    asked (once a day)."""

    today: date
    counts: dict[tuple[str, str], int]
    yesterday: dict[tuple[str, str], int] | None = None
    baseline: dict[tuple[str, str], int] | None = None


def advance(signal: PixelSignal, reading: Reading, now: datetime, zone: str) -> bool:
    """Move a stored signal to this reading; True when the event fired since the last read.
    The account's day boundary: a signal of yesterday compares yesterday's whole-day count
    with what the last read saw of it, and today's count with zero."""
    key = (signal.pixel_id, signal.event)
    count = reading.counts.get(key, 0)
    if signal.day == reading.today:
        grew = count > signal.count
    elif signal.day == reading.today - timedelta(days=1) and reading.yesterday is not None:
        grew = count > 0 or reading.yesterday.get(key, 0) > signal.count
    else:  # not read for longer (feature off, account paused): start over from midnight
        grew = count > 0
        if not grew:
            signal.fired_at = max(signal.fired_at, local_midnight(reading.today, zone))
    if grew:
        signal.fired_at = now
    signal.day, signal.count = reading.today, count
    if reading.baseline is not None:
        signal.baseline_day, signal.baseline = reading.today, reading.baseline.get(key, 0)
    signal.updated_at = now
    return grew


def expected_events(
    baseline: int, base_spend: Decimal, spend: Decimal, silent: timedelta
) -> Decimal:
    """How many events the silent span should have brought: at the usual cost per event when
    the ad groups spent in the 7 days before, else at the usual events per hour."""
    if baseline <= 0:
        return Decimal(0)
    if base_spend > 0:
        return Decimal(baseline) * spend / base_spend
    hours = Decimal(int(silent.total_seconds())) / 3600
    return Decimal(baseline) / (BASELINE_DAYS * 24) * hours


async def _read(
    client: TikTokClient,
    token: str,
    watch: ClaimedPixelWatch,
    today: date,
    stored: dict[tuple[str, str], PixelSignal],
) -> tuple[Reading, dict[tuple[str, str], tuple[str, str]]]:
    """The account's pixels and counts; names per (pixel, event)."""
    pixels = await list_pixels(client, token, watch.advertiser_id)
    names = {
        (p.pixel_id, e.kind): (p.name or p.code or p.pixel_id, e.name or e.code or e.kind)
        for p in pixels
        for e in p.events
        if e.kind
    }
    watched = [p for p in pixels if any(e.kind for e in p.events)]
    counts = await event_counts(client, token, watch.advertiser_id, watched, today, today)
    yesterday = baseline = None
    if any(s.day == today - timedelta(days=1) for s in stored.values()):
        day = today - timedelta(days=1)
        yesterday = await event_counts(client, token, watch.advertiser_id, watched, day, day)
    if watched and (
        any(k not in stored for k in names) or any(s.baseline_day != today for s in stored.values())
    ):
        baseline = await event_counts(
            client,
            token,
            watch.advertiser_id,
            watched,
            today - timedelta(days=BASELINE_DAYS),
            today - timedelta(days=1),
        )
    return Reading(today, counts, yesterday, baseline), names


async def watch_due(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    owner: str,
    limit: int = 20,
    every: timedelta = WATCH_EVERY,
    silent_after: timedelta = SILENT_AFTER,
) -> int:
    """Read the due accounts' pixels (each again `every` later); returns how many alerts
    (silent or back) were queued."""
    now = clock.now()
    async with uow() as u:
        await u.pixel_watch.seed(now, FEATURE)
        await u.commit()
    queued = 0
    # Drains what is due, `limit` at a time, until none is left or the service is stopping.
    while not stopping():
        now = clock.now()
        async with uow() as u:
            claimed = await u.pixel_watch.claim_due(now, owner, now + LEASE, FEATURE, limit)
            await u.commit()
        if not claimed:
            break
        # The claimed accounts are read at once (the client's limiter keeps TikTok's QPS): one
        # at a time, thousands of watched accounts would not fit in one cadence. Each ends
        # before the next claim; a failing one leaves its lease to expire (retried later) and
        # the first failure is raised for the tick's log once the others are done.
        results = await asyncio.gather(
            *(_watch_one(uow, clock, client, owner, w, every, silent_after) for w in claimed),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        queued += sum(r for r in results if isinstance(r, int))
    return queued


async def _watch_one(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    owner: str,
    watch: ClaimedPixelWatch,
    every: timedelta,
    silent_after: timedelta,
) -> int:
    now = clock.now()
    zone = watch.time_zone
    today = now.astimezone(ZoneInfo(zone)).date()
    async with uow() as u:
        token = await u.credentials.reveal(watch.credential_id) or ""
        stored = await u.pixel_watch.signals(watch.account_id)
    try:
        reading, names = await _read(client, token, watch, today, stored)
        queued, suspects = await _apply(uow, watch, reading, names, now, silent_after)
        if suspects:  # only then are the ad groups asked for (ads management, not optional)
            groups = await client.get_adgroups(token, watch.advertiser_id, fields=ADGROUP_FIELDS)
            async with uow() as u:
                current = await u.pixel_watch.signals(watch.account_id)
                queued += await _alert(
                    u,
                    watch,
                    [s for s in current.values() if s.id in suspects and s.incident_at is None],
                    groups,
                    today,
                    now,
                )
                await u.commit()
    except ScopeMissingError as exc:  # the pixels scope withheld: the Pixels screen explains
        async with uow() as u:
            await u.pixel_watch.release(watch.watch_id, owner, now + SCOPE_RETRY, error=exc.message)
            await u.commit()
        return 0
    except TikTokError as exc:
        log.warning(
            "pixel_watch.failed", extra={"account_id": watch.account_id, "error": exc.message}
        )
        async with uow() as u:
            await u.pixel_watch.release(watch.watch_id, owner, now + RETRY_AFTER, error=exc.message)
            await u.commit()
        return 0
    async with uow() as u:
        await u.pixel_watch.release(watch.watch_id, owner, now + every, ok_at=now)
        await u.commit()
    return queued


async def _apply(
    uow: UnitOfWorkFactory,
    watch: ClaimedPixelWatch,
    reading: Reading,
    names: dict[tuple[str, str], tuple[str, str]],
    now: datetime,
    silent_after: timedelta,
) -> tuple[int, set[int]]:
    """Store the reading and queue "back to normal" for incidents whose event fired again;
    returns how many were queued and the signals silent long enough to look at their spend."""
    zone = watch.time_zone
    queued = 0
    async with uow() as u:
        stored = await u.pixel_watch.signals(watch.account_id)
        await u.pixel_watch.drop([s.id for k, s in stored.items() if k not in names])
        suspects: list[PixelSignal] = []
        for key, (pixel_name, event_name) in names.items():
            signal = stored.get(key)
            if signal is None:
                count = reading.counts.get(key, 0)
                signal = PixelSignal(
                    ad_account_id=watch.account_id,
                    pixel_id=key[0],
                    event=key[1],
                    day=reading.today,
                    count=count,
                    baseline=(reading.baseline or {}).get(key, 0),
                    baseline_day=reading.today if reading.baseline is not None else None,
                    # Unknown before: fired "now" if it did today, else not since midnight.
                    fired_at=now if count > 0 else local_midnight(reading.today, zone),
                    updated_at=now,
                )
                u.pixel_watch.add(signal)
                await u.session.flush()
            elif advance(signal, reading, now, zone) and signal.incident_at is not None:
                await u.outbox.enqueue(
                    watch.user_id,
                    BACK_KIND,
                    f"pixel_back:{signal.id}:{signal.incident_at:%Y%m%d%H%M%S}",
                    {"account": watch.account_name, "pixel": pixel_name, "event": event_name},
                    now,
                )
                signal.incident_at = None
                queued += 1
            signal.pixel_name, signal.event_name = pixel_name[:256], event_name[:128]
            if (
                signal.incident_at is None
                and signal.baseline > 0
                and now - signal.fired_at >= silent_after
            ):
                suspects.append(signal)
        await u.session.flush()
        ids = {s.id for s in suspects}
        await u.commit()
    return queued, ids


async def _alert(
    u: UnitOfWork,
    watch: ClaimedPixelWatch,
    suspects: list[PixelSignal],
    groups: list[AdGroup],
    today: date,
    now: datetime,
) -> int:
    """Alert on the suspects whose ads spent enough since the silence began."""
    zone = ZoneInfo(watch.time_zone)
    queued = 0
    for signal in suspects:
        ids = {
            g.adgroup_id: g.campaign_id
            for g in groups
            if str(g.raw.get("pixel_id") or "") == signal.pixel_id
            and str(g.raw.get("optimization_event") or "") == signal.event
        }
        start = signal.fired_at.astimezone(zone)
        spent = {
            g: v
            for g, v in (
                await u.pixel_watch.spend_since(
                    watch.account_id, list(ids), start.date(), start.hour
                )
            ).items()
            if v > 0
        }
        spend = sum(spent.values(), Decimal(0))
        if spend <= 0:
            continue  # nothing spends on it: a quiet pixel costs nothing
        base_spend = await u.pixel_watch.spend_days(
            watch.account_id,
            list(ids),
            today - timedelta(days=BASELINE_DAYS),
            today - timedelta(days=1),
        )
        if (
            expected_events(signal.baseline, base_spend, spend, now - signal.fired_at)
            < MIN_EXPECTED
        ):
            continue
        camps = await u.pixel_watch.campaign_names(
            watch.account_id, sorted({ids[g] for g in spent})
        )
        signal.incident_at = now
        await u.outbox.enqueue(
            watch.user_id,
            SILENT_KIND,
            f"pixel_silent:{signal.id}:{signal.fired_at:%Y%m%d%H%M%S}",
            {
                "account": watch.account_name,
                "pixel": signal.pixel_name,
                "pixel_id": signal.pixel_id,
                "event": signal.event_name,
                "since": signal.fired_at.isoformat(),
                "zone": watch.time_zone,
                "spend": str(spend),
                "currency": watch.currency,
                "campaigns": sorted(camps.values())[:MAX_CAMPAIGNS],
                "more": max(0, len(camps) - MAX_CAMPAIGNS),
            },
            now,
        )
        queued += 1
    return queued


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """Give back the watches this worker holds (clean shutdown)."""
    async with uow() as u:
        await u.pixel_watch.release_all(owner)
        await u.commit()
