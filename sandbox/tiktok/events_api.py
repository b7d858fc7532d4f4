"""The Events API: web events sent server-to-server for a pixel (spec §9 "Pixel / Events").
Scope-guarded as group "pixels" by the path table (scopes.py: "pixel/" and "event/").

Endpoints and where their shapes come from:
* ``POST pixel/track/`` (Events 1.0, one event) and ``POST pixel/batch/`` (Events 1.0, a batch):
  the bodies of TikTok's SDK (business_api_client EventCallbackApi; models PixelTrackBody,
  PixelBatchBody, OpenApiv13pixelbatchBatch, PixelContext*, PixelProperties, PixelContent):
  ``pixel_code`` and ``event`` required (the models refuse None), ``event_id``, ``timestamp``
  (ISO 8601; "if timestamp is not provided, the time when TikTok receives the event via the
  server will be used"), ``context`` {ad {callback}, ip, page {url, referrer}, user {email,
  external_id, phone_number, ttp}, user_agent}, ``properties`` {contents [{content_category,
  content_id, content_name, content_type, price, quantity, status}], currency (the SDK's list of
  supported ISO 4217 codes), description, query, value}; a batch item's ``type`` "Currently only
  accepting value track". Raw clients add ``test_event_code`` and ``partner_name`` (RudderStack
  rudder-transformer tiktok_ads, stape-io/tiktok-tag): accepted.
* ``POST event/track/`` (Events 2.0; no file in TikTok's SDK): ``event_source`` ("web" for a
  pixel; "app", "offline", "crm" exist), ``event_source_id`` (the pixel code), ``data`` [{event,
  event_time (Unix seconds, required), event_id, user {email, phone, external_id (a string or a
  list of strings), ttclid, ttp, ip, user_agent, locale, first_name, last_name, city, state,
  country, zip_code}, page {url, referrer}, properties {..., content_type, order_id, shop_id},
  limited_data_use}], ``test_event_code``, ``partner_name`` — from real clients [L]:
  RudderStack's transformV2.js / TikTokTrackV2.json, Segment's tiktok-conversions
  reportWebEvent/utils.ts, a TikTok-generated cURL sample quoted on a shop page.

Answers: ``data: {}`` on success [U: RudderStack's mocks answer {code: 0, message: "OK"} with no
data at all]. Refusals, all HTTP 200:
* 40002, message "Invalid value for <field>: not a valid string." for a string field sent as
  another type (stape-io/tiktok-tag issues 10 and 33, real TikTok replies for event_id and
  event_source_id) — pixel/batch words it "Batch.<i>.<path>: Not a valid string" (RudderStack's
  network mock of a real reply for properties.contents.0.content_id) [L]; the same forms for
  the other malformed fields (missing, not a number, bad timestamp, bad currency, ...) [U];
* 40001 "No permission to operate pixel code: <code>. You must be an admin or operator of this
  advertiser account." for a pixel of an ad account the token does not reach (RudderStack's
  mock of a real reply) [L]; an unknown pixel code -> 40002 as for an unknown event_source_id
  (stape issue 33) [U]; an event source other than web or offline -> 40002 on
  event_source_id (the emulator has no apps or CRM event sets) [U]; "offline" names an
  offline event set (offline_events.py) of the token's accounts, else 40002 likewise [U];
* a batch over the limit -> 40002: ``events_batch_max`` (50, pixel/batch) and
  ``events_v2_batch_max`` (1000, event/track) — RudderStack's tiktok_ads config MAX_BATCH_SIZE
  and README "Batch Limits" [L].

Knobs (config.py): ``events_custom_names`` (True: any non-empty event name, as RudderStack's
sendCustomEvents and Commanders Act send custom names; False: TikTok's standard web events
only) [U]; ``events_epoch_timestamps`` (True: an Events 1.0 ``timestamp`` of digits is taken as
Unix seconds or milliseconds — stape's template sent makeString(getTimestampMillis()) for years
— False: ISO 8601 only, as the SDK documents) [U]; ``events_require_context`` (False as the SDK
models have it; True refuses an Events 1.0 event without ``context`` and an Events 2.0 web event
without ``user`` or ``page.url``, as RudderStack's mapping requires page.url) [U];
``events_max_age_days`` (0: any past time is accepted — RudderStack documents replays of
historical events; N refuses events older than N days) [U].

What events do to the world: sandbox/tiktok/pixel_events.py (counted into pixel/event/stats/
on the account's local day of the event, test events not, duplicates by event_id not).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sandbox.tiktok import pixel_events
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NO_PERMISSION, PARAM_ERROR, ApiError
from sandbox.tiktok.model import Advertiser
from sandbox.tiktok.pixels import account_pixels, pixel_code, pixel_owner_ids

# PixelProperties.currency: "List of currencies currently supported" (TikTok's SDK docstring).
CURRENCIES = frozenset((
    "AED", "ARS", "AUD", "BDT", "BHD", "BIF", "BOB", "BRL", "CAD", "CHF", "CLP", "CNY", "COP",
    "CRC", "CZK", "DKK", "DZD", "EGP", "EUR", "GBP", "GTQ", "HKD", "HNL", "HUF", "IDR", "ILS",
    "INR", "ISK", "JPY", "KES", "KHR", "KRW", "KWD", "KZT", "MAD", "MOP", "MXN", "MYR", "NGN",
    "NIO", "NOK", "NZD", "OMR", "PEN", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RUB", "SAR",
    "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VES", "VND", "ZAR",
))
EVENT_SOURCES = ("web", "app", "offline", "crm")
V1_USER = ("email", "external_id", "phone_number", "ttp")
V2_USER_LISTS = ("email", "phone", "external_id")
V2_USER = ("ttclid", "ttp", "ip", "user_agent", "locale", "first_name", "last_name", "city",
           "state", "country", "zip_code")
CONTENT_STR = ("content_category", "content_id", "content_name", "content_type", "status",
               "brand")
PROPERTY_STR = ("currency", "description", "query", "content_type", "order_id", "shop_id")
# Unix seconds (10 digits) or milliseconds (13); an 8-digit ISO basic date stays a date.
EPOCH = re.compile(r"\d{10}|\d{13}")


class Check:
    """Validates one request body, failing with TikTok's 40002 wording for its endpoint."""

    def __init__(self, batch_style: bool) -> None:
        """``batch_style``: pixel/batch's "Batch.<i>.<path>: <Reason>" form."""
        self.batch_style = batch_style

    def fail(self, path: str, reason: str) -> ApiError:
        """A 40002 for one field."""
        if self.batch_style:
            return ApiError(PARAM_ERROR, f"{path}: {reason[:1].upper()}{reason[1:]}")
        return ApiError(PARAM_ERROR, f"Invalid value for {path}: {reason}.")

    def string(self, obj: dict[str, Any], key: str, path: str, required: bool = False) -> str:
        """A string field ("" when absent and optional)."""
        value = obj.get(key)
        if value is None:
            if required:
                raise self.fail(f"{path}{key}", "missing data for required field")
            return ""
        if not isinstance(value, str):
            raise self.fail(f"{path}{key}", "not a valid string")
        if required and not value.strip():
            raise self.fail(f"{path}{key}", "must not be empty")
        return value

    def obj(self, parent: dict[str, Any], key: str, path: str,
            required: bool = False) -> dict[str, Any]:
        """A nested object ({} when absent and optional)."""
        value = parent.get(key)
        if value is None:
            if required:
                raise self.fail(f"{path}{key}", "missing data for required field")
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{path}{key}", "not a valid mapping type")
        return value

    def number(self, obj: dict[str, Any], key: str, path: str, integer: bool = False) -> None:
        """An optional JSON number (an integer where ``integer``)."""
        value = obj.get(key)
        if value is None:
            return
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if integer:
            ok = ok and float(value).is_integer()
        if not ok:
            raise self.fail(f"{path}{key}", "not a valid integer" if integer else
                            "not a valid number")

    def str_or_list(self, obj: dict[str, Any], key: str, path: str) -> None:
        """An optional string or list of strings (Events 2.0 user identifiers)."""
        value = obj.get(key)
        if value is None or isinstance(value, str):
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{path}{key}", "field must be set to string or list")

    def properties(self, event: dict[str, Any], path: str) -> None:
        """``properties`` with its ``contents`` (PixelProperties, PixelContent)."""
        props = self.obj(event, "properties", path)
        pre = f"{path}properties."
        for key in PROPERTY_STR:
            self.string(props, key, pre)
        currency = props.get("currency")
        if currency and currency not in CURRENCIES:
            raise self.fail(f"{pre}currency", f"{currency} is not a supported currency")
        self.number(props, "value", pre)
        contents = props.get("contents")
        if contents is None:
            return
        if not isinstance(contents, list):
            raise self.fail(f"{pre}contents", "not a valid list")
        for i, item in enumerate(contents):
            cpre = f"{pre}contents.{i}."
            if not isinstance(item, dict):
                raise self.fail(cpre[:-1], "not a valid mapping type")
            for key in CONTENT_STR:
                self.string(item, key, cpre)
            self.number(item, "price", cpre)
            self.number(item, "quantity", cpre, integer=True)

    def event_name(self, event: dict[str, Any], path: str, custom: bool) -> str:
        """The event's name: any non-empty one, or a standard web event only."""
        name = self.string(event, "event", path, required=True)
        if not custom and name not in pixel_events.STANDARD_EVENTS:
            raise self.fail(f"{path}event", f"{name} is not a supported standard event")
        return name


def _too_old(ctx: Ctx, check: Check, path: str, ts: float) -> None:
    """Refuse an event older than ``events_max_age_days`` (0: no limit) [U]."""
    days = ctx.emu.config.events_max_age_days
    if days > 0 and ts < ctx.now - days * 86_400:
        raise check.fail(path, f"the event is more than {days} days old")


def _v1_time(ctx: Ctx, check: Check, event: dict[str, Any], path: str) -> float:
    """An Events 1.0 ``timestamp`` (ISO 8601; absent: the time it is received)."""
    raw = check.string(event, "timestamp", path)
    if not raw:
        return ctx.now
    if EPOCH.fullmatch(raw) and ctx.emu.config.events_epoch_timestamps:
        ts = int(raw) / (1000 if len(raw) == 13 else 1)  # ms or s [U]
    else:
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise check.fail(f"{path}timestamp", "not a valid ISO 8601 datetime") from None
        if when.tzinfo is None:  # no offset: taken as UTC [U]
            when = when.replace(tzinfo=UTC)
        ts = when.timestamp()
    _too_old(ctx, check, f"{path}timestamp", ts)
    return ts


def _v1_event(ctx: Ctx, check: Check, event: dict[str, Any], path: str) -> tuple[float, str, str]:
    """One Events 1.0 event checked: (time, name, event_id)."""
    name = check.event_name(event, path, ctx.emu.config.events_custom_names)
    eid = check.string(event, "event_id", path)
    ts = _v1_time(ctx, check, event, path)
    context = check.obj(event, "context", path, required=ctx.emu.config.events_require_context)
    cpre = f"{path}context."
    check.string(context, "ip", cpre)
    check.string(context, "user_agent", cpre)
    check.string(check.obj(context, "ad", cpre), "callback", f"{cpre}ad.")
    page = check.obj(context, "page", cpre)
    for key in ("url", "referrer"):
        check.string(page, key, f"{cpre}page.")
    user = check.obj(context, "user", cpre)
    for key in V1_USER:
        check.string(user, key, f"{cpre}user.")
    check.properties(event, path)
    return ts, name, eid


def _pixel(ctx: Ctx, code: str, field: str) -> tuple[Advertiser, str]:
    """The token's ad account owning a pixel code, and the pixel's id."""
    assert ctx.token is not None
    reach = ctx.token.advertiser_ids
    w = ctx.world
    owners = pixel_owner_ids(w)  # pixels tracked by ad groups or made by pixel/create/
    # The token's own accounts first, so the common case never scans the others.
    for adv_id in sorted(owners, key=lambda a: (a not in reach, a)):
        adv = w.advertisers.get(adv_id)
        if adv is None:
            continue
        for px in account_pixels(ctx, adv):
            if pixel_code(px) != code:
                continue
            if adv_id not in reach:
                raise ApiError(
                    NO_PERMISSION,
                    f"No permission to operate pixel code: {code}. You must be an admin or "
                    "operator of this advertiser account.",
                )
            return adv, px["pixel_id"]
    raise ApiError(PARAM_ERROR, f"Invalid value for {field}: not a valid string.")


def _keep(ctx: Ctx, body: dict[str, Any], pixel_id: str,
          events: list[tuple[float, str, str]]) -> dict[str, Any]:
    """Record the checked events (test events are not counted) and answer."""
    test_code = body.get("test_event_code")
    if test_code is not None and not isinstance(test_code, str):
        raise ApiError(PARAM_ERROR, "Invalid value for test_event_code: not a valid string.")
    if not test_code:
        pixel_events.record(ctx.world, pixel_id, events)
    return {}


def _common(check: Check, body: dict[str, Any]) -> None:
    """Top-level fields every Events API body may carry."""
    check.string(body, "partner_name", "")


@route("pixel/track/", "POST")
def pixel_track(ctx: Ctx) -> Any:
    """One web event for a pixel (Events 1.0, PixelTrackBody)."""
    body = dict(ctx.params.src)
    check = Check(batch_style=False)
    code = check.string(body, "pixel_code", "", required=True)
    _common(check, body)
    event = _v1_event(ctx, check, body, "")
    _adv, pixel_id = _pixel(ctx, code, "pixel_code")
    return _keep(ctx, body, pixel_id, [event])


def _items(
    check: Check, body: dict[str, Any], key: str, prefix: str, limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """A batch's events, each with the path its errors name (``Batch.0.``, ``data.0.``)."""
    items = body.get(key)
    if items is None:
        raise check.fail(key, "missing data for required field")
    if not isinstance(items, list):
        raise check.fail(key, "not a valid list")
    if not 1 <= len(items) <= limit:
        raise check.fail(key, f"length must be between 1 and {limit}")
    out = []
    for i, item in enumerate(items):
        path = f"{prefix}.{i}."
        if not isinstance(item, dict):
            raise check.fail(path[:-1], "not a valid mapping type")
        out.append((path, item))
    return out


@route("pixel/batch/", "POST")
def pixel_batch(ctx: Ctx) -> Any:
    """Several web events for a pixel (Events 1.0, PixelBatchBody)."""
    body = dict(ctx.params.src)
    check = Check(batch_style=True)
    code = check.string(body, "pixel_code", "", required=True)
    _common(check, body)
    events = []
    for path, item in _items(check, body, "batch", "Batch", ctx.emu.config.events_batch_max):
        kind = check.string(item, "type", path)
        if kind and kind != "track":
            raise check.fail(f"{path}type", "must be one of: track")
        events.append(_v1_event(ctx, check, item, path))
    _adv, pixel_id = _pixel(ctx, code, "pixel_code")
    return _keep(ctx, body, pixel_id, events)


def _v2_event(ctx: Ctx, check: Check, event: dict[str, Any], path: str) -> tuple[float, str, str]:
    """One Events 2.0 web event checked: (time, name, event_id)."""
    cfg = ctx.emu.config
    name = check.event_name(event, path, cfg.events_custom_names)
    eid = check.string(event, "event_id", path)
    raw = event.get("event_time")
    if raw is None:
        raise check.fail(f"{path}event_time", "missing data for required field")
    ok = isinstance(raw, int | float) and not isinstance(raw, bool) and float(raw).is_integer()
    # Unix seconds (a millisecond value would be centuries ahead: refused, not silently lost).
    if not ok or not 0 < raw < 10**11:
        raise check.fail(f"{path}event_time", "not a valid Unix timestamp in seconds")
    ts = float(raw)
    _too_old(ctx, check, f"{path}event_time", ts)
    user = check.obj(event, "user", path, required=cfg.events_require_context)
    for key in V2_USER_LISTS:
        check.str_or_list(user, key, f"{path}user.")
    for key in V2_USER:
        check.string(user, key, f"{path}user.")
    page = check.obj(event, "page", path)
    check.string(page, "url", f"{path}page.", required=cfg.events_require_context)
    check.string(page, "referrer", f"{path}page.")
    limited = event.get("limited_data_use")
    if limited is not None and not isinstance(limited, bool):
        raise check.fail(f"{path}limited_data_use", "not a valid boolean")
    check.properties(event, path)
    return ts, name, eid


@route("event/track/", "POST")
def event_track(ctx: Ctx) -> Any:
    """Web events for a pixel through Events API 2.0 (one or a batch in ``data``)."""
    body = dict(ctx.params.src)
    check = Check(batch_style=False)
    source = check.string(body, "event_source", "", required=True)
    if source not in EVENT_SOURCES:
        raise check.fail("event_source", f"must be one of: {', '.join(EVENT_SOURCES)}")
    source_id = check.string(body, "event_source_id", "", required=True)
    if source not in ("web", "offline"):  # no apps or CRM event sets in the world [U]
        raise check.fail("event_source_id", "not a valid string")
    _common(check, body)
    limit = ctx.emu.config.events_v2_batch_max
    events = [_v2_event(ctx, check, item, path)
              for path, item in _items(check, body, "data", "data", limit)]
    if source == "offline":
        return _keep_offline(ctx, body, source_id, events)
    _adv, pixel_id = _pixel(ctx, source_id, "event_source_id")
    return _keep(ctx, body, pixel_id, events)


def _keep_offline(ctx: Ctx, body: dict[str, Any], set_id: str,
                  events: list[tuple[float, str, str]]) -> dict[str, Any]:
    """Offline events for an event set of the token's accounts (offline_events.py keeps the
    sets); an unknown set is refused as an unknown pixel code is [U]; test events not kept."""
    assert ctx.token is not None
    found = ctx.world.offline_event_sets.get(set_id)
    if found is None or found["advertiser_id"] not in ctx.token.advertiser_ids:
        raise ApiError(PARAM_ERROR, "Invalid value for event_source_id: not a valid string.")
    test_code = body.get("test_event_code")
    if test_code is not None and not isinstance(test_code, str):
        raise ApiError(PARAM_ERROR, "Invalid value for test_event_code: not a valid string.")
    if not test_code:
        ctx.world.offline_events.setdefault(set_id, []).extend(events)
    return {}
