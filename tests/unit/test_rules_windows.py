"""Window arithmetic in the account's time zone, across zones and DST changes (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core.rules.model import MULTI_DAY, SPANS, Window
from core.rules.windows import window_range

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
    "Europe/London",
    "America/Sao_Paulo",
    "Etc/GMT+8",
]
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
windows = st.one_of(
    st.builds(Window, st.sampled_from(SPANS), st.just(False)),
    st.builds(Window, st.sampled_from(MULTI_DAY), st.just(True)),
)


def test_examples_around_the_spring_forward_in_new_york() -> None:
    # 2026-03-08: clocks go from 02:00 to 03:00 in New York; that local day has 23 hours.
    now = datetime(2026, 3, 9, 4, 30, tzinfo=UTC)  # 00:30 on 9 March, New York (EDT)
    tz = "America/New_York"
    assert window_range(Window("yesterday"), now, tz).start == date(2026, 3, 8)
    seven = window_range(Window("7d"), now, tz)
    assert (seven.start, seven.end) == (date(2026, 3, 2), date(2026, 3, 8))
    hour = window_range(Window("last_hour"), now, tz)
    assert hour.hour == (date(2026, 3, 8), 23)
    # Just after the jump: the hour that ended at 03:00 EDT was labelled 01:00 EST.
    jump = datetime(2026, 3, 8, 7, 15, tzinfo=UTC)  # 03:15 EDT
    assert window_range(Window("last_hour"), jump, tz).hour == (date(2026, 3, 8), 1)


@settings(max_examples=400, deadline=None)
@given(instants, st.sampled_from(ZONES), windows)
def test_windows_are_whole_local_days_ending_at_the_right_day(
    now: datetime, zone: str, window: Window
) -> None:
    today = now.astimezone(ZoneInfo(zone)).date()
    r = window_range(window, now, zone)
    if window.span in MULTI_DAY:
        assert r.start is not None
        assert (r.end - r.start).days + 1 == int(window.span[:-1])
        assert r.end == (today if window.include_today else today - timedelta(days=1))
    elif window.span == "today":
        assert r.start == r.end == today
    elif window.span == "yesterday":
        assert r.start == r.end == today - timedelta(days=1)
        assert (today - r.end).days == 1  # a calendar day, whatever its length in hours
    elif window.span == "lifetime":
        assert r.start is None and r.end == today
    else:
        assert r.hour is not None
        day, hour = r.hour
        # The hour is over (it ended at most an hour ago) and it is the latest such hour.
        start = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone))
        ended = start.astimezone(UTC) + timedelta(hours=1)
        assert (ended <= now and now - ended < timedelta(hours=1)) or _ambiguous_or_skipped(
            day, hour, zone
        )


def _ambiguous_or_skipped(day: date, hour: int, zone: str) -> bool:
    """A local hour that DST repeats or skips cannot be pinned by its label alone."""
    tz = ZoneInfo(zone)
    naive = datetime(day.year, day.month, day.day, hour)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    return first.utcoffset() != second.utcoffset()
