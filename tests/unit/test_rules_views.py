"""Rule screens say what a bid condition read, and what a preview or backtest could not know."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.callbacks import RulesCb
from bot.i18n import make_i18n
from bot.views import rule_checks
from bot.views import rules as view
from core.rules.backtest import Backtest
from core.rules.engine import Evaluation


def test_bid_readings_name_no_window_and_say_when_there_is_none() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert view.reading_text("target", "3d", False, Decimal("12.5"), "USD") == (
            "target (bid): $12.50"
        )
        assert view.reading_text("bid", "today", False, None, "USD") == (
            "bid: none (automatic bidding)"
        )
    with i18n.context(), i18n.use_locale("ru"):
        assert "ставка" in view.reading_text("target", "3d", False, Decimal(1), "USD")


def test_preview_and_backtest_say_what_they_did_not_know_about_bids() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text = rule_checks.preview(Evaluation(checked=5, no_bid=3), {}, "UTC")
        assert "3 of them have no bid of their own" in text
        assert "no bid" not in rule_checks.preview(Evaluation(checked=5), {}, "UTC")

        def shown(bt: Backtest) -> str:
            return rule_checks.backtest(
                bt, 7, "UTC", lambda d: RulesCb(a="bt", v=d), RulesCb(a="list")
            )[0]

        blank = Backtest(7, 7, (), (), 168, 2, 0, [], [])
        assert "bid" not in shown(blank).lower()
        assert "No bid history is recorded yet" in shown(
            Backtest(7, 7, (), (), 168, 2, 0, [], [], bids_assumed=168)
        )
        since = Backtest(
            7,
            7,
            (),
            (),
            168,
            2,
            0,
            [],
            [],
            bids_assumed=10,
            bids_known_from=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        )
        assert "Bids are recorded since 25.11 09:30" in shown(since)
