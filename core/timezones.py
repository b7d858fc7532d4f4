"""Time zones a user can pick or type: IANA names, city names (English or Russian), UTC offsets."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

COMMON = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Kyiv",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Asia/Almaty",
    "Asia/Bangkok",
    "Asia/Singapore",
    "America/New_York",
    "America/Los_Angeles",
)

# Cities people type that are not the last part of an IANA name, and Russian spellings.
_ALIASES = {
    "kiev": "Europe/Kyiv", "saint petersburg": "Europe/Moscow", "st petersburg": "Europe/Moscow",
    "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata", "beijing": "Asia/Shanghai", "washington": "America/New_York",
    "miami": "America/New_York", "boston": "America/New_York", "san francisco":
    "America/Los_Angeles", "seattle": "America/Los_Angeles", "dallas": "America/Chicago",
    "houston": "America/Chicago", "rio de janeiro": "America/Sao_Paulo", "hanoi":
    "Asia/Bangkok", "abu dhabi": "Asia/Dubai", "munich": "Europe/Berlin", "frankfurt":
    "Europe/Berlin", "barcelona": "Europe/Madrid", "milan": "Europe/Rome", "astana":
    "Asia/Almaty", "almaty": "Asia/Almaty", "kharkiv": "Europe/Kyiv", "odesa": "Europe/Kyiv",
    "москва": "Europe/Moscow", "санкт-петербург": "Europe/Moscow", "питер": "Europe/Moscow",
    "киев": "Europe/Kyiv", "київ": "Europe/Kyiv", "минск": "Europe/Minsk",
    "алматы": "Asia/Almaty", "астана": "Asia/Almaty", "ташкент": "Asia/Tashkent",
    "тбилиси": "Asia/Tbilisi", "ереван": "Asia/Yerevan", "баку": "Asia/Baku",
    "новосибирск": "Asia/Novosibirsk", "екатеринбург": "Asia/Yekaterinburg",
    "казань": "Europe/Moscow", "самара": "Europe/Samara", "владивосток": "Asia/Vladivostok",
    "калининград": "Europe/Kaliningrad", "дубай": "Asia/Dubai", "стамбул": "Europe/Istanbul",
    "лондон": "Europe/London", "берлин": "Europe/Berlin", "варшава": "Europe/Warsaw",
    "прага": "Europe/Prague", "рига": "Europe/Riga", "вильнюс": "Europe/Vilnius",
    "таллин": "Europe/Tallinn", "кишинев": "Europe/Chisinau", "кишинёв": "Europe/Chisinau",
    "нью-йорк": "America/New_York", "лос-анджелес": "America/Los_Angeles",
    "бангкок": "Asia/Bangkok", "сингапур": "Asia/Singapore", "джакарта": "Asia/Jakarta",
    "бали": "Asia/Makassar", "пхукет": "Asia/Bangkok", "сан-паулу": "America/Sao_Paulo",
    "мехико": "America/Mexico_City", "токио": "Asia/Tokyo", "сеул": "Asia/Seoul",
    "бишкек": "Asia/Bishkek", "париж": "Europe/Paris", "мадрид": "Europe/Madrid",
    "рим": "Europe/Rome", "лиссабон": "Europe/Lisbon", "амстердам": "Europe/Amsterdam",
}

# Offsets that are not whole hours have no Etc/ zone; a representative real zone stands in.
_FRACTIONAL = {
    (1, 3, 30): "Asia/Tehran", (1, 4, 30): "Asia/Kabul", (1, 5, 30): "Asia/Kolkata",
    (1, 5, 45): "Asia/Kathmandu", (1, 6, 30): "Asia/Yangon", (1, 9, 30): "Australia/Darwin",
    (-1, 3, 30): "America/St_Johns", (-1, 9, 30): "Pacific/Marquesas",
}
# The dash is escaped: "+-−" unescaped is a range taking in every digit and letter.
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?$")


@cache
def _cities() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/", "US/")) or "/" not in name:
            continue
        out.setdefault(name.rsplit("/", 1)[1].replace("_", " ").lower(), name)
    return out


def is_valid(name: str) -> bool:
    """True if `name` is a time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_time_zone(text: str) -> str | None:
    """An IANA zone name for what the user typed, or None if it is not recognised."""
    raw = " ".join(text.strip().split())
    if not raw or len(raw) > 64:
        return None
    low = raw.lower().replace("ё", "е") if raw.lower() not in _ALIASES else raw.lower()
    if low in ("utc", "gmt", "utc0", "utc+0", "utc-0", "z"):
        return "UTC"
    if "/" in raw:
        for name in available_timezones():
            if name.lower() == low:
                return name
    if m := _OFFSET.match(low):
        sign = -1 if m.group(1) in "-−" else 1
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if minutes == 0 and -12 <= sign * hours <= 14:
            # POSIX-style Etc/ names have the sign inverted: UTC+3 is Etc/GMT-3.
            return "UTC" if hours == 0 else f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"
        return _FRACTIONAL.get((sign, hours, minutes))
    return _ALIASES.get(low) or _ALIASES.get(raw.lower()) or _cities().get(low)


def utc_offset_label(name: str, at: datetime) -> str:
    """`UTC+03:00` for the zone at that moment."""
    offset = at.astimezone(ZoneInfo(name)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_and_offset(name: str, at: datetime) -> str:
    """`Europe/Warsaw, UTC+01:00`: which zone a typed city or offset became, and its offset at
    that moment. The POSIX-style `Etc/GMT-3` reads backwards, so for those only the offset."""
    offset = utc_offset_label(name, at)
    if name == "UTC" or name.startswith("Etc/"):
        return offset
    return f"{name}, {offset}"
