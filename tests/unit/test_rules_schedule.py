"""Rule schedules in the user's time zone, quiet hours, and stored settings, as properties."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from core.quiet import quiet_until
from core.rules.schedule import next_due
from core.rules.settings import Frequency, RuleSettings, Schedule, Scope, from_json, to_json

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe",
         "Asia/Tokyo", "America/Sao_Paulo", "Pacific/Chatham"]
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                        timezones=st.just(UTC))
weekdays = st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s)))
times = st.lists(st.tuples(st.integers(0, 23), st.integers(0, 59)), min_size=1, max_size=4).map(
    lambda ts: tuple(sorted({f"{h:02d}:{m:02d}" for h, m in ts})))


@given(instants, st.sampled_from(ZONES), st.sampled_from([15, 30, 60]), weekdays)
def test_every_n_minutes_is_the_next_local_slot_on_a_chosen_day(
        after: datetime, zone: str, step: int, days: tuple[int, ...]) -> None:
    due = next_due(Schedule(step, (), days), after, zone)
    local = due.astimezone(ZoneInfo(zone))
    assert due > after and local.minute % step == 0 and local.second == 0
    assert local.weekday() in days
    if len(days) == 7:
        assert due - after <= timedelta(minutes=step)


@given(instants, st.sampled_from(ZONES), times, weekdays)
def test_set_times_fall_on_a_chosen_day_and_none_is_skipped(
        after: datetime, zone: str, at: tuple[str, ...], days: tuple[int, ...]) -> None:
    due = next_due(Schedule(None, at, days), after, zone)
    local = due.astimezone(ZoneInfo(zone))
    assert due > after and due - after <= timedelta(days=8)
    assert local.weekday() in days
    # No scheduled moment lies strictly between `after` and the answer.
    start = after.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
    for offset in range(10):
        day = start + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        for t in at:
            moment = datetime.combine(day, time.fromisoformat(t), ZoneInfo(zone)).astimezone(UTC)
            assert not after < moment < due, (moment, due)


def test_a_time_lost_to_the_spring_change_still_runs_that_day() -> None:
    # Berlin skips 02:00-03:00 on 2026-03-29; a rule at 02:30 runs at 03:30 local that day.
    due = next_due(Schedule(None, ("02:30",), tuple(range(7))),
                   datetime(2026, 3, 28, 23, 0, tzinfo=UTC), "Europe/Berlin")
    assert due.astimezone(ZoneInfo("Europe/Berlin")).date().isoformat() == "2026-03-29"
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


@given(instants, st.sampled_from(ZONES), st.integers(0, 23), st.integers(0, 23))
def test_quiet_hours_end_at_the_local_end_hour(
        now: datetime, zone: str, start: int, end: int) -> None:
    until = quiet_until(now, zone, start, end)
    hour = now.astimezone(ZoneInfo(zone)).hour
    inside = start != end and (start <= hour < end if start < end else hour >= start or hour < end)
    if not inside:
        assert until is None
        return
    assert until is not None and now < until <= now + timedelta(hours=25)
    local = until.astimezone(ZoneInfo(zone))
    assert local.minute == 0 and (local.hour == end or local.hour == (end + 1) % 24)


settings = st.builds(
    RuleSettings,
    scope=st.builds(Scope, accounts=st.none() | st.tuples(st.integers(1, 99)),
                    match=st.sampled_from(["all", "ids", "contains", "starts"]),
                    values=st.lists(st.text(min_size=1, max_size=8), max_size=3).map(tuple)),
    aggregate=st.sampled_from(["each", "sum"]),
    schedule=st.one_of(st.builds(Schedule, every_minutes=st.sampled_from([15, 30, 60]),
                                 times=st.just(()), weekdays=weekdays),
                       st.builds(Schedule, every_minutes=st.none(), times=times,
                                 weekdays=weekdays)),
    frequency=st.builds(Frequency, times=st.integers(1, 9), hours=st.none() | st.integers(1, 200)),
    safe_mode=st.sampled_from(["auto", "approve", "alert"]),
    risky_mode=st.sampled_from(["auto", "approve", "alert"]),
    freshness_minutes=st.integers(5, 1440),
    approval_minutes=st.integers(5, 1440),
)


@given(settings)
def test_stored_settings_load_back_the_same(value: RuleSettings) -> None:
    assert from_json(to_json(value)) == value


def test_old_documents_load_with_defaults() -> None:
    assert from_json({}) == RuleSettings()
    assert from_json({"safe_mode": "alert", "unknown": 1}).safe_mode == "alert"
