"""Account erasures: the bookkeeping row (claimed with a lease, like sync jobs) and the
"stop everything now" writes of the first stage (rules, launches, approvals)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Erasure, Launch, Rule, RuleAction, TikTokConnection, Tracker

# Launches that have not started creating anything yet (storage/repos/launches.py states).
NOT_STARTED = ("proposed", "approved", "scheduled")


class ErasureRepo:
    """Reads, leases and advances erasures; stops a user's automation."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def add(self, erasure: Erasure) -> None:
        """Stage a new erasure."""
        self._s.add(erasure)

    async def get(self, erasure_id: int) -> Erasure | None:
        """An erasure by id."""
        return await self._s.get(Erasure, erasure_id)

    async def by_pseudonym(self, pseudonym: int) -> Erasure | None:
        """The erasure that gave out this pseudonym."""
        return await self._s.scalar(select(Erasure).where(Erasure.pseudonym == pseudonym))

    async def pending_of(self, user_id: int) -> Erasure | None:
        """The user's unfinished erasure, if any."""
        return await self._s.scalar(
            select(Erasure).where(Erasure.user_id == user_id, Erasure.stage != "done")
            .order_by(Erasure.id).limit(1)
        )

    async def claim(self, owner: str, now: datetime, lease_until: datetime, limit: int,
                    *, erasure_id: int | None = None, force: bool = False) -> list[int]:
        """Lease erasures with a stage due (SKIP LOCKED on PostgreSQL; the repeated lease
        condition keeps the claim atomic on SQLite); their ids. `force` takes one whatever its
        due times (a re-sign-up finishes it at once)."""
        free = or_(Erasure.lease_until.is_(None), Erasure.lease_until < now)
        due = or_(
            Erasure.stage == "requested",
            and_(Erasure.stage == "stopped", Erasure.purge_after <= now),
            and_(Erasure.stage == "purged", Erasure.anonymise_after <= now),
        )
        pick = (
            select(Erasure.id)
            .where(free, Erasure.stage != "done")
            .order_by(Erasure.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if not force:
            pick = pick.where(due)
        if erasure_id is not None:
            pick = pick.where(Erasure.id == erasure_id)
        return list(
            await self._s.scalars(
                update(Erasure)
                .where(Erasure.id.in_(pick.scalar_subquery()), free)
                .values(lease_owner=owner, lease_until=lease_until, attempts=Erasure.attempts + 1)
                .returning(Erasure.id)
                .execution_options(synchronize_session=False)
            )
        )

    async def release(self, erasure_id: int, owner: str, *, error: str | None = None,
                      retry_at: datetime | None = None) -> None:
        """Give the lease back: cleanly (attempts reset), or after a failure with the error and
        the time before which nobody retries (the lease kept until then, owner cleared)."""
        values: dict[str, object] = {"lease_owner": None, "lease_until": retry_at}
        if error is None:
            values.update(attempts=0, last_error=None)
        else:
            values["last_error"] = error[:300]
        await self._s.execute(
            update(Erasure)
            .where(Erasure.id == erasure_id, Erasure.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def extend(self, erasure_id: int, owner: str, lease_until: datetime) -> None:
        """Keep holding the lease through a long erasure (if this worker still holds it)."""
        await self._s.execute(
            update(Erasure)
            .where(Erasure.id == erasure_id, Erasure.lease_owner == owner)
            .values(lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )

    async def release_all(self, owner: str) -> None:
        """Give back every erasure lease this worker holds (a clean shutdown)."""
        await self._s.execute(
            update(Erasure)
            .where(Erasure.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )

    async def set_stage(self, erasure_id: int, from_stage: str, to_stage: str,
                        finished_at: datetime | None = None) -> bool:
        """Record a finished stage, only from the stage it followed (two runs racing never move
        an erasure backwards); whether it moved."""
        values: dict[str, object] = {"stage": to_stage}
        if finished_at is not None:
            values["finished_at"] = finished_at
        done = await self._s.execute(
            update(Erasure).where(Erasure.id == erasure_id, Erasure.stage == from_stage)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    # The first stage: nothing of the user's runs any more ------------------------------------

    async def disable_rules(self, user_id: int) -> int:
        """Switch the user's rules off; how many were on."""
        done = await self._s.execute(
            update(Rule).where(Rule.user_id == user_id, Rule.enabled.is_(True))
            .values(enabled=False, due_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

    async def cancel_launches(self, user_id: int, now: datetime) -> int:
        """Cancel the user's launches that have not started; how many."""
        done = await self._s.execute(
            update(Launch).where(Launch.user_id == user_id, Launch.state.in_(NOT_STARTED))
            .values(state="cancelled", decided_at=now, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

    async def cancel_approvals(self, user_id: int, now: datetime) -> int:
        """Close the user's open approvals (as expired: nobody decided) and drop pending
        midnight re-enables (the token is gone, nothing may be changed at TikTok any more)."""
        done = await self._s.execute(
            update(RuleAction).where(RuleAction.user_id == user_id,
                                     RuleAction.state == "proposed")
            .values(state="expired", decided_at=now)
            .execution_options(synchronize_session=False)
        )
        await self._s.execute(
            update(RuleAction).where(RuleAction.user_id == user_id,
                                     RuleAction.reenable_at.is_not(None),
                                     RuleAction.reenabled_at.is_(None))
            .values(reenable_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

    async def live_connections(self, user_id: int) -> list[int]:
        """Ids of the user's TikTok connections not disconnected yet."""
        return list(await self._s.scalars(
            select(TikTokConnection.id).where(TikTokConnection.user_id == user_id,
                                              TikTokConnection.status != "disconnected")
            .order_by(TikTokConnection.id)
        ))

    async def live_trackers(self, user_id: int) -> list[int]:
        """Ids of the user's trackers not disconnected yet."""
        return list(await self._s.scalars(
            select(Tracker.id).where(Tracker.user_id == user_id,
                                     Tracker.status != "disconnected").order_by(Tracker.id)
        ))
