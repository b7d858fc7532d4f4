"""Comment screens (issue 17): a new comment under an ad, its actions, and the campaign picker."""

from __future__ import annotations

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.callbacks import CommentCb, SettingsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, page_of, quoted
from storage.models import AdAccount, AdComment, AdObject, CommentBurst

# Telegram allows 4096 characters a message; TikTok 150 a comment. A comment is quoted up to
# 600 (in case TikTok's limit is longer than known) and the ad's name up to 100, so a card
# stays far inside the limit whatever they hold.
TEXT_LIMIT = 600
NAME_LIMIT = 100


def card(c: AdComment, pin: bool = True) -> Screen:
    """One comment: the ad's name, who wrote it, the text, its state, and the actions (Pin /
    Unpin on a visible comment unless `pin` is off: Settings.tiktok_comment_pin)."""
    hidden = c.status == "HIDDEN"
    lines = [
        _("💬 New comment on <b>{ad}</b>").format(ad=quoted(c.ad_name or c.ad_id, NAME_LIMIT)),
        f"<i>{quoted(c.author or '—', 64)}</i>: {quoted(c.content, TEXT_LIMIT)}",
    ]
    if hidden and c.auto_hidden_at is not None:
        lines.append(_("🙈 Hidden automatically: it contains “{word}”. Unhide to undo.").format(
            word=quoted(c.matched or "", 40)))
    elif hidden:
        lines.append(_("🙈 Hidden on TikTok."))
    if c.pinned_at is not None and not hidden:
        lines.append(_("📌 Pinned on TikTok: shown first under the ad."))
    kb = InlineKeyboardBuilder()
    if hidden:
        kb.button(text=_("👁 Unhide"), callback_data=CommentCb(a="unhide", id=c.id))
    else:
        kb.button(text=_("🙈 Hide"), callback_data=CommentCb(a="hide", id=c.id))
    kb.button(text=_("↩️ Reply"), callback_data=CommentCb(a="reply", id=c.id))
    if pin and not hidden:
        if c.pinned_at is not None:
            kb.button(text=_("📍 Unpin"), callback_data=CommentCb(a="unpin", id=c.id))
        else:
            kb.button(text=_("📌 Pin"), callback_data=CommentCb(a="pin", id=c.id))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


def hidden_done(c: AdComment) -> str:
    """The answer after a hide or unhide TikTok confirmed."""
    if c.status == "HIDDEN":
        return _("Hidden on TikTok.")
    return _("Visible again on TikTok.")


def pinned_done(c: AdComment) -> str:
    """The answer after a pin or unpin TikTok confirmed."""
    if c.pinned_at is not None:
        return _("Pinned on TikTok. A comment pinned before on this ad is unpinned.")
    return _("Unpinned on TikTok.")


def pin_refused() -> str:
    """TikTok refused the pin (a hidden comment, or no pinning for ads' comments)."""
    return _("TikTok did not allow pinning this comment. Nothing was changed.")


def pin_off() -> str:
    """Pinning is not offered with this TikTok set-up."""
    return _("Pinning comments is not available through TikTok's API here.")


def not_confirmed() -> str:
    """TikTok took the change but did not show it when read back."""
    return _("TikTok did not confirm the change yet. Try again in a minute.")


def failed() -> str:
    """TikTok refused or did not answer."""
    return _("TikTok did not answer. Nothing was changed; try again later.")


def not_found() -> str:
    """A comment that is not the presser's (or was deleted)."""
    return _("That comment is not among yours (or was deleted).")


def feature_off() -> str:
    """A comment button pressed while the feature is off."""
    return _("Comments are turned off. Turn them on in Settings → Optional features.")


def ask_reply(c: AdComment) -> str:
    """Ask for the reply's text."""
    return _("Send your reply to {author} on <b>{ad}</b> (up to 150 characters), or /cancel.\n"
             "<i>{text}</i>").format(author=quoted(c.author or "—", 64),
                                     ad=quoted(c.ad_name, NAME_LIMIT),
                                     text=quoted(c.content, TEXT_LIMIT))


def reply_too_long(length: int) -> str:
    """A typed reply over TikTok's length: nothing sent, still waiting for it."""
    return _("That reply is {n} characters long; TikTok takes up to 150. Nothing was sent: "
             "send a shorter one, or /cancel.").format(n=length)


def replied(c: AdComment) -> str:
    """The reply went out."""
    return _("↩️ Replied on <b>{ad}</b>.").format(ad=quoted(c.ad_name, NAME_LIMIT))


PICK_PAGE = 20


def picker(campaigns: list[AdObject], accounts: dict[int, AdAccount],
           watched: set[tuple[int, str]], every_minutes: float, page: int = 0) -> Screen:
    """Which campaigns' ads to watch for comments (pulled every `every_minutes`, the
    COMMENTS_PULL_MINUTES setting): a toggle each, 20 a page."""
    kb = InlineKeyboardBuilder()
    shown, page, pages = page_of(campaigns, page, PICK_PAGE)
    if not campaigns:
        text = _("No campaigns synced yet. Connect TikTok and wait for the first sync.")
    else:
        text = _("<b>Comments</b>\n\nPick the campaigns whose ads' new comments come here "
                 "(checked every {minutes} min). ✅ watched · ⬜ not watched.").format(
            minutes=format_decimal(round(every_minutes, 1), locale=get_i18n().current_locale))
    if pages > 1:
        text += f" ({page + 1}/{pages})"
    for camp in shown:
        on = (camp.ad_account_id, camp.object_id) in watched
        account = accounts.get(camp.ad_account_id)
        label = f"{'✅' if on else '⬜'} {camp.name[:40]}"
        if account is not None:
            label += f" · {account.name[:20]}"
        # The page rides in `c` after the campaign id, so a toggle keeps the page in view.
        kb.button(text=label, callback_data=CommentCb(a="watch", id=camp.ad_account_id,
                                                      c=f"{camp.object_id}.{page}"))
    rows = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: CommentCb(a="pick", id=n)):
        rows.append(nav)
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="features"))
    rows.append(1)
    kb.adjust(*rows)
    return text, kb.as_markup()


def words_prompt(words: str) -> Screen:
    """Ask for the words whose comments are hidden automatically."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="features"))
    current = quoted(words.replace(",", ", "), 600) if words else "—"
    return _(
        "<b>Hide words</b>\n\nNow: {words}\n\nSend the words, separated by commas (any "
        "language, e.g. <i>scam, fake, развод</i>). A new comment containing one is hidden on "
        "TikTok at once, and its message here says so with Unhide to undo. Send <i>-</i> to "
        "clear, or /cancel."
    ).format(words=current), kb.as_markup()


def bad_words() -> str:
    """Too many or too long."""
    return _("Up to 30 words of up to 40 characters each, separated by commas. Try again, "
             "or /cancel.")


EXAMPLE_LIMIT = 200


def burst_alert(burst: CommentBurst, rows: list[AdComment], examples: int = 3) -> Screen:
    """A burst of negative comments under one ad: the ad, how many, a few examples, and Hide
    all (or, once hidden, Undo)."""
    lines = [_("😡 <b>{n} negative comments</b> within an hour on <b>{ad}</b>").format(
        n=burst.count, ad=quoted(burst.ad_name or burst.ad_id, NAME_LIMIT))]
    for c in rows[:examples]:
        lines.append(f"• <i>{quoted(c.author or '—', 64)}</i>: {quoted(c.content, EXAMPLE_LIMIT)}")
    if len(rows) > examples:
        lines.append(_("…and {n} more").format(n=len(rows) - examples))
    kb = InlineKeyboardBuilder()
    if burst.hidden_at is not None:
        hidden = sum(1 for c in rows if c.status == "HIDDEN")
        lines.append("")
        lines.append(_("🙈 Hidden on TikTok: {n}. Each is in the activity log; Undo shows them "
                       "again.").format(n=hidden))
        kb.button(text=_("↩️ Undo"), callback_data=CommentCb(a="bundo", id=burst.id))
    else:
        public = sum(1 for c in rows if c.status != "HIDDEN")
        if public:
            kb.button(text=_("🙈 Hide all {n}").format(n=public),
                      callback_data=CommentCb(a="bhide", id=burst.id))
    return "\n".join(lines), kb.as_markup()


def hidden_done_all(hidden: bool) -> str:
    """The answer after Hide all or its Undo."""
    return _("Hidden on TikTok.") if hidden else _("Visible again on TikTok.")


def burst_busy() -> str:
    """A repeated tap on Hide all / Undo."""
    return _("Already done.")


def negative_prompt(words: str, threshold: int, choices: tuple[int, ...]) -> Screen:
    """Ask for the negative words; the threshold as buttons."""
    kb = InlineKeyboardBuilder()
    for n in choices:
        label = f"✅ {n}" if n == threshold else str(n)
        kb.button(text=label, callback_data=CommentCb(a="thr", id=n))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="features"))
    kb.adjust(len(choices), 1)
    current = quoted(words.replace(",", ", "), 600) if words else "—"
    return _(
        "<b>Negative words</b>\n\nNow: {words}\nAlert from <b>{n}</b> such comments within "
        "an hour under one ad (pick below).\n\nSend the words, separated by commas (any "
        "language, e.g. <i>scam, refund, развод</i>). When a burst comes you get one message "
        "with examples and a button to hide them all. Send <i>-</i> to clear, or /cancel."
    ).format(words=current, n=threshold), kb.as_markup()
