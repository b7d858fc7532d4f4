"""Plan limits where they bite: the user's usage against their plan, and the checks the features
call before they add an ad account, switch a rule on, start a launch or add a tracker.

(Foundation placeholder: issue 14's limits branch replaces this module; the signatures below are
what the billing screen and the operator console call.)"""

from __future__ import annotations

from dataclasses import dataclass

from core.billing.plans import Catalogue, Plan
from core.clock import Clock
from storage.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class Usage:
    """What the user has in use now, per limit (None where a limit is not counted yet)."""

    plan: Plan
    ad_accounts: int
    rules_on: int
    launches_this_month: int
    trackers: int


async def usage(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                user_id: int) -> Usage:
    """The user's usage against the plan whose limits apply to them now."""
    raise NotImplementedError
