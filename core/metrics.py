"""Metric maths on summed raw counts, in Decimal. Ratios are derived from sums, never averaged."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

_HUNDRED = Decimal(100)
_THOUSAND = Decimal(1000)


def _div(a: Decimal, b: Decimal) -> Decimal | None:
    return None if b == 0 else a / b


@dataclass(frozen=True)
class Totals:
    """Summed raw metrics of some objects over some days, in one currency."""

    spend: Decimal = Decimal(0)
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    purchase_value: Decimal = Decimal(0)

    @classmethod
    def of(
        cls,
        spend: Decimal,
        impressions: int,
        clicks: int,
        conversions: int,
        purchase_value: Decimal,
    ) -> Totals:
        """The same as Totals(...), made without the frozen dataclass's per-field
        `object.__setattr__` (a rules batch makes tens of thousands)."""
        made = object.__new__(cls)
        made.__dict__.update(
            spend=spend,
            impressions=impressions,
            clicks=clicks,
            conversions=conversions,
            purchase_value=purchase_value,
        )
        return made

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def ctr(self) -> Decimal | None:
        """Clicks per impression, in percent."""
        return _div(Decimal(self.clicks) * _HUNDRED, Decimal(self.impressions))

    @property
    def cpc(self) -> Decimal | None:
        """Cost per click."""
        return _div(self.spend, Decimal(self.clicks))

    @property
    def cpm(self) -> Decimal | None:
        """Cost per thousand impressions."""
        return _div(self.spend * _THOUSAND, Decimal(self.impressions))

    @property
    def cpa(self) -> Decimal | None:
        """Cost per conversion."""
        return _div(self.spend, Decimal(self.conversions))

    @property
    def conversion_rate(self) -> Decimal | None:
        """Conversions per click, in percent."""
        return _div(Decimal(self.conversions) * _HUNDRED, Decimal(self.clicks))

    @property
    def roas(self) -> Decimal | None:
        """Purchase value per unit of spend."""
        return _div(self.purchase_value, self.spend)

    def metric(self, name: str) -> Decimal | int | None:
        """A raw or derived metric by name."""
        return getattr(self, name)


METRICS = ("spend", "impressions", "clicks", "conversions", "ctr", "cpc", "cpm", "cpa",
           "conversion_rate", "purchase_value", "roas")


def change_pct(current: Decimal | int | None, previous: Decimal | int | None) -> Decimal | None:
    """Relative change in percent; None when there is nothing to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return (Decimal(current) - Decimal(previous)) * _HUNDRED / Decimal(previous)
