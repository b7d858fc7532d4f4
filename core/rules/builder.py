"""The button builder's options and the rule a set of picks makes.

The chat offers exactly these lists (levels, metrics, comparisons, windows, actions); a pick
is kept as plain strings in the user's conversation state and turned into a RuleSpec here, so
what the builder makes is always a rule the text form can say (a property test prints every
rule these lists can make and parses it back). Conditions are joined as typed, `and` binding
tighter than `or`, so any mix of the two is an OR of ANDs — every condition the text form
can express, up to repeating a condition.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.rules.model import (
    BID_METRICS,
    METRICS,
    MULTI_DAY,
    SPANS,
    STATUS,
    STATUSES,
    TRACKER_METRICS,
    Action,
    ActionKind,
    Condition,
    Group,
    Level,
    Op,
    Operand,
    RuleSpec,
    Window,
    parents,
    reads_tracker,
)
from core.rules.text import RuleSyntaxError, parse_change, parse_operands

LEVELS = tuple(Level)
OPS = (Op.GT, Op.GE, Op.LT, Op.LE, Op.EQ, Op.NE, Op.BETWEEN)
STATUS_OPS = (Op.EQ, Op.NE)
# Every window the text form knows: the spans, and "incl today" for each multi-day span.
WINDOWS = (*(Window(s) for s in SPANS), *(Window(s, True) for s in MULTI_DAY))
JOINERS = ("and", "or")
# Budget and bid changes are typed (`+20% max 500`); the rest are one button.
TYPED_ACTIONS = (ActionKind.BUDGET, ActionKind.BID)


def metrics(level: Level) -> tuple[str, ...]:
    """The metrics a condition may pick at `level` (`target` is typed as another name of bid;
    campaigns have no bid); the tracker's come last, as their own group (TRACKER_METRICS)."""
    bids = () if level is Level.CAMPAIGN else BID_METRICS[:1]
    tiktok = (m for m in METRICS if m not in BID_METRICS and m not in TRACKER_METRICS)
    return (*tiktok, *bids, STATUS, *TRACKER_METRICS)


def windows(metric: str, value: str = "") -> tuple[Window, ...]:
    """The windows a condition on `metric` compared with the typed `value` may pick: the
    tracker reports days, so a condition naming a tracker metric has no "last hour"."""
    if metric == STATUS:
        return (Window(),)
    named = {metric, *re.findall(r"[a-z_]+", value.lower())}
    daily = bool(named & set(TRACKER_METRICS))
    return tuple(w for w in WINDOWS if not (daily and w.span == "last_hour"))


def actions(level: Level) -> tuple[ActionKind, ...]:
    """What a rule at `level` may do: ads have no budget or bid; bids live on ad groups."""
    return tuple(
        k
        for k in ActionKind
        if not (level is Level.AD and k in TYPED_ACTIONS)
        and not (level is Level.CAMPAIGN and k is ActionKind.BID)
    )


def targets(level: Level) -> tuple[tuple[ActionKind, str | None], ...]:
    """Every action a rule at `level` may take, with the level above it aims at for a budget
    or bid that lives there (`budget of campaign`; None: the object's own)."""
    own = tuple((k, None) for k in actions(level))
    above = tuple((k, on) for k in TYPED_ACTIONS for on in parents(level.value, k.value))
    return own + above


def window_key(window: Window) -> str:
    """A window as a button value: `3d`, `3d+` (incl today)."""
    return window.span + ("+" if window.include_today else "")


def window_of(key: str) -> Window | None:
    """The window a button value stands for (None if it is none of WINDOWS)."""
    found = Window(key.removesuffix("+"), key.endswith("+"))
    return found if found in WINDOWS else None


@dataclass(frozen=True)
class Pick:
    """One condition as picked: metric, comparison (Op value), the typed value (for status:
    the status word), the window's key, and how it joins the condition before it."""

    metric: str
    op: str
    value: str
    window: str = "today"
    joiner: str = "and"

    def to_json(self) -> dict[str, str]:
        """The pick as kept in the conversation state."""
        return {
            "m": self.metric,
            "op": self.op,
            "v": self.value,
            "w": self.window,
            "j": self.joiner,
        }

    @classmethod
    def from_json(cls, doc: dict[str, str]) -> Pick:
        """A pick back from the conversation state."""
        return cls(doc["m"], doc["op"], doc["v"], doc.get("w", "today"), doc.get("j", "and"))


def condition(level: Level, pick: Pick) -> Condition:
    """The condition a pick makes; RuleSyntaxError (or ValueError) when the pick is not one
    the builder offers or its typed value does not fit."""
    op = Op(pick.op)
    if pick.metric == STATUS:
        if op not in STATUS_OPS or pick.value not in STATUSES:
            raise ValueError(pick)
        return Condition(STATUS, op, Operand(Decimal(0)), Window(), word=pick.value)
    window = window_of(pick.window)
    if pick.metric not in metrics(level) or op not in OPS or window is None:
        raise ValueError(pick)
    low, high = parse_operands(pick.value, level, op is Op.BETWEEN)
    made = Condition(pick.metric, op, low, window, high)
    if window.span == "last_hour" and reads_tracker(made):
        raise RuleSyntaxError(
            1, "a daily window for tracker metrics (not the last hour)", pick.metric
        )
    return made


def conditions(level: Level, picks: Sequence[Pick]) -> Condition | Group:
    """The picks joined as typed: `and` binds tighter than `or`."""
    if not picks:
        raise ValueError("no conditions")
    ors: list[list[Condition]] = [[]]
    for n, pick in enumerate(picks):
        if n and pick.joiner == "or":
            ors.append([])
        elif n and pick.joiner != "and":
            raise ValueError(pick)
        ors[-1].append(condition(level, pick))
    terms: list[Condition | Group] = [
        ands[0] if len(ands) == 1 else Group("and", tuple(ands)) for ands in ors
    ]
    return terms[0] if len(terms) == 1 else Group("or", tuple(terms))


def action(level: Level, kind: ActionKind, typed: str = "", on: str | None = None) -> Action:
    """The action picked (with the typed change for budget and bid, aimed `on` a parent)."""
    if (kind, on) not in targets(level):
        raise ValueError(kind)
    if kind in TYPED_ACTIONS:
        return parse_change(kind, typed, level, on)
    if typed.strip():
        raise RuleSyntaxError(1, "the end of the rule", typed)
    return Action(kind)


def spec(
    level: Level, picks: Sequence[Pick], kind: ActionKind, typed: str = "", on: str | None = None
) -> RuleSpec:
    """The rule a builder session made."""
    return RuleSpec(level, conditions(level, picks), action(level, kind, typed, on))
