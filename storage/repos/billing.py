"""The billing ledger (payments) and entitlements: exactly-once charges, the user's ledger, the
entitlement row locked while it is recomputed, and leases for the billing tick."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.billing import Entitlement, Payment


class BillingRepo:
    """Reads and writes payments and entitlements; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _insert(self, model: Any) -> Any:
        dialect = self._s.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)

    async def add_charge(self, **values: Any) -> bool:
        """Stage a ledger entry unless one with its `telegram_charge_id` exists (any instance,
        any delivery of the same payment): True when this call added it."""
        stmt = (self._insert(Payment).values(**values)
                .on_conflict_do_nothing(index_elements=["telegram_charge_id"])
                .returning(Payment.id))
        return (await self._s.scalar(stmt)) is not None

    async def charge(self, charge_id: str) -> Payment | None:
        """One ledger entry by Telegram's charge id (or a grant's id)."""
        return await self._s.scalar(
            select(Payment).where(Payment.telegram_charge_id == charge_id)
            .execution_options(populate_existing=True)
        )

    async def ledger(self, user_id: int) -> list[Payment]:
        """Every ledger entry of a user, oldest first."""
        rows = await self._s.scalars(
            select(Payment).where(Payment.user_id == user_id)
            .order_by(Payment.created_at, Payment.id)
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def mark_refunded(self, charge_id: str, at: datetime, by: int | None,
                            reason: str | None) -> bool:
        """Mark a charge refunded (once): True when this call did it."""
        done = await self._s.scalar(
            update(Payment)
            .where(Payment.telegram_charge_id == charge_id, Payment.refunded_at.is_(None))
            .values(refunded_at=at, refunded_by=by, reason=reason)
            .returning(Payment.id)
            .execution_options(synchronize_session=False)
        )
        return done is not None

    async def entitlement(self, user_id: int) -> Entitlement | None:
        """The user's entitlement row as stored (None: never paid, never ticked: Free)."""
        return await self._s.get(Entitlement, user_id, populate_existing=True)

    async def lock_entitlement(self, user_id: int, now: datetime) -> Entitlement:
        """The user's entitlement row, created if missing and locked for this transaction (on
        PostgreSQL FOR UPDATE; SQLite serialises writers), so two instances recording charges
        for one user fold the ledger one after the other."""
        await self._s.execute(
            self._insert(Entitlement)
            .values(user_id=user_id, state="free", plan="free", applied_plan="free",
                    renews=False, updated_at=now)
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        row = await self._s.scalar(
            select(Entitlement).where(Entitlement.user_id == user_id)
            .with_for_update().execution_options(populate_existing=True)
        )
        assert row is not None
        return row

    async def claim_due(self, now: datetime, owner: str, lease_until: datetime,
                        limit: int) -> list[int]:
        """Lease entitlements whose tick work is due (a reminder, an end, a plan to apply)."""
        free = or_(Entitlement.lease_until.is_(None), Entitlement.lease_until < now)
        pick = (
            select(Entitlement.user_id)
            .where(free, and_(Entitlement.due_at.is_not(None), Entitlement.due_at <= now))
            .order_by(Entitlement.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(
            await self._s.scalars(
                update(Entitlement)
                .where(Entitlement.user_id.in_(pick.scalar_subquery()), free)
                .values(lease_owner=owner, lease_until=lease_until)
                .returning(Entitlement.user_id)
                .execution_options(synchronize_session=False)
            )
        )

    async def release(self, user_id: int, owner: str) -> None:
        """Give a tick lease back."""
        await self._s.execute(
            update(Entitlement)
            .where(Entitlement.user_id == user_id, Entitlement.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )

    async def claim(self, user_id: int, now: datetime, owner: str,
                    lease_until: datetime) -> bool:
        """Lease one user's entitlement for billing work now (a payment's plan to apply at once),
        unless another instance holds it: True when this call got it."""
        free = or_(Entitlement.lease_until.is_(None), Entitlement.lease_until < now)
        got = await self._s.scalar(
            update(Entitlement)
            .where(Entitlement.user_id == user_id, free)
            .values(lease_owner=owner, lease_until=lease_until)
            .returning(Entitlement.user_id)
            .execution_options(synchronize_session=False)
        )
        return got is not None

    async def set_renewal(self, user_id: int, renews: bool, canceled_at: datetime | None,
                          now: datetime) -> Entitlement:
        """Record whether the user's subscription renews and when they cancelled it, on their
        entitlement row (locked, returned for the caller's next due time)."""
        row = await self.lock_entitlement(user_id, now)
        row.renews, row.canceled_at, row.updated_at = renews, canceled_at, now
        return row

    async def release_all(self, owner: str) -> None:
        """Give back every billing lease `owner` holds (an instance shutting down)."""
        await self._s.execute(
            update(Entitlement)
            .where(Entitlement.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
