"""Pixels and their events (spec §9 "Pixel / Events"; tiktok-openapi/pixel_list.yml and
pixel_event_stats.yml). Scope-guarded as group "pixels" by the path table (scopes.py).

An account's pixels are derived from its world, plus what pixel management did
(sandbox/tiktok/pixel_admin.py, kept in the World):
* the pixels its ad groups track (``pixel_id`` of CONVERT ad groups), each with the events those
  ad groups optimise for; an event's count on a day is the conversions of those ad groups' ads
  that day (the delivery engine's ``conversion`` fact), so counts move with the emulator clock;
* one more pixel on the first such account (lowest id): "Landing test pixel", with an
  ON_WEB_REGISTER (CompleteRegistration) event set up that never fired (count 0 every day) —
  the demo's case of a launch optimising for an event that never fired;
* the pixels made by ``pixel/create/`` (``World.pixels_made``), listed after those, newest last;
  an ad group naming one as its ``pixel_id`` adds its conversions as for any pixel;
* a pixel of another account that one of this account's ad groups tracks (adgroup/create
  takes one a Business Center shares, ``usable_by``) is listed as its owner lists it (name,
  creation time, pixel/create's record); its events and counts are this account's ad groups'
  [U: TikTok counts a pixel across accounts];
* ``pixel/update/`` edits (``World.pixel_edits``: name, matching settings) over any pixel;
* events set up by ``pixel/event/create/`` (``World.pixel_event_setups``), one per optimisation
  event on a pixel: an ad group optimising for that event on that pixel counts into it; the
  edits (name, value) and deletion of the events derived from ad groups, by their event id.

Endpoints:
* ``GET pixel/list/``: required ``advertiser_id``; filters ``pixel_id``, ``code`` (exact),
  ``name`` (substring, case-insensitive); ``order_by`` EARLIEST_CREATE (default) |
  LATEST_CREATE; ``filtering`` {available_for_catalog_only} (the demo has no catalog pixels:
  true gives none); ``page`` ≥1, ``page_size`` 1..20 (default 20). ``data.pixels`` +
  ``page_info``.
* ``GET pixel/event/stats/``: required ``advertiser_id``, ``pixel_ids`` (JSON list),
  ``date_range`` {start_date, end_date} ("YYYY-MM-DD", the account's local days, both
  inclusive). ``data.list``: one entry per pixel asked for.

Where the fields come from (the yml files declare the response only as ``pixels`` /
``page_info`` and ``list``):
* a pixel's ``pixel_id``, ``pixel_code``, ``pixel_name``, ``pixel_category``, ``create_time``,
  ``events`` and an event's ``event_code``, ``name``, ``statistic_type`` are in both the Go SDK
  (bububa/tiktok-business model/pixel/pixel.go, comments translated from TikTok's docs) and a
  client generated from TikTok's docs (types/events-1-0.ts ``PixelListResponse``) [L]; so are
  the pixel's ``pixel_script``, ``pixel_setup_mode`` (pixels made by pixel/create/ since
  2022-09-15 are DEVELOPER; the derived ones are shown STANDARD [U]), ``partner_name``,
  ``advanced_matching_fields`` {phone_number, email} (false until pixel/update/ sets them [U])
  and the event's ``event_id``, ``event_type`` (the PixelEventType key of
  pixel_event_create.yml), ``optimization_event`` (null for PAGE_VIEW), ``currency`` (USD by
  default), ``currency_value`` ("" when none was set), ``deprecated``, ``rules`` [L];
* the pixel script's text is a stand-in [U]; no field the sources do not name is answered
  (TTPulse reads only the ones above, core/tiktok/pixels.py);
* a stats entry is ``pixel_id`` and ``statistics`` [{``pixel_event_type`` (standard events) or
  ``custom_event_type`` (custom names), ``total_count`` = ``browser_event_total_count`` +
  ``server_event_total_count``, ``attributed_count``, ``preview_count``}] as the Go SDK
  (model/pixel/event_stats.go) and types/events-1-0.ts ``PixelEventStatsResponse`` give it [L]:
  browser events are the conversions of the ad groups (all attributed to ads [U]), server events
  those received through the Events API (none attributed [U]), no previews;
* the longest date range (``STATS_MAX_DAYS``; 30 in the Go SDK's comment [L]), at most
  ``STATS_MAX_PIXELS`` (10, the Go SDK's comment [L]) pixel ids, and the refusal of an unknown
  pixel (40007) [U]. The Go SDK's comment says the dates are UTC days; the emulator keeps the
  account's local days (as Events Manager shows them) [U].

Knob: ``POST /_emulator/pixel_silence`` {pixel_id, silent: true|false} makes a pixel go silent
from the emulator's now (its counts stop growing, as when the site lost the pixel's code) and
come back; the ads keep delivering and spending. Only the event stats see it.
"""

from __future__ import annotations

import zlib
from datetime import date, timedelta
from typing import Any

from sandbox.tiktok import pixel_events
from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NOT_EXIST, ApiError, param_error
from sandbox.tiktok.model import Advertiser, World, fmt_time

STATS_MAX_DAYS = 30
STATS_MAX_PIXELS = 10  # pixel_ids of pixel/event/stats/ (Go SDK event_stats.go: "at most 10") [L]
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
# PixelEventType (pixel_event_create.yml) <-> the optimisation event of an ad group: the same
# key except the purchase, SHOPPING <-> COMPLETE_PAYMENT [U: pairing read from the names], and
# PAGE_VIEW, which cannot be optimised for (Go SDK model/pixel/pixel.go) [L].
KIND_TO_TYPE = {"COMPLETE_PAYMENT": "SHOPPING"}
TYPE_TO_KIND = {t: k for k, t in KIND_TO_TYPE.items()}
NOT_OPTIMISABLE = frozenset({"PAGE_VIEW"})
# Derived events' ids: per pixel, one slot per optimisation event kind (stable across runs).
DERIVED_EVENT_BASE = 7_318_000_000_000_000_000
KIND_SLOTS = (*EVENT_CODES, "PAGE_VIEW", "SHOPPING", "ON_WEB_DETAIL", "ON_WEB_SEARCH",
              "ON_WEB_SUBSCRIBE", "ON_WEB_ADD_TO_WISHLIST", "ADD_BILLING", "BUTTON", "CONSULT",
              "DOWNLOAD_START", "VIEW")


def event_code_of(kind: str) -> tuple[str, str]:
    """The standard event name a pixel sends for an optimisation event, and its display name."""
    if kind in EVENT_CODES:
        return EVENT_CODES[kind]
    for name, key in pixel_events.STANDARD_TYPES.items():
        if key == kind:
            return name, name
    return kind.title().replace("_", ""), kind.title().replace("_", " ")


def derived_event_id(pixel_id: str, kind: str) -> str:
    """The event id of an event derived from a pixel's ad groups (one per kind)."""
    slot = KIND_SLOTS.index(kind) if kind in KIND_SLOTS else 50 + zlib.crc32(kind.encode()) % 50
    return str(DERIVED_EVENT_BASE + int(pixel_id) % 10**12 * 100 + slot)


def _event(kind: str, pixel_id: str) -> dict[str, Any]:
    """One event of a pixel derived from the ad groups optimising for ``kind``."""
    code, name = event_code_of(kind)
    return {
        "event_id": derived_event_id(pixel_id, kind),
        "event_code": code,
        "name": name,
        "_kind": kind,
        "event_type": KIND_TO_TYPE.get(kind, kind),
        "optimization_event": None if kind in NOT_OPTIMISABLE else kind,
        "statistic_type": "EVERY_TIME",
        "currency": "USD",
        "currency_value": "",
        "deprecated": False,
        "rules": [],
    }


def _events(w: World, p: dict[str, Any]) -> list[dict[str, Any]]:
    """A pixel's events (internal form: the ad groups counting into each under ``_groups``)."""
    pid = p["pixel_id"]
    groups: dict[str, list[str]] = p["_groups"]
    made = [s for s in w.pixel_event_setups.values() if s["pixel_id"] == pid and "kind" in s]
    out = []
    for s in made:
        ev = {k: v for k, v in s.items() if k not in ("pixel_id", "kind", "created")}
        ev["_kind"] = s["kind"]
        ev["_groups"] = groups.get(s["kind"], [])
        out.append(ev)
    claimed = {s["kind"] for s in made}
    for kind in groups:
        if kind in claimed:
            continue
        ev = _event(kind, pid)
        edit = w.pixel_event_setups.get(ev["event_id"], {})
        if edit.get("deleted"):
            continue
        ev.update({k: v for k, v in edit.items() if k != "pixel_id"})
        ev["_groups"] = groups[kind]
        out.append(ev)
    out.sort(key=lambda e: (e["_kind"], e["event_id"]))
    return out


def account_pixels(ctx: Ctx, adv: Advertiser) -> list[dict[str, Any]]:
    """The account's pixels (internal form: adgroup ids per event kind under ``_groups``, the
    events under ``_events``)."""
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
    # A pixel another account shares (adgroup/create's pixel_id, usable_by) is listed as its
    # owner lists it: the same name and creation time (the first ad group tracking it
    # anywhere), or the record pixel/create made.
    first = _first_trackers(w, set(found))
    for pid, px in found.items():
        when, owner = first[pid]
        px["created"] = when
        if owner != adv.advertiser_id and owner in w.advertisers:
            px["_name"] = f"{w.advertisers[owner].name} pixel"
    made = {pid: m for pid, m in w.pixels_made.items()
            if m["advertiser_id"] == adv.advertiser_id or pid in found}
    pixels = sorted(
        (p for pid, p in found.items() if pid not in made),
        key=lambda p: (p["created"], p["pixel_id"]),
    )
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
    # Pixels made by pixel/create/, oldest first, with the ad groups that name them.
    for pid, m in sorted(made.items(), key=lambda kv: (kv[1]["created"], kv[0])):
        p = found.get(pid, {"pixel_id": pid, "_groups": {}})
        p.update({k: v for k, v in m.items() if k != "advertiser_id"})
        pixels.append(p)
    for p in pixels:
        p.update(w.pixel_edits.get(p["pixel_id"], {}))
        p["_events"] = _events(w, p)
    return pixels


def _first_trackers(w: World, pixel_ids: set[str]) -> dict[str, tuple[float, str]]:
    """For each pixel, when and by which account the first ad group tracking it was made."""
    first: dict[str, tuple[float, str, str]] = {}
    for g in w.adgroups.values():
        pid = str(g.extra.get("pixel_id") or "")
        if pid in pixel_ids:
            seen = (g.create_time, g.adgroup_id, g.advertiser_id)
            first[pid] = min(first.get(pid, seen), seen)
    return {pid: (t, owner) for pid, (t, _, owner) in first.items()}


def _silent_account(ctx: Ctx) -> str | None:
    """The account holding the never-fired test pixel: the lowest id that tracks a pixel."""
    w = ctx.world
    ids = {g.advertiser_id for g in w.adgroups.values() if g.extra.get("pixel_id")}
    return min(ids, key=int) if ids else None


def pixel_owner_ids(world: World) -> set[str]:
    """Ad accounts that may own a pixel: those whose ad groups track one or that made one."""
    owners = {g.advertiser_id for g in world.adgroups.values() if g.extra.get("pixel_id")}
    return owners | {m["advertiser_id"] for m in world.pixels_made.values()}


def usable_by(ctx: Ctx, adv: Advertiser, pixel_id: str) -> bool:
    """Whether an ad group of this account may track the pixel: one of its own (pixel/list
    answers it), or with ``adgroup_pixel_bc_shared`` a pixel of an ad account in a Business
    Center this account is in (the BC's PIXEL asset, bc_assets.py) [U: TikTok links BC pixels
    to chosen accounts with bc/pixel/link/update/, which the emulator does not serve]."""
    w = ctx.world
    if any(px["pixel_id"] == pixel_id for px in account_pixels(ctx, adv)):
        return True
    if not ctx.emu.config.adgroup_pixel_bc_shared:
        return False
    sharing = {a for bc in w.bcs.values() if adv.advertiser_id in bc.advertiser_ids
               for a in bc.advertiser_ids if a != adv.advertiser_id and a in w.advertisers}
    # Only the accounts that could list it are asked (its trackers, its maker, the account of
    # the never-fired test pixel): account_pixels is not cheap.
    owners = {g.advertiser_id for g in w.adgroups.values()
              if str(g.extra.get("pixel_id") or "") == pixel_id}
    owners |= {m["advertiser_id"] for pid, m in w.pixels_made.items() if pid == pixel_id}
    owners.add(_silent_account(ctx) or "")
    return any(px["pixel_id"] == pixel_id
               for a in sorted(sharing & owners) for px in account_pixels(ctx, w.advertisers[a]))


def pixel_code(p: dict[str, Any]) -> str:
    """The code a site's pixel script and the Events API name the pixel by."""
    return str(p.get("pixel_code") or f"C{p['pixel_id'][-8:]}")


def pixel_script(code: str) -> str:
    """The base code a site installs (a stand-in for TikTok's snippet [U])."""
    return (
        "<script>\n!function (w, d, t) {\n  w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[];"
        "\n}(window, document, 'ttq');\n"
        f"ttq.load('{code}');\nttq.page();\n</script>"
    )


def as_listed(p: dict[str, Any]) -> dict[str, Any]:
    """A pixel as pixel/list answers it."""
    code = pixel_code(p)
    out = {
        "pixel_id": p["pixel_id"],
        "pixel_code": code,
        "pixel_name": p["pixel_name"],
        "pixel_category": p.get("pixel_category") or "ONLINE_STORE",
        "pixel_script": pixel_script(code),
        "pixel_setup_mode": p.get("pixel_setup_mode", "STANDARD"),
        "partner_name": p.get("partner_name", ""),
        "advanced_matching_fields": dict(
            p.get("advanced_matching_fields") or {"phone_number": False, "email": False}
        ),
        "create_time": fmt_time(p["created"]),
        "events": [
            {k: v for k, v in ev.items() if not k.startswith("_")} for ev in p["_events"]
        ],
    }
    for key in ("automatic_advanced_matching_fields", "enable_first_party_cookies",
                "enable_expanded_data_sharing"):  # shown once pixel/update/ set them
        if key in p:
            out[key] = p[key]
    return out


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
    ids = p.str_list("pixel_ids", required=True, min_items=1, max_items=STATS_MAX_PIXELS)
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
        statistics = []
        # Events API events received for the pixel (sandbox/tiktok/pixel_events.py).
        got = pixel_events.counts(ctx.world, adv, px["pixel_id"], first, last, ctx.now)
        for ev in px["_events"]:
            browser = event_count(ctx, adv, ev["_groups"], first, last, px["pixel_id"])
            server = got.pop(ev["event_code"], 0)
            statistics.append(_statistic({"pixel_event_type": ev["event_type"]}, browser, server))
        for name, n in sorted(got.items()):
            if not n:
                continue
            kind = pixel_events.STANDARD_TYPES.get(name)
            label = ({"pixel_event_type": KIND_TO_TYPE.get(kind, kind)} if kind
                     else {"custom_event_type": name})
            statistics.append(_statistic(label, 0, n))
        out.append({"pixel_id": px["pixel_id"], "statistics": statistics})
    return {"list": out}


def _statistic(label: dict[str, Any], browser: int, server: int) -> dict[str, Any]:
    """One ``statistics`` entry (Go SDK model/pixel/event_stats.go EventStats) [L]."""
    return {
        **label,
        "total_count": browser + server,
        "browser_event_total_count": browser,
        "server_event_total_count": server,
        "attributed_count": browser,
        "preview_count": 0,
    }
