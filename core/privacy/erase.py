"""Account erasure: a deletion request stops everything at once, then leased background work
purges ad and tracker data after 7 days and erases or pseudonymises the rest after 30, as the
data inventory (storage/inventory.py) says.

Stages of an `erasures` row: requested → stopped → purged → done. Each stage is a series of
idempotent steps, each committed on its own, and the stage is recorded only once all its steps
are done: a crash anywhere (SIGKILL included) leaves the row at its last finished stage with a
lease that lapses, and the next run repeats the unfinished stage from the start, finding done
what was done. The row keeps the Telegram id until the very last transaction, which anonymises
it together with marking the erasure done, so the user's rows can always be found until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from core.clock import Clock
from core.connections import disconnect
from core.tiktok import TikTokClient
from core.trackers.connect import TrackerNotFound, disconnect_tracker
from storage.inventory import ACCOUNT_DAYS, CONNECTION_DAYS, TABLES, Retention
from storage.models import Erasure
from storage.repos.privacy import ERASE_ORDER
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

REASONS = ("user", "support", "minor")
# Operators act on a support request or a report of a minor: everything goes at once.
IMMEDIATE = ("support", "minor")
PURGE_AFTER = timedelta(days=CONNECTION_DAYS)
ANONYMISE_AFTER = timedelta(days=ACCOUNT_DAYS)
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
STAGES = ("requested", "stopped", "purged", "done")
# Purged at the 7-day mark: synced ad and tracker data, and working state.
PURGED = (Retention.CONNECTION, Retention.SHORT)


@dataclass(frozen=True)
class ErasureInfo:
    """An erasure as the requester sees it."""

    erasure_id: int
    pseudonym: int
    reason: str
    stage: str
    purge_after: datetime
    anonymise_after: datetime
    counts: dict[str, int]  # rows touched by this call, per table (and stopped things)

    @property
    def rows(self) -> int:
        """Rows deleted or pseudonymised by this call."""
        return sum(n for name, n in self.counts.items() if name in TABLES)


@dataclass(frozen=True)
class _Snapshot:
    erasure_id: int
    user_id: int
    pseudonym: int
    stage: str
    purge_after: datetime
    anonymise_after: datetime
    owner: str  # the lease holder running it


def _owner() -> str:
    return f"request:{uuid4().hex[:12]}"


async def _new_pseudonym(u: UnitOfWork) -> int:
    """A random negative 63-bit number no other erasure has (never a Telegram id)."""
    while True:
        candidate = -secrets.randbits(63) - 1
        if await u.erasures.by_pseudonym(candidate) is None:
            return candidate


async def request_erasure(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tiktok_client: TikTokClient | None,
    user_id: int,
    reason: str = "user",
    requested_by: int | None = None,
    pause: float = 0.0,
) -> ErasureInfo:
    """Delete an account: sign-in closed and the erasure recorded in one transaction, then
    everything stopped at once (and, for an operator's support or minor request, everything
    erased at once). A second request finds the first. LookupError: no such account."""
    if reason not in REASONS:
        raise ValueError(reason)
    now = clock.now()
    owner = _owner()
    immediate = reason in IMMEDIATE
    async with uow() as u:
        user = await u.users.get_any(user_id)
        erasure = await u.erasures.pending_of(user_id)
        if erasure is None and user is None:
            raise LookupError(user_id)
        if erasure is None:
            erasure = Erasure(
                user_id=user_id,
                pseudonym=await _new_pseudonym(u),
                reason=reason,
                requested_by=requested_by,
                requested_at=now,
                purge_after=now if immediate else now + PURGE_AFTER,
                anonymise_after=now if immediate else now + ANONYMISE_AFTER,
                stage="requested",
                lease_owner=owner,
                lease_until=now + LEASE,
                attempts=1,
            )
            u.erasures.add(erasure)
            await u.session.flush()
        else:
            if immediate:  # an operator's request overtakes the user's 30 days
                erasure.purge_after = min(erasure.purge_after, now)
                erasure.anonymise_after = min(erasure.anonymise_after, now)
            # An operator's request runs now even if a worker holds it (each step idempotent).
            if immediate or erasure.lease_until is None or erasure.lease_until < now:
                erasure.lease_owner, erasure.lease_until = owner, now + LEASE
                erasure.attempts += 1
        if user is not None and user.deleted_at is None:
            user.deleted_at = now  # sign-in closed: every handler now sees a stranger
        u.audit.record(
            requested_by if requested_by is not None else user_id,
            "privacy.erasure_requested",
            "user",
            user_id,
            {"reason": reason, "erasure": erasure.id},
        )
        mine = erasure.lease_owner == owner
        erasure_id = erasure.id
        await u.commit()
    counts: dict[str, int] = {}
    if mine:  # else another worker is on it right now and finishes it
        counts = await _run_claimed(uow, clock, tiktok_client, erasure_id, owner,
                                    force=immediate, pause=pause)
    return await _info(uow, erasure_id, counts)


async def finish_now(
    uow: UnitOfWorkFactory, clock: Clock, tiktok_client: TikTokClient | None, user_id: int
) -> bool:
    """Finish the user's pending erasure at once, all stages (someone deleted signs up again:
    the new account must start from nothing); False if there was none."""
    now = clock.now()
    owner = _owner()
    async with uow() as u:
        erasure = await u.erasures.pending_of(user_id)
        if erasure is None:
            return False
        # Taken even from a worker holding it: every step is idempotent, and the sign-up must
        # not wait for a lease to lapse.
        erasure.lease_owner, erasure.lease_until = owner, now + LEASE
        erasure.attempts += 1
        erasure_id = erasure.id
        await u.commit()
    await _run_claimed(uow, clock, tiktok_client, erasure_id, owner, force=True, raise_=True)
    return True


async def run_due(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tiktok_client: TikTokClient | None,
    owner: str,
    limit: int = 10,
    pause: float = 0.0,
) -> int:
    """Advance every erasure with a stage due (the scheduler's tick); how many were claimed.
    `pause` (seconds between tables, tests only) widens the window a crash test aims at."""
    now = clock.now()
    async with uow() as u:
        ids = await u.erasures.claim(owner, now, now + LEASE, limit)
        await u.commit()
    for erasure_id in ids:
        await _run_claimed(uow, clock, tiktok_client, erasure_id, owner, pause=pause)
    return len(ids)


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """On a clean shutdown, free this worker's erasures so another instance takes them."""
    async with uow() as u:
        await u.erasures.release_all(owner)
        await u.commit()


async def _info(uow: UnitOfWorkFactory, erasure_id: int, counts: dict[str, int]) -> ErasureInfo:
    async with uow() as u:
        e = await u.erasures.get(erasure_id)
        assert e is not None
        return ErasureInfo(e.id, e.pseudonym, e.reason, e.stage, e.purge_after,
                           e.anonymise_after, counts)


async def _run_claimed(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tiktok_client: TikTokClient | None,
    erasure_id: int,
    owner: str,
    *,
    force: bool = False,
    pause: float = 0.0,
    raise_: bool = False,
) -> dict[str, int]:
    """Run the due stages of an erasure this worker leased, then give the lease back (after a
    failure: kept until a back-off has passed, the error recorded)."""
    try:
        counts = await _advance(uow, clock, tiktok_client, erasure_id, owner, force, pause)
    except Exception as exc:
        async with uow() as u:
            e = await u.erasures.get(erasure_id)
            attempts = e.attempts if e is not None else 1
            backoff = min(timedelta(minutes=2 ** min(attempts, 10)), MAX_BACKOFF)
            await u.erasures.release(erasure_id, owner, error=f"{type(exc).__name__}: {exc}",
                                     retry_at=clock.now() + backoff)
            await u.commit()
        log.warning("privacy.erasure_failed",
                    extra={"erasure": erasure_id, "error": f"{type(exc).__name__}: {exc}"})
        if raise_:
            raise
        return {}
    async with uow() as u:
        await u.erasures.release(erasure_id, owner)
        await u.commit()
    return counts


async def _snapshot(uow: UnitOfWorkFactory, erasure_id: int, owner: str) -> _Snapshot | None:
    async with uow() as u:
        e = await u.erasures.get(erasure_id)
        if e is None or e.user_id is None or e.stage == "done":
            return None
        return _Snapshot(e.id, e.user_id, e.pseudonym, e.stage, e.purge_after, e.anonymise_after,
                         owner)


async def _advance(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tiktok_client: TikTokClient | None,
    erasure_id: int,
    owner: str,
    force: bool,
    pause: float,
) -> dict[str, int]:
    """Run every stage that is due, in order; rows touched per table."""
    total: dict[str, int] = {}
    while (e := await _snapshot(uow, erasure_id, owner)) is not None:
        now = clock.now()
        if e.stage == "requested":
            counts = await _stop(uow, clock, tiktok_client, e)
        elif e.stage == "stopped" and (force or e.purge_after <= now):
            counts = await _purge(uow, clock, e, pause)
        elif e.stage == "purged" and (force or e.anonymise_after <= now):
            counts = await _anonymise(uow, clock, e, pause)
        else:
            break
        for name, n in counts.items():
            total[name] = total.get(name, 0) + n
    return total


async def _finish_stage(u: UnitOfWork, clock: Clock, e: _Snapshot, to: str,
                        counts: dict[str, int]) -> None:
    """Record a stage as done, with what it touched (the pseudonym, never the Telegram id)."""
    now = clock.now()
    await u.erasures.set_stage(e.erasure_id, e.stage, to, now if to == "done" else None)
    details = {"pseudonym": e.pseudonym, "stage": to, "counts": counts}
    u.audit.record(None, "privacy.erasure_stage", "erasure", e.erasure_id, details)
    if to == "done":
        u.audit.record(None, "privacy.erasure_done", "erasure", e.erasure_id, details)
    log.info("privacy.erasure_stage",
             extra={"erasure": e.erasure_id, "stage": to, "rows": sum(counts.values())})


async def _stop(uow: UnitOfWorkFactory, clock: Clock, tiktok_client: TikTokClient | None,
                e: _Snapshot) -> dict[str, int]:
    """At once: rules off, launches not started and open approvals cancelled, every TikTok
    token revoked at TikTok and deleted, every tracker key deleted, queued alerts and
    conversation state dropped."""
    now = clock.now()
    counts: dict[str, int] = {}
    async with uow() as u:
        counts["rules_disabled"] = await u.erasures.disable_rules(e.user_id)
        counts["launches_cancelled"] = await u.erasures.cancel_launches(e.user_id, now)
        counts["approvals_cancelled"] = await u.erasures.cancel_approvals(e.user_id, now)
        connections = await u.erasures.live_connections(e.user_id)
        trackers = await u.erasures.live_trackers(e.user_id)
        await u.commit()
    for connection_id in connections:  # the same disconnect a user presses: revoke, then drop
        with contextlib.suppress(LookupError):  # disconnected meanwhile (a second run)
            await disconnect(uow, clock, tiktok_client, e.user_id, connection_id)
    for tracker_id in trackers:
        with contextlib.suppress(TrackerNotFound):
            await disconnect_tracker(uow, clock, e.user_id, tracker_id)
    counts["tiktok_disconnected"] = len(connections)
    counts["trackers_disconnected"] = len(trackers)
    async with uow() as u:
        # Queued alerts, conversation state, consent links, exports: working state, gone now.
        counts.update(await u.privacy.erase(e.user_id, e.pseudonym, [Retention.SHORT]))
        await _finish_stage(u, clock, e, "stopped", counts)
        await u.commit()
    return counts


async def _erase_tables(uow: UnitOfWorkFactory, clock: Clock, e: _Snapshot,
                        retentions: tuple[Retention, ...], skip: tuple[str, ...], pause: float
                        ) -> dict[str, int]:
    """Erase table by table, children first, each in its own transaction (a huge account does
    not hold one long write; a crash keeps what was done), renewing the lease as it goes."""
    counts: dict[str, int] = {}
    for name in ERASE_ORDER:
        if TABLES[name].retention not in retentions or name in skip:
            continue
        async with uow() as u:
            touched = await u.privacy.erase(e.user_id, e.pseudonym, retentions, tables=[name])
            await u.erasures.extend(e.erasure_id, e.owner, clock.now() + LEASE)
            await u.commit()
        counts.update(touched)
        if touched:
            log.info("privacy.erased_table", extra={"erasure": e.erasure_id, "table": name,
                                                    "rows": touched[name]})
        if pause:
            await asyncio.sleep(pause)
    return counts


async def _purge(uow: UnitOfWorkFactory, clock: Clock, e: _Snapshot, pause: float
                 ) -> dict[str, int]:
    """By day 7: synced ad data, tracker data and connections gone."""
    counts = await _erase_tables(uow, clock, e, PURGED, (), pause)
    async with uow() as u:
        await _finish_stage(u, clock, e, "purged", counts)
        await u.commit()
    return counts


async def _anonymise(uow: UnitOfWorkFactory, clock: Clock, e: _Snapshot, pause: float
                     ) -> dict[str, int]:
    """By day 30: everything else deleted, billing and audit kept under the pseudonym; the
    erasure row's own Telegram id goes last, with the stage, in one transaction."""
    counts = await _erase_tables(uow, clock, e, tuple(Retention), ("erasures",), pause)
    async with uow() as u:
        counts.update(await u.privacy.erase(e.user_id, e.pseudonym, tables=["erasures"]))
        await _finish_stage(u, clock, e, "done", counts)
        await u.commit()
    return counts


@dataclass(frozen=True)
class Target:
    """An account an operator is about to erase, as shown for their confirmation."""

    user_id: int
    first_name: str
    username: str | None
    deleting: bool  # the user already asked; the operator's request makes it immediate


async def erasure_target(uow: UnitOfWorkFactory, user_id: int) -> Target | None:
    """The account with this Telegram id, live or being deleted (None: none, or erased)."""
    async with uow() as u:
        user = await u.users.get_any(user_id)
        if user is None:
            return None
        return Target(user.id, user.first_name, user.username, user.deleted_at is not None)
