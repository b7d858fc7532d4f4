"""The stats screen's metric lines write a ROAS with two decimals in every language, so a ROAS
just under break-even never reads as a round 1."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.i18n import make_i18n
from bot.views.stats import metrics_block
from core.metrics import Totals


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
