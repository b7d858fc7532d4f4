"""TikTok's report metric catalogue (report_catalogue.csv) and how each metric is computed.

The CSV is the one place that says which metrics exist, their group, the data levels TikTok
accepts them at, how TikTok renders them and the emulator's formula (its header cites the
sources).  Formulas refer to *families* of integer facts:

* the delivery engine's base facts (delivery.FACT_FIELDS: ``spend``, ``impressions`` ...);
* ``<group>.<event>``: a count drawn from a parent count (in-app events from app installs,
  installs / page / onsite / offline / messaging events from clicks, the rest from
  impressions, video quartiles from the previous quartile) at a per-ad rate;
* ``<family>.value``: money (hundredths) per event at a per-ad unit value;
* ``cta.<f>`` / ``vta.<f>`` / ``evta.<f>``: click- and view-through shares of a count
  (cta + vta = the count, evta is part of vta).

Every derived family is a floor of its parent's *cumulative* value, so hours add up to days and
ads to ad groups, campaigns and the account, exactly as the base facts do (see delivery.py);
rates, costs and averages are then computed from the summed counts of the row.
"""

from __future__ import annotations

import csv
import hashlib
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.tiktok.delivery import FACT_FIELDS, NF

CATALOGUE_PATH = Path(__file__).with_name("report_catalogue.csv")
LEVEL_NAMES = ("ADVERTISER", "CAMPAIGN", "ADGROUP", "AD")
BASE = {name: i for i, name in enumerate(FACT_FIELDS)}
SPEND = BASE["spend"]
# What a derived event count is drawn from, by the group prefix of its family name.
PARENT = {
    "app": "app.app_install",
    "web": "clicks",
    "onsite": "clicks",
    "offline": "clicks",
    "msg": "clicks",
    "eng": "impressions",
    "live": "impressions",
    "iao": "impressions",
    "ix": "impressions",
    "video": "video.video_play_action",
    "skan": "conversion",
}
# Families with their own parent and rate range (parts per million of the parent).
SPECIAL: dict[str, tuple[str, int, int]] = {
    "app.app_install": ("clicks", 50_000, 300_000),
    "video.video_play_action": ("impressions", 600_000, 900_000),
    "video.video_watched_2": ("video.video_play_action", 400_000, 700_000),
    "video.video_watched_6": ("video.video_watched_2", 400_000, 700_000),
    "video.video_views_p25": ("video.video_play_action", 300_000, 600_000),
    "video.video_views_p50": ("video.video_views_p25", 500_000, 800_000),
    "video.video_views_p75": ("video.video_views_p50", 500_000, 800_000),
    "video.video_views_p100": ("video.video_views_p75", 500_000, 800_000),
    "video.engaged_view": ("video.video_watched_6", 800_000, 1_000_000),
    "video.play_seconds": ("video.video_play_action", 3_000_000, 12_000_000),
    "eng.engagement": ("clicks", 1_200_000, 2_000_000),
    "ix.ix_video_view": ("ix.page_view", 300_000, 700_000),
    "ix.ix_video_views_p25": ("ix.ix_video_view", 400_000, 800_000),
    "ix.ix_video_views_p50": ("ix.ix_video_views_p25", 500_000, 800_000),
    "ix.ix_video_views_p75": ("ix.ix_video_views_p50", 500_000, 800_000),
    "ix.ix_video_views_p100": ("ix.ix_video_views_p75", 500_000, 800_000),
    "ix.page_view": ("clicks", 100_000, 400_000),
    "ix.play_seconds": ("ix.ix_video_view", 3_000_000, 10_000_000),
    "ix.page_seconds": ("ix.page_view", 5_000_000, 30_000_000),
    "ix.page_depth": ("ix.page_view", 300_000, 900_000),
}
# Default rate ranges by parent: events per impression are rarer than per click or install.
DEFAULT_RATE = {"impressions": (1_000, 30_000)}
OTHER_RATE = (20_000, 300_000)


@dataclass(frozen=True, slots=True)
class Metric:
    """One catalogue row."""

    name: str
    group: str
    levels: frozenset[int]  # data-level ranks (0 advertiser .. 3 ad)
    type: str
    op: str
    args: tuple[str, ...]
    note: str

    @property
    def is_attribute(self) -> bool:
        """Attribute metrics describe the row's object (spec §7.1)."""
        return self.op == "attr"

    @property
    def daily_only(self) -> bool:
        """cash_spend / voucher_spend: stat_time_day only, no hours, no lifetime [L]."""
        return self.note.startswith("advertiser level with stat_time_day only")

    @property
    def needs_id_dimension(self) -> bool:
        """Paid engaged-view metrics: one ID dimension (by hour: config knob, sources differ)."""
        return self.note.startswith("needs one ID dimension")

    @property
    def sync_only(self) -> bool:
        """billed_cost: synchronous BASIC reports only [L]."""
        return self.note.startswith("synchronous BASIC reports only")

    @property
    def families(self) -> tuple[str, ...]:
        """The fact families the formula reads."""
        if self.op in ("attr", "dash", "zero_money"):
            return ()
        if self.op in ("cpc", "cpm"):
            return ("spend", "clicks" if self.op == "cpc" else "impressions")
        uses_spend = self.op in ("cost", "cost4", "cost1000", "roas")
        return (("spend",) if uses_spend else ()) + self.args


_FORMULA = re.compile(r"^(\w+)\(([^)]*)\)$")


def load(path: Path = CATALOGUE_PATH) -> dict[str, Metric]:
    """Read the catalogue (lines starting with # are its header and sources)."""
    with path.open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    out: dict[str, Metric] = {}
    for row in csv.DictReader(lines):
        m = _FORMULA.match(row["formula"])
        if m is None:
            raise ValueError(f"bad formula for {row['metric']}: {row['formula']}")
        args = tuple(a for a in m.group(2).split(",") if a)
        levels = frozenset(LEVEL_NAMES.index(x) for x in row["levels"].split())
        out[row["metric"]] = Metric(
            row["metric"], row["group"], levels, row["type"], m.group(1), args, row["note"]
        )
    return out


CATALOGUE = load()


def _ppm(seed: int, ad_id: str, family: str, lo: int, hi: int) -> int:
    """A per-ad rate in parts per million, in [lo, hi)."""
    digest = hashlib.blake2b(f"{seed}:{ad_id}:{family}".encode(), digest_size=4).digest()
    return lo + struct.unpack("<I", digest)[0] * (hi - lo) // 4294967296


SCALE, VALUE, DIFF = range(3)  # plan steps: parent x rate, count x unit value, a - b


class Families:
    """Derived fact families for one query, compiled into a plan evaluated per ad and point."""

    def __init__(self, seed: int, names: Sequence[str]) -> None:
        """``names``: the families the query's metrics read (base facts included)."""
        self.seed = seed
        self.derived = [n for n in dict.fromkeys(names) if n not in BASE]
        self.index = dict(BASE)
        for i, name in enumerate(self.derived):
            self.index[name] = NF + i
        # Steps (kind, a, b, rate family, lo, hi) in dependency order; a and b are slots:
        # base facts first (0..NF-1), then one slot per step.
        self.plan: list[tuple[int, int, int, str, int, int]] = []
        self.slots: dict[str, int] = dict(BASE)
        self.out = [self._slot(n) for n in self.derived]
        self._rates: dict[str, list[int]] = {}

    @property
    def width(self) -> int:
        """Facts per row: base + derived."""
        return NF + len(self.derived)

    def _add(self, name: str, kind: int, a: int, b: int, rate: str, lo: int, hi: int) -> int:
        self.plan.append((kind, a, b, rate, lo, hi))
        slot = self.slots[name] = NF + len(self.plan) - 1
        return slot

    def _slot(self, name: str) -> int:
        """The slot of a family, adding the steps that compute it (and its parents)."""
        hit = self.slots.get(name)
        if hit is not None:
            return hit
        if name.endswith(".value"):
            # unit value 5..80 of the account currency's USD equivalent, in hundredths
            return self._add(name, VALUE, self._slot(name[: -len(".value")]), 0, name, 500, 8000)
        kind, _, base = name.partition(".")
        if kind in ("cta", "vta", "evta"):
            total = self._slot(base)
            if kind == "cta":
                return self._add(name, SCALE, total, 0, name, 500_000, 800_000)
            cta = self._slot("cta." + base)
            if kind == "vta":
                return self._add(name, DIFF, total, cta, "", 0, 0)
            return self._add(name, SCALE, self._slot("vta." + base), 0, name, 200_000, 500_000)
        special = SPECIAL.get(name)
        if special is None:
            parent = PARENT.get(kind, "impressions")
            if parent == name:
                parent = "clicks"
            lo, hi = DEFAULT_RATE.get(parent, OTHER_RATE)
        else:
            parent, lo, hi = special
        return self._add(name, SCALE, self._slot(parent), 0, name, lo, hi)

    def values(self, ad_id: str, unit: int, cum: Sequence[int]) -> list[int]:
        """The derived families at a cumulative point of one ad-day (``unit``: money scale)."""
        rates = self._rates.get(ad_id)
        if rates is None:
            rates = self._rates[ad_id] = [
                _ppm(self.seed, ad_id, rate, lo, hi) if rate else 0
                for _, _, _, rate, lo, hi in self.plan
            ]
        vals = [*cum[:NF], *([0] * len(self.plan))]
        for k, (kind, a, b, _, _, _) in enumerate(self.plan):
            if kind == SCALE:
                vals[NF + k] = vals[a] * rates[k] // 1_000_000
            elif kind == VALUE:
                vals[NF + k] = vals[a] * rates[k] * unit // 100
            else:
                vals[NF + k] = vals[a] - vals[b]
        return [vals[i] for i in self.out]


def _fixed(n: int, places: int) -> str:
    """An integer count of 10**-places units as a decimal string ("380", 3 -> "0.380")."""
    text = str(n).rjust(places + 1, "0")
    return f"{text[:-places]}.{text[-places:]}"


def _round_div(num: int, den: int) -> int:
    """num / den rounded half up (non-negative integers, exact)."""
    return (2 * num + den) // (2 * den)


def ratio(num: int, den: int, mult: int, places: int) -> str:
    """num / den * mult with ``places`` decimals; zeros when den is zero (spec §7.1)."""
    if not den:
        return _fixed(0, places)
    return _fixed(_round_div(num * mult * 10**places, den), places)


def money_ratio(cents: int, den: int, mult: int, places: int) -> str:
    """(cents / 100) / den * mult with ``places`` decimals."""
    if not den:
        return _fixed(0, places)
    return _fixed(_round_div(cents * mult * 10**places, 100 * den), places)


def cents_pad3(cents: int, den: int, mult: int = 1) -> str:
    """cpc/cpm: rounded to cents, shown with three decimals (spec §7.1: "0.380")."""
    if not den:
        return "0.000"
    return _fixed(_round_div(cents * mult, den) * 10, 3)


def money(cents: int) -> str:
    """An amount in hundredths with three decimals (spec §7.1: "20.000")."""
    if cents >= 0:  # the common case without _fixed's string padding: same text
        return f"{cents // 100}.{cents % 100:02d}0"
    return _fixed(cents * 10, 3)


# Money is exact integer fixed-point (hundredths of the currency) rounded half up, which is
# what Decimal.quantize(ROUND_HALF_UP) gives, without Decimal's cost on 50,000-row reports.
Facts = Sequence[int]


def column_renderer(
    metric: Metric, index: dict[str, int]
) -> tuple[int, Callable[[int], str]] | None:
    """For a metric read from one fact alone (counts, money): that fact's slot and the
    function of its value that renderer() applies; None for the others."""
    if metric.op == "count":
        return index[metric.args[0]], str
    if metric.op == "money":
        return index[metric.args[0]], money
    return None


def renderer(metric: Metric, index: dict[str, int]) -> Callable[[Facts], str]:
    """A function from a row's facts to the metric's text (attribute metrics excluded)."""
    op = metric.op
    ix = [index[a] for a in metric.args]
    s = SPEND
    if op == "count":
        (a,) = ix
        return lambda f: str(f[a])
    if op == "money":
        (a,) = ix
        return lambda f: money(f[a])
    if op == "zero_money":
        return lambda f: "0.000"
    if op == "dash":
        return lambda f: "-"
    if op in ("cost", "cost4"):
        (a,) = ix
        places = 4 if op == "cost4" else 3
        return lambda f: money_ratio(f[s], f[a], 1, places)
    if op == "cost1000":
        (a,) = ix
        return lambda f: money_ratio(f[s], f[a], 1000, 3)
    if op == "cpc":
        c = index["clicks"]
        return lambda f: cents_pad3(f[s], f[c])
    if op == "cpm":
        i = index["impressions"]
        return lambda f: cents_pad3(f[s], f[i], 1000)
    if op == "rate":
        a, b = ix
        return lambda f: ratio(f[a], f[b], 100, 2)
    if op in ("ratio", "seconds"):
        a, b = ix
        return lambda f: ratio(f[a], f[b], 1, 2)
    if op == "per":
        v, c = ix
        return lambda f: money_ratio(f[v], f[c], 1, 3)
    if op == "roas":
        (v,) = ix
        return lambda f: ratio(f[v], f[s], 1, 2)
    raise ValueError(f"unknown formula {op} for {metric.name}")
