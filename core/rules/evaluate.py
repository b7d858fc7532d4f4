"""Evaluating a rule's conditions for one object (or the sum of a scope) from summed metrics.

The sums come from aggregate queries (storage.repos.rules.window_sums): one per ad account and
level for all windows a batch of rules needs. This module only combines those sums — every
ratio is derived from summed raw counts, as in stats (core.metrics).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.metrics import Totals
from core.rules.model import Condition, Group, Op, Operand, RuleSpec, Window

_HUNDRED = Decimal(100)
_DAY_SECONDS = Decimal(86400)
_RATIOS = {"cvr": "conversion_rate"}


@dataclass
class Facts:
    """What is known about one object (or a summed scope) when a rule looks at it."""

    object_id: str
    name: str
    budget: Decimal | None
    created_time: datetime | None
    windows: dict[Window, Totals] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """One condition's metric as it was read: the explanation in an alert."""

    metric: str
    window: Window
    value: Decimal | None


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


def metric(name: str, facts: Facts, window: Window, now: datetime) -> Decimal | None:
    """A metric of `facts` over `window`; None when undefined (CPA without conversions)."""
    totals = facts.windows.get(window, Totals())
    if name == "budget":
        return facts.budget
    if name == "budget_spent_pct":
        if not facts.budget:
            return None
        return totals.spend * _HUNDRED / facts.budget
    if name == "age_days":
        if facts.created_time is None:
            return None
        return Decimal(int((now - facts.created_time).total_seconds())) / _DAY_SECONDS
    value = totals.metric(_RATIOS.get(name, name))
    return None if value is None else Decimal(value)


def _operand(operand: Operand, facts: Facts, window: Window, now: datetime) -> Decimal | None:
    if operand.metric is None:
        return operand.value
    other = metric(operand.metric, facts, window, now)
    return None if other is None else operand.value * other


def _holds(cond: Condition, facts: Facts, now: datetime) -> bool:
    left = metric(cond.metric, facts, cond.window, now)
    right = _operand(cond.operand, facts, cond.window, now)
    if left is None or right is None:
        return False  # an undefined ratio never matches: "CPA > 20" needs a conversion
    if cond.op is Op.BETWEEN:
        upper = _operand(cond.upper, facts, cond.window, now) if cond.upper else None
        return upper is not None and right <= left <= upper
    return {
        Op.GT: left > right,
        Op.GE: left >= right,
        Op.LT: left < right,
        Op.LE: left <= right,
        Op.EQ: left == right,
        Op.NE: left != right,
    }[cond.op]


def holds(node: Condition | Group, facts: Facts, now: datetime) -> bool:
    """Whether the conditions hold for `facts`."""
    if isinstance(node, Condition):
        return _holds(node, facts, now)
    results = (holds(item, facts, now) for item in node.items)
    return all(results) if node.joiner == "and" else any(results)


def readings(spec: RuleSpec, facts: Facts, now: datetime) -> list[Reading]:
    """The value of each condition's metric, for the alert that explains a firing."""
    return [Reading(c.metric, c.window, metric(c.metric, facts, c.window, now))
            for c in leaves(spec.when)]


def summed(scope: Iterable[Facts], label: str) -> Facts:
    """All objects of a scope as one: sums per window and of budgets; the youngest age."""
    items = list(scope)
    windows: dict[Window, Totals] = {}
    for item in items:
        for window, totals in item.windows.items():
            windows[window] = windows.get(window, Totals()) + totals
    budgets = [i.budget for i in items if i.budget is not None]
    created = [i.created_time for i in items if i.created_time is not None]
    return Facts("*", label, sum(budgets, Decimal(0)) if budgets else None,
                 max(created) if created else None, windows)
