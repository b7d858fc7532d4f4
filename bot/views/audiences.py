"""Audiences screens (issue 17): pick an ad account, its custom and lookalike audiences with
size and status, a new audience from a customer file (with progress), and a lookalike."""

from __future__ import annotations

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.callbacks import AccountsCb, AudienceCb, SettingsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, page_of, quoted
from core.audiences import LOOKALIKE_MIN_SOURCE, MAX_FILE_BYTES, AccountAudiences
from core.feature_access import FeatureError
from core.tiktok.audiences import Audience
from storage.models import AdAccount

PAGE = 8
# Sized so the list stays inside Telegram's 4096 characters whatever TikTok's names (≤ 128):
# 2 groups of 12 audiences of (name ≤ 48 + id 19 + status ≤ 50 + marks) ≈ 3,200 characters.
SHOWN = 12  # audiences of a kind listed on one screen (the rest: "… and N more")
NAME_LIMIT = 48
LOOKALIKE_BUTTONS = 5


def pick_account(accounts: list[AdAccount], page: int = 0) -> Screen:
    """Which ad account's audiences to see."""
    shown, page, pages = page_of(accounts, page, PAGE)
    kb = InlineKeyboardBuilder()
    for acc in shown:
        kb.button(text=acc.name[:40] or acc.advertiser_id,
                  callback_data=AudienceCb(a="list", id=acc.id))
    rows = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: AudienceCb(a="pick", n=n)):
        rows.append(nav)
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    rows.append(1)
    kb.adjust(*rows)
    return _("<b>👥 Audiences</b>\n\nChoose an ad account:"), kb.as_markup()


def _num(n: int) -> str:
    return format_decimal(n, locale=get_i18n().current_locale)


def audience_status(a: Audience) -> str:
    """An audience's size and status in a few words."""
    if not a.ready:
        return _("computing on TikTok…")
    if a.expiring:
        return _("ready · {size} people · expires soon").format(size=_num(a.size))
    return _("ready · {size} people").format(size=_num(a.size))


def audience_list(found: AccountAudiences, many_accounts: bool) -> Screen:
    """An ad account's audiences, custom then lookalike, each with its size and status."""
    account = found.account
    lines = [_("<b>👥 Audiences</b> · {account}").format(account=quoted(account.name, 60))]
    custom = [a for a in found.audiences if a.kind == "custom"]
    lookalike = [a for a in found.audiences if a.kind == "lookalike"]
    if not found.audiences:
        lines += ["", _("No audiences yet. Send a file of your customers' emails or phone "
                        "numbers to make one.")]
    for title, group in ((_("Custom"), custom), (_("Lookalike"), lookalike)):
        if not group:
            continue
        lines += ["", f"<b>{title}</b>"]
        for a in group[:SHOWN]:
            lines.append(f"• {quoted(a.name, NAME_LIMIT)} · <code>{a.audience_id}</code>")
            lines.append(f"   {audience_status(a)}")
        if len(group) > SHOWN:
            lines.append(_("   … and {n} more").format(n=len(group) - SHOWN))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("➕ New audience from file"), callback_data=AudienceCb(a="new", id=account.id))
    seeded = {a.source_id for a in lookalike}
    seeds = [a for a in custom if a.ready and a.audience_id not in seeded
             and a.size >= LOOKALIKE_MIN_SOURCE]
    for a in seeds[:LOOKALIKE_BUTTONS]:
        kb.button(text=_("🪞 Make lookalike: {name}").format(name=a.name[:30]),
                  callback_data=AudienceCb(a="lal", id=account.id, aud=a.audience_id))
    if found.audiences:
        kb.button(text=_("🗑 Delete an audience"), callback_data=AudienceCb(a="del", id=account.id))
    kb.button(text=_("🔄 Refresh"), callback_data=AudienceCb(a="list", id=account.id))
    if many_accounts:
        kb.button(text=_("« Ad accounts"), callback_data=AudienceCb(a="pick"))
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def delete_pick(found: AccountAudiences, page: int = 0) -> Screen:
    """Which of the account's audiences to delete (a page of them)."""
    account = found.account
    shown, page, pages = page_of(list(found.audiences), page, PAGE)
    kb = InlineKeyboardBuilder()
    for a in shown:
        kb.button(text=f"🗑 {a.name[:48]}",
                  callback_data=AudienceCb(a="delc", id=account.id, aud=a.audience_id))
    rows = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: AudienceCb(a="del", id=account.id, n=n)):
        rows.append(nav)
    kb.button(text=_("« Back"), callback_data=AudienceCb(a="list", id=account.id))
    rows.append(1)
    kb.adjust(*rows)
    return _("<b>🗑 Delete an audience</b> · {account}\n\nWhich one?").format(
        account=html.quote(account.name)), kb.as_markup()


def confirm_delete(account: AdAccount, audience: Audience) -> Screen:
    """Delete this audience at TikTok?"""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Yes, delete it"),
              callback_data=AudienceCb(a="dely", id=account.id, aud=audience.audience_id))
    kb.button(text=_("« Back"), callback_data=AudienceCb(a="list", id=account.id))
    kb.adjust(1)
    return _("Delete the audience «{name}» ({size}) from the ad account {account} at TikTok? "
             "It cannot be undone; ad groups already running keep their targeting as TikTok "
             "decides.").format(name=html.quote(audience.name), size=audience_status(audience),
                                account=html.quote(account.name)), kb.as_markup()


def deleted(name: str, account_id: int, now: bool) -> Screen:
    """The audience is gone (read back at TikTok), or was already."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("👥 Audiences"), callback_data=AudienceCb(a="list", id=account_id))
    text = (_("✅ Audience «{name}» deleted; TikTok no longer lists it.") if now
            else _("That audience is already deleted.")).format(name=html.quote(name))
    return text, kb.as_markup()


def in_use(templates: list[str], account_id: int) -> Screen:
    """The audience cannot be deleted: saved templates still target it."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Back"), callback_data=AudienceCb(a="list", id=account_id))
    names = ", ".join(f"«{html.quote(n)}»" for n in templates[:10])
    if len(templates) > 10:
        names += _(" and {n} more").format(n=len(templates) - 10)
    return _("This audience is not deleted: your templates {names} still include or exclude "
             "it. Take it out of them first (template → ad group → 👥 Audiences)."
             ).format(names=names), kb.as_markup()


def ask_file(account: AdAccount) -> Screen:
    """What to send for a new audience, and what happens to it."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Back"), callback_data=AudienceCb(a="list", id=account.id))
    return _(
        "<b>New audience</b> · {account}\n\n"
        "Send a CSV or TXT file of your customers' emails or phone numbers (with the country "
        "code, e.g. +44…), one per line or in columns; up to {mb} MB.\n\n"
        "🔒 TTPulse normalises and hashes every line (SHA-256) as it arrives and sends TikTok "
        "only the hashes. The file itself is not saved anywhere."
    ).format(account=html.quote(account.name), mb=MAX_FILE_BYTES // 2**20), kb.as_markup()


def send_file_hint() -> str:
    """Something other than a document while a customer file is expected."""
    return _("Send the customers as a file (CSV or TXT), not as a message.")


def progress(step: str, rows: int) -> str:
    """The progress message while a file becomes an audience."""
    done, todo = "✅", "⏳"
    order = ("hash", "upload", "create")
    at = order.index(step)
    labels = (
        _("Hashed {n} identifiers in memory").format(n=rows) if at > 0 else _("Hashing…"),
        _("Uploading the hashed file to TikTok"),
        _("Creating the audience"),
    )
    return "\n".join(f"{done if i < at else todo} {label}" for i, label in enumerate(labels)
                     if i <= at)


def created(name: str, rows: int, skipped: int, kind: str, account_id: int
            ) -> tuple[str, InlineKeyboardMarkup]:
    """The audience was made: TikTok computes its size over the next hours."""
    if kind == "EMAIL_SHA256":
        made = ngettext("✅ Audience “{name}” created from {n} hashed email.",
                        "✅ Audience “{name}” created from {n} hashed emails.", rows)
    else:
        made = ngettext("✅ Audience “{name}” created from {n} hashed phone number.",
                        "✅ Audience “{name}” created from {n} hashed phone numbers.", rows)
    lines = [made.format(name=html.quote(name), n=_num(rows))]
    if skipped:
        lines.append(ngettext(
            "{n} other line was skipped (not an email or phone number, or repeated).",
            "{n} other lines were skipped (not an email or phone number, or repeated).",
            skipped).format(n=_num(skipped)))
    lines.append(_("TikTok now matches them to its users; size and “Make lookalike” appear "
                   "once it is ready (usually within hours)."))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("👥 Audiences"), callback_data=AudienceCb(a="list", id=account_id))
    return "\n".join(lines), kb.as_markup()


def lookalike_made(made: bool, account_id: int) -> Screen:
    """A lookalike was asked for: made now, or already there."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("👥 Audiences"), callback_data=AudienceCb(a="list", id=account_id))
    text = (_("✅ Lookalike audience created; TikTok computes it over the next hours.") if made
            else _("This audience already has a lookalike."))
    return text, kb.as_markup()


def bad_file(code: str) -> str:
    """Why a customer file cannot be used."""
    texts = {
        "empty": _("The file is empty. Send a CSV or TXT file with one email or phone number "
                   "per line."),
        "too_big": _("The file is too big: up to {mb} MB, please.").format(
            mb=MAX_FILE_BYTES // 2**20),
        "not_text": _("That is not a text file. Send a CSV or TXT file."),
        "no_rows": _("No email addresses or phone numbers were found in the file. Phone "
                     "numbers need their country code (+1…, +44…)."),
    }
    return texts.get(code, texts["no_rows"])


def feature_off() -> Screen:
    """Audiences pressed while the switch is off: where to turn it on."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🧩 Optional features"), callback_data=SettingsCb(action="features"))
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    kb.adjust(1)
    return _("Audiences are off. Turn them on in Settings → Optional features; until then "
             "TTPulse asks TikTok nothing about audiences."), kb.as_markup()


def error(exc: FeatureError) -> str:
    """Why audiences could not be shown or made (an alert)."""
    if exc.code == "reconnect":
        return _("TikTok no longer accepts this connection. Reconnect it under Accounts.")
    if exc.code == "account":
        return _("That ad account is not among yours any more.")
    if exc.code == "audience":
        return _("That audience is not in this ad account any more.")
    if exc.code == "not_ready":
        return _("TikTok is still computing this audience; try again later.")
    if exc.code == "not_deleted":
        return _("TikTok still lists the audience after deleting it; try again in a minute.")
    if exc.code == "too_small":
        return _("A lookalike needs a source of at least {n} people.").format(
            n=LOOKALIKE_MIN_SOURCE)
    return _("TikTok did not answer; try again in a minute.")


def refused(message: str) -> str:
    """TikTok refused the file or the audience: its words."""
    return _("TikTok refused it: {message}").format(message=html.quote(message[:300]))
