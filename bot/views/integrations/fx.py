"""Currency rates the user sets for tracker conversions (never fetched or guessed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from aiogram.utils.i18n import gettext as _

from bot.callbacks import TrackerCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.integrations.common import back_to_list, when

MAX_RATES = 30


class RateLike(Protocol):
    """One rate: 1 base = rate quote (core.trackers.fx.Rate)."""

    @property
    def base(self) -> str: ...
    @property
    def quote(self) -> str: ...
    @property
    def rate(self) -> Decimal: ...
    @property
    def set_at(self) -> datetime: ...


def rates(items: Sequence[RateLike], user_tz: str) -> Screen:
    """The user's rates, and how to set one."""
    lines = [_("💱 <b>Currency rates</b>"), "",
             _("Costs and revenue are converted between the ad account's and the tracker's "
               "currencies only with rates you set here. A pair without a rate is not pushed "
               "or pulled, and the push log says so."), ""]
    if not items:
        lines.append(_("No rates set."))
    for r in items[:MAX_RATES]:
        lines.append(_("1 {base} = {rate} {quote} · set {when}").format(
            base=r.base, rate=format(r.rate.normalize(), "f"), quote=r.quote,
            when=when(r.set_at, user_tz)))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✏️ Set a rate"), callback_data=TrackerCb(a="fxs"))
    for r in items[:MAX_RATES]:
        kb.button(text=_("✖ {base}→{quote}").format(base=r.base, quote=r.quote),
                  callback_data=TrackerCb(a="fxd", v=f"{r.base}{r.quote}"))
    back_to_list(kb)
    kb.adjust(1, *([3] * (min(len(items), MAX_RATES) // 3)),
              *([min(len(items), MAX_RATES) % 3] if min(len(items), MAX_RATES) % 3 else []), 1)
    return "\n".join(lines), kb.as_markup()


def ask_rate() -> Screen:
    """The typed rate."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Currency rates"), callback_data=TrackerCb(a="fx"))
    return _(
        "Send the pair and the rate: <code>EUR USD 1.0842</code> means 1 EUR = 1.0842 USD. "
        "The reverse direction uses the same rate unless you set it too."
    ), kb.as_markup()


def bad_rate(reason: str) -> str:
    """A typed rate that cannot be used (core.trackers.fx.BadRate reasons)."""
    return {
        "currency": _("A currency code is three letters, like <code>EUR</code>. Try again, "
                      "e.g. <code>EUR USD 1.0842</code>, or /cancel."),
        "same": _("The two currencies must differ. Try again, or /cancel."),
        "rate": _("The rate must be a positive number, like <code>1.0842</code>. Try again, "
                  "or /cancel."),
    }.get(reason, _("Send it as <code>EUR USD 1.0842</code>, or /cancel."))


def rate_set(base: str, quote: str, rate: Decimal) -> str:
    """A rate was saved."""
    return _("✅ 1 {base} = {rate} {quote}.").format(
        base=base, rate=format(rate.normalize(), "f"), quote=quote)
