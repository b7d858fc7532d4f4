"""Emulator configuration: the fixture, the knobs and the choices made where the spec is unsure.

Uncertain facts of the spec (shared/spec/tiktok-marketing-api.md) and what the emulator does:

* §11 unknown route: HTTP status unknown [U] -> ``unknown_route_http_status`` (default 200,
  envelope code 40400).
* §8.1 vs §4.11 id lists that are too long: code 40011 "too many ids" or 40002 [U] ->
  ``too_many_ids_code`` (default 40002, as §4.11 lists them among the 40002 failures).
* §8.2 QPS limit per app [L]/[U] -> ``qps`` (default 0 = unlimited; the CLI offers
  ``--qps``); message format of §8.1 "App <app_id> reaches the QPS limit <N>, current QPS is
  <M>." (``qps_message_with_app_id`` False drops the app id, the other variant seen).
  Per-endpoint QPM quotas were never documented -> ``qpm`` (per app and path, 0 = off).
  How the second is counted is unknown -> ``qps_window``: "sliding" (default, the last 1.0 s
  of accepted requests, the stricter model) or "fixed" (per calendar second).
* §4.2 budget minimums [U] -> ``min_campaign_daily_budget_usd`` (50) and
  ``min_adgroup_daily_budget_usd`` (20), scaled by the currency's rough USD rate.
* Body ``request_id`` idempotency per create -> ``idempotent_creates`` (default
  ["campaign", "adgroup"]). TikTok documents it for campaign/create (§4.2) and adgroup/create
  (§4.6), and the official SDK's CampaignCreateBody / AdgroupCreateBody carry ``request_id``;
  for ad/create neither the spec (§4.9) nor the SDK's AdCreateBody has it, so by default a
  ``request_id`` on ad/create is ignored (like every body field the emulator does not know —
  whether TikTok ignores or refuses unknown fields is not documented either, §7.1) and a
  resent ad/create makes the ads again. Add "ad" to play an API that honours it.
* §4.9 "≤20 ads per ad group" [U] -> ``max_ads_per_adgroup`` (default 0 = no limit;
  over the limit answers 40502).
* §6.2 ``image_uri`` required or not [U] -> ``identity_requires_image`` (default False:
  a default avatar is used).
* §2.1 redirect_uri must match the app's [L] -> ``redirect_uris`` (empty = accept any).
* §7.1 report rows with no delivery: not documented -> ``report_zero_rows`` (default False:
  rows whose spend, impressions, clicks and conversions are all zero are left out).
* Paging a report: pages 2.. of a walk reuse the result computed for page 1 for
  ``report_cache_seconds`` (300) of emulator time unless the world changed or the clock was
  set; page 1 always recomputes (unless under 2 s old), so a new walk sees fresh numbers.
* §7.1 ``filters`` / ``lifetime`` aliases of v1.2 [U] -> ``accept_v12_report_aliases``
  (default True: accepted as ``filtering`` / ``query_lifetime``).
* Report metric catalogue (report_catalogue.csv, its header cites the sources): attribute metrics
  without an ID dimension are refused (TikTok docs: "attribute metrics work only with ID
  dimensions") -> ``report_attributes_need_id_dimension`` (default True); SKAN metrics of
  campaigns that are not iOS 14 dedicated: zeros or "-" is not documented -> ``report_skan_dash``
  (default False: computed like the other counts).  The paid engaged-view metrics need one ID
  dimension "optionally with stat_time_day" by TikTok's docs, yet Airbyte's hourly ad stream
  asks for them with stat_time_hour -> ``report_engaged_view_hourly`` (default True: accepted
  by hour; False refuses them by hour, as the docs read).
* §7.3 async report tasks: how long a task queues is not documented ->
  ``report_task_pending_checks`` (default 2): that many checks answer QUEUING (the first) then
  PROCESSING, the next ones SUCCESS (0 = done at the first check).  With
  ``enable_report_title_translation`` true TikTok titles the CSV columns in words it does not
  document [U]; the emulator always writes the raw metric names.
* §7.1 AUDIENCE reports (sandbox/tiktok/audience.py): what the breakdowns' values are called is
  not in the spec -> ``audience_values`` (dimension -> values; default: ``age`` the targeting's
  age groups AGE_13_17 … AGE_55_100 [L], ``gender`` MALE / FEMALE / NONE [U], ``platform``
  ANDROID / IOS / PC [U]). Whether they can be asked for by hour is not known [U]: refused
  (stat_time_day only). The other audience dimensions the spec names from memory
  (province_id, language, ac, placement, interest_category) are refused as not supported.
* §7.1 ``multi_adv_report_in_utc_time``: honoured with ``advertiser_ids`` (the days and hours
  are UTC ones, each account's local hours counted into them); without ``advertiser_ids`` it is
  refused, as is an account whose UTC offset is not whole hours (the delivery model keeps
  whole local hours, which such a zone cannot recount into UTC ones).
* Balances: the ``balance`` of advertiser/info and bc/advertiser/balance/get is the fixture's
  balance at the emulator's start minus what delivery spent since (never below zero) [L].  How
  soon TikTok bills spend is not documented -> ``balance_refresh_seconds`` (default 3600: the
  balance takes off the spend up to the last whole hour since the start; 0 = to the second).
* §1.5 ``message`` "OK" vs "ok" [L] -> ``ok_message`` (default "OK").
* §2.3 scope ids: TikTok publishes no mapping from a scope id to a permission [U] ->
  ``scope_ids`` (feature group -> id; default sandbox/tiktok/scopes.py DEFAULT_SCOPE_IDS, 4 =
  ads management as in TikTok's own example).  Which code refuses an endpoint whose scope the
  token lacks is not documented either: §8.1 lists both 40001 "no permission (... scope)" and
  40130 "scope not authorized" -> ``missing_scope_code`` (default 40001, the code §8.1 and §11
  give for a token's missing access; 40130 plays the other reading).  The consent page lets
  the person withhold each optional scope (comments, pixels, audiences, catalogs); all are
  ticked by default.  A token saved before scopes were modelled carries ``[4]`` only; it is
  read with the required scopes (ads management, reporting) added, as its consent gave them.
* Comments (sandbox/tiktok/comments.py says what is uncertain there): ``comment_slot_seconds``
  (600) and ``comment_chance_percent`` (25) shape how often the demo's ads get a comment;
  ``comment_page_size_max`` (100), ``comment_max_days`` (30) and ``comment_reply_max_len``
  (150) are limits TikTok's file does not declare [U]. How an ad's comment is pinned is not
  in TikTok's SDK -> ``comment_pin`` ("status" default: PIN / UNPIN operations of
  comment/status/update; "endpoint": POST comment/pin/; "none": no pinning) and whether
  pinning a second comment of a video replaces the first -> ``comment_pin_replaces`` (True).
  Comment management (comment_threads.py, comment_tasks.py, blocked_words.py): whether a
  blocked word hides only comments written after it was added or every matching comment
  -> ``blockedword_applies_to`` ("new" default, or "all") [U]; how many checks of a comment
  export task answer RUNNING before SUCCEED -> ``comment_task_pending_checks`` (1) [U].
* Catalogs (sandbox/tiktok/catalogs.py says what is uncertain there): the largest
  ``page_size`` of catalog/get is not declared -> ``catalog_page_size_max`` (default 50);
  catalog/product/get has no file in TikTok's SDK -> ``catalog_product_page_size_max`` (default
  100, catalog_set_product_get.yml's maximum).
  Catalog management (catalog_admin.py, catalog_products.py say what is uncertain there): an
  uploaded product stays PROCESSING (in review) for ``catalog_review_seconds`` (900) of
  emulator time, then is APPROVED (REJECTED with a bad image link); how long TikTok reviews
  is not documented [U]. At most ``catalog_upload_max_products`` (5000) products per
  upload / update call [U]. Deleting a catalog (or a product set) an ad group (or ad) still
  uses is refused unless ``catalog_delete_in_use`` (False) [U].
* Audiences (sandbox/tiktok/audiences.py says what is uncertain there): a new audience is
  computed for ``audience_ready_seconds`` (1800; TikTok says "up to 24-48 hours") and then
  reaches ``audience_match_percent`` (70) of its distinct rows; ``audience_file_max_bytes``
  (50 MB) and ``lookalike_min_source`` (100, the SDK's "no less than 100") are limits [U].
  Audience management (audience_admin.py, saved_audiences.py say what is uncertain there): a
  file update (APPEND / REMOVE / REPLACE) that would leave fewer than
  ``audience_update_min_size`` (1000, CustomAudienceUpdateBody) people is refused at once
  rather than failing later [U]; an account holds at most ``saved_audience_max`` (400, the Go
  SDK's saved_audience/create doc) saved audiences.
* adgroup/create's ``pixel_id`` must be a pixel the account may use (api_entities.py): its own,
  or with ``adgroup_pixel_bc_shared`` (True) one of an ad account sharing a Business Center
  with it (the BC's PIXEL asset, bc_assets.py); TikTok links a BC's pixel to chosen accounts
  (bc/pixel/link/update/, not served), so False allows only the account's own [U].
* Events API (sandbox/tiktok/events_api.py says what is uncertain there): batch limits
  ``events_batch_max`` (50, pixel/batch) and ``events_v2_batch_max`` (1000, event/track) are
  RudderStack's [L]; ``events_custom_names`` (True: any event name, False: standard web events
  only), ``events_epoch_timestamps`` (True: an Events 1.0 timestamp of digits is Unix s/ms),
  ``events_require_context`` (False: context / user / page.url optional, as the SDK's models)
  and ``events_max_age_days`` (0: no limit on an event's age) are [U].
* Targeting reference data of the ``tool/*`` endpoints (sandbox/tiktok/tools.py,
  tool_reference.py say what is real): TikTok's full sets and most of their ids are not public
  -> ``tool_reference`` (set name -> rows replacing the emulator's: regions, languages,
  interest_categories, action_categories, carriers, device_models, interest_keywords).
* Business Center administration (bc_transfers.py, bc_accounts.py say what is uncertain
  there): whether the token that called bc/advertiser/create/ reaches the new ad account at
  once or only after the person authorises the app again is not documented ->
  ``bc_created_account_in_token`` (default True: the calling token reaches it at once; False:
  only a token of a new consent does; a new consent of the login always covers it) [U].
* Consent page Cancel: not documented -> redirect with ``error=access_denied``,
  ``error_description`` and ``state`` (OAuth 2 convention).

Fixed choices (not knobs), where the spec gives no code or text:

* Wrong ``app_id``/``secret`` on the OAuth calls -> 40002; an unknown, used or expired auth
  code -> 40110 (§8.1 "auth code error") with "Auth code is invalid." / "... has been used." /
  "... has expired."; an ad account outside the token -> 40001 (§11); an unknown object id on
  a write -> 40002 (§4.11); an unknown ``video_id`` in a creative -> 40053 (§8.1).
* 40104 text "Access token is null."; 50002 text "System timeout, please try again later.".
* ``adgroup/status/update`` with ``allow_partial_success`` answers code 0 with ``error_list``.
* Deleted objects show ``operation_status`` DISABLE and a ``*_DELETE`` secondary status; the
  parent's state comes first in a child's secondary status (own delete, campaign delete, ad
  group delete, campaign disable, ad group disable, own disable, schedule).
* Budget-exceeded and balance secondary statuses are not produced (smooth pacing reaches a
  daily budget only at the end of the day); a balance at zero does not stop delivery.
* Concurrency: API handlers run one at a time in a worker thread (the event loop only does
  I/O, auth, the QPS window by arrival time, faults and latency), so one big report delays
  requests queued behind it but never the rate accounting.
* Clock: without ``now`` it follows the wall clock; with ``now`` it is frozen unless
  ``clock_ticking`` is True (the CLI ticks unless ``--frozen``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.tiktok.audience import AUDIENCE_VALUES
from sandbox.tiktok.scopes import DEFAULT_SCOPE_IDS
from sandbox.tiktok.tool_reference import DEFAULTS as TOOL_SETS

FAULT_KINDS = ("50002", "http5xx", "timeout", "html504")
# Faults only ever injected when asked for by name (not part of the default fault_kinds):
# "lost_reply" carries the request out, then answers only after ``timeout_seconds`` (the client
# has given up by then) — a write that happened although the caller saw a timeout, which is
# how a retried upload meets 40911 "duplicated material name" (spec §5.1, §10 item 12).
OPT_IN_FAULTS = ("lost_reply",)
# A ``fault_queue`` entry that lets its request through untouched, so a fault can be aimed at
# the n-th matching request: ["ok", "ok", "lost_reply"] loses the third reply.
NO_FAULT = "ok"
CREATE_KINDS = ("campaign", "adgroup", "ad")
# Set at start only (the clock has its own control endpoint).
FIXED = (
    "fixture",
    "seed",
    "now",
    "clock_ticking",
    "consent_path",
    "token_file",
    "world_file",
    "scale_accounts",
    "scale_shape",
)


@dataclass
class EmulatorConfig:
    """Everything that shapes one emulator instance."""

    fixture: str = "demo"
    seed: int = 42
    # The `scale` fixture's size: ad accounts, and campaigns x ad groups x ads per account
    # (bench.scale syncs 10,000 small accounts; the default is the 50 big ones of bench.sync).
    scale_accounts: int = 50
    scale_shape: str = "20x5x20"
    now: datetime | None = None
    clock_ticking: bool | None = None
    qps: int = 0
    qpm: int = 0
    qps_window: str = "sliding"
    qps_message_with_app_id: bool = True
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    fault_rate: float = 0.0
    fault_kinds: list[str] = field(default_factory=lambda: list(FAULT_KINDS))
    fault_paths: list[str] = field(default_factory=list)
    fault_queue: list[str] = field(default_factory=list)
    timeout_seconds: float = 65.0
    unknown_route_http_status: int = 200
    too_many_ids_code: int = 40002
    min_campaign_daily_budget_usd: int = 50
    min_adgroup_daily_budget_usd: int = 20
    max_ads_per_adgroup: int = 0
    idempotent_creates: list[str] = field(default_factory=lambda: ["campaign", "adgroup"])
    identity_requires_image: bool = False
    redirect_uris: list[str] = field(default_factory=list)
    report_zero_rows: bool = False
    report_cache_seconds: float = 300.0
    report_attributes_need_id_dimension: bool = True
    report_skan_dash: bool = False
    report_engaged_view_hourly: bool = True
    report_task_pending_checks: int = 2
    audience_values: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in AUDIENCE_VALUES.items()}
    )
    balance_refresh_seconds: float = 3600.0
    accept_v12_report_aliases: bool = True
    bc_created_account_in_token: bool = True
    ok_message: str = "OK"
    scope_ids: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SCOPE_IDS))
    missing_scope_code: int = 40001
    comment_slot_seconds: int = 600
    comment_chance_percent: int = 25
    comment_page_size_max: int = 100
    comment_max_days: int = 30
    comment_reply_max_len: int = 150
    comment_pin: str = "status"
    comment_pin_replaces: bool = True
    blockedword_applies_to: str = "new"
    comment_task_pending_checks: int = 1
    catalog_page_size_max: int = 50
    catalog_product_page_size_max: int = 100
    catalog_review_seconds: int = 900
    catalog_upload_max_products: int = 5000
    catalog_delete_in_use: bool = False
    adgroup_pixel_bc_shared: bool = True
    audience_ready_seconds: int = 1800
    audience_match_percent: int = 70
    audience_file_max_bytes: int = 50 * 1024 * 1024
    lookalike_min_source: int = 100
    audience_update_min_size: int = 1000
    saved_audience_max: int = 400
    events_batch_max: int = 50
    events_v2_batch_max: int = 1000
    events_custom_names: bool = True
    events_epoch_timestamps: bool = True
    events_require_context: bool = False
    events_max_age_days: int = 0
    tool_reference: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    auth_code_ttl_seconds: int = 3600
    consent_path: str = "/portal/auth"
    # Where issued access tokens are kept across restarts ("" = in memory only). The offline
    # demo sets it: the real TikTok remembers a token after TTPulse or the emulator restarts.
    token_file: str = ""
    # Where the whole world is kept across restarts ("" = built from the fixture at each start;
    # sandbox/keep.py). The offline demo sets it: what was paused stays paused.
    world_file: str = ""

    def update(self, values: dict[str, Any]) -> list[str]:
        """Apply known keys from a control request atomically; return the unknown keys."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = [k for k in values if k not in names or k in FIXED]
        checked: dict[str, Any] = {}
        for key, value in values.items():
            if key in unknown:
                continue
            current = getattr(self, key)
            if current is not None:
                same = isinstance(value, type(current)) and (
                    isinstance(value, bool) is isinstance(current, bool)
                )
                widen = isinstance(current, float) and type(value) is int
                if not (same or widen):
                    raise ValueError(f"{key} should be of type {type(current).__name__}")
                value = float(value) if widen else value
            if key == "qps_window" and value not in ("sliding", "fixed"):
                raise ValueError('qps_window must be "sliding" or "fixed"')
            if key == "fault_kinds":
                bad = [k for k in value if k not in FAULT_KINDS + OPT_IN_FAULTS]
                if bad:
                    raise ValueError(f"unknown fault kinds: {bad}")
            if key == "fault_queue":
                bad = [k for k in value if k not in FAULT_KINDS + OPT_IN_FAULTS + (NO_FAULT,)]
                if bad:
                    raise ValueError(f"unknown fault kinds: {bad}")
            if key == "idempotent_creates":
                bad = [k for k in value if k not in CREATE_KINDS]
                if bad:
                    raise ValueError(f"idempotent_creates takes {list(CREATE_KINDS)}, not {bad}")
            if key == "comment_pin" and value not in ("status", "endpoint", "none"):
                raise ValueError('comment_pin must be "status", "endpoint" or "none"')
            if key == "blockedword_applies_to" and value not in ("new", "all"):
                raise ValueError('blockedword_applies_to must be "new" or "all"')
            if key == "missing_scope_code" and value not in (40001, 40130):
                raise ValueError("missing_scope_code must be 40001 or 40130")
            if key == "audience_values" and not all(
                k in AUDIENCE_VALUES and isinstance(v, list) and v and
                all(isinstance(x, str) for x in v)
                for k, v in value.items()
            ):
                raise ValueError(
                    f"audience_values maps {list(AUDIENCE_VALUES)} to lists of names"
                )
            if key == "tool_reference" and not all(
                k in TOOL_SETS and isinstance(v, list) and all(isinstance(r, dict) for r in v)
                for k, v in value.items()
            ):
                raise ValueError(f"tool_reference maps {list(TOOL_SETS)} to lists of objects")
            if key == "scope_ids" and not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value.values()
            ):
                raise ValueError("scope_ids maps a feature group to an integer id")
            checked[key] = value
        for key, value in checked.items():
            setattr(self, key, value)
        return unknown

    def public(self) -> dict[str, Any]:
        """The knobs as JSON-friendly values."""
        out = dataclasses.asdict(self)
        out["now"] = self.now.isoformat() if self.now else None
        return out
