"""Integrations: the user's trackers with their status and last push / pull."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuCb, TrackerCb
from bot.views import Screen
from bot.views.integrations.common import TrackerLike, status_line, tracker_title, when

MAX_LISTED = 20  # trackers shown; a buyer has a handful


@dataclass(frozen=True)
class TrackerRow:
    """A tracker as listed: the row, and when costs were last pushed and revenue pulled."""

    tracker: TrackerLike
    last_push: datetime | None
    last_pull: datetime | None


def overview(rows: Sequence[TrackerRow], user_tz: str) -> Screen:
    """The trackers, each with status and last push / pull; Add tracker, rates, menu."""
    kb = InlineKeyboardBuilder()
    lines = [_("🔗 <b>Integrations</b> — affiliate trackers")]
    if not rows:
        lines += [
            "",
            _(
                "No tracker is connected. Connect Keitaro or Binom to send TikTok spend there "
                "and see revenue, profit and ROI beside TikTok's numbers."
            ),
        ]
    for row in rows[:MAX_LISTED]:
        t = row.tracker
        lines += [
            "",
            tracker_title(t),
            status_line(t, user_tz),
            _("Costs pushed: {push} · revenue pulled: {pull}").format(
                push=when(row.last_push, user_tz), pull=when(row.last_pull, user_tz)
            ),
        ]
        kb.button(text=f"⚙️ {(t.name or t.url)[:40]}", callback_data=TrackerCb(a="tr", id=t.id))
    kb.button(text=_("➕ Add tracker"), callback_data=TrackerCb(a="add"))
    kb.button(text=_("💱 Currency rates"), callback_data=TrackerCb(a="fx"))
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(*([1] * min(len(rows), MAX_LISTED)), 2, 1)
    return "\n".join(lines), kb.as_markup()
