"""Applying a plan's limits after the plan changed: on the way down what is over a limit is paused
(newest first) and listed, never deleted; on the way up what a plan paused comes back.

(Foundation placeholder: issue 14's limits branch replaces this module.)"""

from __future__ import annotations

from dataclasses import dataclass

from core.billing.plans import Catalogue
from core.clock import Clock
from storage.uow import UnitOfWorkFactory


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


async def apply_plan(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                     user_id: int) -> Enforced:
    """Bring the user's items within the limits of their entitlement's plan (pausing the newest
    over a limit, restoring plan-paused ones that fit) and mark that plan applied; idempotent."""
    raise NotImplementedError
