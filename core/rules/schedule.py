"""When a rule runs next: every 15/30/60 minutes, or at set times on chosen weekdays, in the
user's time zone (design.md, Time: schedules a user sets are in the user's time zone)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.rules.settings import Schedule


def next_due(schedule: Schedule, after: datetime, time_zone: str) -> datetime:
    """The first scheduled instant strictly after `after` (UTC in, UTC out)."""
    zone = ZoneInfo(time_zone)
    local = after.astimezone(zone)
    if schedule.every_minutes is not None:
        step = schedule.every_minutes
        # Aligned to the local clock (":00, :15, ..."), stepped in real time so a DST change
        # neither skips nor doubles a run.
        minute = (local.minute // step) * step
        top = local.replace(minute=minute, second=0, microsecond=0).astimezone(UTC)
        candidate = top + timedelta(minutes=step)
        # Past `after`, and on one of the chosen weekdays (at most a week of steps away).
        while candidate <= after or candidate.astimezone(zone).weekday() not in schedule.weekdays:
            candidate += timedelta(minutes=step)
        return candidate
    times = sorted(time.fromisoformat(t) for t in schedule.times)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in schedule.weekdays:
            continue
        for at in times:
            # A time that does not exist that day (spring forward) is taken as the same wall
            # time on the new offset, which zoneinfo gives for fold=0: it still runs that day.
            candidate = datetime.combine(day, at, zone).astimezone(UTC)
            if candidate > after:
                return candidate
    raise ValueError("schedule has no times")
