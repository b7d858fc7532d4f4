"""Pixel watches, their per-event signals, and the spend they compare against (issue 17)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    MetricHourly,
    PixelSignal,
    PixelWatch,
    TikTokConnection,
    User,
)


@dataclass(frozen=True, slots=True)
class ClaimedPixelWatch:
    """A leased pixel watch with what reading its account needs."""

    watch_id: int
    account_id: int
    advertiser_id: str
    account_name: str
    time_zone: str
    currency: str
    user_id: int
    credential_id: int


def _eligible(feature: str) -> list[ColumnElement[bool]]:
    """The account is tracked, reachable, and its user active with the feature on."""
    return [
        TikTokConnection.status == "active",
        TikTokConnection.credential_id.is_not(None),
        AdAccount.purge_after.is_(None),
        AdAccount.tracked.is_(True),
        User.paused_at.is_(None),
        User.deleted_at.is_(None),
        or_(User.features == feature, User.features.like(f"%{feature}%")),
    ]


class PixelWatchRepo:
    """Queries over pixel_watches and pixel_signals."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def seed(self, now: datetime, feature: str) -> None:
        """Add a watch, due now, for every eligible ad account that has none (any instance may
        run this at once: a row another added first is skipped)."""
        missing = list(
            await self._s.scalars(
                select(AdAccount.id)
                .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
                .join(User, User.id == TikTokConnection.user_id)
                .outerjoin(PixelWatch, PixelWatch.ad_account_id == AdAccount.id)
                .where(PixelWatch.id.is_(None), *_eligible(feature))
            )
        )
        if not missing:
            return
        bind = self._s.get_bind()
        insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
        await self._s.execute(
            insert(PixelWatch)
            .values([{"ad_account_id": a, "due_at": now, "created_at": now} for a in missing])
            .on_conflict_do_nothing(index_elements=["ad_account_id"])
        )

    async def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, feature: str, limit: int
    ) -> list[ClaimedPixelWatch]:
        """Lease due watches of eligible accounts (a user with the feature off is never
        claimed: no call is made for them)."""
        free = or_(PixelWatch.lease_until.is_(None), PixelWatch.lease_until < now)
        pick = (
            select(PixelWatch.id, PixelWatch.lease_until)
            .join(AdAccount, AdAccount.id == PixelWatch.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .join(User, User.id == TikTokConnection.user_id)
            .where(PixelWatch.due_at <= now, free, *_eligible(feature))
            .order_by(PixelWatch.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=PixelWatch)
        )
        values = {"lease_owner": owner, "lease_until": lease_until}
        ids = await leases.claim_ids(self._s, PixelWatch, pick, free, values, "pixel_watches")
        if not ids:
            return []
        rows = await self._s.execute(
            select(PixelWatch, AdAccount, TikTokConnection)
            .join(AdAccount, AdAccount.id == PixelWatch.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(PixelWatch.id.in_(ids))
        )
        return [
            ClaimedPixelWatch(
                w.id,
                a.id,
                a.advertiser_id,
                a.name,
                a.time_zone or "UTC",
                a.currency,
                c.user_id,
                c.credential_id or 0,
            )
            for w, a, c in rows.tuples()
        ]

    async def release(
        self,
        watch_id: int,
        owner: str,
        due_at: datetime,
        *,
        ok_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Give a watch back, due again at `due_at`."""
        values: dict[str, object] = {
            "lease_owner": None,
            "lease_until": None,
            "due_at": due_at,
            "last_error": error[:300] if error else None,
        }
        if ok_at is not None:
            values["last_ok_at"] = ok_at
        await self._s.execute(
            update(PixelWatch)
            .where(PixelWatch.id == watch_id, PixelWatch.lease_owner == owner)
            .values(**values)
        )

    async def release_all(self, owner: str) -> None:
        """Give back every lease this worker holds (clean shutdown)."""
        await self._s.execute(
            update(PixelWatch)
            .where(PixelWatch.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    async def signals(self, account_id: int) -> dict[tuple[str, str], PixelSignal]:
        """An account's signals by (pixel id, event)."""
        rows = await self._s.scalars(
            select(PixelSignal).where(PixelSignal.ad_account_id == account_id)
        )
        return {(r.pixel_id, r.event): r for r in rows}

    def add(self, signal: PixelSignal) -> None:
        """Stage a new signal."""
        self._s.add(signal)

    async def drop(self, ids: Sequence[int]) -> None:
        """Forget signals of pixel events the account no longer has."""
        if ids:
            await self._s.execute(delete(PixelSignal).where(PixelSignal.id.in_(list(ids))))

    async def spend_since(
        self, account_id: int, adgroup_ids: Sequence[str], day: date, hour: int
    ) -> dict[str, Decimal]:
        """Synced spend per ad group from the account's local `day` and `hour` on."""
        if not adgroup_ids:
            return {}
        rows = await self._s.execute(
            select(MetricHourly.object_id, func.sum(MetricHourly.spend))
            .where(
                MetricHourly.ad_account_id == account_id,
                MetricHourly.level == "adgroup",
                MetricHourly.object_id.in_(list(adgroup_ids)),
                or_(
                    MetricHourly.day > day, and_(MetricHourly.day == day, MetricHourly.hour >= hour)
                ),
            )
            .group_by(MetricHourly.object_id)
        )
        # func.sum keeps the column's type: the sums come back as Decimal (Micros).
        return {oid: v or Decimal(0) for oid, v in rows.tuples()}

    async def spend_days(
        self, account_id: int, adgroup_ids: Sequence[str], first: date, last: date
    ) -> Decimal:
        """Synced spend of some ad groups over local days first..last."""
        if not adgroup_ids:
            return Decimal(0)
        rows = await self._s.scalars(
            select(MetricDaily.spend).where(
                MetricDaily.ad_account_id == account_id,
                MetricDaily.level == "adgroup",
                MetricDaily.object_id.in_(list(adgroup_ids)),
                MetricDaily.day >= first,
                MetricDaily.day <= last,
            )
        )
        return sum(rows, Decimal(0))

    async def campaign_names(self, account_id: int, campaign_ids: Sequence[str]) -> dict[str, str]:
        """Synced campaigns' names by id."""
        if not campaign_ids:
            return {}
        rows = await self._s.execute(
            select(AdObject.object_id, AdObject.name).where(
                AdObject.ad_account_id == account_id,
                AdObject.level == "campaign",
                AdObject.object_id.in_(list(campaign_ids)),
            )
        )
        return {oid: name for oid, name in rows.tuples()}
