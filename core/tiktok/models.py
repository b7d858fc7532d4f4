"""Typed, immutable views of TikTok Marketing API objects (spec §2-§6).

Ids stay strings, money becomes Decimal, timestamps become aware UTC datetimes. Each model
keeps the full API object in `raw` (not compared, not shown in repr) for fields not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.tiktok.parsing import (
    as_mapping,
    id_str,
    opt_id,
    opt_str,
    str_tuple,
    to_bool,
    to_decimal,
    to_int,
    utc_datetime,
)


def _raw() -> Any:
    return field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """Result of exchanging an auth code (spec §2.3)."""

    access_token: str = field(repr=False)
    advertiser_ids: tuple[str, ...]
    scope: tuple[int | str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TokenGrant:
        """Build from `oauth2/access_token` data."""
        scope = tuple(s if isinstance(s, int) else str(s) for s in data.get("scope") or ())
        return cls(
            access_token=str(data.get("access_token") or ""),
            advertiser_ids=str_tuple(data.get("advertiser_ids")),
            scope=scope,
        )


@dataclass(frozen=True, slots=True)
class AuthorizedAdvertiser:
    """One ad account a token can access (spec §2.5)."""

    advertiser_id: str
    advertiser_name: str

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> AuthorizedAdvertiser:
        """Build from an `oauth2/advertiser/get` list item."""
        return cls(id_str(item.get("advertiser_id")), str(item.get("advertiser_name") or ""))


@dataclass(frozen=True, slots=True)
class RevokeResult:
    """Result of revoking a token (spec §2.6)."""

    app_id: str
    advertiser_ids: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RevokeResult:
        """Build from `oauth2/revoke_token` data."""
        return cls(id_str(data.get("app_id")), str_tuple(data.get("advertiser_ids")))


@dataclass(frozen=True, slots=True)
class Advertiser:
    """An ad account (spec §3.1); `display_timezone` is the one for report days."""

    advertiser_id: str
    name: str
    status: str | None
    currency: str | None
    timezone: str | None
    display_timezone: str | None
    company: str | None = None
    role: str | None = None
    country: str | None = None
    language: str | None = None
    balance: Decimal | None = None
    create_time: datetime | None = None
    owner_bc_id: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Advertiser:
        """Build from an `advertiser/info` list item."""
        return cls(
            advertiser_id=id_str(item.get("advertiser_id")),
            name=str(item.get("name") or ""),
            status=opt_str(item.get("status")),
            currency=opt_str(item.get("currency")),
            timezone=opt_str(item.get("timezone")),
            display_timezone=opt_str(item.get("display_timezone")),
            company=opt_str(item.get("company")),
            role=opt_str(item.get("role")),
            country=opt_str(item.get("country")),
            language=opt_str(item.get("language")),
            balance=to_decimal(item.get("balance")),
            create_time=utc_datetime(item.get("create_time")),
            owner_bc_id=opt_id(item.get("owner_bc_id")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class BusinessCenter:
    """A Business Center the token's user belongs to (spec §3.2)."""

    bc_id: str
    name: str
    company: str | None
    currency: str | None
    status: str | None
    timezone: str | None
    type: str | None
    user_role: str | None
    finance_role: str | None = None
    registered_area: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> BusinessCenter:
        """Build from a `bc/get` list item."""
        info = as_mapping(item.get("bc_info"))
        ext = as_mapping(item.get("ext_user_role"))
        return cls(
            bc_id=id_str(info.get("bc_id")),
            name=str(info.get("name") or ""),
            company=opt_str(info.get("company")),
            currency=opt_str(info.get("currency")),
            status=opt_str(info.get("status")),
            timezone=opt_str(info.get("timezone")),
            type=opt_str(info.get("type")),
            user_role=opt_str(item.get("user_role")),
            finance_role=opt_str(ext.get("finance_role")),
            registered_area=opt_str(info.get("registered_area")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign (spec §4.1); `budget` is 0 for BUDGET_MODE_INFINITE."""

    campaign_id: str
    advertiser_id: str
    campaign_name: str
    objective_type: str | None
    budget_mode: str | None
    budget: Decimal | None
    operation_status: str | None
    secondary_status: str | None
    create_time: datetime | None = None
    modify_time: datetime | None = None
    budget_optimize_on: bool | None = None  # campaign budget optimisation (CBO)
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Campaign:
        """Build from a `campaign/get` list item."""
        return cls(
            campaign_id=id_str(item.get("campaign_id")),
            advertiser_id=id_str(item.get("advertiser_id")),
            campaign_name=str(item.get("campaign_name") or ""),
            objective_type=opt_str(item.get("objective_type")),
            budget_mode=opt_str(item.get("budget_mode")),
            budget=to_decimal(item.get("budget")),
            operation_status=opt_str(item.get("operation_status")),
            secondary_status=opt_str(item.get("secondary_status")),
            create_time=utc_datetime(item.get("create_time")),
            modify_time=utc_datetime(item.get("modify_time")),
            budget_optimize_on=(
                None
                if item.get("budget_optimize_on") is None
                else bool(item.get("budget_optimize_on"))
            ),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class AdGroup:
    """An ad group (spec §4.5); schedule times are UTC."""

    adgroup_id: str
    campaign_id: str
    advertiser_id: str
    adgroup_name: str
    operation_status: str | None
    secondary_status: str | None
    budget_mode: str | None
    budget: Decimal | None
    bid_type: str | None = None
    bid_price: Decimal | None = None
    conversion_bid_price: Decimal | None = None
    optimization_goal: str | None = None
    billing_event: str | None = None
    placement_type: str | None = None
    schedule_type: str | None = None
    schedule_start_time: datetime | None = None
    schedule_end_time: datetime | None = None
    create_time: datetime | None = None
    modify_time: datetime | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> AdGroup:
        """Build from an `adgroup/get` list item."""
        return cls(
            adgroup_id=id_str(item.get("adgroup_id")),
            campaign_id=id_str(item.get("campaign_id")),
            advertiser_id=id_str(item.get("advertiser_id")),
            adgroup_name=str(item.get("adgroup_name") or ""),
            operation_status=opt_str(item.get("operation_status")),
            secondary_status=opt_str(item.get("secondary_status")),
            budget_mode=opt_str(item.get("budget_mode")),
            budget=to_decimal(item.get("budget")),
            bid_type=opt_str(item.get("bid_type")),
            bid_price=to_decimal(item.get("bid_price")),
            conversion_bid_price=to_decimal(item.get("conversion_bid_price")),
            optimization_goal=opt_str(item.get("optimization_goal")),
            billing_event=opt_str(item.get("billing_event")),
            placement_type=opt_str(item.get("placement_type")),
            schedule_type=opt_str(item.get("schedule_type")),
            schedule_start_time=utc_datetime(item.get("schedule_start_time")),
            schedule_end_time=utc_datetime(item.get("schedule_end_time")),
            create_time=utc_datetime(item.get("create_time")),
            modify_time=utc_datetime(item.get("modify_time")),
            raw=dict(item),
        )

    @property
    def custom_bid(self) -> tuple[str | None, Decimal | None]:
        """The field holding the ad group's own bid and its value; (None, None) when the bid
        strategy sets none. Spec §4.6: with BID_TYPE_CUSTOM, `conversion_bid_price` (the cost
        cap / target CPA) under billing OCPM, else `bid_price` (CPC/CPM/CPV). A deep-funnel
        `deep_cpa_bid` bids on a later event than the conversion rules count, so it is not it."""
        if self.bid_type != "BID_TYPE_CUSTOM":
            return None, None
        field = "conversion_bid_price" if self.billing_event == "OCPM" else "bid_price"
        value: Decimal | None = getattr(self, field)
        return field, value


@dataclass(frozen=True, slots=True)
class Ad:
    """An ad (spec §4.8); `modify_time` can be missing on Smart+ ads."""

    ad_id: str
    adgroup_id: str
    campaign_id: str
    advertiser_id: str
    ad_name: str
    operation_status: str | None
    secondary_status: str | None
    ad_format: str | None = None
    ad_text: str | None = None
    video_id: str | None = None
    image_ids: tuple[str, ...] = ()
    identity_id: str | None = None
    identity_type: str | None = None
    call_to_action: str | None = None
    landing_page_url: str | None = None
    create_time: datetime | None = None
    modify_time: datetime | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Ad:
        """Build from an `ad/get` list item."""
        return cls(
            ad_id=id_str(item.get("ad_id")),
            adgroup_id=id_str(item.get("adgroup_id")),
            campaign_id=id_str(item.get("campaign_id")),
            advertiser_id=id_str(item.get("advertiser_id")),
            ad_name=str(item.get("ad_name") or ""),
            operation_status=opt_str(item.get("operation_status")),
            secondary_status=opt_str(item.get("secondary_status")),
            ad_format=opt_str(item.get("ad_format")),
            ad_text=opt_str(item.get("ad_text")),
            video_id=opt_id(item.get("video_id")),
            image_ids=str_tuple(item.get("image_ids")),
            # spec §4.8: old ads show identity_type "UNSET" with an empty identity_id.
            identity_id=opt_id(item.get("identity_id")),
            identity_type=opt_str(item.get("identity_type")),
            call_to_action=opt_str(item.get("call_to_action")),
            landing_page_url=opt_str(item.get("landing_page_url")),
            create_time=utc_datetime(item.get("create_time")),
            modify_time=utc_datetime(item.get("modify_time")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class StatusUpdateResult:
    """Outcome of a `*/status/update` call; `errors` maps id -> message on partial success."""

    ids: tuple[str, ...]
    status: str | None
    errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """An uploaded ad video (spec §5.1); cover/preview URLs expire."""

    video_id: str
    file_name: str | None
    width: int | None
    height: int | None
    duration: Decimal | None
    size: int | None
    format: str | None
    signature: str | None
    material_id: str | None = None
    bit_rate: int | None = None
    video_cover_url: str | None = None
    preview_url: str | None = None
    preview_url_expire_time: datetime | None = None
    displayable: bool | None = None
    allow_download: bool | None = None
    allowed_placements: tuple[str, ...] = ()
    create_time: datetime | None = None
    modify_time: datetime | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> VideoInfo:
        """Build from a video object (upload or info)."""
        return cls(
            video_id=id_str(item.get("video_id")),
            file_name=opt_str(item.get("file_name")),
            width=to_int(item.get("width")),
            height=to_int(item.get("height")),
            duration=to_decimal(item.get("duration")),
            size=to_int(item.get("size")),
            format=opt_str(item.get("format")),
            signature=opt_str(item.get("signature")),
            material_id=opt_id(item.get("material_id")),
            bit_rate=to_int(item.get("bit_rate")),
            video_cover_url=opt_str(item.get("video_cover_url")),
            preview_url=opt_str(item.get("preview_url")),
            preview_url_expire_time=utc_datetime(item.get("preview_url_expire_time")),
            displayable=to_bool(item.get("displayable")),
            allow_download=to_bool(item.get("allow_download")),
            allowed_placements=str_tuple(item.get("allowed_placements")),
            create_time=utc_datetime(item.get("create_time")),
            modify_time=utc_datetime(item.get("modify_time")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """An uploaded ad image (spec §5.2); `image_url` is a short-lived signed URL."""

    image_id: str
    file_name: str | None
    width: int | None
    height: int | None
    format: str | None
    signature: str | None
    size: int | None
    image_url: str | None = None
    material_id: str | None = None
    displayable: bool | None = None
    is_carousel_usable: bool | None = None
    create_time: datetime | None = None
    modify_time: datetime | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> ImageInfo:
        """Build from an image object (upload or info)."""
        return cls(
            image_id=id_str(item.get("image_id")),
            file_name=opt_str(item.get("file_name")),
            width=to_int(item.get("width")),
            height=to_int(item.get("height")),
            format=opt_str(item.get("format")),
            signature=opt_str(item.get("signature")),
            size=to_int(item.get("size")),
            image_url=opt_str(item.get("image_url")),
            material_id=opt_id(item.get("material_id")),
            displayable=to_bool(item.get("displayable")),
            is_carousel_usable=to_bool(item.get("is_carousel_usable")),
            create_time=utc_datetime(item.get("create_time")),
            modify_time=utc_datetime(item.get("modify_time")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class Identity:
    """An ad identity (spec §6.1); CUSTOMIZED_USER ones are made through the API."""

    identity_id: str
    identity_type: str | None
    display_name: str | None
    profile_image: str | None = None
    identity_authorized_bc_id: str | None = None
    available_status: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Identity:
        """Build from an `identity/get` list item."""
        return cls(
            identity_id=id_str(item.get("identity_id")),
            identity_type=opt_str(item.get("identity_type")),
            display_name=opt_str(item.get("display_name")),
            profile_image=opt_str(item.get("profile_image")),
            identity_authorized_bc_id=opt_id(item.get("identity_authorized_bc_id")),
            available_status=opt_str(item.get("available_status")),
            raw=dict(item),
        )
