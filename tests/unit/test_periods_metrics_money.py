"""Periods in the account's time zone, metric maths and money formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from core.metrics import Totals, change_pct
from core.money import money, number, parse_amount, percent, totals_by_currency
from core.periods import DateRange, Period, PeriodError, local_today, parse_custom, resolve

# 22:30 UTC on 29 Nov: already 30 Nov in Tokyo, still 29 Nov in New York.
NOW = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)


def test_today_is_the_accounts_own_day() -> None:
    assert local_today(NOW, "Asia/Tokyo") == date(2026, 11, 30)
    assert local_today(NOW, "America/New_York") == date(2026, 11, 29)
    tokyo = resolve(Period.TODAY, NOW, "Asia/Tokyo")
    assert (tokyo.start, tokyo.end, tokyo.until_hour) == (date(2026, 11, 30),) * 2 + (8,)
    assert tokyo.previous() == DateRange(date(2026, 11, 29), date(2026, 11, 29), 8)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Period.YESTERDAY, date(2026, 11, 28), date(2026, 11, 28)),
        (Period.LAST_7, date(2026, 11, 22), date(2026, 11, 28)),
        (Period.LAST_30, date(2026, 10, 30), date(2026, 11, 28)),
        (Period.THIS_MONTH, date(2026, 11, 1), date(2026, 11, 29)),
    ],
)
def test_periods_in_new_york(period: Period, start: date, end: date) -> None:
    r = resolve(period, NOW, "America/New_York")
    assert (r.start, r.end) == (start, end)
    prev = r.previous()
    assert prev.days == r.days and prev.end == start.fromordinal(start.toordinal() - 1)


def test_custom_ranges() -> None:
    today = date(2026, 11, 29)
    assert parse_custom("2026-11-01 2026-11-15", today) == DateRange(date(2026, 11, 1),
                                                                     date(2026, 11, 15))
    assert parse_custom("1.11-15.11", today) == DateRange(date(2026, 11, 1), date(2026, 11, 15))
    assert parse_custom("01.10.2026 — 31.10.26", today).days == 31
    for bad, why in [("yesterday", "expected two dates"), ("15.11-1.11", "ends before"),
                     ("1.11-31.12", "future"), ("31.02-01.03", "not a date"),
                     ("2024-01-01 2026-01-01", "longer than")]:
        with pytest.raises(PeriodError, match=why):
            parse_custom(bad, today)


def test_ratios_come_from_sums() -> None:
    a = Totals(Decimal("10.00"), 1000, 10, 1, Decimal("30"))
    b = Totals(Decimal("30.00"), 3000, 90, 3, Decimal("0"))
    t = a + b
    assert t == Totals(Decimal("40.00"), 4000, 100, 4, Decimal("30"))
    assert t.ctr == Decimal("2.5") and t.cpc == Decimal("0.4") and t.cpm == Decimal("10")
    assert t.cpa == Decimal("10") and t.conversion_rate == Decimal("4")
    assert t.roas == Decimal("0.75")
    empty = Totals()
    assert empty.ctr is None and empty.cpa is None and empty.roas is None


def test_change() -> None:
    assert change_pct(Decimal("120"), Decimal("100")) == Decimal("20")
    assert change_pct(80, 100) == Decimal("-20")
    assert change_pct(5, 0) is None and change_pct(None, 5) is None


def test_money_is_per_currency_and_localised() -> None:
    totals = totals_by_currency([("USD", Decimal("1.10")), ("EUR", Decimal("2")),
                                 ("USD", Decimal("2.20"))])
    assert totals == {"EUR": Decimal("2"), "USD": Decimal("3.30")}
    assert money(Decimal("1234.5"), "USD", "en") == "$1,234.50"
    assert money(Decimal("1234.5"), "RUB", "ru") == "1\xa0234,50\xa0₽"
    assert money(Decimal("1234"), "JPY", "en") == "¥1,234"
    assert number(1234567, "ru") == "1\xa0234\xa0567"
    # Half-up, as people round money (Babel alone would round half-even: 12.34%, $0.12).
    assert percent(Decimal("12.345"), "en") == "12.35%"
    assert money(Decimal("0.125"), "USD", "en") == "$0.13"
    assert number(Decimal("2.5"), "en") == "3"


def test_money_number_and_percent_write_what_babel_writes_rounded_half_up() -> None:
    import random

    from babel.numbers import (
        format_currency,
        format_decimal,
        format_percent,
        get_currency_precision,
    )

    def _half_up(v: Decimal, digits: int) -> Decimal:
        return v.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)

    def babel_money(v: Decimal, cur: str, loc: str) -> str:
        return format_currency(_half_up(v, get_currency_precision(cur)), cur, locale=loc)

    def babel_number(v: Decimal, loc: str, digits: int) -> str:
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(_half_up(v, digits), format=pattern, locale=loc)

    def babel_percent(v: Decimal, loc: str) -> str:
        return format_percent(_half_up(v, 2) / 100, format="#,##0.00%", locale=loc)

    rng = random.Random(16)
    for loc in ("en", "ru"):
        for cur in ("USD", "EUR", "JPY", "RUB", "KWD"):
            for _ in range(500):
                v = Decimal(rng.randint(-10**9, 10**9)) / Decimal(10 ** rng.randint(0, 6))
                assert money(v, cur, loc) == babel_money(v, cur, loc)
        for _ in range(500):
            v = Decimal(rng.randint(-10**9, 10**9)) / Decimal(10 ** rng.randint(0, 6))
            digits = rng.choice([0, 1, 2])
            assert number(v, loc, digits) == babel_number(v, loc, digits)
            signed = Decimal(rng.randint(-10**7, 10**7)) / Decimal(10 ** rng.randint(0, 5))
            assert percent(signed, loc) == babel_percent(signed, loc)


def test_typed_amounts_take_either_decimal_mark_but_never_guess_a_thousand() -> None:
    assert [parse_amount(t) for t in ("120", "45,50", "$9.99", "1,5", "1000", "1250,50")] == [
        Decimal(120), Decimal("45.50"), Decimal("9.99"), Decimal("1.5"), Decimal(1000),
        Decimal("1250.50")]
    # "1,000" is a thousand in English and one in Russian: refused, to be typed unambiguously.
    assert [parse_amount(t) for t in ("1,000", "25,000", " $100,000 ", "0", "1.234")] == [
        None, None, None, None, None]
