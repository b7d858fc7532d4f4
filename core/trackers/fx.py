"""Currency rates the user sets (never fetched or guessed), and conversion with them.

A rate is stored as exact Decimal text: "1 EUR = 1.0842 USD" is (EUR, USD, "1.0842").

Decision on the inverse pair: a rate set for EUR→USD also converts USD→EUR, as 1 / rate. A user
who types "1 EUR = 1.0842 USD" means one exchange rate, not a one-way quote, and asking them to
set both directions would invite the two to disagree. If both directions are set, each
direction uses its own rate. Results are rounded half-up to micro-units (the storage precision
of money, 6 decimals); a direct conversion of an amount in micro-units by a rate with a few
decimals is usually exact, an inverse one (a division) is rounded there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.clock import Clock
from storage.models import FxRate
from storage.uow import UnitOfWorkFactory

MICRO = Decimal("0.000001")
MAX_RATE_CHARS = 40
_CURRENCY = re.compile(r"^[A-Z]{3}$")

Rates = Mapping[tuple[str, str], Decimal]


class NoRate(LookupError):
    """No rate converts `base` into `quote`: the user must set one (the pair is in the text)."""

    def __init__(self, base: str, quote: str) -> None:
        super().__init__(f"no exchange rate set for {base}→{quote}")
        self.base = base
        self.quote = quote


class BadRate(ValueError):
    """A typed rate or currency code that is not usable; `reason`: currency | same | rate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Rate:
    """One rate as shown: 1 `base` = `rate` `quote`."""

    base: str
    quote: str
    rate: Decimal
    set_at: datetime


def currency_code(text: str) -> str:
    """An upper-case ISO-style code ("usd" → "USD"); BadRate("currency") otherwise."""
    code = text.strip().upper()
    if not _CURRENCY.match(code):
        raise BadRate("currency")
    return code


def parse_rate(text: str) -> Decimal:
    """A typed positive rate ("92,5", "0.0108") as an exact Decimal; BadRate("rate") otherwise."""
    typed = text.strip().replace(",", ".").replace(" ", "")
    if not typed or len(typed) > MAX_RATE_CHARS:
        raise BadRate("rate")
    try:
        value = Decimal(typed)
    except InvalidOperation:
        raise BadRate("rate") from None
    if not _sane(value):
        raise BadRate("rate")
    return value


def _sane(value: Decimal) -> bool:
    """Positive, finite and of a size a rate has (10⁻¹² … 10¹²): never a billion-digit text."""
    return value.is_finite() and value > 0 and -12 <= value.adjusted() <= 12


async def set_rate(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, base: str, quote: str, rate: str | Decimal
) -> Rate:
    """Set (or replace) the user's rate 1 `base` = `rate` `quote`, stored as exact text."""
    base, quote = currency_code(base), currency_code(quote)
    if base == quote:
        raise BadRate("same")
    value = rate if isinstance(rate, Decimal) else parse_rate(rate)
    if not _sane(value):
        raise BadRate("rate")
    text = format(value.normalize(), "f")
    if len(text) > MAX_RATE_CHARS:
        raise BadRate("rate")
    now = clock.now()
    async with uow() as u:
        row = await u.trackers.rate(user_id, base, quote)
        if row is None:
            row = FxRate(user_id=user_id, base=base, quote=quote, rate=text, set_at=now)
            u.trackers.add_rate(row)
        else:
            row.rate, row.set_at = text, now
        u.audit.record(user_id, "fx.set", "fx_rate", f"{base}/{quote}", {"rate": text})
        await u.commit()
    return Rate(base, quote, Decimal(text), now)


async def list_rates(uow: UnitOfWorkFactory, user_id: int) -> list[Rate]:
    """The user's rates, by pair."""
    async with uow() as u:
        return [
            Rate(r.base, r.quote, Decimal(r.rate), r.set_at)
            for r in await u.trackers.rates(user_id)
        ]


async def delete_rate(uow: UnitOfWorkFactory, user_id: int, base: str, quote: str) -> bool:
    """Forget one of the user's rates; False if there was none."""
    base, quote = currency_code(base), currency_code(quote)
    async with uow() as u:
        row = await u.trackers.rate(user_id, base, quote)
        if row is None:
            return False
        await u.trackers.delete_rate(row)
        u.audit.record(user_id, "fx.deleted", "fx_rate", f"{base}/{quote}")
        await u.commit()
        return True


async def user_rates(uow: UnitOfWorkFactory, user_id: int) -> dict[tuple[str, str], Decimal]:
    """The user's rates as a mapping for `convert`."""
    return {(r.base, r.quote): r.rate for r in await list_rates(uow, user_id)}


def has_rate(base: str, quote: str, rates: Rates) -> bool:
    """True if `convert` can turn `base` into `quote` with these rates."""
    return base == quote or (base, quote) in rates or (quote, base) in rates


def convert(amount: Decimal, base: str, quote: str, rates: Rates,
            step: Decimal = MICRO) -> Decimal:
    """`amount` of `base` in `quote` (rounded half-up once, to `step`: micro-units unless
    told); NoRate if the user set no rate for the pair in either direction. The same currency
    is returned unchanged."""
    if base == quote:
        return amount
    direct = rates.get((base, quote))
    if direct is not None:
        return (amount * direct).quantize(step, rounding=ROUND_HALF_UP)
    inverse = rates.get((quote, base))
    if inverse is not None:
        return (amount / inverse).quantize(step, rounding=ROUND_HALF_UP)
    raise NoRate(base, quote)
