"""The privacy policy, generated from the data inventory (storage/inventory.py), with the dates
that apply to the reader now; the pause screens; the activity list; news messages.

Every inventory enum value has its wording here (tests/unit/test_privacy_policy.py fails when a
new Category, Purpose, Basis or Retention has none), so the policy can never silently omit what
a new table keeps."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import format_date

from bot.callbacks import MenuCb, NewsCb, PrivacyCb, SettingsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import local_when, zone_label
from core.privacy.rights import ActivityPage, PendingPurge
from storage.inventory import (
    ACCOUNT_DAYS,
    CONNECTION_DAYS,
    LAW_YEARS,
    TABLES,
    Basis,
    Category,
    Purpose,
    Retention,
)
from storage.models import AuditEntry, User

PAGE_CHARS = 3800  # a policy page's HTML, under Telegram's 4096 with room for the page header
LOG_DAYS = 30  # how long we ask the operator's log sink to keep service logs (README, Operations)

CATEGORY_NAMES = {
    Category.IDENTITY: __("Who you are"),
    Category.CONTACT: __("Contact"),
    Category.CONSENT: __("Your consents"),
    Category.PREFERENCES: __("Preferences"),
    Category.CREDENTIALS: __("Access keys"),
    Category.AD_DATA: __("TikTok ad data"),
    Category.TRACKER_DATA: __("Tracker data"),
    Category.AUTOMATION: __("Automation"),
    Category.BILLING: __("Payments"),
    Category.SUPPORT: __("Support"),
    Category.AUDIT: __("Activity log"),
    Category.TECHNICAL: __("Technical records"),
}

CATEGORY_WHAT = {
    Category.IDENTITY: __(
        "Your Telegram id, first and last name and username as Telegram gives them, and the "
        "link parameter you came with, if any."
    ),
    Category.CONTACT: __("Your email address, if you gave one."),
    Category.CONSENT: __(
        "Your age confirmation, your acceptance of the Terms of Use and of this policy (with "
        "its version), and your news consent — each with its time."
    ),
    Category.PREFERENCES: __(
        "Language, time zone, quiet hours, whether your account is paused, and the currency "
        "rates you set for trackers."
    ),
    Category.CREDENTIALS: __(
        "TikTok access tokens and tracker API keys, encrypted at rest and never shown back."
    ),
    Category.AD_DATA: __(
        "Your TikTok ad accounts; their campaigns, ad groups and ads with budgets, bids and "
        "statuses; their statistics by day and by hour; creatives uploaded to them."
    ),
    Category.TRACKER_DATA: __(
        "Your tracker connections (address, time zone, currency), the campaign mapping, the "
        "clicks, conversions and revenue pulled, and a log of the spend pushed."
    ),
    Category.AUTOMATION: __(
        "Your rules with their runs and actions (values before and after), templates, "
        "launches, and creatives (name, size, checksum, a thumbnail; files stay on Telegram)."
    ),
    Category.BILLING: __("Payments in Telegram Stars: amount, time and Telegram's charge id."),
    Category.SUPPORT: __("Your support tickets and the messages in them."),
    Category.AUDIT: __("Who changed what through TTPulse, and when; security events."),
    Category.TECHNICAL: __(
        "Delivery state of messages, the step of a flow in progress, background job "
        "bookkeeping, and your export and deletion requests."
    ),
}

PURPOSES = {
    Purpose.ACCOUNT: __("to know who you are and talk to you in your language and time zone"),
    Purpose.MARKETING: __("to send you news, only with your consent"),
    Purpose.TIKTOK: __("to show and automate your connected TikTok ad accounts"),
    Purpose.TRACKERS: __("to pass spend to your trackers and read revenue back"),
    Purpose.AUTOMATION: __("to run your rules, templates and launches"),
    Purpose.ALERTS: __("to deliver your alerts and digests"),
    Purpose.BILLING: __("to charge for plans and keep the records the law asks for"),
    Purpose.SUPPORT: __("to answer your requests"),
    Purpose.SECURITY: __("to trace every change and show you your activity"),
    Purpose.OPERATION: __("to run background work exactly once and resume it after a failure"),
}

BASES = {
    Basis.CONTRACT: __("needed to provide the service you signed up for (contract)"),
    Basis.CONSENT: __("your consent"),
    Basis.LEGAL_OBLIGATION: __("a legal obligation (tax and accounting law)"),
    Basis.LEGITIMATE_INTEREST: __("our legitimate interest in security and fraud prevention"),
}


def retention_text(retention: Retention) -> str:
    """How long data under this retention is kept, with the inventory's numbers."""
    return {
        Retention.ACCOUNT: _(
            "while your account exists; deleted or anonymised within {days} days after you "
            "delete it"
        ).format(days=ACCOUNT_DAYS),
        Retention.CONNECTION: _(
            "deleted within {days} days after you disconnect it, access is revoked (also on "
            "TikTok's side), or you delete your account"
        ).format(days=CONNECTION_DAYS),
        Retention.SHORT: _("only while in use; deleted at the latest with your account"),
        Retention.LAW: _(
            "kept {years} years, as accounting law requires; your identity is replaced by a "
            "pseudonym when you delete your account"
        ).format(years=LAW_YEARS),
        Retention.AUDIT: _(
            "kept for traceability; your identity is replaced by a pseudonym when you delete "
            "your account"
        ),
    }[retention]


def _category_block(category: Category) -> str | None:
    """One category: what, why, on what basis, how long (the union over the tables holding it)."""
    purposes: list[Purpose] = []
    bases: list[Basis] = []
    retentions: list[Retention] = []
    for table in TABLES.values():
        if any(c.category is category for c in table.columns.values()):
            for seen, value in ((purposes, table.purpose), (bases, table.basis),
                                (retentions, table.retention)):
                if value not in seen:
                    seen.append(value)  # type: ignore[arg-type]
    if not purposes:
        return None
    order = list(Retention)
    retentions.sort(key=order.index)
    return "\n".join([
        f"<b>{CATEGORY_NAMES[category]}</b>",
        str(CATEGORY_WHAT[category]),
        _("Why: {value}.").format(value=_listed([str(PURPOSES[p]) for p in purposes])),
        _("Legal basis: {value}.").format(value=_listed([str(BASES[b]) for b in bases])),
        _("How long: {value}.").format(value=_listed([retention_text(r) for r in retentions])),
    ]).replace(" \n", "\n")


def _listed(items: list[str]) -> str:
    """One item inline; several as dashed lines (the items hold semicolons of their own)."""
    if len(items) == 1:
        return items[0]
    return "".join(f"\n  – {item}" for item in items)


def _blocks(for_you: str | None) -> list[str]:
    """The policy's sections in order; a user's "For you now" block first."""
    blocks = [
        _(
            "<b>TTPulse Privacy Policy</b>\n\n"
            "This is everything TTPulse keeps, why, on what legal basis and for how long — "
            "generated from the same data inventory that drives export and deletion, so it "
            "cannot fall behind the service. We do not sell your data. TikTok receives only the "
            "calls you make through TTPulse, your trackers the spend you push, and Telegram "
            "delivers the messages."
        )
    ]
    if for_you is not None:
        blocks.append(for_you)
    blocks.extend(b for c in Category if (b := _category_block(c)) is not None)
    blocks.append(
        _(
            "<b>Your rights and how to use them</b>\n"
            "• Access: /mydata shows what we hold about you.\n"
            "• Portability: /export sends it all in a structured, machine-readable format "
            "(JSON), with your statistics as CSV.\n"
            "• Rectification: /settings changes your email, language, time zone, quiet hours "
            "and news consent; your name and username follow your Telegram profile. Every "
            "change is logged.\n"
            "• Erasure: /delete_account. TikTok tokens and ad data go within {conn} days, the "
            "rest is deleted or anonymised within {acct} days, except billing and anti-fraud "
            "records.\n"
            "• Restriction and objection: /settings → ⏸ Pause my account stops all syncs, rules "
            "and alerts without deleting anything, until you resume.\n"
            "• Consent: news only if you opted in; withdraw it in /settings or with 🔕 "
            "Unsubscribe under any news message — as easily as you gave it.\n"
            "• Anything else, or a deletion request through a person: /support."
        ).format(conn=CONNECTION_DAYS, acct=ACCOUNT_DAYS)
    )
    blocks.append(
        _(
            "<b>Minors</b>\n"
            "TTPulse is for people aged 18 and over. We do not knowingly collect data from "
            "minors; an account we learn belongs to a minor is deleted."
        )
    )
    blocks.append(
        _(
            "<b>Security and logs</b>\n"
            "Tokens and keys are encrypted at rest. The activity log records connections, "
            "disconnections, keys, exports, deletion requests and consent changes (🕒 Activity "
            "shows yours). Service logs carry ids only — never names, usernames, emails or "
            "what you write — and are kept {days} days."
        ).format(days=LOG_DAYS)
    )
    return blocks


def _date(moment: datetime, zone: str) -> str:
    """`9 December` in the reader's language, the day as in `zone`."""
    return format_date(
        moment.astimezone(ZoneInfo(zone)).date(), "d MMMM", locale=get_i18n().current_locale
    )


def purge_line(p: PendingPurge, zone: str, now: datetime) -> str:
    """One thing the user disconnected and when its data goes."""
    name = html.quote(p.name if len(p.name) <= NAME_CHARS else p.name[: NAME_CHARS - 1] + "…")
    if p.purge_after <= now:
        return {
            "ad_account": _("• Ad account «{name}»: its data is being deleted now."),
            "connection": _("• TikTok login «{name}»: its data is being deleted now."),
            "tracker": _("• Tracker «{name}»: its data is being deleted now."),
        }[p.kind].format(name=name)
    days = round((p.purge_after - (p.since or now)).total_seconds() / 86400)
    after = {
        "disconnected": _("{days} days after you disconnected it"),
        "revoked": _("{days} days after TikTok stopped accepting your login"),
        "lost": _("{days} days after your TikTok login lost access to it"),
    }[p.cause].format(days=days)
    return {
        "ad_account": _("• Ad account «{name}»: its data is deleted on {date}, {after}."),
        "connection": _("• TikTok login «{name}»: its data is deleted on {date}, {after}."),
        "tracker": _("• Tracker «{name}»: its data is deleted on {date}, {after}."),
    }[p.kind].format(name=name, date=_date(p.purge_after, zone), after=after)


NAME_CHARS = 64  # a name longer than this is cut (every line stays far under a page)
MAX_PURGE_LINES = 25  # beyond this the list says how many more (the page must stay one page)


def for_you_now(user: User, purges: list[PendingPurge], now: datetime) -> str:
    """The dates and states that apply to this user now (dates in their time zone)."""
    lines = [_("<b>For you now</b>")]
    if user.paused_at is not None:
        lines.append(_("• Your account is paused since {date}: no syncs, rules or alerts.")
                     .format(date=local_when(user.paused_at, user.time_zone)))
    lines.append(_("• News: {state}.").format(
        state=_("you agreed to receive them") if user.marketing_opt_in else _("off")))
    if purges:
        lines.extend(purge_line(p, user.time_zone, now) for p in purges[:MAX_PURGE_LINES])
        if len(purges) > MAX_PURGE_LINES:
            lines.append(_("• …and {count} more.").format(count=len(purges) - MAX_PURGE_LINES))
    else:
        lines.append(_("• Nothing you disconnected is waiting for deletion."))
    return "\n".join(lines)


def policy_pages(user: User | None, purges: list[PendingPurge], now: datetime) -> list[str]:
    """The policy cut into pages of at most PAGE_CHARS, whole sections per page."""
    pages: list[str] = []
    for block in _pieces(_blocks(for_you_now(user, purges, now) if user is not None else None)):
        if pages and len(pages[-1]) + 2 + len(block) <= PAGE_CHARS:
            pages[-1] += "\n\n" + block
        else:
            pages.append(block)
    return pages


def _pieces(blocks: list[str]) -> list[str]:
    """Blocks longer than a page (a long "For you now") cut at line ends."""
    out: list[str] = []
    for block in blocks:
        piece = ""
        for line in block.split("\n"):
            if piece and len(piece) + 1 + len(line) > PAGE_CHARS:
                out.append(piece)
                piece = line
            else:
                piece = f"{piece}\n{line}" if piece else line
        out.append(piece)
    return out


def policy_text() -> str:
    """The general policy (no personal dates) as one text: the web page sign-up links to."""
    return "\n\n".join(_blocks(None))


def policy_page(
    user: User | None, purges: list[PendingPurge], now: datetime, page: int
) -> Screen:
    """One page of the policy with ‹ › and, for a signed-up user, Activity and Settings."""
    pages = policy_pages(user, purges, now)
    page = min(max(page, 0), len(pages) - 1)
    text = pages[page]
    if len(pages) > 1:
        text = _("Page {n} of {total}").format(n=page + 1, total=len(pages)) + "\n\n" + text
    kb = InlineKeyboardBuilder()
    row = []
    for label, other in (("‹", page - 1), ("›", page + 1)):
        if 0 <= other < len(pages):
            kb.button(text=label, callback_data=PrivacyCb(a="page", n=other))
            row.append(1)
    if user is not None:
        kb.button(text=_("🕒 Activity"), callback_data=PrivacyCb(a="activity"))
        kb.button(text=_("⚙️ Settings"), callback_data=SettingsCb(action="show"))
    kb.adjust(*([len(row)] if row else []), 2)
    return text, kb.as_markup() if list(kb.buttons) else None


# Pause / resume --------------------------------------------------------------------------


def pause_confirm() -> Screen:
    """What pausing does, before it is done."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("⏸ Pause my account"), callback_data=PrivacyCb(a="pause_ok"))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    kb.adjust(1)
    return _(
        "<b>Pause your account?</b>\n\n"
        "While paused, TTPulse does nothing on its own for you:\n"
        "• no TikTok syncs and no tracker pushes or pulls;\n"
        "• no rules run, and ads a rule paused \"for today\" stay paused;\n"
        "• no alerts or news (those still waiting when you resume are sent if they are under "
        "3 days old).\n\n"
        "Nothing is deleted: your connections, rules and data stay as they are, and what you "
        "do yourself (Refresh, manual changes, launches, /export) still works. Resume any "
        "time in /settings."
    ), kb.as_markup()


def paused_done(user: User) -> Screen:
    """Confirmation after pausing."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("▶ Resume"), callback_data=PrivacyCb(a="resume"))
    kb.button(text=_("⚙️ Settings"), callback_data=SettingsCb(action="show"))
    kb.adjust(1)
    return _(
        "⏸ <b>Your account is paused</b> since {date}. No syncs, rules or alerts until you "
        "resume."
    ).format(date=local_when(user.paused_at, user.time_zone)), kb.as_markup()


def resume_confirm(user: User) -> Screen:
    """What resuming does, before it is done."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("▶ Resume"), callback_data=PrivacyCb(a="resume_ok"))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    kb.adjust(1)
    return _(
        "<b>Resume your account?</b>\n\n"
        "Paused since {date}. Syncs, rules and tracker runs start again on their next "
        "schedule, and alerts go out again (those that waited more than 3 days are dropped)."
    ).format(date=local_when(user.paused_at, user.time_zone)), kb.as_markup()


def run_while_paused() -> str:
    """"Run now" on a paused account."""
    return _("Your account is paused: rules do not run. Resume it in /settings first.")


def resumed_done() -> str:
    """Confirmation after resuming (shown above the settings)."""
    return _("▶ Your account is active again.")


# Activity ---------------------------------------------------------------------------------


def activity_label(entry: AuditEntry) -> str:
    """An audit action in the reader's language (unknown privacy.* etc.: the action itself)."""
    labels = {
        "user.registered": _("Signed up"),
        "user.email": _("Email changed"),
        "user.marketing": _("News consent changed"),
        "tiktok.connected": _("TikTok connected"),
        "tiktok.reconnected": _("TikTok reconnected"),
        "tiktok.disconnected": _("TikTok disconnected"),
        "tiktok.revoked": _("TikTok stopped accepting your login"),
        "tiktok.purged": _("TikTok data deleted"),
        "tracker.connected": _("Tracker connected (key stored)"),
        "tracker.edited": _("Tracker changed"),
        "tracker.disconnected": _("Tracker disconnected (key deleted)"),
        "tracker.purged": _("Tracker data deleted"),
        "web.google_linked": _("Google account linked for web sign-in"),
        "web.google_unlinked": _("Google account unlinked from web sign-in"),
        "plan.applied": _("Plan limits applied (what is over them paused, never deleted)"),
        "privacy.paused": _("Account paused"),
        "privacy.resumed": _("Account resumed"),
        "privacy.export_requested": _("Data export requested"),
        "privacy.export_sent": _("Data export sent"),
        "privacy.export_downloaded": _("Data export downloaded by its link"),
        "privacy.erasure_requested": _("Account deletion requested"),
        "billing.paid": _("Payment received"),
        "billing.refunded": _("Payment refunded"),
        "billing.renewal_canceled": _("Subscription renewal cancelled"),
        "billing.renewal_allowed": _("Subscription renewal allowed again"),
        "billing.subscription_canceled": _("Subscription cancelled in Telegram"),
        "billing.subscription_active": _("Subscription renewal switched on in Telegram"),
        "billing.subscription_failed": _("Subscription renewal payment failed"),
    }
    label = labels.get(entry.action)
    if label is None:
        return html.quote(entry.action)
    details = entry.details or {}
    if entry.action == "user.marketing":
        after = (details.get("after") or {}).get("marketing_opt_in")
        label = _("News consent given") if after == "True" else _("News consent withdrawn")
    elif entry.action == "tracker.edited" and details.get("api_key"):
        label = _("Tracker API key replaced")
    return label


def activity(page: ActivityPage, zone: str, now: datetime) -> Screen:
    """The user's security-relevant events, newest first, times in their zone."""
    lines = [
        _("<b>🕒 Activity</b>"),
        _("Times in your time zone: {zone}.").format(zone=zone_label(zone, now)),
        "",
    ]
    if not page.entries:
        lines.append(_("Nothing yet."))
    for entry in page.entries:
        lines.append(f"{local_when(entry.created_at, zone)} — {activity_label(entry)}")
    if page.pages > 1:
        lines += ["", _("Page {n} of {total}").format(n=page.page + 1, total=page.pages)]
    kb = InlineKeyboardBuilder()
    arrows = 0
    for label, other in (("‹", page.page - 1), ("›", page.page + 1)):
        if 0 <= other < page.pages:
            kb.button(text=label, callback_data=PrivacyCb(a="activity", n=other))
            arrows += 1
    kb.button(text=_("🔒 Privacy"), callback_data=PrivacyCb(a="page"))
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(*([arrows] if arrows else []), 2)
    return "\n".join(lines), kb.as_markup()


# News -------------------------------------------------------------------------------------


def news(text: str, user_id: int) -> Screen:
    """A news message (the operator's text, escaped) with its one-tap Unsubscribe."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔕 Unsubscribe"), callback_data=NewsCb(a="unsub", u=user_id))
    footer = _("You get this because you agreed to receive news from TTPulse.")
    return f"{html.quote(text)}\n\n<i>{footer}</i>", kb.as_markup()


def unsubscribed(was_on: bool) -> str:
    """After 🔕: consent is withdrawn (or already was)."""
    if not was_on:
        return _("🔕 You were already unsubscribed from news.")
    return _(
        "🔕 Done: you will get no more news from TTPulse. Alerts about your accounts are not "
        "affected. You can opt in again in /settings."
    )


def not_your_button() -> str:
    """Someone else's Unsubscribe."""
    return _("This button belongs to someone else's message.")


def operators_only() -> str:
    """/broadcast from someone who is not an operator."""
    return _("Only TTPulse operators can send news.")


def broadcast_usage() -> str:
    """/broadcast without text."""
    return _(
        "Send <code>/broadcast your text</code>: you see a preview first, then it goes to every "
        "user who agreed to receive news (not paused), each with an Unsubscribe button. "
        "Service notices to everyone: /admin → Broadcasts."
    )
