"""Pieces the Integrations screens share: kind names, failure reasons, status, times."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TrackerCb
from bot.keyboards import InlineKeyboardBuilder

KIND_NAMES = {"keitaro": "Keitaro", "binom1": "Binom 1.x", "binom2": "Binom 2"}
# Common tracker currencies as buttons; any other ISO code can be typed.
CURRENCIES = ("USD", "EUR", "RUB", "GBP", "UAH", "KZT", "TRY", "BRL", "INR")
# How much of a tracker's own words a message quotes (they can be long HTML pages).
DETAIL_CHARS = 200


class TrackerLike(Protocol):
    """What the screens read of a tracker (core.trackers.connect.TrackerInfo; never the key)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def time_zone(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def failing_since(self) -> datetime | None: ...
    @property
    def discrepancy_pct(self) -> int: ...


def loc() -> str:
    """The reader's Babel locale."""
    return get_i18n().current_locale


def kind_name(kind: str) -> str:
    """Keitaro / Binom 1.x / Binom 2."""
    return KIND_NAMES.get(kind, kind)


def when(moment: datetime | None, user_tz: str) -> str:
    """`03.12 14:05` in the user's zone, or "never"."""
    if moment is None:
        return _("never")
    return moment.astimezone(ZoneInfo(user_tz)).strftime("%d.%m %H:%M")


def tracker_title(t: TrackerLike) -> str:
    """`<b>My Keitaro</b> (Keitaro)`, escaped."""
    name = t.name or t.url
    return f"<b>{html.quote(name[:60])}</b> ({kind_name(t.kind)})"


def reason_text(reason: str, detail: str = "") -> str:
    """Why a tracker call failed (core.trackers.base.TrackerError reasons), in the reader's
    language, with the tracker's own words quoted (escaped, cut) when it said any."""
    texts = {
        "bad_url": _(
            "No tracker answers at that address. Check the URL: Keitaro and Binom 2 take the "
            "panel's address (https://tracker.example.com), Binom 1.x the PHP file of its API "
            "(https://tracker.example.com/index.php)."
        ),
        "bad_key": _(
            "The tracker refused the API key. Copy it again from the tracker (Keitaro: "
            "Maintenance › Users › API keys; Binom: Settings › API key) and send it whole."
        ),
        "wrong_kind": _(
            "Something answers there, but not as this kind of tracker does. Check the kind "
            "(Keitaro, Binom 1.x or Binom 2) and the URL."
        ),
        "edition": _(
            "This Keitaro edition does not include the Admin API (the tracker answered "
            "402 Payment Required). The API needs a paid edition with API access."
        ),
        "timeout": _(
            "The tracker did not answer in time. It may be overloaded or behind a firewall; "
            "try again in a minute."
        ),
        "not_json": _(
            "The tracker answered with a web page instead of API data. The URL probably points "
            "at the panel's login page or a proxy: check it."
        ),
        "unavailable": _(
            "The tracker is unavailable right now (a server error or too many requests). "
            "Try again in a few minutes."
        ),
        "not_found": _("The tracker does not know that campaign (it may have been deleted)."),
        "refused": _("The tracker understood the request and refused it."),
    }
    text = texts.get(reason, _("The tracker call failed ({reason}).").format(
        reason=html.quote(reason[:40])))
    if detail:
        cut = detail[:DETAIL_CHARS] + ("…" if len(detail) > DETAIL_CHARS else "")
        # Without an answer (no connection, no reply in time) the words are ours, not its.
        said = (_("Details: {detail}") if reason in ("bad_url", "timeout")
                else _("The tracker said: {detail}"))
        text += "\n" + said.format(detail=f"<i>{html.quote(cut)}</i>")
    return text


def short_reason(reason: str) -> str:
    """A failure reason in a few words, for the status line."""
    return {
        "bad_url": _("no tracker at that URL"),
        "bad_key": _("API key refused"),
        "wrong_kind": _("not this kind of tracker"),
        "edition": _("Admin API not in this Keitaro edition"),
        "timeout": _("no answer in time"),
        "not_json": _("a web page instead of API data"),
        "unavailable": _("tracker unavailable"),
        "not_found": _("campaign unknown to the tracker"),
        "refused": _("refused by the tracker"),
    }.get(reason, reason)


def last_error(error: str, chars: int = DETAIL_CHARS) -> str:
    """The stored `<stage>: <reason>: <the tracker's words>` in the reader's language."""
    stage, _sep, rest = error.partition(": ")
    if stage not in ("push", "pull"):
        return html.quote(error[:chars])
    reason, _sep, detail = rest.partition(": ")
    head = (_("push: {reason}") if stage == "push" else _("pull: {reason}")).format(
        reason=short_reason(reason))
    return head + (f" (<i>{html.quote(detail[:chars])}</i>)" if detail else "")


def status_line(t: TrackerLike, user_tz: str, chars: int = DETAIL_CHARS) -> str:
    """✅ active / ⚠️ failing since … (last error) / 🔌 disconnected."""
    if t.status == "disconnected":
        return _("🔌 disconnected")
    if t.status == "failing":
        since = when(t.failing_since, user_tz)
        line = _("⚠️ failing since {since}").format(since=since)
        if t.last_error:
            line += " — " + last_error(t.last_error, chars)
        return line
    return _("✅ active")


def back_to_list(kb: InlineKeyboardBuilder) -> None:
    """« Integrations."""
    kb.button(text=_("« Integrations"), callback_data=TrackerCb(a="ls"))


def back_to_tracker(kb: InlineKeyboardBuilder, tracker_id: int) -> None:
    """« Back to the tracker's card."""
    kb.button(text=_("« Tracker"), callback_data=TrackerCb(a="tr", id=tracker_id))


def not_found() -> str:
    """A tracker id that is not the presser's (or gone)."""
    return _("That tracker is not among yours (or was disconnected).")
