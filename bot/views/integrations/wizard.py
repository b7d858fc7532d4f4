"""Add tracker: kind → URL → API key → time zone → currency → Test connection → Save."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TrackerCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import zone_label
from bot.views.integrations.common import (
    CURRENCIES,
    KIND_NAMES,
    TrackerLike,
    back_to_list,
    kind_name,
    reason_text,
    tracker_title,
)
from core.timezones import COMMON
from core.trackers.base import TrackerCampaign

CAMPAIGNS_SHOWN = 10
URL_EXAMPLES = {
    "keitaro": "https://tracker.example.com",
    "binom1": "https://tracker.example.com/index.php",
    "binom2": "https://tracker.example.com",
}


def _cancel(kb: InlineKeyboardBuilder) -> None:
    kb.button(text=_("✖ Cancel"), callback_data=TrackerCb(a="ls"))


def choose_kind(demo: Sequence[Mapping[str, Any]]) -> Screen:
    """Step 1: which tracker; the demo's trackers, when set, as one-tap choices."""
    kb = InlineKeyboardBuilder()
    for kind, name in KIND_NAMES.items():
        kb.button(text=name, callback_data=TrackerCb(a="kind", v=kind))
    for i, t in enumerate(demo[:6]):
        label = str(t.get("name") or kind_name(str(t.get("kind", ""))))
        kb.button(text=_("🧪 Demo: {name}").format(name=label[:40]),
                  callback_data=TrackerCb(a="demo", n=i))
    _cancel(kb)
    kb.adjust(3, *([1] * min(len(demo), 6)), 1)
    text = _(
        "<b>Add tracker</b> · step 1 of 5\n\nWhich tracker do you use? TTPulse sends it TikTok's "
        "spend and reads revenue and conversions back. Nothing is stored until the connection "
        "test passes."
    )
    if demo:
        text += "\n\n" + _("The demo trackers below are filled in already (still tested).")
    return text, kb.as_markup()


def ask_url(kind: str) -> Screen:
    """Step 2: the base URL."""
    kb = InlineKeyboardBuilder()
    _cancel(kb)
    hint = {
        "keitaro": _("the address of your Keitaro panel"),
        "binom1": _("the address of Binom's PHP entry file (usually index.php; renamed is fine)"),
        "binom2": _("the address of your Binom 2 panel"),
    }.get(kind, "")
    return _(
        "<b>Add {kind}</b> · step 2 of 5\n\nSend {hint}, e.g. <code>{example}</code>."
    ).format(kind=kind_name(kind), hint=hint, example=URL_EXAMPLES.get(kind, "")), kb.as_markup()


def ask_key(kind: str) -> Screen:
    """Step 3: the API key, treated like a password."""
    kb = InlineKeyboardBuilder()
    _cancel(kb)
    return _(
        "<b>Add {kind}</b> · step 3 of 5\n\nSend the API key. I delete your message right "
        "after reading it; the key is stored encrypted and never shown again."
    ).format(kind=kind_name(kind)), kb.as_markup()


def zone_buttons(
    kb: InlineKeyboardBuilder, action: str, now: datetime, tracker_id: int = 0
) -> None:
    """The common time zones as buttons packing `action` and the zone."""
    for zone in COMMON:
        kb.button(text=zone_label(zone, now),
                  callback_data=TrackerCb(a=action, id=tracker_id, v=zone))


def currency_buttons(kb: InlineKeyboardBuilder, action: str, tracker_id: int = 0) -> None:
    """The common currencies as buttons packing `action` and the code."""
    for code in CURRENCIES:
        kb.button(text=code, callback_data=TrackerCb(a=action, id=tracker_id, v=code))


def ask_zone(kind: str, now: datetime, key_deleted: bool) -> Screen:
    """Step 4: the tracker's own time zone (its report days)."""
    kb = InlineKeyboardBuilder()
    zone_buttons(kb, "tz", now)
    _cancel(kb)
    kb.adjust(*([2] * (len(COMMON) // 2)), 1)
    head = _("🔒 Key received; your message with it is deleted.") + "\n\n" if key_deleted else ""
    return head + _(
        "<b>Add {kind}</b> · step 4 of 5\n\nWhich time zone is the tracker set to? Pick one, "
        "or type a city (e.g. <i>Berlin</i>) or an offset (e.g. <i>UTC+3</i>)."
    ).format(kind=kind_name(kind)), kb.as_markup()


def key_not_deleted() -> str:
    """The key message could not be deleted (too old, or no right): ask the user to."""
    return _("⚠️ I could not delete your message with the key — please delete it yourself.")


def ask_currency(kind: str) -> Screen:
    """Step 5: the tracker's currency."""
    kb = InlineKeyboardBuilder()
    currency_buttons(kb, "cur")
    _cancel(kb)
    kb.adjust(3, 3, 3, 1)
    return _(
        "<b>Add {kind}</b> · step 5 of 5\n\nWhich currency does the tracker count money in? "
        "Pick one or type its code (e.g. <code>PLN</code>)."
    ).format(kind=kind_name(kind)), kb.as_markup()


def bad_currency() -> str:
    """A typed currency that is not a three-letter code."""
    return _("That is not a currency code. Send three letters, like <code>USD</code>.")


def review(draft: Mapping[str, Any], now: datetime) -> Screen:
    """Everything entered (the key masked), and Test connection."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔌 Test connection"), callback_data=TrackerCb(a="test"))
    kb.button(text=_("✏️ URL"), callback_data=TrackerCb(a="wurl"))
    kb.button(text=_("🔑 API key"), callback_data=TrackerCb(a="wkey"))
    _cancel(kb)
    kb.adjust(1, 2, 1)
    lines = [
        _("<b>Add {kind}</b> · check and test").format(kind=kind_name(str(draft.get("kind")))),
        "",
        _("URL: {url}").format(url=f"<code>{html.quote(str(draft.get('url', ''))[:300])}</code>"),
        _("API key: {key}").format(key=_("•••••• (hidden)") if draft.get("key") else _("not set")),
        _("Time zone: {zone}").format(zone=zone_label(str(draft.get("tz", "UTC")), now)),
        _("Currency: {currency}").format(currency=html.quote(str(draft.get("cur", "USD")))),
        "",
        _("Press Test connection: I read the tracker's campaigns with this key."),
    ]
    return "\n".join(lines), kb.as_markup()


def testing(kind: str) -> str:
    """Shown while the test runs."""
    return _("🔌 Testing the connection to {kind}…").format(kind=kind_name(kind))


def test_ok(kind: str, campaigns: Sequence[TrackerCampaign]) -> Screen:
    """The test passed: its campaigns (10 at most, then how many more), and Save."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("💾 Save"), callback_data=TrackerCb(a="save"))
    _cancel(kb)
    kb.adjust(1)
    lines = [
        _("✅ {kind} answered. Campaigns found: {count}").format(
            kind=kind_name(kind), count=len(campaigns)
        ),
        "",
    ]
    for c in campaigns[:CAMPAIGNS_SHOWN]:
        mark = "▶" if c.active else "⏸"
        lines.append(f"{mark} {html.quote(c.name[:60])} · <code>{html.quote(c.id[:20])}</code>")
    if len(campaigns) > CAMPAIGNS_SHOWN:
        lines.append(_("…and {count} more.").format(count=len(campaigns) - CAMPAIGNS_SHOWN))
    if not campaigns:
        lines.append(_("The key sees no campaigns yet; you can still save and map later."))
    lines += ["", _("Save the tracker?")]
    return "\n".join(lines), kb.as_markup()


def test_failed(reason: str, detail: str = "") -> Screen:
    """The test failed, why, and what to change; nothing was stored."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔁 Test again"), callback_data=TrackerCb(a="test"))
    kb.button(text=_("✏️ URL"), callback_data=TrackerCb(a="wurl"))
    kb.button(text=_("🔑 API key"), callback_data=TrackerCb(a="wkey"))
    kb.button(text=_("🔀 Other kind"), callback_data=TrackerCb(a="add"))
    _cancel(kb)
    kb.adjust(1, 2, 1, 1)
    return (
        _("❌ Connection test failed.") + "\n\n" + reason_text(reason, detail) + "\n\n"
        + _("Nothing was stored.")
    ), kb.as_markup()


def saved(t: TrackerLike) -> Screen:
    """Saved: where to go next."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🧭 Map campaigns"), callback_data=TrackerCb(a="map", id=t.id))
    kb.button(text=_("⚙️ Open tracker"), callback_data=TrackerCb(a="tr", id=t.id))
    back_to_list(kb)
    kb.adjust(1)
    return _(
        "✅ {title} is connected. Map your TikTok campaigns to its campaigns next: costs are "
        "pushed and revenue pulled for mapped campaigns."
    ).format(title=tracker_title(t)), kb.as_markup()


def draft_gone() -> str:
    """A wizard button pressed after the draft was dropped (cancelled, or another started)."""
    return _("This Add tracker form is closed. Open Integrations to start again.")
