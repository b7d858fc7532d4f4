"""Conditions tested on a window's integer sums (money in micros), with the Decimal results.

Why: a batch of rules tests tens of thousands of (rule, object) pairs. Making every window's
`Totals` (two Decimals each) and a Decimal ratio per test was most of a batch's time, though
most windows are never shown to anyone. Here the engine keeps each window as the five sums the
database returns — `Sums`: spend micros, impressions, clicks, conversions, purchase value micros
— tests `metric op number` on them, and makes a `Totals` only where one is read (`Windows`).

The answers are those of core.rules.evaluate on the Totals the Decimal way makes:
- a money sum is `Decimal(micros).scaleb(-6)`; comparing it (or a count) with a threshold
  `T = n/d` is comparing integers with an integer bound derived from `T` exactly;
- a ratio is one Decimal division `a / b` of exact operands, rounded to the context's
  precision; its comparison with `T` is decided by the sign of `a·d − n·b` when `a/b` lies
  farther from `T` than that rounding can move it, and by the Decimal division otherwise
  (only when `a/b` is `T` or within 10⁻²⁷ of it); an undefined ratio (`b` = 0) never holds;
- only sums in [0, LIMIT) are tested this way (each test checks those it reads), so every
  Decimal operand above is exact; anything else is tested the Decimal way.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from core.metrics import Totals
from core.rules.evaluate import ATTRS, COMPARE, Facts, compiled
from core.rules.model import Condition, Group, Op, Window

Sums = tuple[int, int, int, int, int]
ZERO: Sums = (0, 0, 0, 0, 0)
LIMIT = 10**18  # micros: a trillion in any currency; counts far past any account's
# Where each summed metric sits in Sums, and its unit (money is held in micros).
_RAW = {
    "spend": (0, 10**6),
    "impressions": (1, 1),
    "clicks": (2, 1),
    "conversions": (3, 1),
    "purchase_value": (4, 10**6),
}
# Ratios as core.metrics.Totals computes them, as `(Sums[i] · mi) / (Sums[j] · mj)`: the same
# exact quotient (money's micros scaled to match), e.g. cpc = spend / clicks = µ / (clicks·10⁶).
_RATIOS = {
    "ctr": (2, 100, 1, 1),
    "cpc": (0, 1, 2, 10**6),
    "cpm": (0, 1000, 1, 10**6),
    "cpa": (0, 1, 3, 10**6),
    "cvr": (3, 100, 2, 1),
    "roas": (4, 1, 0, 1),
}
# Every metric of the sums as such a quotient (a summed one over a constant: its unit).
_SHAPES: dict[str, tuple[int, int, int | None, int]] = {
    **{name: (i, 1, None, unit) for name, (i, unit) in _RAW.items()},
    **_RATIOS,
}
Candidate = tuple[Any, Facts, Mapping[Window, Sums]]  # (object, facts, sums per window)
Filter = Callable[[list[Candidate], datetime], list[Candidate]]


def totals(sums: Sums) -> Totals:
    """The window value the Decimal way makes from these sums."""
    return Totals.of(
        Decimal(sums[0]).scaleb(-6), sums[1], sums[2], sums[3], Decimal(sums[4]).scaleb(-6)
    )


class Windows(Mapping[Window, Totals]):
    """An object's window values (Facts.windows), each made from its sums when first read."""

    __slots__ = ("_made", "sums")

    def __init__(self, sums: Mapping[Window, Sums]) -> None:
        self.sums = sums
        self._made: dict[Window, Totals] | None = None  # most objects' are never read

    def __getitem__(self, window: Window) -> Totals:
        if self._made is None:
            self._made = {}
        made = self._made.get(window)
        if made is None:
            made = self._made[window] = totals(self.sums[window])
        return made

    def __iter__(self) -> Iterator[Window]:
        return iter(self.sums)

    def __len__(self) -> int:
        return len(self.sums)


def _bound(op: Op, limit: Fraction) -> Callable[[int], bool]:
    """`x op limit` for integers x, as one integer comparison."""
    if op in (Op.EQ, Op.NE):
        if limit.denominator != 1:
            return (lambda x: False) if op is Op.EQ else (lambda x: True)
        return _at(COMPARE[op], int(limit))
    if op in (Op.GT, Op.LE):
        return _at(COMPARE[op], math.floor(limit))  # x > 2.5 ⟺ x > 2; x <= 2.5 ⟺ x <= 2
    return _at(COMPARE[op], math.ceil(limit))  # x >= 2.5 ⟺ x >= 3; x < 2.5 ⟺ x < 3


def _at(compare: Callable[[int, int], bool], edge: int) -> Callable[[int], bool]:
    return lambda x: compare(x, edge)


def _predicate(cond: Condition) -> Callable[[Sums], bool] | None:
    """The condition as a test of one window's sums; None where it needs more than the sums
    (budgets, bids, ages, trackers, status, a ratio between, another metric between)."""
    if not cond.operand.value.is_finite() or decimal.getcontext().prec < 28:
        return None  # (operands below LIMIT, times 1000, stay exact at 28 digits)
    if cond.operand.metric is not None:
        if cond.op is Op.BETWEEN or not {cond.metric, cond.operand.metric} <= _SHAPES.keys():
            return None
        return _scaled(cond.metric, cond.op, cond.operand.value, cond.operand.metric)
    if cond.op is Op.BETWEEN:
        upper = cond.upper
        if cond.metric not in _RAW or upper is None or upper.metric is not None:
            return None
        if not upper.value.is_finite():
            return None
        index, unit = _RAW[cond.metric]
        low = math.ceil(Fraction(cond.operand.value) * unit)
        high = math.floor(Fraction(upper.value) * unit)
        lo, hi, attr = cond.operand.value, upper.value, cond.metric

        def between(s: Sums) -> bool:
            x = s[index]
            return low <= x <= high if 0 <= x < LIMIT else lo <= getattr(totals(s), attr) <= hi

        return between
    if cond.metric in _RAW:
        index, unit = _RAW[cond.metric]
        test = _bound(cond.op, Fraction(cond.operand.value) * unit)
        compare, value, attr = COMPARE[cond.op], cond.operand.value, cond.metric

        def raw(s: Sums) -> bool:
            x = s[index]
            return test(x) if 0 <= x < LIMIT else compare(getattr(totals(s), attr), value)

        return raw
    if cond.metric in _RATIOS:
        return _ratio(cond.metric, cond.op, cond.operand.value)
    return None


def _ratio(name: str, op: Op, value: Decimal) -> Callable[[Sums], bool]:
    i, mi, j, mj = _RATIOS[name]
    n, d = value.as_integer_ratio()
    compare, attr = COMPARE[op], ATTRS.get(name, name)
    # The quotient rounded to p digits is within 0.5·10^(1−p) of it (relative): farther from T
    # than 10^(1−p)·|a/b|, the rounded one lies on the same side of T and is not T.
    tolerance = 10 ** (decimal.getcontext().prec - 1)

    def test(s: Sums) -> bool:
        b, a = s[j], s[i]
        if not b:
            return False  # undefined (CPA without conversions): never matches
        if 0 < b < LIMIT and 0 <= a < LIMIT:
            b, a = b * mj, a * mi
            diff = a * d - n * b  # b, d > 0: the sign of a/b − T
            if diff and abs(diff) * tolerance > a * d:
                return compare(diff, 0)
        exact = getattr(totals(s), attr)  # at or next to T: as the Decimal division says
        return compare(exact, value)

    return test


def _scaled(name: str, op: Op, factor: Decimal, other: str) -> Callable[[Sums], bool]:
    """`name op factor × other` (both of the sums, in one window): L = A1/B1 against
    R = f·A2/B2. The Decimal way rounds L, the base of R and the product, each by at most
    0.5·10^(1−p) relative, so farther apart than 10^(2−p)·(|L| + |R|), L and R compare as
    their rounded values do (and differ); nearer, the Decimal values decide."""
    i1, m1, j1, d1 = _SHAPES[name]
    i2, m2, j2, d2 = _SHAPES[other]
    fn, fd = factor.as_integer_ratio()
    compare, attr1, attr2 = COMPARE[op], ATTRS.get(name, name), ATTRS.get(other, other)
    tolerance = 10 ** (decimal.getcontext().prec - 2)

    def test(s: Sums) -> bool:
        b1 = d1 if j1 is None else s[j1]
        b2 = d2 if j2 is None else s[j2]
        if not b1 or not b2:
            return False  # a ratio undefined on either side never matches
        a1, a2 = s[i1], s[i2]
        if 0 <= a1 < LIMIT and 0 <= a2 < LIMIT and 0 < b1 < LIMIT and 0 < b2 < LIMIT:
            a1, a2 = a1 * m1, a2 * m2
            if j1 is not None:
                b1 *= d1
            if j2 is not None:
                b2 *= d2
            left, right = a1 * fd * b2, fn * a2 * b1  # L − R has the sign of left − right
            diff = left - right
            if diff and abs(diff) * tolerance > left + abs(right):
                return compare(diff, 0)
        value, base = getattr(totals(s), attr1), getattr(totals(s), attr2)
        return value is not None and base is not None and compare(value, factor * base)

    return test


@lru_cache(maxsize=4096)
def filtered(node: Condition | Group) -> Filter:
    """The conditions as a filter of candidates, one condition at a time over all of them (an
    `and` tests its next part on what the last one kept; an `or`, on what none has matched):
    the same objects as `compiled(node)` tested one by one, in their order."""
    if isinstance(node, Condition):
        test = _predicate(node)
        if test is None:
            slow = compiled(node)
            return lambda cands, now: [c for c in cands if slow(c[1], now)]
        window = node.window
        return lambda cands, now: [c for c in cands if test(c[2].get(window, ZERO))]
    # Parts tested on the sums first: which objects pass does not depend on the order (the
    # tests have no effects), and the Decimal ones then see fewer objects (never more than
    # in the written order: none of them meets an object it would not have met).
    on_sums = [isinstance(i, Condition) and _predicate(i) is not None for i in node.items]
    parts = tuple(
        filtered(item)
        for first in (True, False)
        for item, fast in zip(node.items, on_sums, strict=True)
        if fast is first
    )
    if node.joiner == "and":

        def every(cands: list[Candidate], now: datetime) -> list[Candidate]:
            for part in parts:
                if not cands:
                    break
                cands = part(cands, now)
            return cands

        return every

    def some(cands: list[Candidate], now: datetime) -> list[Candidate]:
        held: set[int] = set()
        rest = cands
        for part in parts:
            if not rest:
                break
            held.update(map(id, part(rest, now)))
            rest = [c for c in rest if id(c) not in held]
        return [c for c in cands if id(c) in held]

    return some
