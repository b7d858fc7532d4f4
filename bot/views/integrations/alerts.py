"""The tracker discrepancy alert (outbox kind "tracker_discrepancy", params from
core.trackers.discrepancy): TikTok's and the tracker's clicks or conversions differ."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from aiogram import html
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.callbacks import TrackerCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.integrations.common import kind_name, loc
from core.money import number


def _gap(value: object) -> str:
    """`+12.5%` / `−30%`; a dash when the side was too small to judge."""
    if value is None:
        return "—"
    pct = Decimal(str(value))
    return ("+" if pct > 0 else "") + number(pct, loc(), 1) + "%"


def discrepancy(params: dict[str, Any]) -> Screen:
    """"Broken redirect or postback?" with both sides' numbers for the campaign and day."""
    day = date.fromisoformat(str(params["day"]))
    tracker = html.quote(
        str(params.get("tracker_name") or kind_name(str(params.get("tracker_kind", ""))))
    )
    campaign = html.quote(str(params.get("campaign_name") or params["campaign_id"])[:80])
    lines = [
        _("⚠️ <b>Broken redirect or postback?</b>"),
        _("{campaign} on {day}: TikTok and {tracker} disagree by more than {pct}%.").format(
            campaign=f"<b>{campaign}</b>",
            day=format_date(day, "medium", locale=loc()),
            tracker=f"<b>{tracker[:60]}</b>",
            pct=int(params.get("threshold_pct", 20)),
        ),
        "",
    ]
    mark = {True: "❗", False: "•"}
    lines.append(mark[bool(params.get("clicks_flagged"))] + " " + _(
        "Clicks: TikTok {tiktok} · tracker {tracker} ({gap})"
    ).format(tiktok=number(int(params["tiktok_clicks"]), loc()),
             tracker=number(int(params["tracker_clicks"]), loc()),
             gap=_gap(params.get("clicks_gap_pct"))))
    lines.append(mark[bool(params.get("conversions_flagged"))] + " " + _(
        "Conversions: TikTok {tiktok} · tracker {tracker} ({gap})"
    ).format(tiktok=number(int(params["tiktok_conversions"]), loc()),
             tracker=number(int(params["tracker_conversions"]), loc()),
             gap=_gap(params.get("conversions_gap_pct"))))
    lines += ["", _("Tracker campaign: {name}").format(
        name=html.quote(str(params.get("tracker_campaign_name") or
                            params.get("tracker_campaign_id", ""))[:80]))]
    if params.get("clicks_flagged"):
        lines.append(_("Fewer clicks in the tracker usually mean a broken or slow redirect, or "
                       "a landing URL without the tracker's link."))
    if params.get("conversions_flagged"):
        lines.append(_("Different conversions usually mean a broken postback (the tracker's or "
                       "TikTok's pixel / events API)."))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("⚙️ Open tracker"),
              callback_data=TrackerCb(a="tr", id=int(params["tracker_id"])))
    return "\n".join(lines), kb.as_markup()
