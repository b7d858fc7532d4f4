"""Money: Decimal amounts, per-currency totals, Babel formatting in the reader's locale."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import (
    format_currency,
    format_percent,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
)


def _half_up(value: Decimal, digits: int) -> Decimal:
    # Babel rounds half-even (banker's rounding); people reading money expect 0.125 → 0.13.
    return Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def totals_by_currency(items: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Sum amounts per currency; amounts in different currencies are never added together."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in items:
        out[currency] += amount
    return dict(sorted(out.items()))


def money(amount: Decimal, currency: str, locale: str) -> str:
    """`$1,234.50` / `1 234,50 $` as the locale writes it (currency's own decimal places)."""
    return formatter(locale).money(amount, currency)


def number(value: Decimal | int, locale: str, digits: int = 0, fixed: bool = False) -> str:
    """A grouped number with at most `digits` decimals (exactly `digits` when `fixed`)."""
    return formatter(locale).number(value, digits, fixed)


def percent(value: Decimal, locale: str) -> str:
    """A percentage given in percent units (12.345 → `12.35%`)."""
    return formatter(locale).percent(value)


# The longest typed amount worth reading: 15 digits, a separator and two decimals, with room.
MAX_AMOUNT_CHARS = 24


# "1,000": a thousand where a comma groups digits, one where it marks decimals. Neither reading
# is safe for money, so such an amount is refused (the user retypes it as 1000 or 1.00).
_COMMA_THOUSANDS = re.compile(r"[0-9]{1,3},[0-9]{3}")


def ambiguous_comma(text: str) -> bool:
    """Whether a typed amount reads as a thousand or as one, as the comma is taken."""
    return _COMMA_THOUSANDS.fullmatch(text.strip().lstrip("$")) is not None


def parse_amount(text: str) -> Decimal | None:
    """A typed positive amount in whole cents (`120`, `45,50`, `$9.99`); None otherwise
    (also for `1,000`, see ambiguous_comma)."""
    if ambiguous_comma(text):
        return None
    typed = text.strip().replace(",", ".").lstrip("$")
    if len(typed) > MAX_AMOUNT_CHARS:  # no budget or bid is written with more
        return None
    try:
        value = Decimal(typed)
        # quantize refuses (InvalidOperation) a value with more digits than the context holds,
        # e.g. `1e100`: no amount anyone means.
        if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
            return None
    except InvalidOperation:
        return None
    return value


class Formatter:
    """Money, numbers and percentages as Babel writes them in one locale, rounded half-up.

    Babel parses its pattern and looks the locale up on every call (a stats screen's dozen
    amounts cost more than its queries; the dashboard's tables format thousands): this asks
    Babel once per currency for the shape around the digits and writes the digits with Python's
    own formatting. tests/unit/test_periods_metrics_money.py compares the two on random values.
    """

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._group = get_group_symbol(locale)
        self._decimal = get_decimal_symbol(locale)
        self._money: dict[str, tuple[str, str, int]] = {}

    def _digits(self, value: Decimal, places: int, optional: bool) -> str:
        text = f"{value:,.{places}f}"
        if optional and "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.replace(",", "\0").replace(".", self._decimal).replace("\0", self._group)

    def number(self, value: Decimal | int, digits: int = 0, fixed: bool = False) -> str:
        """As number(value, locale, digits, fixed)."""
        return self._digits(_half_up(Decimal(value), digits), digits, optional=not fixed)

    def percent(self, value: Decimal) -> str:
        """As percent(value, locale)."""
        shape = self._money.get("%")
        if shape is None:
            one = self._digits(Decimal(1), 2, optional=False)
            sample = format_percent(Decimal("0.01"), format="#,##0.00%", locale=self.locale)
            prefix, _, suffix = sample.partition(one)
            shape = self._money["%"] = (prefix, suffix, 2)
        prefix, suffix, places = shape
        rounded = _half_up(value, places)
        sign = "-" if rounded < 0 else ""
        return f"{sign}{prefix}{self._digits(abs(rounded), places, optional=False)}{suffix}"

    def money(self, amount: Decimal, currency: str) -> str:
        """As money(amount, currency, locale)."""
        shape = self._money.get(currency)
        if shape is None:
            places = get_currency_precision(currency)
            one = self._digits(Decimal(1), places, optional=False)
            sample = format_currency(Decimal(1), currency, locale=self.locale)
            prefix, _, suffix = sample.partition(one)
            shape = self._money[currency] = (prefix, suffix, places)
        prefix, suffix, places = shape
        value = _half_up(amount, places)
        sign = "-" if value < 0 else ""
        return f"{sign}{prefix}{self._digits(abs(value), places, optional=False)}{suffix}"


_FORMATTERS: dict[str, Formatter] = {}


def formatter(locale: str) -> Formatter:
    """The locale's formatter, made once."""
    found = _FORMATTERS.get(locale)
    if found is None:
        found = _FORMATTERS[locale] = Formatter(locale)
    return found
