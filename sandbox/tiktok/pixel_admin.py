"""Pixel management: make and rename pixels, set up, edit and delete their events (spec §9
"Pixel / Events"). Scope-guarded as group "pixels" by the path table (scopes.py: "pixel/").
What is made or changed is kept in the World (``pixels_made``, ``pixel_edits``,
``pixel_event_setups``) and shows in ``pixel/list/`` and ``pixel/event/stats/`` (pixels.py),
whose events the Events API (events_api.py) accepts for a made pixel's code.

Endpoints and where their shapes come from — the request bodies from TikTok's own files
(tiktok/tiktok-business-api-sdk yml_files/pixel_create.yml, pixel_update.yml,
pixel_event_create.yml, pixel_event_update.yml, pixel_event_delete.yml and the models of its
Java/JS/Python SDKs' MeasurementApi: PixelCreateBody, PixelUpdateBody, EventCreateBody,
PixeleventcreatePixelEvents, PixeleventcreateRules, EventUpdateBody, EventDeleteBody) [C]:
* ``POST pixel/create/`` {advertiser_id, pixel_name (required; "pixel_name cannot be empty."
  is the yml's own message), pixel_category (PixelCategory enum, strict; deprecated, no effect),
  partner_name}. Answers the yml's response_rule: {pixel_id, pixel_code, pixel_name,
  pixel_category, partner_name, advanced_matching_fields} [C]. A made pixel is in DEVELOPER
  setup mode (Go SDK bububa/tiktok-business model/pixel/pixel.go: "all pixels created with
  /pixel/create/ after 2022-09-15") [L]; its category defaults to ONLINE_STORE, its matching
  settings to false, and its code is ours ("C" + 19 hex digits, unique per id) [U].
* ``POST pixel/update/`` {advertiser_id, pixel_id, pixel_name (all required),
  advanced_matching_fields {phone_number, email} (booleans, each true when left out: the yml's
  defaults)} [C]; ``automatic_advanced_matching_fields`` {phone_number, email, name, address,
  external_id}, ``enable_first_party_cookies``, ``enable_expanded_data_sharing`` (a client
  generated from TikTok's docs, types/events-1-0.ts ``PixelUpdateParams``) [L], booleans or
  "true"/"false". Answers ``data: {}`` (no response_rule) [U].
* ``POST pixel/event/create/`` {advertiser_id, pixel_id, pixel_events: [{event_type
  (PixelEventType, required per types/events-1-0.ts [L]), event_name, event_code, event_id,
  statistic_type (ONCE | EVERY_TIME), currency (USD | JPY | INR), currency_value, rules:
  [{trigger, operator, value, variable}, all required, enums of the yml]}]} [C]. Custom web
  events cannot be made here (Go SDK pixel.go) — only PixelEventType keys. Answers ``data: {}``
  (Go SDK reads no data) [L]; the events' ids are read from pixel/list/ (Go SDK
  event_update.go: "you can get the event ID from the event_id returned by /pixel/list/") [L].
* ``POST pixel/event/update/`` {advertiser_id, event_id (required), event_name, currency,
  currency_value} [C]; ``POST pixel/event/delete/`` {advertiser_id, event_id} [C]. Both answer
  ``data: {}`` [U]. The events derived from ad groups (pixels.py) have ids too and may be
  renamed or deleted like made ones; a deleted event's ad group conversions no longer count.

Uncertain and chosen here [U]: names at most 40 characters whatever the language and without
emoji (Go SDK comments on pixel_name and event_name) [L]; one event per optimisation event on a
pixel (a second one of the same type is refused 40002); statistic_type EVERY_TIME and currency
USD when not given (Go SDK: "default USD") [L]; currency_value a non-negative decimal string;
an unknown pixel or event of the account -> 40007 "... does not exist."; an ``event_id`` given
in pixel_events is checked as an id and otherwise ignored (the docs do not say what it does);
pixel/event/update with nothing to change changes nothing and succeeds; a pixel's events may be
deleted while ad groups still optimise for them (those ad groups' conversions then count
nowhere until an event of that type is set up again, which takes them over). No endpoint deletes
a pixel (none is documented).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.tiktok import pixels
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NOT_EXIST, PARAM_ERROR, ApiError, param_error
from sandbox.tiktok.model import Advertiser
from sandbox.tiktok.params import EMOJI, non_negative

NAME_MAX = 40  # Go SDK model/pixel/create.go, update.go, event_update.go [L]
PIXEL_ID_BASE = 7_317_600_000_000_000_000
EVENT_ID_BASE = 7_319_000_000_000_000_000
# Enums of TikTok's yml files (strict: any other value is refused).
PIXEL_CATEGORIES = ("CONTACTS", "CUSTOMIZE_EVENTS", "FILLING_FORM", "LANDING_PAGE", "ONLINE_STORE")
PIXEL_EVENT_TYPES = (
    "ADD_BILLING", "BUTTON", "CONSULT", "DOWNLOAD_BUTTON", "DOWNLOAD_DETAIL", "DOWNLOAD_START",
    "FORM", "FORM_BUTTON", "FORM_DETAIL", "INITIATE_ORDER", "ON_WEB_ADD_TO_WISHLIST",
    "ON_WEB_CART", "ON_WEB_DETAIL", "ON_WEB_ORDER", "ON_WEB_REGISTER", "ON_WEB_SEARCH",
    "ON_WEB_SUBSCRIBE", "PAGE_VIEW", "PHONE", "PHONE_BUTTON", "PHONE_DETAIL", "SHOPPING", "VIEW",
)
STATISTIC_TYPES = ("ONCE", "EVERY_TIME")
CURRENCIES = ("USD", "JPY", "INR")
RULE_ENUMS = {
    "trigger": ("TRIGGERTYPE_CLICK", "TRIGGERTYPE_PAGEVIEW", "TRIGGERTYPE_ELEMENT_SHOW"),
    "operator": ("OPERATORTYPE_CONTAINS", "OPERATORTYPE_EQUALS", "OPERATORTYPE_DOES_NOT_EQUAL"),
    "variable": ("PAGE_URL", "PAGE_HOSTNAME", "PAGE_PATH", "ELEMENT"),
}
MATCHING = ("phone_number", "email")
AUTO_MATCHING = ("phone_number", "email", "name", "address", "external_id")


def check_name(value: Any, field: str, required: bool) -> str | None:
    """A pixel or event name: non-empty, at most 40 characters, no emoji."""
    if value is None:
        if required:
            raise param_error(f"{field} is required.")
        return None
    if not isinstance(value, str):
        raise param_error(f"{field} should be a string.")
    if not value.strip():
        raise ApiError(PARAM_ERROR, f"{field} cannot be empty.")  # pixel_create.yml's text
    if len(value) > NAME_MAX:
        raise param_error(f"{field} is too long. It should be at most {NAME_MAX} characters.")
    if EMOJI.search(value):
        raise param_error(f"{field} cannot contain emoji.")
    return value


def _enum(obj: dict[str, Any], key: str, allowed: tuple[str, ...], path: str,
          required: bool = False) -> str | None:
    """An enum field of a nested object."""
    value = obj.get(key)
    if value is None:
        if required:
            raise param_error(f"{path}{key} is required.")
        return None
    if value not in allowed:
        raise param_error(f"{path}{key} must be one of {list(allowed)}.")
    return str(value)


def _flag(value: Any, field: str) -> bool:
    """A boolean sent as JSON true/false or "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise param_error(f"{field} should be a boolean.")


def _money(value: Any, field: str) -> str | None:
    """A conversion value: a non-negative decimal sent as a string (numbers accepted)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise param_error(f"{field} should be a string.")
    non_negative(field, value)
    return str(value)


def find_pixel(ctx: Ctx, adv: Advertiser, pixel_id: str) -> dict[str, Any]:
    """One of the account's pixels (internal form of pixels.account_pixels), or 40007."""
    for px in pixels.account_pixels(ctx, adv):
        if px["pixel_id"] == pixel_id:
            return px
    raise ApiError(NOT_EXIST, f"Pixel {pixel_id} does not exist.")


def find_event(ctx: Ctx, adv: Advertiser, event_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One of the account's pixel events and its pixel, or 40007."""
    for px in pixels.account_pixels(ctx, adv):
        for ev in px["_events"]:
            if ev["event_id"] == event_id:
                return px, ev
    raise ApiError(NOT_EXIST, f"Pixel event {event_id} does not exist.")


@route("pixel/create/", "POST")
def pixel_create(ctx: Ctx) -> Any:
    """Make a pixel for the account (pixel_create.yml)."""
    p = ctx.params
    adv = ctx.advertiser()
    name = check_name(p.raw("pixel_name"), "pixel_name", required=True)
    category = p.enum("pixel_category", PIXEL_CATEGORIES)
    partner = p.str("partner_name") or ""
    w = ctx.world
    pixel_id = w.next_id("pixel", PIXEL_ID_BASE)
    code = "C" + hashlib.sha1(f"pixel:{pixel_id}".encode()).hexdigest()[:19].upper()
    w.pixels_made[pixel_id] = {
        "advertiser_id": adv.advertiser_id,
        "pixel_code": code,
        "pixel_name": name,
        "pixel_category": category or "ONLINE_STORE",
        "partner_name": partner,
        "pixel_setup_mode": "DEVELOPER",
        "created": ctx.now,
    }
    shown = pixels.as_listed(find_pixel(ctx, adv, pixel_id))
    keys = ("pixel_id", "pixel_code", "pixel_name", "pixel_category", "partner_name",
            "advanced_matching_fields")
    return {k: shown[k] for k in keys}


@route("pixel/update/", "POST")
def pixel_update(ctx: Ctx) -> Any:
    """Rename a pixel and set its matching settings (pixel_update.yml)."""
    p = ctx.params
    adv = ctx.advertiser()
    pixel_id = p.req("pixel_id")
    name = check_name(p.raw("pixel_name"), "pixel_name", required=True)
    edit: dict[str, Any] = {"pixel_name": name}
    matching = p.obj("advanced_matching_fields") if p.has("advanced_matching_fields") else None
    if matching is not None:
        edit["advanced_matching_fields"] = {
            k: _flag(matching.get(k, True), f"advanced_matching_fields.{k}") for k in MATCHING
        }
    if p.has("automatic_advanced_matching_fields"):
        auto = p.obj("automatic_advanced_matching_fields")
        edit["automatic_advanced_matching_fields"] = {
            k: _flag(auto[k], f"automatic_advanced_matching_fields.{k}")
            for k in AUTO_MATCHING
            if k in auto
        }
    for key in ("enable_first_party_cookies", "enable_expanded_data_sharing"):
        if p.has(key):
            edit[key] = _flag(p.raw(key), key)
    find_pixel(ctx, adv, pixel_id)
    ctx.world.pixel_edits.setdefault(pixel_id, {}).update(edit)
    return {}


def _rules(raw: Any, path: str) -> list[dict[str, str]]:
    """An event's rules: each with trigger, operator, value and variable."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise param_error(f"{path}rules should be a list.")
    out = []
    for i, rule in enumerate(raw):
        rpath = f"{path}rules[{i}]."
        if not isinstance(rule, dict):
            raise param_error(f"{rpath[:-1]} should be an object.")
        item = {k: _enum(rule, k, allowed, rpath, required=True)
                for k, allowed in RULE_ENUMS.items()}
        value = rule.get("value")
        if not isinstance(value, str) or value == "":
            raise param_error(f"{rpath}value is required.")
        out.append({**item, "value": value})
    return out


def _new_event(item: Any, i: int) -> dict[str, Any]:
    """One checked item of pixel_events (PixeleventcreatePixelEvents)."""
    path = f"pixel_events[{i}]."
    if not isinstance(item, dict):
        raise param_error(f"pixel_events[{i}] should be an object.")
    event_type = _enum(item, "event_type", PIXEL_EVENT_TYPES, path, required=True)
    assert event_type is not None
    kind = pixels.TYPE_TO_KIND.get(event_type, event_type)
    code, default_name = pixels.event_code_of(kind)
    given_code = item.get("event_code")
    if given_code is not None and (not isinstance(given_code, str) or not given_code):
        raise param_error(f"{path}event_code should be a non-empty string.")
    ref = item.get("event_id")
    if ref is not None and (isinstance(ref, bool) or not str(ref).isdigit()):
        raise param_error(f"{path}event_id should be a numeric string.")
    return {
        "kind": kind,
        "event_code": given_code or code,
        "name": check_name(item.get("event_name"), f"{path}event_name", False) or default_name,
        "event_type": event_type,
        "optimization_event": None if kind in pixels.NOT_OPTIMISABLE else kind,
        "statistic_type": _enum(item, "statistic_type", STATISTIC_TYPES, path) or "EVERY_TIME",
        "currency": _enum(item, "currency", CURRENCIES, path) or "USD",
        "currency_value": _money(item.get("currency_value"), f"{path}currency_value") or "",
        "deprecated": False,
        "rules": _rules(item.get("rules"), path),
    }


@route("pixel/event/create/", "POST")
def pixel_event_create(ctx: Ctx) -> Any:
    """Set up events on a pixel (pixel_event_create.yml); all or none are made."""
    p = ctx.params
    adv = ctx.advertiser()
    pixel_id = p.req("pixel_id")
    raw = p.json("pixel_events")
    if raw is None:
        raise param_error("pixel_events is required.")
    if not isinstance(raw, list) or not raw:
        raise param_error("pixel_events should be a list of at least 1 item.")
    new = [_new_event(item, i) for i, item in enumerate(raw)]
    px = find_pixel(ctx, adv, pixel_id)
    taken = {ev["_kind"] for ev in px["_events"]}
    for i, ev in enumerate(new):
        if ev["kind"] in taken:
            raise param_error(
                f"pixel_events[{i}].event_type: the pixel already has a {ev['event_type']} event."
            )
        taken.add(ev["kind"])
    w = ctx.world
    for ev in new:
        event_id = w.next_id("pixel_event", EVENT_ID_BASE)
        w.pixel_event_setups[event_id] = {
            "pixel_id": pixel_id, "event_id": event_id, "created": ctx.now, **ev,
        }
    return {}


@route("pixel/event/update/", "POST")
def pixel_event_update(ctx: Ctx) -> Any:
    """Rename a pixel event or change its conversion value (pixel_event_update.yml)."""
    p = ctx.params
    adv = ctx.advertiser()
    event_id = p.req("event_id")
    edit: dict[str, Any] = {}
    name = check_name(p.raw("event_name"), "event_name", required=False)
    if name is not None:
        edit["name"] = name
    currency = p.enum("currency", CURRENCIES)
    if currency is not None:
        edit["currency"] = currency
    value = _money(p.raw("currency_value"), "currency_value")
    if value is not None:
        edit["currency_value"] = value
    px, _ev = find_event(ctx, adv, event_id)
    setups = ctx.world.pixel_event_setups
    setups.setdefault(event_id, {"pixel_id": px["pixel_id"]}).update(edit)
    return {}


@route("pixel/event/delete/", "POST")
def pixel_event_delete(ctx: Ctx) -> Any:
    """Delete a pixel event (pixel_event_delete.yml): gone from pixel/list and its stats."""
    p = ctx.params
    adv = ctx.advertiser()
    event_id = p.req("event_id")
    px, _ev = find_event(ctx, adv, event_id)
    setups = ctx.world.pixel_event_setups
    if "kind" in setups.get(event_id, {}):  # set up by pixel/event/create/
        del setups[event_id]
    else:  # derived from the pixel's ad groups: remembered as deleted
        setups[event_id] = {"pixel_id": px["pixel_id"], "deleted": True}
    return {}
