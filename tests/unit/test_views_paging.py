"""Long lists are paged with ‹ › buttons that carry the neighbouring page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import StatsCb
from bot.i18n import make_i18n
from bot.views import stats as view
from bot.views.common import add_pager, page_of
from core.metrics import Totals
from core.periods import DateRange, Period
from core.stats import AccountStats, Summary


def test_page_of_clamps_and_slices() -> None:
    assert page_of(list(range(17)), 1, 8) == (list(range(8, 16)), 1, 3)
    assert page_of(list(range(17)), 9, 8) == ([16], 2, 3)
    assert page_of(list(range(17)), -4, 8) == (list(range(8)), 0, 3)
    assert page_of([], 3, 5) == ([], 0, 1)


def test_pager_offers_only_existing_neighbours() -> None:
    def labels(page: int, pages: int) -> list[tuple[str, str]]:
        kb = InlineKeyboardBuilder()
        add_pager(kb, page, pages, lambda n: StatsCb(v="sum", n=n))
        return [(b.text, b.callback_data or "") for row in kb.export() for b in row]

    assert labels(0, 1) == []
    assert labels(0, 3) == [("›", "sx:sum:0:::7d:1")]
    assert labels(1, 3) == [("‹", "sx:sum:0:::7d:0"), ("›", "sx:sum:0:::7d:2")]
    assert labels(2, 3) == [("‹", "sx:sum:0:::7d:1")]


def test_summary_of_seven_accounts_has_two_pages() -> None:
    day = date(2026, 11, 28)
    accounts = [
        AccountStats(
            n,
            f"Account {n}",
            str(700 + n),
            "USD",
            "UTC",
            datetime(2026, 11, 29, tzinfo=UTC),
            DateRange(day, day),
            Totals(Decimal(n)),
            Totals(),
        )
        for n in range(7)
    ]
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text, markup = view.summary(
            Summary(accounts, {"USD": Decimal(21)}), Period.YESTERDAY, "UTC", 1,
            datetime(2026, 11, 29, 12, tzinfo=UTC),
        )
    assert "(2/2)" in text and "Account 5" in text and "Account 4" not in text
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert [b.text for b in buttons][:3] == ["🔎 Account 5", "🔎 Account 6", "‹"]
    assert buttons[2].callback_data == "sx:sum:0:::yesterday:0"
