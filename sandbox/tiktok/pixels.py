"""Pixels and their events (spec §9 "Pixel / Events"; tiktok-openapi/pixel_list.yml and
pixel_event_stats.yml). Scope-guarded as group "pixels" by the path table (scopes.py).

The emulator keeps no pixel registry. An account's pixels are derived from its world:
* the pixels its ad groups track (``pixel_id`` of CONVERT ad groups), each with the events those
  ad groups optimise for; an event's count on a day is the conversions of those ad groups' ads
  that day (the delivery engine's ``conversion`` fact), so counts move with the emulator clock;
* one more pixel on the first such account (lowest id): "Landing test pixel", with an
  ON_WEB_REGISTER (CompleteRegistration) event set up that never fired (count 0 every day) —
  the demo's case of a launch optimising for an event that never fired.

Endpoints:
* ``GET pixel/list/``: required ``advertiser_id``; filters ``pixel_id``, ``code`` (exact),
  ``name`` (substring, case-insensitive); ``order_by`` EARLIEST_CREATE (default) |
  LATEST_CREATE; ``filtering`` {available_for_catalog_only} (the demo has no catalog pixels:
  true gives none); ``page`` ≥1, ``page_size`` 1..20 (default 20). ``data.pixels`` +
  ``page_info``.
* ``GET pixel/event/stats/``: required ``advertiser_id``, ``pixel_ids`` (JSON list),
  ``date_range`` {start_date, end_date} ("YYYY-MM-DD", the account's local days, both
  inclusive). ``data.list``: one entry per pixel asked for.

Uncertain [U] (the files declare the response only as ``pixels`` / ``page_info`` and ``list``):
the fields of a pixel (``pixel_id``, ``pixel_code``, ``pixel_name``, ``pixel_category``,
``activity_status``, ``create_time``, ``events``), of an event (``event_code``, ``name``,
``custom_event_type`` — the same enum as an ad group's ``optimization_event`` —,
``statistic_type``) and of a stats entry (``pixel_id``, ``events``: [{``custom_event_type``,
``event_code``, ``count``}]); the longest date range (``STATS_MAX_DAYS``) and the refusal of an
unknown pixel (40007).

Knob: ``POST /_emulator/pixel_silence`` {pixel_id, silent: true|false} makes a pixel go silent
from the emulator's now (its counts stop growing, as when the site lost the pixel's code) and
come back; the ads keep delivering and spending. Only the event stats see it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sandbox.tiktok import pixel_events
from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NOT_EXIST, ApiError, param_error
from sandbox.tiktok.model import Advertiser, fmt_time

STATS_MAX_DAYS = 30
SILENT_OFFSET = 500  # the test pixel's id: the account's first tracked pixel's id + this
# TikTok's pixel event names per optimisation event (event_code as the pixel sends it).
EVENT_CODES = {
    "COMPLETE_PAYMENT": ("CompletePayment", "Complete payment"),
    "ON_WEB_ORDER": ("PlaceAnOrder", "Place an order"),
    "ON_WEB_CART": ("AddToCart", "Add to cart"),
    "INITIATE_ORDER": ("InitiateCheckout", "Initiate checkout"),
    "ON_WEB_REGISTER": ("CompleteRegistration", "Complete registration"),
    "FORM": ("SubmitForm", "Submit form"),
}


def _event(kind: str) -> dict[str, Any]:
    """One configured event of a pixel."""
    code, name = EVENT_CODES.get(kind, (kind.title().replace("_", ""), kind.title()))
    return {
        "event_code": code,
        "name": name,
        "custom_event_type": kind,
        "statistic_type": "EVERY_TIME",
    }


def account_pixels(ctx: Ctx, adv: Advertiser) -> list[dict[str, Any]]:
    """The account's pixels (internal form: adgroup ids per event kept under ``_groups``)."""
    w = ctx.world
    found: dict[str, dict[str, Any]] = {}
    for g in w.adgroups_of(adv.advertiser_id):
        pid = g.extra.get("pixel_id")
        if not pid:
            continue
        px = found.setdefault(
            str(pid), {"pixel_id": str(pid), "created": g.create_time, "_groups": {}}
        )
        px["created"] = min(px["created"], g.create_time)
        kind = str(g.extra.get("optimization_event") or "COMPLETE_PAYMENT")
        px["_groups"].setdefault(kind, []).append(g.adgroup_id)
    pixels = sorted(found.values(), key=lambda p: (p["created"], p["pixel_id"]))
    if pixels and adv.advertiser_id == _silent_account(ctx):
        first = pixels[0]
        pixels.append(
            {
                "pixel_id": str(int(first["pixel_id"]) + SILENT_OFFSET),
                "created": first["created"] + 86_400,
                "_groups": {"ON_WEB_REGISTER": []},
                "_name": "Landing test pixel",
            }
        )
    for p in pixels:
        p["pixel_name"] = p.pop("_name", f"{adv.name} pixel")
    return pixels


def _silent_account(ctx: Ctx) -> str | None:
    """The account holding the never-fired test pixel: the lowest id that tracks a pixel."""
    w = ctx.world
    ids = {g.advertiser_id for g in w.adgroups.values() if g.extra.get("pixel_id")}
    return min(ids, key=int) if ids else None


def pixel_code(p: dict[str, Any]) -> str:
    """The code a site's pixel script and the Events API name the pixel by."""
    return f"C{p['pixel_id'][-8:]}"


def as_listed(p: dict[str, Any]) -> dict[str, Any]:
    """A pixel as pixel/list answers it."""
    return {
        "pixel_id": p["pixel_id"],
        "pixel_code": pixel_code(p),
        "pixel_name": p["pixel_name"],
        "pixel_category": "ONLINE_STORE",
        "activity_status": "ACTIVE",
        "create_time": fmt_time(p["created"]),
        "events": [_event(k) for k in sorted(p["_groups"])],
    }


@route("pixel/list/")
def pixel_list(ctx: Ctx) -> Any:
    """The account's pixels with their events, page_size ≤20 (pixel_list.yml)."""
    p = ctx.params
    adv = ctx.advertiser()
    pixel_id = p.str("pixel_id")
    code = p.str("code")
    name = (p.str("name") or "").lower()
    order = p.enum("order_by", ("LATEST_CREATE", "EARLIEST_CREATE"), default="EARLIEST_CREATE")
    catalog_only = bool(p.obj("filtering").get("available_for_catalog_only", False))
    page, size = page_args(p, 20, 20)
    rows = [as_listed(x) for x in account_pixels(ctx, adv)]
    rows = [
        r
        for r in rows
        if (not pixel_id or r["pixel_id"] == pixel_id)
        and (not code or r["pixel_code"] == code)
        and (not name or name in r["pixel_name"].lower())
        and not catalog_only
    ]
    if order == "LATEST_CREATE":
        rows.reverse()
    out, info = paginate(rows, page, size)
    return {"pixels": out, "page_info": info}


def _day(raw: Any, name: str) -> date:
    """A YYYY-MM-DD date of date_range."""
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise param_error(f"date_range.{name} should be in YYYY-MM-DD format.") from None


def event_count(ctx: Ctx, adv: Advertiser, groups: list[str], first: date, last: date,
                pixel_id: str = "") -> int:
    """Conversions of the ads of some ad groups over local days first..last (up to now), less
    those that fell in a span when the pixel was silenced (POST /_emulator/pixel_silence)."""
    w = ctx.world
    engine = ctx.emu.engine
    by_camp: dict[str, set[str]] = {}
    for gid in groups:
        g = w.adgroups[gid]
        by_camp.setdefault(g.campaign_id, set()).update(g.ad_ids)
    conv = 3  # delivery.FACT_FIELDS.index("conversion")

    def upto(day: date, at: float) -> int:  # the day's events up to the instant `at`
        out = 0
        for camp_id, ads in by_camp.items():
            facts = engine.campaign_day(w.campaigns[camp_id], day, min(at, ctx.now))
            out += sum(f[conv] for a, f in facts.items() if a in ads)
        return out

    total = 0
    day = first
    while day <= last:
        total += upto(day, ctx.now)
        for start, end in w.pixel_silences.get(pixel_id, []):
            assert start is not None
            total -= upto(day, ctx.now if end is None else end) - upto(day, start)
        day += timedelta(days=1)
    return max(total, 0)


def silence(world: Any, pixel_id: str, silent: bool, now: float) -> list[list[float | None]]:
    """Start (or end) a span in which a pixel's events do not reach TikTok: its event stats
    stop growing from `now` (or grow again from `now`). A test and demo knob."""
    spans = world.pixel_silences.setdefault(pixel_id, [])
    open_span = spans[-1] if spans and spans[-1][1] is None else None
    if silent and open_span is None:
        spans.append([now, None])
    elif not silent and open_span is not None:
        open_span[1] = now
    return spans


@route("pixel/event/stats/")
def pixel_event_stats(ctx: Ctx) -> Any:
    """Event counts of some pixels over a date range (pixel_event_stats.yml)."""
    p = ctx.params
    adv = ctx.advertiser()
    ids = p.str_list("pixel_ids", required=True, min_items=1)
    assert ids is not None
    rng = p.json("date_range")
    if not isinstance(rng, dict) or "start_date" not in rng or "end_date" not in rng:
        raise param_error("date_range: start_date and end_date are required.")
    first, last = _day(rng["start_date"], "start_date"), _day(rng["end_date"], "end_date")
    if last < first:
        raise param_error("date_range.end_date must not be earlier than start_date.")
    if (last - first).days + 1 > STATS_MAX_DAYS:
        raise param_error(f"date_range must not be longer than {STATS_MAX_DAYS} days.")
    known = {x["pixel_id"]: x for x in account_pixels(ctx, adv)}
    out = []
    for pid in ids:
        px = known.get(str(pid))
        if px is None:
            raise ApiError(NOT_EXIST, f"Pixel {pid} does not exist.")
        events = []
        # Events API events received for the pixel (sandbox/tiktok/pixel_events.py).
        got = pixel_events.counts(ctx.world, adv, px["pixel_id"], first, last, ctx.now)
        for kind, groups in sorted(px["_groups"].items()):
            ev = _event(kind)
            events.append(
                {
                    "custom_event_type": kind,
                    "event_code": ev["event_code"],
                    "count": event_count(ctx, adv, groups, first, last, px["pixel_id"])
                    + got.pop(ev["event_code"], 0),
                }
            )
        events += pixel_events.extra_entries(got)
        out.append({"pixel_id": px["pixel_id"], "events": events})
    return {"list": out}
