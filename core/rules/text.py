"""The one-line text form of a rule, for people who type faster than they tap.

    ad: spend >= 20 and conversions = 0 in 3d -> pause
    campaign: roas > 2 in yesterday and spend > 50 today -> budget +20% max 500
    adgroup: cpa < 10 in 3d -> budget of campaign +10%   (the campaign's budget, e.g. CBO)
    adgroup: cpa > 1.5 x cpa in 7d incl today or ctr < 0.8 -> notify
    adgroup: cpa > 1.5 x target in 3d -> pause

    ad: roi < -30 and spend >= 20 in 3d -> pause          (tracker metrics: core.rules.tracker)
    adgroup: profit > 50 in yesterday -> budget +20%

`bid` (or `target`) is the ad group's own bid as synced; an ad reads its ad group's; a campaign
has none, so a campaign rule that reads it is refused where the word is. `≠`, `≥` and `≤` may
be typed for `!=`, `>=` and `<=`, `−` for `-`. A threshold may be negative. Tracker metrics
(revenue, profit, roi, epc, tracker_cpa, tracker_clicks, tracker_conversions) are daily: a
condition naming one in the last hour is refused there.

A condition without its own window takes the window of the next condition in its group that
has one (so "a and b in 3d" reads "both over 3 days"), else today. `and` binds tighter than
`or`; parentheses group. `format_rule` always prints every window, so printing and parsing
again gives the same rule. A parse error says where (1-based column) and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from core.rules.model import (
    BID_METRICS,
    METRICS,
    MULTI_DAY,
    SPANS,
    STATUS,
    STATUSES,
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

MAX_LENGTH = 500
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)(?P<unit>d\b)?|(?P<op>->|>=|<=|!=|=|>|<|[()%:+\-−×*≠≥≤])"
    r"|(?P<word>[A-Za-z_]+))"
)
_OPS = {">": Op.GT, ">=": Op.GE, "<": Op.LT, "<=": Op.LE, "=": Op.EQ, "!=": Op.NE}
# What phones type for the same comparisons (the printed form stays ASCII).
_SIGNS = {"≠": "!=", "≥": ">=", "≤": "<=", "−": "-"}


class RuleSyntaxError(ValueError):
    """The text is not a rule: `column` (1-based) is where, `expected` what would fit there (one
    of a fixed set of phrases, which the chat translates), `options` the words of the rule
    language that would (they stay as they are: they are what to type)."""

    def __init__(self, column: int, expected: str, found: str, options: Sequence[str] = ()) -> None:
        what = f"{expected}: {', '.join(options)}" if options else expected
        super().__init__(f"column {column}: expected {what}, found {found or 'the end'}")
        self.column, self.expected, self.found = column, expected, found
        self.options = tuple(options)


@dataclass
class _Tok:
    kind: str  # num | span | op | word | end
    text: str
    col: int


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise RuleSyntaxError(col, "a word, a number or an operator", text[col - 1])
        start = m.start(m.lastgroup or 0) + 1
        if m.group("num") is not None:
            kind = "span" if m.group("unit") else "num"
            value = m.group("num") + ("d" if m.group("unit") else "")
        elif m.group("op") is not None:
            kind, value = "op", _SIGNS.get(m.group("op"), m.group("op"))
        else:
            kind, value = "word", m.group("word").lower()
        out.append(_Tok(kind, value, start))
        pos = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str, level: Level | None = None) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.level = level  # known once the rule's level is read: what it can say depends on it
        self.leaf_cols: list[int] = []  # where each condition starts, left to right

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def fail(self, expected: str, options: Sequence[str] = ()) -> RuleSyntaxError:
        return RuleSyntaxError(self.tok.col, expected, self.tok.text, options)

    def take(self, *texts: str) -> _Tok | None:
        if self.tok.text in texts and self.tok.kind in ("op", "word"):
            self.i += 1
            return self.toks[self.i - 1]
        return None

    def expect(self, text: str, what: str) -> None:
        if self.take(text) is None:
            raise self.fail(what)

    def number(self, what: str = "a number") -> Decimal:
        if self.tok.kind != "num":
            raise self.fail(what)
        self.i += 1
        try:
            return Decimal(self.toks[self.i - 1].text)
        except InvalidOperation:
            raise RuleSyntaxError(
                self.toks[self.i - 1].col, what, self.toks[self.i - 1].text
            ) from None

    def target(self, level: str, kind: str) -> str | None:
        """`of campaign` / `of adgroup` after budget or bid: the level above whose value the
        action changes (model.parents says which may)."""
        if not self.take("of"):
            return None
        allowed = parents(level, kind)
        word = self.take(*allowed) if allowed else None
        if word is None:
            raise self.fail("a level above the rule's", allowed)
        return word.text

    # rule := level ":" expr "->" action
    def rule(self) -> RuleSpec:
        levels = [lv.value for lv in Level]
        word = self.take(*levels)
        if word is None:
            raise self.fail("the level", levels)
        self.level = Level(word.text)
        self.expect(":", "':' after the level")
        when = _fill_windows(self.expr())
        self.daily_only(when)
        self.expect("->", "'->' and an action")
        action = self.action(word.text)
        if self.tok.kind != "end":
            raise self.fail("the end of the rule")
        return RuleSpec(Level(word.text), when, action)

    def expr(self) -> Condition | Group:
        items = [self.conjunction()]
        while self.take("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Group("or", tuple(items))

    def conjunction(self) -> Condition | Group:
        items = [self.atom()]
        while self.take("and"):
            items.append(self.atom())
        return items[0] if len(items) == 1 else Group("and", tuple(items))

    def atom(self) -> Condition | Group:
        if self.take("("):
            inner = self.expr()
            self.expect(")", "')'")
            return inner
        return self.condition()

    def metric(self) -> str:
        if self.tok.kind != "word" or self.tok.text not in METRICS:
            raise self.fail("a metric", METRICS)
        if self.tok.text in BID_METRICS and self.level is Level.CAMPAIGN:
            raise self.fail("a metric a campaign has (bids are set on its ad groups)")
        self.i += 1
        return self.toks[self.i - 1].text

    def operand(self) -> Operand:
        # A threshold may be below zero (`roi < -30`, `profit < -5`).
        negative = self.take("-") is not None
        value = self.number("a number")
        value = -value if negative else value
        if self.take("x", "×", "*"):
            return Operand(value, self.metric())
        return Operand(value)

    def daily_only(self, when: Condition | Group) -> None:
        """Tracker metrics are reported per day: refuse them in a "last hour" window (given
        or taken from the next condition), at the condition that reads them."""
        for cond, col in zip(_leaves(when), self.leaf_cols, strict=True):
            if cond.window.span == "last_hour" and reads_tracker(cond):
                raise RuleSyntaxError(
                    col, "a daily window for tracker metrics (not the last hour)", cond.metric
                )

    def condition(self) -> Condition:
        self.leaf_cols.append(self.tok.col)
        if self.tok.kind == "word" and self.tok.text == STATUS:
            return self.status()
        metric = self.metric()
        if self.take("between"):
            low = self.operand()
            self.expect("and", "'and' between the two bounds")
            high = self.operand()
            return Condition(metric, Op.BETWEEN, low, self.window(), high)
        op = self.tok.text if self.tok.kind == "op" else ""
        if op not in _OPS:
            raise self.fail("a comparison", [*_OPS, "between"])
        self.i += 1
        return Condition(metric, _OPS[op], self.operand(), self.window())

    def status(self) -> Condition:
        """`status = rejected`: the status now, so it takes no window."""
        self.i += 1
        op = self.tok.text if self.tok.kind == "op" else ""
        if op not in ("=", "!="):
            raise self.fail("a comparison after status", ["=", "!="])
        self.i += 1
        if self.tok.kind != "word" or self.tok.text not in STATUSES:
            raise self.fail("a status", STATUSES)
        self.i += 1
        return Condition(
            STATUS, _OPS[op], Operand(Decimal(0)), Window(), word=self.toks[self.i - 1].text
        )

    def window(self) -> Window:
        """An optional window; Window(span="") means "not given" (filled in later)."""
        explicit = self.take("in") is not None
        tok, span = self.tok, None
        if (tok.kind == "span" and tok.text in SPANS) or (
            tok.kind == "word" and tok.text in ("today", "yesterday", "lifetime", "last_hour")
        ):
            span = tok.text
        elif tok.kind == "word" and tok.text == "last" and self.toks[self.i + 1].text == "hour":
            self.i += 1
            span = "last_hour"
        if span is None:
            if explicit:
                raise self.fail("a window", SPANS)
            return Window(span="")
        self.i += 1
        include = False
        if self.take("incl", "with"):
            self.expect("today", "'today'")
            if span not in MULTI_DAY:
                raise RuleSyntaxError(
                    self.toks[self.i - 1].col,
                    "no 'incl today' here (only after 3d, 7d, 14d or 30d)",
                    "today",
                )
            include = True
        return Window(span, include)

    def action(self, level: str) -> Action:
        if self.take("pause"):
            return Action(ActionKind.PAUSE_TODAY if self.take("today") else ActionKind.PAUSE)
        for kind in (ActionKind.ENABLE, ActionKind.NOTIFY):
            if self.take(kind.value):
                return Action(kind)
        if self.take("pause_today"):
            return Action(ActionKind.PAUSE_TODAY)
        word = self.take("budget", "bid")
        if word is None:
            raise self.fail(
                "an action", ["pause", "pause today", "enable", "notify", "budget", "bid"]
            )
        kind = ActionKind(word.text)
        on = self.target(level, kind.value)
        if self.take("="):
            return Action(kind, "set", self.number("the new value"), *self.bounds(), on=on)
        sign = self.take("+", "-")
        if sign is None:
            can_name = on is None and parents(level, kind.value)
            raise self.fail(
                "a sign after budget or bid", ["=", "+", "-", *(["of"] if can_name else [])]
            )
        value = self.number("how much")
        value = -value if sign.text == "-" else value
        mode = "pct" if self.take("%") else "amount"
        return Action(kind, mode, value, *self.bounds(), on=on)

    def bounds(self) -> tuple[Decimal | None, Decimal | None]:
        floor = ceiling = None
        while self.tok.text in ("min", "max") and self.tok.kind == "word":
            which = self.take("min", "max")
            assert which is not None
            if which.text == "min":
                floor = self.number("the floor")
            else:
                ceiling = self.number("the ceiling")
        if floor is not None and ceiling is not None and floor > ceiling:
            raise RuleSyntaxError(self.tok.col, "a floor no higher than the ceiling", "")
        return floor, ceiling


_TODAY = Window()


def _leaves(node: Condition | Group) -> list[Condition]:
    if isinstance(node, Condition):
        return [node]
    return [leaf for item in node.items for leaf in _leaves(item)]


def _fill_windows(node: Condition | Group, inherited: Window = _TODAY) -> Condition | Group:
    """Give each condition without a window the next sibling's window (else the parent's)."""
    if isinstance(node, Condition):
        if node.metric == STATUS:
            return node  # a status is read as it is now
        return node if node.window.span else replace(node, window=inherited)
    filled: list[Condition | Group] = []
    carry = inherited
    for item in reversed(node.items):
        if isinstance(item, Condition) and item.window.span and item.metric != STATUS:
            carry = item.window
        filled.append(_fill_windows(item, carry))
    return Group(node.joiner, tuple(reversed(filled)))


def parse_rule(text: str) -> RuleSpec:
    """The rule a line of text describes; RuleSyntaxError (never anything else) if it is not."""
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(MAX_LENGTH + 1, f"at most {MAX_LENGTH} characters", "more")
    try:
        return _Parser(text).rule()
    except RecursionError:
        raise RuleSyntaxError(1, "fewer nested parentheses", "too many") from None


def _fragment(text: str, level: Level | None) -> _Parser:
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(MAX_LENGTH + 1, f"at most {MAX_LENGTH} characters", "more")
    return _Parser(text, level)


def parse_operands(text: str, level: Level, between: bool) -> tuple[Operand, Operand | None]:
    """A condition's typed right side, as the builder asks for it: `20` or `1.5 x target`,
    or for `between` two of them joined by `and` (RuleSyntaxError if it is not that)."""
    p = _fragment(text, level)
    low, high = p.operand(), None
    if between:
        p.expect("and", "'and' between the two bounds")
        high = p.operand()
    if p.tok.kind != "end":
        raise p.fail("the end of the value")
    return low, high


def parse_change(kind: ActionKind, text: str, level: Level, on: str | None = None) -> Action:
    """A budget or bid change as typed after the action word (`+20% max 500`), aimed at the
    level `on` above the rule's when given (`budget of campaign`)."""
    aim = f" of {on}" if on else ""
    p = _fragment(f"{kind.value}{aim} {text}", None)
    action = p.action(level.value)
    if p.tok.kind != "end":
        raise p.fail("the end of the rule")
    return action


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _operand(o: Operand) -> str:
    return _num(o.value) + (f" x {o.metric}" if o.metric else "")


def _window(w: Window) -> str:
    span = "last hour" if w.span == "last_hour" else w.span
    return f"in {span}" + (" incl today" if w.include_today else "")


def _node(node: Condition | Group, nested: bool = False) -> str:
    if isinstance(node, Condition):
        if node.metric == STATUS:
            return f"status {node.op.value} {node.word}"
        if node.op is Op.BETWEEN:
            assert node.upper is not None
            body = f"{node.metric} between {_operand(node.operand)} and {_operand(node.upper)}"
        else:
            body = f"{node.metric} {node.op.value} {_operand(node.operand)}"
        return f"{body} {_window(node.window)}"
    text = f" {node.joiner} ".join(_node(item, nested=True) for item in node.items)
    return f"({text})" if nested else text


def format_conditions(node: Condition | Group) -> str:
    """The conditions of a rule as the text form prints them (every window spelled out)."""
    return _node(node)


def _action(a: Action) -> str:
    if a.kind is ActionKind.PAUSE_TODAY:
        return "pause today"
    if a.kind in (ActionKind.PAUSE, ActionKind.ENABLE, ActionKind.NOTIFY):
        return a.kind.value
    assert a.value is not None
    what = a.kind.value + (f" of {a.on}" if a.on else "")
    if a.mode == "set":
        text = f"{what} = {_num(a.value)}"
    else:
        sign = "-" if a.value < 0 else "+"
        text = f"{what} {sign}{_num(abs(a.value))}" + ("%" if a.mode == "pct" else "")
    if a.floor is not None:
        text += f" min {_num(a.floor)}"
    if a.ceiling is not None:
        text += f" max {_num(a.ceiling)}"
    return text


def format_rule(rule: RuleSpec) -> str:
    """The canonical one-line text of a rule (every window spelled out)."""
    return f"{rule.level.value}: {_node(rule.when)} -> {_action(rule.action)}"
