"""Changing campaigns, ad groups and ads by hand from the chat.

A press proposes a change: the objects are read live from TikTok and the planned values shown
for confirmation. Confirming applies it once (however often it is pressed), verifies it by
reading back, records it in the audit log and on the synced object, and leaves an Undo open
for 24 hours.

A manual change is stored as a rule action without a rule (`rule_id` NULL, key
`manual:<batch>:<n>`), so it shares the approvals' once-only state machine
(core.rules.approvals: proposed → applying → applied → undoing → undone, or rejected/expired)
and the verified apply and revert of core.rules.execute. A bulk change is one batch of rows.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from core.clock import Clock
from core.eligibility import Blocked, bid_blocked, blocked, budget_blocked, shape_of
from core.metrics import Totals
from core.periods import DateRange, Period, resolve
from core.rules import approvals
from core.rules.acting import ActionError, Changer, State, Target, change_for
from core.rules.model import Action, ActionKind
from core.tiktok import TikTokError
from storage.models import AdAccount, AdObject, RuleAction
from storage.repos.stats import Sums
from storage.uow import UnitOfWorkFactory

CONFIRM_FOR = timedelta(minutes=10)  # a confirmation left longer is stale: read again
MAX_SELECTION = 100  # objects in one bulk change
MAX_LISTED = 5000  # objects of one level a screen lists (the dashboard's table)
PAGE_SIZE = 8
READS_AT_ONCE = 4  # live reads of a bulk proposal in flight together (the QPS limiter paces)
LEVELS = ("campaign", "adgroup", "ad")

Progress = Callable[[int, int], Awaitable[None]]


def _totals(s: Sums) -> Totals:
    return Totals(s.spend, s.impressions, s.clicks, s.conversions, s.purchase_value)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class ObjectPage:
    """One page of a level's objects (under a parent) to pick from, paused ones included."""

    account: AdAccount
    level: str
    parent: AdObject | None
    days: DateRange
    items: list[tuple[AdObject, Totals]]
    page: int
    pages: int
    total: int
    budgets: bool = True  # whether any of these has a budget to change (core.eligibility)
    held: frozenset[str] = frozenset()  # ids "pause for today" holds off until midnight


@dataclass(frozen=True)
class ObjectCard:
    """One object as last synced (or just changed), with its numbers for a period, and
    whether its budget and bid can be changed (core.eligibility: why not, when not)."""

    account: AdAccount
    obj: AdObject
    days: DateRange
    totals: Totals
    campaign: AdObject | None = None  # an ad group's or ad's campaign (where CBO lives)
    budget_blocked: Blocked | None = None
    bid_blocked: Blocked | None = None
    back_on: datetime | None = None  # paused for today: when it is switched back on


async def object_page(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    account_id: int,
    level: str,
    parent_id: str | None,
    period: Period,
    custom: DateRange | None,
    page: int,
) -> ObjectPage | None:
    """A page of objects the user may change; None unless the account is the user's."""
    if level not in LEVELS:
        return None
    async with uow() as u:
        account = await u.connections.account(user_id, account_id)
        if account is None or not account.tracked:
            return None
        parent = None
        if parent_id is not None:
            parent_level = {"adgroup": "campaign", "ad": "adgroup"}.get(level)
            if parent_level is not None:
                parent = await u.stats.object(account.id, parent_level, parent_id)
            if parent is None:
                return None
        days = resolve(period, clock.now(), account.time_zone, custom)
        pages_total = await u.stats.manageable(
            account.id, level, parent_id, days.start, days.end, PAGE_SIZE, page * PAGE_SIZE
        )
        held = await u.rules.held_objects([account.id])
    rows, total = pages_total
    items = [(obj, _totals(sums)) for obj, sums in rows]
    pages = max(1, -(-total // PAGE_SIZE))
    campaign = parent if parent is not None and parent.level == "campaign" else None
    budgets = any(budget_blocked(shape_of(obj, campaign)) is None for obj, _ in items)
    paused_today = frozenset(
        obj.object_id
        for obj, _ in items
        if obj.operation_status == "DISABLE" and (account.id, level, obj.object_id) in held
    )
    return ObjectPage(account, level, parent, days, items, page, pages, total, budgets,
                      paused_today)


async def object_ids(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    account_id: int,
    level: str,
    parent_id: str | None,
    period: Period,
    custom: DateRange | None,
) -> list[str]:
    """Every changeable object of a level under a parent, for "select all": at most
    MAX_SELECTION, in the list's order (biggest spenders of the period first)."""
    async with uow() as u:
        account = await u.connections.account(user_id, account_id)
        if account is None or not account.tracked or level not in LEVELS:
            return []
        days = resolve(period, clock.now(), account.time_zone, custom)
        rows, _ = await u.stats.manageable(
            account.id, level, parent_id, days.start, days.end, MAX_SELECTION, 0
        )
    return [obj.object_id for obj, _ in rows]


async def object_card(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    account_id: int,
    level: str,
    object_id: str,
    period: Period,
    custom: DateRange | None,
) -> ObjectCard | None:
    """An object of the user's with its numbers; None if not theirs, whatever the button said."""
    if level not in LEVELS:
        return None
    async with uow() as u:
        account = await u.connections.account(user_id, account_id)
        if account is None or not account.tracked:
            return None
        obj = await u.stats.object(account.id, level, object_id)
        if obj is None:
            return None
        campaign = None
        if level != "campaign" and obj.campaign_id:
            campaign = await u.stats.object(account.id, "campaign", obj.campaign_id)
        days = resolve(period, clock.now(), account.time_zone, custom)
        sums = await u.stats.objects_sums(account.id, level, [object_id], days.start, days.end)
        held = await u.rules.held_objects([account.id])
    shape = shape_of(obj, campaign)
    return ObjectCard(
        account,
        obj,
        days,
        _totals(sums.get(object_id, Sums())),
        campaign,
        budget_blocked(shape),
        bid_blocked(shape),
        held.get((account.id, level, object_id)) if obj.operation_status == "DISABLE" else None,
    )


async def changeable(
    uow: UnitOfWorkFactory, user_id: int, account_id: int, level: str, parent_id: str | None
) -> dict[str, tuple[bool, bool]]:
    """Per object of a level (under a parent): whether its budget and whether its bid can be
    changed (core.eligibility), so a screen offers only what can be done; empty unless the
    account is the user's (and for ads, which have neither)."""
    if level not in ("campaign", "adgroup"):
        return {}
    async with uow() as u:
        account = await u.connections.account(user_id, account_id)
        if account is None or not account.tracked:
            return {}
        # The sums are not needed here: an empty range (one day long ago) keeps them cheap.
        never = date(2000, 1, 1)
        rows, _ = await u.stats.manageable(account.id, level, parent_id, never, never,
                                           MAX_LISTED, 0)
        campaigns: dict[str, AdObject | None] = {}
        if level == "adgroup":
            for c in {obj.campaign_id for obj, _ in rows if obj.campaign_id}:
                campaigns[c] = await u.stats.object(account.id, "campaign", c)
    out = {}
    for obj, _ in rows:
        shape = shape_of(obj, campaigns.get(obj.campaign_id or ""))
        out[obj.object_id] = (budget_blocked(shape) is None, bid_blocked(shape) is None)
    return out


# ---------------------------------------------------------------- proposing


class Skip(StrEnum):
    """Why an object of a selection is left out of a proposal."""

    ALREADY = "already"  # already at the target (paused, enabled, same amount)
    NOT_APPLICABLE = "not_applicable"  # no budget / no custom bid of its own
    UNREADABLE = "unreadable"  # TikTok could not be read for it (gone, token, outage)


@dataclass(frozen=True)
class Skipped:
    """An object left out, and why (`detail`: TikTok's or our own words; for NOT_APPLICABLE a
    core.eligibility.Blocked code when the synced structure says why)."""

    object_id: str
    name: str
    reason: Skip
    detail: str = ""


@dataclass(frozen=True)
class Proposal:
    """The rows waiting for confirmation (empty when nothing is left to change)."""

    rows: list[RuleAction]
    skipped: list[Skipped]
    account: AdAccount


def _action_json(action: Action) -> dict[str, object]:
    return {
        "mode": action.mode,
        "value": str(action.value) if action.value is not None else None,
    }


async def propose(
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer,
    user_id: int,
    account_id: int,
    level: str,
    object_ids: Sequence[str],
    action: Action,
) -> Proposal | None:
    """Read the objects live and record the change for confirmation; None when the account
    or any object is not the user's (a forged or stale button)."""
    ids = list(dict.fromkeys(object_ids))[:MAX_SELECTION]
    if level not in LEVELS or not ids or action.kind is ActionKind.NOTIFY:
        return None
    async with uow() as u:
        found = await u.rules.scope_accounts(user_id, [account_id])
        objs = [await u.stats.object(account_id, level, i) for i in ids]
        # Pausing for good what "pause for today" holds off is a change: its switch-back goes.
        held = await u.rules.held_objects([account_id]) if action.kind is ActionKind.PAUSE else {}
        campaigns = {
            c: await u.stats.object(account_id, "campaign", c)
            for c in {o.campaign_id for o in objs if o is not None and level == "adgroup"}
            if c
        }
    if not found or any(o is None for o in objs):
        return None
    account, credential_id = found[0].account, found[0].credential_id
    limit = asyncio.Semaphore(READS_AT_ONCE)

    async def read(obj: AdObject) -> State | Skipped:
        # No live read for what the synced structure already rules out (core.eligibility).
        why = blocked(action.kind.value, shape_of(obj, campaigns.get(obj.campaign_id or "")))
        if why is not None:
            return Skipped(obj.object_id, obj.name, Skip.NOT_APPLICABLE, why.value)
        target = Target(
            account.id,
            account.advertiser_id,
            credential_id,
            account.currency,
            account.time_zone,
            level,
            obj.object_id,
        )
        async with limit:
            try:
                return await changer.read(target)
            except (ActionError, TikTokError) as exc:
                detail = getattr(exc, "message", None) or str(exc)
                return Skipped(obj.object_id, obj.name, Skip.UNREADABLE, detail[:300])

    states = await asyncio.gather(*(read(o) for o in objs if o is not None))
    now, batch = clock.now(), secrets.token_hex(8)
    rows, skipped = [], []
    for obj, state in zip([o for o in objs if o is not None], states, strict=True):
        if isinstance(state, Skipped):
            skipped.append(state)
            continue
        try:
            change = change_for(action, state)
        except ActionError:
            skipped.append(Skipped(obj.object_id, obj.name, Skip.NOT_APPLICABLE))
            continue
        assert change is not None
        current = state.status if change.field == "status" else getattr(state, change.field)
        if current == change.value and (account_id, level, obj.object_id) not in held:
            skipped.append(Skipped(obj.object_id, obj.name, Skip.ALREADY))
            continue
        params = _action_json(action)
        if change.field != "status":
            params["planned"] = str(change.value)
        rows.append(
            RuleAction(
                key=f"manual:{batch}:{len(rows)}",
                rule_id=None,
                run_id=None,
                user_id=user_id,
                ad_account_id=account.id,
                level=level,
                object_id=obj.object_id,
                object_name=obj.name[:512],
                kind=action.kind.value,
                state="proposed",
                params=params,
                trigger={},
                before=state.to_json(),
                after={},
                created_at=now,
                expires_at=now + CONFIRM_FOR,
            )
        )
    if rows:
        async with uow() as u:
            for row in rows:
                u.rules.add_action(row)
            await u.commit()
    return Proposal(rows, skipped, account)


# ---------------------------------------------------------------- deciding


class Outcome(StrEnum):
    """How a confirm, cancel or undo press ended, for the batch as a whole."""

    DONE = "done"  # this press made the change (or cancelled, or undid it) — some may fail
    DECIDED = "decided"  # another press (another device) got there first
    EXPIRED = "expired"  # the confirmation or the 24 hours of undo are over
    GONE = "gone"  # not the presser's, or deleted


@dataclass(frozen=True)
class Decision:
    """The batch as it stands after the press."""

    outcome: Outcome
    rows: list[RuleAction]
    account: AdAccount | None = None
    first: AdObject | None = None  # the first object, to lead back to it or its list


def _planned(row: RuleAction) -> Decimal | None:
    planned = (row.params or {}).get("planned")
    return Decimal(planned) if planned is not None else None


async def _finish(
    uow: UnitOfWorkFactory, user_id: int, action_id: int, results: list[approvals.Result]
) -> Decision:
    """The batch re-read, with the outcome of this press."""
    async with uow() as u:
        rows = await u.rules.batch(user_id, action_id)
        if not rows:
            return Decision(Outcome.GONE, [])
        account = await u.connections.account(user_id, rows[0].ad_account_id)
        first = await u.stats.object(rows[0].ad_account_id, rows[0].level, rows[0].object_id)
    done = (
        approvals.Outcome.APPLIED,
        approvals.Outcome.FAILED,
        approvals.Outcome.REJECTED,
        approvals.Outcome.UNDONE,
    )
    if any(r.outcome in done for r in results):
        return Decision(Outcome.DONE, rows, account, first)
    if any(r.outcome is approvals.Outcome.EXPIRED for r in results):
        return Decision(Outcome.EXPIRED, rows, account, first)
    return Decision(Outcome.DECIDED, rows, account, first)


async def confirm(
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer,
    user_id: int,
    action_id: int,
    progress: Progress | None = None,
) -> Decision:
    """Apply a proposed batch: each object once, verified; `progress(done, total)` between."""
    async with uow() as u:
        rows = await u.rules.batch(user_id, action_id)

    async def apply(row: RuleAction) -> approvals.Result:
        return await approvals.approve(uow, clock, changer, user_id, row.id, _planned(row))

    return await _finish(uow, user_id, action_id, await _each(rows, apply, progress))


async def cancel(uow: UnitOfWorkFactory, clock: Clock, user_id: int, action_id: int) -> Decision:
    """Drop a proposed batch: nothing is changed on TikTok."""
    async with uow() as u:
        rows = await u.rules.batch(user_id, action_id)
    results = [await approvals.reject(uow, clock, user_id, row.id) for row in rows]
    return await _finish(uow, user_id, action_id, results)


async def undo(
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer,
    user_id: int,
    action_id: int,
    progress: Progress | None = None,
) -> Decision:
    """Put back what a batch changed (the objects it did change), within 24 hours."""
    async with uow() as u:
        rows = [
            r
            for r in await u.rules.batch(user_id, action_id)
            if r.state in ("applied", "undoing", "undone")
        ]

    async def revert(row: RuleAction) -> approvals.Result:
        return await approvals.undo(uow, clock, changer, user_id, row.id)

    return await _finish(uow, user_id, action_id, await _each(rows, revert, progress))


async def _each(
    rows: list[RuleAction],
    step: Callable[[RuleAction], Awaitable[approvals.Result]],
    progress: Progress | None,
) -> list[approvals.Result]:
    """`step` on each row of a batch in turn, reporting progress after each."""
    results = []
    for n, row in enumerate(rows, start=1):
        results.append(await step(row))
        if progress is not None:
            await progress(n, len(rows))
    return results


async def batch(uow: UnitOfWorkFactory, user_id: int, action_id: int) -> Decision:
    """A batch as it stands (for redrawing its message)."""
    return await _finish(uow, user_id, action_id, [])
