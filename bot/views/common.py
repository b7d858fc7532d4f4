"""Pieces several screens share: language names and time-zone pickers."""

from __future__ import annotations

from datetime import datetime

from aiogram.filters.callback_data import CallbackData
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core.timezones import COMMON, utc_offset_label

LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def zone_label(zone: str, now: datetime) -> str:
    """`Berlin (UTC+01:00)` for a zone name."""
    city = zone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} ({utc_offset_label(zone, now)})"


def add_zone_buttons(kb: InlineKeyboardBuilder, make: type[CallbackData], now: datetime,
                     **fields: str) -> None:
    """The common time zones, two per row, each packing its zone into `make(..., value=zone)`."""
    for zone in COMMON:
        kb.button(text=zone_label(zone, now), callback_data=make(**fields, value=zone))


def yes_no(value: bool) -> str:
    """On / off, translated."""
    return _("on") if value else _("off")
