"""Help and terms texts (the privacy policy is bot/views/privacy.py)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def help_text() -> str:
    """What the bot does and its commands."""
    return _(
        "<b>TTPulse</b> connects your TikTok ad accounts to this chat: spend and results with "
        "charts, automation rules that pause losers and scale winners (you approve the risky "
        "moves), bulk launches from templates, and tracker integrations.\n\n"
        "<b>Commands</b>\n"
        "/menu — the main menu\n"
        "/web — the web dashboard (a sign-in link)\n"
        "/settings — language, time zone, email, news\n"
        "/billing — your plan, payments and usage (/terms for paid plans)\n"
        "/support — write to our team\n"
        "/privacy — what we store and why\n"
        "/cancel — stop the current step\n"
        "/help — this message"
    )


def terms_text() -> str:
    """The Terms of Use, short and plain."""
    return _(
        "<b>TTPulse Terms of Use</b>\n\n"
        "1. TTPulse is for people aged 18 and over who manage advertising accounts.\n"
        "2. You connect only ad accounts you are allowed to manage, and you stay responsible "
        "for your campaigns, budgets and compliance with TikTok's advertising policies.\n"
        "3. Automation acts on the rules you set; risky changes wait for your approval when you "
        "choose so. Review your rules — TTPulse cannot guarantee results.\n"
        "4. Paid plans are billed in Telegram Stars; you can stop any time.\n"
        "5. We may change these terms; we will tell you in the bot before changes apply.\n"
        "6. Questions: /support."
    )
