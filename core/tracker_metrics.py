"""Tracker metrics beside TikTok's spend ("true ROI", trackers contract): derived from sums in
Decimal, never averaged. Revenue is approved revenue, in the ad account's currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

_HUNDRED = Decimal(100)


def _div(a: Decimal, b: Decimal) -> Decimal | None:
    return None if b == 0 else a / b


@dataclass(frozen=True)
class TrackerTotals:
    """A tracker's numbers for some objects over some days, with the TikTok spend they stand
    against (the spend of the same objects, same days)."""

    spend: Decimal = Decimal(0)
    clicks: int = 0
    conversions: int = 0  # approved
    pending: int = 0
    rejected: int = 0
    revenue: Decimal = Decimal(0)  # approved
    pending_revenue: Decimal = Decimal(0)

    @property
    def profit(self) -> Decimal:
        """Revenue minus spend."""
        return self.revenue - self.spend

    @property
    def roi(self) -> Decimal | None:
        """Profit per unit of spend, in percent."""
        return _div(self.profit * _HUNDRED, self.spend)

    @property
    def epc(self) -> Decimal | None:
        """Revenue per tracker click."""
        return _div(self.revenue, Decimal(self.clicks))

    @property
    def tracker_cpa(self) -> Decimal | None:
        """Spend per approved tracker conversion."""
        return _div(self.spend, Decimal(self.conversions))


TRACKER_METRICS = ("revenue", "profit", "roi", "epc", "tracker_cpa", "tracker_clicks",
                   "tracker_conversions")
