"""Money: Decimal amounts, per-currency totals, Babel formatting in the reader's locale."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision


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
    return format_currency(_half_up(amount, get_currency_precision(currency)), currency,
                           locale=locale)


def number(value: Decimal | int, locale: str, digits: int = 0) -> str:
    """A grouped number with at most `digits` decimals."""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(_half_up(Decimal(value), digits), format=pattern, locale=locale)


def percent(value: Decimal, locale: str) -> str:
    """A percentage given in percent units (12.345 → `12.35%`)."""
    return format_percent(_half_up(value, 2) / 100, format="#,##0.00%", locale=locale)


# The longest typed amount worth reading: 15 digits, a separator and two decimals, with room.
MAX_AMOUNT_CHARS = 24


def parse_amount(text: str) -> Decimal | None:
    """A typed positive amount in whole cents (`120`, `45,50`, `$9.99`); None otherwise."""
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
