"""Carrying out one recorded action on TikTok: read, change, verify, record before and after.

The row is the source of truth. `before` is read from TikTok and committed before anything is
changed; the target is computed from that `before`, so a retry after a crash (or a second
worker) computes the same target, and a change TikTok already holds is recorded, not repeated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from core.clock import Clock
from core.rules.acting import (
    ActionError,
    Changer,
    State,
    Target,
    change_for,
    next_midnight,
    undo_change,
)
from core.rules.model import Action, ActionKind
from core.tiktok import TikTokError
from storage.models import RuleAction
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
UNDO_FOR = timedelta(hours=24)

NOT_TRACKED = "not_tracked"  # the action's ad account is gone or no longer tracked (REASONS)
CHANGED_SINCE = "changed_since"  # undo found a newer value than the action left (REASONS)
CHANGED_SINCE_ASKED = "changed_since_asked"  # approved, but the value moved since it asked


def action_of(row: RuleAction) -> Action:
    """The rule action a row was created from (kept on the row: the rule may change later)."""
    p = row.params or {}

    def dec(name: str) -> Decimal | None:
        return Decimal(p[name]) if p.get(name) is not None else None

    return Action(ActionKind(row.kind), p.get("mode"), dec("value"), dec("floor"), dec("ceiling"))


async def target_of(u: UnitOfWork, row: RuleAction) -> Target | None:
    """Where a recorded action points (None: the account is gone or no longer tracked)."""
    found = await u.rules.scope_accounts(row.user_id, [row.ad_account_id])
    if not found:
        return None
    a = found[0].account
    return Target(
        a.id,
        a.advertiser_id,
        found[0].credential_id,
        a.currency,
        a.time_zone,
        row.level,
        row.object_id,
    )


def _message(exc: Exception) -> str:
    if isinstance(exc, ActionError):
        return exc.message
    return str(getattr(exc, "message", None) or exc)[:300]


async def apply(
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer,
    row: RuleAction,
    target: Target,
    value: Decimal | None = None,
) -> RuleAction:
    """Apply a row in state "applying"; it ends "applied" (with before/after) or "failed".
    `value`: the owner's own amount (Edit value), else the one kept on the row, else computed."""
    action = action_of(row)
    if value is None and (row.params or {}).get("owner_value") is not None:
        value = Decimal(row.params["owner_value"])
    try:
        before = State.from_json(row.before) if row.before else None
        if before is None:
            before = await changer.read(target)
            async with uow() as u:
                await u.rules.update_action(row.id, before=before.to_json())
                await u.commit()
        change = change_for(action, before, value)
        # An approval is of the change its alert showed ("$100 → $120"): a value moved since
        # (by hand, or another rule's approved raise) would make it another change nobody saw
        # (+20% again: $144), so it is refused. The owner's own amount is what they typed.
        shown = (row.trigger or {}).get("expected")
        asked = value is None and row.decided_by is not None and shown and change is not None
        if asked and getattr(before, shown["field"]) != Decimal(shown["from"]):
            raise ActionError(CHANGED_SINCE_ASKED)
        after = await changer.write(target, change) if change is not None else before
    except (TikTokError, ActionError) as exc:
        log.info("rules.action_failed", extra={"action_id": row.id, "error": _message(exc)})
        if value is not None and isinstance(exc, ActionError) and exc.amount:
            # The owner's own amount, under TikTok's minimum: the question stays open for
            # another amount (until it expires), instead of failing for good.
            params = {k: v for k, v in (row.params or {}).items() if k != "owner_value"}
            return await _record(uow, row.id, state="proposed", error=_message(exc),
                                 params=params, decided_at=None, decided_by=None, before={})
        return await fail(uow, row.id, _message(exc))
    now = clock.now()
    values: dict[str, object] = {
        "state": "applied",
        "before": before.to_json(),
        "after": after.to_json(),
        "applied_at": now,
        "undo_until": now + UNDO_FOR,
        "error": None,
    }
    if action.kind is ActionKind.PAUSE_TODAY:
        values["reenable_at"] = next_midnight(now, target.time_zone)
    return await _record(uow, row.id, changed=("object.changed", before, after, now), **values)


async def revert(
    uow: UnitOfWorkFactory, clock: Clock, changer: Changer, row: RuleAction, target: Target
) -> tuple[RuleAction, str | None]:
    """Put back what an applied row changed (row already moved to "undoing"); the error
    TikTok gave, if any (the row then returns to "applied": undo can be tried again)."""
    try:
        change = undo_change(row.kind, State.from_json(row.before))
        if change.field != "status":
            # A budget or bid someone (a person, another rule) has set since: putting back the
            # old value would silently overwrite theirs. (On or off has only two values: the
            # old one is what undo asks for either way.)
            now_value = getattr(await changer.read(target), change.field)
            left = State.from_json(row.after or {})
            if now_value not in (getattr(left, change.field), change.value):
                raise ActionError(CHANGED_SINCE)
        after = await changer.write(target, change)
    except (TikTokError, ActionError) as exc:
        return await _record(uow, row.id, state="applied"), _message(exc)
    now = clock.now()
    done = ("object.change_undone", State.from_json(row.after), after, now)
    return await _record(
        uow,
        row.id,
        changed=done,
        state="undone",
        undone_at=now,
        reenable_at=None,
        after=after.to_json(),
    ), None


async def fail(uow: UnitOfWorkFactory, action_id: int, error: str) -> RuleAction:
    """Close an action as failed, with why."""
    return await _record(uow, action_id, state="failed", error=error)


async def note_change(
    u: UnitOfWork,
    row: RuleAction,
    event: str,
    actor: int | None,
    before: State,
    after: State,
    now: datetime,
) -> None:
    """Audit a change TikTok holds (read back at `now`) and write it into the synced object, so
    every screen shows the new value at once instead of after the next sync. A change of its
    status cancels an earlier "pause for today" switch-back: midnight must not undo a later
    decision (switched off for good by a person or another rule), and so does a pause for good
    of an object paused for today (kept on `row.params` for its undo to put back)."""
    u.audit.record(
        actor,
        event,
        row.level,
        row.object_id,
        {
            "action_id": row.id,
            "rule_id": row.rule_id,
            "kind": row.kind,
            "account_id": row.ad_account_id,
            "before": before.to_json(),
            "after": after.to_json(),
        },
    )
    synced = {"operation_status": after.status, "budget": after.budget, "bid": after.bid}
    await u.sync.set_object_values(
        row.ad_account_id,
        row.level,
        row.object_id,
        {k: v for k, v in synced.items() if v is not None},
        now,
    )
    kept = (row.params or {}).get("kept_off")
    if event == "object.change_undone" and kept:
        # Undoing a pause for good that kept a "pause for today" off: its switch-back returns.
        await u.rules.restore_switch_backs(kept)
    elif after.status != before.status or (event == "object.changed" and row.kind == "pause"):
        dropped = await u.rules.drop_switch_backs(
            row.ad_account_id, row.level, row.object_id, row.id
        )
        if dropped and after.status == before.status:
            # Paused for good while paused for today: it stays off (the alert says so).
            row.params = {**(row.params or {}), "kept_off": dropped}


async def _record(
    uow: UnitOfWorkFactory,
    action_id: int,
    changed: tuple[str, State, State, datetime] | None = None,
    **values: object,
) -> RuleAction:
    """Write the action's new values; for a change TikTok now holds (`changed`: audit event,
    before, after, when read back), also `note_change`."""
    async with uow() as u:
        # Every outcome ends the in-flight hold (approvals.IN_FLIGHT) on the row.
        await u.rules.update_action(action_id, **{"lease_until": None, **values})
        if changed is not None:
            row = await u.session.get(RuleAction, action_id)
            assert row is not None
            event, before, after, at = changed
            # Undo is always the owner's press; a change is theirs when they approved it
            # (decided_by), the rule's (no actor) when it acted on its own.
            actor = row.user_id if event == "object.change_undone" else row.decided_by
            await note_change(u, row, event, actor, before, after, at)
        await u.commit()
        row = await u.session.get(RuleAction, action_id, populate_existing=True)
    assert row is not None
    return row
