"""The trackers' shared world: campaigns, clicks fed by TikTok ads, conversions, pushed costs.

Clicks (spec §0, §4): a TikTok ad feeds a tracker campaign when its landing-page URL holds the
campaign's link; each TikTok click of the ad's hour arrives at the tracker with a deterministic
share (``arrival_pct`` knob, default 92–99 % per campaign and ad) minus ``drop_clicks_pct``.
Clicks of one (campaign, ad, hour) form a *cell*: n clicks evenly spaced over the hour, so days
in any time zone (IANA or whole/half-hour offsets) split them exactly. Conversions follow the
ad's TikTok conversions in that hour, sit on the click they belong to (reports use the click's
time, spec §1.3) and appear only once their postback time has passed.

Costs (spec §0): a push REPLACES the cost of the clicks of its segment (campaign + time range +
optional field filter): cost / N is written on each of the N matching clicks; later pushes
overwrite. A segment with no clicks holds nothing. Pushes are applied after ``cost_delay_s``
(default 0), so a report read before that shows the old cost.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import struct
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from fractions import Fraction
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from sandbox.tiktok.model import CURRENCY_RATE

Attrs = dict[str, str]
HOUR = 3600
CUT_OFF = "not applied: the tracker restarted before it ran"
ZERO = Fraction(0)


def u32s(text: str) -> tuple[int, ...]:
    """Eight deterministic 32-bit integers from text."""
    return struct.unpack("<8I", hashlib.blake2b(text.encode(), digest_size=32).digest())


def unit(x: int) -> float:
    """A 32-bit integer as a float in [0, 1)."""
    return x / 4294967296.0


def to_decimal(value: Fraction, places: int = 4) -> Decimal:
    """A Fraction as a Decimal rounded to ``places``."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(1).scaleb(-places)
    )


@dataclass(slots=True)
class Param:
    """Where a TikTok macro lands: click field (Keitaro field or Binom "tN"), URL name, macro."""

    field: str
    name: str
    placeholder: str


@dataclass(slots=True)
class TrafficSource:
    """A traffic source; for Binom its tokens define the campaign's ``tN`` fields."""

    id: int
    name: str
    params: list[Param]


@dataclass(slots=True)
class TCampaign:
    """A tracker campaign."""

    id: int
    name: str
    alias: str
    key: str
    state: str  # active | disabled | deleted
    ts_id: int
    params: list[Param]
    group_id: int
    group_name: str
    created: float
    payout: Decimal
    offer_id: int = 1
    landing_id: int = 1
    stream_id: int = 1
    synthetic_clicks: int = 0  # tracker-only traffic: mean clicks per hour (0 = none)
    synthetic_attrs: Attrs = field(default_factory=dict)


@dataclass(slots=True)
class Conv:
    """A conversion on click ``idx`` of a cell."""

    idx: int
    conv_id: str
    payout: Fraction
    postback_ts: float
    final: str  # sale | rejected | lead (stays pending)
    decided_ts: float

    def status(self, now: float) -> str | None:
        """lead/sale/rejected at ``now``; None before its postback."""
        if self.postback_ts > now:
            return None
        if self.final != "lead" and self.decided_ts <= now:
            return self.final
        return "lead"


@dataclass(slots=True)
class Cell:
    """n clicks of one campaign and source spread evenly over each hour of [start, start+dur).

    A TikTok-fed cell is one ad's local day: ``bounds`` are its hour boundaries and ``cum`` the
    clicks before each boundary, so click times are exactly those of one cell per hour.
    """

    camp: int
    src: str
    start: int
    dur: int
    n: int
    attrs: Attrs = field(default_factory=dict)
    bounds: list[int] | None = None
    cum: list[int] | None = None
    conv_fn: Callable[[], list[Conv]] | None = None
    _convs: list[Conv] | None = None

    @property
    def convs(self) -> list[Conv]:
        """The cell's conversions (built on first use)."""
        if self._convs is None:
            self._convs = self.conv_fn() if self.conv_fn else []
        return self._convs

    @property
    def cid(self) -> tuple[int, str, int]:
        """The cell's identity (stable while the clicks grow during a day)."""
        return (self.camp, self.src, self.start)

    def ts(self, i: int) -> int:
        """Click i's time, whole seconds."""
        if self.bounds is None or self.cum is None:
            return self.start + ((2 * i + 1) * self.dur) // (2 * self.n) if self.dur else self.start
        h = bisect.bisect_right(self.cum, i) - 1
        m = self.cum[h + 1] - self.cum[h]
        j = i - self.cum[h]
        return self.bounds[h] + ((2 * j + 1) * (self.bounds[h + 1] - self.bounds[h])) // (2 * m)

    def first_at_or_after(self, a: int) -> int:
        """The index of the first click at or after ``a``."""
        if self.bounds is None or self.cum is None:
            return _first(self.start, self.dur, self.n, a)
        if a <= self.bounds[0]:
            return 0
        if a >= self.bounds[-1]:
            return self.n
        h = bisect.bisect_right(self.bounds, a) - 1
        m = self.cum[h + 1] - self.cum[h]
        return self.cum[h] + _first(self.bounds[h], self.bounds[h + 1] - self.bounds[h], m, a)

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Index range of the clicks inside [a, b)."""
        return self.first_at_or_after(a), self.first_at_or_after(b)

    def hours(self, i0: int, i1: int) -> list[tuple[int, int, int]]:
        """[i0, i1) cut at hour boundaries: (lo, hi, hour index)."""
        cum = self.cum
        if cum is None:
            return [(i0, i1, 0)]
        out = []
        h = max(bisect.bisect_right(cum, i0) - 1, 0)
        while h < len(cum) - 1 and cum[h] < i1:
            lo, hi = max(i0, cum[h]), min(i1, cum[h + 1])
            if lo < hi:
                out.append((lo, hi, h))
            h += 1
        return out


def _first(start: int, dur: int, n: int, a: int) -> int:
    """Among n clicks spread evenly over [start, start+dur), the first at or after ``a``."""
    if n <= 0:
        return 0
    if dur <= 0:
        return 0 if start >= a else n
    m = -(-2 * n * (a - start) // dur)
    return min(max(m // 2, 0), n)


@dataclass(slots=True)
class Write:
    """One applied cost push (for ``costs()``)."""

    seq: int
    camp: int
    key: tuple[date, str | None, str | None]
    cpc: Fraction


@dataclass(slots=True)
class Task:
    """A queued cost update (Binom 2 background task; Keitaro's scheduled job)."""

    id: int
    camp: int
    due: float
    run: Callable[[], int]
    started_at: float
    status: str = "in_progress"
    clicks: int = -1
    error: str = ""


def _kept_task() -> int:
    """A kept task's `run` (a closure does not pickle); never called: a kept task is over."""
    raise RuntimeError(CUT_OFF)


@dataclass
class Facts:
    """Summed click and conversion facts of a group."""

    clicks: int = 0
    unique: int = 0
    lp_clicks: int = 0
    leads: int = 0
    sales: int = 0
    rejected: int = 0
    lead_revenue: Fraction = ZERO
    sale_revenue: Fraction = ZERO
    rejected_revenue: Fraction = ZERO
    cost: Fraction = ZERO

    def add(self, o: Facts) -> None:
        """Add another group's facts (a zero amount costs no Fraction arithmetic)."""
        self.clicks += o.clicks
        self.unique += o.unique
        self.lp_clicks += o.lp_clicks
        self.leads += o.leads
        self.sales += o.sales
        self.rejected += o.rejected
        if o.lead_revenue:
            self.lead_revenue += o.lead_revenue
        if o.sale_revenue:
            self.sale_revenue += o.sale_revenue
        if o.rejected_revenue:
            self.rejected_revenue += o.rejected_revenue
        if o.cost:
            self.cost += o.cost

    @property
    def conversions(self) -> int:
        """All conversions (pending, approved, rejected)."""
        return self.leads + self.sales + self.rejected


def count_res(i0: int, i1: int, m: int, r: int) -> int:
    """How many i in [i0, i1) have i % m == r."""
    return (i1 - 1 - r) // m - (i0 - 1 - r) // m


def _exact_sum(parts: dict[int, int]) -> Fraction:
    """Σ numerator/denominator over {denominator: numerator sum}, exactly."""
    if len(parts) == 1:
        (den, num), = parts.items()
        return Fraction(num, den) if num else ZERO
    total = ZERO
    for den, num in parts.items():
        if num:
            total += Fraction(num, den)
    return total


class Tally:
    """Facts being summed: counts as ints, money as numerators per denominator (exact, with no
    Fraction arithmetic per click); ``facts()`` gives the same Facts as adding them one by one."""

    __slots__ = ("clicks", "cost", "lead_revenue", "leads", "lp_clicks", "rejected",
                 "rejected_revenue", "sale_revenue", "sales", "unique")

    def __init__(self) -> None:
        """Nothing yet."""
        self.clicks = self.unique = self.lp_clicks = 0
        self.leads = self.sales = self.rejected = 0
        self.lead_revenue: dict[int, int] = {}
        self.sale_revenue: dict[int, int] = {}
        self.rejected_revenue: dict[int, int] = {}
        self.cost: dict[int, int] = {}

    def facts(self) -> Facts:
        """The summed facts."""
        return Facts(self.clicks, self.unique, self.lp_clicks, self.leads, self.sales,
                     self.rejected, _exact_sum(self.lead_revenue), _exact_sum(self.sale_revenue),
                     _exact_sum(self.rejected_revenue), _exact_sum(self.cost))


def add_money(parts: dict[int, int], amount: Fraction, times: int = 1) -> None:
    """Add ``times`` × amount to a {denominator: numerator sum} tally."""
    den = amount.denominator
    parts[den] = parts.get(den, 0) + times * amount.numerator


class TikTokSource:
    """Hourly clicks and conversions of TikTok ads, read from a running TikTok emulator."""

    def __init__(self, emu: Any) -> None:
        """Attach to a RunningEmulator (sandbox.tiktok.server)."""
        self.emu = emu
        self.world = emu.state
        self.engine = emu.emulator.engine
        self._cache: dict[tuple[str, int], tuple[int, list[int], dict[str, Any]]] = {}

    def now(self) -> float:
        """The TikTok emulator's clock."""
        return float(self.emu.clock.timestamp())

    def hours(self, campaign_id: str, day: date, now: float) -> tuple[list[int], dict[str, Any]]:
        """Hour boundaries (UTC seconds) and per ad cumulative (clicks, conversions) by hour."""
        camp = self.world.campaigns[campaign_id]
        adv = self.world.advertisers[camp.advertiser_id]
        sh = self.engine.shape(adv, day)
        key = (campaign_id, day.toordinal())
        hit = self._cache.get(key)
        if hit is not None and hit[0] == camp.revision:
            return hit[1], hit[2]
        bounds = [int(b) for b in sh.boundaries()]
        _, per_ad = self.engine.campaign_hours(camp, day, now)
        out = {}
        for a, rows in per_ad.items():
            clicks = list(itertools.accumulate((f[2] for f in rows), initial=0))
            if clicks[-1]:
                out[a] = (clicks, list(itertools.accumulate((f[3] for f in rows), initial=0)))
        if sh.end <= now:
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[key] = (camp.revision, bounds, out)
        return bounds, out


MACRO_VALUES: dict[str, Callable[[Any, Any, Any], str]] = {
    "__CAMPAIGN_ID__": lambda c, g, a: c.campaign_id,
    "__CAMPAIGN_NAME__": lambda c, g, a: c.name,
    "__AID__": lambda c, g, a: g.adgroup_id,
    "__AID_NAME__": lambda c, g, a: g.name,
    "__CID__": lambda c, g, a: a.ad_id,
    "__CID_NAME__": lambda c, g, a: a.name,
    "__PLACEMENT__": lambda c, g, a: "PLACEMENT_TIKTOK",
}


def fill_macros(value: str, camp: Any, ag: Any, ad: Any) -> str:
    """Substitute TikTok's click-time macros (spec §4) in a URL parameter value."""
    for macro, fn in MACRO_VALUES.items():
        if macro in value:
            value = value.replace(macro, fn(camp, ag, ad))
    return value


class TrackerWorld:
    """Campaigns, traffic sources, clicks, conversions and costs of one tracker."""

    def __init__(self, kind: str, seed: int, knobs: dict[str, Any],
                 tiktok: TikTokSource | None, clock: Callable[[], float]) -> None:
        """Empty world; fixtures fill it."""
        self.kind = kind
        self.seed = seed
        self.knobs = knobs
        self.tiktok = tiktok
        self.clock = clock
        self.base_url = ""
        self.currency = "USD"
        self.time_zone = "UTC"
        self.campaigns: dict[int, TCampaign] = {}
        self.sources: dict[int, TrafficSource] = {}
        self.injected: dict[int, list[Cell]] = defaultdict(list)
        self.writes: dict[tuple[int, str, int], list[tuple[int, int, int, Write]]] = {}
        self.written_cells: dict[int, set[tuple[int, str, int]]] = defaultdict(set)
        self.tasks: list[Task] = []
        self._seq = 0
        self._feed_version: tuple[int, int] = (-1, -1)
        self._feed: dict[int, dict[str, tuple[str, Attrs]]] = {}
        self._camp_version = 0
        self._injected_attrs: dict[str, Attrs] = {}
        self._shares: dict[tuple[int, str], int] = {}

    # ------------------------------------------------------------------ campaigns and links

    def add_campaign(self, camp: TCampaign) -> TCampaign:
        """Register a campaign."""
        self.campaigns[camp.id] = camp
        self._camp_version += 1
        return camp

    def click_path(self) -> str:
        """The click endpoint path (spec §2, §3: Binom 2's ``/click`` is unconfirmed)."""
        if self.kind == "binom2":
            return str(self.knobs["binom2_click_path"])
        return "/click.php"

    def base_link(self, camp: TCampaign) -> str:
        """The campaign link without its parameters."""
        if self.kind == "keitaro":
            return f"{self.base_url}/{camp.alias}"
        return f"{self.base_url}{self.click_path()}?camp_id={camp.id}&key={camp.key}"

    def link(self, camp: TCampaign) -> str:
        """The campaign link with its parameters' macros, as put into a TikTok ad."""
        base = self.base_link(camp)
        if not camp.params:
            return base
        q = "&".join(f"{p.name}={p.placeholder}" for p in camp.params)
        return f"{base}{'&' if '?' in base else '?'}{q}"

    def _match(self, url: str) -> TCampaign | None:
        """The campaign whose link a landing URL holds."""
        parts = urlsplit(url)
        mine = urlsplit(self.base_url)
        if parts.netloc != mine.netloc:
            return None
        if self.kind == "keitaro":
            alias = parts.path.strip("/")
            for c in self.campaigns.values():
                if c.alias == alias:
                    return c
            return None
        if parts.path != self.click_path():
            return None
        q = parse_qs(parts.query)
        try:
            cid = int(q.get("camp_id", ["0"])[0])
        except ValueError:
            return None
        return self.campaigns.get(cid)

    def feed(self) -> dict[int, dict[str, tuple[str, Attrs]]]:
        """Tracker campaign -> {TikTok ad id: (TikTok campaign id, click attributes)}."""
        if self.tiktok is None:
            return {}
        w = self.tiktok.world
        version = (w.version, self._camp_version)
        if version == self._feed_version:
            return self._feed
        out: dict[int, dict[str, tuple[str, Attrs]]] = defaultdict(dict)
        for ad in list(w.ads.values()):
            url = ad.extra.get("landing_page_url")
            if not url or self.base_url.split("//", 1)[-1] not in url:
                continue
            camp = self._match(url)
            if camp is None:
                continue
            q = parse_qs(urlsplit(url).query)
            tc = w.campaigns[ad.campaign_id]
            ag = w.adgroups[ad.adgroup_id]
            attrs = {
                p.field: fill_macros(q[p.name][0], tc, ag, ad) for p in camp.params if p.name in q
            }
            attrs["_country"] = w.advertisers[ad.advertiser_id].country
            out[camp.id][ad.ad_id] = (ad.campaign_id, attrs)
        self._feed = dict(out)
        self._feed_version = version
        return self._feed

    def attrs(self, camp: TCampaign, src: str) -> Attrs:
        """A cell source's click attributes."""
        if src.startswith("syn:"):
            return camp.synthetic_attrs
        if src.startswith("inj:"):
            return self._injected_attrs[src]
        got = self.feed().get(camp.id, {}).get(src)
        return got[1] if got else {}

    # ------------------------------------------------------------------ clicks

    def share_pm(self, camp: int, src: str) -> int:
        """Arrival share in per mille: the knob, or 920–990 per campaign and ad."""
        pct = self.knobs.get("arrival_pct")
        if pct is not None:
            return round(float(pct) * 10)
        got = self._shares.get((camp, src))
        if got is None:
            got = 920 + int(70 * unit(u32s(f"{self.seed}:arrive:{camp}:{src}")[0]))
            self._shares[(camp, src)] = got
        return got

    def _convs(self, camp: TCampaign, src: str, start: int, dur: int, n: int,
               k: int) -> list[Conv]:
        """k conversions spread over n clicks, each with its lag, status and payout."""
        out = []
        for j in range(k):
            r = u32s(f"{self.seed}:conv:{camp.id}:{src}:{start}:{j}")
            idx = ((2 * j + 1) * n) // (2 * k)
            click_ts = start + dur * (2 * idx + 1) // (2 * n)
            lag = 60 + unit(r[0]) ** 3 * 2 * 86400
            u = unit(r[1])
            final = "sale" if u < 0.7 else "rejected" if u < 0.8 else "lead"
            if self.kind != "keitaro":
                final = "sale"  # Binom counts leads only (spec §0 "Binom's leads")
            payout = Fraction(camp.payout) * Fraction(80 + int(40 * unit(r[2])), 100)
            payout = Fraction(round(payout * 100), 100)
            postback = click_ts + lag
            decided = postback
            if self.kind == "keitaro":
                decided += 3600 + unit(r[3]) * 3 * 86400
            out.append(Conv(idx, f"{camp.id}-{src}-{start}-{j}", payout, postback, final, decided))
        return out

    def _day_convs(self, camp: TCampaign, cell: Cell, raw_v: list[int]) -> list[Conv]:
        """A day cell's conversions, hour by hour, placed on that hour's clicks."""
        out: list[Conv] = []
        pm = self.conv_pm(camp.id)
        convs = [(x * pm + 500) // 1000 for x in raw_v]
        assert cell.bounds is not None and cell.cum is not None
        for h in range(len(convs) - 1):
            m = cell.cum[h + 1] - cell.cum[h]
            k = min(m, convs[h + 1] - convs[h])
            if k <= 0:
                continue
            s = cell.bounds[h]
            for c in self._convs(camp, cell.src, s, max(cell.bounds[h + 1] - s, 1), m, k):
                c.idx += cell.cum[h]
                out.append(c)
        return out

    def cells(self, camp: TCampaign, a: int, b: int) -> Iterator[Cell]:
        """Every cell of a campaign with clicks that may fall in [a, b)."""
        now = self.clock()
        b = min(b, int(now) + 1)
        if b <= a:
            return
        drop = float(self.knobs.get("drop_clicks_pct") or 0)
        keep_num = round((100 - drop) * 100)
        if self.tiktok is not None:
            feed = self.feed().get(camp.id, {})
            by_tc: dict[str, list[str]] = defaultdict(list)
            for ad_id, (tc, _) in feed.items():
                by_tc[tc].append(ad_id)
            w = self.tiktok.world
            for tc, ads in by_tc.items():
                tz = w.advertisers[w.campaigns[tc].advertiser_id].tz
                d0 = datetime.fromtimestamp(a, tz).date()
                d1 = datetime.fromtimestamp(b - 1, tz).date()
                d = d0
                while d <= d1:
                    bounds, per_ad = self.tiktok.hours(tc, d, now)
                    if bounds[-1] <= a or bounds[0] >= b:
                        d += timedelta(days=1)
                        continue
                    hb = [min(x, int(now)) for x in bounds]
                    for ad_id in ads:
                        got = per_ad.get(ad_id)
                        if not got:
                            continue
                        raw_c, raw_v = got
                        # Cumulative floors over the day: hours add up to the day's share.
                        share = self.share_pm(camp.id, ad_id) * keep_num
                        n = raw_c[-1] * share // 10_000_000
                        if n <= 0:
                            continue
                        cum = [x * share // 10_000_000 for x in raw_c]
                        cell = Cell(camp.id, ad_id, bounds[0], hb[-1] - hb[0], n,
                                    feed[ad_id][1], hb, cum)
                        cell.conv_fn = partial(self._day_convs, camp, cell, raw_v)
                        yield cell
                    d += timedelta(days=1)
        if camp.synthetic_clicks:
            h0 = max(a, int(camp.created)) // HOUR * HOUR
            for s in range(h0, b, HOUR):
                r = u32s(f"{self.seed}:syn:{camp.id}:{s}")
                n = int(camp.synthetic_clicks * 2 * unit(r[0])) * keep_num // 10_000
                if n <= 0 or s >= now:
                    continue
                k = n * int(60 * unit(r[1])) // 1000
                dur = min(HOUR, int(now) - s)
                yield Cell(camp.id, "syn:0", s, max(dur, 1), n, camp.synthetic_attrs,
                           _convs=self._convs(camp, "syn:0", s, max(dur, 1), n, k) if k else [])
        for cell in self.injected.get(camp.id, []):
            if a <= cell.start < b:
                yield cell

    def conv_pm(self, camp: int) -> int:
        """How many tracker conversions per 1000 TikTok conversions (900–1100 per campaign)."""
        return 900 + int(200 * unit(u32s(f"{self.seed}:convshare:{camp}")[1]))

    def add_click(self, camp_id: int, when: float, attrs: Attrs,
                  payout: Decimal | None = None, status: str = "sale") -> None:
        """Inject one click (and optionally its conversion) at an exact time."""
        camp = self.campaigns[camp_id]
        src = f"inj:{len(self._injected_attrs)}"
        self._injected_attrs[src] = dict(attrs)
        ts = int(when)
        convs = []
        if payout is not None:
            convs = [Conv(0, f"{camp.id}-{src}", Fraction(payout), ts + 60, status, ts + 60)]
        self.injected[camp.id].append(Cell(camp.id, src, ts, 0, 1, dict(attrs), _convs=convs))

    # ------------------------------------------------------------------ facts

    def cost_parts(self, cell: Cell, i0: int, i1: int) -> list[tuple[Fraction, int]]:
        """The cost on clicks [i0, i1) of a cell as (CPC, clicks holding it): each click holds
        its latest write's CPC (the latest write first takes what no later one holds)."""
        ws = self.writes.get(cell.cid)
        if not ws or i1 <= i0:
            return []
        if len(ws) == 1:
            _, w0, w1, wr = ws[0]
            took = min(i1, w1) - max(i0, w0)
            return [(wr.cpc, took)] if took > 0 else []
        out = []
        free = [(i0, i1)]
        for _, w0, w1, wr in reversed(ws):
            rest = []
            took = 0
            for f0, f1 in free:
                lo, hi = max(f0, w0), min(f1, w1)
                if lo >= hi:
                    rest.append((f0, f1))
                    continue
                took += hi - lo
                if f0 < lo:
                    rest.append((f0, lo))
                if hi < f1:
                    rest.append((hi, f1))
            if took:
                out.append((wr.cpc, took))
                if not rest:
                    break
            free = rest
        return out

    def cell_cost(self, cell: Cell, i0: int, i1: int) -> Fraction:
        """The cost on clicks [i0, i1) of a cell: each click holds its latest write's CPC."""
        total = ZERO
        for cpc, clicks in self.cost_parts(cell, i0, i1):
            total += clicks * cpc
        return total

    def tally(self, t: Tally, cell: Cell, i0: int, i1: int, now: float) -> None:
        """Add the facts of clicks [i0, i1) of a cell at ``now`` to a tally."""
        t.clicks += i1 - i0
        t.unique += i1 - i0 - count_res(i0, i1, 10, 9)  # every tenth click is a repeat
        # 60 % click through: residues 0, 1, 2 of 5
        t.lp_clicks += (count_res(i0, i1, 5, 0) + count_res(i0, i1, 5, 1)
                        + count_res(i0, i1, 5, 2))
        for c in cell.convs:
            if i0 <= c.idx < i1:
                st = c.status(now)
                if st == "lead":
                    t.leads += 1
                    add_money(t.lead_revenue, c.payout)
                elif st == "sale":
                    t.sales += 1
                    add_money(t.sale_revenue, c.payout)
                elif st == "rejected":
                    t.rejected += 1
                    add_money(t.rejected_revenue, c.payout)
        for cpc, clicks in self.cost_parts(cell, i0, i1):
            add_money(t.cost, cpc, clicks)

    def facts(self, cell: Cell, i0: int, i1: int, now: float) -> Facts:
        """Facts of clicks [i0, i1) of a cell at ``now``."""
        t = Tally()
        self.tally(t, cell, i0, i1, now)
        return t.facts()

    # ------------------------------------------------------------------ costs

    def matching(self, camps: list[TCampaign], a: int, b: int,
                 pred: Callable[[Attrs], bool]) -> list[tuple[Cell, int, int]]:
        """The clicks of a push segment: (cell, i0, i1) with at least one click."""
        out = []
        for camp in camps:
            for cell in self.cells(camp, a, b):
                if not pred(cell.attrs):
                    continue
                i0, i1 = cell.span(a, b)
                if i1 > i0:
                    out.append((cell, i0, i1))
        return out

    def apply_cost(self, camps: list[TCampaign], a: int, b: int,
                   pred: Callable[[Attrs], bool], key: tuple[date, str | None, str | None],
                   cost: Fraction | None, cpc: Fraction | None = None) -> int:
        """Write a segment's cost on its clicks (replacing); returns how many clicks took it."""
        hits = self.matching(camps, a, b, pred)
        n = sum(i1 - i0 for _, i0, i1 in hits)
        if n == 0:
            return 0
        self._seq += 1
        per = cpc if cpc is not None else (cost or Fraction(0)) / n
        wr = Write(self._seq, camps[0].id, key, per)
        for cell, i0, i1 in hits:
            lst = self.writes.setdefault(cell.cid, [])
            lst[:] = [x for x in lst if not (x[1] >= i0 and x[2] <= i1)]
            lst.append((wr.seq, i0, i1, wr))
            self.written_cells[cell.camp].add(cell.cid)
        return n

    def schedule(self, camp: TCampaign, run: Callable[[], int]) -> Task:
        """Queue a cost update; it runs after ``cost_delay_s`` (0: at once)."""
        delay = float(self.knobs.get("cost_delay_s") or 0)
        task = Task(len(self.tasks) + 1, camp.id, time.monotonic() + delay, run, self.clock())
        self.tasks.append(task)
        if delay <= 0:
            self.run_due()
        return task

    # ------------------------------------------------------------------ kept across restarts

    def kept(self) -> dict[str, Any]:
        """What pushes changed (sandbox/keep.py); the rest is rebuilt from the fixture and
        TikTok's world. A cost update still queued is kept as failed: a restart cut it off."""
        tasks = []
        for t in self.tasks:
            queued = t.status == "in_progress"
            tasks.append(replace(t, run=_kept_task, status="failed" if queued else t.status,
                                 error=CUT_OFF if queued else t.error))
        return {"writes": self.writes, "written_cells": dict(self.written_cells),
                "seq": self._seq, "tasks": tasks}

    def take_up(self, kept: dict[str, Any]) -> None:
        """Hold again what an earlier run's pushes left (the same fixture over the same world)."""
        self.writes = kept["writes"]
        self.written_cells = defaultdict(set, kept["written_cells"])
        self._seq = kept["seq"]
        self.tasks = kept["tasks"]

    def changes(self) -> tuple[object, ...]:
        """Moves whenever what kept() holds changes."""
        return self._seq, tuple(t.status for t in self.tasks)

    def run_due(self, everything: bool = False) -> None:
        """Apply every queued cost update whose time has come (or all of them)."""
        mono = time.monotonic()
        for t in self.tasks:
            if t.status == "in_progress" and (everything or t.due <= mono):
                try:
                    t.clicks = t.run()
                    t.status = "finished"
                except Exception as exc:  # reported by the task monitor, as Binom 2 does
                    t.status = "failed"
                    t.error = str(exc)

    def costs(self, camp_id: int) -> dict[tuple[date, str | None, str | None], Decimal]:
        """What each pushed segment holds now (segments on 0 clicks, or overwritten, absent)."""
        acc: dict[tuple[date, str | None, str | None], Fraction] = defaultdict(Fraction)
        for cid in self.written_cells.get(camp_id, ()):
            ws = self.writes.get(cid, [])
            hi = max((w1 for _, _, w1, _ in ws), default=0)
            owner: list[Write | None] = [None] * hi
            for _, w0, w1, wr in ws:
                for i in range(w0, w1):
                    owner[i] = wr
            for wr in owner:
                if wr is not None:
                    acc[wr.key] += wr.cpc
        return {k: to_decimal(v) for k, v in acc.items() if v}


def parse_local(text: str, tz: ZoneInfo) -> datetime:
    """'YYYY-MM-DD[ HH:MM[:SS]]' in a zone, as an aware datetime."""
    text = text.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(f"bad date {text!r}")


def day_start(d: date, tz: Any) -> int:
    """A local day's first second, UTC."""
    return int(datetime.combine(d, dtime(0), tz).timestamp())


def convert(amount: Fraction, cur_from: str, cur_to: str) -> Fraction:
    """Convert money with the emulator's fixed rates (sandbox.tiktok.model.CURRENCY_RATE)."""
    if cur_from == cur_to:
        return amount
    if cur_from not in CURRENCY_RATE or cur_to not in CURRENCY_RATE:
        raise KeyError(cur_from if cur_from not in CURRENCY_RATE else cur_to)
    return amount / Fraction(CURRENCY_RATE[cur_from]) * Fraction(CURRENCY_RATE[cur_to])
