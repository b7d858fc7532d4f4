"""Integrations: the user's trackers with their status and last push / pull."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb, TrackerCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.integrations.common import TrackerLike, status_line, tracker_title, when

MAX_LISTED = 20  # trackers shown; a buyer has a handful
LIST_CHARS = 3600  # the list's text stops here (Telegram's 4096, with room for the rest)
ERROR_CHARS = 60  # of a tracker's own words per failing tracker in the list


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
    listed = 0
    for row in rows[:MAX_LISTED]:
        t = row.tracker
        block = [
            "",
            tracker_title(t),
            _("⏸ paused by plan") if getattr(t, "plan_paused_at", None) is not None
            else status_line(t, user_tz, ERROR_CHARS),
            _("Costs pushed: {push} · revenue pulled: {pull}").format(
                push=when(row.last_push, user_tz), pull=when(row.last_pull, user_tz)
            ),
        ]
        if len("\n".join(lines + block)) > LIST_CHARS:
            break
        lines += block
        listed += 1
        kb.button(text=f"⚙️ {(t.name or t.url)[:40]}", callback_data=TrackerCb(a="tr", id=t.id))
    if listed < len(rows):
        lines += ["", _("…and {count} more.").format(count=len(rows) - listed)]
    kb.button(text=_("➕ Add tracker"), callback_data=TrackerCb(a="add"))
    kb.button(text=_("💱 Currency rates"), callback_data=TrackerCb(a="fx"))
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(*([1] * listed), 2, 1)
    return "\n".join(lines), kb.as_markup()
