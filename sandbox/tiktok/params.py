"""Strict request decoding: query strings with JSON lists/objects (spec §1.4), JSON bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.tiktok.errors import ApiError, param_error

EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff]")


class Params:
    """Typed access to one request's parameters; every failure is a 40002 ApiError."""

    def __init__(
        self, source: Mapping[str, Any], from_query: bool, too_many_code: int = 40002
    ) -> None:
        """Wrap a query mapping (strings, JSON for lists/objects) or a decoded JSON body."""
        self.src = source
        self.from_query = from_query
        self.too_many_code = too_many_code

    def has(self, name: str) -> bool:
        """Whether the parameter was sent (empty query values count as absent)."""
        value = self.src.get(name)
        return value is not None and value != ""

    def raw(self, name: str) -> Any:
        """The value as sent."""
        return self.src.get(name)

    def str(
        self,
        name: str,
        required: bool = False,
        default: str | None = None,
        max_len: int | None = None,
        min_len: int = 0,
    ) -> str | None:
        """A string (ids given as JSON numbers are accepted, spec §1.7)."""
        if not self.has(name):
            if required:
                raise param_error(f"{name} is required.")
            return default
        value = self.src[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise param_error(f"{name} should be a string.")
        value = str(value)
        if max_len is not None and len(value) > max_len:
            raise param_error(f"{name} is too long. It should be at most {max_len} characters.")
        if len(value) < min_len:
            raise param_error(f"{name} is too short. It should be at least {min_len} characters.")
        return value

    def req(self, name: str, max_len: int | None = None) -> str:
        """A required string."""
        value = self.str(name, required=True, max_len=max_len)
        assert value is not None
        return value

    def name(self, name: str, required: bool, max_len: int = 512) -> str | None:
        """An object name: at most ``max_len`` characters, CJK counted twice, no emoji (§4.2)."""
        value = self.str(name, required=required)
        if value is None:
            return None
        if not value.strip():
            raise param_error(f"{name} cannot be empty.")
        width = sum(
            2 if "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" else 1 for ch in value
        )
        if width > max_len:
            raise param_error(f"{name} is too long. It should be at most {max_len} characters.")
        if EMOJI.search(value):
            raise param_error(f"{name} cannot contain emoji.")
        return value

    def int(
        self,
        name: str,
        default: int | None = None,
        lo: int | None = None,
        hi: int | None = None,
        required: bool = False,
    ) -> int | None:
        """An integer within bounds."""
        if not self.has(name):
            if required:
                raise param_error(f"{name} is required.")
            return default
        value = self.src[name]
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            number = int(value)
        except (TypeError, ValueError):
            raise param_error(f"{name} should be an integer.") from None
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise param_error(f"{name} should be between {lo} and {hi}.")
        return number

    def bool(self, name: str, default: bool = False) -> bool:
        """A boolean: JSON true/false, or "true"/"false" in a query."""
        if not self.has(name):
            return default
        value = self.src[name]
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise param_error(f"{name} should be a boolean.")

    def decimal(self, name: str, required: bool = False) -> Decimal | None:
        """A money amount (a JSON number or numeric string)."""
        if not self.has(name):
            if required:
                raise param_error(f"{name} is required.")
            return None
        return non_negative(name, self.src[name])

    def enum(
        self, name: str, allowed: Iterable[str], required: bool = False, default: str | None = None
    ) -> str | None:
        """One value of an enum."""
        value = self.str(name, required=required, default=default)
        allowed = list(allowed)
        if value is not None and value not in allowed:
            raise param_error(f"{name} must be one of {allowed}.")
        return value

    def json(self, name: str) -> Any:
        """A list/object parameter: JSON text in a query, native in a body."""
        if not self.has(name):
            return None
        value = self.src[name]
        if self.from_query or (isinstance(value, str) and value[:1] in "[{"):
            if not isinstance(value, str):
                raise param_error(f"{name} should be JSON.")
            try:
                return json.loads(value)
            except ValueError:
                raise param_error(f"{name} is not valid JSON.") from None
        return value

    def obj(self, name: str) -> dict[str, Any]:
        """A JSON object parameter (empty when absent)."""
        value = self.json(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise param_error(f"{name} should be a JSON object.")
        return value

    def str_list(
        self,
        name: str,
        required: bool = False,
        max_items: int | None = None,
        min_items: int = 0,
        allowed: Iterable[str] | None = None,
    ) -> list[str] | None:
        """A list of strings (numbers accepted for ids)."""
        value = self.json(name)
        return check_str_list(
            name, value, required, max_items, min_items, allowed, self.too_many_code
        )

    def time(self, name: str, required: bool = False) -> float | None:
        """A "YYYY-MM-DD HH:MM:SS" UTC time (spec §1.7) as Unix seconds."""
        value = self.str(name, required=required)
        if value is None:
            return None
        return parse_utc(name, value)


def decimal_of(name: str, value: Any) -> Decimal:
    """A number sent as a JSON number or numeric string (a boolean is not one)."""
    if isinstance(value, bool):
        raise param_error(f"{name} should be a number.")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise param_error(f"{name} should be a number.") from None


def non_negative(name: str, value: Any) -> Decimal:
    """An amount of money or a count: a finite number ≥ 0."""
    number = decimal_of(name, value)
    if not number.is_finite() or number < 0:
        raise param_error(f"{name} should be a non-negative number.")
    return number


def parse_utc(name: str, value: str) -> float:
    """Parse "YYYY-MM-DD HH:MM:SS" as UTC."""
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise param_error(f"{name} should be in the format YYYY-MM-DD HH:MM:SS.") from None


def check_str_list(
    name: str,
    value: Any,
    required: bool = False,
    max_items: int | None = None,
    min_items: int = 0,
    allowed: Iterable[str] | None = None,
    too_many_code: int = 40002,
) -> list[str] | None:
    """Validate a decoded list of strings."""
    if value is None:
        if required:
            raise param_error(f"{name} is required.")
        return None
    if not isinstance(value, list):
        raise param_error(f"{name} should be a list.")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise param_error(f"{name} should be a list of strings.")
        out.append(str(item))
    if len(out) < max(min_items, 1 if required else 0):
        raise param_error(f"{name} should contain at least {max(min_items, 1)} item(s).")
    if max_items is not None and len(out) > max_items:
        # Spec §8.1 has 40011 "too many ids"; §4.11 lists it under 40002: configurable.
        raise ApiError(
            too_many_code, f"Invalid param: {name} can contain at most {max_items} items."
        )
    if allowed is not None:
        allowed = list(allowed)
        bad = [v for v in out if v not in allowed]
        if bad:
            raise param_error(f"{name} contains invalid values {bad}; allowed: {allowed}.")
    return out
