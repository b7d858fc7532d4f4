"""The recurring tracker work, and the on-demand push / pull behind the bot's buttons.

Each connected tracker is one job row (the Tracker itself: due_at, lease_owner, lease_until,
attempts), claimed with a lease like sync jobs, so any number of instances may tick without two
of them pushing or pulling the same tracker. A run: automatic mapping, push (the scheduled days),
pull (the attribution window), then the discrepancy check. It is due hourly, and at once after a
TikTok back-window sync of the owner's accounts (core/sync.py). A failed run keeps the tracker's
status "failing" (last_error, failing_since) and is retried with back-off; the next good run
re-pushes (a push replaces) and re-pulls (a pull replaces its window) from before the outage, so
nothing is lost or doubled. A tracker a lower plan paused (`plan_paused_at`, see
core/billing/enforce.py) is neither pushed nor pulled, on schedule or on demand: the claim leaves
it until it is resumed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.clock import Clock
from core.trackers.base import TrackerError
from core.trackers.connect import ClientFactory, owned, record_failure
from core.trackers.discrepancy import check_discrepancies
from core.trackers.mapping import auto_map
from core.trackers.pull import PullReport, pull_revenue
from core.trackers.push import PushReport, push_costs
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

EVERY = timedelta(hours=1)
LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(minutes=30)

Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class TrackerRun:
    """How one scheduled run of a tracker went."""

    tracker_id: int
    ok: bool
    push: PushReport | None
    pull: PullReport | None
    alerts: int
    error: str | None


def backoff(attempts: int) -> timedelta:
    """The wait after a failed run: 2, 4, 8, 16, 30, 30 … minutes."""
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(1, min(attempts, 5))))


async def _attempts(uow: UnitOfWorkFactory, tracker_id: int) -> int:
    async with uow() as u:
        tracker = await u.trackers.by_id(tracker_id)
        return tracker.attempts if tracker is not None else 1


async def run_tracker(
    uow: UnitOfWorkFactory, clock: Clock, tracker_id: int, client_factory: ClientFactory, owner: str
) -> TrackerRun:
    """Run one claimed tracker (map, push, pull, check) and give its lease back."""
    started = clock.now()
    push: PushReport | None = None
    pull: PullReport | None = None
    alerts = 0
    error: str | None = None
    try:
        try:
            await auto_map(uow, clock, tracker_id, client_factory)
        except TrackerError as exc:
            error = str(exc)[:300]
            await record_failure(uow, clock, tracker_id, "pull", error)
        if error is None:
            push = await push_costs(uow, clock, tracker_id, None, client_factory)
            pull = await pull_revenue(uow, clock, tracker_id, client_factory)
            error = push.error or pull.error
            if pull.ok:
                alerts = await check_discrepancies(uow, clock, tracker_id)
    except LookupError:  # disconnected meanwhile: nothing to release into
        error = "disconnected"
    except Exception:
        # Any other failure still gives the tracker back (retried after a backoff), or it
        # would stay "being synced right now" for the user until the lease expired.
        await _release(uow, clock, tracker_id, owner, started, ok=False)
        raise
    ok = error is None
    await _release(uow, clock, tracker_id, owner, started, ok=ok)
    log.info(
        "tracker.run", extra={"tracker_id": tracker_id, "ok": ok, "alerts": alerts, "error": error}
    )
    return TrackerRun(tracker_id, ok, push, pull, alerts, error)


async def _release(
    uow: UnitOfWorkFactory, clock: Clock, tracker_id: int, owner: str, started: datetime, ok: bool
) -> None:
    """Give a run's lease back: due again a cadence after it started, or after a backoff."""
    due = started + EVERY if ok else clock.now() + backoff(await _attempts(uow, tracker_id))
    async with uow() as u:
        await u.trackers.release(tracker_id, owner, due_at=due, ok=ok)
        await u.commit()


async def run_due(
    uow: UnitOfWorkFactory, clock: Clock, client_factory: ClientFactory, owner: str, limit: int = 4,
    lease: timedelta = LEASE,
) -> list[TrackerRun]:
    """One scheduler tick: claim up to `limit` due trackers (each held for `lease`), run each."""
    now = clock.now()
    async with uow() as u:
        ids = await u.trackers.claim(owner, now, now + lease, limit)
        await u.commit()
    return [await run_tracker(uow, clock, tid, client_factory, owner) for tid in ids]


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """On a clean shutdown, free this worker's trackers so another instance takes them."""
    async with uow() as u:
        await u.trackers.release_all(owner)
        await u.commit()


async def _claim_one(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, tracker_id: int, owner: str,
    lease: timedelta = LEASE,
) -> tuple[bool, datetime | None]:
    """Lease the user's tracker now (TrackerNotFound if not theirs): (leased, its due time);
    not leased when another worker holds it."""
    now = clock.now()
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        due = tracker.due_at
        ids = await u.trackers.claim(owner, now, now + lease, 1, tracker_id=tracker_id, force=True)
        await u.commit()
    return bool(ids), due


async def _give_back(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tracker_id: int,
    owner: str,
    due: datetime | None,
    ok: bool,
) -> None:
    async with uow() as u:
        await u.trackers.release(tracker_id, owner, due_at=due or clock.now() + EVERY, ok=ok)
        await u.commit()


async def push_now(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    tracker_id: int,
    client_factory: ClientFactory,
    owner: str,
    days: Sequence[date] | None = None,
    progress: Progress | None = None,
    lease: timedelta = LEASE,
) -> PushReport | None:
    """Push the user's tracker now (the given days, or the scheduled window), reporting progress
    as (done, total) steps; None if another worker is pushing or pulling it right now."""
    leased, due = await _claim_one(uow, clock, user_id, tracker_id, owner, lease)
    if not leased:
        return None
    report: PushReport | None = None
    try:
        report = await push_costs(
            uow, clock, tracker_id, days, client_factory, user_id=user_id, progress=progress
        )
    finally:
        await _give_back(uow, clock, tracker_id, owner, due, report is not None and report.ok)
    return report


async def pull_now(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    tracker_id: int,
    client_factory: ClientFactory,
    owner: str,
    progress: Progress | None = None,
    lease: timedelta = LEASE,
) -> PullReport | None:
    """Map, pull and check the user's tracker now, reporting progress as (done, total) steps;
    None if another worker is on it right now."""
    leased, due = await _claim_one(uow, clock, user_id, tracker_id, owner, lease)
    if not leased:
        return None
    report: PullReport | None = None
    try:
        try:
            await auto_map(uow, clock, tracker_id, client_factory, user_id=user_id)
        except TrackerError as exc:
            await record_failure(uow, clock, tracker_id, "pull", str(exc))
            report = PullReport(tracker_id, False, 0, 0, str(exc)[:300])
            return report
        report = await pull_revenue(
            uow, clock, tracker_id, client_factory, user_id=user_id, progress=progress
        )
        if report.ok:
            await check_discrepancies(uow, clock, tracker_id)
    finally:
        await _give_back(uow, clock, tracker_id, owner, due, report is not None and report.ok)
    return report
