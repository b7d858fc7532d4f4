"""/delete_account and operators' /erase texts."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import EraseCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen

# Seconds within which the typed word counts (the chat's /delete_account and the web page's).
CONFIRM_WITHIN = 600


def confirm_word() -> str:
    """The word the user types to confirm, in their language."""
    return _("DELETE")


def explain() -> str:
    """What deleting the account does, when, what is kept; asks for the typed word."""
    return _(
        "🗑 <b>Delete your TTPulse account</b>\n\n"
        "<b>At once:</b> your rules stop, scheduled launches and open approvals are cancelled, "
        "your Stars subscription stops renewing, TTPulse's access to TikTok is revoked at "
        "TikTok and the tokens deleted, tracker API keys are deleted, queued alerts are "
        "dropped, and you are signed out.\n"
        "<b>Within 7 days:</b> the synced TikTok statistics and tracker data are deleted.\n"
        "<b>Within 30 days:</b> everything else about you (profile, email, settings, rules, "
        "templates, launches, creatives, support messages) is deleted.\n"
        "<b>Kept:</b> payment records, which the law requires us to keep, and the activity "
        "log — both under a random pseudonym instead of your Telegram id.\n\n"
        "Your campaigns on TikTok itself are not touched. This cannot be undone; signing up "
        "again later starts from nothing.\n\n"
        "To delete your account, type <code>{word}</code>. Anything else cancels."
    ).format(word=confirm_word())


def not_deleted() -> str:
    """Anything but the confirmation word was sent."""
    return _("Nothing was deleted: that was not the confirmation word. Your account stays "
             "as it is.")


def expired() -> str:
    """The confirmation came too late."""
    return _("That confirmation came too late, so nothing was deleted. Send /delete_account "
             "to start again.")


def deleted() -> str:
    """The account is deleted."""
    return _(
        "Your account is deleted. TTPulse's access to TikTok is revoked and your automation "
        "has stopped. Synced data goes within 7 days, everything else within 30 days (payment "
        "records are kept under a pseudonym).\n\nThank you for using TTPulse. Send /start if "
        "you ever want to sign up again."
    )


def renewal_stopped() -> str:
    """The deleted account's Stars subscription was stopped at Telegram."""
    return _("⭐ The Stars subscription no longer renews.")


def renewal_left(error: str) -> str:
    """Telegram refused to stop the deleted account's Stars subscription."""
    return _("⚠️ Telegram did not stop the Stars subscription ({error}), so it may renew: "
             "cancel it in Telegram (Settings → My Stars) or write to /paysupport.").format(
        error=html.quote(error))


REASONS = ("support", "minor")


def reason_label(reason: str) -> str:
    """An erasure reason, for operators."""
    return _("a support request") if reason == "support" else _("a report of a minor")


def operators_only() -> str:
    """A non-operator tried an operator's command or button."""
    return _("Only TTPulse operators can erase accounts.")


def erase_usage() -> str:
    """How to call /erase."""
    return _(
        "Usage: <code>/erase TELEGRAM_ID support</code> (the user asked, e.g. in /support) or "
        "<code>/erase TELEGRAM_ID minor</code> (a report of a minor). The account is erased "
        "completely at once; payment records and the audit log are kept under a pseudonym."
    )


def no_such_account(user_id: int) -> str:
    """Nothing to erase."""
    return _("There is no account with Telegram id {id} (or it is erased already).").format(
        id=user_id)


def erase_confirm(user_id: int, name: str, username: str | None, reason: str,
                  deleting: bool) -> Screen:
    """Ask the operator to confirm with a button."""
    who = html.quote(name[:64]) + (f" (@{html.quote(username)})" if username else "")
    text = _(
        "Erase the account of {who}, Telegram id <code>{id}</code>, now and completely, on "
        "{reason}?\n\nTikTok access is revoked and everything is deleted except payment records "
        "and the audit log, which are kept under a pseudonym. This cannot be undone."
    ).format(who=who, id=user_id, reason=reason_label(reason))
    if deleting:
        text += "\n\n" + _("The user has already asked to delete the account; this finishes it "
                           "now instead of within 30 days.")
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Erase now"), callback_data=EraseCb(u=user_id, r=reason, ok=1))
    kb.button(text=_("Cancel"), callback_data=EraseCb(u=user_id, r=reason, ok=0))
    kb.adjust(2)
    return text, kb.as_markup()


def erase_cancelled(user_id: int) -> str:
    """The operator pressed Cancel."""
    return _("Erasure of {id} cancelled; nothing was changed.").format(id=user_id)


def erased(user_id: int, reason: str, pseudonym: int, rows: int) -> str:
    """The operator's erasure is done."""
    return _(
        "✅ Account {id} erased on {reason}: {rows} rows deleted or pseudonymised. Payment "
        "records and the audit log now carry the pseudonym <code>{pseudonym}</code>; the "
        "erasure is recorded under your id."
    ).format(id=user_id, reason=reason_label(reason), rows=rows, pseudonym=pseudonym)
