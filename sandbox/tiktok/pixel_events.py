"""Web events received through the Events API (sandbox/tiktok/events_api.py), kept per pixel in
``World.pixel_events`` and counted into what ``pixel/event/stats/`` reports (sandbox/tiktok/
pixels.py). No route lives here: pixels.py and events_api.py both import it, neither imports
the other's routes.

What a received event adds to a pixel's stats:
* one to the count of the pixel's configured event whose ``event_code`` is the event's name
  (CompletePayment -> COMPLETE_PAYMENT, ...), on the account's local day of the event's time,
  once the emulator clock has reached that time (facts after now do not exist);
* a name no configured event of the pixel has (ViewContent on a purchase pixel, a custom name)
  is reported as a ``statistics`` entry of its own for the ranges it arrived in, under
  ``pixel_event_type`` the PixelEventType key of TikTok's own pixel_event_create.yml enum whose
  meaning matches the standard name [L: the pairing of name and key is ours, the yml gives keys
  only], or under ``custom_event_type`` its name for a custom one [U]. pixel/list/ is
  unchanged: receiving an event sets nothing up.
* Test events (a ``test_event_code`` in the body) are accepted but never counted: TikTok shows
  them in Events Manager's Test Events tab only (Commanders Act's TikTok destination docs;
  RudderStack sends them apart from the batches) [L].
* Deduplication: a second event of the same pixel, name and ``event_id`` within 48 hours of the
  first is not counted again (RudderStack's tiktok_ads docs: "When the same event_id is sent
  multiple times, TikTok will deduplicate and count only one event"; the 48-hour window is
  TikTok's Events API docs as remembered, not re-read) [U for the window].
* Server events are counted whether or not the pixel was silenced by the emulator knob
  (pixel_silence models a site that lost the browser pixel's code; the server still reports).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sandbox.tiktok.model import Advertiser

DEDUP_SECONDS = 48 * 3600  # [U] see the module docstring
# Standard web event name -> PixelEventType key (pixel_event_create.yml x-open-enum; the
# pairing is read from the keys' names [L]). CompletePayment keeps the optimisation event's
# name pixels.py already answers (COMPLETE_PAYMENT) rather than the enum's SHOPPING [U].
STANDARD_TYPES = {
    "AddPaymentInfo": "ADD_BILLING",
    "AddToCart": "ON_WEB_CART",
    "AddToWishlist": "ON_WEB_ADD_TO_WISHLIST",
    "ClickButton": "BUTTON",
    "CompletePayment": "COMPLETE_PAYMENT",
    "CompleteRegistration": "ON_WEB_REGISTER",
    "Contact": "CONSULT",
    "Download": "DOWNLOAD_START",
    "InitiateCheckout": "INITIATE_ORDER",
    "PlaceAnOrder": "ON_WEB_ORDER",
    "Search": "ON_WEB_SEARCH",
    "SubmitForm": "FORM",
    "Subscribe": "ON_WEB_SUBSCRIBE",
    "ViewContent": "ON_WEB_DETAIL",
    "Pageview": "PAGE_VIEW",
}
# TikTok's standard web events (RudderStack tiktok_ads README "Supported standard events",
# matching TikTok's help article standard-events-parameters) plus the pixel's own Pageview [L].
STANDARD_EVENTS = frozenset(STANDARD_TYPES) | {
    "CustomizeProduct", "FindLocation", "Schedule", "Purchase", "Lead",
    "ApplicationApproval", "SubmitApplication", "StartTrial",
}


def record(world: Any, pixel_id: str, events: list[tuple[float, str, str]]) -> int:
    """Keep a request's events (time, name, event_id or "") for a pixel; return how many were
    new (not duplicates of an earlier event with the same name and event_id)."""
    kept = world.pixel_events.setdefault(pixel_id, [])
    seen: dict[tuple[str, str], list[float]] = {}
    for ts, name, eid in kept:
        if eid:
            seen.setdefault((name, eid), []).append(ts)
    added = 0
    for ts, name, eid in events:
        if eid and any(abs(ts - t) <= DEDUP_SECONDS for t in seen.get((name, eid), [])):
            continue
        kept.append((ts, name, eid))
        if eid:
            seen.setdefault((name, eid), []).append(ts)
        added += 1
    return added


def counts(world: Any, adv: Advertiser, pixel_id: str, first: date, last: date,
           now: float) -> dict[str, int]:
    """Received events of a pixel per event name over the account's local days first..last,
    up to the emulator's now."""
    out: dict[str, int] = {}
    for ts, name, _eid in world.pixel_events.get(pixel_id, []):
        if ts > now:
            continue
        if first <= datetime.fromtimestamp(ts, adv.tz).date() <= last:
            out[name] = out.get(name, 0) + 1
    return out
