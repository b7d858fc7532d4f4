"""Pixels and their events per ad account (issue 17 "Pixels and events"), behind the user's
"pixels" switch: a user who has not switched it on causes no call to a pixel endpoint.

Counts come from TikTok's event stats, which take whole days (pixel_event_stats.yml
``date_range``): "today" is the account's local day so far, "7 days" the six before it plus
today, in the ad account's own time zone (TikTok's days are the account's, spec §7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from core.clock import Clock
from core.feature_access import account_access
from core.tiktok import TikTokClient
from core.tiktok.pixels import Pixel, PixelEvent, event_counts, list_pixels
from storage.models import AdAccount
from storage.uow import UnitOfWorkFactory

FEATURE = "pixels"
WEEK_DAYS = 7


@dataclass(frozen=True, slots=True)
class EventCounts:
    """One event of a pixel with its counts today and over the last 7 days."""

    event: PixelEvent
    today: int
    week: int


@dataclass(frozen=True, slots=True)
class PixelCounts:
    """A pixel with its events' counts."""

    pixel: Pixel
    events: tuple[EventCounts, ...]


@dataclass(frozen=True, slots=True)
class AccountPixels:
    """An ad account's pixels as of its local day `today`."""

    account: AdAccount
    today: date
    pixels: tuple[PixelCounts, ...]


def local_today(account: AdAccount, clock: Clock) -> date:
    """The ad account's own today."""
    return clock.now().astimezone(ZoneInfo(account.time_zone or "UTC")).date()


async def account_pixels(uow: UnitOfWorkFactory, clock: Clock, client: TikTokClient,
                         user_id: int, account_id: int) -> AccountPixels:
    """One of the user's ad accounts: its pixels, their events and recent counts, read live
    (raises FeatureError, or ScopeMissingError when the token lacks the pixels scope)."""
    account, token = await account_access(uow, user_id, account_id, FEATURE)
    pixels = await list_pixels(client, token, account.advertiser_id)
    today = local_today(account, clock)
    week = await event_counts(client, token, account.advertiser_id, pixels,
                              today - timedelta(days=WEEK_DAYS - 1), today)
    day = await event_counts(client, token, account.advertiser_id, pixels, today, today)
    rows = tuple(
        PixelCounts(p, tuple(
            EventCounts(e, day.get((p.pixel_id, e.kind), 0), week.get((p.pixel_id, e.kind), 0))
            for e in p.events
        ))
        for p in pixels
    )
    return AccountPixels(account, today, rows)
