"""Typed time zones and emails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.emails import normalize_email
from core.timezones import COMMON, is_valid, parse_time_zone, utc_offset_label, zone_and_offset


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("  Los   Angeles ", "America/Los_Angeles"),
        ("Москва", "Europe/Moscow"),
        ("киев", "Europe/Kyiv"),
        ("UTC+3", "Etc/GMT-3"),
        ("gmt-5", "Etc/GMT+5"),
        ("+03:00", "Etc/GMT-3"),
        ("UTC", "UTC"),
        ("utc+0", "UTC"),
        ("UTC+5:30", "Asia/Kolkata"),
        ("europe/london", "Europe/London"),
        ("Asia/Tokyo", "Asia/Tokyo"),
        ("Delhi", "Asia/Kolkata"),
    ],
)
def test_recognised(typed: str, zone: str) -> None:
    assert parse_time_zone(typed) == zone


@pytest.mark.parametrize(
    "typed",
    # A sign is required: "UTC10" was read as the sign "1" and offset 0 (UTC), "GMT12" as UTC+2.
    ["", "Atlantis", "UTC+15", "UTC+3:17", "x" * 100, "hello world", "UTC10", "GMT12", "55"],
)
def test_not_recognised(typed: str) -> None:
    assert parse_time_zone(typed) is None


def test_common_zones_and_offsets() -> None:
    assert all(is_valid(z) for z in COMMON)
    winter = datetime(2026, 1, 15, tzinfo=UTC)
    summer = datetime(2026, 7, 15, tzinfo=UTC)
    assert utc_offset_label("Europe/Berlin", winter) == "UTC+01:00"
    assert utc_offset_label("Europe/Berlin", summer) == "UTC+02:00"
    assert utc_offset_label("Etc/GMT-3", summer) == "UTC+03:00"
    assert utc_offset_label("America/St_Johns", winter) == "UTC-03:30"


@pytest.mark.parametrize(
    ("typed", "result"),
    [
        ("Ann@Example.COM", "Ann@example.com"),
        (" bob.smith+ads@mail.co.uk ", "bob.smith+ads@mail.co.uk"),
        ("nobody", None),
        ("a@b", None),
        ("a@@b.com", None),
        ("a b@c.com", None),
        ("a..b@c.com", None),
        (".a@c.com", None),
        ("<script>@x.com", None),
        ("a@" + "x" * 250 + ".com", None),
    ],
)
def test_email(typed: str, result: str | None) -> None:
    assert normalize_email(typed) == result


@pytest.mark.parametrize(
    ("typed", "at", "said"),
    [
        ("Warsaw", datetime(2026, 1, 15, 12, tzinfo=UTC), "Europe/Warsaw, UTC+01:00"),
        ("варшава", datetime(2026, 7, 15, 12, tzinfo=UTC), "Europe/Warsaw, UTC+02:00"),
        ("Kolkata", datetime(2026, 7, 15, 12, tzinfo=UTC), "Asia/Kolkata, UTC+05:30"),
        ("UTC+3", datetime(2026, 7, 15, 12, tzinfo=UTC), "UTC+03:00"),
        ("UTC-5", datetime(2026, 7, 15, 12, tzinfo=UTC), "UTC-05:00"),
        ("utc", datetime(2026, 7, 15, 12, tzinfo=UTC), "UTC+00:00"),
    ],
)
def test_a_typed_zone_is_said_back_with_its_offset_now(typed: str, at: datetime, said: str) -> None:
    zone = parse_time_zone(typed)
    assert zone is not None and zone_and_offset(zone, at) == said


def test_report_days_follow_display_timezone_not_the_fixed_offset() -> None:
    # Spec §3.1: `timezone` may be "Etc/GMT+8" (UTC-8 all year) while reports follow
    # `display_timezone`; in July Los Angeles is UTC-7, so days would be an hour off.
    from core.connections import report_zone
    from core.tiktok.models import Advertiser

    def adv(tz: str | None, display: str | None) -> Advertiser:
        return Advertiser("1", "A", None, "USD", tz, display)

    assert report_zone(adv("Etc/GMT+8", "America/Los_Angeles")) == "America/Los_Angeles"
    assert report_zone(adv("Etc/GMT+8", None)) == "Etc/GMT+8"
    assert report_zone(adv("Etc/GMT+8", "Mars/Olympus")) == "Etc/GMT+8"
    assert report_zone(adv(None, None)) == "UTC"
