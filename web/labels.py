"""Names the pages show for periods and levels (the chat's own msgids, so one translation)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from core.periods import Period

PERIODS = (Period.TODAY, Period.YESTERDAY, Period.LAST_7, Period.LAST_30, Period.THIS_MONTH)


def period_name(period: Period) -> str:
    """A period as the picker names it."""
    return {
        Period.TODAY: _("Today"),
        Period.YESTERDAY: _("Yesterday"),
        Period.LAST_7: _("Last 7 days"),
        Period.LAST_30: _("Last 30 days"),
        Period.THIS_MONTH: _("This month"),
        Period.CUSTOM: _("Custom range"),
    }[period]
