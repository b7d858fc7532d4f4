"""Quiet hours: when a user's non-urgent alerts wait until morning."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def quiet_until(now: datetime, time_zone: str, start: int | None,
                end: int | None) -> datetime | None:
    """The end of the quiet period `now` falls in (local hours `start`..`end`, which may span
    midnight), or None when it is not quiet now."""
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    hour = local.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if not inside:
        return None
    day = local.date() if hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), zone).astimezone(UTC)
