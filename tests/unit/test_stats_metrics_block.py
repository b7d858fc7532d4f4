"""The stats screen writes a ROAS with two decimals in every language (a ROAS just under
break-even never reads as a round 1), and a page of accounts fits one Telegram message."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.i18n import make_i18n
from bot.views.stats import metrics_block, summary
from core.metrics import Totals
from core.periods import DateRange, Period
from core.stats import AccountStats, Summary
from core.tracker_metrics import TrackerTotals
from sandbox.telegram.html_check import parse_html, utf16_len
from sandbox.telegram.limits import MAX_TEXT


@pytest.mark.parametrize(("locale", "shown"), [("en", "ROAS 1.00"), ("ru", "ROAS 1,00")])
def test_roas_under_break_even_keeps_its_decimals(locale: str, shown: str) -> None:
    cur = Totals(Decimal("1559031"), 1000, 10, 3, Decimal("1552153"))  # ROAS 0.9956
    prev = Totals(Decimal(100), 10, 1, 1, Decimal(300))
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(locale):
        last = metrics_block(cur, prev, "JPY")[-1]
    assert shown in last
    whole = Totals(Decimal(100), 10, 1, 1, Decimal(250))  # ROAS 2.5
    with i18n.context(), i18n.use_locale(locale):
        assert shown.replace("1.00", "2.50").replace("1,00", "2,50") in metrics_block(
            whole, prev, "JPY")[-1]


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_a_page_of_five_accounts_with_the_longest_names_fits_one_message(locale: str) -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    big = Totals(Decimal("123456789.12"), 987654321, 12345678, 123456, Decimal("98765432.1"))
    tracker = TrackerTotals(Decimal("123456789.12"), 1234567, 12345, 123, 45, Decimal("9876543.21"),
                            Decimal("12345.67"))
    accounts = [
        AccountStats(n, "Ω&<" * 86, str(n), "EUR", "Asia/Kolkata", now,
                     DateRange(date(2026, 11, 28), date(2026, 12, 4)), big, big, None, tracker,
                     Decimal("1234567.89"))
        for n in range(5)
    ]
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(locale):
        text, _ = summary(Summary(accounts, {"EUR": Decimal("617283945.60")}), Period.LAST_7,
                          "Europe/Berlin", 0, now)
    shown = parse_html(text).text  # what Telegram counts: the text without its markup
    assert utf16_len(shown) <= MAX_TEXT, utf16_len(shown)
    assert "Ω&amp;&lt;" in text  # escaped, and cut with …
