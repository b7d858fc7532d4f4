"""Applying a plan's limits after the plan changed: on the way down what is over a limit is paused
(newest first) and listed, never deleted; on the way up what a plan paused comes back.

Paused means: an ad account untracked (no sync, no stats, out of every rule's scope), a rule
switched off, a tracker neither pushed nor pulled — each marked `plan_paused_at`, so it is shown
as paused by the plan and restored (oldest-paused first) once a plan allows it again. A rule set
to run faster than the plan allows is not paused: it runs at the plan's cadence
(core/rules/schedule.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from core.billing import account
from core.billing.limits import AD_ACCOUNTS, RULES_ON, TRACKERS, allowance
from core.billing.plans import Catalogue, Plan
from core.clock import Clock
from core.rules.schedule import next_due
from core.rules.settings import from_json
from storage.models import AdAccount, Rule, Tracker
from storage.uow import UnitOfWork, UnitOfWorkFactory

AD_ACCOUNT, RULE, TRACKER = "ad_account", "rule", "tracker"  # Item.kind


@dataclass(frozen=True)
class Item:
    """Something a plan change paused or restored: kind (ad_account, rule, tracker), id, name."""

    kind: str
    id: int
    name: str


@dataclass(frozen=True)
class Enforced:
    """What applying the plan did."""

    plan: str
    paused: tuple[Item, ...]
    restored: tuple[Item, ...]


P = TypeVar("P", AdAccount, Rule, Tracker)


def _split(on: Sequence[P], held: Sequence[P], allowed: int | None) -> tuple[list[P], list[P]]:
    """Which of the items in use to pause (the newest over the limit) and which of those the
    plan paused to restore (the oldest-paused first, while they fit)."""
    if allowed is not None and len(on) > allowed:
        newest = sorted(on, key=lambda x: (x.created_at, x.id), reverse=True)
        return newest[: len(on) - allowed], []
    room = len(held) if allowed is None else allowed - len(on)
    oldest = sorted(held, key=lambda x: (x.plan_paused_at or x.created_at, x.created_at, x.id))
    return [], oldest[:room]


async def _accounts(u: UnitOfWork, plan: Plan, user_id: int, now: datetime,
                    paused: list[Item], restored: list[Item]) -> None:
    # Lost accounts (no longer reachable, waiting for their purge) neither count nor return.
    live = [a for a in await u.connections.accounts(user_id)
            if a.purge_after is None and a.status != "NO_ACCESS"]
    on = [a for a in live if a.tracked]
    held = [a for a in live if not a.tracked and a.plan_paused_at is not None]
    stop, back = _split(on, held, allowance(plan, AD_ACCOUNTS))
    for a in stop:
        a.tracked, a.plan_paused_at = False, now
        paused.append(Item(AD_ACCOUNT, a.id, a.name))
    for a in back:
        a.tracked, a.plan_paused_at = True, None
        restored.append(Item(AD_ACCOUNT, a.id, a.name))
    await u.connections.schedule_sync([a.id for a in back], now)


async def _rules(u: UnitOfWork, plan: Plan, user_id: int, now: datetime,
                 paused: list[Item], restored: list[Item]) -> None:
    rules = await u.rules.of_user(user_id)
    on = [r for r in rules if r.enabled]
    held = [r for r in rules if not r.enabled and r.plan_paused_at is not None]
    stop, back = _split(on, held, allowance(plan, RULES_ON))
    for r in stop:
        r.enabled, r.plan_paused_at = False, now
        paused.append(Item(RULE, r.id, r.name))
    if back:
        user = await u.users.get(user_id)
        zone = user.time_zone if user else "UTC"
        for r in back:
            r.enabled, r.plan_paused_at = True, None
            r.due_at = next_due(from_json(r.settings).schedule, now, zone,
                                plan.limits.rule_every_minutes)
            restored.append(Item(RULE, r.id, r.name))


async def _trackers(u: UnitOfWork, plan: Plan, user_id: int, now: datetime,
                    paused: list[Item], restored: list[Item]) -> None:
    trackers = await u.trackers.of_user(user_id)  # connected ones
    on = [t for t in trackers if t.plan_paused_at is None]
    held = [t for t in trackers if t.plan_paused_at is not None]
    stop, back = _split(on, held, allowance(plan, TRACKERS))
    for t in stop:
        t.plan_paused_at = now
        paused.append(Item(TRACKER, t.id, t.name))
    for t in back:
        t.plan_paused_at, t.due_at, t.attempts = None, now, 0
        restored.append(Item(TRACKER, t.id, t.name))


async def apply_plan(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                     user_id: int) -> Enforced:
    """Bring the user's items within the limits of their entitlement's plan (pausing the newest
    over a limit, restoring plan-paused ones that fit) and mark that plan applied; idempotent."""
    now = clock.now()
    async with uow() as u:
        # The lock makes two instances applying one user's plan take turns: the second finds
        # everything within the limits already and changes nothing.
        row = await u.billing.lock_entitlement(user_id, now)
        plan = catalogue.effective(row.plan)
        paused: list[Item] = []
        restored: list[Item] = []
        await _accounts(u, plan, user_id, now, paused, restored)
        await _rules(u, plan, user_id, now, paused, restored)
        await _trackers(u, plan, user_id, now, paused, restored)
        before = row.applied_plan
        row.applied_plan = row.plan
        row.due_at = account.next_due(row, now)
        if paused or restored or before != row.applied_plan:
            u.audit.record(None, "plan.applied", "user", str(user_id), {
                "plan": plan.code,
                "from": before,
                "paused": [_said(i) for i in paused],
                "restored": [_said(i) for i in restored],
            })
        await u.commit()
    return Enforced(plan.code, tuple(paused), tuple(restored))


def _said(item: Item) -> dict[str, object]:
    return {"kind": item.kind, "id": item.id, "name": item.name}

