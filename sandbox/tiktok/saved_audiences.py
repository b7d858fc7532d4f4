"""Saved audiences (spec §9 "Audience management (DMP)"): a named targeting an account keeps
to reuse. Scope-guarded as group "audiences" by the path table (scopes.py: ``dmp/``).

Where the shapes come from. Requests: TikTok's official SDK docs (tiktok/tiktok-business-api-
sdk python_sdk/docs/AudienceApi.md of the current SDK, SavedAudienceCreateBody.md,
DmpsavedAudiencecreateActions.md, SavedAudienceDeleteBody.md); the Go SDK bububa/tiktok-business
model/dmp/savedaudience/{create,list,delete}.go and api/dmp/savedaudience/*.go (paths and
methods). Responses: create ``data.saved_audience_id``; list ``data.saved_audiences`` (both
create.go / list.go); delete ``data: {}`` (the Go SDK reads nothing).

* ``POST dmp/saved_audience/create/``: ``saved_audience_name`` (required, ≤512, no emoji),
  ``location_ids`` (required, ≤3000 as on ad groups [U]), optional ``gender``, ``age_groups``,
  ``languages``, ``audience_ids`` / ``excluded_audience_ids`` (audiences the account sees —
  its own or shared with it — as adgroup/create checks them), ``interest_category_ids``,
  ``interest_keyword_ids``, ``actions`` [{``action_scene`` VIDEO_RELATED | CREATOR_RELATED |
  HASHTAG_RELATED, ``action_period`` 0 | 7 | 15 (0 for the last two whatever is sent),
  ``video_user_actions`` of the scene, ``action_category_ids``}], ``operating_systems`` (one of
  ANDROID, IOS), ``min_android_version``, ``min_ios_version``, ``device_model_ids``,
  ``network_types``, ``carrier_ids``, ``device_price_ranges`` (multiples of 50; not with
  device_model_ids). At most ``saved_audience_max`` (400, create.go's doc) per account; over
  it 40002 [U: code not documented].
* ``GET dmp/saved_audience/list/``: ``saved_audience_ids`` (≤100), ``page``, ``page_size``
  (default 10, the official SDK; ≤100 [U]). Each item carries every field above (ids as
  strings; a field not sent is ``[]`` or null [U]); ``page_info`` as on other lists [U: the Go
  SDK reads only ``saved_audiences``]. Oldest first [U].
* ``POST dmp/saved_audience/delete/``: ``saved_audience_ids`` (1..100); an id not in the
  account refuses the whole call with 40007, as custom_audience/delete does [U].

Ad groups that name a ``saved_audience_id`` are not tied to these records yet.
"""

from __future__ import annotations

from typing import Any

from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.audiences import existing_ids
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.entity_values import AGES, GENDERS
from sandbox.tiktok.errors import NOT_EXIST, ApiError, param_error

ID_LISTS = ("location_ids", "audience_ids", "excluded_audience_ids", "interest_category_ids",
            "interest_keyword_ids", "device_model_ids", "carrier_ids")
STR_LISTS = ("languages", "network_types")
OPERATING_SYSTEMS = ("ANDROID", "IOS")
SCENE_ACTIONS = {
    "VIDEO_RELATED": ("WATCHED_TO_END", "LIKED", "COMMENTED", "SHARED"),
    "CREATOR_RELATED": ("FOLLOWING", "VIEW_HOMEPAGE"),
    "HASHTAG_RELATED": ("VIEW_HASHTAG",),
}
ACTION_PERIODS = (0, 7, 15)


def _actions(raw: Any) -> list[dict[str, Any]]:
    """Behaviour targeting, checked as DmpsavedAudiencecreateActions documents it."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        raise param_error("actions should be a list of objects.")
    out = []
    for i, a in enumerate(raw):
        scene = a.get("action_scene")
        if scene not in SCENE_ACTIONS:
            raise param_error(f"actions[{i}].action_scene must be one of "
                              f"{list(SCENE_ACTIONS)}.")
        period = a.get("action_period")
        if period not in ACTION_PERIODS or isinstance(period, bool):
            raise param_error(f"actions[{i}].action_period must be one of "
                              f"{list(ACTION_PERIODS)}.")
        acts = a.get("video_user_actions")
        if (not isinstance(acts, list) or not acts
                or any(x not in SCENE_ACTIONS[scene] for x in acts)):
            raise param_error(f"actions[{i}].video_user_actions for {scene} must be taken "
                              f"from {list(SCENE_ACTIONS[scene])}.")
        cats = a.get("action_category_ids")
        if not isinstance(cats, list) or not cats or not all(
            isinstance(c, str | int) and not isinstance(c, bool) for c in cats
        ):
            raise param_error(f"actions[{i}].action_category_ids is required.")
        out.append({
            "action_scene": scene,
            # "If action_scene is CREATOR_RELATED or HASHTAG_RELATED, 0 will be used."
            "action_period": period if scene == "VIDEO_RELATED" else 0,
            "video_user_actions": list(acts),
            "action_category_ids": [str(c) for c in cats],
        })
    return out


@route("dmp/saved_audience/create/", "POST")
def create(ctx: Ctx) -> Any:
    """Save a targeting under a name."""
    p = ctx.params
    adv = ctx.advertiser()
    name = p.name("saved_audience_name", required=True, max_len=512)
    locations = p.str_list("location_ids", required=True, min_items=1, max_items=3000)
    rec: dict[str, Any] = {f: p.str_list(f, max_items=3000) or [] for f in ID_LISTS}
    rec["location_ids"] = locations
    known = existing_ids(ctx, adv.advertiser_id)
    for f in ("audience_ids", "excluded_audience_ids"):
        missing = [i for i in rec[f] if i not in known]
        if missing:
            raise param_error(f"{f}: audience {missing[0]} does not exist in this account.")
    for f in STR_LISTS:
        rec[f] = p.str_list(f) or []
    rec["gender"] = p.enum("gender", GENDERS)
    rec["age_groups"] = p.str_list("age_groups", allowed=AGES) or []
    systems = p.str_list("operating_systems", max_items=1, allowed=OPERATING_SYSTEMS)
    rec["operating_systems"] = systems or []
    rec["min_android_version"] = p.str("min_android_version")
    rec["min_ios_version"] = p.str("min_ios_version")
    prices = p.json("device_price_ranges")
    if prices is not None:
        if (not isinstance(prices, list) or len(prices) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) and x % 50 == 0
                           for x in prices) or prices[0] >= prices[1]):
            raise param_error("device_price_ranges should be [low, high], multiples of 50.")
        if rec["device_model_ids"]:
            raise param_error("device_model_ids and device_price_ranges cannot be set at "
                              "the same time.")
    rec["device_price_ranges"] = prices or []
    rec["actions"] = _actions(p.json("actions"))
    mine = [s for s in ctx.world.saved_audiences.values()
            if s["advertiser_id"] == adv.advertiser_id]
    if len(mine) >= ctx.emu.config.saved_audience_max:
        raise param_error(f"an advertiser can have at most "
                          f"{ctx.emu.config.saved_audience_max} saved audiences.")
    sid = ctx.world.next_id("saved_audience", 195_000_000)
    ctx.world.saved_audiences[sid] = {"saved_audience_id": sid,
                                      "saved_audience_name": name,
                                      "advertiser_id": adv.advertiser_id,
                                      "create_ts": ctx.now, **rec}
    return {"saved_audience_id": sid}


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    """A saved audience as saved_audience/list answers it (list.go's fields only)."""
    return {k: v for k, v in rec.items() if k not in ("advertiser_id", "create_ts")}


@route("dmp/saved_audience/list/")
def saved_list(ctx: Ctx) -> Any:
    """The account's saved audiences (some of them by id), a page at a time."""
    p = ctx.params
    adv = ctx.advertiser()
    ids = p.str_list("saved_audience_ids", max_items=100)
    page, size = page_args(p, 100, 10)
    rows = [s for s in ctx.world.saved_audiences.values()
            if s["advertiser_id"] == adv.advertiser_id and (not ids or s["saved_audience_id"]
                                                            in ids)]
    rows.sort(key=lambda s: (s["create_ts"], int(s["saved_audience_id"])))
    out, info = paginate([_public(s) for s in rows], page, size)
    return {"saved_audiences": out, "page_info": info}


@route("dmp/saved_audience/delete/", "POST")
def delete(ctx: Ctx) -> Any:
    """Delete saved audiences of the account; an unknown id refuses the whole call."""
    adv = ctx.advertiser()
    ids = ctx.params.str_list("saved_audience_ids", required=True, min_items=1,
                              max_items=100) or []
    for sid in ids:
        rec = ctx.world.saved_audiences.get(sid)
        if rec is None or rec["advertiser_id"] != adv.advertiser_id:
            raise ApiError(NOT_EXIST, f"Saved audience {sid} does not exist.")
    for sid in ids:
        ctx.world.saved_audiences.pop(sid, None)
    return {}
