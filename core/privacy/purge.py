"""The retention clock's deletions: TikTok connections (disconnected or revoked), ad accounts
the login no longer reaches, and disconnected trackers, once their purge_after has passed.

Leased background work like sync (design.md, Scheduling): a due row is claimed with a lease on
the row itself (SKIP LOCKED on PostgreSQL), so two instances never purge the same thing; what
lies under it (found through the data inventory's owner links, storage/repos/privacy.py) is
deleted in bounded batches, one transaction each, so a big account never holds one giant
transaction; the row itself goes last. A run that crashes or fails half-way leaves a row whose
remaining data the next run deletes (every step is an idempotent delete). Each finished purge
is logged with its counts (ids only) and written to the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import ColumnElement

from core.clock import Clock
from storage.models import Tracker
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
BATCH = 5000  # rows per transaction
CLAIM = 20  # rows of a kind claimed per run


@dataclass(frozen=True)
class Kind:
    """One kind of purgeable row: its table, audit action and target type."""

    table: str
    action: str
    target: str

    def only(self) -> ColumnElement[bool] | None:
        """An extra condition on the due rows (trackers: only disconnected ones)."""
        return Tracker.status == "disconnected" if self.table == "trackers" else None


CONNECTIONS = Kind("tiktok_connections", "tiktok.purged", "connection")
AD_ACCOUNTS = Kind("ad_accounts", "tiktok.account_purged", "ad_account")
TRACKERS = Kind("trackers", "tracker.purged", "tracker")
ALL = (CONNECTIONS, AD_ACCOUNTS, TRACKERS)


@dataclass(frozen=True)
class Purged:
    """One finished purge: what was deleted under which row, rows per table."""

    table: str
    row_id: int
    counts: dict[str, int] = field(default_factory=dict)


async def run_due(uow: UnitOfWorkFactory, clock: Clock, owner: str,
                  kinds: tuple[Kind, ...] = ALL, batch: int = BATCH,
                  lease: timedelta = LEASE) -> list[Purged]:
    """One purge tick: claim the due rows of each kind (each held for `lease`, renewed at every
    batch) and delete them with their data."""
    done: list[Purged] = []
    for kind in kinds:
        now = clock.now()
        async with uow() as u:
            ids = await u.privacy.claim_purges(
                kind.table, owner, now, now + lease, CLAIM, only=kind.only())
            await u.commit()
        for row_id in ids:
            try:
                purged = await purge_one(uow, clock, kind, row_id, owner, batch, lease)
            except Exception:  # the rest still runs; this row is resumed by the next run
                log.exception("privacy.purge_failed", extra={"table": kind.table, "id": row_id})
                await _release(uow, kind, row_id, owner)
                continue
            if purged is not None:
                done.append(purged)
    # One line per run, even an empty one: operators (and the end-to-end tests) see it ran.
    log.info("privacy.purge_run", extra={"purged": len(done),
                                         "tables": sorted({p.table for p in done})})
    return done


async def purge_one(uow: UnitOfWorkFactory, clock: Clock, kind: Kind, row_id: int, owner: str,
                    batch: int = BATCH, lease: timedelta = LEASE) -> Purged | None:
    """Delete everything under one claimed row in batches, then the row; None if the lease
    was lost meanwhile (another worker finishes it and writes the audit entry) or the purge
    was called off (a reconnect cleared purge_after)."""
    counts: dict[str, int] = {}
    while True:
        async with uow() as u:
            # Renewing the lease in each batch's transaction keeps a long purge ours, and
            # stops this worker as soon as another one took the row over.
            if not await u.privacy.holds(kind.table, row_id, owner, clock.now() + lease):
                log.warning("privacy.purge_stopped", extra={"table": kind.table, "id": row_id})
                return None
            table, n = await u.privacy.erase_under_step(kind.table, row_id, batch)
            await u.commit()
        if not n:
            break
        counts[table] = counts.get(table, 0) + n
    async with uow() as u:
        deleted, credential_id = await u.privacy.delete_root(kind.table, row_id, owner)
        if not deleted:
            return None
        counts[kind.table] = 1
        if credential_id is not None:  # the sealed token or API key goes with it
            await u.credentials.delete(credential_id)
            counts["credentials"] = 1
        u.audit.record(None, kind.action, kind.target, row_id, {"counts": counts})
        await u.commit()
    log.info("privacy.purged", extra={"table": kind.table, "id": row_id, "counts": counts})
    return Purged(kind.table, row_id, counts)


async def _release(uow: UnitOfWorkFactory, kind: Kind, row_id: int, owner: str) -> None:
    try:
        async with uow() as u:
            await u.privacy.release_purge(kind.table, row_id, owner)
            await u.commit()
    except Exception:  # the database is gone too: the lease simply runs out
        log.warning("privacy.purge_release_failed", extra={"table": kind.table, "id": row_id})
