"""Deterministic delivery: hourly facts per ad, generated lazily from (seed, ad, day).

Model (spec §7.1/§7.2: days and hours are in the ad account's time zone):

* Every ad has a daily *demand* (what it would spend with no budget limit) and per-day rates
  (CPM, CTR, CVR, purchase share, order value, reach share), drawn from a BLAKE2 hash of
  (seed, ad_id, day).  The account has a diurnal shape per day: a weight per local hour.
* An ad delivers while it, its ad group and its campaign are ENABLE, after its create time,
  inside the ad group's schedule, and never after the clock's now.  Deliveries are integrals
  of the shape over those active intervals, so a pause takes effect at its exact second.
* Budgets pace smoothly: the ad group spends at factor ``k = remaining budget / remaining
  demand`` (capped at 1), and the campaign applies its own factor on top.  Factors change only
  at budget-change instants, and are chosen so that the day's spend never exceeds the budget.
* Counts come from the cumulative spend by integer floors (impressions = spend·1000/CPM,
  clicks = impressions·CTR, ...), so hour values are differences of monotone cumulative
  values: hours add up to days, ads add up to ad groups, campaigns and the account.

Money facts are integers in hundredths of the currency unit (exact); the synthetic rates
and shapes are floats, which is fine for random numbers; reports turn money into Decimal.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import struct
from array import array
from collections import OrderedDict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import sub
from zoneinfo import ZoneInfo

from sandbox.tiktok.model import ENABLE, Ad, AdGroup, Advertiser, Campaign, History, World

FACT_FIELDS = (
    "spend",
    "impressions",
    "clicks",
    "conversion",
    "complete_payment",
    "purchase_value",
    "reach",
    "result",
)
NF = len(FACT_FIELDS)
ZERO: tuple[int, ...] = (0,) * NF
# Relative activity per local hour, peaking in the evening.
DIURNAL = [
    0.35,
    0.25,
    0.18,
    0.14,
    0.13,
    0.17,
    0.3,
    0.5,
    0.7,
    0.8,
    0.85,
    0.9,
    0.95,
    0.95,
    0.9,
    0.9,
    0.95,
    1.0,
    1.1,
    1.25,
    1.35,
    1.3,
    1.0,
    0.65,
]
# Finished campaign-days kept, counted in ad-days (about 70 bytes each).
CACHE_AD_DAYS = 1_500_000
# Finished campaign-days kept by hour: a report walks one account's campaigns level after level,
# so a few are enough (each is ads x 24 tuples, far more than a day's facts).
CACHE_HOUR_DAYS = 64
# Campaign-days kept with their plans (today, and finished days asked for by hour): a sync asks
# for each of an account's campaigns at 4 levels and 2 grains within seconds, several accounts
# at once (each holds 25 hour boundaries x ads x facts as int64: ~160 KB for 100 ads).
CACHE_PLAN_DAYS = 320
ZERO_DECIMAL = frozenset({"JPY", "KRW", "IDR", "VND", "CLP", "HUF", "TWD"})


def _u32s(text: str) -> tuple[int, ...]:
    """Eight 32-bit unsigned integers derived from text."""
    return struct.unpack("<8I", hashlib.blake2b(text.encode(), digest_size=32).digest())


def _unit(x: int) -> float:
    """A 32-bit integer as a float in [0, 1)."""
    return x / 4294967296.0


def enabled_intervals(hist: History, lo: float, hi: float) -> list[tuple[float, float]]:
    """Sub-intervals of [lo, hi) where the status history says ENABLE."""
    if hi <= lo:
        return []
    out: list[tuple[float, float]] = []
    start = lo if hist.at(lo) == ENABLE else None
    for ts, value in hist.points[1:]:
        if ts <= lo or ts >= hi:
            continue
        if value == ENABLE and start is None:
            start = ts
        elif value != ENABLE and start is not None:
            if ts > start:
                out.append((start, ts))
            start = None
    if start is not None and hi > start:
        out.append((start, hi))
    return out


def intersect(
    a: list[tuple[float, float]], b: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Intersection of two sorted interval lists."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


class DayShape:
    """An account's local day: UTC bounds, hour labels and the cumulative hourly shape."""

    __slots__ = ("cum", "end", "labels", "n", "start", "weights")

    def __init__(self, seed: int, advertiser_id: str, tz: ZoneInfo, day: date) -> None:
        """Build the shape for one local day (23 or 25 hours on DST days)."""
        self.start = datetime.combine(day, time(0), tz).timestamp()
        self.end = datetime.combine(day + timedelta(days=1), time(0), tz).timestamp()
        self.n = max(1, round((self.end - self.start) / 3600))
        rnd = _u32s(f"{seed}:shape:{advertiser_id}:{day.toordinal()}")
        raw = []
        self.labels = []
        for i in range(self.n):
            local = datetime.fromtimestamp(self.start + 3600 * i, tz)
            self.labels.append(local.strftime("%Y-%m-%d %H:00:00"))
            noise = 0.8 + 0.4 * _unit(rnd[i % 8] ^ (i * 2654435761 & 0xFFFFFFFF))
            raw.append(DIURNAL[local.hour] * noise)
        total = sum(raw)
        self.weights = [w / total for w in raw]
        self.cum = [0.0]
        for w in self.weights:
            self.cum.append(self.cum[-1] + w)
        self.cum[-1] = 1.0

    def g(self, ts: float) -> float:
        """Share of the day's shape before ``ts``."""
        if ts <= self.start:
            return 0.0
        if ts >= self.end:
            return 1.0
        x = (ts - self.start) / 3600.0
        i = min(int(x), self.n - 1)
        return self.cum[i] + self.weights[i] * (x - i)

    def boundaries(self) -> list[float]:
        """Hour boundaries, n + 1 of them."""
        return [self.start + 3600 * i for i in range(self.n)] + [self.end]


class AdDay:
    """An ad's synthetic parameters for one day."""

    __slots__ = ("aov", "cpm", "ctr", "cvr", "demand", "pay", "reach")

    def __init__(self, base: tuple[float, ...], rnd: tuple[int, ...], rate: float) -> None:
        """Mix the ad's baseline with the day's noise; money in hundredths."""
        demand_usd, cpm_usd, ctr, cvr, aov_usd, pay, reach = base
        self.demand = demand_usd * (0.7 + 0.6 * _unit(rnd[0])) * rate * 100
        self.cpm = max(1, int(cpm_usd * (0.85 + 0.3 * _unit(rnd[1])) * rate * 100))
        self.ctr = int(ctr * (0.8 + 0.4 * _unit(rnd[2])) * 1_000_000)
        self.cvr = int(cvr * (0.7 + 0.6 * _unit(rnd[3])) * 1_000_000)
        self.aov = max(1, int(aov_usd * (0.9 + 0.2 * _unit(rnd[4])) * rate * 100))
        self.pay = int(pay * 1_000_000)
        self.reach = int(reach * (0.95 + 0.05 * _unit(rnd[5])) * 1_000_000)


def facts_from_spend(spend: int, p: AdDay, goal: str) -> tuple[int, ...]:
    """All count facts from a cumulative spend, by monotone integer floors."""
    imp = spend * 1000 // p.cpm
    clicks = imp * p.ctr // 1_000_000
    conv = clicks * p.cvr // 1_000_000
    pay = conv * p.pay // 1_000_000
    reach = imp * p.reach // 1_000_000
    if goal in ("CLICK", "TRAFFIC_LANDING_PAGE_VIEW", "PAGE_VISIT"):
        result = clicks
    elif goal in ("REACH", "SHOW"):
        result = reach
    elif goal == "VIDEO_VIEW":
        result = imp * 3 // 10
    else:
        result = conv
    return (spend, imp, clicks, conv, pay, pay * p.aov, reach, result)


class DayPlan:
    """A campaign-day's ads with their day parameters and pacing pieces, and the cumulative
    facts at instants already passed (for a kept day)."""

    __slots__ = ("ad_ids", "ads", "passed", "revision", "shape", "unit")

    def __init__(
        self,
        revision: int,
        shape: DayShape,
        ad_ids: list[str],
        ads: list[tuple[list[tuple[float, float, float]], AdDay, str]],
        unit: int,
    ) -> None:
        """Hold one campaign-day's plan."""
        self.revision, self.shape, self.ad_ids, self.ads, self.unit = (
            revision, shape, ad_ids, ads, unit
        )
        self.passed: dict[float, array] = {}


class DeliveryEngine:
    """Computes facts per ad per local day or hour, with an LRU cache for finished days."""

    def __init__(self, world: World) -> None:
        """Attach to a world."""
        self.world = world
        self._shapes: dict[tuple[str, int], DayShape] = {}
        self._bases: dict[str, tuple[float, ...]] = {}
        self._days: OrderedDict[tuple[str, int], tuple[int, list[str], array]] = OrderedDict()
        self._cached_ad_days = 0
        self._hours: OrderedDict[tuple[str, int], tuple[int, dict[str, list[tuple[int, ...]]]]] = (
            OrderedDict()
        )
        self._plans: OrderedDict[tuple[str, int], DayPlan] = OrderedDict()
        # Cache sizes; warm() raises them to hold what it computed.
        self.cache_ad_days = CACHE_AD_DAYS
        self.cache_plan_days = CACHE_PLAN_DAYS
        self.cache_hits = 0
        self.cache_misses = 0

    def shape(self, adv: Advertiser, day: date) -> DayShape:
        """The account's shape for a local day (cached)."""
        key = (adv.advertiser_id, day.toordinal())
        sh = self._shapes.get(key)
        if sh is None:
            if len(self._shapes) > 50_000:
                self._shapes.clear()
            sh = DayShape(self.world.seed, adv.advertiser_id, adv.tz, day)
            self._shapes[key] = sh
        return sh

    def base(self, ad_id: str) -> tuple[float, ...]:
        """An ad's lasting character: demand, CPM, CTR, CVR, order value, purchase/reach share."""
        b = self._bases.get(ad_id)
        if b is None:
            r = _u32s(f"{self.world.seed}:ad:{ad_id}")
            quality = _unit(r[3])
            b = (
                15 + 75 * _unit(r[0]),
                3 + 12 * _unit(r[1]),
                0.004 + 0.026 * _unit(r[2]),
                0.005 + 0.05 * quality * quality + (0.04 * _unit(r[7]) if quality > 0.85 else 0),
                25 + 65 * _unit(r[4]),
                0.5 + 0.5 * _unit(r[5]),
                0.7 + 0.2 * _unit(r[6]),
            )
            self._bases[ad_id] = b
        return b

    def ad_day(self, ad: Ad, adv: Advertiser, day: date) -> AdDay:
        """An ad's parameters for one day."""
        rnd = _u32s(f"{self.world.seed}:{ad.ad_id}:{day.toordinal()}")
        return AdDay(self.base(ad.ad_id), rnd, float(adv.rate))

    @staticmethod
    def daily_cap(mode: str, budget: Decimal, ag: AdGroup | None = None) -> float | None:
        """A daily cap in hundredths, or None for no cap."""
        if mode in ("BUDGET_MODE_DAY", "BUDGET_MODE_DYNAMIC_DAILY_BUDGET"):
            return float(budget * 100)
        if mode == "BUDGET_MODE_TOTAL":
            # A lifetime budget is paced evenly over the schedule (30 days for campaigns).
            days = 30.0
            if ag is not None:
                days = max(1.0, math.ceil((ag.schedule_end - ag.schedule_start) / 86400))
            return float(budget * 100) / days
        return None

    def plan(
        self, camp: Campaign, sh: DayShape, params: dict[str, AdDay]
    ) -> dict[str, list[tuple[float, float, float]]]:
        """Pacing segments (start, end, factor) per ad group for one day."""
        w = self.world
        demand: dict[str, float] = {}
        points = {sh.start, sh.end}
        for ts, _ in camp.budget.changes_between(sh.start, sh.end):
            points.add(ts)
        for ag_id in camp.adgroup_ids:
            ag = w.adgroups[ag_id]
            demand[ag_id] = sum(params[a].demand for a in ag.ad_ids if a in params)
            for ts, _ in ag.budget.changes_between(sh.start, sh.end):
                points.add(ts)
        cuts = sorted(points)
        planned_ag = dict.fromkeys(demand, 0.0)
        planned_c = 0.0
        out: dict[str, list[tuple[float, float, float]]] = {a: [] for a in demand}
        for s, e in itertools.pairwise(cuts):
            remaining = 1.0 - sh.g(s)
            part = sh.g(e) - sh.g(s)
            k_ag: dict[str, float] = {}
            for ag_id, fd in demand.items():
                ag = w.adgroups[ag_id]
                cap = self.daily_cap(ag.budget_mode, ag.budget.at(s), ag)
                k = 1.0
                if cap is not None and fd * remaining > 0:
                    k = min(1.0, max(0.0, cap - planned_ag[ag_id]) / (fd * remaining))
                k_ag[ag_id] = k
            rate_c = sum(k_ag[a] * demand[a] for a in demand)
            k_c = 1.0
            cap_c = self.daily_cap(camp.budget_mode, camp.budget.at(s))
            if cap_c is not None and rate_c * remaining > 0:
                k_c = min(1.0, max(0.0, cap_c - planned_c) / (rate_c * remaining))
            for ag_id, fd in demand.items():
                k = k_ag[ag_id] * k_c
                planned_ag[ag_id] += k * fd * part
                planned_c += k * fd * part
                out[ag_id].append((s, e, k))
        return out

    def _active(
        self, ad: Ad, ag: AdGroup, camp: Campaign, adv: Advertiser, lo: float, hi: float
    ) -> list[tuple[float, float]]:
        """When the ad delivers inside [lo, hi)."""
        if adv.status != "STATUS_ENABLE":
            return []
        lo = max(lo, ad.create_time, ag.schedule_start)
        hi = min(hi, ag.schedule_end)
        if hi <= lo:
            return []
        got = [(lo, hi)]
        for hist in (camp.status, ag.status, ad.status):
            if len(hist.points) == 1:
                if hist.points[0][1] != ENABLE:
                    return []
                continue
            got = intersect(got, enabled_intervals(hist, lo, hi))
            if not got:
                return []
        return got

    def _day_plan(self, camp: Campaign, day: date) -> DayPlan:
        """What a campaign-day's facts depend on besides the instant asked for."""
        w = self.world
        adv = w.advertisers[camp.advertiser_id]
        sh = self.shape(adv, day)
        ad_ids: list[str] = []
        params: dict[str, AdDay] = {}
        for ag_id in camp.adgroup_ids:
            for ad_id in w.adgroups[ag_id].ad_ids:
                ad = w.ads[ad_id]
                if ad.create_time < sh.end:
                    params[ad_id] = self.ad_day(ad, adv, day)
                    ad_ids.append(ad_id)
        plan = self.plan(camp, sh, params)
        ads: list[tuple[list[tuple[float, float, float]], AdDay, str]] = []
        for ad_id in ad_ids:
            ad = w.ads[ad_id]
            ag = w.adgroups[ad.adgroup_id]
            # Over the whole day: pieces after an instant t add nothing to the facts at t (the
            # sum stops at the first piece starting at or after t), so the facts at any
            # t <= now are those of pieces cut at now, and the plan does not depend on now.
            active = self._active(ad, ag, camp, adv, sh.start, sh.end)
            pieces = []
            for s, e, k in plan[ag.adgroup_id]:
                if k <= 0:
                    continue
                for a, b in intersect(active, [(s, e)]):
                    pieces.append((a, b, k))
            ads.append((pieces, params[ad_id], ag.optimization_goal))
        # Currencies without minor units (JPY, IDR, ...) spend whole units.
        unit = 100 if adv.currency in ZERO_DECIMAL else 1
        return DayPlan(camp.revision, sh, ad_ids, ads, unit)

    @staticmethod
    def _cumulative(plan: DayPlan, t: float) -> array:
        """Every ad's cumulative facts at instant ``t``, flat (ad i at [i*NF, (i+1)*NF))."""
        g = plan.shape.g
        unit = plan.unit
        flat = array("q")
        for pieces, p, goal in plan.ads:
            if not pieces:
                flat.extend(ZERO)
                continue
            acc = 0.0
            for a, b, k in pieces:
                if a >= t:
                    break
                acc += k * (g(min(b, t)) - g(a))
            spend = int(acc * p.demand) // unit * unit
            flat.extend(facts_from_spend(spend, p, goal))
        return flat

    def _campaign_series(
        self, camp: Campaign, day: date, boundaries_of: str, now: float
    ) -> tuple[DayShape, list[str], list[array]]:
        """Cumulative facts of a campaign's ads (flat, as _cumulative) at the day's end or at
        each hour boundary, none later than now.

        The cumulative facts at an instant already passed never change while the campaign's
        revision holds (every change to its delivery touches it), so for a kept day (still
        running, or asked for by hour) they are kept per instant with the day's plan;
        instants not reached yet all read "now", computed once.
        """
        adv = self.world.advertisers[camp.advertiser_id]
        sh = self.shape(adv, day)
        running = sh.end > now
        # Kept: days still running, and finished days asked for by hour (a sync asks for
        # yesterday by hour at four levels; the hour cache below holds few campaign-days).
        keep = running or boundaries_of == "hour"
        plan: DayPlan | None = None
        key = (camp.campaign_id, day.toordinal())
        if keep:
            plan = self._plans.get(key)
            if plan is not None and plan.revision == camp.revision:
                self._plans.move_to_end(key)
            else:
                plan = self._plans[key] = self._day_plan(camp, day)
                while len(self._plans) > self.cache_plan_days:
                    self._plans.popitem(last=False)
        else:
            plan = self._day_plan(camp, day)
        bounds = sh.boundaries() if boundaries_of == "hour" else [sh.end]
        series: list[array] = []
        at_now: array | None = None
        for b in bounds:
            if b > now:
                if at_now is None:
                    at_now = self._cumulative(plan, now)
                series.append(at_now)
                continue
            done = plan.passed.get(b)
            if done is None:
                done = self._cumulative(plan, b)
                if keep:
                    plan.passed[b] = done
            series.append(done)
        return sh, plan.ad_ids, series

    def campaign_day(self, camp: Campaign, day: date, now: float) -> dict[str, tuple[int, ...]]:
        """Facts per ad of a campaign for a local day, up to now (finished days are cached)."""
        adv = self.world.advertisers[camp.advertiser_id]
        sh = self.shape(adv, day)
        if sh.start >= now or not camp.adgroup_ids:
            return {}
        key = (camp.campaign_id, day.toordinal())
        done = sh.end <= now
        if done:
            hit = self._days.get(key)
            if hit is not None and hit[0] == camp.revision:
                self._days.move_to_end(key)
                self.cache_hits += 1
                ids, flat = hit[1], hit[2]
                return {a: tuple(flat[i * NF : (i + 1) * NF]) for i, a in enumerate(ids)}
        self.cache_misses += 1
        _, ad_ids, series = self._campaign_series(camp, day, "day", now)
        flat = series[0]
        out = {a: tuple(flat[i * NF : (i + 1) * NF]) for i, a in enumerate(ad_ids)}
        if done:
            old = self._days.pop(key, None)
            if old is not None:
                self._cached_ad_days -= len(old[1])
            self._days[key] = (camp.revision, ad_ids, flat)
            self._cached_ad_days += len(ad_ids)
            while len(self._days) > 1 and self._cached_ad_days > self.cache_ad_days:
                _, dropped = self._days.popitem(last=False)
                self._cached_ad_days -= len(dropped[1])
        return out

    def campaign_hours(
        self, camp: Campaign, day: date, now: float
    ) -> tuple[list[str], dict[str, list[tuple[int, ...]]]]:
        """Hour labels and per-ad hourly facts of a campaign for a local day, up to now."""
        adv = self.world.advertisers[camp.advertiser_id]
        sh = self.shape(adv, day)
        if sh.start >= now or not camp.adgroup_ids:
            return sh.labels, {}
        key = (camp.campaign_id, day.toordinal())
        done = sh.end <= now
        if done:
            # A finished day's hours are asked for once per report level (4 in a sync row).
            hit = self._hours.get(key)
            if hit is not None and hit[0] == camp.revision:
                self._hours.move_to_end(key)
                return sh.labels, hit[1]
        _, ad_ids, series = self._campaign_series(camp, day, "hour", now)
        # Each hour's facts for every ad at once: the difference of two flat cumulatives.
        hours = [array("q", map(sub, series[h + 1], series[h])) for h in range(sh.n)]
        out: dict[str, list[tuple[int, ...]]] = {}
        for i, ad_id in enumerate(ad_ids):
            lo, hi = i * NF, (i + 1) * NF
            out[ad_id] = [tuple(diff[lo:hi]) for diff in hours]
        if done:
            self._hours[key] = (camp.revision, out)
            while len(self._hours) > CACHE_HOUR_DAYS:
                self._hours.popitem(last=False)
        return sh.labels, out

    def warm(
        self, advertisers: list[Advertiser], now: float, back_days: int, hour_days: int
    ) -> dict[str, int]:
        """Compute ahead what reports of these accounts will read: every campaign's finished
        days of the last ``back_days`` (by day) and its plans with the hour boundaries already
        passed for the last ``hour_days`` days, today included.

        A real TikTok has its numbers before anyone asks; the emulator computes them on
        request, so a benchmark of our sync measured the emulator's delivery model too. The
        answers are the same either way: reports read these caches as they read any (a kept
        plan's passed instants and a finished day's facts do not change while the campaign's
        revision holds). The caches grow to hold everything warmed (~1.4 GB for the whole
        `scale` world of 100,000 ads; +270 MB for 10 of its 50 accounts).
        """
        w = self.world
        camps = [
            w.campaigns[c]
            for adv in advertisers
            for c in w.campaigns_by_adv.get(adv.advertiser_id, [])
        ]
        ads = sum(len(w.adgroups[g].ad_ids) for camp in camps for g in camp.adgroup_ids)
        ad_days = ads * back_days
        self.cache_ad_days = max(self.cache_ad_days, self._cached_ad_days + ad_days + CACHE_AD_DAYS)
        self.cache_plan_days = max(
            self.cache_plan_days, len(self._plans) + len(camps) * hour_days + CACHE_PLAN_DAYS
        )
        days = plans = 0
        for camp in camps:
            adv = w.advertisers[camp.advertiser_id]
            today = self.local_today(adv, now)
            for n in range(1, back_days + 1):
                days += bool(self.campaign_day(camp, today - timedelta(days=n), now))
            for n in range(hour_days):
                day = today - timedelta(days=n)
                if self.shape(adv, day).start < now and camp.adgroup_ids:
                    self._campaign_series(camp, day, "hour", now)
                    plans += 1
        return {"campaigns": len(camps), "campaign_days": days, "plans": plans}

    def local_today(self, adv: Advertiser, now: float) -> date:
        """The account's own today."""
        return datetime.fromtimestamp(now, adv.tz).date()
