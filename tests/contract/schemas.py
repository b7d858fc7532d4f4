"""Response schemas written from shared/spec/tiktok-marketing-api.md (not from the emulator).

`check_response(method, path, query, http_status, body)` returns a list of problems for one
HTTP reply; contract tests apply it to every reply through an aiohttp trace hook.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from sandbox.tiktok.catalogue import CATALOGUE

Num = StrictInt | float  # JSON numbers: budgets, bids, balance (spec §1.7)
NumericId = Annotated[StrictStr, Field(pattern=r"^\d{1,20}$")]  # 64-bit ids as strings §1.7
UtcTime = Annotated[StrictStr, Field(pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")]
IsoTime = Annotated[StrictStr, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]
Md5 = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{32}$")]

OPERATION_STATUS = Literal["ENABLE", "DISABLE", "FROZEN"]  # §4.0 (FROZEN on ads)
BUDGET_MODE = Literal[
    "BUDGET_MODE_INFINITE",
    "BUDGET_MODE_DAY",
    "BUDGET_MODE_TOTAL",
    "BUDGET_MODE_DYNAMIC_DAILY_BUDGET",
]
ADV_STATUS = Literal[
    "STATUS_ENABLE",
    "STATUS_DISABLE",
    "STATUS_PENDING_CONFIRM",
    "STATUS_PENDING_VERIFIED",
    "STATUS_CONFIRM_FAIL",
    "STATUS_CONFIRM_FAIL_END",
    "STATUS_PENDING_CONFIRM_MODIFY",
    "STATUS_CONFIRM_MODIFY_FAIL",
    "STATUS_LIMIT",
    "STATUS_WAIT_FOR_BPM_AUDIT",
    "STATUS_WAIT_FOR_PUBLIC_AUTH",
    "STATUS_SELF_SERVICE_UNAUDITED",
    "STATUS_CONTRACT_PENDING",
]
ADV_ROLE = Literal["ROLE_ADVERTISER", "ROLE_CHILD_ADVERTISER", "ROLE_AGENT", "ROLE_CHILD_AGENT"]
IDENTITY_TYPE = Literal["CUSTOMIZED_USER", "AUTH_CODE", "TT_USER", "BC_AUTH_TT"]


class _Obj(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Envelope(_Obj):
    """§1.5: every reply, success or error."""

    code: StrictInt
    message: StrictStr
    request_id: StrictStr
    data: dict[str, Any] | list[Any] | None = None


class PageInfo(_Obj):
    """§1.6."""

    page: StrictInt = Field(ge=1)
    page_size: StrictInt = Field(ge=1)
    total_number: StrictInt = Field(ge=0)
    total_page: StrictInt = Field(ge=0)


class TokenData(_Obj):
    """§2.3 (advertiser ids strings in v1.3; scope integers, strings accepted)."""

    access_token: StrictStr = Field(min_length=1)
    advertiser_ids: list[NumericId] | None = None
    scope: list[StrictInt | StrictStr]


class AuthorizedAdvertiser(_Obj):
    """§2.5."""

    advertiser_id: NumericId
    advertiser_name: StrictStr


class AuthorizedList(_Obj):
    """§2.5 data."""

    list: list[AuthorizedAdvertiser]


class RevokeData(_Obj):
    """§2.6."""

    app_id: StrictStr
    advertiser_ids: list[NumericId]


class AdvertiserInfo(_Obj):
    """§3.1 (create_time is Unix seconds, balance a number)."""

    advertiser_id: NumericId
    name: StrictStr | None = None
    company: StrictStr | None = None
    status: ADV_STATUS | None = None
    role: ADV_ROLE | None = None
    rejection_reason: StrictStr | None = None
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] | None = None
    timezone: StrictStr | None = None
    display_timezone: StrictStr | None = None
    country: StrictStr | None = None
    language: StrictStr | None = None
    industry: StrictStr | None = None
    email: StrictStr | None = None
    balance: Num | None = None
    create_time: StrictInt | None = None
    owner_bc_id: NumericId | None = None


class AdvertiserList(_Obj):
    """§3.1 data."""

    list: list[AdvertiserInfo]


class BcInfo(_Obj):
    """§3.2."""

    bc_id: NumericId
    name: StrictStr
    company: StrictStr | None = None
    currency: StrictStr | None = None
    registered_area: StrictStr | None = None
    status: Literal["REVIEWING", "DENY", "ENABLE", "PUNISH"] | None = None
    timezone: StrictStr | None = None
    type: Literal["NORMAL", "DIRECT", "AGENCY", "SELF_SERVICE", "SELF_SERVICE_AGENCY"] | None = None


class ExtUserRole(_Obj):
    """§3.2 ext_user_role."""

    finance_role: StrictStr | None = None


class BcItem(_Obj):
    """§3.2 list item."""

    bc_info: BcInfo
    user_role: Literal["ADMIN", "STANDARD"] | None = None
    ext_user_role: ExtUserRole | None = None


class BcList(_Obj):
    """§3.2 data."""

    list: list[BcItem]
    page_info: PageInfo


class Campaign(_Obj):
    """§4.1 (budget a number, times "YYYY-MM-DD HH:MM:SS" UTC)."""

    campaign_id: NumericId
    advertiser_id: NumericId | None = None
    campaign_name: StrictStr | None = None
    campaign_type: StrictStr | None = None
    objective_type: StrictStr | None = None
    budget: Num | None = None
    budget_mode: BUDGET_MODE | None = None
    operation_status: OPERATION_STATUS | None = None
    secondary_status: StrictStr | None = None
    roas_bid: Num | None = None
    is_new_structure: StrictBool | None = None
    is_smart_performance_campaign: StrictBool | None = None
    budget_optimize_on: StrictBool | None = None
    create_time: UtcTime | None = None
    modify_time: UtcTime | None = None


class AdGroup(_Obj):
    """§4.5."""

    adgroup_id: NumericId
    campaign_id: NumericId | None = None
    advertiser_id: NumericId | None = None
    adgroup_name: StrictStr | None = None
    campaign_name: StrictStr | None = None
    operation_status: OPERATION_STATUS | None = None
    secondary_status: StrictStr | None = None
    budget: Num | None = None
    budget_mode: BUDGET_MODE | None = None
    bid_price: Num | None = None
    conversion_bid_price: Num | None = None
    bid_type: StrictStr | None = None
    billing_event: StrictStr | None = None
    optimization_goal: StrictStr | None = None
    pacing: StrictStr | None = None
    placement_type: StrictStr | None = None
    placements: list[StrictStr] | None = None
    schedule_type: StrictStr | None = None
    schedule_start_time: UtcTime | None = None
    schedule_end_time: UtcTime | None = None
    dayparting: StrictStr | None = None
    location_ids: list[StrictStr | StrictInt] | None = None  # ints in older records, §4.5
    age_groups: list[StrictStr] | None = None
    gender: StrictStr | None = None
    languages: list[StrictStr] | None = None
    audience_ids: list[StrictStr] | None = None
    identity_id: StrictStr | None = None
    identity_type: StrictStr | None = None
    pixel_id: StrictStr | None = None
    comment_disabled: StrictBool | None = None
    create_time: UtcTime | None = None
    modify_time: UtcTime | None = None


class Ad(_Obj):
    """§4.8."""

    ad_id: NumericId
    adgroup_id: NumericId | None = None
    campaign_id: NumericId | None = None
    advertiser_id: NumericId | None = None
    ad_name: StrictStr | None = None
    ad_text: StrictStr | None = None
    ad_texts: list[StrictStr] | None = None
    ad_format: StrictStr | None = None
    video_id: StrictStr | None = None
    image_ids: list[StrictStr] | None = None
    identity_id: StrictStr | None = None
    identity_type: StrictStr | None = None
    call_to_action: StrictStr | None = None
    call_to_action_id: StrictStr | None = None
    landing_page_url: StrictStr | None = None
    display_name: StrictStr | None = None
    operation_status: OPERATION_STATUS | None = None
    secondary_status: StrictStr | None = None
    is_aco: StrictBool | None = None
    creative_authorized: StrictBool | None = None
    page_id: StrictStr | StrictInt | None = None  # a number on some ads, §1.7
    create_time: UtcTime | None = None
    modify_time: UtcTime | None = None


def _listing(item: type[_Obj]) -> type[_Obj]:
    return type(
        f"{item.__name__}List",
        (_Obj,),
        {"__annotations__": {"list": list[item], "page_info": PageInfo}},
    )


CampaignList = _listing(Campaign)
AdGroupList = _listing(AdGroup)
AdList = _listing(Ad)


class CampaignId(_Obj):
    """§4.2/§4.3: clients read data.campaign_id."""

    campaign_id: NumericId


class AdGroupId(_Obj):
    """§4.6/§4.7: clients read data.adgroup_id."""

    adgroup_id: NumericId


class CampaignStatusItem(_Obj):
    """§4.4 campaign_list item."""

    campaign_id: NumericId
    status: StrictStr


class CampaignStatus(_Obj):
    """§4.4."""

    campaign_ids: list[NumericId]
    status: StrictStr
    campaign_list: list[CampaignStatusItem] | None = None


class StatusError(_Obj):
    """§4.7 error_list item."""

    adgroup_id: NumericId
    error_message: StrictStr


class AdGroupStatus(_Obj):
    """§4.7."""

    adgroup_ids: list[NumericId]
    status: StrictStr
    error_list: list[StatusError] | None = None


class AdStatus(_Obj):
    """§4.10."""

    ad_ids: list[NumericId]
    status: StrictStr
    aco_ad_ids: list[NumericId] | None = None


class AdWrite(_Obj):
    """§4.9/§4.10: {"ad_ids": [...], "creatives": [ad objects]}."""

    ad_ids: list[NumericId] = Field(min_length=1)
    creatives: list[Ad] | None = None


class Video(_Obj):
    """§5.1 (create/modify ISO "…Z", preview expiry "YYYY-MM-DD HH:MM:SS")."""

    video_id: StrictStr = Field(min_length=1)
    material_id: StrictStr | None = None
    file_name: StrictStr | None = None
    width: StrictInt | None = None
    height: StrictInt | None = None
    duration: Num | None = None
    bit_rate: StrictInt | None = None
    size: StrictInt | None = None
    format: StrictStr | None = None
    signature: Md5 | None = None
    video_cover_url: StrictStr | None = None
    preview_url: StrictStr | None = None
    preview_url_expire_time: UtcTime | None = None
    displayable: StrictBool | None = None
    allow_download: StrictBool | None = None
    allowed_placements: list[StrictStr] | None = None
    create_time: IsoTime | None = None
    modify_time: IsoTime | None = None


class Image(_Obj):
    """§5.2."""

    image_id: StrictStr = Field(min_length=1)
    material_id: StrictStr | None = None
    file_name: StrictStr | None = None
    width: StrictInt | None = None
    height: StrictInt | None = None
    format: StrictStr | None = None
    image_url: StrictStr | None = None
    signature: Md5 | None = None
    size: StrictInt | None = None
    displayable: StrictBool | None = None
    is_carousel_usable: StrictBool | None = None
    create_time: IsoTime | None = None
    modify_time: IsoTime | None = None


class VideoList(_Obj):
    """§5.3 video info data."""

    list: list[Video]


class ImageList(_Obj):
    """§5.3 image info data."""

    list: list[Image]


class VideoPage(_Obj):
    """§5.3 video search data."""

    list: list[Video]
    page_info: PageInfo


class ImagePage(_Obj):
    """§5.3 image search data."""

    list: list[Image]
    page_info: PageInfo


class Identity(_Obj):
    """§6.1."""

    identity_id: StrictStr = Field(min_length=1)
    identity_type: IDENTITY_TYPE
    display_name: StrictStr | None = None
    profile_image: StrictStr | None = None
    identity_authorized_bc_id: StrictStr | None = None
    available_status: (
        Literal[
            "AVAILABLE",
            "NO_VALID_BIND_ACCOUNT",
            "SCOPE_UNAVAILABLE",
            "IS_PRIVATE_ACCOUNT",
            "NOT_BUSINESS_ACCOUNT",
        ]
        | None
    ) = None
    can_pull_video: StrictBool | None = None
    can_push_video: StrictBool | None = None


class IdentityList(_Obj):
    """§6.1 data."""

    identity_list: list[Identity]
    page_info: PageInfo


class IdentityId(_Obj):
    """§6.2."""

    identity_id: StrictStr = Field(min_length=1)


class ReportRow(_Obj):
    """§7.1: dimension and metric values are all strings."""

    dimensions: dict[str, StrictStr]
    metrics: dict[str, StrictStr]


class ReportList(_Obj):
    """§7.1 data."""

    list: list[ReportRow]
    page_info: PageInfo


TASK_STATUS = Literal["QUEUING", "PROCESSING", "SUCCESS", "FAILED", "CANCELED"]


class TaskId(_Obj):
    """§7.3 report/task/create data."""

    task_id: NumericId


class TaskStatus(_Obj):
    """§7.3 report/task/check (and cancel) data."""

    status: TASK_STATUS
    message: StrictStr | None = None


class TaskDownload(_Obj):
    """§7.3 report/task/download data (Go SDK TaskDownloadResult)."""

    download_url: Annotated[StrictStr, Field(pattern=r"^https?://")]
    file_name: StrictStr | None = None
    output_format: Literal["CSV_DOWNLOAD", "XLSX_DOWNLOAD"] | None = None


class BalanceAccount(_Obj):
    """§3.2 bc/advertiser/balance/get row: balances are JSON numbers (Go SDK bc model)."""

    advertiser_id: NumericId
    currency: StrictStr
    account_balance: Num = Field(ge=0)
    valid_account_balance: Num | None = Field(default=None, ge=0)


class BalanceList(_Obj):
    """§3.2 bc/advertiser/balance/get data."""

    advertiser_account_list: list[BalanceAccount]
    page_info: PageInfo


# §7.1 value formats seen in real records; every other metric's format comes from the
# catalogue's type (sandbox/tiktok/report_catalogue.csv).
class Comment(_Obj):
    """tiktok-openapi/comment_list.yml response_rule `comments[]` (the fields TTPulse reads)."""

    comment_id: NumericId
    ad_id: NumericId
    ad_name: StrictStr
    adgroup_id: NumericId
    campaign_id: NumericId
    content: StrictStr
    comment_status: Literal["PUBLIC", "HIDDEN"]
    comment_type: Literal["COMMENT", "REPLY"]
    create_time: UtcTime
    user_name: StrictStr
    original_comment_id: StrictStr
    likes: StrictInt
    replies: StrictInt


class CommentList(_Obj):
    """comment/list/: `data.comments` and `page_info`."""

    comments: list[Comment]
    page_info: PageInfo


class PostedComment(_Obj):
    """comment_post.yml response_rule `comment` (SDK yml_files): exactly these fields."""

    model_config = ConfigDict(extra="forbid", strict=True)

    comment_id: NumericId
    create_time: UtcTime
    reply_to_comment_id: NumericId
    text: StrictStr
    tiktok_item_id: NumericId


class CommentPost(_Obj):
    """comment/post/: `data.comment` (comment_post.yml response_rule)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    comment: PostedComment


class ReplyUser(_Obj):
    """comment_reference.yml `reply_user_info`."""

    user_avatar_url: StrictStr
    user_name: StrictStr


class ReferenceComment(_Obj):
    """comment_reference.yml response_rule `comments[]` (SDK yml_files)."""

    comment_id: NumericId
    comment_status: Literal["PUBLIC", "HIDDEN"]
    comment_type: Literal["COMMENT", "REPLY"]
    content: StrictStr
    create_time: UtcTime
    can_delete: StrictBool
    hit_blockedword: StrictBool
    is_pinned: StrictBool
    identity_id: StrictStr
    identity_type: StrictStr
    tiktok_item_id: NumericId
    user_id: StrictStr
    user_name: StrictStr
    reply_user_info: ReplyUser


class CommentReference(_Obj):
    """comment/reference/: `data.comments` and `page_info`."""

    comments: list[ReferenceComment]
    page_info: PageInfo


class CommentTaskId(_Obj):
    """comment/task/create/, blockedword/task/create/: `data.task_id`."""

    task_id: NumericId


class CommentTaskStatus(_Obj):
    """comment/ and blockedword/task/check/: `data.task_id`, `data.status` (values [U])."""

    task_id: NumericId
    status: Literal["RUNNING", "SUCCEED", "FAILED"]


class CommentTaskFile(_Obj):
    """comment/task/download/ [U]: `data.csv`."""

    csv: StrictStr


class BlockedWord(_Obj):
    """blockedword_list.yml `list[]`."""

    bw_content: StrictStr


class BlockedWordList(_Obj):
    """blockedword/list/: `data.list` and `page_info`."""

    list: list[BlockedWord]
    page_info: PageInfo


class BlockedWordResult(_Obj):
    """blockedword_check.yml `results[]`."""

    word: StrictStr
    blocked: StrictBool


class BlockedWordCheck(_Obj):
    """blockedword/check/: `data.results`."""

    results: list[BlockedWordResult]


class PixelEvent(_Obj):
    """A pixel's event as the Go SDK (model/pixel) and types/events-1-0.ts give it [L]."""

    event_code: StrictStr
    name: StrictStr
    event_type: StrictStr
    optimization_event: StrictStr | None


class Pixel(_Obj):
    """pixel_list.yml response_rule `pixels[]` (the fields TTPulse reads)."""

    pixel_id: NumericId
    pixel_code: StrictStr
    pixel_name: StrictStr
    events: list[PixelEvent]


class PixelList(_Obj):
    """pixel/list/: `data.pixels` and `page_info`."""

    pixels: list[Pixel]
    page_info: PageInfo


class PixelEventCount(_Obj):
    """One event type's count over the asked date range (Go SDK EventStats) [L]."""

    pixel_event_type: StrictStr | None = None
    custom_event_type: StrictStr | None = None
    total_count: StrictInt


class PixelStats(_Obj):
    """One pixel of pixel/event/stats/ `data.list`."""

    pixel_id: NumericId
    statistics: list[PixelEventCount]


class PixelStatsList(_Obj):
    """pixel_event_stats.yml response_rule: `list`."""

    list: list[PixelStats]


class CatalogBc(_Obj):
    """catalog_get.yml response_rule `bc_info`."""

    bc_id: NumericId
    bc_name: StrictStr


class CatalogConf(_Obj):
    """catalog/create's CatalogcreateCatalogConf fields, as catalog/get echoes them [U]."""

    region_code: StrictStr
    currency: StrictStr


class Catalog(_Obj):
    """catalog_get.yml response_rule `list[]` (the fields TTPulse reads)."""

    catalog_id: NumericId
    catalog_name: StrictStr
    catalog_conf: CatalogConf
    bc_info: CatalogBc


class CatalogList(_Obj):
    """catalog/get/: `data.list` and `page_info`."""

    list: list[Catalog]
    page_info: PageInfo


class CatalogOverview(_Obj):
    """catalog_overview.yml response_rule: counts by review status."""

    approved: StrictInt = Field(ge=0)
    processing: StrictInt = Field(ge=0)
    rejected: StrictInt = Field(ge=0)


class ProductSetItem(_Obj):
    """A product set of catalog/set/get/ `data.list` (declared only as `list` [U])."""

    product_set_id: NumericId
    product_set_name: StrictStr
    product_count: StrictInt | None = Field(default=None, ge=0)


class ProductSetList(_Obj):
    """catalog_set_get.yml response_rule: `list`."""

    list: list[ProductSetItem]


class Product(_Obj):
    """A product of catalog/product/get/ (no file in TikTok's SDK [U])."""

    product_id: NumericId
    title: StrictStr
    audit_status: StrictStr = Field(pattern=r"^(APPROVED|PROCESSING|REJECTED)$")


class ProductList(_Obj):
    """catalog/product/get/: `data.list` and `page_info`."""

    list: list[Product]
    page_info: PageInfo


class CustomAudience(_Obj):
    """dmp_custom_audience_list.yml `list[]` (the yml declares only `list`; the fields TTPulse
    reads, as TikTok's docs name them [U])."""

    audience_id: NumericId
    name: StrictStr
    audience_type: StrictStr
    cover_num: StrictInt
    is_valid: StrictBool
    is_expiring: StrictBool
    calculate_type: StrictStr | None = None
    create_time: StrictStr


class CustomAudienceList(_Obj):
    """dmp/custom_audience/list/: `data.list` and `page_info`."""

    list: list[CustomAudience]
    page_info: PageInfo


class CustomAudienceDetails(_Obj):
    """One dmp/custom_audience/get/ `list` entry."""

    audience_details: CustomAudience
    audience_history: list[dict[str, Any]]


class CustomAudienceGet(_Obj):
    """dmp/custom_audience/get/: `data.list`."""

    list: list[CustomAudienceDetails]


class AudienceFile(_Obj):
    """dmp/custom_audience/file/upload/: `data.file_path`."""

    file_path: StrictStr


class NewAudience(_Obj):
    """dmp/custom_audience/create/ and lookalike/create/: `data.custom_audience_id`."""

    custom_audience_id: NumericId


class Empty(_Obj):
    """A write that answers `data: {}` (comment/status/update/, comment/pin/)."""


_COUNT = re.compile(r"^\d+$")
_MONEY = re.compile(r"^\d+\.\d{3}$")
_RATE = re.compile(r"^\d+\.\d{2}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_MONEY4 = re.compile(r"^\d+\.\d{4}$")
COUNT_METRICS = {"impressions", "clicks", "conversion", "reach", "complete_payment", "result"}
MONEY_METRICS = {"spend", "cpc", "cpm", "cost_per_conversion", "cost_per_1000_reached"}
RATE_METRICS = {"ctr", "conversion_rate", "frequency", "result_rate"}
NUMERIC_METRICS = {
    "total_complete_payment_rate",
    "complete_payment_roas",
    "value_per_complete_payment",
    "cost_per_complete_payment",
    "complete_payment_rate",
    "cost_per_result",
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2} 00:00:00$")
_HOUR = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:00:00$")

SUCCESS_SCHEMAS: dict[str, type[_Obj] | None] = {
    "oauth2/access_token/": TokenData,
    "oauth2/advertiser/get/": AuthorizedList,
    "oauth2/revoke_token/": RevokeData,
    "advertiser/info/": AdvertiserList,
    "bc/get/": BcList,
    "campaign/get/": CampaignList,
    "adgroup/get/": AdGroupList,
    "ad/get/": AdList,
    "campaign/create/": CampaignId,
    "campaign/update/": CampaignId,
    "campaign/status/update/": CampaignStatus,
    "adgroup/create/": AdGroupId,
    "adgroup/update/": AdGroupId,
    "adgroup/status/update/": AdGroupStatus,
    "ad/create/": AdWrite,
    "ad/update/": AdWrite,
    "ad/status/update/": AdStatus,
    "file/video/ad/upload/": None,  # a one-element list of Video, checked below
    "file/image/ad/upload/": Image,
    "file/video/ad/info/": VideoList,
    "file/image/ad/info/": ImageList,
    "file/video/ad/search/": VideoPage,
    "file/image/ad/search/": ImagePage,
    "identity/get/": IdentityList,
    "identity/create/": IdentityId,
    "report/integrated/get/": ReportList,
    "comment/list/": CommentList,
    "comment/status/update/": Empty,
    "comment/pin/": Empty,  # the emulator's comment_pin "endpoint" way [U]
    "comment/post/": CommentPost,
    "comment/delete/": Empty,
    "comment/reference/": CommentReference,
    "comment/task/create/": CommentTaskId,
    "comment/task/check/": CommentTaskStatus,
    "comment/task/download/": CommentTaskFile,  # [U] a third-party client's shape
    "blockedword/create/": Empty,
    "blockedword/update/": Empty,
    "blockedword/delete/": Empty,
    "blockedword/list/": BlockedWordList,
    "blockedword/check/": BlockedWordCheck,
    "blockedword/task/create/": CommentTaskId,
    "blockedword/task/check/": CommentTaskStatus,
    "pixel/list/": PixelList,
    "pixel/event/stats/": PixelStatsList,
    "catalog/get/": CatalogList,
    "catalog/overview/": CatalogOverview,
    "catalog/set/get/": ProductSetList,
    "catalog/product/get/": ProductList,
    "dmp/custom_audience/list/": CustomAudienceList,
    "dmp/custom_audience/get/": CustomAudienceGet,
    "dmp/custom_audience/file/upload/": AudienceFile,
    "dmp/custom_audience/create/": NewAudience,
    "dmp/custom_audience/lookalike/create/": NewAudience,
    "dmp/custom_audience/delete/": Empty,
    "report/task/create/": TaskId,
    "report/task/check/": TaskStatus,
    "report/task/cancel/": TaskStatus,
    "report/task/download/": TaskDownload,
    "bc/advertiser/balance/get/": BalanceList,
}


def _errors(exc: ValidationError, where: str) -> list[str]:
    return [f"{where}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


def _validate(model: type[_Obj], value: Any, where: str) -> list[str]:
    try:
        model.model_validate(value)
    except ValidationError as exc:
        return _errors(exc, where)
    return []


def _json_param(query: Mapping[str, str], name: str) -> Any:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _requested_fields(path: str, query: Mapping[str, str], data: Any) -> list[str]:
    """Every requested `fields` entry is present on every returned object (§4.1)."""
    fields = _json_param(query, "fields")
    if not isinstance(fields, list) or not isinstance(data, dict):
        return []
    problems = []
    for i, item in enumerate(data.get("list") or []):
        missing = [f for f in fields if f not in item]
        if missing:
            problems.append(f"{path} list[{i}]: requested fields missing: {missing}")
    return problems


def _catalogue_format(name: str) -> re.Pattern[str] | None:
    """The format of a catalogue metric by its type (None for text and unknown names)."""
    metric = CATALOGUE.get(name)
    if metric is None or metric.type == "string":
        return None
    if metric.type == "money":
        return _MONEY4 if metric.op == "cost4" else _MONEY
    return _COUNT if metric.type == "integer" else _RATE


def _report_rows(query: Mapping[str, str], data: Mapping[str, Any]) -> list[str]:
    dims = _json_param(query, "dimensions") or []
    metrics = _json_param(query, "metrics") or ["spend", "impressions"]
    problems: list[str] = []
    for i, row in enumerate(data.get("list") or []):
        where = f"report list[{i}]"
        if set(row["dimensions"]) != set(dims):
            problems.append(f"{where}: dimensions {sorted(row['dimensions'])} != {sorted(dims)}")
        missing = [m for m in metrics if m not in row["metrics"]]
        if missing:
            problems.append(f"{where}: metrics missing {missing}")
        for key, value in row["dimensions"].items():
            if key.endswith("_id") and not re.fullmatch(r"\d{1,20}", value):
                problems.append(f"{where}: dimension {key}={value!r} is not a string id")
        for key, pattern in (("stat_time_day", _DAY), ("stat_time_hour", _HOUR)):
            if key in row["dimensions"] and not pattern.match(row["dimensions"][key]):
                problems.append(f"{where}: {key} {row['dimensions'][key]!r}")
        for name, value in row["metrics"].items():
            if value == "-":
                continue  # §7.1 "not applicable"
            pattern = (
                _COUNT
                if name in COUNT_METRICS
                else _MONEY
                if name in MONEY_METRICS
                else _RATE
                if name in RATE_METRICS
                else _NUMBER
                if name in NUMERIC_METRICS
                else _catalogue_format(name)
            )
            if pattern is not None and not pattern.match(value):
                problems.append(f"{where}: metric {name}={value!r} has the wrong format")
    return problems


def _page_info_consistent(
    path: str, query: Mapping[str, str], data: Mapping[str, Any]
) -> list[str]:
    info = data.get("page_info") or {}
    problems: list[str] = []
    size = int(query.get("page_size", info.get("page_size", 10)))
    if info.get("page_size") != size:
        problems.append(f"{path}: page_info.page_size {info.get('page_size')} != {size}")
    total, pages = info.get("total_number", 0), info.get("total_page", 0)
    if pages != -(-total // size):
        problems.append(f"{path}: total_page {pages} != ceil({total}/{size})")
    if len(data.get("list") or data.get("identity_list") or []) > size:
        problems.append(f"{path}: more items than page_size")
    return problems


def check_response(
    method: str, path: str, query: Mapping[str, str], http_status: int, body: bytes
) -> list[str]:
    """All the ways one reply deviates from the spec; empty when it conforms."""
    where = f"{method} {path}"
    try:
        payload = json.loads(body)
    except ValueError:
        # §1.5: only gateway faults are non-JSON, and those come with HTTP 5xx.
        return [] if http_status >= 500 else [f"{where}: non-JSON body with HTTP {http_status}"]
    if http_status != 200 and http_status < 500:
        return [f"{where}: HTTP {http_status} (API errors come as HTTP 200, §1.5)"]
    problems = _validate(Envelope, payload, f"{where} envelope")
    if problems or http_status >= 500:
        return problems
    code, data = payload["code"], payload.get("data")
    if code not in (0, 20001):
        if data not in ({}, None):
            problems.append(f"{where}: error reply carries data {data!r}")
        if not payload["message"]:
            problems.append(f"{where}: error reply without a message")
        return problems
    if path not in SUCCESS_SCHEMAS:
        return [f"{where}: no schema for this path"]
    model = SUCCESS_SCHEMAS[path]
    if path == "file/video/ad/upload/":
        if not isinstance(data, list) or len(data) != 1:
            return [f"{where}: data must be a one-element list (§5.1)"]
        return _validate(Video, data[0], where)
    assert model is not None
    problems = _validate(model, data, where)
    if problems:
        return problems
    problems += _requested_fields(path, query, data)
    if isinstance(data, dict) and "page_info" in data:
        problems += _page_info_consistent(path, query, data)
    if path == "report/integrated/get/":
        problems += _report_rows(query, data)
    return problems
