"""Inputs of the chart renderers: frozen, picklable, already translated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

MAX_DAYS = 366
MAX_CAMPAIGNS = 10


class Ratio(StrEnum):
    """Which efficiency metric the daily chart draws under spend and conversions."""

    CPA = "cpa"  # cost per conversion, money
    ROAS = "roas"  # revenue / spend, a multiple


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """Every piece of text a chart shows, already translated by the bot layer.

    `locale` is a Babel locale ("en_US", "ru_RU") used for numbers, money and dates;
    `currency` is the ISO 4217 code of every money value on the chart (one chart, one currency).
    No defaults for visible words, so nothing untranslated slips through; the bot layer builds
    one per user and varies the title with `dataclasses.replace`.
    """

    locale: str
    currency: str
    title: str
    no_data: str  # shown alone when the period has nothing to draw
    spend: str
    conversions: str
    cpa: str
    roas: str
    today: str
    yesterday: str
    subtitle: str = ""  # e.g. account name and period; muted, under the title
    # The profit chart's words (only that chart reads them; set whenever it is drawn).
    profit: str = ""
    revenue: str = ""


@dataclass(frozen=True, slots=True)
class DailyPoint:
    """One day of an ad account (or campaign) in its own currency and time zone.

    `ratio` is the CPA or ROAS of that day as computed by the metrics code (None when it is
    undefined, e.g. CPA with no conversions); the chart draws it, it does not derive it.
    """

    day: date
    spend: Decimal
    conversions: int = 0
    ratio: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Days `start..end` inclusive; days without a point are drawn as zero spend."""

    start: date
    end: date
    points: tuple[DailyPoint, ...]
    ratio: Ratio = Ratio.CPA

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise ValueError(f"a daily chart spans at most {MAX_DAYS} days")
        seen: set[date] = set()
        for p in self.points:
            if not self.start <= p.day <= self.end:
                raise ValueError(f"point {p.day} is outside {self.start}..{self.end}")
            if p.day in seen:
                raise ValueError(f"two points for {p.day}")
            seen.add(p.day)
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "ratio", Ratio(self.ratio))

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class ProfitPoint:
    """One day's tracker revenue and the TikTok spend it stands against (same currency)."""

    day: date
    revenue: Decimal
    spend: Decimal

    @property
    def profit(self) -> Decimal:
        """Revenue minus spend."""
        return self.revenue - self.spend


@dataclass(frozen=True, slots=True)
class ProfitSeries:
    """Days `start..end` inclusive; days without a point are drawn as zero."""

    start: date
    end: date
    points: tuple[ProfitPoint, ...]

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise ValueError(f"a daily chart spans at most {MAX_DAYS} days")
        days = [p.day for p in self.points]
        if len(set(days)) != len(days):
            raise ValueError("two points for one day")
        if any(not self.start <= d <= self.end for d in days):
            raise ValueError("a point is outside the range")
        object.__setattr__(self, "points", tuple(self.points))

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1
