"""Identity screens: pick an ad account, its identities, creating a custom one."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AccountsCb, IdentityCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, page_of
from core.feature_access import AccountNotFound, FeatureError, NeedsReconnect
from core.identities import (
    DISPLAY_NAME_MAX,
    AccountIdentities,
    BadAvatar,
    BadDisplayName,
    TikTokRefused,
)
from core.tiktok import Identity
from storage.models import AdAccount

PAGE = 8
SHOWN = 20  # identities listed in one message: 20 lines of at most ~150 characters < 4096


def type_label(identity_type: str | None) -> str:
    """What an identity type means (spec §6.1)."""
    return {
        "CUSTOMIZED_USER": _("custom"),
        "TT_USER": _("TikTok account"),
        "BC_AUTH_TT": _("TikTok account via Business Center"),
        "AUTH_CODE": _("authorized TikTok post"),
    }.get(identity_type or "", identity_type or "?")


def pick_account(accounts: list[AdAccount], page: int = 0) -> Screen:
    """Which ad account's identities to see."""
    shown, page, pages = page_of(accounts, page, PAGE)
    kb = InlineKeyboardBuilder()
    for acc in shown:
        kb.button(
            text=acc.name[:40] or acc.advertiser_id, callback_data=IdentityCb(a="list", id=acc.id)
        )
    rows = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: IdentityCb(a="pick", n=n)):
        rows.append(nav)
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    rows.append(1)
    kb.adjust(*rows)
    text = _(
        "<b>🪪 Identities</b>\n\nAn identity is the name and avatar your ads show as their "
        "author. Choose an ad account:"
    )
    return text, kb.as_markup()


def identity_list(found: AccountIdentities, many_accounts: bool) -> Screen:
    """An ad account's identities, custom ones first."""
    acc = found.account
    lines = [
        _("<b>🪪 Identities</b> · {account}").format(account=html.quote(acc.name)),
        "",
    ]
    if not found.identities:
        lines.append(_("This ad account has no identities yet."))
    for ident in found.identities[:SHOWN]:
        status = ""
        if ident.available_status and ident.available_status != "AVAILABLE":
            status = f" · ⚠️ {html.quote(ident.available_status)}"
        lines.append(
            f"• <b>{html.quote((ident.display_name or '—')[:60])}</b>"
            f" — {type_label(ident.identity_type)}"
            f" · <code>{html.quote(ident.identity_id)}</code>{status}"
        )
    if len(found.identities) > SHOWN:
        lines.append(_("…and {count} more.").format(count=len(found.identities) - SHOWN))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("➕ New identity"), callback_data=IdentityCb(a="new", id=acc.id))
    if many_accounts:
        kb.button(text=_("« Ad accounts"), callback_data=IdentityCb(a="pick"))
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def ask_name(account: AdAccount) -> Screen:
    """Step 1 of a new identity."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Cancel"), callback_data=IdentityCb(a="list", id=account.id))
    return _(
        "<b>New identity</b> for {account}\n\nSend the display name your ads will show (up to "
        "{max} characters, no emoji)."
    ).format(account=html.quote(account.name), max=DISPLAY_NAME_MAX), kb.as_markup()


def ask_avatar(account_id: int, name: str) -> Screen:
    """Step 2: the avatar, or none."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Skip: TikTok's default avatar"), callback_data=IdentityCb(a="skip", id=account_id)
    )
    kb.button(text=_("Cancel"), callback_data=IdentityCb(a="list", id=account_id))
    kb.adjust(1)
    return _(
        "Display name: <b>{name}</b>\n\nNow send the avatar: a photo or an image file. It is cut "
        "to a centred square, as TikTok wants."
    ).format(name=html.quote(name)), kb.as_markup()


def avatar_hint() -> str:
    """Typed text where the avatar is expected."""
    return _("Send the avatar as a photo or an image file, or press Skip.")


def creating() -> str:
    """While the avatar uploads and the identity is created."""
    return _("⏳ Creating the identity at TikTok…")


def created(identity: Identity) -> str:
    """Done."""
    return _("✅ Identity <b>{name}</b> created (id <code>{id}</code>).").format(
        name=html.quote(identity.display_name or ""), id=html.quote(identity.identity_id)
    )


def not_found() -> str:
    """A button for an ad account that is not the presser's (the Accounts wording)."""
    return _("That account is not among yours (or was disconnected).")


def too_big() -> str:
    """An avatar over the Bot API's 20 MB download limit."""
    return _("That image is over 20 MB, more than Telegram lets bots download. Send a smaller one.")


def download_failed() -> str:
    """Telegram did not hand the avatar over."""
    return _("Telegram did not hand the file over. Please send it again.")


def error(exc: FeatureError) -> str:
    """Why the identities could not be read or one not created."""
    if isinstance(exc, AccountNotFound):
        return not_found()
    if isinstance(exc, NeedsReconnect):
        return _("TikTok no longer accepts this connection. Reconnect it in 📊 Accounts.")
    if isinstance(exc, BadDisplayName):
        return {
            "empty": _("The display name is empty. Send one."),
            "too_long": _("That is longer than {max} characters. Send a shorter name.").format(
                max=DISPLAY_NAME_MAX
            ),
            "emoji": _("TikTok does not take emoji in names. Send the name without them."),
        }.get(exc.detail, _("Send another name."))
    if isinstance(exc, BadAvatar):
        if exc.detail == "too_large":
            return _("That image is too large. Send a smaller one.")
        return _("That is not an image I can read. Send a JPG or PNG photo, or press Skip.")
    if isinstance(exc, TikTokRefused):
        return _("TikTok refused: {message}").format(message=html.quote(exc.detail))
    return _("That did not work. Please try again.")
