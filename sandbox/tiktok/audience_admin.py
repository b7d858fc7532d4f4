"""Audience management beyond making and listing audiences (spec §9 "Audience management
(DMP)"): update, lookalike refresh, rule audiences, sharing and applying to ad groups.
Scope-guarded as group "audiences" by the path table (scopes.py: ``dmp/``).

Where the shapes come from. Requests: TikTok's official SDK, tiktok/tiktok-business-api-sdk
python_sdk/docs (AudienceApi.md of the current SDK lists every path below; the SDK installed
here is older and only has custom_audience/list), its bodies CustomAudienceUpdateBody.md,
LookalikeUpdateBody.md, RuleCreateBody.md with DmpcustomAudiencerulecreateRuleSpec*.md,
CustomAudienceShareBody.md, ShareCancelBody.md, CustomAudienceApplyBody.md; and the Go SDK
bububa/tiktok-business model/dmp/customaudience/{update,lookalike_update,rule_create,share,
share_cancel,share_log,apply,apply_log}.go with api/dmp/customaudience/*.go (methods and
paths). Responses: the Go SDK reads no ``data`` from update, lookalike/update, share,
share/cancel and apply (answered ``data: {}``); rule/create answers
``data.custom_audience_id`` (rule_create.go); share/log ``data.list`` [{shared_advertiser_id,
shared_advertiser_name, custom_audience_id, status}] (share_log.go); apply/log
``data`` {advertiser_id, page_info, list: [{audience_id, adgroup_id, adgroup_name,
usage_mode, editor, action_timestamp}]} (apply_log.go).

* ``POST dmp/custom_audience/update/``: ``custom_audience_id``, ``custom_audience_name``
  (≤128) and/or ``file_paths`` with ``action`` APPEND | REMOVE | REPLACE (default REPLACE;
  only with file_paths), ``audience_sub_type`` (only NORMAL -> REACH_FREQUENCY, never for a
  lookalike; when sent, the other fields are ignored — all CustomAudienceUpdateBody). Files
  must be this account's and of the audience's calculate_type. A file update leaving fewer
  than ``audience_update_min_size`` people (1000, the body's note) is refused with 40002 at
  once; TikTok says the operation "will fail", not when [U]. A file update restarts the
  computation (not valid, size 0, for ``audience_ready_seconds``; list.go: "audiences being
  calculated are not valid"); a rename does not. ``audience_enhancement`` is accepted and
  has no effect [U: undocumented].
* ``POST dmp/custom_audience/lookalike/update/``: ``custom_audience_ids`` (1..100 [U]), each a
  lookalike of this account whose source still exists; recomputed like an update.
* ``POST dmp/custom_audience/rule/create/``: ``custom_audience_name``, ``audience_type``,
  ``rule_spec`` {``inclusion_rule_set`` (required), ``exclusion_rule_set``}, each {``operator``
  OR, ``rules`` [{``event_source_ids``, ``retention_days``, ``filter_set`` {``operator`` OR,
  ``filters`` (one) [{``field`` EVENT, ``operator`` EQ, ``value``, ``parameter_filters``}]}}]},
  ``audience_sub_type``, ``retention_in_days`` (1..365), ``is_auto_refresh`` (default true).
  The Go SDK spells the sets ``include_rule_set`` / ``exclude_rule_set``; both are read [U].
  Event sources must be the account's: ad groups (ENGAGEMENT; none = all), pixels (PIXEL:
  pixels.account_pixels), apps (APP: apps.account_apps), the core user ids of the logins
  holding the account (BUSINESS_ACCOUNT), offline event sets (OFFLINE: offline/create/'s, in
  ``World.offline_event_sets``); LEAD_GENERATION takes none. The emulator has no live videos
  or shops, and no public source names the filter values of a TikTok-post audience, so
  ENGAGEMENT_LIVE_VIDEO, TIKTOK_SHOP and ENGAGEMENT_ORGANIC_VIDEO are refused (40002) rather
  than faked. Which
  filter ``value`` belongs to which type is read off the Go SDK's enum/filter_operator.go
  comments [L]; the lookback (``retention_days``) is 1..180 [U: the enum is not public] and
  7, 14 or 30 for BUSINESS_ACCOUNT unless the value is BUSINESS ACCOUNT PROFILE FOLLOW
  (RuleCreate doc). The list shows the audience with ``audience_type`` as list.go names the
  kinds ("Engagement Audience", "App Activity Audience", "Website Audience", "Lead
  Generation", "Rule Business Account"; an offline one "Offline Activity Audience", the name
  RuleCreateBody gives the type [U]), ``is_auto_refresh`` and ``rule`` (the rule_spec as
  JSON text [U]). Its size is not computed from delivery: a number fixed by the world's seed,
  the sources, events and lookback [U].
* ``POST dmp/custom_audience/share/``: ``custom_audience_ids`` (1..10, owned),
  ``shared_advertiser_ids`` (1..10, in a Business Center with this account). The audience is
  then in each one's list and get (``shared`` true, ``is_creator`` false, ``owner_id``), may be
  put in their ad groups, and the owner's list shows ``shared`` true.
* ``POST dmp/custom_audience/share/cancel/``: ``custom_audience_id``, ``shared_advertiser_id``
  (the SDK marks it required yet says to pass it only to stop sharing with one advertiser:
  without it every share of the audience ends [U]). Ad groups of the other account keep the id
  they already target [U].
* ``GET dmp/custom_audience/share/log/``: ``custom_audience_id`` (owned); one row per account
  it was ever shared with; ``status`` "SHARED" or "CANCELLED" [U: values not public].
* ``POST dmp/custom_audience/apply/``: ``custom_audience_id`` (owned or shared with the
  account), ``adgroup_ids`` (this account's, 1..100 [U]), ``action_mode`` Apply | Disconnect,
  ``usage_mode`` Include | Exclude (required with Apply). Apply puts the id in the ad group's
  ``audience_ids`` (Include) or ``excluded_audience_ids`` (Exclude), out of the other list;
  Disconnect takes it out of both — what adgroup/get then reads. A REACH_FREQUENCY audience
  only fits Reach & Frequency ad groups, which the emulator has none of: refused (40002).
* ``GET dmp/custom_audience/apply/log/``: ``custom_audience_ids`` (owned, 1..100 [U]),
  ``timezone`` (default UTC), ``page``, ``page_size`` (default 10, ≤100 [U]). The latest
  Apply per audience and ad group, newest first; ``editor`` "open_api" (as get.go's history
  names API edits).

Refusals: an audience the account cannot see is 40007; one shared with it that only its
owner may change is 40001 [U]; other invalid input 40002. Refusal texts are the emulator's.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.tiktok import apps, pixels
from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.api_entities import adgroup_of
from sandbox.tiktok.audiences import (
    SHARE_ACTIVE,
    SHARE_CANCELLED,
    _new_audience,
    audience_rows,
    shared_with,
    visible,
)
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NO_PERMISSION, NOT_EXIST, ApiError, param_error
from sandbox.tiktok.model import Advertiser, fmt_time

FILE_ACTIONS = ("APPEND", "REMOVE", "REPLACE")
EDITOR = "open_api"  # get.go: the editor of changes made through the API

# rule/create audience_type -> the list's audience_type name (list.go).
RULE_TYPES = {
    "ENGAGEMENT": "Engagement Audience",
    "APP": "App Activity Audience",
    "PIXEL": "Website Audience",
    "LEAD_GENERATION": "Lead Generation",
    "BUSINESS_ACCOUNT": "Rule Business Account",
    "OFFLINE": "Offline Activity Audience",  # [U] RuleCreateBody's name for the type
}
UNSUPPORTED_RULE_TYPES = {
    "ENGAGEMENT_ORGANIC_VIDEO": "filter values for TikTok posts",
    "ENGAGEMENT_LIVE_VIDEO": "live videos",
    "TIKTOK_SHOP": "TikTok Shops",
}
# Filter values by audience type, as the Go SDK's enum/filter_operator.go groups them [L].
FILTER_VALUES: dict[str, tuple[str, ...]] = {
    "ENGAGEMENT": (
        "CLICK", "IMPRESSION", "PLAY 2S", "PLAY 6S", "PLAY 25", "PLAY 50", "PLAY 75",
        "PLAY OVER", "ENGAGEMENT APP PROFILE CLICK", "ENGAGEMENT APP PROFILE IMPRESSION",
        "ENGAGEMENT TIKTOK INSTANT CLICK", "ENGAGEMENT TIKTOK INSTANT IMPRESSION",
        "ENGAGEMENT COLLECTION ADS CLICK", "ENGAGEMENT COLLECTION ADS IMPRESSION",
    ),
    "APP": (
        "INSTALL", "DAY 2 RETENTION", "APP ADD PAYMENT INFO", "APP ADD TO CART",
        "ADD TO WISHLIST", "LAUNCH APP", "CHECKOUT", "COMPLETE TUTORIAL", "VIEW CONTENT",
        "CREATE GROUP", "CREATE ROLE", "GENERATE LEAD", "IN-APP AD CLICK",
        "IN-APP AD IMPRESSION", "JOIN GROUP", "ACHIEVE LEVEL", "LOAN APPLY", "LOAN APPROVAL",
        "LOAN DISBURSAL", "LOGIN", "PURCHASE", "RATE", "REGISTRATION", "APP SEARCH",
        "SPEND CREDITS", "START TRIAL", "SUBSCRIBE", "UNLOCK ACHIEVEMENT",
    ),
    "PIXEL": (
        "PAGE BROWSE", "CLICK BUTTON", "PIXEL SUBMIT FORM", "CONTACT", "DOWNLOAD",
        "PIXEL ADD PAYMENT INFO", "COMPLETE PAYMENT", "INITIATE CHECKOUT",
        "COMPLETE REGISTRATION", "PRODUCT DETAIL PAGE BROWSE", "PIXEL SEARCH",
        "PIXEL ADD TO CART", "PLACE AN ORDER", "PIXEL ADD TO WISHLIST", "PIXEL SUBSCRIBE",
    ),
    "LEAD_GENERATION": ("LEAD GENERATION FORM SUBMISSION", "FORM VIEW"),
    "BUSINESS_ACCOUNT": (
        "BUSINESS ACCOUNT PROFILE FOLLOW", "BUSINESS ACCOUNT PROFILE VISIT",
        "BUSINESS ACCOUNT ENGAGEMENT", "BUSINESS ACCOUNT PLAY 2S", "BUSINESS ACCOUNT PLAY 6S",
        "BUSINESS ACCOUNT PLAY OVER",
    ),
    "OFFLINE": (
        "OFFLINE COMPLETE PAYMENT", "OFFLINE CONTACT", "OFFLINE SUBMIT FORM",
        "OFFLINE SUBSCRIBE", "OFFLINE ADD PAYMENT INFO", "OFFLINE ADD TO CART",
        "OFFLINE ADD TO WISHLIST", "OFFLINE CLICK BUTTON", "OFFLINE COMPLETE REGISTRATION",
        "OFFLINE DOWNLOAD", "OFFLINE INITIATE CHECKOUT", "OFFLINE PLACE AN ORDER",
    ),
}
FOLLOW = "BUSINESS ACCOUNT PROFILE FOLLOW"
SHORT_LOOKBACKS = (7, 14, 30)
MAX_LOOKBACK_DAYS = 180  # [U] the lookback enum is not public
# parameter_filters (DmpcustomAudiencerulecreateRuleSpec*ParameterFilters, model/types.go).
PARAM_FIELDS = ("URL", "CONTENT_TYPE", "PRICE", "VALUE", "CONTENT_ID", "CONTENT_CATEGORY")
URL_OPERATORS = ("CONTAINS", "DOES_NOT_CONTAIN", "EQ")
PARAM_OPERATORS = (
    *URL_OPERATORS, "IS_LESS_THAN", "IS_GREATER_THAN", "IS_LESS_THAN_OR_EQUAL_TO",
    "IS_GRETER_THAN_OR_EQUAL_TO",  # sic: the SDKs spell it so
)


# ---------------------------------------------------------------- helpers


def _audience(ctx: Ctx, adv_id: str, aud_id: str, owner_only: bool = True) -> dict[str, Any]:
    """An audience the account sees (40007 otherwise); with ``owner_only``, one it owns."""
    aud = ctx.world.audiences.get(aud_id)
    if aud is None or not visible(ctx, aud, adv_id):
        raise ApiError(NOT_EXIST, f"Audience {aud_id} does not exist.")
    if owner_only and aud["advertiser_id"] != adv_id:
        raise ApiError(NO_PERMISSION, f"Audience {aud_id} is shared with advertiser {adv_id}; "
                                      "only its owner can do this.")
    return aud


def _record(ctx: Ctx, aud: dict[str, Any], action: str, detail: str) -> None:
    """Note a change in the audience's history (dmp/custom_audience/get) and when it was
    last changed (its expiry counts from then unless retention_in_days was set)."""
    aud.setdefault("history", []).append({"action": action, "action_detail": detail,
                                          "editor": EDITOR, "msg": "",
                                          "opt_time": fmt_time(ctx.now)})
    aud["touched_ts"] = ctx.now


def _check_files(ctx: Ctx, adv_id: str, aud: dict[str, Any], paths: list[str]) -> None:
    """Files uploaded by this account with the audience's calculate_type."""
    for path in paths:
        f = ctx.world.audience_files.get(path)
        if f is None or f["advertiser_id"] != adv_id:
            raise param_error(f"file_path {path} does not exist.")
        if f["calculate_type"] != aud["calculate_type"]:
            raise param_error(f"file_path {path} was uploaded as {f['calculate_type']}, not "
                              f"{aud['calculate_type']} as the audience.")


# ---------------------------------------------------------------- update and refresh


@route("dmp/custom_audience/update/", "POST")
def update(ctx: Ctx) -> Any:
    """Rename an audience, change its files (APPEND / REMOVE / REPLACE) or its sub type."""
    p = ctx.params
    adv = ctx.advertiser()
    aud = _audience(ctx, adv.advertiser_id, p.req("custom_audience_id"))
    name = p.name("custom_audience_name", required=False, max_len=128)
    paths = p.str_list("file_paths", min_items=1)
    action = p.enum("action", FILE_ACTIONS, default="REPLACE")
    p.bool("audience_enhancement")
    sub = p.str("audience_sub_type")
    if sub is not None:
        # Only NORMAL -> REACH_FREQUENCY, never for a lookalike; the other fields are ignored.
        if sub != "REACH_FREQUENCY":
            raise param_error("audience_sub_type can only be changed to REACH_FREQUENCY.")
        if aud["lookalike_spec"]:
            raise param_error("a lookalike audience cannot become REACH_FREQUENCY.")
        aud["audience_sub_type"] = sub
        _record(ctx, aud, "UPDATE_SUB_TYPE", "Audience sub type changed to REACH_FREQUENCY")
        return {}
    if name is None and paths is None:
        raise param_error("custom_audience_name or file_paths is required.")
    if paths is not None:
        if aud["lookalike_spec"] or aud.get("rule_spec") is not None:
            raise param_error("file_paths can only update a Customer File audience.")
        _check_files(ctx, adv.advertiser_id, aud, paths)
        ops = [*aud.get("file_ops", []), [action, list(paths)]]
        size = len(audience_rows(ctx, {**aud, "file_ops": ops}))
        size = size * ctx.emu.config.audience_match_percent // 100
        floor = ctx.emu.config.audience_update_min_size
        if size < floor:
            raise param_error(f"after {action} the audience would have {size} people; it "
                              f"should have at least {floor}.")
        aud["file_ops"] = ops
        aud["compute_ts"] = ctx.now
        _record(ctx, aud, action, f"{action} {len(paths)} file(s)")
    if name is not None:
        aud["name"] = name
        _record(ctx, aud, "RENAME", f"Renamed to {name}")
    return {}


@route("dmp/custom_audience/lookalike/update/", "POST")
def lookalike_update(ctx: Ctx) -> Any:
    """Refresh lookalike audiences: each is computed again from its source."""
    adv = ctx.advertiser()
    ids = ctx.params.str_list("custom_audience_ids", required=True, min_items=1,
                              max_items=100) or []
    auds = [_audience(ctx, adv.advertiser_id, i) for i in ids]
    for aud in auds:
        spec = aud["lookalike_spec"]
        if not spec:
            raise param_error(f"audience {aud['audience_id']} is not a lookalike audience.")
        if spec["source_audience_id"] not in ctx.world.audiences:
            raise param_error(f"the source audience of {aud['audience_id']} was deleted; it "
                              "cannot be refreshed.")
    for aud in auds:
        aud["compute_ts"] = ctx.now
        _record(ctx, aud, "REFRESH", "Lookalike audience refreshed")
    return {}


# ---------------------------------------------------------------- rule audiences


def _sources(ctx: Ctx, adv: Advertiser, kind: str) -> set[str]:
    """The event source ids a rule of this audience type may name in this account."""
    w = ctx.world
    if kind == "ENGAGEMENT":
        return {g.adgroup_id for g in w.adgroups_of(adv.advertiser_id)}
    if kind == "PIXEL":
        return {px["pixel_id"] for px in pixels.account_pixels(ctx, adv)}
    if kind == "APP":
        return {a["app_id"] for a in apps.account_apps(ctx, adv)}
    if kind == "BUSINESS_ACCOUNT":  # /user/info/'s core_user_id of the logins holding it
        return {u.core_user_id for u in w.users.values()
                if adv.advertiser_id in u.advertiser_ids}
    if kind == "OFFLINE":  # the account's offline event sets (offline_events.py, offline/get/)
        return {sid for sid, s in w.offline_event_sets.items()
                if s["advertiser_id"] == adv.advertiser_id}
    return set()


def _rule(ctx: Ctx, adv: Advertiser, kind: str, raw: Any, where: str) -> dict[str, Any]:
    """One rule, checked: its event sources, lookback and event filter."""
    if not isinstance(raw, dict):
        raise param_error(f"{where} should be an object.")
    sources = raw.get("event_source_ids")
    if sources is not None:
        if not isinstance(sources, list) or not all(
            isinstance(s, str | int) and not isinstance(s, bool) for s in sources
        ):
            raise param_error(f"{where}.event_source_ids should be a list of ids.")
        sources = [str(s) for s in sources]
    if kind == "LEAD_GENERATION" and sources:
        raise param_error(f"{where}.event_source_ids cannot be set for LEAD_GENERATION.")
    if kind not in ("ENGAGEMENT", "LEAD_GENERATION") and not sources:
        raise param_error(f"{where}.event_source_ids is required for {kind}.")
    known = _sources(ctx, adv, kind)
    for s in sources or []:
        if s not in known:
            raise param_error(f"{where}.event_source_ids: {s} is not an event source of "
                              f"this advertiser for {kind}.")
    days = raw.get("retention_days")
    if isinstance(days, bool) or not isinstance(days, int):
        raise param_error(f"{where}.retention_days is required and should be an integer.")
    value = None
    fset = raw.get("filter_set")
    if fset is not None:
        if not isinstance(fset, dict) or fset.get("operator") != "OR":
            raise param_error(f"{where}.filter_set.operator should be OR.")
        filters = fset.get("filters")
        if not isinstance(filters, list) or len(filters) != 1 or not isinstance(filters[0],
                                                                                dict):
            raise param_error(f"{where}.filter_set.filters should hold exactly one filter.")
        f = filters[0]
        if f.get("field") != "EVENT" or f.get("operator") != "EQ":
            raise param_error(f"{where}.filter_set.filters: field should be EVENT and "
                              "operator EQ.")
        value = f.get("value")
        if value not in FILTER_VALUES[kind]:
            raise param_error(f"{where}.filter_set.filters.value {value!r} is not an event of "
                              f"a {kind} audience.")
        _param_filters(f.get("parameter_filters"), f"{where}.filter_set.filters")
    if kind == "BUSINESS_ACCOUNT" and value != FOLLOW:
        if days not in SHORT_LOOKBACKS:
            raise param_error(f"{where}.retention_days should be 7, 14 or 30.")
    elif not 1 <= days <= MAX_LOOKBACK_DAYS:
        raise param_error(f"{where}.retention_days should be between 1 and "
                          f"{MAX_LOOKBACK_DAYS}.")
    return {"event_source_ids": sources, "retention_days": days, "value": value}


def _param_filters(raw: Any, where: str) -> None:
    """At most one URL filter and ten parameter filters, each with 1..10 values ≤100 chars."""
    if raw is None:
        return
    if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
        raise param_error(f"{where}.parameter_filters should be a list of objects.")
    urls = [f for f in raw if f.get("field") == "URL"]
    if len(urls) > 1 or len(raw) - len(urls) > 10:
        raise param_error(f"{where}.parameter_filters: at most one URL filter and 10 "
                          "parameter filters.")
    for f in raw:
        field = f.get("field")
        if field not in PARAM_FIELDS:
            raise param_error(f"{where}.parameter_filters.field must be one of "
                              f"{list(PARAM_FIELDS)}.")
        ops = URL_OPERATORS if field == "URL" else PARAM_OPERATORS
        if f.get("operator") not in ops:
            raise param_error(f"{where}.parameter_filters.operator for {field} must be one "
                              f"of {list(ops)}.")
        values = f.get("values")
        if (not isinstance(values, list) or not 1 <= len(values) <= 10
                or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in values)):
            raise param_error(f"{where}.parameter_filters.values should be 1-10 strings of "
                              "at most 100 characters.")


def _rule_set(ctx: Ctx, adv: Advertiser, kind: str, raw: Any,
              where: str) -> list[dict[str, Any]]:
    """An inclusion or exclusion rule set: operator OR and at least one rule."""
    if not isinstance(raw, dict):
        raise param_error(f"{where} should be an object.")
    if raw.get("operator") != "OR":
        raise param_error(f"{where}.operator should be OR.")
    rules = raw.get("rules")
    if not isinstance(rules, list) or not rules:
        raise param_error(f"{where}.rules should be a non-empty list.")
    return [_rule(ctx, adv, kind, r, f"{where}.rules[{i}]") for i, r in enumerate(rules)]


def _people(seed: int, kind: str, rule: dict[str, Any]) -> int:
    """People one rule reaches: a number per source and event, fixed by the seed [U]."""
    total = 0
    for source in rule["event_source_ids"] or ["*"]:
        key = f"{seed}:{kind}:{source}:{rule['value']}".encode()
        h = int(hashlib.sha256(key).hexdigest()[:8], 16)
        total += (40 + h % 960) * rule["retention_days"]
    return total


@route("dmp/custom_audience/rule/create/", "POST")
def rule_create(ctx: Ctx) -> Any:
    """An audience of the people who did something: engaged with ad groups, visited a pixel's
    site, used an app, filled a lead form or interacted with the business account."""
    p = ctx.params
    adv = ctx.advertiser()
    name = p.name("custom_audience_name", required=True, max_len=128)
    kind = p.enum("audience_type", [*RULE_TYPES, *UNSUPPORTED_RULE_TYPES], required=True)
    assert kind is not None
    if kind in UNSUPPORTED_RULE_TYPES:
        raise param_error(f"audience_type {kind} is not supported: this emulator has no "
                          f"{UNSUPPORTED_RULE_TYPES[kind]}.")
    sub = p.enum("audience_sub_type", ("NORMAL", "REACH_FREQUENCY"), default="NORMAL")
    retention = p.int("retention_in_days", 365, lo=1, hi=365)
    auto = p.bool("is_auto_refresh", default=True)
    spec = p.obj("rule_spec")
    if not spec:
        raise param_error("rule_spec is required.")
    inc_key = "inclusion_rule_set" if "inclusion_rule_set" in spec else "include_rule_set"
    exc_key = "exclusion_rule_set" if "exclusion_rule_set" in spec else "exclude_rule_set"
    if spec.get(inc_key) is None:
        raise param_error("rule_spec.inclusion_rule_set is required.")
    include = _rule_set(ctx, adv, kind, spec[inc_key], "rule_spec.inclusion_rule_set")
    exclude = (_rule_set(ctx, adv, kind, spec[exc_key], "rule_spec.exclusion_rule_set")
               if spec.get(exc_key) is not None else [])
    seed = ctx.world.seed
    size = sum(_people(seed, kind, r) for r in include)
    for r in exclude:  # each exclusion takes away a share of the people [U]
        size -= size * (10 + _people(seed, kind, r) % 30) // 100
    stored = {"inclusion_rule_set": spec[inc_key]}
    if exclude:
        stored["exclusion_rule_set"] = spec[exc_key]
    aud_id = _new_audience(ctx, adv.advertiser_id, str(name), rule_spec=stored,
                           rule_type=kind, type_name=RULE_TYPES[kind], rule_size=size,
                           is_auto_refresh=auto, retention_days=retention,
                           retention_fixed=p.has("retention_in_days"), audience_sub_type=sub)
    return {"custom_audience_id": aud_id}


# ---------------------------------------------------------------- sharing


def _bc_peers(ctx: Ctx, adv_id: str) -> set[str]:
    """Accounts in a Business Center with this one."""
    out: set[str] = set()
    for bc in ctx.world.bcs.values():
        if adv_id in bc.advertiser_ids:
            out.update(bc.advertiser_ids)
    out.discard(adv_id)
    return out


@route("dmp/custom_audience/share/", "POST")
def share(ctx: Ctx) -> Any:
    """Share owned audiences with accounts of the same Business Center."""
    p = ctx.params
    adv = ctx.advertiser()
    ids = p.str_list("custom_audience_ids", required=True, min_items=1, max_items=10) or []
    targets = p.str_list("shared_advertiser_ids", required=True, min_items=1,
                         max_items=10) or []
    auds = [_audience(ctx, adv.advertiser_id, i) for i in ids]
    peers = _bc_peers(ctx, adv.advertiser_id)
    for t in targets:
        if t == adv.advertiser_id:
            raise param_error("an audience cannot be shared with its own advertiser.")
        if t not in peers:
            raise param_error(f"advertiser {t} is not in the same Business Center as "
                              f"advertiser {adv.advertiser_id}.")
    for aud in auds:
        shares = ctx.world.audience_shares.setdefault(aud["audience_id"], {})
        for t in targets:
            shares[t] = {"status": SHARE_ACTIVE, "share_ts": ctx.now, "cancel_ts": None}
    return {}


@route("dmp/custom_audience/share/cancel/", "POST")
def share_cancel(ctx: Ctx) -> Any:
    """Stop sharing an audience with one account (or, without one, with every account)."""
    p = ctx.params
    adv = ctx.advertiser()
    aud = _audience(ctx, adv.advertiser_id, p.req("custom_audience_id"))
    target = p.str("shared_advertiser_id")
    active = shared_with(ctx, aud["audience_id"])
    if target is not None and target not in active:
        raise param_error(f"audience {aud['audience_id']} is not shared with advertiser "
                          f"{target}.")
    if not active:
        raise param_error(f"audience {aud['audience_id']} is not shared with any advertiser.")
    shares = ctx.world.audience_shares[aud["audience_id"]]
    for t in [target] if target is not None else active:
        shares[t].update(status=SHARE_CANCELLED, cancel_ts=ctx.now)
    return {}


@route("dmp/custom_audience/share/log/")
def share_log(ctx: Ctx) -> Any:
    """Every account an owned audience was shared with, and whether it still is."""
    adv = ctx.advertiser()
    aud = _audience(ctx, adv.advertiser_id, ctx.params.req("custom_audience_id"))
    shares = ctx.world.audience_shares.get(aud["audience_id"], {})
    rows = []
    for t, s in sorted(shares.items(), key=lambda kv: (kv[1]["share_ts"], kv[0])):
        other = ctx.world.advertisers.get(t)
        rows.append({"shared_advertiser_id": t,
                     "shared_advertiser_name": other.name if other else "",
                     "custom_audience_id": aud["audience_id"], "status": s["status"]})
    return {"list": rows}


# ---------------------------------------------------------------- applying to ad groups


@route("dmp/custom_audience/apply/", "POST")
def apply(ctx: Ctx) -> Any:
    """Put an audience in (Include / Exclude) or out of (Disconnect) ad groups' targeting."""
    p = ctx.params
    adv = ctx.advertiser()
    aud = _audience(ctx, adv.advertiser_id, p.req("custom_audience_id"), owner_only=False)
    ag_ids = p.str_list("adgroup_ids", required=True, min_items=1, max_items=100) or []
    mode = p.enum("action_mode", ("Apply", "Disconnect"), required=True)
    usage = p.enum("usage_mode", ("Include", "Exclude"), required=mode == "Apply")
    groups = [adgroup_of(ctx, adv, g) for g in ag_ids]
    if mode == "Apply" and aud["audience_sub_type"] == "REACH_FREQUENCY":
        # CustomAudienceApplyBody: an R&F audience is for R&F ad groups only; the emulator's
        # ad groups are all auction ones.
        raise param_error("a REACH_FREQUENCY audience can only be used in Reach & Frequency "
                          "ad groups.")
    aud_id = aud["audience_id"]
    for ag in groups:
        inc = [a for a in ag.extra.get("audience_ids") or [] if a != aud_id]
        exc = [a for a in ag.extra.get("excluded_audience_ids") or [] if a != aud_id]
        if mode == "Apply":
            (inc if usage == "Include" else exc).append(aud_id)
            ctx.world.audience_applies.append({"audience_id": aud_id,
                                               "adgroup_id": ag.adgroup_id,
                                               "usage_mode": usage, "editor": EDITOR,
                                               "ts": ctx.now,
                                               "seq": len(ctx.world.audience_applies)})
        ag.extra["audience_ids"] = inc
        ag.extra["excluded_audience_ids"] = exc
        ag.modify_time = ctx.now
        ctx.world.touch(ag.campaign_id)
    aud["touched_ts"] = ctx.now
    return {}


@route("dmp/custom_audience/apply/log/")
def apply_log(ctx: Ctx) -> Any:
    """The latest Apply of owned audiences to each ad group, newest first."""
    p = ctx.params
    adv = ctx.advertiser()
    ids = p.str_list("custom_audience_ids", required=True, min_items=1, max_items=100) or []
    for i in ids:
        _audience(ctx, adv.advertiser_id, i)
    tz_name = p.str("timezone") or "UTC"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise param_error(f"timezone {tz_name} is not a valid time zone.") from None
    page, size = page_args(p, 100, 10)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in ctx.world.audience_applies:
        if rec["audience_id"] in ids:
            latest[(rec["audience_id"], rec["adgroup_id"])] = rec
    rows = []
    for rec in sorted(latest.values(), key=lambda r: (-r["ts"], -r["seq"])):
        ag = ctx.world.adgroups.get(rec["adgroup_id"])
        rows.append({
            "audience_id": rec["audience_id"],
            "adgroup_id": rec["adgroup_id"],
            "adgroup_name": ag.name if ag else "",
            "usage_mode": rec["usage_mode"],
            "editor": rec["editor"],
            "action_timestamp": datetime.fromtimestamp(rec["ts"], tz).strftime(
                "%Y-%m-%d %H:%M:%S"),
        })
    out, info = paginate(rows, page, size)
    return {"advertiser_id": adv.advertiser_id, "page_info": info, "list": out}
