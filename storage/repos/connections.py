"""TikTok connections and ad accounts repository. Every read by id is scoped to its owner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AdAccount, OAuthState, SyncJob, TikTokConnection

SYNC_KINDS = ("today", "window")

# Read by every stats screen: built once, run with bound values (storage/repos/stats.py says why).
_USER = bindparam("user")
_LIVE_ACCOUNTS = (
    select(AdAccount)
    .join(TikTokConnection, AdAccount.connection_id == TikTokConnection.id)
    .where(TikTokConnection.user_id == _USER, TikTokConnection.status != "disconnected")
    .order_by(AdAccount.name, AdAccount.id)
)
_TRACKED_ACCOUNTS = _LIVE_ACCOUNTS.where(AdAccount.tracked.is_(True))
_ACCOUNT = _LIVE_ACCOUNTS.where(AdAccount.id == bindparam("account"))


class ConnectionRepo:
    """Reads and writes connections, their ad accounts, OAuth states and sync jobs."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # OAuth states ---------------------------------------------------------------------------

    def add_state(
        self, nonce: str, user_id: int, expires_at: datetime, connection_id: int | None
    ) -> None:
        """Stage a consent attempt."""
        self._s.add(
            OAuthState(
                nonce=nonce, user_id=user_id, expires_at=expires_at, connection_id=connection_id
            )
        )

    async def get_state(self, nonce: str) -> OAuthState | None:
        """A consent attempt by nonce."""
        return await self._s.get(OAuthState, nonce)

    async def forget_states_before(self, cutoff: datetime) -> None:
        """Delete consent attempts that expired before `cutoff`."""
        await self._s.execute(delete(OAuthState).where(OAuthState.expires_at < cutoff))

    # Connections ----------------------------------------------------------------------------

    def add_connection(self, connection: TikTokConnection) -> None:
        """Stage a new connection."""
        self._s.add(connection)

    async def connections(self, user_id: int) -> list[TikTokConnection]:
        """The user's connections that are not disconnected, oldest first."""
        rows = await self._s.scalars(
            select(TikTokConnection)
            .where(TikTokConnection.user_id == user_id, TikTokConnection.status != "disconnected")
            .order_by(TikTokConnection.id)
        )
        return list(rows)

    async def claim_disconnect(self, connection_id: int) -> bool:
        """Mark the connection disconnected; True only for the one caller that changed it."""
        result = await self._s.execute(
            update(TikTokConnection)
            .where(TikTokConnection.id == connection_id,
                   TikTokConnection.status != "disconnected")
            .values(status="disconnected")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def connection(self, user_id: int, connection_id: int) -> TikTokConnection | None:
        """One of the user's connections (None if it is someone else's or gone)."""
        return await self._s.scalar(
            select(TikTokConnection).where(
                TikTokConnection.id == connection_id, TikTokConnection.user_id == user_id
            )
        )

    async def connection_with_advertisers(
        self, user_id: int, advertiser_ids: Sequence[str]
    ) -> TikTokConnection | None:
        """The user's live connection already holding any of these advertisers (same login)."""
        return await self._s.scalar(
            select(TikTokConnection)
            .join(AdAccount, AdAccount.connection_id == TikTokConnection.id)
            .where(
                TikTokConnection.user_id == user_id,
                TikTokConnection.status != "disconnected",
                AdAccount.advertiser_id.in_(list(advertiser_ids)),
            )
            .order_by(TikTokConnection.id)
            .limit(1)
        )

    async def awaiting_purge(self, user_id: int) -> list[TikTokConnection]:
        """The user's connections whose data is scheduled for deletion, soonest first."""
        rows = await self._s.scalars(
            select(TikTokConnection)
            .where(TikTokConnection.user_id == user_id, TikTokConnection.purge_after.is_not(None))
            .order_by(TikTokConnection.purge_after, TikTokConnection.id)
        )
        return list(rows)

    # Ad accounts ----------------------------------------------------------------------------

    async def accounts_of(self, connection_id: int) -> list[AdAccount]:
        """A connection's ad accounts by name."""
        rows = await self._s.scalars(
            select(AdAccount)
            .where(AdAccount.connection_id == connection_id)
            .order_by(AdAccount.name, AdAccount.id)
        )
        return list(rows)

    async def accounts(self, user_id: int, *, tracked_only: bool = False) -> list[AdAccount]:
        """The user's ad accounts on live connections."""
        query = _TRACKED_ACCOUNTS if tracked_only else _LIVE_ACCOUNTS
        return list(await self._s.scalars(query, {"user": user_id}))

    async def count_tracked(self, user_id: int) -> int:
        """The user's tracked ad accounts that still count against a plan: on a connection not
        disconnected, and not lost (a lost account is untracked and waits for its purge)."""
        return int(
            await self._s.scalar(
                select(func.count())
                .select_from(AdAccount)
                .join(TikTokConnection, AdAccount.connection_id == TikTokConnection.id)
                .where(
                    TikTokConnection.user_id == user_id,
                    TikTokConnection.status != "disconnected",
                    AdAccount.tracked.is_(True),
                    AdAccount.purge_after.is_(None),
                )
            )
            or 0
        )

    async def account(self, user_id: int, account_id: int) -> AdAccount | None:
        """One of the user's ad accounts (None if someone else's or gone)."""
        return await self._s.scalar(_ACCOUNT, {"user": user_id, "account": account_id})

    async def mark_lost(self, account_id: int, purge_after: datetime) -> bool:
        """Stop syncing an ad account the login no longer reaches and set its purge time; True
        only the first time (the clock is not pushed back by later failures)."""
        await self._s.execute(
            update(AdAccount).where(AdAccount.id == account_id)
            .values(tracked=False, status="NO_ACCESS")
            .execution_options(synchronize_session="fetch")
        )
        result = await self._s.execute(
            update(AdAccount)
            .where(AdAccount.id == account_id, AdAccount.purge_after.is_(None))
            .values(purge_after=purge_after)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def add_account(self, account: AdAccount) -> None:
        """Stage a new ad account."""
        self._s.add(account)

    # Sync jobs ------------------------------------------------------------------------------

    async def schedule_sync(self, account_ids: Sequence[int], due_at: datetime) -> None:
        """Make sure each account has its sync jobs, and make them due by `due_at`."""
        if not account_ids:
            return
        existing = set(
            await self._s.execute(
                select(SyncJob.ad_account_id, SyncJob.kind).where(
                    SyncJob.ad_account_id.in_(list(account_ids))
                )
            )
        )
        for account_id in account_ids:
            for kind in SYNC_KINDS:
                if (account_id, kind) not in existing:
                    self._s.add(SyncJob(ad_account_id=account_id, kind=kind, due_at=due_at))
        await self._s.execute(
            update(SyncJob)
            .where(SyncJob.ad_account_id.in_(list(account_ids)), SyncJob.due_at > due_at)
            .values(due_at=due_at)
        )
