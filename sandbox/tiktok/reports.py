"""GET /report/integrated/get/: BASIC and AUDIENCE reports computed from the delivery facts
(spec §7.1; the AUDIENCE breakdowns: audience.py).

Which metrics exist, at which data levels, and how each is computed: catalogue.py and
report_catalogue.csv.  Formats follow spec §7.1: counts are integer strings; money has three
decimals, except ``cpc``/``cpm`` rounded to two and zero-padded to three; ``cost_per_result``
has four; rates and ``frequency`` two; a zero denominator gives zeros; the secondary-goal
metrics answer "-".  Choices where the spec is silent: ``conversion_rate`` and
``complete_payment_rate`` are per click, ``conversion_rate_v2`` per impression [L];
``complete_payment_roas`` = purchase value / spend with two decimals [U]; ``reach`` is
summed across ads (a real unique reach would be lower) [U].
"""

from __future__ import annotations

import json
from array import array
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from operator import add
from typing import Any

from sandbox.tiktok.api_account import page_args
from sandbox.tiktok.audience import SPLIT_DIMS, UNSUPPORTED_DIMS, Breakdown, Bucket
from sandbox.tiktok.catalogue import CATALOGUE, Families, Metric, column_renderer, renderer
from sandbox.tiktok.core import Ctx, RawJSON, route
from sandbox.tiktok.delivery import NF, DayShape
from sandbox.tiktok.errors import param_error
from sandbox.tiktok.model import DELETE, Ad, Advertiser, Campaign, World, json_number
from sandbox.tiktok.params import check_str_list

LEVELS = {
    "AUCTION_ADVERTISER": "advertiser_id",
    "AUCTION_CAMPAIGN": "campaign_id",
    "AUCTION_ADGROUP": "adgroup_id",
    "AUCTION_AD": "ad_id",
}
LEVEL_RANK = {"AUCTION_ADVERTISER": 0, "AUCTION_CAMPAIGN": 1, "AUCTION_ADGROUP": 2, "AUCTION_AD": 3}
TIME_DIMS = ("stat_time_day", "stat_time_hour")
ID_DIMS = ("advertiser_id", "campaign_id", "adgroup_id", "ad_id")
# A row's facts: the delivery facts, then the derived families the query reads (catalogue.py).
F = tuple[int, ...] | list[int] | array
STATUS_FILTERS = {"campaign_status": 1, "adgroup_status": 2, "ad_status": 3}
# Report filters (spec §7.1 "common filters"; TikTok's docs per report type): anything else
# is refused with 40002, as TikTok does for a field_name the report type does not support.
IN_FILTERS = (
    "campaign_ids",
    "adgroup_ids",
    "ad_ids",
    "country_code",
    "objective_type",
    "buying_type",
    *STATUS_FILTERS,
)
NAME_FILTERS = ("campaign_name", "adgroup_name", "ad_name")
BUYING_TYPES = ("AUCTION", "RESERVATION_RF", "RESERVATION_TOP_VIEW")


class ReportQuery:
    """A validated report request."""

    def __init__(self, ctx: Ctx, sync: bool = True) -> None:
        """Read and check every parameter (``sync``: report/integrated/get, else a task)."""
        p = ctx.params
        cfg = ctx.emu.config
        self.ctx = ctx
        src = p.src
        if cfg.accept_v12_report_aliases:
            # Spec §7.1 parameter-name drift: v1.2's filters / lifetime.
            if "filtering" not in src and "filters" in src:
                src = {**src, "filtering": src["filters"]}
            if "query_lifetime" not in src and "lifetime" in src:
                src = {**src, "query_lifetime": src["lifetime"]}
            p.src = src
        rtype = p.enum(
            "report_type",
            ["BASIC", "AUDIENCE", "PLAYABLE_MATERIAL", "CATALOG", "BC", "TT_SHOP"],
            required=True,
        )
        if rtype not in ("BASIC", "AUDIENCE"):
            raise param_error(
                f"report_type {rtype} is not supported by this emulator (BASIC and AUDIENCE only)."
            )
        audience = rtype == "AUDIENCE"
        p.enum("service_type", ["AUCTION", "RESERVATION"], default="AUCTION")
        p.enum("query_mode", ["REGULAR", "CHUNK"], default="REGULAR")
        level = p.enum(
            "data_level",
            list(LEVELS)
            + [f"RESERVATION_{x}" for x in ("AD", "ADGROUP", "ADVERTISER", "CAMPAIGN")],
            required=True,
        )
        assert level is not None
        if level.startswith("RESERVATION"):
            raise param_error("data_level RESERVATION_* is deprecated.")
        self.level = level
        self.rank = LEVEL_RANK[level]
        self.advertisers = self._advertisers(ctx)
        dims = p.str_list("dimensions", required=True) or []
        id_dim = LEVELS[level]
        allowed = {id_dim, *TIME_DIMS, "country_code", *(SPLIT_DIMS if audience else ())}
        unsupported = [d for d in dims if audience and d in UNSUPPORTED_DIMS]
        if unsupported:
            raise param_error(f"dimensions {unsupported} are not supported by this emulator.")
        bad = [d for d in dims if d not in allowed]
        if bad:
            raise param_error(f"dimensions {bad} are invalid for data_level {level}.")
        if len(set(dims)) != len(dims):
            raise param_error("dimensions contains duplicates.")
        times = [d for d in dims if d in TIME_DIMS]
        if len(times) > 1:
            raise param_error(
                "dimensions can contain only one of stat_time_day and stat_time_hour."
            )
        self.dims = dims
        self.time_dim = times[0] if times else None
        self.id_dim = id_dim if id_dim in dims else None
        self.metrics = p.str_list("metrics") or ["spend", "impressions"]
        self.lifetime = p.bool("query_lifetime", False)
        if audience and self.lifetime:
            raise param_error("query_lifetime is only supported by BASIC reports.")
        if audience and self.time_dim == "stat_time_hour":
            # Not known to be offered by hour [U] (audience.py): refused, not guessed.
            raise param_error("AUDIENCE reports support stat_time_day only.")
        split = [d for d in dims if d in SPLIT_DIMS]
        self.breakdown = Breakdown(ctx.world, split, cfg.audience_values) if split else None
        self.catalogue = [self._metric(m, sync) for m in self.metrics]
        # Spec §7.2: with advertiser_ids, the dates and times may all be UTC instead of each
        # account's own; the UTC days asked for (None: each account's local days).
        self.utc_days: set[date] | None = None
        if p.bool("multi_adv_report_in_utc_time", False):
            if not p.has("advertiser_ids"):
                raise param_error("multi_adv_report_in_utc_time needs advertiser_ids.")
            self.utc_days = set()
        self.days = self._days(ctx)
        self.filters = self._filters(ctx)
        self.order_field = p.str("order_field")
        order = CATALOGUE.get(self.order_field or "")
        sortable = order is not None and order.op not in ("attr", "dash")
        if self.order_field and (order is None or not sortable or self.rank not in order.levels):
            raise param_error(f"order_field {self.order_field} is not a sortable metric.")
        # Fact families the metrics read; only reports asking for more than the base facts
        # pay for deriving them (catalogue.Families).
        shown = self.catalogue + ([order] if order else [])
        needed = [f for m in shown for f in m.families]
        self.families = Families(ctx.world.seed, needed)
        index = self.families.index
        self.render_fns: dict[str, Callable[[F], str]] = {
            m.name: renderer(m, index) for m in shown if not m.is_attribute
        }
        if cfg.report_skan_dash:
            for m in self.catalogue:
                if m.group == "skan":
                    self.render_fns[m.name] = lambda f: "-"
        # The metrics whose text is a function of one fact (render_json maps it by column).
        self.column_fns: dict[str, tuple[int, Callable[[int], str]]] = {}
        for m in shown:
            simple = column_renderer(m, index) if m.name in self.render_fns else None
            if simple is not None and not (cfg.report_skan_dash and m.group == "skan"):
                self.column_fns[m.name] = simple
        self.order_desc = p.enum("order_type", ["ASC", "DESC"], default="DESC") == "DESC"
        self.page, self.page_size = page_args(p, 1000, 10)
        self.total = p.bool("enable_total_metrics", False)

    def _metric(self, name: str, sync: bool) -> Metric:
        """A requested metric, checked against the catalogue for this level and dimensions."""
        m = CATALOGUE.get(name)
        if m is None:
            raise param_error(f"metrics: {name} is not a valid metric.")
        if self.rank not in m.levels:
            raise param_error(f"metrics: {name} is not available at data_level {self.level}.")
        has_id = any(d in ID_DIMS for d in self.dims)
        cfg = self.ctx.emu.config
        if m.is_attribute and not has_id and cfg.report_attributes_need_id_dimension:
            # TikTok docs: attribute metrics work only with an ID dimension.
            raise param_error(
                f"metrics: {name} is an attribute metric and needs an ID dimension "
                f"(advertiser_id, campaign_id, adgroup_id or ad_id)."
            )
        if m.daily_only and (self.time_dim != "stat_time_day" or self.lifetime):
            raise param_error(f"metrics: {name} is only available with stat_time_day.")
        hourly = self.time_dim == "stat_time_hour" and not cfg.report_engaged_view_hourly
        if m.needs_id_dimension and (not has_id or hourly):
            raise param_error(
                f"metrics: {name} needs one ID dimension, optionally with stat_time_day."
            )
        if m.sync_only and not sync:
            raise param_error(f"metrics: {name} is only available in synchronous reports.")
        return m

    def _advertisers(self, ctx: Ctx) -> list[Advertiser]:
        """advertiser_id, or advertiser_ids (≤5) for BASIC."""
        p = ctx.params
        if p.has("advertiser_ids"):
            ids = p.str_list("advertiser_ids", max_items=5, min_items=1) or []
            return [ctx.advertiser(a) for a in ids]
        if not p.has("advertiser_id"):
            raise param_error("advertiser_id is required.")
        return [ctx.advertiser()]

    def _days(self, ctx: Ctx) -> dict[str, list[date]]:
        """Local days to cover, per advertiser (spec §7.1 span limits)."""
        p = ctx.params
        out: dict[str, list[date]] = {}
        if self.lifetime:
            if self.time_dim:
                raise param_error("query_lifetime cannot be used with time dimensions.")
            self.utc_days = None  # no dates: every day there is, whichever zone counts them
            for adv in self.advertisers:
                first = min((c.create_time for c in _campaigns(ctx.world, adv)), default=ctx.now)
                start = datetime.fromtimestamp(first, adv.tz).date()
                end = ctx.emu.engine.local_today(adv, ctx.now)
                out[adv.advertiser_id] = _range(start, end)
            return out
        start = _date("start_date", p.str("start_date", required=True))
        end = _date("end_date", p.str("end_date", required=True))
        if end < start:
            raise param_error("end_date must not be earlier than start_date.")
        span = (end - start).days + 1
        if self.time_dim == "stat_time_hour" and span > 1:
            raise param_error("With stat_time_hour, start_date and end_date must be the same day.")
        if self.time_dim == "stat_time_day" and span > 30:
            raise param_error("With stat_time_day, the date range cannot exceed 30 days.")
        if span > 365:
            raise param_error("The date range cannot exceed 365 days.")
        if self.utc_days is None:
            for adv in self.advertisers:
                out[adv.advertiser_id] = _range(start, end)
            return out
        # In UTC: each account's local days that overlap the UTC days, read by the hour.
        self.utc_days.update(_range(start, end))
        first = datetime.combine(start, time(0), UTC)
        last = datetime.combine(end + timedelta(days=1), time(0), UTC) - timedelta(seconds=1)
        for adv in self.advertisers:
            if any((t.astimezone(adv.tz).utcoffset() or timedelta()) % timedelta(hours=1)
                   for t in (first, last)):
                raise param_error(
                    "multi_adv_report_in_utc_time is not supported by this emulator for an "
                    "account whose UTC offset is not a whole number of hours."
                )
            out[adv.advertiser_id] = _range(first.astimezone(adv.tz).date(),
                                            last.astimezone(adv.tz).date())
        return out

    def _filters(self, ctx: Ctx) -> dict[str, Any]:
        """filtering: a JSON array of {field_name, filter_type, filter_value (JSON text)}."""
        p = ctx.params
        raw = p.json("filtering")
        out: dict[str, Any] = {}
        if raw is None:
            return out
        if not isinstance(raw, list):
            raise param_error("filtering should be a JSON array.")
        for item in raw:
            if not isinstance(item, dict) or not {
                "field_name",
                "filter_type",
                "filter_value",
            } <= set(item):
                raise param_error("filtering items need field_name, filter_type and filter_value.")
            name, ftype, value = item["field_name"], item["filter_type"], item["filter_value"]
            if ftype not in (
                "IN",
                "MATCH",
                "GREATER_EQUAL",
                "GREATER_THAN",
                "LOWER_EQUAL",
                "LOWER_THAN",
                "BETWEEN",
                "RANGE",
            ):
                raise param_error(f"filtering.filter_type {ftype} is invalid.")
            if not isinstance(value, str):
                # Spec §1.4: filter_value is itself JSON-encoded text (double encoding).
                raise param_error("filtering.filter_value should be a JSON-encoded string.")
            if name in IN_FILTERS:
                if ftype != "IN":
                    raise param_error(f"filtering: {name} supports only filter_type IN.")
                try:
                    decoded = json.loads(value)
                except ValueError:
                    raise param_error(
                        f"filtering.filter_value of {name} is not valid JSON."
                    ) from None
                limit = 100 if name.endswith("_ids") else None
                ids = check_str_list(
                    f"filtering.{name}",
                    decoded,
                    True,
                    limit,
                    1,
                    too_many_code=ctx.emu.config.too_many_ids_code,
                )
                if name in STATUS_FILTERS:
                    check_str_list(
                        name, ids, allowed=["STATUS_ALL", "STATUS_NOT_DELETE", "STATUS_DELETE"]
                    )
                if name == "buying_type":
                    check_str_list(name, ids, allowed=BUYING_TYPES)
                out[name] = set(ids or [])
            elif name in NAME_FILTERS:
                if ftype != "MATCH":
                    raise param_error(f"filtering: {name} supports only filter_type MATCH.")
                try:
                    decoded = json.loads(value)
                except ValueError:
                    decoded = value
                if not isinstance(decoded, str) or not decoded:
                    raise param_error(f"filtering.filter_value of {name} should be a string.")
                out[name] = decoded.lower()  # fuzzy: a case-insensitive substring (SQL LIKE)
            else:
                raise param_error(f"filtering.field_name {name} is not supported.")
        return out


def _date(name: str, value: str | None) -> date:
    """A YYYY-MM-DD date."""
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        raise param_error(f"{name} should be in the format YYYY-MM-DD.") from None


def _range(start: date, end: date) -> list[date]:
    """Inclusive list of days."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _campaigns(world: World, adv: Advertiser) -> list[Campaign]:
    """Campaigns of an account."""
    return [world.campaigns[c] for c in world.campaigns_by_adv.get(adv.advertiser_id, [])]


def _deleted_at(world: World, ad: Ad, rank: int) -> bool:
    """Is the object at ``rank`` above this ad (or the ad) deleted, parents included."""
    if world.campaigns[ad.campaign_id].status.current() == DELETE:
        return True
    if rank >= 2 and world.adgroups[ad.adgroup_id].status.current() == DELETE:
        return True
    return rank >= 3 and ad.status.current() == DELETE


def _status_rules(q: ReportQuery) -> list[tuple[int, set[str]]]:
    """The *_status filters as (rank, wanted); by default the report's own level hides deleted."""
    filters = dict(q.filters)
    own = {1: "campaign_status", 2: "adgroup_status", 3: "ad_status"}.get(q.rank)
    if own and own not in filters:
        filters[own] = {"STATUS_NOT_DELETE"}
    return [
        (rank, filters[name])
        for name, rank in STATUS_FILTERS.items()
        if filters.get(name) and "STATUS_ALL" not in filters[name]
    ]


def _status_ok(world: World, ad: Ad, rules: list[tuple[int, set[str]]]) -> bool:
    """Does the ad pass the status rules (deleted = the object or a parent is deleted)."""
    for rank, want in rules:
        deleted = _deleted_at(world, ad, rank)
        if (deleted and "STATUS_DELETE" not in want) or (
            not deleted and "STATUS_NOT_DELETE" not in want
        ):
            return False
    return True


PROMOTION_TITLES = {"WEBSITE": "Website", "APP_ANDROID": "App", "APP_IOS": "App"}
BID_STRATEGY_TITLES = {
    "BID_STRATEGY_COST_CAP": "Cost Cap",
    "BID_STRATEGY_BID_CAP": "Bid Cap",
    "BID_STRATEGY_MAX_CONVERSION": "Maximum Delivery",
    "BID_STRATEGY_LOWEST_COST": "Lowest Cost",
}


def _attribute(world: World, name: str, adv: Advertiser, ad: Ad | None) -> str:
    """An attribute metric of the row's object, read from the world (spec §7.1: text)."""
    if name in ("currency", "advertiser_id", "advertiser_name"):
        return {"currency": adv.currency, "advertiser_id": adv.advertiser_id}.get(name, adv.name)
    if ad is None:
        return "-"
    camp = world.campaigns[ad.campaign_id]
    ag = world.adgroups[ad.adgroup_id]
    ce, ge, ae = camp.extra, ag.extra, ad.extra
    if name in ("bid", "bid_secondary_goal"):
        key = "deep_cpa_bid" if name == "bid_secondary_goal" else "conversion_bid_price"
        raw = ge.get(key) or (ge.get("bid_price") if name == "bid" else None)
        return str(raw) if raw else "0"
    strategy = ge.get("bid_strategy") or (
        "BID_STRATEGY_COST_CAP" if ge.get("bid_type") == "BID_TYPE_CUSTOM" else ""
    )
    values: dict[str, Any] = {
        "campaign_automation_type": "MANUAL",
        "campaign_name": camp.name,
        "campaign_id": camp.campaign_id,
        "objective_type": camp.objective_type,
        "split_test": "Split test off" if not ce.get("split_test_variable") else "Split test on",
        "campaign_budget": str(json_number(camp.budget.current())),
        "campaign_dedicate_type": "iOS14 dedicated"
        if ce.get("campaign_type") == "IOS14_CAMPAIGN"
        else "Regular",
        "app_promotion_type": ce.get("app_promotion_type") or "UNSET",
        "adgroup_name": ag.name,
        "adgroup_id": ag.adgroup_id,
        "placement_type": "Automatic Placement"
        if ge.get("placement_type") == "PLACEMENT_TYPE_AUTOMATIC"
        else "TikTok",
        "promotion_type": PROMOTION_TITLES.get(ge.get("promotion_type") or "WEBSITE", "Other"),
        "opt_status": "ENABLE" if ge.get("creative_material_mode") == "DYNAMIC" else "DISABLE",
        "adgroup_download_url": ae.get("landing_page_url") or "-",
        "budget": str(json_number(ag.budget.current())),
        "smart_target": ag.optimization_goal,
        "pricing_category": ag.billing_event,
        "billing_event": ag.billing_event,
        "bid_strategy": BID_STRATEGY_TITLES.get(strategy, "Lowest Cost"),
        "ad_name": ad.name,
        "ad_id": ad.ad_id,
        "ad_id_v2": ad.ad_id,
        "ad_text": ae.get("ad_text", ad.name),
        "call_to_action": ae.get("call_to_action") or "-",
        "ad_url": ae.get("landing_page_url") or "-",
        "image_mode": ae.get("ad_format") or "SINGLE_VIDEO",
        "tt_app_id": str(ge.get("app_id") or "0"),
        "is_aco": "true" if ge.get("creative_material_mode") == "DYNAMIC" else "false",
        "is_smart_creative": "false",
    }
    # A campaign row has no single ad group: its ad-group attributes answer "-".
    return str(values.get(name, "-"))


# The attributes a sync asks for on every ad row (ids and names of the row's object and its
# parents), read straight from the world: _attribute builds its whole dict of ~30 values per
# row, which was a third of the emulator's CPU for a sync. Same values as _attribute's.
_DIRECT_ATTRIBUTES: dict[str, Callable[[World, Ad], str]] = {
    "campaign_id": lambda w, ad: w.campaigns[ad.campaign_id].campaign_id,
    "campaign_name": lambda w, ad: w.campaigns[ad.campaign_id].name,
    "adgroup_id": lambda w, ad: w.adgroups[ad.adgroup_id].adgroup_id,
    "adgroup_name": lambda w, ad: w.adgroups[ad.adgroup_id].name,
    "ad_id": lambda w, ad: ad.ad_id,
    "ad_id_v2": lambda w, ad: ad.ad_id,
    "ad_name": lambda w, ad: ad.name,
}


def _attribute_column(
    w: World, name: str, adv: Advertiser, ad_ids: list[str] | None, n: int
) -> list[str]:
    """An attribute metric for n rows, quoted as JSON text (rows' sample ads, or none)."""
    if ad_ids is None or name in ("currency", "advertiser_id", "advertiser_name"):
        return [_quote(_attribute(w, name, adv, None))] * n if ad_ids is None else [
            _quote(_attribute(w, name, adv, w.ads[a])) for a in ad_ids
        ]
    get = _DIRECT_ATTRIBUTES.get(name)
    if get is None:
        return [_quote(_attribute(w, name, adv, w.ads[a])) for a in ad_ids]
    ads = w.ads
    quoted: dict[str, str] = {}  # ids repeat down a page (an ad group's many rows)
    out = []
    for a in ad_ids:
        value = str(get(w, ads[a]))
        text = quoted.get(value)
        if text is None:
            text = quoted[value] = _quote(value)
        out.append(text)
    return out


# (advertiser, object id, time label, audience bucket: () without a breakdown)
Key = tuple[str, str | None, str | None, Bucket]
# Rows as columns (advertiser, object id, time label, bucket) to keep cached reports small.
Columns = tuple[list[str], list[str | None], list[str | None], list[Bucket]]
Grouped = tuple[Columns, array, list[str]]


def _utc_labels(
    shape: DayShape, time_dim: str | None, days: set[date]
) -> tuple[list[str | None], list[bool]]:
    """A local day's hours as UTC time labels, and whether each is in the UTC days asked for
    (hours start on whole UTC hours: ReportQuery refuses other offsets)."""
    labels: list[str | None] = []
    keep = []
    text = "%Y-%m-%d %H:00:00" if time_dim == "stat_time_hour" else "%Y-%m-%d 00:00:00"
    for ts in shape.boundaries()[:-1]:
        at = datetime.fromtimestamp(ts, UTC)
        keep.append(at.date() in days)
        labels.append(at.strftime(text) if time_dim else None)
    return labels, keep


def _object_of(
    q: ReportQuery, w: World, adv: Advertiser, ad: Ad, rules: list[tuple[int, set[str]]]
) -> str | None:
    """The id of the object an ad's rows count for at the report's level, or None when the
    ad-level filters or the status rules leave the ad out."""
    f = q.filters
    if "adgroup_ids" in f and ad.adgroup_id not in f["adgroup_ids"]:
        return None
    if "ad_ids" in f and ad.ad_id not in f["ad_ids"]:
        return None
    if "ad_name" in f and f["ad_name"] not in ad.name.lower():
        return None
    if "adgroup_name" in f and f["adgroup_name"] not in w.adgroups[ad.adgroup_id].name.lower():
        return None
    if rules and not _status_ok(w, ad, rules):
        return None
    return (adv.advertiser_id, ad.campaign_id, ad.adgroup_id, ad.ad_id)[q.rank]


def aggregate(q: ReportQuery) -> Grouped:
    """Sum the facts per (advertiser, object id, time label, audience bucket), sorted.

    Runs in the emulator's worker thread (see server.api_dispatch), so a big report does
    not stall the event loop.
    """
    ctx = q.ctx
    w = ctx.world
    engine = ctx.emu.engine
    now = ctx.now
    groups: dict[Key, list[int]] = {}
    sample: dict[Key, Ad] = {}
    f = q.filters
    rules = _status_rules(q)
    fam = q.families
    derive = bool(fam.derived)
    breakdown = q.breakdown
    # Per ad: the id of the object its rows count for, or None when the filters drop it.
    objects: dict[str, str | None] = {}
    for adv in q.advertisers:
        unit = int(adv.rate * 100)
        for camp in _campaigns(w, adv):
            if "campaign_ids" in f and camp.campaign_id not in f["campaign_ids"]:
                continue
            if "country_code" in f and adv.country not in f["country_code"]:
                continue
            if "objective_type" in f and camp.objective_type not in f["objective_type"]:
                continue
            if "buying_type" in f and "AUCTION" not in f["buying_type"]:
                continue  # every object here is an auction one
            if "campaign_name" in f and f["campaign_name"] not in camp.name.lower():
                continue
            for day in q.days[adv.advertiser_id]:
                # Each ad's rows of the day in time order: one for the day, or its hours.
                keep: list[bool] | None = None  # in UTC: which hours are in the UTC days
                if q.time_dim == "stat_time_hour" or q.utc_days is not None:
                    labels, hours = engine.campaign_hours(camp, day, now)
                    per_ad: Any = hours.items()
                    if q.utc_days is not None:
                        labels, keep = _utc_labels(engine.shape(adv, day), q.time_dim,
                                                   q.utc_days)
                else:
                    labels = [f"{day.isoformat()} 00:00:00" if q.time_dim else None]
                    per_day = engine.campaign_day(camp, day, now)
                    per_ad = ((a, (facts,)) for a, facts in per_day.items())
                for ad_id, rows in per_ad:
                    # Whether the ad passes the filters, and the object it counts for, are the
                    # same for all its rows (and days): decided once per ad.
                    obj_id = objects.get(ad_id, False)
                    if obj_id is False:
                        obj_id = objects[ad_id] = _object_of(q, w, adv, w.ads[ad_id], rules)
                    if obj_id is None:
                        continue
                    # Running cumulative facts of the ad inside the day, for derived families.
                    cum, ext = ([0] * NF, [0] * len(fam.derived)) if derive else ((), ())
                    for h, facts in enumerate(rows):
                        if derive:
                            # Derived families are floors of cumulative values (catalogue.py):
                            # an hour is the difference of the ad-day's cumulative before/after.
                            cum = [cum[i] + facts[i] for i in range(NF)]
                            now_ext = fam.values(ad_id, unit, cum)
                            delta = [now_ext[i] - ext[i] for i in range(len(ext))]
                            ext = now_ext
                            facts = (*facts, *delta)
                        if not any(facts) or (keep is not None and not keep[h]):
                            continue
                        parts: Any = (
                            (((), facts),) if breakdown is None
                            else breakdown.split(w.ads[ad_id], adv, facts)
                        )
                        for bucket, part in parts:
                            key = (adv.advertiser_id, obj_id if q.id_dim else None, labels[h],
                                   bucket)
                            acc = groups.get(key)
                            if acc is None:
                                groups[key] = list(part)  # base and derived facts: fam.width
                                sample[key] = w.ads[ad_id]
                            else:
                                acc[:] = map(add, acc, part)
    keys = [k for k in groups if ctx.emu.config.report_zero_rows or any(groups[k][:4])]
    keys.sort(key=lambda k: (k[2] or "", k[0], k[1] or "", k[3]))
    if q.order_field:
        fn = q.render_fns[q.order_field]
        keys.sort(key=lambda k: _sort_value(fn(groups[k])), reverse=q.order_desc)
    # Compact form for the page cache: facts of row i at flat[i*width:(i+1)*width].
    flat = array("q")
    for k in keys:
        flat.extend(groups[k])
    wants_sample = q.id_dim is not None and any(m.is_attribute for m in q.catalogue)
    kept = [sample[k].ad_id for k in keys] if wants_sample else []
    columns = ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
               [k[3] for k in keys])
    return columns, flat, kept


def render(q: ReportQuery, columns: Columns, flat: array, sample: list[str]) -> dict[str, Any]:
    """Render one page of rows (and total_metrics)."""
    w = q.ctx.world
    advs = {a.advertiser_id: a for a in q.advertisers}
    width = q.families.width
    fns = q.render_fns
    first = (q.page - 1) * q.page_size
    rows = []
    adv_col, id_col, label_col, bucket_col = columns
    split = q.breakdown.dims if q.breakdown else []
    for i in range(first, min(len(adv_col), first + q.page_size)):
        adv = advs[adv_col[i]]
        dims: dict[str, str] = {}
        for d in q.dims:
            if d in TIME_DIMS:
                dims[d] = label_col[i] or ""
            elif d == "country_code":
                dims[d] = adv.country
            elif d in split:
                dims[d] = bucket_col[i][split.index(d)]
            else:
                dims[d] = id_col[i] or ""
        acc = flat[i * width : (i + 1) * width]
        ad = w.ads[sample[i]] if sample else None
        metrics = {m: fns[m](acc) if m in fns else _attribute(w, m, adv, ad) for m in q.metrics}
        if len(q.advertisers) > 1:
            metrics.update(
                {
                    "currency": adv.currency,
                    "timezone": adv.display_timezone,
                    "advertiser_id": adv.advertiser_id,
                }
            )
        rows.append({"dimensions": dims, "metrics": metrics})
    data: dict[str, Any] = {"list": rows, "page_info": _page_info(q, len(adv_col))}
    if q.total:
        data["total_metrics"] = _total_metrics(q, flat)
    return data


def _page_info(q: ReportQuery, total_n: int) -> dict[str, int]:
    return {
        "page": q.page,
        "page_size": q.page_size,
        "total_number": total_n,
        "total_page": (total_n + q.page_size - 1) // q.page_size,
    }


def _total_metrics(q: ReportQuery, flat: array) -> dict[str, str]:
    width, fns = q.families.width, q.render_fns
    total = [sum(flat[f::width]) for f in range(width)]
    return {m: fns[m](total) for m in q.metrics if m in fns}


# What json.dumps(..., ensure_ascii=False) writes for a string, quotes included.
_quote: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


def render_json(q: ReportQuery, columns: Columns, flat: array, sample: list[str]) -> RawJSON:
    """render()'s page written straight as JSON text, the very text json.dumps(render(...),
    ensure_ascii=False) gives: one %-template per report instead of two dicts per row and
    the encoder walking them (which was most of a 1,000-row page's time)."""
    if len(q.advertisers) > 1 or len(set(q.metrics)) != len(q.metrics):
        # Extra per-row keys or repeated metrics: the general path keeps dict semantics.
        return RawJSON(json.dumps(render(q, columns, flat, sample), ensure_ascii=False))
    w = q.ctx.world
    adv = q.advertisers[0]
    width = q.families.width
    fns = q.render_fns
    # The template's literal parts: names and punctuation; values go in as %s. Computed
    # metrics are numbers or "-" (catalogue renderers), written between quotes as they are;
    # dimension values and attributes are quoted like the encoder does.
    def name(text: str) -> str:
        return _quote(text).replace("%", "%%")  # a literal part of the template

    dims = ", ".join(f"{name(d)}: %s" for d in q.dims)
    mets = ", ".join(f'{name(m)}: "%s"' if m in fns else f"{name(m)}: %s" for m in q.metrics)
    template = '{"dimensions": {' + dims + '}, "metrics": {' + mets + "}}"
    first = (q.page - 1) * q.page_size
    _, id_col, label_col, bucket_col = columns
    split = q.breakdown.dims if q.breakdown else []
    last = min(len(id_col), first + q.page_size)
    # The page column by column, then one % per row: the simple metrics (a count or an
    # amount of one fact) map their function over the fact's strided slice of `flat`.
    cols: list[list[str]] = []
    labels: dict[str | None, str] = {}
    for d in q.dims:
        if d == "country_code":
            cols.append([_quote(adv.country)] * (last - first))
        elif d in TIME_DIMS:
            cols.append([
                labels.get(t) or labels.setdefault(t, _quote(t or ""))
                for t in label_col[first:last]
            ])
        elif d in split:
            at = split.index(d)
            cols.append([_quote(b[at]) for b in bucket_col[first:last]])
        else:
            cols.append([_quote(x) if x else '""' for x in id_col[first:last]])
    for m in q.metrics:
        fn = fns.get(m)
        simple = q.column_fns.get(m) if fn is not None else None
        if simple is not None:
            slot, text = simple
            cols.append(list(map(text, flat[first * width + slot : last * width : width])))
        elif fn is not None:
            cols.append([fn(flat[i * width : (i + 1) * width]) for i in range(first, last)])
        else:
            cols.append(_attribute_column(w, m, adv, sample[first:last] if sample else None,
                                          last - first))
    rows = [template % values for values in zip(*cols, strict=True)]
    info = json.dumps(_page_info(q, len(id_col)))
    text = f'{{"list": [{", ".join(rows)}], "page_info": {info}'
    if q.total:
        text += f', "total_metrics": {json.dumps(_total_metrics(q, flat), ensure_ascii=False)}'
    return RawJSON(text + "}")


def _sort_value(text: str) -> Decimal:
    """Sort key of a rendered metric."""
    try:
        return Decimal(text)
    except ArithmeticError:
        return Decimal(-1)


class ReportCache:
    """Finished reports by query (without page), so paging a big report does not recompute it.

    An entry holds while the world is unchanged and the clock was not set or advanced.  Page 1
    starts a walk and reuses an entry only if it is younger than ``FRESH`` seconds of emulator
    time (so today's numbers keep growing on a ticking clock); later pages reuse it for
    ``report_cache_seconds`` (a page walk is one consistent result set, spec §1.6).  Entries
    are evicted oldest first beyond ``MAX_ROWS`` rows or ``MAX_ENTRIES`` reports.
    """

    FRESH = 2.0
    MAX_ROWS = 3_000_000
    MAX_ENTRIES = 256

    def __init__(self) -> None:
        """Empty."""
        self.entries: OrderedDict[tuple[Any, ...], tuple[int, int, float, int, Any]] = OrderedDict()
        self.rows = 0

    def get(
        self, key: tuple[Any, ...], version: int, epoch: int, now: float, max_age: float
    ) -> Any:
        """A still-valid result, or None."""
        hit = self.entries.get(key)
        if hit is None or hit[0] != version or hit[1] != epoch or not 0 <= now - hit[2] < max_age:
            return None
        self.entries.move_to_end(key)
        return hit[4]

    def put(
        self, key: tuple[Any, ...], version: int, epoch: int, now: float, rows: int, value: Any
    ) -> None:
        """Remember a result."""
        old = self.entries.pop(key, None)
        if old is not None:
            self.rows -= old[3]
        self.entries[key] = (version, epoch, now, rows, value)
        self.rows += rows
        while len(self.entries) > 1 and (
            self.rows > self.MAX_ROWS or len(self.entries) > self.MAX_ENTRIES
        ):
            _, dropped = self.entries.popitem(last=False)
            self.rows -= dropped[3]


@route("report/integrated/get/")
def report_integrated_get(ctx: Ctx) -> Any:
    """Synchronous BASIC or AUDIENCE report (spec §7.1); runs in the worker thread like every
    handler."""
    q = ReportQuery(ctx)
    emu = ctx.emu
    cache: ReportCache = emu.caches.setdefault("report", ReportCache())
    key = tuple(
        sorted((k, str(v)) for k, v in ctx.params.src.items() if k not in ("page", "page_size"))
    )
    now = ctx.now
    max_age = cache.FRESH if q.page == 1 else max(cache.FRESH, emu.config.report_cache_seconds)
    version, epoch = ctx.world.version, emu.clock.epoch
    grouped = cache.get(key, version, epoch, now, max_age)
    if grouped is None:
        grouped = aggregate(q)
        cache.put(key, version, epoch, now, len(grouped[0][0]), grouped)
    return render_json(q, *grouped)
