"""The plan catalogue: names, prices in Stars and limits, read from one JSON file the operator can
change without a deploy (PLANS_FILE, re-read when it changes); built-in defaults without it."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FREE = "free"
# Stars subscriptions renew every 30 days: subscription_period must be 2592000 seconds and the
# price at most 10000 Stars (telegram-bot-platform.md §4).
SUBSCRIPTION_DAYS = 30
SUBSCRIPTION_MAX_STARS = 10000
GRACE_DAYS = 3
REMIND_DAYS = (3, 1)


@dataclass(frozen=True)
class Limits:
    """What a plan allows; None is unlimited."""

    ad_accounts: int | None  # ad accounts tracked
    rules_on: int | None  # rules switched on
    rule_every_minutes: int  # the shortest cadence a rule may run at
    launches_per_month: int | None  # bulk launches started per calendar month (user's zone)
    ads_per_launch: int | None
    trackers: int | None
    seats: int = 1  # team seats: read from the plans file, neither counted nor shown until
    # there are teams (bot/views/billing.py)


@dataclass(frozen=True)
class Plan:
    """One plan: `monthly` is the subscription price in Stars (None: not sold as one), `periods`
    the one-off periods on sale as {days: Stars}. Free has neither."""

    code: str
    name: str
    rank: int
    limits: Limits
    monthly: int | None = None
    periods: dict[int, int] = field(default_factory=dict)

    @property
    def paid(self) -> bool:
        """Sold for Stars at all (Free is not)."""
        return self.monthly is not None or bool(self.periods)

    def price(self, days: int, recurring: bool) -> int | None:
        """Stars for that offer, None when it is not on sale."""
        if recurring:
            return self.monthly if days == SUBSCRIPTION_DAYS else None
        return self.periods.get(days)


DEFAULT: dict[str, Any] = {
    "plans": [
        {"code": "free", "name": "Free", "rank": 0,
         "limits": {"ad_accounts": 2, "rules_on": 3, "rule_every_minutes": 60,
                    "launches_per_month": 5, "ads_per_launch": 20, "trackers": 1, "seats": 1}},
        {"code": "pro", "name": "Pro", "rank": 1, "monthly": 500,
         "periods": {"30": 550, "90": 1500},
         "limits": {"ad_accounts": 10, "rules_on": 25, "rule_every_minutes": 15,
                    "launches_per_month": 60, "ads_per_launch": 100, "trackers": 3, "seats": 1}},
        {"code": "agency", "name": "Agency", "rank": 2, "monthly": 2000,
         "periods": {"30": 2200, "90": 6000},
         "limits": {"ad_accounts": 100, "rules_on": 200, "rule_every_minutes": 15,
                    "launches_per_month": None, "ads_per_launch": 500, "trackers": 10,
                    "seats": 5}},
    ]
}


class CatalogueError(ValueError):
    """The plans file is malformed; the message says where."""


@dataclass(frozen=True)
class Catalogue:
    """The plans on offer, lowest rank first."""

    plans: tuple[Plan, ...]

    def get(self, code: str | None) -> Plan | None:
        """The plan with that code, if it (still) exists."""
        return next((p for p in self.plans if p.code == code), None)

    @property
    def free(self) -> Plan:
        """The plan everyone has without paying."""
        plan = self.get(FREE)
        assert plan is not None  # parse() insists on it
        return plan

    def rank(self, code: str) -> int:
        """A plan's rank; a plan removed from the file ranks just above Free, so what was paid for
        it still counts (its limits are then Free's: see `limits_of`)."""
        plan = self.get(code)
        return plan.rank if plan is not None else 0

    def effective(self, code: str | None) -> Plan:
        """The plan whose limits apply for `code`: itself, or Free if it no longer exists."""
        return self.get(code) or self.free


def _limit(raw: dict[str, Any], name: str, where: str, *, optional: bool = True) -> int | None:
    value = raw.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CatalogueError(f"{where}.limits.{name} must be a whole number ≥ 0"
                             + (" or null" if optional else ""))
    return value


def parse(data: Any) -> Catalogue:
    """Validate a catalogue document: a `free` plan, unique codes and ranks, prices in whole
    Stars within Telegram's limits."""
    if not isinstance(data, dict) or not isinstance(data.get("plans"), list):
        raise CatalogueError('the document must be {"plans": [...]}')
    plans: list[Plan] = []
    for n, raw in enumerate(data["plans"]):
        where = f"plans[{n}]"
        if not isinstance(raw, dict):
            raise CatalogueError(f"{where} must be an object")
        code, name, rank = raw.get("code"), raw.get("name"), raw.get("rank")
        if not isinstance(code, str) or not code.isascii() or not code.isalnum() or len(code) > 16:
            raise CatalogueError(f"{where}.code must be 1-16 latin letters or digits")
        if not isinstance(name, str) or not 1 <= len(name) <= 24:
            raise CatalogueError(f"{where}.name must be 1-24 characters")
        if not isinstance(rank, int) or rank < 0:
            raise CatalogueError(f"{where}.rank must be a whole number ≥ 0")
        limits = raw.get("limits")
        if not isinstance(limits, dict):
            raise CatalogueError(f"{where}.limits must be an object")
        every = _limit(limits, "rule_every_minutes", where, optional=False)
        parsed = Limits(
            ad_accounts=_limit(limits, "ad_accounts", where),
            rules_on=_limit(limits, "rules_on", where),
            rule_every_minutes=every or 1,
            launches_per_month=_limit(limits, "launches_per_month", where),
            ads_per_launch=_limit(limits, "ads_per_launch", where),
            trackers=_limit(limits, "trackers", where),
            seats=_limit(limits, "seats", where, optional=False) or 1,
        )
        monthly = raw.get("monthly")
        if monthly is not None and (not isinstance(monthly, int) or isinstance(monthly, bool)
                                    or not 1 <= monthly <= SUBSCRIPTION_MAX_STARS):
            raise CatalogueError(f"{where}.monthly must be 1-{SUBSCRIPTION_MAX_STARS} Stars")
        periods: dict[int, int] = {}
        for days, stars in (raw.get("periods") or {}).items():
            if not str(days).isdigit() or not 1 <= int(days) <= 366:
                raise CatalogueError(f"{where}.periods: {days!r} is not 1-366 days")
            if not isinstance(stars, int) or isinstance(stars, bool) or stars < 1:
                raise CatalogueError(f"{where}.periods[{days}] must be a whole number of Stars ≥ 1")
            periods[int(days)] = stars
        plans.append(Plan(code, name, rank, parsed, monthly, dict(sorted(periods.items()))))
    codes = [p.code for p in plans]
    if len(set(codes)) != len(codes) or len({p.rank for p in plans}) != len(plans):
        raise CatalogueError("plan codes and ranks must be unique")
    free = next((p for p in plans if p.code == FREE), None)
    if free is None or free.paid or free.rank != min(p.rank for p in plans):
        raise CatalogueError('a "free" plan with the lowest rank and no price is required')
    return Catalogue(tuple(sorted(plans, key=lambda p: p.rank)))


class PlanBook:
    """Hands out the current catalogue: the file's, re-read when its modification time changes;
    a broken file is logged and the last good catalogue stays (billing never stops on a typo)."""

    def __init__(self, path: str | None = None) -> None:
        self._path = Path(path) if path else None
        self._stamp: float | None = None
        self._current = parse(DEFAULT)

    def current(self) -> Catalogue:
        """The catalogue in force now."""
        if self._path is None:
            return self._current
        try:
            stamp = os.stat(self._path).st_mtime
        except OSError:
            if self._stamp is not None:
                log.error("billing.plans_file_missing", extra={"path": str(self._path)})
                self._stamp = None
            return self._current
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._current = parse(json.loads(self._path.read_text("utf-8")))
                log.info("billing.plans_loaded", extra={"path": str(self._path)})
            except (OSError, ValueError) as exc:  # CatalogueError and JSONDecodeError included
                log.error("billing.plans_invalid", extra={"path": str(self._path),
                                                          "error": str(exc)})
        return self._current
