"""Text views: each returns the HTML text and the keyboard of one screen."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

Screen = tuple[str, InlineKeyboardMarkup | None]
