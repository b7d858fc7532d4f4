"""Plan limits where they bite: the user's usage against their plan, and the checks the features
call before they track an ad account, switch a rule on, start a launch or add a tracker.

The plan whose limits apply is the user's standing now, folded from the ledger (a grace period
keeps the paid plan's limits). A check that guards a change runs in the change's own transaction
after locking the user's entitlement row, so two instances cannot both let the last free slot
go to two different things."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from core.billing import account
from core.billing.ledger import standing
from core.billing.plans import Catalogue, Plan
from core.clock import Clock
from storage.uow import UnitOfWork, UnitOfWorkFactory

# The limits a check can name (core.billing.plans.Limits), in the order the billing screen
# lists them.
AD_ACCOUNTS = "ad_accounts"
RULES_ON = "rules_on"
RULE_EVERY = "rule_every_minutes"
LAUNCHES = "launches_per_month"
ADS_PER_LAUNCH = "ads_per_launch"
TRACKERS = "trackers"
COUNTED = (AD_ACCOUNTS, RULES_ON, LAUNCHES, TRACKERS)  # what `usage` counts


@dataclass(frozen=True)
class Usage:
    """What the user has in use now, per counted limit, and the plan it is measured against."""

    plan: Plan
    ad_accounts: int
    rules_on: int
    launches_this_month: int
    trackers: int

    def used(self, limit: str) -> int:
        """The use counted against one of COUNTED."""
        return {
            AD_ACCOUNTS: self.ad_accounts,
            RULES_ON: self.rules_on,
            LAUNCHES: self.launches_this_month,
            TRACKERS: self.trackers,
        }[limit]


@dataclass(frozen=True)
class LimitHit:
    """A change the plan does not allow: which limit, the use it would take (the use now, or the
    cadence / ads asked for), what the plan allows, and the plan."""

    limit: str
    used: int
    allowed: int
    plan: Plan


class LimitReached(Exception):
    """A use-case refused a change because of a plan limit; `hit` says which."""

    def __init__(self, hit: LimitHit) -> None:
        super().__init__(hit.limit)
        self.hit = hit


def allowance(plan: Plan, limit: str) -> int | None:
    """What the plan allows for one limit (None: unlimited)."""
    value: int | None = getattr(plan.limits, limit)
    return value


def check(usage: Usage, limit: str, adding: int = 1) -> LimitHit | None:
    """Whether `adding` more of a counted limit fit the plan: None, or the hit."""
    allowed = allowance(usage.plan, limit)
    used = usage.used(limit)
    if allowed is None or used + adding <= allowed:
        return None
    return LimitHit(limit, used, allowed, usage.plan)


def check_cadence(plan: Plan, every_minutes: int) -> LimitHit | None:
    """Whether a rule may run every `every_minutes` on this plan."""
    floor = plan.limits.rule_every_minutes
    return LimitHit(RULE_EVERY, every_minutes, floor, plan) if every_minutes < floor else None


def check_ads(plan: Plan, ads: int) -> LimitHit | None:
    """Whether one launch may create `ads` ads on this plan."""
    allowed = plan.limits.ads_per_launch
    if allowed is None or ads <= allowed:
        return None
    return LimitHit(ADS_PER_LAUNCH, ads, allowed, plan)


def month_start(now: datetime, time_zone: str) -> datetime:
    """The start of the calendar month `now` is in, in the user's zone (as UTC)."""
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    return datetime.combine(local.date().replace(day=1), time(0), zone).astimezone(UTC)


async def plan_in(u: UnitOfWork, catalogue: Catalogue, now: datetime, user_id: int) -> Plan:
    """The plan whose limits apply to the user at `now`, inside an open unit of work: their
    ledger folded (not the stored entitlement, which lags until the billing tick passes)."""
    ledger = await u.billing.ledger(user_id)
    folded = standing([account.as_charge(p) for p in ledger], now, catalogue.rank)
    return catalogue.effective(folded.plan)


async def plan_of(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                  user_id: int) -> Plan:
    """The plan whose limits apply to the user now."""
    folded, _row = await account.current(uow, catalogue, clock, user_id)
    return catalogue.effective(folded.plan)


async def count(u: UnitOfWork, limit: str, user_id: int, now: datetime) -> int:
    """The user's use of one counted limit now."""
    if limit == AD_ACCOUNTS:
        return await u.connections.count_tracked(user_id)
    if limit == RULES_ON:
        return await u.rules.count_enabled(user_id)
    if limit == TRACKERS:
        return await u.trackers.count_active(user_id)
    if limit == LAUNCHES:
        user = await u.users.get(user_id)
        since = month_start(now, user.time_zone if user else "UTC")
        return await u.launches.count_started(user_id, since)
    raise ValueError(limit)


async def usage(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                user_id: int) -> Usage:
    """The user's usage against the plan whose limits apply to them now."""
    plan = await plan_of(uow, catalogue, clock, user_id)
    now = clock.now()
    async with uow() as u:
        counts = [await count(u, limit, user_id, now) for limit in COUNTED]
    return Usage(plan, *counts)


@dataclass(frozen=True)
class Room:
    """One counted limit measured for a user: the plan, the use now, the allowance."""

    plan: Plan
    limit: str
    used: int
    allowed: int | None

    @property
    def left(self) -> int | None:
        """How many more fit (None: unlimited)."""
        return None if self.allowed is None else max(0, self.allowed - self.used)

    def hit(self, adding: int = 1) -> LimitHit | None:
        """Whether `adding` more would go over: None, or the hit."""
        if self.allowed is None or self.used + adding <= self.allowed:
            return None
        return LimitHit(self.limit, self.used, self.allowed, self.plan)


async def room(u: UnitOfWork, catalogue: Catalogue, now: datetime, user_id: int, limit: str,
               *, lock: bool) -> Room:
    """Measure one counted limit inside an open unit of work. With `lock`, the user's
    entitlement row is locked first (for the rest of the transaction), so concurrent changes
    for one user measure one after the other: use it in the transaction that makes the change."""
    if lock:
        await u.billing.lock_entitlement(user_id, now)
    plan = await plan_in(u, catalogue, now, user_id)
    allowed = allowance(plan, limit)
    used = await count(u, limit, user_id, now) if allowed is not None else 0
    return Room(plan, limit, used, allowed)


async def guard(u: UnitOfWork, catalogue: Catalogue, now: datetime, user_id: int, limit: str,
                adding: int = 1) -> LimitHit | None:
    """Inside the transaction about to add `adding` of a counted limit: lock, then check. None
    when it fits."""
    return (await room(u, catalogue, now, user_id, limit, lock=True)).hit(adding)


async def can_add(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, user_id: int,
                  limit: str, adding: int = 1) -> LimitHit | None:
    """A look before a longer flow (e.g. the Add tracker form): whether `adding` more would fit
    now. The change itself checks again under the lock (`guard`)."""
    async with uow() as u:
        measured = await room(u, catalogue, clock.now(), user_id, limit, lock=False)
    return measured.hit(adding)


async def rule_floor(u: UnitOfWork, catalogue: Catalogue, now: datetime, user_id: int) -> int:
    """The shortest cadence, in minutes, the user's plan lets a rule run at."""
    return (await plan_in(u, catalogue, now, user_id)).limits.rule_every_minutes
