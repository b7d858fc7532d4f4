"""Sign-up screens."""

from __future__ import annotations

from datetime import datetime

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SignupCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import LANGUAGE_NAMES, add_zone_buttons


def language() -> Screen:
    """Step 1: pick the interface language."""
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        kb.button(text=name, callback_data=SignupCb(step="lang", value=code))
    kb.adjust(2)
    text = _(
        "👋 Welcome to <b>TTPulse</b> — your TikTok ad accounts in Telegram: spend and results, "
        "charts, automation rules and bulk launches.\n\nChoose your language:"
    )
    return text, kb.as_markup()


def age() -> Screen:
    """Step 2: confirm being an adult."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ I am 18 or older"), callback_data=SignupCb(step="age", value="yes"))
    kb.button(text=_("I am under 18"), callback_data=SignupCb(step="age", value="no"))
    kb.adjust(1)
    return _(
        "TTPulse is for adults who run ad accounts. Please confirm that you are 18 or older."
    ), kb.as_markup()


def age_refused() -> str:
    """Sign-up ends: under 18."""
    return _(
        "Sorry — TTPulse is only for people aged 18 and over. "
        "We have not stored anything about you. Goodbye!"
    )


def terms(public_url: str, lang: str) -> Screen:
    """Step 3: accept the Terms of Use and the Privacy Policy."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📄 Terms of Use"), url=f"{public_url}/terms?lang={lang}")
    kb.button(text=_("🔒 Privacy Policy"), url=f"{public_url}/privacy?lang={lang}")
    kb.button(text=_("✅ I accept"), callback_data=SignupCb(step="terms", value="yes"))
    kb.button(text=_("✖️ Decline"), callback_data=SignupCb(step="terms", value="no"))
    kb.adjust(2, 2)
    return _(
        "Please read our <b>Terms of Use</b> and <b>Privacy Policy</b> (the links below). "
        "By pressing “I accept” you agree to both."
    ), kb.as_markup()


def terms_declined() -> str:
    """Sign-up ends: terms declined."""
    return _(
        "Without accepting the Terms of Use and the Privacy Policy we can't create an "
        "account. Nothing was stored. Send /start whenever you change your mind."
    )


def time_zone(now: datetime) -> Screen:
    """Step 4: the time zone, picked or typed."""
    kb = InlineKeyboardBuilder()
    add_zone_buttons(kb, SignupCb, now, step="tz")
    kb.adjust(2)
    return _(
        "Which time zone are you in? Your schedules and daily reports use it.\n\n"
        "Pick one below, or type a city (e.g. <i>Berlin</i>) or an offset "
        "(e.g. <i>UTC+3</i>)."
    ), kb.as_markup()


def zone_set(zone_and_offset: str) -> str:
    """Which zone a typed city or offset became (core.timezones.zone_and_offset)."""
    return _("✅ Time zone: {zone}.").format(zone=html.quote(zone_and_offset))


def bad_time_zone() -> str:
    """The typed time zone was not recognised."""
    return _(
        "I don't recognise that time zone. Type a city such as <i>Berlin</i> or "
        "<i>Tokyo</i>, an offset such as <i>UTC+3</i>, or pick one from the list above."
    )


def email() -> Screen:
    """Step 5: an optional email."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip"), callback_data=SignupCb(step="email", value="skip"))
    return _(
        "Optionally, send your email address — we use it only for receipts and important "
        "account notices. Or press Skip."
    ), kb.as_markup()


def bad_email() -> str:
    """The typed email is not an address."""
    return _(
        "That doesn't look like an email address. Send one like "
        "<i>name@example.com</i>, or press Skip above."
    )


def marketing(opt_in: bool) -> Screen:
    """Step 6: the separate, unticked marketing opt-in."""
    kb = InlineKeyboardBuilder()
    box = "☑" if opt_in else "☐"
    kb.button(
        text=f"{box} " + _("Send me product news and offers"),
        callback_data=SignupCb(step="mkt", value="off" if opt_in else "on"),
    )
    kb.button(text=_("Finish sign-up"), callback_data=SignupCb(step="done"))
    kb.adjust(1)
    return _(
        "Last step. Would you like occasional product news and offers? It is optional and "
        "stays off unless you tick it; you can change it any time in /settings."
    ), kb.as_markup()


def use_buttons() -> str:
    """Typed text where a button is expected."""
    return _("Please answer with the buttons above, or send /cancel to stop.")
