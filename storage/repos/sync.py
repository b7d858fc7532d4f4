"""Sync work items (claimed with a lease), synced structure and metrics (bulk upserts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    MetricHourly,
    ObjectValue,
    RuleSum,
    SyncJob,
    TikTokConnection,
)
from storage.repos.users import paused_ids
from storage.rule_sums import refresh_statements, refreshes
from storage.upsert import upsert, upsert_columns

# Read by every stats screen: built once, run with bound values (storage/repos/stats.py says why).
_LAST_OK = select(SyncJob.ad_account_id, SyncJob.kind, SyncJob.last_ok_at).where(
    SyncJob.ad_account_id.in_(bindparam("ids", expanding=True)), SyncJob.last_ok_at.is_not(None)
)


@dataclass(frozen=True)
class ClaimedJob:
    """A sync job this worker holds until `lease_until`."""

    job_id: int
    kind: str
    account_id: int
    advertiser_id: str
    time_zone: str
    connection_id: int
    credential_id: int | None
    user_id: int
    attempts: int


_DAILY_KEYS = ("ad_account_id", "level", "object_id", "day")
_HOURLY_KEYS = (*_DAILY_KEYS, "hour")

# The values of synced objects whose history is kept (ObjectValue.field).
VALUE_FIELDS = ("bid", "budget")


# The advisory lock class of rule sums' rebuilds (PostgreSQL), with the account id as key.
_RULE_SUMS_LOCK = 11_0015


class SyncRepo:
    """Claims sync jobs and writes what a sync brought back."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def claim(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        account_id: int | None = None,
        kinds: Sequence[str] | None = None,
        force: bool = False,
        like: ClaimedJob | None = None,
    ) -> list[ClaimedJob]:
        """Lease due jobs of tracked accounts on active connections (SKIP LOCKED on
        PostgreSQL; the repeated lease condition keeps the claim atomic on both backends).
        `like`: only other accounts of that job's connection and time zone (one report can
        cover them, spec §7.1-7.2)."""
        free = or_(SyncJob.lease_until.is_(None), SyncJob.lease_until < now)
        pick = (
            select(SyncJob.id, SyncJob.lease_until)
            .join(AdAccount, AdAccount.id == SyncJob.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(free, AdAccount.tracked.is_(True), TikTokConnection.status == "active")
            .order_by(SyncJob.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=SyncJob)
        )
        if not force:
            # Scheduled syncs skip paused accounts; a sync the user asks for (force) still runs.
            pick = pick.where(SyncJob.due_at <= now, TikTokConnection.user_id.not_in(paused_ids()))
        if account_id is not None:
            pick = pick.where(SyncJob.ad_account_id == account_id)
        if kinds is not None:
            pick = pick.where(SyncJob.kind.in_(list(kinds)))
        if like is not None:
            pick = pick.where(
                TikTokConnection.id == like.connection_id,
                AdAccount.time_zone == like.time_zone,
                SyncJob.id != like.job_id,
            )
        values = {
            "lease_owner": owner,
            "lease_until": lease_until,
            "attempts": SyncJob.attempts + 1,
        }
        ids = await leases.claim_ids(self._s, SyncJob, pick, free, values, "sync")
        if not ids:
            return []
        rows = await self._s.execute(
            select(
                SyncJob.id,
                SyncJob.kind,
                SyncJob.attempts,
                AdAccount.id.label("account_id"),
                AdAccount.advertiser_id,
                AdAccount.time_zone,
                TikTokConnection.id.label("cid"),
                TikTokConnection.credential_id,
                TikTokConnection.user_id,
            )
            .join(AdAccount, AdAccount.id == SyncJob.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(SyncJob.id.in_(ids))
            .order_by(SyncJob.due_at)
        )
        return [
            ClaimedJob(
                r.id,
                r.kind,
                r.account_id,
                r.advertiser_id,
                r.time_zone,
                r.cid,
                r.credential_id,
                r.user_id,
                r.attempts,
            )
            for r in rows
        ]

    async def release(
        self,
        job_id: int,
        owner: str,
        *,
        due_at: datetime,
        ok: bool,
        now: datetime,
        error: str | None = None,
    ) -> None:
        """Give a job back with its next due time (only if this worker still holds it)."""
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_until": None,
            "due_at": due_at,
            "last_error": error[:300] if error else None,
            "last_error_at": now if error else None,
        }
        if ok:
            values.update(last_ok_at=now, attempts=0)
        await self._s.execute(
            update(SyncJob)
            .where(SyncJob.id == job_id, SyncJob.lease_owner == owner)
            .values(**values)
        )

    async def release_all(self, owner: str) -> None:
        """Give back every lease this worker holds (a clean shutdown), keeping due times."""
        await self._s.execute(
            update(SyncJob)
            .where(SyncJob.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    async def job(self, account_id: int, kind: str) -> SyncJob | None:
        """One account's job of a kind."""
        return await self._s.scalar(
            select(SyncJob).where(SyncJob.ad_account_id == account_id, SyncJob.kind == kind)
        )

    async def hourly_days(self, account_id: int, level: str, days: Sequence[date]) -> set[date]:
        """Which of `days` have at least one hourly row at `level` (any object, any hour)."""
        if not days:
            return set()
        found = await self._s.scalars(
            select(MetricHourly.day)
            .where(
                MetricHourly.ad_account_id == account_id,
                MetricHourly.level == level,
                MetricHourly.day.in_(list(days)),
            )
            .distinct()
        )
        return set(found)

    async def active_days(self, account_id: int, level: str, start: date, end: date) -> set[date]:
        """Days in [start, end] whose daily rows at `level` show any delivery."""
        found = await self._s.scalars(
            select(MetricDaily.day)
            .where(
                MetricDaily.ad_account_id == account_id,
                MetricDaily.level == level,
                MetricDaily.day >= start,
                MetricDaily.day <= end,
                or_(
                    MetricDaily.impressions > 0,
                    MetricDaily.clicks > 0,
                    MetricDaily.conversions > 0,
                    MetricDaily.spend > 0,
                ),
            )
            .distinct()
        )
        return set(found)

    async def ad_counts(self, account_ids: Sequence[int]) -> dict[int, int]:
        """How many ads (deleted ones too) each account's synced structure holds."""
        if not account_ids:
            return {}
        rows = await self._s.execute(
            select(AdObject.ad_account_id, func.count())
            .where(AdObject.ad_account_id.in_(list(account_ids)), AdObject.level == "ad")
            .group_by(AdObject.ad_account_id)
        )
        return {account_id: int(n) for account_id, n in rows.tuples()}

    async def upsert_objects(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert or update synced campaigns, ad groups and ads; an object changed from here
        after its listing began (changed_at later than the row's synced_at) keeps its row."""
        return await upsert(
            self._s, AdObject, rows, ("ad_account_id", "level", "object_id"),
            where=lambda excluded: or_(
                AdObject.changed_at.is_(None), AdObject.changed_at <= excluded.synced_at
            ),
        )

    async def record_values(
        self, account_id: int, level: str, rows: Sequence[dict[str, Any]], now: datetime
    ) -> int:
        """Add a history row (ObjectValue) for each bid or budget in `rows` (synced objects of
        one level) that differs from the last one recorded; returns how many were added."""
        last: dict[tuple[str, str], Any] = {}
        found = await self._s.execute(
            select(ObjectValue.object_id, ObjectValue.field, ObjectValue.value)
            .where(ObjectValue.ad_account_id == account_id, ObjectValue.level == level)
            .order_by(ObjectValue.valid_from, ObjectValue.id)
        )
        for oid, field, value in found:
            last[(oid, field)] = value
        new = []
        for row in rows:
            for field in VALUE_FIELDS:
                key, value = (row["object_id"], field), row.get(field)
                # A value never seen and still absent says nothing.
                if (last[key] != value) if key in last else value is not None:
                    new.append(
                        {
                            "ad_account_id": account_id,
                            "level": level,
                            "object_id": key[0],
                            "field": field,
                            "value": value,
                            "valid_from": now,
                        }
                    )
        if new:
            await self._s.execute(insert(ObjectValue), new)
        return len(new)

    async def set_object_values(
        self, account_id: int, level: str, object_id: str, values: dict[str, Any], now: datetime
    ) -> None:
        """Write what a change TikTok read back at `now` made to a synced object, so screens
        show it before the next sync does (values: operation_status, budget, bid)."""
        if values:
            await self._s.execute(
                update(AdObject)
                .where(
                    AdObject.ad_account_id == account_id,
                    AdObject.level == level,
                    AdObject.object_id == object_id,
                )
                .values(**values, changed_at=now)
            )

    async def upsert_daily(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert or update daily metric rows."""
        return await upsert(self._s, MetricDaily, rows, _DAILY_KEYS)

    async def refresh_rule_sums(
        self,
        account_id: int,
        today: date,
        level: str | None = None,
        object_ids: Sequence[str] | None = None,
    ) -> None:
        """Rebuild an account's rule sums (storage.rule_sums) as of its local day `today`: the
        listed objects of one level just written to metrics_daily (in the same transaction), or
        every object when the stored rows are for another day or `level` is None."""
        conn = await self._s.connection()
        if conn.dialect.name == "postgresql":
            # Two transactions writing one account's rows would each rebuild from a snapshot
            # without the other's uncommitted rows, and the later commit would lose the earlier
            # one's. The lock orders them: the rebuild's statements start (READ COMMITTED: a
            # new snapshot each) only once the other transaction has committed.
            await conn.execute(select(func.pg_advisory_xact_lock(_RULE_SUMS_LOCK, account_id)))
        if level is not None and object_ids is not None:
            # Only the written objects when every stored row is for `today`; none stored (a
            # new account, or rows written before the table) or another day: all of them.
            days = await conn.scalars(
                select(RuleSum.as_of).where(RuleSum.ad_account_id == account_id).distinct().limit(2)
            )
            if [_day(d) for d in days] == [today]:
                for stmt, params in refreshes(account_id, today, level, object_ids):
                    await conn.execute(stmt, params)
                return
        for stmt, params in refresh_statements(account_id, today):
            await conn.execute(stmt, params)

    async def upsert_hourly(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert or update hourly metric rows."""
        return await upsert(self._s, MetricHourly, rows, _HOURLY_KEYS)

    async def upsert_metric_columns(
        self, hourly: bool, columns: Mapping[str, Sequence[Any]], constants: Mapping[str, Any]
    ) -> int:
        """Insert or update daily (or hourly) metric rows given as columns plus shared values
        (the same rows as upsert_daily / upsert_hourly, stored the same)."""
        model, keys = (MetricHourly, _HOURLY_KEYS) if hourly else (MetricDaily, _DAILY_KEYS)
        return await upsert_columns(self._s, model, columns, keys, constants)

    async def last_ok(self, account_ids: Sequence[int]) -> dict[int, dict[str, datetime]]:
        """When each kind of sync job last succeeded, per account (kinds never done are absent)."""
        if not account_ids:
            return {}
        rows = await self._s.execute(_LAST_OK, {"ids": list(account_ids)})
        out: dict[int, dict[str, datetime]] = {}
        for account_id, kind, at in rows.tuples():
            out.setdefault(account_id, {})[kind] = at
        return out

    async def update_freshness(self, account_id: int) -> None:
        """Set "data as of" to the last good intraday pull, once the back window has been
        pulled too (before that, yesterday and earlier would still be missing)."""
        ok = dict(
            (
                await self._s.execute(
                    select(SyncJob.kind, SyncJob.last_ok_at).where(
                        SyncJob.ad_account_id == account_id
                    )
                )
            )
            .tuples()
            .all()
        )
        fresh = ok.get("today") if ok.get("window") is not None else None
        if fresh is not None:
            await self._s.execute(
                update(AdAccount).where(AdAccount.id == account_id).values(fresh_as_of=fresh)
            )

    async def mark_broken(self, connection_id: int, reason: str, at: datetime) -> bool:
        """Mark a connection broken; True only the first time (so the alert goes once)."""
        result = await self._s.execute(
            update(TikTokConnection)
            .where(TikTokConnection.id == connection_id, TikTokConnection.status == "active")
            .values(status="broken", broken_reason=reason[:300], broken_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_no_access(self, account_id: int) -> None:
        """The token no longer reaches this advertiser: stop syncing it, keep its history."""
        await self._s.execute(
            update(AdAccount)
            .where(AdAccount.id == account_id)
            .values(tracked=False, status="NO_ACCESS")
        )


def _day(value: Any) -> date:
    """A DATE as read on the Core connection (SQLite may hand back its ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
