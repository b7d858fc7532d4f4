"""What every tracker client offers, whatever its API (shared/spec/trackers-binom-keitaro.md).

The three kinds differ in paths, auth, envelopes and date formats; the use-cases (connect, map,
push, pull) see only this module. A client never stores anything and never retries on its own
beyond what `retryable` errors invite: the caller decides (back-off, status in Integrations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal, Protocol

TrackerKind = Literal["keitaro", "binom1", "binom2"]
KINDS: tuple[TrackerKind, ...] = ("keitaro", "binom1", "binom2")

# TikTok levels whose ids reach the tracker through landing-URL macros (spec §4).
Level = Literal["campaign", "adgroup", "ad"]
MACROS: Mapping[Level, str] = {
    "campaign": "__CAMPAIGN_ID__",
    "adgroup": "__AID__",
    "ad": "__CID__",
}


class TrackerError(Exception):
    """A tracker call failed; `reason` says how, for the user's message and the status line.

    reason: bad_url (no tracker answers there) | bad_key (401/403, or Binom's key error) |
    wrong_kind (answers, but not as this kind/version does) | edition (Keitaro 402) |
    timeout | not_json (HTML or garbage where JSON belongs) | unavailable (5xx, 429) |
    not_found (a campaign id it does not know) | refused (it understood and said no).
    """

    def __init__(
        self,
        reason: str,
        detail: str = "",
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail  # the tracker's own words, trimmed; never the key
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class TrackerCampaign:
    """A tracker campaign as listed, with where it puts each TikTok id it receives."""

    id: str
    name: str
    active: bool
    # TikTok level -> the click field holding that id: a Keitaro parameter ("ad_campaign_id",
    # "creative_id", "sub_id_1"…) or a Binom token ("t1".."t10"). Empty: not passed.
    id_fields: Mapping[Level, str] = field(default_factory=dict)
    link: str | None = None  # the campaign's click URL, to build a TikTok landing URL from


@dataclass(frozen=True)
class CostItem:
    """One day's total cost for a tracker campaign, optionally for the clicks of one TikTok id.

    Pushing replaces what the tracker held for that segment (spec §0), so `cost` is a total.
    """

    campaign_id: str
    day: date  # a day in `time_zone`
    time_zone: str  # IANA name: the ad account's zone, so days match TikTok's
    cost: Decimal
    currency: str
    id_field: str | None = None  # click field to filter on (see TrackerCampaign.id_fields)
    id_value: str | None = None  # the TikTok id in that field


@dataclass(frozen=True)
class PushOutcome:
    """What the tracker answered to one cost item (for the push log)."""

    item: CostItem
    ok: bool
    answer: str  # the tracker's words, trimmed to 300 characters


@dataclass(frozen=True)
class RevenueRow:
    """A tracker's numbers for one campaign, one day (click date) and one id value."""

    campaign_id: str
    day: date
    id_value: str | None  # the grouping field's value (a TikTok id); None: campaign total
    clicks: int
    conversions: int  # approved (Keitaro sales; Binom leads)
    pending: int  # Keitaro leads awaiting approval; 0 where the kind does not say
    rejected: int
    revenue: Decimal  # approved revenue, in the tracker's currency
    pending_revenue: Decimal = Decimal(0)


class TrackerClient(Protocol):
    """The calls the use-cases make; one instance per tracker connection."""

    kind: TrackerKind

    async def list_campaigns(self) -> list[TrackerCampaign]:
        """Every campaign the key can see (not deleted), all pages."""
        ...

    async def push_costs(self, items: Sequence[CostItem]) -> list[PushOutcome]:
        """Send the items in the fewest calls the API allows; one outcome per item, in order."""
        ...

    async def pull(
        self,
        campaign_ids: Sequence[str],
        id_field: str | None,
        start: date,
        end: date,
        time_zone: str,
    ) -> list[RevenueRow]:
        """Per campaign, day (start..end inclusive, in `time_zone`) and value of `id_field`."""
        ...

    async def close(self) -> None:
        """Release the HTTP session."""
        ...
