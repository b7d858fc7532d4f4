"""Reporting periods, in an ad account's own time zone (TikTok reports its days there, spec §7.2).

"Last 7 days" and "last 30 days" end yesterday, as in TikTok Ads Manager, so every day in them
is complete; "today" and "this month" include today so far. The previous equal period is the
same number of days right before; for "today" it is yesterday up to the same hour, so a partial
day is never compared with a whole one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MAX_CUSTOM_DAYS = 366


class PeriodError(ValueError):
    """A typed range that cannot be used; `code` says why (format, date, order, future, long)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Period(StrEnum):
    """The periods a user can pick."""

    TODAY = "today"
    YESTERDAY = "yesterday"
    LAST_7 = "7d"
    LAST_30 = "30d"
    THIS_MONTH = "month"
    CUSTOM = "custom"


@dataclass(frozen=True)
class DateRange:
    """Days `start`..`end` inclusive; `until_hour` cuts the last day at that hour (exclusive)."""

    start: date
    end: date
    until_hour: int | None = None

    @property
    def days(self) -> int:
        """How many calendar days the range touches."""
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def previous(self) -> DateRange:
        """The equal period right before this one."""
        length = timedelta(days=self.days)
        return DateRange(self.start - length, self.end - length, self.until_hour)


def local_today(now: datetime, time_zone: str) -> date:
    """The account's calendar day at the UTC instant `now`."""
    return now.astimezone(ZoneInfo(time_zone)).date()


def resolve(period: Period, now: datetime, time_zone: str,
            custom: DateRange | None = None) -> DateRange:
    """The days of `period` for an account in `time_zone` at instant `now`."""
    local = now.astimezone(ZoneInfo(time_zone))
    today = local.date()
    match period:
        case Period.TODAY:
            return DateRange(today, today, until_hour=local.hour + 1)
        case Period.YESTERDAY:
            day = today - timedelta(days=1)
            return DateRange(day, day)
        case Period.LAST_7:
            return DateRange(today - timedelta(days=7), today - timedelta(days=1))
        case Period.LAST_30:
            return DateRange(today - timedelta(days=30), today - timedelta(days=1))
        case Period.THIS_MONTH:
            return DateRange(today.replace(day=1), today)
        case Period.CUSTOM:
            if custom is None:
                raise PeriodError("format", "a custom period needs its dates")
            return custom
    raise PeriodError("format", str(period))


_DATE = r"(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?)"
_RANGE = re.compile(rf"^\s*{_DATE}\s*(?:-|–|—|\.\.|to|по|до|\s)\s*{_DATE}\s*$", re.IGNORECASE)


def _parse_day(text: str, today: date) -> date:
    try:
        if "-" in text:
            y, m, d = (int(p) for p in text.split("-"))
        else:
            parts = [int(p) for p in re.split(r"[./]", text)]
            d, m = parts[0], parts[1]
            y = parts[2] if len(parts) == 3 else today.year
            y = y + 2000 if y < 100 else y
        return date(y, m, d)
    except ValueError:
        raise PeriodError("date", f"{text} is not a date") from None


def parse_custom(text: str, today: date) -> DateRange:
    """A range typed as `2026-11-01 2026-11-15`, `1.11-15.11` or `01.11.2026 - 15.11.2026`."""
    m = _RANGE.match(text)
    if m is None:
        raise PeriodError("format", "expected two dates, e.g. 2026-11-01 2026-11-15 or 1.11-15.11")
    start, end = _parse_day(m.group(1), today), _parse_day(m.group(2), today)
    if end < start:
        raise PeriodError("order", "the range ends before it starts")
    if end > today:
        raise PeriodError("future", "the range ends in the future")
    if (end - start).days + 1 > MAX_CUSTOM_DAYS:
        raise PeriodError("long", f"the range is longer than {MAX_CUSTOM_DAYS} days")
    return DateRange(start, end)
