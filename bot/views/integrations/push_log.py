"""The push log of one tracker for one day: what was sent, the tracker's answer, refusals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from aiogram import html
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.callbacks import TrackerCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.integrations.common import TrackerLike, back_to_tracker, loc, tracker_title
from core.money import money

MAX_ENTRIES = 25  # per message; the rest is counted
LOG_CHARS = 3500  # the entries stop here (Telegram's 4096, with room for the rest)
ANSWER_CHARS = 120


class PushLike(Protocol):
    """One logged cost item (storage.models.TrackerPush)."""

    @property
    def tracker_campaign_id(self) -> str: ...
    @property
    def id_field(self) -> str | None: ...
    @property
    def id_value(self) -> str | None: ...
    @property
    def spend(self) -> Decimal: ...
    @property
    def spend_currency(self) -> str: ...
    @property
    def cost(self) -> Decimal | None: ...
    @property
    def currency(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def answer(self) -> str: ...
    @property
    def unattributed(self) -> bool | None: ...


def _entry(e: PushLike) -> list[str]:
    """One logged item: where it went, TikTok's spend, what was sent, the tracker's words."""
    where = html.quote(e.tracker_campaign_id[:30])
    if e.id_field and e.id_value:
        where += f" · {html.quote(e.id_field)}={html.quote(e.id_value[:32])}"
    spend = money(e.spend, e.spend_currency, loc())
    if e.ok and e.cost is not None:
        head = _("✅ {where}: spend {spend} → sent {cost}").format(
            where=where, spend=spend, cost=money(e.cost, e.currency, loc()))
    else:
        head = _("❌ {where}: spend {spend} not sent").format(where=where, spend=spend)
    out = [head + (" ⚠️" if e.unattributed else "")]
    if e.answer:
        out.append(f"   <i>{html.quote(e.answer[:ANSWER_CHARS])}</i>")
    return out


def day_log(t: TrackerLike, day: date, entries: Sequence[PushLike], today: date) -> Screen:
    """Every cost item of the day (`entries` oldest first), shown newest first: TikTok's spend,
    what was sent, and what the tracker said."""
    sent = sum(e.ok for e in entries)
    # Refused: sent, and the tracker said no; not sent: no cost could be made (push.Outcome).
    refused = sum(not e.ok and e.cost is not None for e in entries)
    lines = [
        _("📜 <b>Push log</b> · {title}").format(title=tracker_title(t)),
        format_date(day, "medium", locale=loc()),
        _("Sent: {ok} · refused by the tracker: {refused} · not sent: {unsent}").format(
            ok=sent, refused=refused, unsent=len(entries) - sent - refused),
        "",
    ]
    if not entries:
        lines.append(_("Nothing was pushed for this day."))
    shown, unattributed = 0, False
    # Hourly pushes re-send a day dozens of times: the newest attempts say what the tracker
    # holds now, so they come first and the oldest are the ones counted, not shown.
    for e in list(reversed(entries))[:MAX_ENTRIES]:
        entry = _entry(e)
        if len("\n".join(lines + entry)) > LOG_CHARS:
            break
        lines += entry
        shown += 1
        unattributed = unattributed or bool(e.unattributed)
    if shown < len(entries):
        lines.append(_("…and {count} more.").format(count=len(entries) - shown))
    if unattributed:
        lines += ["", _("⚠️ unattributed: TikTok spent, but the tracker has no clicks for it that "
                        "day (check the landing URL's macros).")]
    kb = InlineKeyboardBuilder()
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    kb.button(text="‹ " + format_date(before, "d MMM", locale=loc()),
              callback_data=TrackerCb(a="log", id=t.id, v=before.isoformat()))
    if after <= today:
        kb.button(text=format_date(after, "d MMM", locale=loc()) + " ›",
                  callback_data=TrackerCb(a="log", id=t.id, v=after.isoformat()))
    back_to_tracker(kb, t.id)
    kb.adjust(2 if after <= today else 1, 1)
    return "\n".join(lines), kb.as_markup()
