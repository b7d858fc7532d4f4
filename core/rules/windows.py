"""A condition's window as days (and, for "last hour", one hour) of the ad account's time zone.

Stored metrics are keyed by the account's local calendar days and local hours, exactly as TikTok
reports them (spec §7.2), so windows are computed in local dates: "yesterday" is the calendar
day before today there, whether that day had 23, 24 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.rules.model import MULTI_DAY, Window


@dataclass(frozen=True)
class WindowRange:
    """Local days `start`..`end` inclusive (`start` None: since the beginning); `hour` set for
    "last hour": the single local (day, hour) to read instead of days."""

    start: date | None
    end: date
    hour: tuple[date, int] | None = None


def window_range(window: Window, now: datetime, time_zone: str) -> WindowRange:
    """The local days (or hour) `window` covers at the UTC instant `now`."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    span = window.span
    if span == "last_hour":
        # The local hour that ended at the top of the current local hour. Computed from the
        # local clock (offsets like +05:45 do not align with UTC hours) and stepped back in
        # UTC, so across a DST change it is the label TikTok used for that real hour.
        top = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        local = (top.astimezone(UTC) - timedelta(hours=1)).astimezone(zone)
        return WindowRange(local.date(), local.date(), (local.date(), local.hour))
    if span == "today":
        return WindowRange(today, today)
    if span == "yesterday":
        day = today - timedelta(days=1)
        return WindowRange(day, day)
    if span == "lifetime":
        return WindowRange(None, today)
    if span in MULTI_DAY:
        days = int(span.removesuffix("d"))
        end = today if window.include_today else today - timedelta(days=1)
        return WindowRange(end - timedelta(days=days - 1), end)
    raise ValueError(f"unknown window {span!r}")
