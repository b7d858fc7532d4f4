"""Changing a campaign, ad group or ad on TikTok: read, change, read back to verify.

The use-cases behind automation rules and manual buttons. Every change is idempotent (an
object already at the target is left alone and reported as `applied=False`) and verified
(the object is read again after the write; a write TikTok accepted but did not keep raises
`ChangeNotVerifiedError`).

Levels: a campaign or an ad group can be paused/enabled and have its budget changed (where
the budget is set: an ad group under campaign budget optimisation, or a campaign without
one, has no budget of its own); an ad group's custom bid can be changed; an ad has a status
only. Money is Decimal, rounded to the currency's cents.

Errors: TikTok's own typed errors pass through unchanged (`TokenInvalidError` means the user
must reconnect; `RateLimitedError`/`ServerError` may be retried). A refusal of this change
becomes a `ChangeError`: `ObjectGoneError`, `NotApplicableError`, `BudgetBelowMinimumError`,
`ChangeRefusedError` or `ChangeNotVerifiedError`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from core.eligibility import CUSTOM_BID, Blocked, Shape, blocked
from core.tiktok import InvalidRequestError, TikTokClient

Level = Literal["campaign", "adgroup", "ad"]
Kind = Literal["status", "budget", "bid"]
BudgetMode = Literal["set", "pct", "amount"]

LEVELS: tuple[str, ...] = ("campaign", "adgroup", "ad")
STATUSES: tuple[str, ...] = ("ENABLE", "DISABLE")  # DELETE is not a change rules may make
CENT = Decimal("0.01")
# spec §4.0 budget_mode: these modes carry a daily amount; TOTAL is a lifetime amount.
DAILY_MODES = frozenset({"BUDGET_MODE_DAY", "BUDGET_MODE_DYNAMIC_DAILY_BUDGET"})
NO_BUDGET_MODES = frozenset({"BUDGET_MODE_INFINITE"})
# spec §4.2 (tagged [U]: "commonly cited", not verified from primary sources): USD daily
# budget minimums, campaign ≥ 50 and ad group ≥ 20. Other currencies have their own minimums
# that the spec does not list; for them TikTok's refusal is the authority (mapped to
# BudgetBelowMinimumError below).
MIN_DAILY_BUDGET: dict[tuple[str, str], Decimal] = {
    ("campaign", "USD"): Decimal(50),
    ("adgroup", "USD"): Decimal(20),
}
# Reads after a write before giving up on seeing the new value (TikTok's reads may lag a
# moment behind its writes; not documented, so a short, bounded wait).
VERIFY_READS = 3
VERIFY_DELAY_SECONDS = 0.5

_FIELDS: dict[str, list[str]] = {
    "campaign": [
        "campaign_id",
        "operation_status",
        "secondary_status",
        "budget",
        "budget_mode",
    ],
    "adgroup": [
        "adgroup_id",
        "campaign_id",
        "operation_status",
        "secondary_status",
        "budget",
        "budget_mode",
        "bid_type",
        "bid_price",
        "conversion_bid_price",
        "billing_event",
    ],
    "ad": ["ad_id", "operation_status", "secondary_status"],
}


# ---------------------------------------------------------------- errors


class ChangeError(Exception):
    """TikTok would not (or did not) make this change; `str()` says why, for the user."""

    def __init__(self, message: str, *, level: str, object_id: str) -> None:
        super().__init__(message)
        self.message = message
        self.level = level
        self.object_id = object_id


class ObjectGoneError(ChangeError):
    """The object does not exist (any more) or was deleted; `deleted` tells which."""

    def __init__(self, message: str, *, level: str, object_id: str, deleted: bool) -> None:
        super().__init__(message, level=level, object_id=object_id)
        self.deleted = deleted


class NotApplicableError(ChangeError):
    """The change makes no sense for this object (no own budget, no custom bid...)."""


class ChangeRefusedError(ChangeError):
    """TikTok answered the write with a validation error; `code` is TikTok's."""

    def __init__(
        self, message: str, *, level: str, object_id: str, code: int | None = None
    ) -> None:
        super().__init__(message, level=level, object_id=object_id)
        self.code = code


class BudgetBelowMinimumError(ChangeRefusedError):
    """The budget is under TikTok's minimum; `minimum` when known."""

    def __init__(
        self,
        message: str,
        *,
        level: str,
        object_id: str,
        code: int | None = None,
        minimum: Decimal | None = None,
    ) -> None:
        super().__init__(message, level=level, object_id=object_id, code=code)
        self.minimum = minimum


class ChangeNotVerifiedError(ChangeError):
    """TikTok accepted the write but reading the object back does not show the new value."""

    def __init__(self, message: str, *, level: str, object_id: str, after: ObjectState) -> None:
        super().__init__(message, level=level, object_id=object_id)
        self.after = after


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class ObjectState:
    """What TikTok says about an object now."""

    status: str  # operation_status: ENABLE | DISABLE (ads may also show FROZEN, spec §4.0)
    budget: Decimal | None  # None: no budget at this level (unlimited, or set on the campaign)
    budget_mode: str | None
    bid: Decimal | None  # the custom bid; None when the bid strategy has none (or not an ad group)
    bid_field: str | None  # "bid_price" | "conversion_bid_price" | None


@dataclass(frozen=True)
class Change:
    """One change to make: a status ("ENABLE"/"DISABLE"), a budget or a bid amount."""

    kind: Kind
    value: str | Decimal

    def __post_init__(self) -> None:
        if self.kind == "status":
            if self.value not in STATUSES:
                raise ValueError(f"status must be one of {STATUSES}, not {self.value!r}")
        elif self.kind in ("budget", "bid"):
            if not isinstance(self.value, Decimal) or not self.value.is_finite():
                raise ValueError(f"{self.kind} must be a finite Decimal, not {self.value!r}")
            if self.value <= 0 or self.value != self.value.quantize(CENT):
                raise ValueError(f"{self.kind} must be positive, in whole cents: {self.value}")
        else:
            raise ValueError(f"unknown change kind {self.kind!r}")


@dataclass(frozen=True)
class ChangeResult:
    """The object before and after; `applied` is False when it already was at the target."""

    level: str
    object_id: str
    change: Change
    before: ObjectState
    after: ObjectState
    applied: bool


# ---------------------------------------------------------------- pure maths


def budget_minimum(level: str, currency: str | None, budget_mode: str | None) -> Decimal | None:
    """TikTok's known budget minimum for a level, currency and mode; None when unknown."""
    if budget_mode not in DAILY_MODES or currency is None:
        return None  # lifetime minimums and non-USD minimums are not in the spec
    return MIN_DAILY_BUDGET.get((level, currency.upper()))


def target_budget(
    current: Decimal,
    mode: BudgetMode,
    value: Decimal,
    floor: Decimal | None = None,
    ceiling: Decimal | None = None,
    minimum: Decimal | None = None,
) -> Decimal:
    """The new budget: set to / change by a percent / change by an amount, in whole cents,
    clamped to [max(floor, minimum), ceiling]."""
    if mode == "set":
        raw = value
    elif mode == "pct":
        raw = current * (Decimal(100) + value) / Decimal(100)
    elif mode == "amount":
        raw = current + value
    else:
        raise ValueError(f"mode must be set, pct or amount, not {mode!r}")
    # Bounds are rounded inwards, so the clamped result is in whole cents and inside them.
    lower = max((b for b in (floor, minimum) if b is not None), default=CENT)
    lower = max(lower.quantize(CENT, rounding=ROUND_CEILING), CENT)
    upper = ceiling.quantize(CENT, rounding=ROUND_FLOOR) if ceiling is not None else None
    if upper is not None and upper < lower:
        raise ValueError(f"ceiling {ceiling} is below the floor/minimum {lower}")
    result = max(raw.quantize(CENT, rounding=ROUND_HALF_UP), lower)
    return min(result, upper) if upper is not None else result


# ---------------------------------------------------------------- reading


async def read_state(
    client: TikTokClient, token: str, advertiser_id: str, level: str, object_id: str
) -> ObjectState:
    """The object's status, budget and bid as TikTok has them now."""
    raw = await _read_raw(client, token, advertiser_id, level, object_id)
    if raw is None:
        raise await _gone(client, token, advertiser_id, level, object_id)
    return _state(level, raw)


async def _read_raw(
    client: TikTokClient,
    token: str,
    advertiser_id: str,
    level: str,
    object_id: str,
    *,
    include_deleted: bool = False,
) -> Any | None:
    """The campaign/ad group/ad model, or None when TikTok does not list it."""
    _check_level(level)
    get = {"campaign": client.get_campaigns, "adgroup": client.get_adgroups, "ad": client.get_ads}
    # spec §4.0: the default primary_status STATUS_NOT_DELETE hides deleted objects (and, in
    # the emulator, children of deleted parents), so "not listed" means gone for our purpose.
    found = await get[level](
        token,
        advertiser_id,
        fields=_FIELDS[level],
        filtering={f"{level}_ids": [object_id]},
        include_deleted=include_deleted,
    )
    return next((o for o in found if getattr(o, f"{level}_id") == object_id), None)


async def _gone(
    client: TikTokClient, token: str, advertiser_id: str, level: str, object_id: str
) -> ObjectGoneError:
    """Tell a deleted object from one that never existed (one more read, error path only)."""
    raw = await _read_raw(client, token, advertiser_id, level, object_id, include_deleted=True)
    what = {"campaign": "Campaign", "adgroup": "Ad group", "ad": "Ad"}[level]
    if raw is not None:
        return ObjectGoneError(
            f"{what} {object_id} has been deleted (or its parent has) and cannot be changed.",
            level=level,
            object_id=object_id,
            deleted=True,
        )
    return ObjectGoneError(
        f"{what} {object_id} does not exist in ad account {advertiser_id}.",
        level=level,
        object_id=object_id,
        deleted=False,
    )


def _state(level: str, obj: Any) -> ObjectState:
    """An ObjectState from a client model."""
    budget_mode = getattr(obj, "budget_mode", None)
    budget = getattr(obj, "budget", None)
    # spec §10.16: budget is 0 for BUDGET_MODE_INFINITE; under CBO an ad group has no budget.
    if level == "ad" or budget_mode in NO_BUDGET_MODES or budget_mode is None or not budget:
        budget = None
    bid_field, bid = obj.custom_bid if level == "adgroup" else (None, None)
    return ObjectState(
        status=obj.operation_status or "",
        budget=budget,
        budget_mode=budget_mode if level != "ad" else None,
        bid=bid,
        bid_field=bid_field,
    )


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")


# ---------------------------------------------------------------- changing


def _current(change: Change, state: ObjectState) -> str | Decimal | None:
    """The value the change is about, as the object has it."""
    if change.kind == "status":
        return state.status
    return state.budget if change.kind == "budget" else state.bid


def shape(level: str, state: ObjectState) -> Shape:
    """What core.eligibility decides from, as TikTok reported the object just now (whether
    the campaign uses CBO is not read here: an ad group without a budget says which)."""
    return Shape(
        level,
        state.budget_mode,
        state.budget,
        CUSTOM_BID if state.bid_field else None,
        state.bid,
    )


_NOT_APPLICABLE = {
    Blocked.AD: "An ad has no {kind}; change its ad group instead.",
    Blocked.CAMPAIGN_BID: "Bids are set on ad groups, not campaigns.",
    Blocked.NO_CUSTOM_BID: "Ad group {id} uses automatic bidding (no custom bid to change).",
    Blocked.CAMPAIGN_BUDGET: "The adgroup has no budget of its own: the budget is set on its "
    "campaign (campaign budget optimisation).",
    Blocked.ADGROUP_BUDGETS: "The campaign has no budget of its own: the budget is set on its "
    "ad groups or is unlimited.",
    Blocked.UNLIMITED: "The {level} has no budget of its own: the budget is set on its "
    "campaign (campaign budget optimisation) or is unlimited.",
}


def _check_applicable(level: str, object_id: str, change: Change, state: ObjectState) -> None:
    """Refuse a change the object cannot take, before asking TikTok (core.eligibility)."""
    reason = blocked(change.kind, shape(level, state))
    if reason is not None:
        raise NotApplicableError(
            _NOT_APPLICABLE.get(reason, reason.value).format(
                kind=change.kind, id=object_id, level=level
            ),
            level=level,
            object_id=object_id,
        )


async def _write(
    client: TikTokClient,
    token: str,
    advertiser_id: str,
    level: str,
    object_id: str,
    change: Change,
    state: ObjectState,
) -> None:
    """Send the one API call that makes the change."""
    if change.kind == "status":
        # spec §4.4 / §4.7 / §4.10: statuses change through the */status/update/ endpoints.
        update = {
            "campaign": client.update_campaign_status,
            "adgroup": client.update_adgroup_status,
            "ad": client.update_ad_status,
        }[level]
        result = await update(token, advertiser_id, [object_id], str(change.value))
        if result.errors:
            raise ChangeRefusedError(
                result.errors.get(object_id) or next(iter(result.errors.values())),
                level=level,
                object_id=object_id,
            )
        return
    fields = {"budget" if change.kind == "budget" else str(state.bid_field): change.value}
    if level == "campaign":
        # spec §4.3: campaign_id + budget; budget_mode cannot be switched on update.
        await client.update_campaign(token, advertiser_id, object_id, fields)
    else:
        # spec §4.7: adgroup_id + any mutable field (budget, bid_price, conversion_bid_price).
        await client.update_adgroup(token, advertiser_id, object_id, fields)


def _refusal(
    exc: InvalidRequestError, level: str, object_id: str, change: Change, minimum: Decimal | None
) -> ChangeRefusedError:
    """A typed refusal from TikTok's validation error (spec §4.11: code 40002, free text)."""
    text = exc.message.lower()
    if change.kind == "budget" and "budget" in text and ("least" in text or "minimum" in text):
        return BudgetBelowMinimumError(
            exc.message, level=level, object_id=object_id, code=exc.code, minimum=minimum
        )
    return ChangeRefusedError(exc.message, level=level, object_id=object_id, code=exc.code)


async def apply_change(
    client: TikTokClient,
    token: str,
    advertiser_id: str,
    level: str,
    object_id: str,
    change: Change,
    *,
    currency: str | None = None,
) -> ChangeResult:
    """Make one change unless the object is already there, then read it back to verify.

    `currency` (the ad account's) lets a budget under TikTok's known minimum fail before
    any write; without it TikTok's own refusal says so.
    """
    before = await read_state(client, token, advertiser_id, level, object_id)
    _check_applicable(level, object_id, change, before)
    if _current(change, before) == change.value:
        return ChangeResult(level, object_id, change, before, before, applied=False)
    minimum = (
        budget_minimum(level, currency, before.budget_mode) if change.kind == "budget" else None
    )
    if minimum is not None and Decimal(change.value) < minimum:
        raise BudgetBelowMinimumError(
            f"Budget {change.value} is under TikTok's minimum of {minimum} {currency}.",
            level=level,
            object_id=object_id,
            minimum=minimum,
        )
    try:
        await _write(client, token, advertiser_id, level, object_id, change, before)
    except InvalidRequestError as exc:
        # The object may have been deleted between the read and the write: say so plainly.
        if await _read_raw(client, token, advertiser_id, level, object_id) is None:
            raise await _gone(client, token, advertiser_id, level, object_id) from exc
        if exc.code == 40012:  # spec §8.1 "nothing to update": someone else got there first
            after = await read_state(client, token, advertiser_id, level, object_id)
            if _current(change, after) == change.value:
                return ChangeResult(level, object_id, change, before, after, applied=False)
        raise _refusal(exc, level, object_id, change, minimum) from exc
    after = before
    for attempt in range(VERIFY_READS):
        if attempt:
            await asyncio.sleep(VERIFY_DELAY_SECONDS * attempt)
        after = await read_state(client, token, advertiser_id, level, object_id)
        if _current(change, after) == change.value:
            return ChangeResult(level, object_id, change, before, after, applied=True)
    raise ChangeNotVerifiedError(
        f"TikTok accepted the {change.kind} change to {change.value} but the {level} still "
        f"shows {_current(change, after)}.",
        level=level,
        object_id=object_id,
        after=after,
    )
