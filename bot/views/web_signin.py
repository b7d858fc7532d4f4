"""Settings → Web sign-in: the ways to sign in to the dashboard, and the Google account link."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _

from bot.callbacks import SettingsCb, WebSigninCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen


def overview(google_enabled: bool, email: str | None, linked: bool) -> Screen:
    """How this user can sign in to the web dashboard, with Link / Unlink Google."""
    lines = [
        _("<b>Web sign-in</b>"),
        "",
        _("In a browser you can sign in to the dashboard with a one-time link (/web) or with "
          "“Log in with Telegram” on its sign-in page."),
    ]
    kb = InlineKeyboardBuilder()
    if google_enabled:
        lines.append("")
        if linked:
            lines.append(_("Google: linked ({email}). “Sign in with Google” signs you in.")
                         .format(email=html.escape(email or "—")))
            kb.button(text=_("Unlink Google account"), callback_data=WebSigninCb(a="unlink"))
        else:
            lines.append(_("Google: not linked. Link a Google account once to sign in with it."))
            kb.button(text=_("🔗 Link Google account"), callback_data=WebSigninCb(a="link"))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def link_offer(url: str) -> Screen:
    """The one-time link that links a Google account."""
    text = _(
        "<b>Link a Google account</b>\n\n"
        "Open this link in your browser and choose the Google account that should sign you in "
        "(it works once, for 10 minutes — do not share it):\n{link}"
    ).format(link=html.escape(url))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Back"), callback_data=WebSigninCb(a="show"))
    return text, kb.as_markup()


def unlinked() -> str:
    """Toast after unlinking."""
    return _("Google account unlinked: it no longer signs you in.")


def nothing_linked() -> str:
    """Toast when there was nothing to unlink (a second tap)."""
    return _("No Google account is linked.")
