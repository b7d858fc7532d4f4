"""Deciding on proposed actions, undoing applied ones, expiring approvals, and the midnight
re-enable of "pause for today".

Every decision is one conditional UPDATE of the action's state (storage.repos.rules
`transition`): only the owner's press that finds the action still open moves it, so a decision
is applied once however often it is pressed and from however many devices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from core.clock import Clock
from core.rules import execute
from core.rules.acting import ActionError, Change, Changer, State
from core.rules.engine import enqueue_alert
from core.tiktok import TikTokError
from storage.models import RuleAction
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
REENABLE_LEASE = timedelta(minutes=5)
# A decided change being applied (or undone) holds its row this long; a row still "applying" or
# "undoing" after that was cut short by a crash and is finished by `resume_stuck`.
IN_FLIGHT = timedelta(minutes=5)


class Outcome(StrEnum):
    """How a press ended."""

    APPLIED = "applied"
    FAILED = "failed"
    REJECTED = "rejected"
    UNDONE = "undone"
    EXPIRED = "expired"
    DECIDED = "decided"  # someone (another device) decided first, or it was undone already
    GONE = "gone"  # not this user's, deleted, or its account is no longer tracked


@dataclass(frozen=True)
class Result:
    """The outcome and the action as it now stands (None when gone)."""

    outcome: Outcome
    action: RuleAction | None
    error: str | None = None


async def _closed(uow: UnitOfWorkFactory, clock: Clock, user_id: int, action_id: int) -> Result:
    """Why a press found nothing to do."""
    async with uow() as u:
        row = await u.rules.action(user_id, action_id)
        if row is None:
            return Result(Outcome.GONE, None)
        if row.state == "proposed" and row.expires_at and row.expires_at <= clock.now():
            row = (
                await u.rules.transition(action_id, user_id, ["proposed"], "expired", clock.now())
                or row
            )
            await u.commit()
        return Result(Outcome.EXPIRED if row.state == "expired" else Outcome.DECIDED, row)


async def approve(
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer,
    user_id: int,
    action_id: int,
    value: Decimal | None = None,
) -> Result:
    """Approve a proposed action (optionally with the owner's own amount) and apply it."""
    now = clock.now()
    async with uow() as u:
        row = await u.rules.transition(
            action_id,
            user_id,
            ["proposed"],
            "applying",
            now,
            not_expired=True,
            decided_at=now,
            decided_by=user_id,
            lease_until=now + IN_FLIGHT,
        )
        if row is not None and value is not None:  # kept, so a resumed apply uses it too
            await u.rules.update_action(action_id, params={**row.params, "owner_value": str(value)})
        target = await execute.target_of(u, row) if row is not None else None
        if row is not None and target is None:
            await u.rules.update_action(action_id, state="failed", error=execute.NOT_TRACKED)
        await u.commit()
    if row is None:
        return await _closed(uow, clock, user_id, action_id)
    if target is None:
        return Result(Outcome.GONE, row)
    done = await execute.apply(uow, clock, changer, row, target, value)
    if done.state in ("failed", "proposed"):  # proposed again: the owner's amount was refused
        return Result(Outcome.FAILED, done, done.error)
    return Result(Outcome.APPLIED, done)


async def reject(uow: UnitOfWorkFactory, clock: Clock, user_id: int, action_id: int) -> Result:
    """Reject a proposed action: nothing is changed on TikTok."""
    now = clock.now()
    async with uow() as u:
        row = await u.rules.transition(
            action_id,
            user_id,
            ["proposed"],
            "rejected",
            now,
            not_expired=True,
            decided_at=now,
            decided_by=user_id,
        )
        await u.commit()
    if row is None:
        return await _closed(uow, clock, user_id, action_id)
    return Result(Outcome.REJECTED, row)


async def undo(
    uow: UnitOfWorkFactory, clock: Clock, changer: Changer, user_id: int, action_id: int
) -> Result:
    """Put back what an automated change changed, within 24 hours of it."""
    now = clock.now()
    async with uow() as u:
        row = await u.rules.transition(
            action_id,
            user_id,
            ["applied"],
            "undoing",
            now,
            undo_open=True,
            lease_until=now + IN_FLIGHT,
        )
        target = await execute.target_of(u, row) if row is not None else None
        if row is not None and target is None:
            await u.rules.update_action(action_id, state="applied")
        await u.commit()
    if row is None:
        async with uow() as u:
            found = await u.rules.action(user_id, action_id)
        if found is None:
            return Result(Outcome.GONE, None)
        late = found.state == "applied"  # still applied, so the 24 hours are over
        return Result(Outcome.EXPIRED if late else Outcome.DECIDED, found)
    if target is None:
        return Result(Outcome.GONE, row)
    done, error = await execute.revert(uow, clock, changer, row, target)
    if error is not None:
        return Result(Outcome.FAILED, done, error)
    return Result(Outcome.UNDONE, done)


async def pending(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> list[RuleAction]:
    """The user's rule actions waiting for a decision (the dashboard's approvals inbox)."""
    async with uow() as u:
        return await u.rules.pending_approvals(user_id, clock.now())


async def expire_due(uow: UnitOfWorkFactory, clock: Clock) -> int:
    """Close approvals nobody decided on in time; how many."""
    async with uow() as u:
        ids = await u.rules.expire_due(clock.now())
        await u.commit()
    return len(ids)


async def reenable_due(uow: UnitOfWorkFactory, clock: Clock, changer: Changer) -> int:
    """At each account's midnight, switch back on what "pause for today" switched off — only
    objects that are still off (someone may have switched one on, or off for good, since:
    an object already on is left as it is)."""
    now = clock.now()
    async with uow() as u:
        rows = await u.rules.claim_reenable(now, now + REENABLE_LEASE, 50)
        await u.commit()
    done = 0
    for row in rows:
        async with uow() as u:
            target = await execute.target_of(u, row)
        values: dict[str, object] = {"reenabled_at": clock.now(), "lease_until": None}
        back: tuple[State, State] | None = None
        try:
            if target is not None:
                state = await changer.read(target)
                if state.status == "DISABLE":
                    after = await changer.write(target, Change("status", "ENABLE"))
                    values["after"] = after.to_json()
                    back = (state, after)
                    done += 1
        except (TikTokError, ActionError) as exc:
            # Tried again once the lease runs out (e.g. after the user reconnects TikTok).
            error = getattr(exc, "message", None) or str(exc)
            log.info("rules.reenable_failed", extra={"action_id": row.id, "error": error})
            values = {"error": error[:300]}
        async with uow() as u:
            await u.rules.update_action(row.id, **values)
            if back is not None:  # the rule's own doing: no actor
                await execute.note_change(u, row, "object.changed", None, *back, clock.now())
                await enqueue_alert(
                    u,
                    row.user_id,
                    "rule_reenabled",
                    f"rule-reenabled:{row.id}",
                    {"action_id": row.id},
                    clock.now(),
                    urgent=False,
                )
            await u.commit()
    return done


async def resume_stuck(uow: UnitOfWorkFactory, clock: Clock, changer: Changer) -> int:
    """Finish approved changes and undos a crash cut short (their in-flight lease ran out), and
    tell the owner how they ended; how many."""
    now = clock.now()
    async with uow() as u:
        rows = await u.rules.claim_stuck(now, now + IN_FLIGHT, 50)
        await u.commit()
    for row in rows:
        async with uow() as u:
            target = await execute.target_of(u, row)
        if target is None:
            await execute.fail(uow, row.id, execute.NOT_TRACKED)
        elif row.state == "applying":
            await execute.apply(uow, clock, changer, row, target)
        else:
            await execute.revert(uow, clock, changer, row, target)
        log.info("rules.resumed", extra={"action_id": row.id, "state": row.state})
        async with uow() as u:
            await enqueue_alert(
                u,
                row.user_id,
                "rule_action",
                f"rule-resumed:{row.id}:{now.isoformat()}",
                {"action_id": row.id},
                clock.now(),
                urgent=True,
            )
            await u.commit()
    return len(rows)
