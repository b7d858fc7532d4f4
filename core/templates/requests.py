"""The exact TikTok request bodies a launch sends for a template (pure; no I/O).

    campaign_body  -> POST /campaign/create/  (spec §4.2)  client.create_campaign(token, adv, body)
    adgroup_body   -> POST /adgroup/create/   (spec §4.6)  client.create_adgroup(token, adv, body)
    ad_creative    -> one item of `creatives` (spec §4.9)  client.create_ads(token, adv, ag, [...])

Money goes in as `Decimal` in the account's currency (the client's transport writes it as a
JSON number, spec §1.7). Bodies carry a `request_id` when one is given: for campaigns and ad
groups TikTok creates one object for any number of retries with the same id (spec §4.2, §4.6,
§10.13); for ads it documents no such thing (§4.9), so a launch does not rely on it there
(core.launch.runner looks for the object before creating it again).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision

from core.templates.model import PIXEL_GOALS, Template

# spec §4.6: promotion_type is required unless the objective is one of these.
NO_PROMOTION_OBJECTIVES = frozenset({"REACH", "VIDEO_VIEWS", "ENGAGEMENT"})
# spec §4.6: a custom bid is bid_price for CPC/CPM/CPV and conversion_bid_price for OCPM.
CONVERSION_BILLING = frozenset({"OCPM"})
_TIME = "%Y-%m-%d %H:%M:%S"  # spec §1.7: schedule times are UTC "YYYY-MM-DD HH:MM:SS"


@dataclass(frozen=True)
class Account:
    """What a launch knows about one ad account."""

    advertiser_id: str
    currency: str
    pixel_id: str | None = None  # needed when an ad group optimises for a pixel event


@dataclass(frozen=True)
class Media:
    """One creative's uploaded media: a video with its one cover image, or images only."""

    video_id: str | None
    image_ids: tuple[str, ...]


def request_id(*parts: str) -> str:
    """A stable idempotency key for these parts: a positive int64 as a string (spec §4.2)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return str(int.from_bytes(digest[:8], "big") % (2**63 - 1) + 1)


def campaign_body(
    template: Template,
    account: Account,
    *,
    name: str,
    request_id: str | None = None,
    enabled: bool = True,
) -> dict[str, Any]:
    """The body of POST /campaign/create/ (spec §4.2)."""
    spec = template.campaign
    body: dict[str, Any] = {
        "advertiser_id": account.advertiser_id,
        "campaign_name": name,
        "objective_type": spec.objective_type,
        "budget_mode": spec.budget_mode,
        "operation_status": "ENABLE" if enabled else "DISABLE",
    }
    # spec §4.2: budget only with DAY / TOTAL / DYNAMIC_DAILY_BUDGET.
    if spec.budget_mode != "BUDGET_MODE_INFINITE" and spec.budget is not None:
        body["budget"] = _money(spec.budget, account.currency)
    if template.catalog is not None:
        # Shopping ads of a catalog's products on the advertiser's website (spec §4.2
        # campaign_product_source CATALOG, sales_destination WEBSITE).
        body["campaign_product_source"] = "CATALOG"
        body["sales_destination"] = "WEBSITE"
    return _with_request_id(body, request_id)


def adgroup_body(
    template: Template,
    index: int,
    account: Account,
    *,
    campaign_id: str,
    name: str,
    start: datetime,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The body of POST /adgroup/create/ for the template's index-th ad group (spec §4.6);
    `start` (timezone-aware) is when delivery starts, usually the launch moment."""
    g = template.adgroups[index]
    objective = template.campaign.objective_type
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    body: dict[str, Any] = {
        "advertiser_id": account.advertiser_id,
        "campaign_id": campaign_id,
        "adgroup_name": name,
        "placement_type": g.placement_type,
        "location_ids": list(g.location_ids),
        "gender": g.gender,
        "budget_mode": g.budget_mode,
        "budget": _money(g.budget, account.currency),
        "schedule_type": g.schedule_type,
        "schedule_start_time": _utc(start),
        "optimization_goal": g.optimization_goal,
        "billing_event": g.billing_event,
        "bid_type": g.bid_type,
        "pacing": g.pacing,
        "comment_disabled": g.comments_disabled,
    }
    if objective not in NO_PROMOTION_OBJECTIVES:
        body["promotion_type"] = "WEBSITE"  # templates launch landing-page ads only
    if template.catalog is not None:
        # The SDK's AdgroupCreateBody: the catalog and the Business Center that lends it; the
        # shopping_ads_type / product_source values are TikTok's docs' [U] (the emulator's).
        body.update(shopping_ads_type="VIDEO", product_source="CATALOG",
                    catalog_id=template.catalog.catalog_id,
                    catalog_authorized_bc_id=template.catalog.bc_id)
    if g.placement_type == "PLACEMENT_TYPE_NORMAL":
        body["placements"] = list(g.placements)
    if g.languages:
        body["languages"] = list(g.languages)
    if g.age_groups:
        body["age_groups"] = list(g.age_groups)
    included, excluded = g.audiences_for(account.advertiser_id)  # the account's own picks
    if included:
        body["audience_ids"] = list(included)
    if excluded:
        body["excluded_audience_ids"] = list(excluded)
    if g.schedule_type == "SCHEDULE_START_END":
        if g.run_days is None:
            raise ValueError("SCHEDULE_START_END needs run_days (validate the template first)")
        body["schedule_end_time"] = _utc(start + timedelta(days=g.run_days))
    if g.optimization_goal in PIXEL_GOALS:
        if not account.pixel_id:
            raise ValueError(f"{g.optimization_goal} needs the account's pixel_id")
        body["pixel_id"] = account.pixel_id
        body["optimization_event"] = g.optimization_event
    if g.bid_type == "BID_TYPE_CUSTOM":
        if g.bid is None:
            raise ValueError("BID_TYPE_CUSTOM needs a bid (validate the template first)")
        field = "conversion_bid_price" if g.billing_event in CONVERSION_BILLING else "bid_price"
        body[field] = _money(g.bid, account.currency)
        if objective == "VIDEO_VIEWS":
            body["bid_display_mode"] = "CPV"  # spec §4.6
    return _with_request_id(body, request_id)


def ad_creative(
    template: Template,
    *,
    name: str,
    media: Media,
    identity_id: str,
    identity_type: str = "CUSTOMIZED_USER",
    text_index: int = 0,
) -> dict[str, Any]:
    """One item of POST /ad/create/ `creatives` for a creative (spec §4.9); the ad text is
    the template's `text_index`-th text (texts take turns over the creatives)."""
    ad = template.ad
    creative: dict[str, Any] = {
        "ad_name": name,
        "ad_text": ad.text_for(text_index),
        "identity_id": identity_id,
        "identity_type": identity_type,
        "call_to_action": ad.call_to_action,
        "landing_page_url": ad.landing_url,  # TikTok fills in its __MACROS__ on click
    }
    if media.video_id:
        # spec §4.9: a video ad takes exactly one cover image with the same aspect ratio.
        if len(media.image_ids) != 1:
            raise ValueError("a video ad needs exactly one cover image")
        creative.update(
            ad_format="SINGLE_VIDEO", video_id=media.video_id, image_ids=list(media.image_ids)
        )
    elif media.image_ids:
        creative.update(ad_format="SINGLE_IMAGE", image_ids=list(media.image_ids))
    else:
        raise ValueError("a creative needs a video or images")
    if template.catalog is not None:
        creative["product_set_id"] = template.catalog.product_set_id  # ad/get lists it (§4.8)
    return creative


def _with_request_id(body: dict[str, Any], request_id: str | None) -> dict[str, Any]:
    if request_id is not None:
        body["request_id"] = request_id
    return body


def _money(amount: Decimal, currency: str) -> Decimal:
    # The account's currency sets the cents (JPY has none); check_for_launch reports amounts
    # that do not fit, so reaching here with one is a bug, not a user error.
    digits = get_currency_precision(currency.upper())
    exact = amount.quantize(Decimal(1).scaleb(-digits))
    if exact != amount:
        raise ValueError(f"{amount} does not fit {currency} (run check_for_launch first)")
    return exact


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime(_TIME)
