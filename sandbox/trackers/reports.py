"""Grouping engine shared by the three trackers: facts per group over a time range and zone."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.trackers.model import HOUR, Attrs, Cell, Facts, Tally, TCampaign, TrackerWorld

TIME_DIMS = ("day", "hour", "day_hour", "datetime", "week", "weekday", "month", "year")
FLAG_DIMS = ("is_lead", "is_sale", "is_rejected", "is_bot", "is_unique_campaign",
             "is_unique_stream", "is_unique_global")


def zone(name: str) -> tzinfo:
    """An IANA zone or a numeric UTC offset in hours ("3", "-7", "5.5")."""
    try:
        hours = float(name)
    except ValueError:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
    if not -14 <= hours <= 14:
        raise ValueError(f"bad UTC offset {name!r}")
    return timezone(timedelta(hours=hours)) if hours else UTC


def time_value(dim: str, ts: int, tz: tzinfo) -> Any:
    """A time dimension of a click time in a zone (formats as the trackers show them)."""
    t = datetime.fromtimestamp(ts, tz)
    if dim == "day":
        return t.strftime("%Y-%m-%d")
    if dim == "hour":
        return t.hour
    if dim == "day_hour":
        return t.strftime("%Y-%m-%d %H:00")
    if dim == "datetime":
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if dim == "week":
        y, w, _ = t.isocalendar()
        return f"{y}-{w:02d}"
    if dim == "weekday":
        return t.isoweekday()
    if dim == "month":
        return t.strftime("%Y-%m")
    return t.year


def flag_value(dim: str, cell: Cell, i: int, now: float) -> int:
    """A click flag (1/0): its conversion's status, uniqueness, bot."""
    if dim == "is_bot":
        return 0
    if dim.startswith("is_unique"):
        return int(i % 10 != 9)
    want = {"is_lead": "lead", "is_sale": "sale", "is_rejected": "rejected"}[dim]
    return int(any(c.idx == i and c.status(now) == want for c in cell.convs))


Filter = Callable[[dict[str, Any]], bool]
Key = Callable[[int], tuple[Any, ...]]
# Dimensions that repeat over time (the others only grow, so equal ends mean one value).
MISSING = object()


def per_click(key: Key, i0: int, i1: int, runs: list[tuple[int, int, tuple[Any, ...]]]) -> None:
    """Runs of equal keys, click by click."""
    start, cur = i0, key(i0)
    for i in range(i0 + 1, i1):
        k = key(i)
        if k != cur:
            runs.append((start, i, cur))
            start, cur = i, k
    runs.append((start, i1, cur))


def split(key: Key, pieces: list[tuple[int, int]],
          runs: list[tuple[int, int, tuple[Any, ...]]]) -> None:
    """Runs of equal monotone keys over hour pieces, bisecting where the ends differ."""
    if not pieces:
        return
    lo, hi = pieces[0][0], pieces[-1][1]
    first = key(lo)
    if first == key(hi - 1):
        runs.append((lo, hi, first))
    elif len(pieces) == 1:
        per_click(key, lo, hi, runs)
    else:
        mid = len(pieces) // 2
        split(key, pieces[:mid], runs)
        split(key, pieces[mid:], runs)


def aggregate(
    world: TrackerWorld,
    camps: Iterable[TCampaign],
    a: int,
    b: int,
    tz: tzinfo,
    dims: list[str],
    static_value: Callable[[TCampaign, Attrs, str], Any],
    filters: list[tuple[str, Filter]] | None = None,
) -> dict[tuple[Any, ...], Facts]:
    """Facts per distinct tuple of ``dims`` for clicks in [a, b), dims read in ``tz``."""
    world.run_due()
    now = world.clock()
    filters = filters or []
    fdims = [d for d, _ in filters]
    need = list(dict.fromkeys(dims + fdims))
    tdims = [d for d in need if d in TIME_DIMS]
    flags = [d for d in need if d in FLAG_DIMS]
    sdims = [d for d in need if d not in TIME_DIMS and d not in FLAG_DIMS]
    # Filters on a cell's static values are decided once per cell, the rest per run of clicks.
    cell_filters = [fn for d, fn in filters if d in sdims]
    run_filters = [fn for d, fn in filters if d not in sdims]
    vdims = tdims + flags
    key_at = [(True, sdims.index(d)) if d in sdims else (False, vdims.index(d)) for d in dims]
    out: dict[tuple[Any, ...], Tally] = {}
    hour_keys: dict[tuple[int, int], Any] = {}
    time_key = _time_keys(tdims, tz)
    tally = world.tally

    def emit(svals: tuple[Any, ...], base: dict[str, Any], vals: tuple[Any, ...], cell: Cell,
             r0: int, r1: int) -> None:
        if run_filters:
            named = {**base, **dict(zip(vdims, vals, strict=True))}
            for fn in run_filters:
                if not fn(named):
                    return
        key = tuple(svals[i] if static else vals[i] for static, i in key_at)
        got = out.get(key)
        if got is None:
            got = out[key] = Tally()
        tally(got, cell, r0, r1, now)

    for camp in camps:
        for cell in world.cells(camp, a, b):
            attrs = cell.attrs
            svals = tuple(static_value(camp, attrs, d) for d in sdims)
            base = dict(zip(sdims, svals, strict=True))
            if cell_filters and not all(fn(base) for fn in cell_filters):
                continue
            i0, i1 = cell.span(a, b)
            if i1 <= i0:
                continue
            if not tdims and not flags:
                emit(svals, base, (), cell, i0, i1)
                continue
            if not flags and (cell.n == 1 or cell.dur == 0):
                # Every click of the cell at one time (an injected click): one key.
                emit(svals, base, time_key(cell.ts(i0)), cell, i0, i1)
                continue

            def click_vals(i: int, cell: Cell = cell) -> tuple[Any, ...]:
                return time_key(cell.ts(i)) + tuple(flag_value(d, cell, i, now) for d in flags)

            runs: list[tuple[int, int, tuple[Any, ...]]] = []
            if flags:
                per_click(click_vals, i0, i1, runs)
            elif cell.bounds is None:
                split(click_vals, [(i0, i1)], runs)
            else:
                for lo, hi, h in cell.hours(i0, i1):
                    span = (cell.bounds[h], cell.bounds[h + 1])
                    hk = hour_keys.get(span, MISSING)
                    if hk is MISSING:
                        k1 = time_key(span[0])
                        k2 = time_key(span[1] - 1)
                        hk = hour_keys[span] = k1 if k1 == k2 else None
                    if hk is None:
                        per_click(click_vals, lo, hi, runs)
                    else:
                        runs.append((lo, hi, hk))  # type: ignore[arg-type]
            merged: list[list[Any]] = []
            for r0, r1, key in runs:
                if merged and merged[-1][2] == key and merged[-1][1] == r0:
                    merged[-1][1] = r1
                else:
                    merged.append([r0, r1, key])
            for r0, r1, key in merged:
                emit(svals, base, key, cell, r0, r1)
    return {key: t.facts() for key, t in out.items()}


def _time_keys(tdims: list[str], tz: tzinfo) -> Callable[[int], tuple[Any, ...]]:
    """The time dimensions of a click time, remembered per UTC hour when the hour's first and
    last second agree and the zone's offset does not change inside it (local time then runs
    evenly through the hour, so every second of it agrees)."""
    if not tdims:
        return lambda ts: ()
    per_hour: dict[int, tuple[Any, ...] | None] = {}

    def at(ts: int) -> tuple[Any, ...]:
        return tuple(time_value(d, ts, tz) for d in tdims)

    def key(ts: int) -> tuple[Any, ...]:
        hour = ts - ts % HOUR
        got = per_hour.get(hour, MISSING)
        if got is MISSING:
            first, last = at(hour), at(hour + HOUR - 1)
            same = first == last and _offset(hour, tz) == _offset(hour + HOUR - 1, tz)
            got = per_hour[hour] = first if same else None
        return at(ts) if got is None else got  # type: ignore[return-value]

    return key


def _offset(ts: int, tz: tzinfo) -> timedelta | None:
    """The zone's UTC offset at a time."""
    return datetime.fromtimestamp(ts, tz).utcoffset()


def ratio(num: Fraction | int, den: Fraction | int, scale: int = 1) -> Fraction:
    """num / den × scale, 0 when den is 0."""
    return Fraction(num) * scale / den if den else Fraction(0)


def money(value: Fraction, places: int = 4) -> float:
    """A Fraction as a rounded float (JSON number)."""
    return round(float(value), places)


def dec(value: Fraction, places: int = 2) -> Decimal:
    """A Fraction as a Decimal with ``places``."""
    q = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(q)


def compare(op: str, value: Any, expr: Any) -> bool:
    """Keitaro's filter operators (spec §1.3) on one value."""
    return compiled(op, expr)(value)


def compiled(op: str, expr: Any) -> Callable[[Any], bool]:
    """One of Keitaro's filter operators with its expression read once: a test of a value."""
    if op == "IS_SET":
        return lambda value: value not in (None, "")
    if op == "IS_NOT_SET":
        return lambda value: value in (None, "")
    if op == "IS_TRUE":
        return lambda value: bool(value) and value not in ("0", "false")
    if op == "IS_FALSE":
        return lambda value: not value or value in ("0", "false")
    if op == "HAS_LABEL":
        return lambda value: False  # the emulator's campaigns carry no labels
    if op == "NOT_HAS_LABEL":
        return lambda value: True
    if op in ("IN_LIST", "NOT_IN_LIST"):
        items = expr if isinstance(expr, list) else str(expr).split(",")
        listed = frozenset(str(x).strip() for x in items)
        if op == "IN_LIST":
            return lambda value: str(value) in listed
        return lambda value: str(value) not in listed
    if op == "BETWEEN":
        lo, hi = (expr if isinstance(expr, list) else str(expr).split(","))[:2]
        return lambda value: _cmp(value, lo) >= 0 and _cmp(value, hi) <= 0
    if op in _ORDER:
        test = _ORDER[op]
        return lambda value: test(_cmp(value, expr))
    sexp = "" if expr is None else str(expr)
    if op in _TEXT:
        text_test = _TEXT[op]
        return lambda value: text_test("" if value is None else str(value), sexp)
    raise ValueError(op)


_ORDER: dict[str, Callable[[int], bool]] = {
    "EQUALS": lambda c: c == 0,
    "NOT_EQUAL": lambda c: c != 0,
    "GREATER_THAN": lambda c: c > 0,
    "LESS_THAN": lambda c: c < 0,
    "EQUALS_OR_GREATER_THAN": lambda c: c >= 0,
    "EQUALS_OR_LESS_THAN": lambda c: c <= 0,
}
_TEXT: dict[str, Callable[[str, str], bool]] = {
    "MATCH_REGEXP": lambda v, e: re.search(e, v) is not None,
    "NOT_MATCH_REGEXP": lambda v, e: re.search(e, v) is None,
    "BEGINS_WITH": lambda v, e: v.startswith(e),
    "ENDS_WITH": lambda v, e: v.endswith(e),
    "CONTAINS": lambda v, e: e in v,
    "NOT_CONTAIN": lambda v, e: e not in v,
}


OPERATORS = (
    "EQUALS", "NOT_EQUAL", "GREATER_THAN", "LESS_THAN", "EQUALS_OR_GREATER_THAN",
    "EQUALS_OR_LESS_THAN", "MATCH_REGEXP", "NOT_MATCH_REGEXP", "BEGINS_WITH", "ENDS_WITH",
    "CONTAINS", "NOT_CONTAIN", "IN_LIST", "NOT_IN_LIST", "BETWEEN", "IS_SET", "IS_NOT_SET",
    "IS_TRUE", "IS_FALSE", "HAS_LABEL", "NOT_HAS_LABEL",
)


def _cmp(a: Any, b: Any) -> int:
    """Compare numerically when both are numbers, else as text."""
    try:
        x, y = Fraction(str(a)), Fraction(str(b))
    except (ValueError, ZeroDivisionError):
        x, y = str(a if a is not None else ""), str(b if b is not None else "")  # type: ignore[assignment]
    return (x > y) - (x < y)


def day_range(d0: date, d1: date, tz: tzinfo) -> tuple[int, int]:
    """UTC seconds of [d0 00:00, d1+1 00:00) in a zone."""
    s = datetime(d0.year, d0.month, d0.day, tzinfo=tz).timestamp()
    e1 = d1 + timedelta(days=1)
    e = datetime(e1.year, e1.month, e1.day, tzinfo=tz).timestamp()
    return int(s), int(e)
