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
from core.features import is_on
from core.tiktok import TikTokClient
from core.tiktok.pixels import Pixel, PixelEvent, event_counts, list_pixels
from storage.models import AdAccount
from storage.uow import UnitOfWorkFactory

FEATURE = "pixels"
WEEK_DAYS = 7


class PixelsError(Exception):
    """Pixels could not be shown; `code` says why."""

    code = "pixels"


class FeatureOff(PixelsError):
    """The user has not switched pixels on: nothing is asked of TikTok."""

    code = "off"


class AccountNotFound(PixelsError):
    """Not one of the user's ad accounts."""

    code = "account"


class NeedsReconnect(PixelsError):
    """The connection is broken or has no token: reconnect."""

    code = "reconnect"


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


async def access(uow: UnitOfWorkFactory, user_id: int, account_id: int
                 ) -> tuple[AdAccount, str]:
    """The user's ad account and its token; raises FeatureOff before anything else."""
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None or not is_on(user, FEATURE):
            raise FeatureOff()
        account = await u.connections.account(user_id, account_id)
        if account is None:
            raise AccountNotFound()
        conn = await u.connections.connection(user_id, account.connection_id)
        token = None
        if conn is not None and conn.credential_id is not None:
            token = await u.credentials.reveal(conn.credential_id)
    if conn is None or conn.status == "broken" or token is None:
        raise NeedsReconnect()
    return account, token


async def account_pixels(uow: UnitOfWorkFactory, clock: Clock, client: TikTokClient,
                         user_id: int, account_id: int) -> AccountPixels:
    """One of the user's ad accounts: its pixels, their events and recent counts, read live
    (raises PixelsError, or ScopeMissingError when the token lacks the pixels scope)."""
    account, token = await access(uow, user_id, account_id)
    pixels = await list_pixels(client, token, account.advertiser_id)
    today = local_today(account, clock)
    ids = [p.pixel_id for p in pixels]
    week = await event_counts(client, token, account.advertiser_id, ids,
                              today - timedelta(days=WEEK_DAYS - 1), today)
    day = await event_counts(client, token, account.advertiser_id, ids, today, today)
    rows = tuple(
        PixelCounts(p, tuple(
            EventCounts(e, day.get((p.pixel_id, e.kind), 0), week.get((p.pixel_id, e.kind), 0))
            for e in p.events
        ))
        for p in pixels
    )
    return AccountPixels(account, today, rows)
