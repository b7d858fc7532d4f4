"""A rule as data: scope level, conditions (AND/OR groups) with per-condition windows, action."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple


class Level(StrEnum):
    """What a rule looks at and acts on."""

    CAMPAIGN = "campaign"
    ADGROUP = "adgroup"
    AD = "ad"


METRICS = (
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "ctr",
    "cpc",
    "cpm",
    "cpa",
    "cvr",
    "purchase_value",
    "roas",
    "budget",
    "budget_spent_pct",
    "age_days",
    "bid",
    "target",
    # Tracker metrics (issue 12): the affiliate tracker's approved numbers beside TikTok spend.
    "revenue",
    "profit",
    "roi",
    "epc",
    "tracker_cpa",
    "tracker_clicks",
    "tracker_conversions",
)
# Read from the tracker's daily rows (storage TrackerDaily, money in the ad account's currency):
# revenue is approved revenue; profit = revenue − TikTok spend; roi = profit / spend × 100;
# epc = revenue / tracker clicks; tracker_cpa = spend / tracker conversions. Trackers report
# days, not hours, so these take no "last hour" window (core.rules.tracker).
TRACKER_METRICS = (
    "revenue",
    "profit",
    "roi",
    "epc",
    "tracker_cpa",
    "tracker_clicks",
    "tracker_conversions",
)
# The ad group's own bid as synced (the custom bid, cost cap or target CPA: core.tiktok.models
# AdGroup.custom_bid); an ad reads its ad group's. `target` is another name for it, kept as
# typed. A campaign has none (spec §4.6: bids are set on ad groups), so rules at campaign level
# cannot read it. Like budget it is a value now, not summed over a window.
BID_METRICS = ("bid", "target")
# An object's delivery status, read from TikTok's secondary status (spec §4: prefixed per
# level, e.g. AD_STATUS_AUDIT_DENY): compared with = or != and read as it is now (no window).
STATUS = "status"
STATUSES = ("delivering", "not_delivering", "paused", "in_review", "rejected", "budget_exceeded")
SPANS = ("last_hour", "today", "yesterday", "3d", "7d", "14d", "30d", "lifetime")
# Multi-day spans end yesterday unless today is included (as TikTok's own rules count them).
MULTI_DAY = ("3d", "7d", "14d", "30d")


class Op(StrEnum):
    """A comparison."""

    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    EQ = "="
    NE = "!="
    BETWEEN = "between"


class Window(NamedTuple):
    """The span a condition's metric is summed over."""

    # A named tuple, not a dataclass: windows key the sums every condition reads (hundreds of
    # thousands of dict lookups per batch), and a tuple hashes in C where a dataclass's
    # __hash__ is a Python call on every lookup. Same fields, defaults, equality and repr.
    span: str = "today"
    include_today: bool = False  # only meaningful for multi-day spans


@dataclass(frozen=True)
class Operand:
    """A number, or a number times another metric of the same object (1.5 × cpa)."""

    value: Decimal
    metric: str | None = None


@dataclass(frozen=True)
class Condition:
    """`metric op operand in window` (with `upper` for between), or `status op word`."""

    metric: str
    op: Op
    operand: Operand
    window: Window = Window()  # noqa: RUF009 (a named tuple: immutable, safe to share)
    upper: Operand | None = None
    word: str | None = None  # the status compared with, for `status = rejected`


@dataclass(frozen=True)
class Group:
    """Conditions joined by one boolean operator."""

    joiner: str  # "and" | "or"
    items: tuple[Condition | Group, ...]


class ActionKind(StrEnum):
    """What a rule does to a matching object."""

    PAUSE = "pause"
    ENABLE = "enable"
    NOTIFY = "notify"
    PAUSE_TODAY = "pause_today"  # re-enabled at the account's midnight
    BUDGET = "budget"
    BID = "bid"


@dataclass(frozen=True)
class Action:
    """An action; budget and bid changes carry how (set, percent, amount) and their bounds."""

    kind: ActionKind
    mode: str | None = None  # "set" | "pct" | "amount" (amount and pct are signed)
    value: Decimal | None = None
    floor: Decimal | None = None
    ceiling: Decimal | None = None
    # Budget/bid only: the level above the rule's whose value changes ("budget of campaign":
    # an ad-group rule acting on its campaign's budget, e.g. under CBO); None: the object's own.
    on: str | None = None


@dataclass(frozen=True)
class RuleSpec:
    """Level, conditions and action: everything the one-line text form says."""

    level: Level
    when: Condition | Group
    action: Action


def named(cond: Condition) -> tuple[str, ...]:
    """The metrics a condition names: its own and those of its operands (`1.5 x cpa`)."""
    return tuple(
        m
        for m in (cond.metric, cond.operand.metric, cond.upper.metric if cond.upper else None)
        if m is not None
    )


def reads_tracker(cond: Condition) -> bool:
    """Whether a condition names a tracker metric on either side."""
    return any(m in TRACKER_METRICS for m in named(cond))


def parents(level: str, kind: str) -> tuple[str, ...]:
    """The levels above `level` whose `kind` ("budget"/"bid") a rule may change: budgets live
    on campaigns and ad groups, bids on ad groups only (core.eligibility)."""
    above = {"campaign": (), "adgroup": ("campaign",), "ad": ("adgroup", "campaign")}[level]
    return tuple(p for p in above if kind == "budget" or p == "adgroup")


def status_word(operation_status: str | None, secondary_status: str | None) -> str:
    """One of STATUSES for an object's operation and secondary status (spec §4)."""
    secondary = (secondary_status or "").upper()
    if operation_status == "DISABLE" or secondary.endswith("_STATUS_DISABLE"):
        return "paused"
    if "AUDIT_DENY" in secondary:
        return "rejected"
    if secondary.endswith(("_AUDIT", "_REAUDIT")):
        return "in_review"
    if "EXCEED" in secondary:
        return "budget_exceeded"
    # No secondary status (TikTok's sandbox leaves it out) on an object that is on: delivering.
    if not secondary or secondary.endswith(("DELIVERY_OK", "CAMPAIGN_STATUS_ENABLE")):
        return "delivering"
    return "not_delivering"
