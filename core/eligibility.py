"""Whether a budget or bid change can happen on an object at all, and if not, why.

The one place that decides it, from an object's structure as synced (or as just read from
TikTok): rules skip what cannot take their change instead of asking about it, the Manage card
offers only the buttons that can work, and `core.changes` refuses the rest before writing.
What it allows is exactly what TikTok accepts (tests/contract/test_eligibility.py holds it to
the emulator), so an approval, once pressed, can be made.

TikTok's terms (spec §4.0-§4.7):
- a budget lives on a campaign (`budget_optimize_on`: campaign budget optimisation, CBO, or a
  campaign-level cap) or on its ad groups; under CBO the ad groups have none of their own
  (§4.6: their budget fields are ignored and read back as BUDGET_MODE_INFINITE);
- BUDGET_MODE_INFINITE means no budget: there is no amount to change (§4.3 / §4.7: a budget
  cannot be sent for it and the mode cannot be switched on update);
- daily (DAY, DYNAMIC_DAILY_BUDGET) and lifetime (TOTAL) budgets can both be changed;
- a bid lives on an ad group with `bid_type` BID_TYPE_CUSTOM (bid_price, or
  conversion_bid_price when billed OCPM, §4.6); BID_TYPE_NO_BID (lowest cost, maximum
  delivery) has no bid to change; campaigns and ads have no bid;
- ads have neither: theirs are their ad group's and campaign's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

INFINITE = "BUDGET_MODE_INFINITE"
CUSTOM_BID = "BID_TYPE_CUSTOM"


class Blocked(StrEnum):
    """Why a budget or bid change cannot happen on an object (codes the chat translates)."""

    AD = "ad_level"  # an ad has neither: they are its ad group's / campaign's
    CAMPAIGN_BUDGET = "campaign_budget"  # ad group under CBO: the budget is the campaign's
    ADGROUP_BUDGETS = "adgroup_budgets"  # campaign without a budget: its ad groups have them
    UNLIMITED = "unlimited"  # BUDGET_MODE_INFINITE (or no amount synced)
    NO_CUSTOM_BID = "no_custom_bid"  # a bid strategy without a custom bid (lowest cost)
    CAMPAIGN_BID = "campaign_bid"  # campaigns have no bid: bids are set on ad groups
    PARENT_UNKNOWN = "parent_unknown"  # the campaign/ad group a rule names is not synced


@dataclass(frozen=True)
class Shape:
    """What decides it: an object's level, budget and bid as TikTok has them.

    `cbo` is the campaign's budget_optimize_on — the object's own for a campaign, its
    campaign's for an ad group; None when not known (a live read of an ad group alone).
    """

    level: str
    budget_mode: str | None = None
    budget: Decimal | None = None
    bid_type: str | None = None
    bid: Decimal | None = None
    cbo: bool | None = None


class Synced(Protocol):
    """A synced campaign, ad group or ad (storage's AdObject or the rules' ObjectRow)."""

    @property
    def level(self) -> str: ...
    @property
    def budget_mode(self) -> str | None: ...
    @property
    def budget(self) -> Decimal | None: ...
    @property
    def bid_type(self) -> str | None: ...
    @property
    def bid(self) -> Decimal | None: ...
    @property
    def budget_optimize_on(self) -> bool | None: ...


def shape_of(obj: Synced, campaign: Synced | None) -> Shape:
    """The shape of a synced object; `campaign` is its campaign (for an ad group's CBO)."""
    cbo = obj.budget_optimize_on if obj.level == "campaign" else None
    if obj.level == "adgroup" and campaign is not None:
        cbo = campaign.budget_optimize_on
    return Shape(obj.level, obj.budget_mode, obj.budget, obj.bid_type, obj.bid, cbo)


def budget_blocked(shape: Shape) -> Blocked | None:
    """Why the object's budget cannot be changed; None when it can."""
    if shape.level == "ad":
        return Blocked.AD
    if shape.level == "adgroup" and shape.cbo:
        return Blocked.CAMPAIGN_BUDGET
    if shape.budget_mode is None or shape.budget_mode == INFINITE or not shape.budget:
        # An ABO campaign without an amount of its own leaves budgets to its ad groups.
        if shape.level == "campaign" and not shape.cbo:
            return Blocked.ADGROUP_BUDGETS
        return Blocked.UNLIMITED
    return None


def bid_blocked(shape: Shape) -> Blocked | None:
    """Why the object's bid cannot be changed; None when it can."""
    if shape.level == "ad":
        return Blocked.AD
    if shape.level == "campaign":
        return Blocked.CAMPAIGN_BID
    if shape.bid_type != CUSTOM_BID or not shape.bid:
        return Blocked.NO_CUSTOM_BID
    return None


def blocked(kind: str, shape: Shape) -> Blocked | None:
    """Why a change of `kind` ("budget", "bid"; a status always can) cannot happen."""
    if kind == "budget":
        return budget_blocked(shape)
    if kind == "bid":
        return bid_blocked(shape)
    return None
