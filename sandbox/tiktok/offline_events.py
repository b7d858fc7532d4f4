"""Offline event sets and the offline events reported to them (spec §9 "Pixel / Events":
offline events). Scope-guarded as group "pixels" by the path table (scopes.py: "offline/").
Sets live in ``World.offline_event_sets``, the events reported to each in
``World.offline_events``; Events API 2.0 (``event/track/`` with ``event_source`` "offline",
events_api.py) reports to the same sets.

Endpoints and where their shapes come from — TikTok's own files (tiktok/tiktok-business-api-sdk
yml_files/offline_create.yml, offline_update.yml, offline_delete.yml, offline_get.yml and its
SDKs' MeasurementApi models OfflineCreateBody, OfflineUpdateBody, OfflineDeleteBody) [C]:
* ``POST offline/create/`` {advertiser_id, name, description (all three required),
  auto_tracking (boolean, default false)} -> ``data`` {event_set_id} (the yml's response_rule;
  the Go SDK bububa/tiktok-business model/event/offline_create.go agrees) [C].
* ``POST offline/update/`` {advertiser_id, event_set_id (required), name, auto_tracking} ->
  the set: {advertiser_id, auto_tracking, create_time, description, event_set_id, name,
  update_time} (the yml's response_rule) [C]. The description cannot be changed (the yml has no
  such field).
* ``POST offline/delete/`` {advertiser_id, event_set_id} -> ``data: {}`` (the yml's
  response_rule is a placeholder) [U].
* ``GET offline/get/`` {advertiser_id, event_set_ids (JSON list), name — all optional in the
  yml} -> ``data.event_set_list``: the sets, oldest first, fields as offline/update answers
  them (the yml's response_rule ``event_set_list[]``) [C]; no pagination (the yml has none).
* ``POST offline/track/`` {event_set_id, event, event_id, timestamp, context, properties} and
  ``POST offline/batch/`` {event_set_id, batch: [...]}: the Offline Events API's reports, shapes
  from a client generated from TikTok's docs (types/events-1-0.ts ``OfflineTrackParams``,
  ``OfflineBatchParams``: event, context, properties and timestamp required) [L]; ``data: {}``.
  Events are checked as the Events API checks web events (events_api.Check; ISO 8601
  ``timestamp``, ``properties`` of PixelProperties' types) and kept; no documented read shows
  them, so none is invented.

Uncertain and chosen here [U]: ``create_time`` / ``update_time`` as "YYYY-MM-DD HH:MM:SS" UTC
(the yml names them only, CreatedAt / UpdatedAt); without ``advertiser_id`` offline/get lists
the sets of every ad account the token reaches; ``name`` filters by case-insensitive substring
(as pixel/list's ``name``); ids in ``event_set_ids`` that are not the account's are left out;
an unknown set (or one of an account the token does not reach) -> 40007 "Offline event set
<id> does not exist." on update/delete and 40002 on event_set_id when reporting events (as the
Events API does for an unknown pixel code); names non-empty, nothing else limited; a batch of
at most ``OFFLINE_BATCH_MAX`` events (the Events API's pixel/batch limit, 50).
"""

from __future__ import annotations

from typing import Any

from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NOT_EXIST, ApiError, param_error
from sandbox.tiktok.events_api import Check, _common, _items, _v1_time
from sandbox.tiktok.model import fmt_time

SET_ID_BASE = 7_320_000_000_000_000_000
OFFLINE_BATCH_MAX = 50  # [U] see the module docstring


def _name(ctx: Ctx, required: bool) -> str | None:
    """The set's name: a non-empty string."""
    name = ctx.params.str("name", required=required)
    if name is not None and not name.strip():
        raise param_error("name cannot be empty.")
    return name


def as_shown(set_id: str, s: dict[str, Any]) -> dict[str, Any]:
    """An event set as offline/get and offline/update answer it."""
    return {
        "event_set_id": set_id,
        "advertiser_id": s["advertiser_id"],
        "name": s["name"],
        "description": s["description"],
        "auto_tracking": s["auto_tracking"],
        "create_time": fmt_time(s["created"]),
        "update_time": fmt_time(s["updated"]),
    }


def _own_set(ctx: Ctx, advertiser_id: str, set_id: str) -> dict[str, Any]:
    """One of the account's event sets, or 40007."""
    s = ctx.world.offline_event_sets.get(set_id)
    if s is None or s["advertiser_id"] != advertiser_id:
        raise ApiError(NOT_EXIST, f"Offline event set {set_id} does not exist.")
    return s


@route("offline/create/", "POST")
def offline_create(ctx: Ctx) -> Any:
    """Make an offline event set for the account (offline_create.yml)."""
    p = ctx.params
    adv = ctx.advertiser()
    name = _name(ctx, required=True)
    description = p.raw("description")
    if description is None:  # required, though it may be empty
        raise param_error("description is required.")
    if not isinstance(description, str):
        raise param_error("description should be a string.")
    auto = p.bool("auto_tracking", False)
    w = ctx.world
    set_id = w.next_id("offline_event_set", SET_ID_BASE)
    w.offline_event_sets[set_id] = {
        "advertiser_id": adv.advertiser_id,
        "name": name,
        "description": description,
        "auto_tracking": auto,
        "created": ctx.now,
        "updated": ctx.now,
    }
    return {"event_set_id": set_id}


@route("offline/update/", "POST")
def offline_update(ctx: Ctx) -> Any:
    """Rename a set or switch its auto tracking (offline_update.yml); answers the set."""
    p = ctx.params
    adv = ctx.advertiser()
    set_id = p.req("event_set_id")
    name = _name(ctx, required=False)
    auto = p.bool("auto_tracking") if p.has("auto_tracking") else None
    s = _own_set(ctx, adv.advertiser_id, set_id)
    if name is not None:
        s["name"] = name
    if auto is not None:
        s["auto_tracking"] = auto
    s["updated"] = ctx.now
    return as_shown(set_id, s)


@route("offline/delete/", "POST")
def offline_delete(ctx: Ctx) -> Any:
    """Delete a set (offline_delete.yml): gone from offline/get, no more events accepted."""
    p = ctx.params
    adv = ctx.advertiser()
    set_id = p.req("event_set_id")
    _own_set(ctx, adv.advertiser_id, set_id)
    del ctx.world.offline_event_sets[set_id]
    return {}


@route("offline/get/")
def offline_get(ctx: Ctx) -> Any:
    """The sets of an account, or of every account of the token (offline_get.yml)."""
    p = ctx.params
    assert ctx.token is not None
    if p.has("advertiser_id"):
        accounts = {ctx.advertiser().advertiser_id}
    else:
        accounts = set(ctx.token.advertiser_ids)
    ids = p.str_list("event_set_ids")
    name = (p.str("name") or "").lower()
    rows = [
        as_shown(set_id, s)
        for set_id, s in ctx.world.offline_event_sets.items()
        if s["advertiser_id"] in accounts
        and (ids is None or set_id in ids)
        and (not name or name in s["name"].lower())
    ]
    rows.sort(key=lambda r: (r["create_time"], r["event_set_id"]))
    return {"event_set_list": rows}


def event_set_for(ctx: Ctx, set_id: str, check: Check, field: str) -> str:
    """A set of an ad account the token reaches, or 40002 on ``field`` [U]."""
    assert ctx.token is not None
    s = ctx.world.offline_event_sets.get(set_id)
    if s is None or s["advertiser_id"] not in ctx.token.advertiser_ids:
        raise check.fail(field, "not a valid string")
    return set_id


def _offline_event(ctx: Ctx, check: Check, event: dict[str, Any],
                   path: str) -> tuple[float, str, str]:
    """One offline event checked: (time, name, event_id)."""
    name = check.event_name(event, path, ctx.emu.config.events_custom_names)
    eid = check.string(event, "event_id", path)
    check.string(event, "timestamp", path, required=True)
    ts = _v1_time(ctx, check, event, path)
    check.obj(event, "context", path, required=True)
    check.obj(event, "properties", path, required=True)
    check.properties(event, path)
    return ts, name, eid


def keep(ctx: Ctx, set_id: str, events: list[tuple[float, str, str]]) -> None:
    """Record offline events for a set."""
    ctx.world.offline_events.setdefault(set_id, []).extend(events)


@route("offline/track/", "POST")
def offline_track(ctx: Ctx) -> Any:
    """Report one offline event to a set (types/events-1-0.ts OfflineTrackParams)."""
    body = dict(ctx.params.src)
    check = Check(batch_style=False)
    set_id = check.string(body, "event_set_id", "", required=True)
    _common(check, body)
    event = _offline_event(ctx, check, body, "")
    keep(ctx, event_set_for(ctx, set_id, check, "event_set_id"), [event])
    return {}


@route("offline/batch/", "POST")
def offline_batch(ctx: Ctx) -> Any:
    """Report offline events to a set in bulk (types/events-1-0.ts OfflineBatchParams)."""
    body = dict(ctx.params.src)
    check = Check(batch_style=True)
    set_id = check.string(body, "event_set_id", "", required=True)
    _common(check, body)
    events = [_offline_event(ctx, check, item, path)
              for path, item in _items(check, body, "batch", "Batch", OFFLINE_BATCH_MAX)]
    keep(ctx, event_set_for(ctx, set_id, check, "event_set_id"), events)
    return {}
