"""Pieces several screens share: language names and time-zone pickers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date, format_datetime, get_timezone_location

from bot.keyboards import InlineKeyboardBuilder
from core.timezones import COMMON, utc_offset_label

LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def zone_label(zone: str, now: datetime) -> str:
    """`Berlin (UTC+01:00)` for a zone name, the city in the reader's language (Babel/CLDR)."""
    offset = utc_offset_label(zone, now)
    if zone == "UTC" or zone.startswith("Etc/"):
        return offset  # Etc/GMT-3 reads backwards (POSIX signs); the offset says it plainly
    city = get_timezone_location(zone, locale=get_i18n().current_locale, return_city=True)
    return f"{city} ({offset})"


def add_zone_buttons(
    kb: InlineKeyboardBuilder, make: type[CallbackData], now: datetime, **fields: str
) -> None:
    """The common time zones, two per row, each packing its zone into `make(..., value=zone)`."""
    for zone in COMMON:
        kb.button(text=zone_label(zone, now), callback_data=make(**fields, value=zone))


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, marked with … where cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(text: Any, limit: int = 200) -> str:
    """User data, shortened and escaped for HTML."""
    return html.quote(cut(str(text), limit))


# How much of a user's own input a reply quotes back: enough to recognise it, never enough to
# push the reply past Telegram's 4096 characters.
QUOTE_CHARS = 200


def quoted_around(text: str, at: int, width: int = QUOTE_CHARS // 2) -> tuple[str, str]:
    """The input before and after position `at`, each at most `width` characters (cut on the
    far side, marked with …), escaped: to point at where the input went wrong."""
    before, after = text[:at], text[at:]
    if len(before) > width:
        before = "…" + before[-(width - 1) :]
    if len(after) > width:
        after = after[: width - 1] + "…"
    return html.quote(before), html.quote(after)


def yes_no(value: bool) -> str:
    """On / off, translated."""
    return _("on") if value else _("off")


def freshness(
    fresh_as_of: datetime | None,
    user_tz: str,
    now: datetime,
    today_as_of: datetime | None = None,
) -> str:
    """`data as of 14:05` (with the date when it is not `now`'s day in the user's zone); during
    the first sync, what is in already: `today as of 18:01 · history loading`."""
    if fresh_as_of is None and today_as_of is not None:
        return _("today as of {time} · history loading").format(
            time=_local(today_as_of, user_tz, now)
        )
    if fresh_as_of is None:
        return _("not synced yet")
    return _("data as of {time}").format(time=_local(fresh_as_of, user_tz, now))


def _local(moment: datetime, user_tz: str, now: datetime) -> str:
    """`14:05`, or `01.03 14:05` when it is not `now`'s day in the user's zone."""
    zone = ZoneInfo(user_tz)
    local = moment.astimezone(zone)
    same_day = local.date() == now.astimezone(zone).date()
    return local.strftime("%H:%M" if same_day else "%d.%m %H:%M")


T = TypeVar("T")


def local_stamp(moment: datetime | None, user_tz: str) -> str:
    """`01.12.2026 10:00` in the user's zone (— when unknown)."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(user_tz)).strftime("%d.%m.%Y %H:%M")


def local_when(moment: datetime | None, user_tz: str) -> str:
    """`3 Dec 2026, 14:05` in the reader's language and the user's zone (— when unknown)."""
    if moment is None:
        return "—"
    return format_datetime(
        moment.astimezone(ZoneInfo(user_tz)), "d MMM y, HH:mm", locale=get_i18n().current_locale
    )


def local_day(moment: datetime, user_tz: str) -> str:
    """The day `moment` falls on in the user's time zone, spelled out in their language."""
    try:
        zone = ZoneInfo(user_tz)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return format_date(moment.astimezone(zone).date(), "long", locale=get_i18n().current_locale)


def page_of(items: Sequence[T], page: int, size: int) -> tuple[list[T], int, int]:
    """The items of one page, the page clamped into range, and the number of pages."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    return list(items[page * size : (page + 1) * size]), page, pages


def add_pager(
    kb: InlineKeyboardBuilder, page: int, pages: int, target: Callable[[int], CallbackData]
) -> int:
    """‹ and › buttons to the neighbouring pages; returns how many were added (one row)."""
    added = 0
    for label, other in (("‹", page - 1), ("›", page + 1)):
        if 0 <= other < pages:
            kb.button(text=label, callback_data=target(other))
            added += 1
    return added


def stale() -> str:
    """A button that no longer applies, or was never the presser's (one wording everywhere)."""
    return _("This button is no longer valid. Send /menu to continue.")


def change_error(error: str | None) -> str:
    """Why a change was not made: our reason codes (core.rules.acting.REASONS) in the reader's
    language, TikTok's refusals in its own words (plain text: quote it for HTML)."""
    ours = {
        "no_access": _("no TikTok access is stored for this account; reconnect it"),
        "no_budget": _("it has no budget of its own (the budget is set one level up)"),
        "no_bid": _("it has no bid of its own"),
        "below_minimum": _("the ceiling is below TikTok's minimum"),
        "not_tracked": _("the ad account is no longer tracked"),
        "changed_since": _("it was changed since; undoing would overwrite the newer value"),
        "changed_since_asked": _(
            "its value has changed since the rule asked; nothing was changed (see the object)"
        ),
    }
    return ours.get(error or "", error or "?")


def blocked_reason(code: str) -> str:
    """Why an object's budget or bid cannot be changed (core.eligibility.Blocked codes)."""
    return {
        "ad_level": _("ads have no budget or bid of their own"),
        "campaign_budget": _("the budget is set on the campaign (campaign budget optimisation)"),
        "adgroup_budgets": _("the campaign has no budget: budgets are set on its ad groups"),
        "unlimited": _("the budget is unlimited"),
        "no_custom_bid": _("its bid strategy has no custom bid (lowest cost)"),
        "campaign_bid": _("campaigns have no bid: bids are set on ad groups"),
        "parent_unknown": _("its campaign or ad group is not synced yet"),
        "no_tracker_data": _("the tracker has no data for it"),
    }.get(code, code)


def skipped_line(counts: dict[str, int] | None) -> str | None:
    """`⏭ Skipped 3: 2 — the budget is set on the campaign…; 1 — …` (None when none were)."""
    if not counts:
        return None
    # Not judged for lack of tracker data (core.rules.tracker.NO_DATA): a line of its own.
    blocked = {code: n for code, n in counts.items() if code != "no_tracker_data"}
    lines = []
    if blocked:
        parts = "; ".join(
            f"{n} — {blocked_reason(code)}"
            for code, n in sorted(blocked.items(), key=lambda i: -i[1])
        )
        lines.append(
            _("⏭ Skipped {n} (cannot take this change): {reasons}").format(
                n=sum(blocked.values()), reasons=parts
            )
        )
    if counts.get("no_tracker_data"):
        lines.append(
            _(
                "⏭ Skipped {n}: the tracker has no data for them (never counted as zero revenue)"
            ).format(n=counts["no_tracker_data"])
        )
    return "\n".join(lines)


def tick_mark(on: bool) -> str:
    """The mark before a chosen (✅) or unchosen option."""
    return "✅ " if on else "▫️ "
