"""A tracker's card, its edit screens, disconnect, and Push now / Pull now progress."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TrackerCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views import limits as limits_view
from bot.views.common import zone_label
from bot.views.integrations.common import (
    TrackerLike,
    back_to_list,
    back_to_tracker,
    reason_text,
    status_line,
    tracker_title,
    when,
)
from bot.views.integrations.overview import TrackerRow
from bot.views.integrations.wizard import currency_buttons, zone_buttons
from core.billing.limits import TRACKERS
from core.billing.plans import Plan
from core.timezones import COMMON

EDIT_FIELDS = ("name", "url", "key", "tz", "cur", "pct")


def card(row: TrackerRow, links: int, user_tz: str, now: datetime,
         plan: Plan | None = None) -> Screen:
    """Everything about one tracker, and what can be done with it. One a plan paused says so
    (`plan`: the owner's) and offers Resume (if the plan allows it) and ⭐ Upgrade instead of
    Push now / Pull now."""
    t = row.tracker
    held = t.status != "disconnected" and getattr(t, "plan_paused_at", None) is not None
    lines = [
        tracker_title(t),
        limits_view.paused_mark(plan, TRACKERS) if held and plan is not None
        else status_line(t, user_tz),
        "",
        _("URL: {url}").format(url=f"<code>{html.quote(t.url[:300])}</code>"),
        _("API key: {key}").format(
            key=_("•••••• (hidden)") if t.status != "disconnected" else _("deleted")
        ),
        _("Time zone: {zone} · currency: {currency}").format(
            zone=zone_label(t.time_zone, now), currency=html.quote(t.currency)
        ),
        _("Discrepancy alert beyond {pct}%").format(pct=t.discrepancy_pct),
        _("Mapped TikTok campaigns: {count}").format(count=links),
        _("Costs pushed: {push} · revenue pulled: {pull}").format(
            push=when(row.last_push, user_tz), pull=when(row.last_pull, user_tz)
        ),
    ]
    kb = InlineKeyboardBuilder()
    if t.status == "disconnected":
        back_to_list(kb)
        return "\n".join(lines), kb.as_markup()
    kb.button(text=_("🧭 Mapping"), callback_data=TrackerCb(a="map", id=t.id))
    if held:
        kb.button(text=_("▶️ Resume"), callback_data=TrackerCb(a="resume", id=t.id))
        limits_view.upgrade_button(kb)
    else:
        kb.button(text=_("📤 Push now"), callback_data=TrackerCb(a="push", id=t.id))
        kb.button(text=_("📥 Pull now"), callback_data=TrackerCb(a="pull", id=t.id))
    kb.button(text=_("📜 Push log"), callback_data=TrackerCb(a="log", id=t.id))
    kb.button(text=_("✏️ Edit"), callback_data=TrackerCb(a="ed", id=t.id))
    kb.button(text=_("🔌 Disconnect"), callback_data=TrackerCb(a="dc", id=t.id))
    back_to_list(kb)
    kb.adjust(1, 2, 1, 2, 1)
    return "\n".join(lines), kb.as_markup()


def edit_menu(t: TrackerLike) -> Screen:
    """Which setting to change."""
    labels = {
        "name": _("Name"),
        "url": _("URL"),
        "key": _("API key"),
        "tz": _("Time zone"),
        "cur": _("Currency"),
        "pct": _("Discrepancy threshold %"),
    }
    kb = InlineKeyboardBuilder()
    for field in EDIT_FIELDS:
        kb.button(text=labels[field], callback_data=TrackerCb(a="ef", id=t.id, v=field))
    back_to_tracker(kb, t.id)
    kb.adjust(2, 2, 2, 1)
    return _("✏️ {title}: what to change? A new URL or key is tested before it is saved.").format(
        title=tracker_title(t)
    ), kb.as_markup()


def ask_field(t: TrackerLike, field: str, now: datetime) -> Screen:
    """The prompt for one setting (buttons for zone and currency, typing for the rest)."""
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    if field == "tz":
        zone_buttons(kb, "etz", now, t.id)
        sizes += [2] * (len(COMMON) // 2)
    elif field == "cur":
        currency_buttons(kb, "ecur", t.id)
        sizes += [3, 3, 3]
    kb.button(text=_("« Back"), callback_data=TrackerCb(a="ed", id=t.id))
    kb.adjust(*sizes, 1)
    prompts = {
        "name": _("Send a new name for the tracker (up to 60 characters)."),
        "url": _("Send the new URL. I test it with the stored key before saving."),
        "key": _("Send the new API key. I delete your message at once and test the key before "
                 "saving."),
        "tz": _("Pick the tracker's time zone, or type a city or an offset (e.g. UTC+3)."),
        "cur": _("Pick the tracker's currency, or type its three-letter code."),
        "pct": _("Send the discrepancy threshold in percent (1 to 100): an alert comes when "
                 "TikTok's and the tracker's clicks or conversions differ by more."),
    }
    return tracker_title(t) + "\n\n" + prompts[field], kb.as_markup()


def bad_value(field: str) -> str:
    """A typed setting that cannot be used."""
    return {
        "name": _("The name must be 1 to 60 characters. Try again, or /cancel."),
        "pct": _("Send a whole number from 1 to 100. Try again, or /cancel."),
        "tz": _("I don't recognise that time zone. Type a city such as <i>Berlin</i>, an offset "
                "such as <i>UTC+3</i>, or /cancel."),
        "cur": _("That is not a currency code. Send three letters, like <code>USD</code>."),
    }.get(field, _("That value cannot be used. Try again, or /cancel."))


def edited(t: TrackerLike) -> str:
    """A setting was changed."""
    return _("✅ Saved: {title}.").format(title=tracker_title(t))


def edit_failed(reason: str, detail: str = "") -> str:
    """A new URL or key failed its test: nothing changed."""
    return (_("❌ Not saved: the test with the new value failed.") + "\n\n"
            + reason_text(reason, detail) + "\n\n" + _("The tracker keeps its old settings."))


def confirm_disconnect(t: TrackerLike) -> Screen:
    """Ask before disconnecting."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, disconnect"), callback_data=TrackerCb(a="dcy", id=t.id))
    kb.button(text=_("Cancel"), callback_data=TrackerCb(a="tr", id=t.id))
    kb.adjust(2)
    return _(
        "Disconnect {title}? TTPulse deletes its API key now, stops pushing costs and pulling "
        "revenue, and deletes the data pulled from it within 7 days."
    ).format(title=tracker_title(t)), kb.as_markup()


def disconnected(t: TrackerLike, purge_at: datetime | None, user_tz: str) -> Screen:
    """Disconnect done."""
    kb = InlineKeyboardBuilder()
    back_to_list(kb)
    date = (purge_at.astimezone(ZoneInfo(user_tz)).strftime("%d.%m.%Y") if purge_at
            else _("within 7 days"))
    return _(
        "🔌 {title} is disconnected. Its API key is deleted; the data pulled from it will be "
        "deleted by {date}."
    ).format(title=tracker_title(t), date=date), kb.as_markup()


def working(what: str, t: TrackerLike, done: int, total: int) -> str:
    """Push now / Pull now progress: a bar in one edited message."""
    head = (_("📤 Pushing costs to {title}…") if what == "push"
            else _("📥 Pulling revenue from {title}…")).format(title=tracker_title(t))
    filled = done * 10 // max(total, 1)
    return f"{head}\n{'▓' * filled}{'░' * (10 - filled)} {done * 100 // max(total, 1)}%"


def busy(t: TrackerLike) -> str:
    """Another worker is pushing or pulling this tracker right now."""
    return _("{title} is being synced right now; try again in a minute.").format(
        title=tracker_title(t)
    )


def failed(what: str, t: TrackerLike, reason: str, detail: str = "") -> Screen:
    """Push or pull stopped on a tracker failure; it is retried on schedule."""
    kb = InlineKeyboardBuilder()
    back_to_tracker(kb, t.id)
    head = (_("❌ Push to {title} failed.") if what == "push"
            else _("❌ Pull from {title} failed.")).format(title=tracker_title(t))
    return (head + "\n\n" + reason_text(reason, detail) + "\n\n"
            + _("Nothing is lost: it is retried on the next schedule.")), kb.as_markup()


def pushed(sent: int, accepted: int, rejected: int, refused: int) -> str:
    """How Push now went (details per day are in the push log)."""
    if sent == 0 and refused == 0:
        return _("📤 Nothing to push: no mapped campaign spent in the days pushed.")
    text = _("📤 Costs pushed: {accepted} accepted, {rejected} refused by the tracker.").format(
        accepted=accepted, rejected=rejected)
    if refused:
        text += "\n" + _("⚠️ {count} not sent (currency rate, time zone or mapping problem) — "
                         "see the push log.").format(count=refused)
    return text


def pulled(rows: int, unmapped: int, unread: Sequence[str] = ()) -> str:
    """How Pull now went (`unread`: why some ad accounts' days could not be read)."""
    text = _("📥 Revenue pulled: {rows} rows.").format(rows=rows)
    if unmapped:
        text += "\n" + _("⚠️ {count} rows carry ids matching no synced TikTok object: shown as "
                         "unmapped revenue in Mapping.").format(count=unmapped)
    for why in unread[:5]:
        text += "\n" + _("⚠️ Not read, the other accounts were: {why}").format(
            why=html.quote(why[:200]))
    return text
