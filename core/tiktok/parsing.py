"""Lenient converters from TikTok's JSON values to typed Python values (spec §1.7, §7.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# spec §7.1: "-" means not applicable; empty strings show up for unset fields.
EMPTY = frozenset({"", "-"})


def id_str(value: Any) -> str:
    """Return an id as a string; ints are accepted leniently (spec §1.7)."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def opt_id(value: Any) -> str | None:
    """Return an id as a string, or None when absent or empty."""
    if value is None or value == "":
        return None
    return id_str(value)


def opt_str(value: Any) -> str | None:
    """Return a string, or None for null, "" and "-"."""
    if value is None:
        return None
    text = str(value)
    return None if text in EMPTY else text


def to_decimal(value: Any) -> Decimal | None:
    """Parse a money/rate value (JSON number or metric string) to Decimal; "-" -> None."""
    if type(value) is str:  # fast path: report metrics are plain decimal strings (§7.1)
        if value in EMPTY:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            pass
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    text = str(value).strip()
    if text in EMPTY:
        return None
    # spec §7.1: the Go SDK tolerates a trailing "%" on rates.
    text = text.removesuffix("%").replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def to_int(value: Any) -> int | None:
    """Parse a count (JSON number or integer string) to int; "-" -> None."""
    if type(value) is str and value.isdigit():
        return int(value)
    number = to_decimal(value)
    if number is None or not number.is_finite():
        return None
    return int(number)


def to_bool(value: Any) -> bool | None:
    """Parse a JSON boolean leniently (older fields used strings or ints, spec §1.7)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def utc_datetime(value: Any) -> datetime | None:
    """Parse "YYYY-MM-DD HH:MM:SS" (UTC), ISO "…Z" or Unix seconds into an aware UTC datetime."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    text = str(value).strip()
    if text in EMPTY:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def local_datetime(value: Any) -> datetime | None:
    """Parse a report time ("YYYY-MM-DD HH:MM:SS", account time zone) into a naive datetime."""
    text = opt_str(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else parsed.replace(tzinfo=None)


def str_tuple(values: Any) -> tuple[str, ...]:
    """Return a list of ids/strings as a tuple of strings (None -> empty)."""
    if not values:
        return ()
    if isinstance(values, str | int):
        return (id_str(values),)
    return tuple(id_str(v) for v in values)


def as_mapping(value: Any) -> Mapping[str, Any]:
    """Return `value` if it is a dict, else an empty mapping (spec §1.5: data may be anything)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """Return `value` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def chunks(items: Iterable[str], size: int) -> list[list[str]]:
    """Split ids into lists of at most `size` (batch limits, spec §1.6)."""
    out: list[list[str]] = []
    current: list[str] = []
    for item in items:
        current.append(item)
        if len(current) == size:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out
