"""core.changes pure parts: target_budget maths, Change validation, known minimums."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.changes import CENT, Change, budget_minimum, target_budget

D = Decimal


@pytest.mark.parametrize(
    ("current", "mode", "value", "floor", "ceiling", "minimum", "want"),
    [
        (D(100), "set", D(75), None, None, D(20), D("75.00")),
        (D(100), "pct", D(20), None, None, D(20), D("120.00")),
        (D(100), "pct", D(-30), None, None, D(20), D("70.00")),
        (D("33.33"), "pct", D(10), None, None, None, D("36.66")),  # 36.663 -> 36.66
        (D("33.35"), "pct", D(10), None, None, None, D("36.69")),  # 36.685 -> half up
        (D(100), "amount", D(-25), None, None, D(20), D("75.00")),
        (D(30), "amount", D(-25), None, None, D(20), D("20.00")),  # TikTok's minimum
        (D(30), "amount", D(-25), D(28), None, D(20), D("28.00")),  # the rule's floor
        (D(100), "pct", D(100), None, D(150), D(20), D("150.00")),  # the rule's ceiling
        (D(100), "set", D(10), D("20.001"), None, None, D("20.01")),  # bounds round inwards
        (D(100), "set", D(500), None, D("99.999"), None, D("99.99")),
        (D(100), "pct", D(-100), None, None, None, D("0.01")),  # never zero or negative
    ],
)
def test_target_budget_examples(
    current: Decimal,
    mode: str,
    value: Decimal,
    floor: Decimal | None,
    ceiling: Decimal | None,
    minimum: Decimal | None,
    want: Decimal,
) -> None:
    got = target_budget(current, mode, value, floor, ceiling, minimum)  # type: ignore[arg-type]
    assert got == want and got.as_tuple().exponent == -2


def test_target_budget_rejects_impossible_bounds_and_modes() -> None:
    with pytest.raises(ValueError, match="ceiling"):
        target_budget(D(100), "set", D(50), D(60), D(40), None)
    with pytest.raises(ValueError, match="ceiling"):
        target_budget(D(100), "set", D(50), None, D(40), D(50))
    with pytest.raises(ValueError, match="mode"):
        target_budget(D(100), "double", D(2), None, None, None)  # type: ignore[arg-type]


money = st.decimals(min_value=D("0.01"), max_value=D(1_000_000), places=2)
odd_money = st.decimals(min_value=D("0.001"), max_value=D(1_000_000), places=4)


@settings(max_examples=400, deadline=None)
@given(
    current=money,
    mode=st.sampled_from(["set", "pct", "amount"]),
    value=st.decimals(min_value=D(-1_000_000), max_value=D(1_000_000), places=3),
    floor=st.none() | odd_money,
    ceiling=st.none() | odd_money,
    minimum=st.none() | odd_money,
)
def test_target_budget_stays_within_bounds_in_cents(
    current: Decimal,
    mode: str,
    value: Decimal,
    floor: Decimal | None,
    ceiling: Decimal | None,
    minimum: Decimal | None,
) -> None:
    lower = max(CENT, floor or CENT, minimum or CENT)  # a budget is at least one cent
    if ceiling is not None:
        # Satisfiable bounds only: some whole-cent amount lies in [lower, ceiling].
        assume(lower.quantize(CENT, rounding="ROUND_CEILING") <= ceiling)
    got = target_budget(current, mode, value, floor, ceiling, minimum)  # type: ignore[arg-type]
    assert got == got.quantize(CENT) and got.as_tuple().exponent == -2
    assert got >= lower and got > 0
    if ceiling is not None:
        assert got <= ceiling


@given(current=money, value=money)
def test_target_budget_unbounded_is_the_rounded_maths(current: Decimal, value: Decimal) -> None:
    assert target_budget(current, "set", value) == value
    assert target_budget(current, "amount", value) == current + value
    pct = target_budget(current, "pct", value)
    assert abs(pct - current * (100 + value) / 100) <= D("0.005")


def test_change_validation() -> None:
    Change("status", "DISABLE")
    Change("budget", D("12.50"))
    for kind, value in [
        ("status", "DELETE"),
        ("status", "paused"),
        ("budget", D("12.505")),
        ("budget", D(0)),
        ("bid", D(-1)),
        ("bid", 1.5),
        ("budget", D("NaN")),
        ("name", "x"),
    ]:
        with pytest.raises(ValueError):
            Change(kind, value)  # type: ignore[arg-type]


def test_budget_minimum_known_only_for_usd_daily() -> None:
    assert budget_minimum("campaign", "USD", "BUDGET_MODE_DAY") == D(50)
    assert budget_minimum("adgroup", "usd", "BUDGET_MODE_DYNAMIC_DAILY_BUDGET") == D(20)
    assert budget_minimum("adgroup", "EUR", "BUDGET_MODE_DAY") is None
    assert budget_minimum("campaign", "USD", "BUDGET_MODE_TOTAL") is None
    assert budget_minimum("campaign", None, "BUDGET_MODE_DAY") is None
