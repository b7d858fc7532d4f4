"""What an action does to one object: the change it asks TikTok for, computed from the value
recorded before it (so a retried run computes the same target and never changes twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from core.changes import target_budget
from core.rules.model import Action, ActionKind


@dataclass(frozen=True)
class Target:
    """The object an action touches, with what is needed to reach TikTok for it."""

    account_id: int
    advertiser_id: str
    credential_id: int | None
    currency: str
    time_zone: str
    level: str
    object_id: str


@dataclass(frozen=True)
class State:
    """An object's changeable values as TikTok reported them."""

    status: str | None = None
    budget: Decimal | None = None
    bid: Decimal | None = None
    minimum: Decimal | None = None  # TikTok's budget minimum here, when known (not stored)

    def to_json(self) -> dict[str, Any]:
        """For the before/after columns (money as strings: exact)."""
        return {
            k: (str(v) if isinstance(v, Decimal) else v)
            for k, v in (("status", self.status), ("budget", self.budget), ("bid", self.bid))
            if v is not None
        }

    @staticmethod
    def from_json(doc: dict[str, Any]) -> State:
        """Back from the before/after columns."""
        return State(
            doc.get("status"),
            Decimal(doc["budget"]) if doc.get("budget") is not None else None,
            Decimal(doc["bid"]) if doc.get("bid") is not None else None,
        )


@dataclass(frozen=True)
class Change:
    """One field to set: "status" (ENABLE/DISABLE), "budget" or "bid"."""

    field: str
    value: str | Decimal


class Changer(Protocol):
    """Reads and changes objects on TikTok (core.changes over the TikTok client)."""

    async def read(self, target: Target) -> State:
        """The object's current values."""
        ...

    async def write(self, target: Target, change: Change) -> State:
        """Apply `change` and return the values read back afterwards."""
        ...


# Our own reasons a change was not made (TikTok's refusals are kept in its words).
REASONS = (
    "no_access",
    "no_budget",
    "no_bid",
    "below_minimum",
    "not_tracked",
    "changed_since",
    "changed_since_asked",
)


class ActionError(Exception):
    """TikTok refused or the object cannot take this change; `message` says why: TikTok's own
    words, or one of our reason codes (`REASONS`), which the chat translates. `amount`: the
    refusal is of the amount (under TikTok's minimum budget): another amount may be taken."""

    def __init__(self, message: str, amount: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.amount = amount


def adjusted(current: Decimal, action: Action, minimum: Decimal | None = None) -> Decimal:
    """The new budget or bid: set, +/- percent or +/- amount, kept within the floor, the
    ceiling and TikTok's minimum, in cents (core.changes.target_budget does the maths). A raise
    never ends below `current` nor a cut above it: a value already past the bound stays."""
    try:
        new = target_budget(
            current,
            action.mode or "amount",  # type: ignore[arg-type]
            action.value or Decimal(0),
            action.floor,
            action.ceiling,
            minimum,
        )
    except ValueError as exc:  # a ceiling under TikTok's minimum
        raise ActionError("below_minimum") from exc
    # "+20% max 500" on a budget set by hand to 600 must not cut it to 500 (and a cut counts
    # as safe, so it would be made without asking); "-20% min 150" must not raise 100 to 150.
    step = action.value or Decimal(0)
    if action.mode != "set" and ((step > 0 and new < current) or (step < 0 and new > current)):
        return current
    return new


def change_for(action: Action, before: State, value: Decimal | None = None) -> Change | None:
    """The change `action` makes to an object that was `before` (None: notify only, or the
    object has no such value). `value` replaces the computed amount (approval's Edit value)."""
    kind = action.kind
    if kind in (ActionKind.PAUSE, ActionKind.PAUSE_TODAY):
        return Change("status", "DISABLE")
    if kind is ActionKind.ENABLE:
        return Change("status", "ENABLE")
    if kind in (ActionKind.BUDGET, ActionKind.BID):
        field = "budget" if kind is ActionKind.BUDGET else "bid"
        current = getattr(before, field)
        if current is None:
            raise ActionError(f"no_{field}")  # e.g. an ad group on its campaign's budget
        minimum = before.minimum if field == "budget" else None
        return Change(field, value if value is not None else adjusted(current, action, minimum))
    return None


def undo_change(kind: str, before: State) -> Change:
    """The change that puts back what an action changed."""
    if kind in (ActionKind.BUDGET, ActionKind.BID):
        field = "budget" if kind == ActionKind.BUDGET else "bid"
        return Change(field, getattr(before, field))
    return Change("status", before.status or "ENABLE")


def is_increase(change: Change | None, before: State) -> bool:
    """Whether a change raises spend (enabling, or a higher budget or bid)."""
    if change is None:
        return False
    if change.field == "status":
        return change.value == "ENABLE" and before.status != "ENABLE"
    current = getattr(before, change.field)
    return current is None or Decimal(change.value) > current


def next_midnight(now: datetime, time_zone: str) -> datetime:
    """The next local midnight of an ad account (when "pause for today" ends)."""
    zone = ZoneInfo(time_zone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), zone).astimezone(ZoneInfo("UTC"))
