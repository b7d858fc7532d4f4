"""Syncing ad accounts from TikTok into the database.

Two recurring jobs per tracked ad account, claimed through the database with a lease so that
any number of instances can tick without doing the same work twice (design.md, Scheduling):

- `window` (hourly): structure (campaigns, ad groups, ads), daily rows at every level for the
  back window — 62 days the first time (enough for "last 30 days" and the 30 before it), then
  the last 3 days again, because TikTok keeps attributing late conversions (and every day since
  the last good run, after a pause) — and yesterday by
  hour at every level (today so far is compared with yesterday up to the same hour). Then a
  gradual hourly backfill for rule backtests: up to 3 missing days per run among the 29 before
  yesterday, newest first, at campaign, ad group and ad level (TikTok reports hours one day per
  request), so a new account has 30 days by hour after ~10 runs without a burst of requests.
  A day is missing at a level when its daily rows there show delivery and it has no hourly row
  there yet; once present it is never fetched again (late attribution is refreshed by day only).
- `today` (every 15 minutes): today's daily and hourly rows at every level, in the account's
  time zone.

Every report is asked at the ad level only, with each ad's ad group and campaign, and summed up
to the ad group, campaign and account levels here (core.sync_rollup: every stored metric is a
count or an amount) — one request where one per level was; an account with more ads than one
report holds is still asked level by level. Intraday jobs go before window jobs, and take up to
four other due intraday jobs of the same connection and time zone along into one request
(`advertiser_ids`, spec §7.1): TikTok's QPS is per app (spec §8.2), and at one request per level
10,000 accounts needed ~119 requests/s where a 50-QPS app may send 45 (bench/README.md).

Each step is fetched completely before it is written in one transaction, so a TikTok fault
(rate limit, 5xx, timeout) leaves the stored data as it was; the job is retried with back-off
and a later run completes it. A step's write runs while the next step is fetched (the sync is
bound by TikTok's QPS: the CPU and the database writer work in the requests' shadow). A token
TikTok stops accepting marks the connection broken and queues one alert; refused for good
(revoked, confirmed by a second call) it also starts the 7-day purge clock of a disconnect. An
advertiser the login no longer lists stops syncing and gets the same clock; a permission lost
on one still listed only stops syncing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from core import connections, sync_refusals, sync_rollup
from core.clock import Clock
from core.periods import local_today
from core.sync_writes import (
    LEVELS,
    levels_write,
    metrics_write,
    object_row,
    objects_write,
    write_levels,
)
from core.tiktok import (
    PermissionDeniedError,
    ReportLevel,
    ReportTable,
    TikTokClient,
    TikTokError,
    TimeGrain,
    TokenInvalidError,
)
from storage.repos.sync import ClaimedJob
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cadence:
    """How often each job runs per ad account (SYNC_TODAY_MINUTES, SYNC_WINDOW_MINUTES)."""

    today: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(hours=1)
    # How long a due job may wait for the next scheduler tick (SYNC_TICK_SECONDS): a job is
    # made due that much early, so that it starts within its interval, not up to a tick after.
    early: timedelta = timedelta(0)

    def every(self, kind: str) -> timedelta:
        """The interval of a job kind."""
        return self.today if kind == "today" else self.window

    def next_due(self, kind: str, started: datetime) -> datetime:
        """When a job that started a good run at `started` is due again."""
        interval = self.every(kind)
        return started + interval - min(self.early, interval / 2)


BACKFILL_DAYS = 62
RECENT_DAYS = 3
LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(minutes=30)
# Rule backtests replay the last HOURLY_DAYS days by hour at these levels; each window run
# fills in at most HOURLY_BACKFILL_PER_RUN missing days per level (one request per day and
# level, spec §7.1), so a new account has them all within ~10 hourly runs, without a burst.
HOURLY_DAYS = 30
HOURLY_BACKFILL_PER_RUN = 3
HOURLY_BACKFILL_LEVELS = (ReportLevel.CAMPAIGN, ReportLevel.ADGROUP, ReportLevel.AD)
# Only the raw counts are stored: every ratio (CTR, CPC, CPA, ROAS...) is derived from sums, so
# asking TikTok for them would only make the pages bigger (spec §7.1 metric names).
SYNC_METRICS = ("spend", "impressions", "clicks", "conversion", "total_complete_payment_rate")
# Every one of them is additive, so one report at the ad level, with each ad's ad group and
# campaign, is summed up to the other levels (core.sync_rollup): 1 request where 4 were.
REPORT_METRICS = (*SYNC_METRICS, *sync_rollup.PARENT_METRICS)
# spec §7.1: a report holds up to 10,000 ads. An account with more (in its synced structure)
# is asked per level as before, so its campaign and account totals stay whole.
AD_REPORT_MAX_ADS = 10_000
# spec §7.1: up to 5 ad accounts per BASIC report (`advertiser_ids`); intraday syncs of one
# connection's accounts in one time zone (spec §7.2: each account's own dates) share them.
TODAY_BATCH = 5

Progress = Callable[[int, int], Awaitable[None]]


def worker_id() -> str:
    """A name for this process in leases: host, pid and a random tail."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class SyncOutcome:
    """How one job ended: ok, or why not (revoked | token | lost | no_access | retry)."""

    account_id: int
    kind: str
    ok: bool
    reason: str | None = None
    rows: int = 0


class _Steps:
    """Counts finished steps and reports them to the progress callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done, self.total, self._progress = 0, total, progress

    async def step(self) -> None:
        self.done += 1
        if self._progress is not None:
            await self._progress(self.done, self.total)


class _Writer:
    """Writes each fetched step in its own transaction while the next step is fetched.

    The sync is bound by TikTok's QPS, so the CPU and the database writer work between
    fetches: a step's write runs while the next step's requests are in flight (one write at
    a time, in order). A step is still fetched completely before its write begins, so a
    TikTok fault leaves every step as it was or as it was wholly written.
    """

    def __init__(self, uow: UnitOfWorkFactory, steps: _Steps) -> None:
        self._uow, self._steps = uow, steps
        self._pending: asyncio.Task[int] | None = None
        self.rows = 0

    async def submit(self, write: Callable[[UnitOfWork], Awaitable[int]]) -> None:
        """Start writing one step (after the one before it is written)."""
        await self.flush()
        self._pending = asyncio.create_task(self._write(write))

    async def _write(self, write: Callable[[UnitOfWork], Awaitable[int]]) -> int:
        async with self._uow() as u:
            count = await write(u)
            await u.commit()
        await self._steps.step()
        return count

    async def flush(self) -> None:
        """Wait for the step being written (its error, if any, is raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.rows += await pending

    async def close(self) -> None:
        """After a failed fetch: let the step in flight finish, keep the fetch's error."""
        with contextlib.suppress(Exception):
            await self.flush()


async def _pull_structure(
    clock: Clock, client: TikTokClient, job: ClaimedJob, token: str, writer: _Writer
) -> int:
    """Pull campaigns, ad groups and ads; returns how many ads (deleted ones too)."""
    ads = 0
    fetchers = (
        ("campaign", client.get_campaigns),
        ("adgroup", client.get_adgroups),
        ("ad", client.get_ads),
    )
    # The three listings are asked at once (none depends on another): one round trip instead
    # of three before the reports. Each is written in this order, as soon as it is in.
    # Deleted objects too: their past spend is in the reports, and a drill-down must show
    # where it went (marked deleted) rather than lose it.
    # Stamped with when the listings began: an object changed from here after that keeps what
    # the change read back (storage.repos.sync.upsert_objects).
    listed = clock.now()
    tasks = [
        asyncio.create_task(fetch(token, job.advertiser_id, include_deleted=True))
        for _, fetch in fetchers
    ]
    try:
        for (level, _), task in zip(fetchers, tasks, strict=True):
            objects = await task
            rows = [object_row(job.account_id, level, o, listed) for o in objects]
            await writer.submit(objects_write(job.account_id, level, rows, listed))
            ads = len(objects)
    finally:
        for task in tasks:  # a listing failed: the others are not waited for
            task.cancel()
    return ads


async def _pull_metrics(
    clock: Clock,
    client: TikTokClient,
    job: ClaimedJob,
    token: str,
    start: Any,
    end: Any,
    grain: TimeGrain,
    levels: list[ReportLevel],
    writer: _Writer,
) -> None:
    hourly = grain is TimeGrain.HOUR
    for level in levels:
        table = await client.get_report_table(
            token, job.advertiser_id, level, start, end, grain=grain, metrics=SYNC_METRICS
        )
        now = clock.now()
        await writer.submit(
            metrics_write(job.account_id, table, now, hourly, local_today(now, job.time_zone))
        )


async def _pull_levels(
    clock: Clock,
    client: TikTokClient,
    job: ClaimedJob,
    token: str,
    start: date,
    end: date,
    grain: TimeGrain,
    writer: _Writer,
    levels: tuple[str, ...] = tuple(LEVELS.values()),
) -> None:
    """One ad-level report, written at `levels` (the ads' sums for the levels above)."""
    table = await client.get_report_table(
        token, job.advertiser_id, ReportLevel.AD, start, end, grain=grain, metrics=REPORT_METRICS
    )
    now = clock.now()
    today = local_today(now, job.time_zone)
    await writer.submit(levels_write(job, table, now, grain is TimeGrain.HOUR, today, levels))


async def _run_window(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    job: ClaimedJob,
    token: str,
    progress: Progress | None,
) -> int:
    today = local_today(clock.now(), job.time_zone)
    first = today - timedelta(days=BACKFILL_DAYS)
    async with uow() as u:
        # A window run that once succeeded pulled the whole back window (however young the
        # account: a missing old day is "no delivery", not "not pulled").
        found = await u.sync.job(job.account_id, "window")
        last_ok = found.last_ok_at if found is not None else None
    backfilled = last_ok is not None
    start = first
    if last_ok is not None:
        # The last RECENT_DAYS again, and every day since the last good run's yesterday: after
        # days without one (a paused plan, a broken token, TikTok down) they were never pulled.
        since = local_today(last_ok, job.time_zone) - timedelta(days=1)
        start = max(first, min(today - timedelta(days=RECENT_DAYS), since))
    yesterday = today - timedelta(days=1)
    steps = _Steps(3 + 2 + (1 if backfilled else 0), progress)
    writer = _Writer(uow, steps)
    try:
        ads = await _pull_structure(clock, client, job, token, writer)
        per_level = ads > AD_REPORT_MAX_ADS
        if per_level:
            steps.total += 2 * (len(LEVELS) - 1) + (len(HOURLY_BACKFILL_LEVELS) - 1) * backfilled
        for first_day, grain in ((start, TimeGrain.DAY), (yesterday, TimeGrain.HOUR)):
            # By day for the back window; yesterday by hour, for "today so far vs yesterday
            # at the same hour" at every level.
            if per_level:
                levels = list(LEVELS)
                await _pull_metrics(
                    clock, client, job, token, first_day, yesterday, grain, levels, writer
                )
            else:
                await _pull_levels(clock, client, job, token, first_day, yesterday, grain, writer)
        if backfilled:
            # Not on the first run: that one brings the user's stats in as fast as it can; the
            # older hours (for backtests) follow on the next hourly runs. What it asks for
            # depends on what is stored: the steps before it are written first.
            await writer.flush()
            await _backfill_hours(uow, clock, client, job, token, today, writer, per_level)
        await writer.flush()
    finally:
        await writer.close()
    return writer.rows


async def _backfill_hours(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    job: ClaimedJob,
    token: str,
    today: date,
    writer: _Writer,
    per_level: bool = False,
) -> None:
    """Pull a few missing older days by hour at each object level (for rule backtests): from
    the ad level, summed up to the others (or level by level for accounts too big for one
    report, see AD_REPORT_MAX_ADS)."""
    # Yesterday is pulled by hour on every run already; the older days of the last 30.
    candidates = [today - timedelta(days=n) for n in range(2, HOURLY_DAYS + 1)]
    names = tuple(LEVELS[level] for level in HOURLY_BACKFILL_LEVELS)
    metrics = SYNC_METRICS if per_level else REPORT_METRICS
    for level in HOURLY_BACKFILL_LEVELS if per_level else (ReportLevel.AD,):
        # The ad level decides for all three when they are written together.
        name = LEVELS[level]
        async with uow() as u:
            have = await u.sync.hourly_days(job.account_id, name, candidates)
            # A day without delivery at this level has no hours to fetch (whether TikTok sends
            # rows without delivery is undocumented, spec §7.1; the emulator leaves them out),
            # so it never counts as missing: else an idle week would be asked for again on
            # every run and block the older days behind it.
            active = await u.sync.active_days(job.account_id, name, candidates[-1], candidates[0])
        missing = [d for d in candidates if d in active and d not in have]
        days = missing[:HOURLY_BACKFILL_PER_RUN]  # newest first
        # spec §7.1: an hourly report spans one day at most, so one request per day; all of a
        # level's days are fetched before any is written, like every other step.
        table = ReportTable(level, metrics={m: [] for m in metrics})
        for day in days:
            table.extend(
                await client.get_report_table(
                    token, job.advertiser_id, level, day, day, grain=TimeGrain.HOUR, metrics=metrics
                )
            )
        now = clock.now()
        if per_level:
            await writer.submit(metrics_write(job.account_id, table, now, True, today))
        else:
            await writer.submit(levels_write(job, table, now, True, today, names))


async def _run_today(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    job: ClaimedJob,
    token: str,
    progress: Progress | None,
) -> int:
    today = local_today(clock.now(), job.time_zone)
    async with uow() as u:
        ads = (await u.sync.ad_counts([job.account_id])).get(job.account_id, 0)
    per_level = ads > AD_REPORT_MAX_ADS
    writer = _Writer(uow, _Steps(2 * (len(LEVELS) if per_level else 1), progress))
    try:
        for grain in (TimeGrain.DAY, TimeGrain.HOUR):
            if per_level:
                levels = list(LEVELS)
                await _pull_metrics(clock, client, job, token, today, today, grain, levels, writer)
            else:
                await _pull_levels(clock, client, job, token, today, today, grain, writer)
        await writer.flush()
    finally:
        await writer.close()
    return writer.rows


async def run_job(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    job: ClaimedJob,
    owner: str,
    progress: Progress | None = None,
    cadence: Cadence = Cadence(),
) -> SyncOutcome:
    """Run one claimed job and give it back with its next due time."""
    now = clock.now()
    async with uow() as u:
        token = (
            await u.credentials.reveal(job.credential_id) if job.credential_id is not None else None
        )
    if token is None:
        return await _settle(uow, clock, job, owner, "token", "no token stored")
    runner = _run_window if job.kind == "window" else _run_today
    try:
        rows = await runner(uow, clock, client, job, token, progress)
    except TokenInvalidError as exc:
        reason = await sync_refusals.token_refusal(client, token, exc)
        return await _settle(uow, clock, job, owner, reason, exc.message)
    except PermissionDeniedError as exc:
        reason = await sync_refusals.access_refusal(client, token, job.advertiser_id)
        return await _settle(uow, clock, job, owner, reason, exc.message)
    except TikTokError as exc:
        return await _settle(uow, clock, job, owner, "retry", str(exc))
    except OperationalError as exc:  # the database was busy or gone for a moment: try later
        return await _settle(uow, clock, job, owner, "retry", f"database: {exc.orig}")
    except sync_rollup.RollUpError as exc:  # a report shape TikTok does not document
        return await _settle(uow, clock, job, owner, "retry", str(exc))
    async with uow() as u:
        await _done(u, job, owner, now, cadence)
        await u.commit()
    log.info("sync.done", extra={"account_id": job.account_id, "kind": job.kind, "rows": rows})
    return SyncOutcome(job.account_id, job.kind, True, rows=rows)


async def _settle(
    uow: UnitOfWorkFactory, clock: Clock, job: ClaimedJob, owner: str, reason: str, error: str
) -> SyncOutcome:
    now = clock.now()
    backoff = min(MAX_BACKOFF, timedelta(minutes=2 ** min(job.attempts, 5)))
    async with uow() as u:
        if reason in ("revoked", "token") and await connections.finish_requested_disconnect(
            u, now, job.connection_id, job.user_id
        ):
            pass  # the user's own disconnect revoked the token: nothing to tell them
        elif reason == "revoked":
            await connections.note_revoked(u, now, job.connection_id, job.user_id, error)
        elif reason == "token":
            if await u.sync.mark_broken(job.connection_id, error, now):
                await u.outbox.enqueue(
                    job.user_id,
                    "connection_broken",
                    f"broken:{job.connection_id}:{int(now.timestamp())}",
                    {"connection_id": job.connection_id},
                    now,
                )
        elif reason == "lost":
            await connections.note_lost(u, now, job.account_id, job.user_id)
        elif reason == "no_access":
            await u.sync.mark_no_access(job.account_id)
        await u.sync.release(
            job.job_id, owner, due_at=now + backoff, ok=False, now=now, error=error
        )
        await u.commit()
    log.warning(
        "sync.failed",
        extra={
            "account_id": job.account_id,
            "kind": job.kind,
            "reason": reason,
            "error": error[:200],
        },
    )
    return SyncOutcome(job.account_id, job.kind, False, reason)


async def run_due(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    owner: str,
    limit: int = 4,
    cadence: Cadence = Cadence(),
    lease: timedelta = LEASE,
) -> list[SyncOutcome]:
    """One scheduler tick: claim up to `limit` due jobs (each held for `lease`) and run them.

    Intraday jobs first: they keep today's numbers (what rules act on) within their cadence,
    while a late back-window run costs little (it re-reads days that rarely change). When
    more is due than TikTok's QPS allows — every account at once after a big connect — the
    window runs wait for the intraday ones, not the other way round. Each intraday job takes
    up to TODAY_BATCH - 1 due others of its connection and time zone along (one report).
    """
    now = clock.now()
    async with uow() as u:
        jobs = await u.sync.claim(owner, now, now + lease, limit, kinds=("today",))
        if len(jobs) < limit:
            rest = limit - len(jobs)
            jobs += await u.sync.claim(owner, now, now + lease, rest, kinds=("window",))
        await u.commit()
    outcomes: list[SyncOutcome] = []
    for job in jobs:
        if job.kind == "today":
            outcomes += await _run_today_batch(uow, clock, client, job, owner, cadence, lease)
        else:
            outcomes.append(await run_job(uow, clock, client, job, owner, cadence=cadence))
    return outcomes


async def _run_today_batch(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    job: ClaimedJob,
    owner: str,
    cadence: Cadence,
    lease: timedelta,
) -> list[SyncOutcome]:
    """Run a claimed intraday job with up to TODAY_BATCH - 1 others due on its connection in
    its time zone, their reports shared (spec §7.1 `advertiser_ids`); the accounts of one
    report hold at most AD_REPORT_MAX_ADS ads between them (the rest run alone)."""
    now = clock.now()
    async with uow() as u:
        more = await u.sync.claim(
            owner, now, now + lease, TODAY_BATCH - 1, kinds=("today",), like=job
        )
        await u.commit()
        counts = await u.sync.ad_counts([j.account_id for j in (job, *more)]) if more else {}
    together: list[ClaimedJob] = []
    alone: list[ClaimedJob] = []
    ads = 0
    for j in (job, *more):
        n = counts.get(j.account_id, 0)
        if together and ads + n > AD_REPORT_MAX_ADS:
            alone.append(j)
        else:
            together.append(j)
            ads += n
    if len(together) > 1:
        outcomes = await _today_together(uow, clock, client, together, owner, cadence)
    else:
        alone = together + alone
        outcomes = []
    for j in alone:
        outcomes.append(await run_job(uow, clock, client, j, owner, cadence=cadence))
    return outcomes


async def _today_together(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    jobs: list[ClaimedJob],
    owner: str,
    cadence: Cadence,
) -> list[SyncOutcome]:
    """Several accounts' intraday syncs from shared reports; a refusal or fault of a shared
    request sends each job on alone (that run tells whose access or token it was)."""
    now = clock.now()
    lead = jobs[0]
    async with uow() as u:
        token = (
            await u.credentials.reveal(lead.credential_id)
            if lead.credential_id is not None
            else None
        )

    async def alone() -> list[SyncOutcome]:
        return [await run_job(uow, clock, client, j, owner, cadence=cadence) for j in jobs]

    if token is None:
        return await alone()
    today = local_today(now, lead.time_zone)
    metrics = (*REPORT_METRICS, "advertiser_id")  # whose row it is
    ids = [j.advertiser_id for j in jobs]
    tables: list[tuple[bool, dict[str, ReportTable], ReportTable]] = []
    try:
        for grain in (TimeGrain.DAY, TimeGrain.HOUR):
            table = await client.get_report_table(
                token,
                lead.advertiser_id,
                ReportLevel.AD,
                today,
                today,
                grain=grain,
                metrics=metrics,
                advertiser_ids=ids,
            )
            split = sync_rollup.split_by_advertiser(table)
            tables.append((grain is TimeGrain.HOUR, split, sync_rollup.empty_like(table)))
    except (TikTokError, sync_rollup.RollUpError):
        return await alone()
    outcomes = []
    for j in jobs:
        try:
            async with uow() as u:
                rows = 0
                for hourly, split, empty in tables:
                    table = split.get(j.advertiser_id, empty)
                    levels = tuple(LEVELS.values())
                    rows += await write_levels(u, j, table, clock.now(), hourly, today, levels)
                await _done(u, j, owner, now, cadence)
                await u.commit()
        except OperationalError as exc:
            outcomes.append(await _settle(uow, clock, j, owner, "retry", f"database: {exc.orig}"))
            continue
        except sync_rollup.RollUpError as exc:
            outcomes.append(await _settle(uow, clock, j, owner, "retry", str(exc)))
            continue
        log.info("sync.done", extra={"account_id": j.account_id, "kind": j.kind, "rows": rows})
        outcomes.append(SyncOutcome(j.account_id, j.kind, True, rows=rows))
    return outcomes


async def _done(
    u: UnitOfWork, job: ClaimedJob, owner: str, started: datetime, cadence: Cadence
) -> None:
    """Give a job back after a good run (in the caller's transaction)."""
    # last_ok_at is when the run started: its data is at least that fresh.
    await u.sync.release(
        job.job_id, owner, due_at=cadence.next_due(job.kind, started), ok=True, now=started
    )
    await u.sync.update_freshness(job.account_id)
    if job.kind == "window":  # fresh back-window spend: push it to the user's trackers
        await u.trackers.due_now_for_user(job.user_id, started)


async def drain_due(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    owner: str,
    concurrency: int = 8,
    cadence: Cadence = Cadence(),
    lease: timedelta = LEASE,
    stopping: Callable[[], bool] = lambda: False,
) -> int:
    """One scheduler tick: keep up to `concurrency` due jobs in flight until none is due.

    A sync waits on TikTok most of the time (spec §8.2: the app's QPS is the bound, and the
    limiter shared by every instance holds it), so one job at a time per instance left an
    instance idle on 200 ms answers while due work piled up (bench/updates.py: 0.5 syncs/s).
    Each worker claims one job at a time (SKIP LOCKED on PostgreSQL), so instances and workers
    share the queue without holding more leases than they run; once `stopping()` (a graceful
    shutdown) no more are claimed. Returns how many jobs ran."""

    async def worker() -> int:
        done = 0
        while not stopping() and await run_due(
            uow, clock, client, owner, limit=1, cadence=cadence, lease=lease
        ):
            done += 1
        return done

    # Every worker ends before the tick does (a failing one does not leave the others running
    # into the next tick's workers); the first failure is raised for the tick's log.
    results = await asyncio.gather(
        *(worker() for _ in range(max(1, concurrency))), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return sum(r for r in results if isinstance(r, int))


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """On a clean shutdown, free this worker's jobs so another instance takes them at once."""
    async with uow() as u:
        await u.sync.release_all(owner)
        await u.commit()


async def refresh_now(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    owner: str,
    account_id: int,
    progress: Progress | None = None,
    cadence: Cadence = Cadence(),
) -> list[SyncOutcome]:
    """Sync one account right away (both jobs); [] if another worker is syncing it now."""
    now = clock.now()
    async with uow() as u:
        jobs = await u.sync.claim(owner, now, now + LEASE, 2, account_id=account_id, force=True)
        await u.commit()
    jobs.sort(key=lambda j: j.kind != "window")  # structure first, then today
    outcomes = []
    total = len(jobs)
    for n, job in enumerate(jobs):

        async def scaled(done: int, steps: int, n: int = n) -> None:
            if progress is not None:
                await progress(n * 100 + done * 100 // steps, total * 100)

        outcomes.append(await run_job(uow, clock, client, job, owner, scaled, cadence))
    return outcomes
