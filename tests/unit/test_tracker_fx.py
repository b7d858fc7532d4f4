"""User-set currency rates: exact text storage, the inverse pair as 1 / rate, a clear refusal
without a rate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.trackers import fx
from core.trackers.fx import BadRate, NoRate, convert, parse_rate
from storage.db import session_factory
from storage.models import FxRate
from storage.uow import UnitOfWorkFactory
from tests.unit.tracker_fakes import NOW, OTHER, USER, seed_user


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


def test_typed_rates_are_exact_decimals() -> None:
    assert parse_rate(" 92,5 ") == Decimal("92.5")
    assert parse_rate("0.000123456789012345678901") == Decimal("0.000123456789012345678901")
    for bad in ("", "0", "-1", "abc", "1e999999999", "NaN", "inf", "1" * 41):
        with pytest.raises(BadRate):
            parse_rate(bad)


def test_convert_direct_inverse_same_and_missing() -> None:
    rates = {("EUR", "USD"): Decimal("1.0842")}
    assert convert(Decimal("100"), "EUR", "USD", rates) == Decimal("108.42")
    assert convert(Decimal("108.42"), "USD", "EUR", rates) == Decimal("100")
    assert convert(Decimal("1"), "USD", "EUR", rates) == Decimal("0.922339")  # micro, half-up
    assert convert(Decimal("7.1"), "RUB", "RUB", {}) == Decimal("7.1")
    with pytest.raises(NoRate) as err:
        convert(Decimal(1), "USD", "RUB", rates)
    assert (err.value.base, err.value.quote) == ("USD", "RUB")
    assert "USD→RUB" in str(err.value)
    # A pair set both ways uses each direction's own rate.
    both = {("EUR", "USD"): Decimal("1.1"), ("USD", "EUR"): Decimal("0.9")}
    assert convert(Decimal(10), "USD", "EUR", both) == Decimal("9.0")


async def test_rates_are_per_user_stored_as_text_and_deletable(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    await seed_user(uow, OTHER)
    clock = FixedClock(NOW)
    await fx.set_rate(uow, clock, USER, "eur", "usd", "1.08420")
    await fx.set_rate(uow, clock, USER, "EUR", "USD", "1.0843")  # replaces
    await fx.set_rate(uow, clock, USER, "USD", "RUB", Decimal("92.5"))
    with pytest.raises(BadRate) as err:
        await fx.set_rate(uow, clock, USER, "USD", "USD", "1")
    assert err.value.reason == "same"
    with pytest.raises(BadRate):
        await fx.set_rate(uow, clock, USER, "US", "EUR", "1")
    shown = await fx.list_rates(uow, USER)
    assert [(r.base, r.quote, r.rate) for r in shown] == [
        ("EUR", "USD", Decimal("1.0843")), ("USD", "RUB", Decimal("92.5"))]
    assert await fx.list_rates(uow, OTHER) == []
    async with uow() as u:
        stored = await u.session.get(FxRate, (USER, "EUR", "USD"))
        assert stored is not None and stored.rate == "1.0843"
    assert await fx.delete_rate(uow, USER, "usd", "rub")
    assert not await fx.delete_rate(uow, USER, "USD", "RUB")
    assert await fx.user_rates(uow, USER) == {("EUR", "USD"): Decimal("1.0843")}
