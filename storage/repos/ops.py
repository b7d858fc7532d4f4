"""Read-only counts an operator watches (scraped as metrics): each one indexed or small."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AdAccount, LaunchItem, OutboxMessage, SyncJob, TikTokConnection
from storage.models.base import UTCDateTime
from storage.repos.users import paused_ids


class OpsRepo:
    """Backlogs and lags, the same from any instance (they live in the shared database)."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def outbox_backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """Alerts waiting to be sent (neither sent, given up nor merged into another) and
        when the oldest of them was written."""
        row = (
            await self._s.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.merged_into.is_(None),
                )
            )
        ).one()
        return int(row[0] or 0), row[1]

    async def launch_items_by_state(self) -> dict[str, int]:
        """How many launch items are in each state."""
        rows = await self._s.execute(
            select(LaunchItem.state, func.count()).group_by(LaunchItem.state)
        )
        return {state: int(n) for state, n in rows}

    async def sync_lags(self, now: datetime) -> list[float]:
        """Seconds since each syncing ad account's last successful sync of today's numbers
        (tracked, on a live connection, not paused; never synced: since it was added)."""
        last = func.coalesce(
            func.max(SyncJob.last_ok_at), AdAccount.created_at, type_=UTCDateTime()
        )
        rows = await self._s.execute(
            select(last)
            .select_from(SyncJob)
            .join(AdAccount, AdAccount.id == SyncJob.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(
                SyncJob.kind == "today",
                AdAccount.tracked.is_(True),
                AdAccount.plan_paused_at.is_(None),
                TikTokConnection.status == "active",
                TikTokConnection.user_id.not_in(paused_ids()),
            )
            .group_by(AdAccount.id, AdAccount.created_at)
        )
        return [(now - when).total_seconds() for (when,) in rows if when is not None]
