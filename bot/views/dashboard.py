"""/web: the dashboard's one-time sign-in link and its Mini App button."""

from __future__ import annotations

import html

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _

from bot.views import Screen


def menu_button_text() -> str:
    """The bot's menu button that opens the Mini App."""
    return _("Dashboard")


def signin(link: str, app_url: str) -> Screen:
    """The link (works once, for 10 minutes) and, where Telegram allows it (an https Mini App
    URL: Bot API rejects other web_app URLs), a button opening the dashboard as a Mini App;
    otherwise the dashboard's address is shown in the text."""
    text = _(
        "<b>Web dashboard</b>\n\n"
        "Your sign-in link (it works once, for 10 minutes — do not share it):\n{link}"
    ).format(link=html.escape(link))
    text += "\n\n" + _(
        "In a browser you can also log in with Telegram on the dashboard's page, or with "
        "Google once you link it in Settings → Web sign-in."
    )
    if not app_url.startswith("https://"):
        text += "\n\n" + _("Dashboard: {url}").format(url=html.escape(app_url))
        return text, None
    button = InlineKeyboardButton(text=_("📊 Open the dashboard"), web_app=WebAppInfo(url=app_url))
    return text, InlineKeyboardMarkup(inline_keyboard=[[button]])
