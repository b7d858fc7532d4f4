"""Pixels screens (issue 17): pick an ad account, then its pixels with their events and how
often each fired today and over the last 7 days (the account's days)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aiogram import html
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AccountsCb, PixelCb, SettingsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, local_when, page_of, quoted
from core.feature_access import FeatureError
from core.money import money
from core.pixels import AccountPixels
from storage.models import AdAccount

PAGE = 8
# Sized so the screen stays inside Telegram's 4096 characters whatever the account holds:
# names clipped, EVENTS_SHOWN events a pixel, pixels added while under BUDGET characters (the
# first always), the rest counted.
NAME_LIMIT = 48
EVENT_LIMIT = 40
EVENTS_SHOWN = 12
BUDGET = 3300


def pick_account(accounts: list[AdAccount], page: int = 0) -> Screen:
    """Which ad account's pixels to see."""
    shown, page, pages = page_of(accounts, page, PAGE)
    kb = InlineKeyboardBuilder()
    for acc in shown:
        kb.button(text=acc.name[:40] or acc.advertiser_id,
                  callback_data=PixelCb(a="list", id=acc.id))
    rows = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: PixelCb(a="pick", n=n)):
        rows.append(nav)
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    rows.append(1)
    kb.adjust(*rows)
    return _("<b>🎯 Pixels</b>\n\nChoose an ad account:"), kb.as_markup()


def pixel_list(found: AccountPixels, many_accounts: bool) -> Screen:
    """An ad account's pixels, each event with its count today and over 7 days."""
    lines = [_("<b>🎯 Pixels</b> · {account}").format(account=quoted(found.account.name, 60))]
    if not found.pixels:
        lines.append("")
        lines.append(_("This ad account has no pixel yet. Create one in TikTok Events "
                       "Manager to optimise for website conversions."))
    used = shown = 0
    for row in found.pixels:
        px = row.pixel
        block = ["", f"<b>{quoted(px.name or px.code, NAME_LIMIT)}</b> · "
                     f"<code>{px.pixel_id}</code>"]
        if not row.events:
            block.append(_("   No events set up."))
        for ev in row.events[:EVENTS_SHOWN]:
            mark = "✅" if ev.week else "⚠️"
            block.append(_("   {mark} {event}: today {today} · 7 days {week}").format(
                mark=mark, event=quoted(ev.event.name or ev.event.kind, EVENT_LIMIT),
                today=ev.today, week=ev.week))
            if not ev.week:
                block.append(_("      has not fired in 7 days — check the pixel on your site"))
        if len(row.events) > EVENTS_SHOWN:
            rest = len(row.events) - EVENTS_SHOWN
            block.append(ngettext("   …and {n} more event", "   …and {n} more events",
                                  rest).format(n=rest))
        size = sum(len(x) + 1 for x in block)
        if shown and used + size > BUDGET:
            break
        lines += block
        used, shown = used + size, shown + 1
    if shown < len(found.pixels):
        rest = len(found.pixels) - shown
        lines += ["", ngettext("…and {n} more pixel: see TikTok Events Manager",
                               "…and {n} more pixels: see TikTok Events Manager",
                               rest).format(n=rest)]
    lines.append("")
    lines.append(_("Counts are by the ad account's days ({zone}), today so far.").format(
        zone=html.quote(found.account.time_zone or "UTC")))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔄 Refresh"), callback_data=PixelCb(a="list", id=found.account.id))
    if many_accounts:
        kb.button(text=_("« Ad accounts"), callback_data=PixelCb(a="pick"))
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def feature_off() -> Screen:
    """Pixels pressed while the switch is off: where to turn it on."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🧩 Optional features"), callback_data=SettingsCb(action="features"))
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    kb.adjust(1)
    return _("Pixels are off. Turn them on in Settings → Optional features; until then "
             "TTPulse asks TikTok nothing about pixels."), kb.as_markup()


def error(exc: FeatureError) -> str:
    """Why the pixels could not be shown (an alert)."""
    if exc.code == "reconnect":
        return _("TikTok no longer accepts this connection. Reconnect it under Accounts.")
    if exc.code == "account":
        return _("That ad account is not among yours any more.")
    return _("TikTok did not answer; try again in a minute.")


def silent_alert(p: dict[str, Any]) -> Screen:
    """"Tracking broken?": a pixel's event stopped while its ads spend (core/pixel_watch.py)."""
    campaigns = [quoted(c, 60) for c in p.get("campaigns", [])]
    more = int(p.get("more", 0))
    if more:
        campaigns.append(_("and {n} more").format(n=more))
    spend = money(Decimal(str(p["spend"])), str(p["currency"]), get_i18n().current_locale)
    text = _(
        "🚨 <b>Tracking broken?</b> Pixel <b>{pixel}</b> ({account}) has not reported "
        "<b>{event}</b> since {since} ({zone}), yet its ads spent {spend} since then.\n"
        "Campaigns: {campaigns}\n\n"
        "Check the pixel on the website (or in TikTok Events Manager): conversions you pay for "
        "may not be counted, and TikTok cannot optimise without them. You will hear when the "
        "events are back."
    ).format(pixel=quoted(p["pixel"], 80), account=quoted(p["account"], 60),
             event=quoted(p["event"], 60),
             since=local_when(datetime.fromisoformat(str(p["since"])), str(p["zone"])),
             zone=html.quote(str(p["zone"])), spend=spend, campaigns=", ".join(campaigns) or "—")
    return text, None


def back_alert(p: dict[str, Any]) -> Screen:
    """The silent event fired again: the incident is over."""
    return _("✅ <b>Back to normal:</b> pixel <b>{pixel}</b> ({account}) reports <b>{event}</b> "
             "again.").format(pixel=quoted(p["pixel"], 80), account=quoted(p["account"], 60),
                              event=quoted(p["event"], 60)), None
