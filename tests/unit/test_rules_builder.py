"""The button builder and the text form cover the same grammar.

Every rule the builder can make — generated from the builder's own option lists (levels,
metrics, comparisons, windows, joiners, actions) and the values a user can type at its prompts
— prints to text that parses back to the same rule and is accepted for saving; and every word
of the text form has a place in the builder.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.rules import builder
from core.rules.model import (
    BID_METRICS,
    METRICS,
    MULTI_DAY,
    SPANS,
    STATUS,
    STATUSES,
    ActionKind,
    Condition,
    Group,
    Level,
    Op,
    Operand,
    Window,
)
from core.rules.service import check
from core.rules.text import RuleSyntaxError, format_conditions, format_rule, parse_rule

numbers = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False).map(
    lambda d: format(d.normalize(), "f")
)
# A threshold may be below zero (`roi < -30`, tracker metrics).
signed = numbers | numbers.map(lambda n: f"-{n}")
# What a user may type as a threshold: a number, or a number times any metric of the text form
# (the tracker's included).
typed_operands = st.one_of(
    signed, st.tuples(signed, st.sampled_from(METRICS)).map(lambda t: f"{t[0]} x {t[1]}")
)


@st.composite
def picks(draw: st.DrawFn, level: Level) -> builder.Pick:
    """One condition as the builder's buttons and prompts can make it."""
    metric = draw(st.sampled_from(builder.metrics(level)))
    joiner = draw(st.sampled_from(builder.JOINERS))
    if metric == STATUS:
        op = draw(st.sampled_from(builder.STATUS_OPS))
        return builder.Pick(metric, op.value, draw(st.sampled_from(STATUSES)), "today", joiner)
    op = draw(st.sampled_from(builder.OPS))
    value = draw(typed_operands)
    if op is Op.BETWEEN:
        value += " and " + draw(typed_operands)
    # The window screen offers what fits the metric and the typed value (no "last hour" for
    # the tracker's daily numbers).
    window = builder.window_key(draw(st.sampled_from(builder.windows(metric, value))))
    return builder.Pick(metric, op.value, value, window, joiner)


@st.composite
def changes(draw: st.DrawFn) -> str:
    """A budget or bid change as typed at the builder's prompt."""
    how = draw(st.sampled_from(["= {n}", "+{n}%", "-{n}%", "+{n}", "-{n}"]))
    text = how.format(n=draw(numbers.filter(lambda n: Decimal(n) > 0)))
    bounds = sorted(draw(st.lists(numbers.map(Decimal), max_size=2)))
    if len(bounds) == 2:
        text += f" min {bounds[0]} max {bounds[1]}"
    elif bounds:
        text += f" {draw(st.sampled_from(['min', 'max']))} {bounds[0]}"
    return text


@st.composite
def sessions(
    draw: st.DrawFn,
) -> tuple[Level, list[builder.Pick], ActionKind, str, str | None]:
    """A whole builder session: level, conditions, action (its typed change, and the level
    above it aims at, as `budget of campaign`)."""
    level = draw(st.sampled_from(builder.LEVELS))
    chosen = draw(st.lists(picks(level), min_size=1, max_size=5))
    kind, on = draw(st.sampled_from(builder.targets(level)))
    typed = draw(changes()) if kind in builder.TYPED_ACTIONS else ""
    return level, chosen, kind, typed, on


def _names_bid(pick: builder.Pick) -> bool:
    return pick.metric != STATUS and any(word in pick.value.split() for word in BID_METRICS)


@settings(max_examples=400, deadline=None)
@given(sessions())
def test_everything_the_builder_makes_prints_and_parses_back_to_it(
    session: tuple[Level, list[builder.Pick], ActionKind, str, str | None],
) -> None:
    level, chosen, kind, typed, on = session
    if level is Level.CAMPAIGN and any(_names_bid(p) for p in chosen):
        # A campaign has no bid: the builder refuses the typed value, as the text form does.
        with pytest.raises(RuleSyntaxError):
            builder.spec(level, chosen, kind, typed, on)
        return
    spec = builder.spec(level, chosen, kind, typed, on)
    assert spec.action.on == on
    text = format_rule(spec)
    assert parse_rule(text) == spec
    assert check(text) == spec  # and it can be saved (no action the level cannot take)


def test_and_binds_tighter_than_or_as_in_the_text_form() -> None:
    a = builder.Pick("spend", ">", "10", "3d")
    b = builder.Pick("cpa", "between", "1 x target and 2 x target", "7d+", "and")
    c = builder.Pick(STATUS, "!=", "delivering", "today", "or")
    when = builder.conditions(Level.AD, [a, b, c])
    first = Condition("spend", Op.GT, Operand(Decimal(10)), Window("3d"))
    second = Condition(
        "cpa",
        Op.BETWEEN,
        Operand(Decimal(1), "target"),
        Window("7d", True),
        Operand(Decimal(2), "target"),
    )
    third = Condition(STATUS, Op.NE, Operand(Decimal(0)), Window(), word="delivering")
    assert when == Group("or", (Group("and", (first, second)), third))
    assert parse_rule(f"ad: {format_conditions(when)} -> notify").when == when


def test_the_builder_offers_every_word_of_the_text_form() -> None:
    offered = {m for level in builder.LEVELS for m in builder.metrics(level)}
    # `target` is the typed second name of the bid.
    assert offered | {"target"} == {*METRICS, STATUS}
    assert set(builder.OPS) == set(Op)
    assert set(builder.STATUS_OPS) == {Op.EQ, Op.NE}
    assert set(builder.WINDOWS) == {Window(s) for s in SPANS} | {Window(s, True) for s in MULTI_DAY}
    assert {k for level in builder.LEVELS for k in builder.actions(level)} == set(ActionKind)
    # `budget of campaign`: the builder offers exactly the aims the text form accepts.
    for lv in builder.LEVELS:
        for kind in builder.TYPED_ACTIONS:
            for on in Level:
                try:
                    parse_rule(f"{lv.value}: spend > 1 -> {kind.value} of {on.value} +1")
                    typed = True
                except RuleSyntaxError:
                    typed = False
                assert typed == ((kind, on.value) in builder.targets(lv)), (lv, kind, on)
    assert set(builder.LEVELS) == set(Level)
    assert "bid" not in builder.metrics(Level.CAMPAIGN)


@pytest.mark.parametrize(
    ("pick", "level"),
    [
        (builder.Pick("spend", ">", "10 x", "today"), Level.AD),
        (builder.Pick("spend", "between", "10", "today"), Level.AD),
        (builder.Pick("spend", ">", "10", "5d"), Level.AD),
        (builder.Pick("bid", ">", "1", "today"), Level.CAMPAIGN),
        (builder.Pick(STATUS, ">", "paused", "today"), Level.AD),
        (builder.Pick("spend", ">", "1" * 600, "today"), Level.AD),
    ],
)
def test_picks_the_text_form_cannot_say_are_refused(pick: builder.Pick, level: Level) -> None:
    with pytest.raises(ValueError):  # RuleSyntaxError is a ValueError
        builder.condition(level, pick)
