"""When a rule runs next: every 15/30/60 minutes, or at set times on chosen weekdays, in the
user's time zone (design.md, Time: schedules a user sets are in the user's time zone) — never
more often than the user's plan allows (Limits.rule_every_minutes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from core.rules.settings import Schedule


def thinned(times: tuple[str, ...], floor_minutes: int) -> tuple[str, ...]:
    """Set times of a day kept at least `floor_minutes` apart: a time is kept when it is that far
    after the last one kept ("09:00, 09:15, 10:00" at 60 minutes runs at 09:00 and 10:00)."""
    kept: list[str] = []
    last = None
    for at in sorted(times):
        t = time.fromisoformat(at)
        minute = t.hour * 60 + t.minute
        if last is None or minute - last >= floor_minutes:
            kept.append(at)
            last = minute
    return tuple(kept)


def fastest(schedule: Schedule) -> int | None:
    """The shortest time between two runs of a day, in minutes (None: one run a day)."""
    if schedule.every_minutes is not None:
        return schedule.every_minutes
    minutes = sorted(t.hour * 60 + t.minute for t in map(time.fromisoformat, schedule.times))
    gaps = [b - a for a, b in pairwise(minutes)]
    return min(gaps) if gaps else None


def at_cadence(schedule: Schedule, floor_minutes: int | None) -> Schedule:
    """The schedule as a plan whose shortest cadence is `floor_minutes` runs it: a faster
    step runs at the floor, set times closer than the floor are thinned. None: as it is."""
    if floor_minutes is None:
        return schedule
    if schedule.every_minutes is not None:
        return replace(schedule, every_minutes=max(schedule.every_minutes, floor_minutes))
    return replace(schedule, times=thinned(schedule.times, floor_minutes))


def next_due(schedule: Schedule, after: datetime, time_zone: str,
             floor_minutes: int | None = None) -> datetime:
    """The first scheduled instant strictly after `after` (UTC in, UTC out), the schedule run at
    no faster than `floor_minutes` (the plan's shortest cadence; None: as set)."""
    schedule = at_cadence(schedule, floor_minutes)
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
