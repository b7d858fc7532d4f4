"""Translations: gettext catalogs in locales/, the locale chosen per user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware

from core.users import LANGUAGES

LOCALES = Path(__file__).resolve().parent.parent / "locales"


def make_i18n() -> I18n:
    """The catalogs (compiled .mo files; `pybabel compile` builds them)."""
    return I18n(path=LOCALES, default_locale="en", domain="messages")


def guess_language(language_code: str | None) -> str:
    """A supported language from Telegram's language_code, English otherwise."""
    code = (language_code or "").split("-")[0].lower()
    return code if code in LANGUAGES else "en"


class UserLocaleMiddleware(I18nMiddleware):
    """The stored user's language; during sign-up the one picked so far; else Telegram's."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """Pick the locale for this update."""
        user = data.get("db_user")
        if user is not None:
            return str(user.language)
        state = data.get("state")
        if state is not None:
            picked = await state.get_value("lang")
            if picked in LANGUAGES:
                return str(picked)
        tg_user = data.get("event_from_user")
        return guess_language(tg_user.language_code if tg_user else None)
