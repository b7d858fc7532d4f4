"""Running one rule at once ("▶ Run now" on its screen) through the scheduler's own path: the
same evaluation, limits, modes and freshness guard (core.rules.engine), under the same lease,
so a scheduled run of the rule never overlaps it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.billing.plans import Catalogue
from core.clock import Clock
from core.rules.acting import Changer
from core.rules.engine import LEASE, Progress, Tick, evaluate, run_rule
from storage.models import RuleRun
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
# How old a screen's "Run now" may be and still name its own run (see `slot_for`).
DRAWN_WITHIN = timedelta(hours=1)


class Outcome(StrEnum):
    """How a press of "Run now" ended."""

    RAN = "ran"  # this press ran the rule (or a press of the same screen already had)
    BUSY = "busy"  # a run of this rule (scheduled or another press) holds it right now
    FAILED = "failed"  # the run broke off; what it recorded stays and is resumed by a re-run
    GONE = "gone"  # not the presser's rule, or deleted


@dataclass(frozen=True)
class RunNow:
    """The outcome and the run it produced."""

    outcome: Outcome
    run: RuleRun | None = None


def slot_for(drawn_at: datetime | None, now: datetime) -> datetime:
    """The slot a press serves: the moment the screen with the button was drawn. A double tap
    (or a press on a stale copy of that screen) names the same slot, so it finds the run the
    first press made instead of running again; a screen drawn later is a new run."""
    if drawn_at is not None and now - DRAWN_WITHIN <= drawn_at <= now:
        return drawn_at
    return now.replace(microsecond=0)


async def run_now(
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer,
    user_id: int,
    rule_id: int,
    owner: str,
    drawn_at: datetime | None = None,
    progress: Progress | None = None,
    catalogue: Catalogue | None = None,
    lease: timedelta = LEASE,
) -> RunNow:
    """Run one of the user's rules once, now (on or off); its alerts go out as one digest; its
    next scheduled slot keeps to the plan's cadence (`catalogue`, as the scheduler's runs)."""
    now = clock.now()
    slot = slot_for(drawn_at, now)
    async with uow() as u:
        if await u.rules.get(user_id, rule_id) is None:
            return RunNow(Outcome.GONE)
        done = await u.rules.run_at(rule_id, slot)
        if done is not None and done.status != "running":
            return RunNow(Outcome.RAN, done)
        rule = await u.rules.claim_one(user_id, rule_id, owner, now, now + lease)
        await u.commit()
    if rule is None:
        return RunNow(Outcome.BUSY)
    due = rule.due_at
    tick = Tick.start(now, lease)
    try:
        async with uow() as u:
            ev = (await evaluate(u, [rule], now))[rule.id]
        run = await run_rule(
            uow, clock, changer, rule, ev, owner, slot=slot, tick=tick, progress=progress,
            catalogue=catalogue,
        )
    except Exception:
        # What the run recorded stays keyed by its slot: pressing the same screen again
        # repeats it without acting twice (core.rules.engine, step 2).
        log.exception("rules.run_now_failed", extra={"rule_id": rule_id})
        async with uow() as u:
            await u.rules.release(rule_id, owner, due_at=due or now, ran_at=None)
            await u.commit()
        return RunNow(Outcome.FAILED)
    finally:
        await tick.release(uow, clock)
    return RunNow(Outcome.RAN, run)
