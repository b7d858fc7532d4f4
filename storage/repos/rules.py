"""Rules repository: rules, their runs and actions, and the aggregate sums rules read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    MetricHourly,
    Rule,
    RuleAction,
    RuleRun,
    TikTokConnection,
)
from storage.repos.stats import Sums

_SUMMED = ("spend", "impressions", "clicks", "conversions", "purchase_value")
# Actions that count against a rule's per-object frequency limit.
COUNTED = ("proposed", "applying", "applied", "alerted", "undone")


@dataclass(frozen=True)
class DayRange:
    """Local days `start`..`end` (start None: from the beginning)."""

    start: date | None
    end: date


@dataclass(frozen=True)
class ScopeAccount:
    """An ad account a rule may read and act on, with what acting needs."""

    account: AdAccount
    credential_id: int | None
    connection_status: str


class RulesRepo:
    """Reads and writes rules, runs and actions; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # Rules ----------------------------------------------------------------------------------

    def add(self, rule: Rule) -> None:
        """Stage a new rule."""
        self._s.add(rule)

    async def get(self, user_id: int, rule_id: int) -> Rule | None:
        """One of the user's rules (None if someone else's or gone)."""
        return await self._s.scalar(
            select(Rule).where(Rule.id == rule_id, Rule.user_id == user_id)
        )

    async def of_user(self, user_id: int, limit: int = 1000, offset: int = 0) -> list[Rule]:
        """The user's rules, oldest first."""
        return list(await self._s.scalars(
            select(Rule).where(Rule.user_id == user_id).order_by(Rule.id)
            .limit(limit).offset(offset)))

    async def count(self, user_id: int) -> int:
        """How many rules the user has."""
        return int(await self._s.scalar(
            select(func.count()).select_from(Rule).where(Rule.user_id == user_id)) or 0)

    async def remove(self, user_id: int, rule_id: int) -> bool:
        """Delete one of the user's rules; its logged actions stay (rule_id set to NULL)."""
        result = await self._s.execute(
            delete(Rule).where(Rule.id == rule_id, Rule.user_id == user_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_due(self, owner: str, now: datetime, lease_until: datetime,
                        limit: int) -> list[Rule]:
        """Lease enabled rules that are due (SKIP LOCKED on PostgreSQL; the repeated lease
        condition keeps the claim atomic on SQLite too), so no rule runs twice at once."""
        free = or_(Rule.lease_until.is_(None), Rule.lease_until < now)
        pick = (select(Rule.id)
                .where(Rule.enabled.is_(True), Rule.due_at <= now, free)
                .order_by(Rule.due_at).limit(limit)
                .with_for_update(skip_locked=True))
        ids = list(await self._s.scalars(
            update(Rule).where(Rule.id.in_(pick.scalar_subquery()), free)
            .values(lease_owner=owner, lease_until=lease_until).returning(Rule.id)))
        if not ids:
            return []
        return list(await self._s.scalars(select(Rule).where(Rule.id.in_(ids))
                                          .order_by(Rule.due_at)))

    async def release(self, rule_id: int, owner: str, *, due_at: datetime,
                      ran_at: datetime | None) -> None:
        """Give a rule back with its next due time (only if this worker still holds it)."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "due_at": due_at}
        if ran_at is not None:
            values["last_run_at"] = ran_at
        await self._s.execute(update(Rule).where(Rule.id == rule_id, Rule.lease_owner == owner)
                              .values(**values))

    async def release_all(self, owner: str) -> None:
        """Give back every rule lease this worker holds (a clean shutdown)."""
        await self._s.execute(update(Rule).where(Rule.lease_owner == owner)
                              .values(lease_owner=None, lease_until=None))

    # What rules read --------------------------------------------------------------------------

    async def scope_accounts(self, user_id: int,
                             account_ids: Sequence[int] | None) -> list[ScopeAccount]:
        """The user's tracked ad accounts on live connections (all, or those listed)."""
        query = (select(AdAccount, TikTokConnection.credential_id, TikTokConnection.status)
                 .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
                 .where(TikTokConnection.user_id == user_id,
                        TikTokConnection.status != "disconnected",
                        AdAccount.tracked.is_(True))
                 .order_by(AdAccount.id))
        if account_ids is not None:
            query = query.where(AdAccount.id.in_(list(account_ids)))
        return [ScopeAccount(a, c, s) for a, c, s in await self._s.execute(query)]

    async def objects(self, account_ids: Sequence[int]) -> list[AdObject]:
        """Every synced object (all levels) of these accounts, deleted ones excluded."""
        return list(await self._s.scalars(
            select(AdObject).where(AdObject.ad_account_id.in_(list(account_ids)),
                                   or_(AdObject.operation_status.is_(None),
                                       AdObject.operation_status != "DELETE"))))

    async def window_sums(
        self, account_id: int, level: str, days: dict[str, DayRange],
        hours: dict[str, tuple[date, int]],
    ) -> dict[str, dict[str, Sums]]:
        """Per object, the sums of each named window: one aggregate query over daily rows for
        all day windows (a conditional SUM per window) and one over hourly rows."""
        out: dict[str, dict[str, Sums]] = {}
        if days:
            first = None if any(r.start is None for r in days.values()) else min(
                r.start for r in days.values() if r.start is not None)
            last = max(r.end for r in days.values())
            cols: list[ColumnElement[Any]] = []
            for rng in days.values():
                inside = MetricDaily.day <= rng.end
                if rng.start is not None:
                    inside = and_(MetricDaily.day >= rng.start, inside)
                cols += [func.sum(case((inside, getattr(MetricDaily, m)), else_=0))
                         for m in _SUMMED]
            query = (select(MetricDaily.object_id, *cols)
                     .where(MetricDaily.ad_account_id == account_id, MetricDaily.level == level,
                            MetricDaily.day <= last)
                     .group_by(MetricDaily.object_id))
            if first is not None:
                query = query.where(MetricDaily.day >= first)
            keys = list(days)
            for row in await self._s.execute(query):
                slot = out.setdefault(row[0], {})
                for i, key in enumerate(keys):
                    slot[key] = _sums(row[1 + 5 * i: 6 + 5 * i])
        for key, (day, hour) in hours.items():
            query = (select(MetricHourly.object_id,
                            *(func.sum(getattr(MetricHourly, m)) for m in _SUMMED))
                     .where(MetricHourly.ad_account_id == account_id,
                            MetricHourly.level == level, MetricHourly.day == day,
                            MetricHourly.hour == hour)
                     .group_by(MetricHourly.object_id))
            for row in await self._s.execute(query):
                out.setdefault(row[0], {})[key] = _sums(row[1:])
        return out

    async def hourly_rows(self, account_id: int, level: str, object_ids: Sequence[str],
                          start: date, end: date) -> list[Any]:
        """Hourly rows of some objects over local days `start`..`end` (backtests)."""
        return list(await self._s.execute(
            select(MetricHourly.object_id, MetricHourly.day, MetricHourly.hour,
                   *(getattr(MetricHourly, m) for m in _SUMMED))
            .where(MetricHourly.ad_account_id == account_id, MetricHourly.level == level,
                   MetricHourly.object_id.in_(list(object_ids)),
                   MetricHourly.day >= start, MetricHourly.day <= end)
            .order_by(MetricHourly.day, MetricHourly.hour)))

    async def daily_rows(self, account_id: int, level: str, object_ids: Sequence[str],
                         start: date, end: date) -> list[Any]:
        """Daily rows of some objects over local days `start`..`end` (backtests)."""
        return list(await self._s.execute(
            select(MetricDaily.object_id, MetricDaily.day,
                   *(getattr(MetricDaily, m) for m in _SUMMED))
            .where(MetricDaily.ad_account_id == account_id, MetricDaily.level == level,
                   MetricDaily.object_id.in_(list(object_ids)),
                   MetricDaily.day >= start, MetricDaily.day <= end)
            .order_by(MetricDaily.day)))

    # Runs -----------------------------------------------------------------------------------

    async def run_for(self, rule_id: int, slot: datetime, now: datetime) -> RuleRun:
        """The run serving `slot` (a retried run finds the one it started)."""
        run = await self._s.scalar(
            select(RuleRun).where(RuleRun.rule_id == rule_id, RuleRun.slot == slot))
        if run is None:
            run = RuleRun(rule_id=rule_id, slot=slot, started_at=now, status="running")
            self._s.add(run)
            await self._s.flush()
        return run

    async def runs(self, rule_id: int, limit: int, offset: int = 0) -> list[RuleRun]:
        """A rule's runs, newest first."""
        return list(await self._s.scalars(
            select(RuleRun).where(RuleRun.rule_id == rule_id)
            .order_by(RuleRun.slot.desc()).limit(limit).offset(offset)))

    async def run_count(self, rule_id: int) -> int:
        """How many runs a rule has logged."""
        return int(await self._s.scalar(
            select(func.count()).select_from(RuleRun).where(RuleRun.rule_id == rule_id)) or 0)

    async def run(self, user_id: int, run_id: int) -> RuleRun | None:
        """One run of one of the user's rules."""
        return await self._s.scalar(
            select(RuleRun).join(Rule, Rule.id == RuleRun.rule_id)
            .where(RuleRun.id == run_id, Rule.user_id == user_id))

    # Actions --------------------------------------------------------------------------------

    async def action_by_key(self, key: str) -> RuleAction | None:
        """The action a run recorded under `key`, if any."""
        return await self._s.scalar(select(RuleAction).where(RuleAction.key == key))

    def add_action(self, action: RuleAction) -> None:
        """Stage a new action."""
        self._s.add(action)

    async def action(self, user_id: int, action_id: int) -> RuleAction | None:
        """One of the user's actions (None if someone else's or gone)."""
        return await self._s.scalar(select(RuleAction).where(
            RuleAction.id == action_id, RuleAction.user_id == user_id))

    async def actions_of_run(self, run_id: int) -> list[RuleAction]:
        """A run's actions in the order they were taken."""
        return list(await self._s.scalars(
            select(RuleAction).where(RuleAction.run_id == run_id).order_by(RuleAction.id)))

    async def action_counts(self, rule_id: int,
                            since: datetime | None) -> dict[tuple[int, str], int]:
        """Per (account, object), the actions this rule took or proposed since `since`."""
        query = (select(RuleAction.ad_account_id, RuleAction.object_id, func.count())
                 .where(RuleAction.rule_id == rule_id, RuleAction.state.in_(COUNTED))
                 .group_by(RuleAction.ad_account_id, RuleAction.object_id))
        if since is not None:
            # Strictly after: an action exactly `hours` ago has served its time.
            query = query.where(RuleAction.created_at > since)
        return {(a, o): int(n) for a, o, n in await self._s.execute(query)}

    async def transition(self, action_id: int, user_id: int | None, from_states: Sequence[str],
                         to_state: str, now: datetime, *, not_expired: bool = False,
                         undo_open: bool = False, **values: Any) -> RuleAction | None:
        """Move one action between states if (and only if) it is still in `from_states`:
        the single conditional UPDATE makes a decision count once, however often it is
        pressed and from however many devices."""
        where = [RuleAction.id == action_id, RuleAction.state.in_(list(from_states))]
        if user_id is not None:
            where.append(RuleAction.user_id == user_id)
        if not_expired:
            where.append(RuleAction.expires_at > now)
        if undo_open:
            where.append(RuleAction.undo_until > now)
        done = await self._s.scalar(update(RuleAction).where(*where)
                                    .values(state=to_state, **values)
                                    .returning(RuleAction.id))
        if done is None:
            return None
        return await self._s.get(RuleAction, action_id, populate_existing=True)

    async def expire_due(self, now: datetime) -> list[int]:
        """Mark approvals past their expiry as expired; their ids."""
        return list(await self._s.scalars(
            update(RuleAction).where(RuleAction.state == "proposed", RuleAction.expires_at <= now)
            .values(state="expired").returning(RuleAction.id)))

    async def claim_reenable(self, now: datetime, lease_until: datetime,
                             limit: int) -> list[RuleAction]:
        """Lease "pause for today" actions whose account's midnight has come."""
        free = or_(RuleAction.lease_until.is_(None), RuleAction.lease_until < now)
        pick = (select(RuleAction.id)
                .where(RuleAction.state == "applied", RuleAction.reenable_at <= now,
                       RuleAction.reenabled_at.is_(None), free)
                .order_by(RuleAction.reenable_at).limit(limit)
                .with_for_update(skip_locked=True))
        ids = list(await self._s.scalars(
            update(RuleAction).where(RuleAction.id.in_(pick.scalar_subquery()), free)
            .values(lease_until=lease_until).returning(RuleAction.id)))
        if not ids:
            return []
        return list(await self._s.scalars(select(RuleAction).where(RuleAction.id.in_(ids))))

    async def update_action(self, action_id: int, **values: Any) -> None:
        """Write fields of one action."""
        await self._s.execute(update(RuleAction).where(RuleAction.id == action_id)
                              .values(**values))

    # Backtests ------------------------------------------------------------------------------

    async def micros_rows(self, account_id: int, level: str, start: date, end: date,
                          hourly: bool) -> list[tuple[Any, ...]]:
        """All objects' hourly (object, day, hour, ...) or daily (object, day, ...) rows of one
        account level over local days `start`..`end`, money as integer micros: exact, and a
        backtest reading a month of hours makes no Decimal per row it never looks at."""
        from sqlalchemy import BigInteger, type_coerce

        model = MetricHourly if hourly else MetricDaily
        keys = [model.object_id, model.day, *([MetricHourly.hour] if hourly else [])]
        values = [type_coerce(getattr(model, m), BigInteger) if m in ("spend", "purchase_value")
                  else getattr(model, m) for m in _SUMMED]
        return [tuple(r) for r in await self._s.execute(
            select(*keys, *values)
            .where(model.ad_account_id == account_id, model.level == level,
                   model.day >= start, model.day <= end))]


def _sums(values: Sequence[Any]) -> Sums:
    spend, impressions, clicks, conversions, value = (v or 0 for v in values)
    return Sums(Decimal(spend), int(impressions), int(clicks), int(conversions), Decimal(value))
