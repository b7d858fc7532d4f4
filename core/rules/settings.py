"""Everything about a rule beyond its one-line form: scope, schedule, limits, modes, bounds.

Stored as one JSON document on the rule row (`rules.settings`); `to_json`/`from_json` are the
only way in and out, so old documents keep loading when fields are added (missing → default).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

AGGREGATES = ("each", "sum")
MATCHES = ("all", "ids", "contains", "starts", "pattern")
MODES = ("auto", "approve", "alert")
EVERY_MINUTES = (15, 30, 60)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Scope:
    """Which objects a rule looks at: accounts (None: all tracked) and a name or id filter.

    Only objects that are on (operation status ENABLE) are in scope, except for rules that
    enable; new objects that fit join by themselves because the scope is evaluated each run.
    """

    accounts: tuple[int, ...] | None = None
    match: str = "all"
    values: tuple[str, ...] = ()

    def admits(self, object_id: str, name: str) -> bool:
        """Whether one object passes the filter."""
        if self.match == "all":
            return True
        if self.match == "ids":
            return object_id in self.values
        low = name.casefold()
        if self.match == "contains":
            return any(v.casefold() in low for v in self.values)
        if self.match == "starts":
            return any(low.startswith(v.casefold()) for v in self.values)
        return any(re.search(v, name, re.IGNORECASE) for v in self.values)


@dataclass(frozen=True)
class Schedule:
    """Every 15/30/60 minutes, or at set local times on chosen weekdays (0 = Monday)."""

    every_minutes: int | None = 60
    times: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Frequency:
    """At most `times` actions per object within `hours` (hours None: `times` ever)."""

    times: int = 1
    hours: int | None = 24


@dataclass(frozen=True)
class RuleSettings:
    """A rule's settings; modes are per action risk (see `risk`)."""

    scope: Scope = Scope()
    aggregate: str = "each"
    schedule: Schedule = Schedule()
    frequency: Frequency = Frequency()
    safe_mode: str = "auto"  # pause, pause for today, cuts
    risky_mode: str = "approve"  # enable, raises, set to a higher value
    freshness_minutes: int = 90
    approval_minutes: int = 120

    def mode_for(self, risky: bool) -> str:
        """The mode for an action of this risk."""
        return self.risky_mode if risky else self.safe_mode


# A name filter's values: enough for any real filter, and short enough to show on one screen.
MAX_SCOPE_VALUES, MAX_SCOPE_VALUE = 20, 100


def validate(settings: RuleSettings) -> RuleSettings:
    """The settings, or ValueError naming the first thing that is wrong."""
    if settings.aggregate not in AGGREGATES:
        raise ValueError("aggregate")
    if settings.scope.match not in MATCHES:
        raise ValueError("match")
    values = settings.scope.values
    if len(values) > MAX_SCOPE_VALUES or any(len(v) > MAX_SCOPE_VALUE for v in values):
        raise ValueError("scope")
    if settings.scope.match == "pattern":
        for value in settings.scope.values:
            re.compile(value)  # re.error is a ValueError
    sched = settings.schedule
    if sched.every_minutes is None and not sched.times:
        raise ValueError("schedule")
    if sched.every_minutes is not None and sched.every_minutes not in EVERY_MINUTES:
        raise ValueError("schedule")
    if any(_TIME.match(t) is None for t in sched.times) or not sched.weekdays:
        raise ValueError("schedule")
    if settings.frequency.times < 1 or (settings.frequency.hours or 1) < 1:
        raise ValueError("frequency")
    if settings.safe_mode not in MODES or settings.risky_mode not in MODES:
        raise ValueError("mode")
    if not 5 <= settings.freshness_minutes <= 24 * 60:
        raise ValueError("freshness")
    if not 5 <= settings.approval_minutes <= 24 * 60:
        raise ValueError("approval")
    return settings


def to_json(settings: RuleSettings) -> dict[str, Any]:
    """The settings as a JSON document."""
    return asdict(settings)


def from_json(doc: dict[str, Any] | None) -> RuleSettings:
    """Settings from a stored document; unknown keys are ignored, missing ones default."""
    doc = dict(doc or {})
    base = RuleSettings()
    scope = doc.get("scope") or {}
    sched = doc.get("schedule") or {}
    freq = doc.get("frequency") or {}
    accounts = scope.get("accounts")
    return replace(
        base,
        scope=Scope(
            accounts=tuple(int(a) for a in accounts) if accounts is not None else None,
            match=str(scope.get("match", "all")),
            values=tuple(str(v) for v in scope.get("values", ())),
        ),
        aggregate=str(doc.get("aggregate", base.aggregate)),
        schedule=Schedule(
            every_minutes=sched.get("every_minutes", 60) if sched else 60,
            times=tuple(sched.get("times", ())),
            weekdays=tuple(int(d) for d in sched.get("weekdays", range(7))),
        ),
        frequency=Frequency(times=int(freq.get("times", 1)), hours=freq.get("hours", 24)),
        safe_mode=str(doc.get("safe_mode", base.safe_mode)),
        risky_mode=str(doc.get("risky_mode", base.risky_mode)),
        freshness_minutes=int(doc.get("freshness_minutes", base.freshness_minutes)),
        approval_minutes=int(doc.get("approval_minutes", base.approval_minutes)),
    )
