"""The edges of "tracking broken?" detection (core/pixel_watch.py): the account's midnight,
a read after a long gap, and how many events the silent span should have brought."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from core.pixel_watch import Reading, advance, expected_events, local_midnight
from storage.models import PixelSignal

ZONE = "Etc/GMT+8"  # UTC-8, the demo's Glowly US: its day starts at 08:00 UTC
KEY = ("px1", "COMPLETE_PAYMENT")
DAY = date(2026, 11, 19)
# 23:50 on the 19th in the account's zone, already the 20th in UTC.
LATE = datetime(2026, 11, 20, 7, 50, tzinfo=UTC)


def _signal(day: date = DAY, count: int = 40, fired_at: datetime = LATE) -> PixelSignal:
    return PixelSignal(
        ad_account_id=1,
        pixel_id=KEY[0],
        event=KEY[1],
        day=day,
        count=count,
        baseline=100,
        baseline_day=day,
        fired_at=fired_at,
        incident_at=None,
        updated_at=fired_at,
    )


def test_the_accounts_midnight_is_its_own_not_utcs() -> None:
    assert local_midnight(date(2026, 11, 20), ZONE) == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert local_midnight(date(2026, 11, 20), "Etc/GMT-9") == datetime(2026, 11, 19, 15, tzinfo=UTC)


def test_same_day_growth_and_silence() -> None:
    s = _signal()
    now = LATE + timedelta(minutes=5)
    assert not advance(s, Reading(DAY, {KEY: 40}), now, ZONE)
    assert s.fired_at == LATE and s.count == 40
    assert advance(s, Reading(DAY, {KEY: 41}), now, ZONE)
    assert s.fired_at == now and s.count == 41


def test_across_the_accounts_midnight_yesterdays_tail_counts() -> None:
    """Read at 23:50 (40 so far); next read at 00:20: today's count starts at 0, so whether it
    fired in between is told by yesterday's whole day."""
    after = LATE + timedelta(minutes=30)  # 00:20 on the 20th, account time
    today = DAY + timedelta(days=1)
    fired_late = _signal()
    assert advance(fired_late, Reading(today, {KEY: 0}, yesterday={KEY: 42}), after, ZONE)
    assert fired_late.fired_at == after and (fired_late.day, fired_late.count) == (today, 0)

    quiet = _signal()
    assert not advance(quiet, Reading(today, {KEY: 0}, yesterday={KEY: 40}), after, ZONE)
    assert quiet.fired_at == LATE  # still silent since the last growth, across midnight
    assert (quiet.day, quiet.count) == (today, 0)

    fired_today = _signal()
    assert advance(fired_today, Reading(today, {KEY: 2}, yesterday={KEY: 40}), after, ZONE)


def test_a_read_after_days_away_counts_from_the_accounts_midnight() -> None:
    old = LATE - timedelta(days=5)
    s = _signal(day=DAY - timedelta(days=5), fired_at=old)
    today = DAY + timedelta(days=1)
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert not advance(s, Reading(today, {KEY: 0}, baseline={KEY: 70}), now, ZONE)
    assert s.fired_at == local_midnight(today, ZONE)  # not "silent for 5 days"
    assert (s.baseline, s.baseline_day) == (70, today)


def test_expected_events() -> None:
    # Never fired in the 7 days before: nothing is expected (a new or unused pixel).
    assert expected_events(0, Decimal(100), Decimal(50), timedelta(hours=9)) == 0
    # 70 events for 700 spent: 30 spent since should have bought 3.
    assert expected_events(70, Decimal(700), Decimal(30), timedelta(hours=1)) == 3
    # No spend history: at the usual 1 event an hour (168 a week), 3 hours bring 3.
    assert expected_events(168, Decimal(0), Decimal(5), timedelta(hours=3)) == 3
