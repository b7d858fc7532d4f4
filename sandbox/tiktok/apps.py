"""An ad account's mobile apps (the official SDK's MeasurementApi: ``app_list``,
``app_optimization_event``). Scope group "pixels" (measurement) by the path table (scopes.py):
the SDK files these endpoints with the pixel ones; which portal permission covers them is not
public [U].

The emulator keeps no app registry. Like pixels (pixels.py), an account's apps are derived from
its world: the distinct ``app_id`` values its ad groups promote (``app_id`` of adgroup/create),
each with the platform its ad groups target (``operating_systems``, else the ``promotion_type``
APP_ANDROID / APP_IOS) and the optimisation events they use. The demo and scale fixtures have no
app campaigns, so every account there lists none — as an advertiser without apps does.

Endpoints (parameters from the SDK; response fields from a generated TypeScript typing of
TikTok's v1.3 app endpoints found in the code index — AppListResponse,
AppOptimizationEventResponse):

* ``GET app/list/``: ``advertiser_id``, ``app_platform_ids`` (JSON list; filter).
  ``data.apps`` [{advertiser_id, app_id, app_name, app_platform_id, platform, download_url,
  create_time}] (no paging in either source). The typing has more fields (icon, partner,
  tracking_url, skan_allowed, …) whose values the emulator could only invent: left out [U].
  ``app_name`` "App <app_id>" and ``app_platform_id`` (the store id) equal to ``app_id`` are
  the emulator's [U]; ``create_time`` the first ad group's, "YYYY-MM-DD HH:MM:SS" UTC [U].
* ``GET app/optimization_event/``: ``app_id``, ``advertiser_id``, ``placement`` (JSON list),
  ``placement_type`` (the TypeScript typing only),
  ``optimization_goal`` (required), ``objective``, ``app_promotion_type`` (required with
  objective APP_PROMOTION), ``available_only`` (default true), ``is_skan``.
  ``data.optimization_events`` [{optimization_event, statistic_type, availability_status
  READY | INACTIVE, conversions, unlock_threshold, is_beta}]. The events per goal and their
  readiness are guesses [U]: an event the app's ad groups optimise for is READY, the others
  INACTIVE (dropped with ``available_only``); ``conversions`` and ``unlock_threshold`` are 0.
  A goal with no app events (CLICK, …) lists none. An app the account does not have answers
  40007 [U].
"""

from __future__ import annotations

from typing import Any

from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.entity_values import (
    APP_PROMOTION_TYPES,
    GOALS,
    OBJECTIVES,
    PLACEMENT_TYPES,
    PLACEMENTS,
)
from sandbox.tiktok.errors import NOT_EXIST, ApiError
from sandbox.tiktok.model import Advertiser, fmt_time

# App events per optimisation goal [U] (TikTok's app event names of adgroup/create).
GOAL_EVENTS: dict[str, list[str]] = {
    "INSTALL": ["ACTIVE"],
    "IN_APP_EVENT": ["ACTIVE_REGISTER", "ACTIVE_PAY", "IN_APP_ORDER", "LOGIN"],
    "VALUE": ["ACTIVE_PAY"],
}


def _platform(extra: dict[str, Any]) -> str:
    """ANDROID or IOS from an ad group's targeting."""
    systems = extra.get("operating_systems") or []
    if systems:
        return str(systems[0])
    return "IOS" if extra.get("promotion_type") == "APP_IOS" else "ANDROID"


def account_apps(ctx: Ctx, adv: Advertiser) -> list[dict[str, Any]]:
    """The account's apps (internal form: the optimisation events in use under ``_events``)."""
    w = ctx.world
    found: dict[str, dict[str, Any]] = {}
    for g in w.adgroups_of(adv.advertiser_id):
        app_id = g.extra.get("app_id")
        if not app_id:
            continue
        app = found.setdefault(
            str(app_id),
            {
                "advertiser_id": adv.advertiser_id,
                "app_id": str(app_id),
                "app_name": f"App {app_id}",
                "app_platform_id": str(app_id),
                "platform": _platform(g.extra),
                "download_url": str(g.extra.get("app_download_url") or ""),
                "_created": g.create_time,
                "_events": set(),
            },
        )
        app["_created"] = min(app["_created"], g.create_time)
        if g.extra.get("optimization_event"):
            app["_events"].add(str(g.extra["optimization_event"]))
    return sorted(found.values(), key=lambda a: (a["_created"], a["app_id"]))


@route("app/list/")
def app_list(ctx: Ctx) -> Any:
    """The account's apps, optionally only some app_platform_ids."""
    p = ctx.params
    adv = ctx.advertiser()
    wanted = p.str_list("app_platform_ids")
    out = []
    for a in account_apps(ctx, adv):
        if wanted and a["app_platform_id"] not in wanted:
            continue
        row = {k: v for k, v in a.items() if not k.startswith("_")}
        row["create_time"] = fmt_time(a["_created"])
        out.append(row)
    return {"apps": out}


@route("app/optimization_event/")
def app_optimization_event(ctx: Ctx) -> Any:
    """The optimisation events an app offers for a goal and placement."""
    p = ctx.params
    adv = ctx.advertiser()
    app_id = p.req("app_id")
    p.enum("placement_type", PLACEMENT_TYPES)
    p.str_list("placement", required=True, allowed=PLACEMENTS)
    goal = p.enum("optimization_goal", GOALS, required=True)
    objective = p.enum("objective", OBJECTIVES)
    p.enum("app_promotion_type", APP_PROMOTION_TYPES, required=objective == "APP_PROMOTION")
    available_only = p.bool("available_only", True)
    p.bool("is_skan")
    app = next((a for a in account_apps(ctx, adv) if a["app_id"] == app_id), None)
    if app is None:
        raise ApiError(NOT_EXIST, f"App {app_id} does not exist.")
    events = []
    for name in GOAL_EVENTS.get(goal or "", []):
        ready = name in app["_events"]
        if available_only and not ready:
            continue
        events.append(
            {
                "optimization_event": name,
                "statistic_type": "EVERY_TIME",
                "availability_status": "READY" if ready else "INACTIVE",
                "conversions": 0,
                "unlock_threshold": 0,
                "is_beta": False,
            }
        )
    return {"optimization_events": events}
