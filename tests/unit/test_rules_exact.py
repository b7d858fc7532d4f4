"""Conditions tested on integer sums (core.rules.exact) pick exactly the objects the Decimal way
picks (core.rules.evaluate.compiled on Totals), in the same order.

The sums and thresholds are drawn to hit the hard cases: zero denominators, thresholds equal to
a ratio's 28-digit Decimal value (which differs from the exact quotient by less than rounding)
and its neighbours, thresholds with many digits, negative and huge sums past the integer range.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.metrics import Totals
from core.rules.evaluate import Facts, compiled
from core.rules.exact import LIMIT, Sums, Windows, filtered, totals
from core.rules.model import Condition, Group, Op, Operand, Window
from core.rules.text import MAX_LENGTH, parse_rule

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
W1, W2 = Window("today"), Window("7d")
RAW = ("spend", "impressions", "clicks", "conversions", "purchase_value")
RATIOS = ("ctr", "cpc", "cpm", "cpa", "cvr", "roas")
COMPARISONS = (Op.GT, Op.GE, Op.LT, Op.LE, Op.EQ, Op.NE)

counts = st.one_of(
    st.integers(0, 3),
    st.integers(0, 10**7),
    st.integers(LIMIT - 2, LIMIT + 2),  # at and past the integer range: the Decimal way
    st.integers(-5, -1),  # never from TikTok; still answered as the Decimal way answers
)
sums: st.SearchStrategy[Sums] = st.tuples(counts, counts, counts, counts, counts)


def _value(name: str, s: Sums) -> Decimal | int | None:
    attr = {"cvr": "conversion_rate"}.get(name, name)
    return getattr(totals(s), attr)  # type: ignore[no-any-return]


@st.composite
def threshold(draw: st.DrawFn, name: str, s: Sums) -> Decimal:
    """A threshold near this object's own value (where rounding could tell), or anywhere."""
    value = _value(name, s)
    anywhere = st.decimals(-(10**6), 10**7, allow_nan=False, allow_infinity=False, places=4)
    if value is None:
        return draw(anywhere)
    v = Decimal(value)
    near = [v, v.next_plus(), v.next_minus(), v + Decimal("1e-30")]
    if v.adjusted() < 15:  # (quantizing past 28 digits is an error)
        near += [round(v, 2), round(v, 6)]
    return draw(st.sampled_from(near) | anywhere)


@st.composite
def condition(draw: st.DrawFn, s: Sums) -> Condition:
    name = draw(st.sampled_from(RAW + RATIOS))
    window = draw(st.sampled_from((W1, W2)))
    if name in RAW and draw(st.booleans()):
        low, high = sorted((draw(threshold(name, s)), draw(threshold(name, s))))
        return Condition(name, Op.BETWEEN, Operand(low), window, Operand(high))
    op = draw(st.sampled_from(COMPARISONS))
    if draw(st.booleans()):
        # `name op factor x other`, the factor near the one that makes both sides equal.
        other = draw(st.sampled_from(RAW + RATIOS))
        left, base = _value(name, s), _value(other, s)
        factors = [Decimal("1.5"), Decimal(1), Decimal("-2"), Decimal("0.3333")]
        if left is not None and base:
            tie = Decimal(left) / Decimal(base)
            factors += [tie, tie.next_plus(), tie.next_minus()]
            factors += [round(tie, 3)] if tie.adjusted() < 20 else []
        # Only factors a rule can say: its numbers are plain digits in at most MAX_LENGTH
        # characters. (The neighbours of a zero tie, ±1E-1000026, are not: there the Decimal
        # way's product underflows to zero, and the exact way rightly disagrees.)
        factors = [f for f in factors if f == 0 or abs(f.adjusted()) < MAX_LENGTH]
        return Condition(name, op, Operand(draw(st.sampled_from(factors)), other), window)
    return Condition(name, op, Operand(draw(threshold(name, s))), window)


def _facts(per: dict[Window, Sums], lazy: bool) -> Facts:
    windows = Windows(per) if lazy else {w: totals(s) for w, s in per.items()}
    return Facts("o", "o", Decimal(50), None, windows)


Cands = list[tuple[int, Facts, dict[Window, Sums]]]


def _decimal_way(node: Condition | Group, cands: Cands) -> list[int]:
    test = compiled(node)
    return [c[0] for c in cands if test(c[1], NOW)]


@settings(max_examples=400, deadline=None)
@given(data=st.data(), objects=st.lists(st.tuples(sums, sums), min_size=1, max_size=6))
def test_one_condition_picks_what_the_decimal_way_picks(data: st.DataObject, objects: list) -> None:
    per = [{W1: a, W2: b} for a, b in objects]
    # Thresholds drawn from the objects' own values (the near-ties are what could differ).
    cond = data.draw(condition(per[data.draw(st.integers(0, len(per) - 1))][W1]))
    cands = [(i, _facts(p, lazy=True), p) for i, p in enumerate(per)]
    plain = [(i, _facts(p, lazy=False), p) for i, p in enumerate(per)]
    assert [c[0] for c in filtered(cond)(cands, NOW)] == _decimal_way(cond, plain)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), objects=st.lists(st.tuples(sums, sums), min_size=1, max_size=8))
def test_and_or_groups_pick_the_same_objects_in_the_same_order(
    data: st.DataObject, objects: list
) -> None:
    per = [{W1: a, W2: b} for a, b in objects]
    pick = st.integers(0, len(per) - 1)
    # Parts tested the Decimal way inside: another metric as operand, the budget.
    slow = st.sampled_from(
        [
            Condition("cpa", Op.GT, Operand(Decimal("1.5"), "cpa"), W2),
            Condition("budget_spent_pct", Op.GE, Operand(Decimal(80)), W1),
        ]
    )
    leaf = st.one_of(st.deferred(lambda: condition(per[data.draw(pick)][W1])), slow)
    inner = st.builds(lambda j, items: Group(j, tuple(items)), st.sampled_from(["and", "or"]),
                      st.lists(leaf, min_size=2, max_size=3))
    node = data.draw(st.builds(lambda j, items: Group(j, tuple(items)),
                               st.sampled_from(["and", "or"]),
                               st.lists(leaf | inner, min_size=2, max_size=3)))
    cands = [(i, _facts(p, lazy=True), p) for i, p in enumerate(per)]
    plain = [(i, _facts(p, lazy=False), p) for i, p in enumerate(per)]
    assert [c[0] for c in filtered(node)(cands, NOW)] == _decimal_way(node, plain)


def test_a_ratio_rounded_onto_the_threshold_is_judged_as_the_decimal_way_judges_it() -> None:
    # 1/3 is 0.3333333333333333333333333333 in 28 digits: the exact quotient is above that
    # threshold, the Decimal one equals it. The rule reads the Decimal one.
    s: Sums = (1_000_000, 0, 3, 0, 0)  # spend 1.000000, 3 clicks
    t = Decimal(1) / Decimal(3)
    per = {W1: s}
    cands = [(0, _facts(per, lazy=True), per)]
    for op, held in ((Op.GT, False), (Op.GE, True), (Op.EQ, True), (Op.NE, False)):
        cond = Condition("cpc", op, Operand(t), W1)
        assert len(filtered(cond)(cands, NOW)) == held, op


def test_a_missing_window_reads_zero_and_an_undefined_ratio_never_holds() -> None:
    rule = parse_rule(
        "ad: spend < 1 in today and cpa > 0 in today or conversions = 0 in 7d -> pause"
    )
    # Object 0 has no rows at all (every window reads zero: no CPA, no conversions); object 1
    # has conversions in 7 days, none today.
    seven: dict[Window, Sums] = {W2: (5, 9, 9, 9, 0)}
    cands = [(0, _facts({}, lazy=True), {}), (1, _facts(seven, lazy=True), seven)]
    assert [c[0] for c in filtered(rule.when)(cands, NOW)] == [0]
    assert [c[0] for c in filtered(rule.when)(cands[1:], NOW)] == []


def test_window_values_are_made_when_read_and_equal_the_decimal_ones() -> None:
    s: Sums = (1_234_500, 10, 2, 1, 7)
    lazy = Windows({W1: s})
    assert dict(lazy) == {W1: Totals(Decimal("1.2345"), 10, 2, 1, Decimal("0.000007"))}
    assert repr(lazy[W1].spend) == "Decimal('1.234500')"  # the exponent the Decimal way gives
    assert lazy.get(W2) is None and W2 not in lazy and len(lazy) == 1


def test_a_metric_against_a_factor_of_another_at_a_near_tie_reads_the_decimal_values() -> None:
    # cpc (1/3) against f × cpa (1/7), with f the Decimal quotient of the two and its
    # neighbours: the exact sides differ by far less than rounding; the Decimal sides decide.
    told = 0
    for s in ((1_000_000, 5, 3, 7, 0), (2_000_000, 9, 7, 3, 5), (10_000_000, 3, 9, 11, 1)):
        per: dict[Window, Sums] = {W1: s}
        cands = [(0, _facts(per, lazy=True), per)]
        plain = [(0, _facts(per, lazy=False), per)]
        for name, other in (("cpc", "cpa"), ("cpa", "cpc"), ("ctr", "cvr"), ("spend", "cpa")):
            left, base = _value(name, s), _value(other, s)
            assert left is not None and base
            tie = Decimal(left) / Decimal(base)
            for factor in (tie, tie.next_plus(), tie.next_minus()):
                for op in COMPARISONS:
                    cond = Condition(name, op, Operand(factor, other), W1)
                    picked = [c[0] for c in filtered(cond)(cands, NOW)]
                    assert picked == _decimal_way(cond, plain), (s, name, other, factor, op)
                    told += bool(picked)
    assert told  # some hold, some do not
