"""Rules repository: rules, their runs and actions (what rules read: rule_reads.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.models import (
    Rule,
    RuleAction,
    RuleRun,
)
from storage.repos.rule_reads import RuleReads
from storage.repos.users import paused_ids

# Actions that count against a rule's per-object frequency limit. A rejected or unanswered
# approval counts too: the owner has been asked, and asking again every run would nag. A failed
# change does not: the next run may succeed.
COUNTED = ("proposed", "applying", "applied", "alerted", "undone", "rejected", "expired")


class RulesRepo(RuleReads):
    """Reads and writes rules, runs and actions; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # Rules ----------------------------------------------------------------------------------

    def add(self, rule: Rule) -> None:
        """Stage a new rule."""
        self._s.add(rule)

    async def get(self, user_id: int, rule_id: int) -> Rule | None:
        """One of the user's rules (None if someone else's or gone)."""
        return await self._s.scalar(select(Rule).where(Rule.id == rule_id, Rule.user_id == user_id))

    async def of_user(self, user_id: int, limit: int = 1000, offset: int = 0) -> list[Rule]:
        """The user's rules, oldest first."""
        return list(
            await self._s.scalars(
                select(Rule)
                .where(Rule.user_id == user_id)
                .order_by(Rule.id)
                .limit(limit)
                .offset(offset)
            )
        )

    async def count(self, user_id: int) -> int:
        """How many rules the user has."""
        return int(
            await self._s.scalar(
                select(func.count()).select_from(Rule).where(Rule.user_id == user_id)
            )
            or 0
        )

    async def count_enabled(self, user_id: int) -> int:
        """How many of the user's rules are switched on."""
        return int(
            await self._s.scalar(
                select(func.count())
                .select_from(Rule)
                .where(Rule.user_id == user_id, Rule.enabled.is_(True))
            )
            or 0
        )

    async def remove(self, user_id: int, rule_id: int) -> bool:
        """Delete one of the user's rules; its logged actions stay (rule_id set to NULL)."""
        result = await self._s.execute(
            delete(Rule).where(Rule.id == rule_id, Rule.user_id == user_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_due(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Rule]:
        """Lease enabled rules that are due (SKIP LOCKED on PostgreSQL; the repeated lease
        condition keeps the claim atomic on SQLite too), so no rule runs twice at once."""
        free = or_(Rule.lease_until.is_(None), Rule.lease_until < now)
        pick = (
            select(Rule.id, Rule.lease_until)
            # A paused account's rules wait (still due: they run on the first tick after resume).
            .where(
                Rule.enabled.is_(True),
                Rule.due_at <= now,
                free,
                Rule.user_id.not_in(paused_ids()),
            )
            .order_by(Rule.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        values = {"lease_owner": owner, "lease_until": lease_until}
        ids = await leases.claim_ids(self._s, Rule, pick, free, values, "rules")
        if not ids:
            return []
        return list(
            await self._s.scalars(select(Rule).where(Rule.id.in_(ids)).order_by(Rule.due_at))
        )

    async def claim_one(
        self, user_id: int, rule_id: int, owner: str, now: datetime, lease_until: datetime
    ) -> Rule | None:
        """Lease one of the user's rules, on or off, if no run holds it ("Run now"): the same
        lease `claim_due` takes, so a scheduled run and this one never overlap."""
        free = or_(Rule.lease_until.is_(None), Rule.lease_until < now)
        done = await self._s.scalar(
            update(Rule)
            .where(Rule.id == rule_id, Rule.user_id == user_id, free)
            .values(lease_owner=owner, lease_until=lease_until)
            .returning(Rule.id)
        )
        if done is None:
            return None
        return await self._s.get(Rule, rule_id, populate_existing=True)

    async def renew(self, rule_ids: Sequence[int], owner: str, lease_until: datetime) -> set[int]:
        """Extend this worker's leases on these rules; the ids it still holds (not those another
        worker took over)."""
        if not rule_ids:
            return set()
        return set(
            await self._s.scalars(
                update(Rule)
                .where(Rule.id.in_(list(rule_ids)), Rule.lease_owner == owner)
                .values(lease_until=lease_until)
                .returning(Rule.id)
                .execution_options(synchronize_session=False)
            )
        )

    async def release(
        self,
        rule_id: int,
        owner: str,
        *,
        due_at: datetime,
        ran_at: datetime | None,
        stale_since: dict[str, str] | None = None,
    ) -> None:
        """Give a rule back with its next due time (only if this worker still holds it); a
        finished run (`ran_at`) also records its stale spells."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "due_at": due_at}
        if ran_at is not None:
            values["last_run_at"] = ran_at
            values["stale_since"] = stale_since
        await self._s.execute(
            update(Rule).where(Rule.id == rule_id, Rule.lease_owner == owner).values(**values)
        )

    async def release_all(self, owner: str) -> None:
        """Give back every rule lease this worker holds (a clean shutdown)."""
        await self._s.execute(
            update(Rule).where(Rule.lease_owner == owner).values(lease_owner=None, lease_until=None)
        )

    # Runs -----------------------------------------------------------------------------------

    async def run_for(self, rule_id: int, slot: datetime, now: datetime) -> RuleRun:
        """The run serving `slot` (a retried run finds the one it started)."""
        run = await self._s.scalar(
            select(RuleRun).where(RuleRun.rule_id == rule_id, RuleRun.slot == slot)
        )
        if run is None:
            run = RuleRun(rule_id=rule_id, slot=slot, started_at=now, status="running")
            self._s.add(run)
            await self._s.flush()
        return run

    async def run_at(self, rule_id: int, slot: datetime) -> RuleRun | None:
        """The run that served `slot`, if any."""
        return await self._s.scalar(
            select(RuleRun).where(RuleRun.rule_id == rule_id, RuleRun.slot == slot)
        )

    async def runs(self, rule_id: int, limit: int, offset: int = 0) -> list[RuleRun]:
        """A rule's runs, newest first."""
        return list(
            await self._s.scalars(
                select(RuleRun)
                .where(RuleRun.rule_id == rule_id)
                .order_by(RuleRun.slot.desc())
                .limit(limit)
                .offset(offset)
            )
        )

    async def run_count(self, rule_id: int) -> int:
        """How many runs a rule has logged."""
        return int(
            await self._s.scalar(
                select(func.count()).select_from(RuleRun).where(RuleRun.rule_id == rule_id)
            )
            or 0
        )

    async def run(self, user_id: int, run_id: int) -> RuleRun | None:
        """One run of one of the user's rules."""
        return await self._s.scalar(
            select(RuleRun)
            .join(Rule, Rule.id == RuleRun.rule_id)
            .where(RuleRun.id == run_id, Rule.user_id == user_id)
        )

    # Actions --------------------------------------------------------------------------------

    async def action_by_key(self, key: str) -> RuleAction | None:
        """The action a run recorded under `key`, if any."""
        return await self._s.scalar(select(RuleAction).where(RuleAction.key == key))

    def add_action(self, action: RuleAction) -> None:
        """Stage a new action."""
        self._s.add(action)

    async def action(self, user_id: int, action_id: int) -> RuleAction | None:
        """One of the user's actions (None if someone else's or gone)."""
        return await self._s.scalar(
            select(RuleAction).where(RuleAction.id == action_id, RuleAction.user_id == user_id)
        )

    async def batch(self, user_id: int, action_id: int) -> list[RuleAction]:
        """The user's action and those made with it in one press (manual changes' keys
        `manual:<batch>:<n>` share the batch part); empty if someone else's or gone."""
        first = await self.action(user_id, action_id)
        if first is None or not first.key.startswith("manual:"):
            return [first] if first is not None else []
        prefix = first.key.rsplit(":", 1)[0] + ":"
        return list(
            await self._s.scalars(
                select(RuleAction)
                .where(RuleAction.user_id == user_id, RuleAction.key.startswith(prefix))
                .order_by(RuleAction.id)
            )
        )

    async def pending_approvals(self, user_id: int, now: datetime) -> list[RuleAction]:
        """The user's rule actions waiting for Approve / Reject (not manual changes, which wait
        for their own Confirm), newest first."""
        return list(
            await self._s.scalars(
                select(RuleAction)
                .where(
                    RuleAction.user_id == user_id,
                    RuleAction.state == "proposed",
                    RuleAction.rule_id.is_not(None),
                    RuleAction.expires_at > now,
                )
                .order_by(RuleAction.id.desc())
                .limit(200)
            )
        )

    async def actions_of_run(self, run_id: int) -> list[RuleAction]:
        """A run's actions in the order they were taken."""
        return list(
            await self._s.scalars(
                select(RuleAction).where(RuleAction.run_id == run_id).order_by(RuleAction.id)
            )
        )

    async def action_counts(
        self, rule_id: int, since: datetime | None
    ) -> dict[tuple[int, str], int]:
        """Per (account, object), the actions this rule took or proposed since `since`."""
        query = (
            select(RuleAction.ad_account_id, RuleAction.object_id, func.count())
            .where(RuleAction.rule_id == rule_id, RuleAction.state.in_(COUNTED))
            .group_by(RuleAction.ad_account_id, RuleAction.object_id)
        )
        if since is not None:
            # Strictly after: an action exactly `hours` ago has served its time.
            query = query.where(RuleAction.created_at > since)
        return {(a, o): int(n) for a, o, n in await self._s.execute(query)}

    async def transition(
        self,
        action_id: int,
        user_id: int | None,
        from_states: Sequence[str],
        to_state: str,
        now: datetime,
        *,
        not_expired: bool = False,
        undo_open: bool = False,
        **values: Any,
    ) -> RuleAction | None:
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
        done = await self._s.scalar(
            update(RuleAction)
            .where(*where)
            .values(state=to_state, **values)
            .returning(RuleAction.id)
        )
        if done is None:
            return None
        return await self._s.get(RuleAction, action_id, populate_existing=True)

    async def expire_due(self, now: datetime) -> list[int]:
        """Mark approvals past their expiry as expired; their ids."""
        return list(
            await self._s.scalars(
                update(RuleAction)
                .where(RuleAction.state == "proposed", RuleAction.expires_at <= now)
                .values(state="expired")
                .returning(RuleAction.id)
            )
        )

    async def claim_reenable(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[RuleAction]:
        """Lease "pause for today" actions whose account's midnight has come."""
        free = or_(RuleAction.lease_until.is_(None), RuleAction.lease_until < now)
        due = (
            RuleAction.state == "applied",
            RuleAction.reenable_at <= now,
            RuleAction.reenabled_at.is_(None),
            free,
            # Nothing automatic touches a paused account's ads: the switch-back waits for resume.
            RuleAction.user_id.not_in(paused_ids()),
        )
        return await self._claim(due, RuleAction.reenable_at, free, lease_until, limit)

    async def claim_stuck(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[RuleAction]:
        """Lease decided changes and undos whose in-flight hold ran out (a crash cut them short;
        the engine's own rows hold none: a re-run of their slot finishes them)."""
        free = RuleAction.lease_until < now
        due = (RuleAction.state.in_(("applying", "undoing")), free)
        return await self._claim(due, RuleAction.id, free, lease_until, limit)

    async def _claim(
        self,
        due: Sequence[ColumnElement[bool]],
        order: Any,
        free: ColumnElement[bool],
        lease_until: datetime,
        limit: int,
    ) -> list[RuleAction]:
        pick = (
            select(RuleAction.id)
            .where(*due)
            .order_by(order)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(
            await self._s.scalars(
                update(RuleAction)
                .where(RuleAction.id.in_(pick.scalar_subquery()), free)
                .values(lease_until=lease_until)
                .returning(RuleAction.id)
            )
        )
        if not ids:
            return []
        return list(await self._s.scalars(select(RuleAction).where(RuleAction.id.in_(ids))))

    async def drop_switch_backs(
        self, account_id: int, level: str, object_id: str, keep_id: int
    ) -> list[list[Any]]:
        """Cancel the object's pending "pause for today" switch-backs but `keep_id`'s: a later
        change of its status decides it now. Returns each cancelled one's [id, when it was due]
        (ISO), for an undo to put back."""
        pending = (
            RuleAction.ad_account_id == account_id,
            RuleAction.level == level,
            RuleAction.object_id == object_id,
            RuleAction.id != keep_id,
            RuleAction.reenable_at.is_not(None),
            RuleAction.reenabled_at.is_(None),
        )
        rows = (await self._s.execute(
            select(RuleAction.id, RuleAction.reenable_at).where(*pending)
        )).all()
        if rows:
            await self._s.execute(update(RuleAction).where(*pending).values(reenable_at=None))
        return [[action_id, due.isoformat()] for action_id, due in rows]

    async def restore_switch_backs(self, dropped: Sequence[Sequence[Any]]) -> None:
        """Put back switch-backs `drop_switch_backs` cancelled (an undo of what cancelled them),
        on actions still applied and not switched back yet; one already due runs at once."""
        for action_id, due in dropped:
            await self._s.execute(
                update(RuleAction)
                .where(
                    RuleAction.id == action_id,
                    RuleAction.state == "applied",
                    RuleAction.reenabled_at.is_(None),
                )
                .values(reenable_at=datetime.fromisoformat(due))
            )

    async def update_action(self, action_id: int, **values: Any) -> None:
        """Write fields of one action."""
        await self._s.execute(update(RuleAction).where(RuleAction.id == action_id).values(**values))
