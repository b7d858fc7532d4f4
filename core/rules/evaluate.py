"""Evaluating a rule's conditions for one object (or the sum of a scope) from summed metrics.

The sums come from aggregate queries (storage.repos.rules.window_sums): one per ad account and
level for all windows a batch of rules needs. This module only combines those sums — every
ratio is derived from summed raw counts, as in stats (core.metrics).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from core.metrics import Totals
from core.rules.model import (
    BID_METRICS,
    STATUS,
    TRACKER_METRICS,
    Condition,
    Group,
    Op,
    Operand,
    RuleSpec,
    Window,
)
from core.rules.tracker import TrackerSums, tracker_metric

_HUNDRED = Decimal(100)
_DAY_SECONDS = Decimal(86400)
# A metric as the rule language names it → the attribute of Totals that holds it.
ATTRS = {"cvr": "conversion_rate"}
COMPARE = {
    Op.GT: operator.gt,
    Op.GE: operator.ge,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
}
_NOTHING = Totals()


@dataclass
class Facts:
    """What is known about one object (or a summed scope) when a rule looks at it."""

    object_id: str
    name: str
    budget: Decimal | None
    created_time: datetime | None
    # Per window its sums (a dict, or core.rules.exact.Windows: made when read).
    windows: Mapping[Window, Totals] = field(default_factory=dict)
    status: str | None = None  # core.rules.model.status_word, as last synced
    # The ad group's own bid (an ad's: its ad group's) as synced, or at the replayed hour in a
    # backtest; None where there is none (automatic bidding, campaigns).
    bid: Decimal | None = None
    # The tracker's sums per window the rule reads them in (core.rules.tracker); a window
    # missing (or None: all of them) means the tracker has no data for the object there.
    tracker: dict[Window, TrackerSums] | None = None


@dataclass(frozen=True)
class Reading:
    """One condition's metric as it was read: the explanation in an alert."""

    metric: str
    window: Window
    value: Decimal | None
    word: str | None = None  # for a status condition: the status read


def leaves(node: Condition | Group) -> Iterator[Condition]:
    """Every condition of a rule, left to right."""
    if isinstance(node, Condition):
        yield node
    else:
        for item in node.items:
            yield from leaves(item)


def windows_of(spec: RuleSpec) -> set[Window]:
    """The windows a rule reads."""
    return {c.window for c in leaves(spec.when)}


def reads_bid(spec: RuleSpec) -> bool:
    """Whether a rule reads the bid (`bid`, `target`) on either side of a condition."""
    return any(
        name in BID_METRICS
        for c in leaves(spec.when)
        for name in (c.metric, c.operand.metric, c.upper.metric if c.upper else None)
    )


def metric(name: str, facts: Facts, window: Window, now: datetime) -> Decimal | None:
    """A metric of `facts` over `window`; None when undefined (CPA without conversions)."""
    totals = facts.windows.get(window, _NOTHING)
    if name == "budget":
        return facts.budget
    if name in BID_METRICS:
        return facts.bid
    if name == "budget_spent_pct":
        if not facts.budget:
            return None
        return totals.spend * _HUNDRED / facts.budget
    if name == "age_days":
        if facts.created_time is None:
            return None
        return Decimal(int((now - facts.created_time).total_seconds())) / _DAY_SECONDS
    if name in TRACKER_METRICS:
        sums = facts.tracker.get(window) if facts.tracker is not None else None
        return tracker_metric(name, sums, totals.spend)
    value = totals.metric(ATTRS.get(name, name))
    return None if value is None else Decimal(value)


Getter = Callable[[Facts, datetime], "Decimal | int | None"]
Test = Callable[[Facts, datetime], bool]


_OWN = ("budget", "budget_spent_pct", "age_days", *BID_METRICS, *TRACKER_METRICS)


def _getter(name: str, window: Window) -> Getter:
    """A metric as a function of the facts (ints and Decimals compare exactly as they are)."""
    if name in _OWN:
        return lambda facts, now: metric(name, facts, window, now)
    read = operator.attrgetter(ATTRS.get(name, name))
    return lambda facts, now: read(facts.windows.get(window, _NOTHING))


def _side(operand: Operand, window: Window) -> Getter:
    if operand.metric is None:
        value = operand.value
        return lambda facts, now: value
    other, factor = _getter(operand.metric, window), operand.value

    def scaled(facts: Facts, now: datetime) -> Decimal | None:
        base = other(facts, now)
        return None if base is None else factor * base

    return scaled


def _condition(cond: Condition) -> Test:
    if cond.metric == STATUS:
        word, equal = cond.word, cond.op is Op.EQ
        return lambda facts, now: (facts.status == word) is equal
    if cond.metric not in _OWN and cond.operand.metric is None and cond.op is not Op.BETWEEN:
        # The common `metric op number in window` as one call (what `test` below does with
        # a constant right side): a batch tests tens of thousands of objects.
        read = operator.attrgetter(ATTRS.get(cond.metric, cond.metric))
        window, number, compare_to = cond.window, cond.operand.value, COMPARE[cond.op]

        def plain(facts: Facts, now: datetime) -> bool:
            value = read(facts.windows.get(window, _NOTHING))
            return value is not None and compare_to(value, number)

        return plain
    left, right = _getter(cond.metric, cond.window), _side(cond.operand, cond.window)
    if cond.op is Op.BETWEEN:
        upper = _side(cond.upper, cond.window) if cond.upper else (lambda facts, now: None)

        def between(facts: Facts, now: datetime) -> bool:
            value, low, high = left(facts, now), right(facts, now), upper(facts, now)
            return None not in (value, low, high) and low <= value <= high  # type: ignore[operator]

        return between
    compare = COMPARE[cond.op]

    def test(facts: Facts, now: datetime) -> bool:
        # An undefined ratio never matches: "CPA > 20" needs a conversion.
        value = left(facts, now)
        if value is None:
            return False
        other = right(facts, now)
        return other is not None and compare(value, other)

    return test


@lru_cache(maxsize=4096)
def compiled(node: Condition | Group) -> Test:
    """The conditions as one function, built once per rule text (rules run many times over
    many objects, so the tree is not walked for each)."""
    if isinstance(node, Condition):
        return _condition(node)
    parts = tuple(compiled(item) for item in node.items)
    if len(parts) == 2:
        # Two parts (most rules): no generator per object; the same short-circuit.
        first, second = parts
        if node.joiner == "and":
            return lambda facts, now: bool(first(facts, now) and second(facts, now))
        return lambda facts, now: bool(first(facts, now) or second(facts, now))
    if node.joiner == "and":
        return lambda facts, now: all(part(facts, now) for part in parts)
    return lambda facts, now: any(part(facts, now) for part in parts)


def holds(node: Condition | Group, facts: Facts, now: datetime) -> bool:
    """Whether the conditions hold for `facts`."""
    return compiled(node)(facts, now)


def readings(spec: RuleSpec, facts: Facts, now: datetime) -> list[Reading]:
    """The value of each condition's metric, and of any metric it is compared with (`1.5 x
    target` shows the target), once each, for the alert that explains a firing."""
    out: list[Reading] = []
    seen: set[tuple[str, Window]] = set()
    for c in leaves(spec.when):
        if c.metric == STATUS:
            out.append(Reading(c.metric, c.window, None, facts.status))
            continue
        for name in (c.metric, c.operand.metric, c.upper.metric if c.upper else None):
            if name is not None and (name, c.window) not in seen:
                seen.add((name, c.window))
                out.append(Reading(name, c.window, metric(name, facts, c.window, now)))
    return out


def summed(scope: Iterable[Facts], label: str) -> Facts:
    """All objects of a scope as one: sums per window and of budgets; the youngest age; the
    bid they share (bids do not add up: none when they differ); the tracker's sums of the
    windows every object has tracker data for."""
    items = list(scope)
    windows: dict[Window, Totals] = {}
    for item in items:
        for window, totals in item.windows.items():
            windows[window] = windows.get(window, Totals()) + totals
    tracker: dict[Window, TrackerSums] | None = None
    if items and all(i.tracker is not None for i in items):
        shared = set.intersection(*(set(i.tracker or {}) for i in items))
        tracker = {w: sum(((i.tracker or {})[w] for i in items), TrackerSums()) for w in shared}
    budgets = [i.budget for i in items if i.budget is not None]
    created = [i.created_time for i in items if i.created_time is not None]
    bids = {i.bid for i in items}
    return Facts(
        "*",
        label,
        sum(budgets, Decimal(0)) if budgets else None,
        max(created) if created else None,
        windows,
        bid=bids.pop() if len(bids) == 1 else None,
        tracker=tracker,
    )
