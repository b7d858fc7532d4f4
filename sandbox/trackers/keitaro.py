"""Keitaro Admin API v1 (spec §1): /admin_api/v1/..., ``Api-Key`` header, error table §1.4."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from sandbox.trackers.model import (
    Attrs,
    Facts,
    TCampaign,
    TrackerWorld,
    convert,
    u32s,
)
from sandbox.trackers.reports import (
    FLAG_DIMS,
    OPERATORS,
    TIME_DIMS,
    Filter,
    aggregate,
    compare,
    compiled,
    day_range,
    money,
    ratio,
    zone,
)
from sandbox.trackers.server import Handler, Reply, Req

PREFIX = "/admin_api/v1"
ID_RE = r"(?P<id>\d+)"
BASE_FIELDS = ("keyword", "cost", "currency", "external_id", "creative_id", "ad_campaign_id",
               "source")
COUNT_METRICS = ("clicks", "campaign_unique_clicks", "stream_unique_clicks",
                 "global_unique_clicks", "bots", "conversions", "leads", "sales", "rejected",
                 "rebills", "approve", "lp_clicks")
RATE_METRICS = ("cr", "crs", "crl", "roi", "roi_confirmed", "epc", "epc_confirmed", "cps", "cpa",
                "cpc", "ecpc", "ecpm")
MONEY_METRICS = ("cost", "revenue", "profit", "lead_revenue", "sale_revenue", "rejected_revenue",
                 "profit_confirmed", "profitability")
METRICS = COUNT_METRICS + RATE_METRICS + MONEY_METRICS
ID_DIMS = ("campaign_id", "campaign", "campaign_group_id", "campaign_group", "offer_id", "offer",
           "landing_id", "landing", "ts_id", "ts", "stream_id", "stream")
INTERVALS = ("today", "yesterday", "7_days_ago", "first_day_of_this_week", "1_month_ago",
             "first_day_of_this_month", "1_year_ago", "first_day_of_this_year", "all_time")


def click_fields(world: TrackerWorld) -> tuple[str, ...]:
    """Click fields a filter or parameter may name (sub_id_N up to the knob, spec §1.1)."""
    n = int(world.knobs.get("keitaro_max_sub_id") or 15)
    return BASE_FIELDS + tuple(f"sub_id_{i}" for i in range(1, n + 1))


def dims(world: TrackerWorld) -> tuple[str, ...]:
    """Every grouping name the report accepts."""
    extra = tuple(f"extra_param_{i}" for i in range(1, 11))
    return ID_DIMS + click_fields(world) + extra + TIME_DIMS + FLAG_DIMS


def err(status: int, message: str) -> Reply:
    """Keitaro's ``{"error": ...}`` body."""
    return Reply(status, {"error": message})


def invalid(fields: dict[str, list[str]]) -> Reply:
    """406 with the field map (spec §1.4)."""
    return Reply(406, fields)


def campaign_json(w: TrackerWorld, c: TCampaign) -> dict[str, Any]:
    """A campaign object (spec §1.1 schema)."""
    params = {f: {"name": "", "placeholder": "", "alias": ""} for f in click_fields(w)}
    for p in c.params:
        params[p.field] = {"name": p.name, "placeholder": p.placeholder, "alias": ""}
    when = datetime.fromtimestamp(c.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "id": c.id, "alias": c.alias, "type": "position", "name": c.name, "cookies_ttl": 24,
        "position": 0, "state": c.state, "cost_type": "CPC", "cost_value": 0,
        "cost_currency": w.currency, "cost_auto": False, "group_id": c.group_id,
        "bind_visitors": None, "traffic_source_id": c.ts_id, "token": c.key,
        "domain_id": None, "parameters": params, "postbacks": [], "notes": "",
        "created_at": when, "updated_at": when,
    }


def static_value(c: TCampaign, attrs: Attrs, d: str) -> Any:
    """A non-time dimension of a click group."""
    if d == "campaign_id":
        return c.id
    if d == "campaign":
        return c.name
    if d == "campaign_group_id":
        return c.group_id
    if d == "campaign_group":
        return c.group_name
    if d in ("offer_id", "landing_id", "ts_id", "stream_id"):
        return getattr(c, d)
    if d in ("offer", "landing", "stream"):
        return f"{d.title()} #{getattr(c, d + '_id')}"
    if d == "ts":
        return "TikTok"
    return attrs.get(d)


def metric(f: Facts, m: str) -> Any:
    """One metric of a group's facts."""
    count = _COUNTS.get(m)
    if count is not None:
        return count(f)
    fr = _RATES[m](f)
    return money(fr, 4 if m in MONEY_METRICS or m.startswith(("epc", "cp", "ecp")) else 2)


def _revenue(f: Facts) -> Fraction:
    """Lead (pending) and sale revenue."""
    return f.lead_revenue + f.sale_revenue


_COUNTS: dict[str, Callable[[Facts], int]] = {
    "clicks": lambda f: f.clicks, "campaign_unique_clicks": lambda f: f.unique,
    "stream_unique_clicks": lambda f: f.unique, "global_unique_clicks": lambda f: f.unique,
    "bots": lambda f: 0, "conversions": lambda f: f.conversions, "leads": lambda f: f.leads,
    "sales": lambda f: f.sales, "rejected": lambda f: f.rejected, "rebills": lambda f: 0,
    "lp_clicks": lambda f: f.lp_clicks,
}
_RATES: dict[str, Callable[[Facts], Fraction | int]] = {
    "approve": lambda f: ratio(f.sales, f.conversions, 100),
    "cr": lambda f: ratio(f.conversions, f.clicks, 100),
    "crs": lambda f: ratio(f.sales, f.clicks, 100),
    "crl": lambda f: ratio(f.leads, f.clicks, 100),
    "roi": lambda f: ratio(_revenue(f) - f.cost, f.cost, 100),
    "roi_confirmed": lambda f: ratio(f.sale_revenue - f.cost, f.cost, 100),
    "epc": lambda f: ratio(_revenue(f), f.clicks),
    "epc_confirmed": lambda f: ratio(f.sale_revenue, f.clicks),
    "cps": lambda f: ratio(f.cost, f.sales), "cpa": lambda f: ratio(f.cost, f.conversions),
    "cpc": lambda f: ratio(f.cost, f.clicks), "ecpc": lambda f: ratio(f.cost, f.unique),
    "ecpm": lambda f: ratio(f.cost, f.clicks, 1000), "cost": lambda f: f.cost,
    "revenue": _revenue, "profit": lambda f: _revenue(f) - f.cost,
    "lead_revenue": lambda f: f.lead_revenue, "sale_revenue": lambda f: f.sale_revenue,
    "rejected_revenue": lambda f: f.rejected_revenue,
    "profit_confirmed": lambda f: f.sale_revenue - f.cost,
    "profitability": lambda f: ratio(_revenue(f) - f.cost, _revenue(f), 100),
}


def parse_range(w: TrackerWorld, rng: Any) -> tuple[int, int, tzinfo]:
    """The report range: from/to dates (inclusive) or an interval, in its zone."""
    if not isinstance(rng, dict):
        raise ValueError("range must be an object with from/to or interval")
    tz = zone(str(rng.get("timezone") or w.time_zone))
    today = datetime.fromtimestamp(w.clock(), tz).date()
    if rng.get("interval"):
        iv = str(rng["interval"])
        starts = {
            "today": today, "yesterday": today - timedelta(days=1),
            "7_days_ago": today - timedelta(days=7),
            "first_day_of_this_week": today - timedelta(days=today.weekday()),
            "1_month_ago": today - timedelta(days=30),
            "first_day_of_this_month": today.replace(day=1),
            "1_year_ago": today - timedelta(days=365),
            "first_day_of_this_year": today.replace(month=1, day=1), "all_time": date(2000, 1, 1),
        }
        if iv not in starts:
            raise ValueError(f"Unknown interval {iv}. Valid: {', '.join(INTERVALS)}")
        end = starts[iv] if iv == "yesterday" else today
        a, b = day_range(starts[iv], end, tz)
        return a, b, tz

    def one(text: Any, end: bool) -> int:
        s = str(text)
        if len(s) <= 10:
            d = date.fromisoformat(s)
            return day_range(d, d, tz)[1 if end else 0]
        return int(datetime.fromisoformat(s).replace(tzinfo=tz).timestamp())

    if "from" not in rng or "to" not in rng:
        raise ValueError("range needs from and to, or interval")
    return one(rng["from"], False), one(rng["to"], True), tz


class KeitaroApi:
    """Routing, auth and errors of the Keitaro Admin API."""

    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"/campaigns", "campaigns"),
        ("GET", r"/campaigns/deleted", "deleted"),
        ("GET", r"/campaigns/(?P<id>\d+)", "campaign"),
        ("GET", r"/campaigns/(?P<id>\d+)/streams", "streams"),
        ("GET", r"/traffic_sources", "traffic_sources"),
        ("POST", r"/campaigns/(?P<id>\d+)/update_costs", "update_costs"),
        ("POST", r"/clicks/update_costs", "bulk_costs"),
        ("POST", r"/report/build", "report"),
        ("POST", r"/conversions/log", "conversions_log"),
    )

    def resolve(self, req: Req) -> tuple[str, Handler] | None:
        """Match /admin_api/v1/<route>."""
        if not req.path.startswith(PREFIX):
            return None
        rest = req.path[len(PREFIX):].rstrip("/")
        for method, pattern, name in self.ROUTES:
            m = re.fullmatch(pattern, rest)
            if m and method == req.method:
                req.match = m.groupdict()
                return f"{method} {PREFIX}{pattern.replace(ID_RE, '{id}')}", getattr(self, name)
        return None

    def auth(self, req: Req, api_key: str) -> Reply | None:
        """``Api-Key`` header (401), then the edition (402)."""
        key = req.headers.get("Api-Key", "")
        if not key and req.world.knobs.get("keitaro_accept_bearer"):
            key = req.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if key != api_key:
            return err(401, "Unauthorized")
        if req.world.knobs.get("keitaro_edition", "pro") not in ("pro", "business"):
            return err(402, "Admin API is not available in that edition")
        return None

    def error(self, req: Req, status: int, message: str) -> Reply:
        """``{"error": ...}``."""
        return err(status, message)

    # ------------------------------------------------------------------ campaigns

    def campaigns(self, req: Req) -> Reply:
        """GET /campaigns: not deleted ones, ``offset``/``limit`` honoured."""
        w = req.world
        rows = [campaign_json(w, c) for c in w.campaigns.values() if c.state != "deleted"]
        off = int(req.query.get("offset", 0))
        lim = int(req.query.get("limit", 0)) or len(rows)
        return Reply(200, rows[off:off + lim])

    def deleted(self, req: Req) -> Reply:
        """GET /campaigns/deleted."""
        w = req.world
        gone = [c for c in w.campaigns.values() if c.state == "deleted"]
        return Reply(200, [campaign_json(w, c) for c in gone])

    def _camp(self, req: Req) -> TCampaign | None:
        """The path's campaign."""
        return req.world.campaigns.get(int(req.match["id"]))

    def campaign(self, req: Req) -> Reply:
        """GET /campaigns/{id}."""
        c = self._camp(req)
        return Reply(200, campaign_json(req.world, c)) if c else err(404, "Campaign not found")

    def streams(self, req: Req) -> Reply:
        """GET /campaigns/{id}/streams: one offer stream."""
        c = self._camp(req)
        if c is None:
            return err(404, "Campaign not found")
        return Reply(200, [{
            "id": c.stream_id, "type": "regular", "name": "Offer", "campaign_id": c.id,
            "position": 1, "chance": 100, "action_type": "http", "action_payload": None,
            "schema": "landings", "collect_clicks": True, "filter_or": False, "weight": 100,
            "state": "active", "comments": None, "filters": [], "triggers": [],
            "landings": [{"landing_id": c.landing_id, "share": 100, "state": "active"}],
            "offers": [{"offer_id": c.offer_id, "share": 100, "state": "active"}],
        }])

    def traffic_sources(self, req: Req) -> Reply:
        """GET /traffic_sources: with their parameter templates."""
        out = []
        for ts in req.world.sources.values():
            params = {p.field: {"name": p.name, "placeholder": p.placeholder} for p in ts.params}
            out.append({"id": ts.id, "name": ts.name, "postback_url": "",
                        "postback_statuses": ["lead", "sale", "rejected"],
                        "template_name": "tiktok", "accept_parameters": True,
                        "parameters": params, "notes": "", "state": "active"})
        return Reply(200, out)

    # ------------------------------------------------------------------ costs

    def _cost_item(self, w: TrackerWorld, item: Any, top: dict[str, Any],
                   where: str) -> tuple[int, int, Any, tuple[date, str | None, str | None],
                                        Fraction] | Reply:
        """Validate one cost range; a 406 reply on bad fields."""
        if not isinstance(item, dict):
            return invalid({where: ["This value should be an object."]})
        bad: dict[str, list[str]] = {}
        merged = {**{k: top[k] for k in ("timezone", "currency") if k in top}, **item}
        for f in ("start_date", "end_date", "timezone", "cost", "currency"):
            if merged.get(f) in (None, ""):
                bad[f"{where}{f}"] = ["This value should not be blank."]
        if bad:
            return invalid(bad)
        try:
            tz = zone(str(merged["timezone"]))
        except ValueError:
            return invalid({f"{where}timezone": ["This value is not a valid timezone."]})
        try:
            s = datetime.fromisoformat(str(merged["start_date"])).replace(tzinfo=tz)
            e = datetime.fromisoformat(str(merged["end_date"])).replace(tzinfo=tz)
        except ValueError:
            return invalid({f"{where}start_date": ["Expected format YYYY-MM-DD HH:MM."]})
        if w.knobs.get("keitaro_end_inclusive"):
            e += timedelta(seconds=1 if len(str(merged["end_date"])) > 16 else 60)
        if e <= s:
            return invalid({f"{where}end_date": ["end_date must be after start_date."]})
        try:
            cost = Fraction(str(merged["cost"]))
        except (ValueError, ZeroDivisionError):
            return invalid({f"{where}cost": ["This value should be a number."]})
        if cost < 0:
            return invalid({f"{where}cost": ["This value should be positive."]})
        try:
            cost = convert(cost, str(merged["currency"]).upper(), w.currency)
        except KeyError:
            return invalid({f"{where}currency": ["Unknown currency."]})
        filters = item.get("filters") or {}
        if not isinstance(filters, dict):
            return invalid({f"{where}filters": ["This value should be an object."]})
        known = click_fields(w)
        wrong = [k for k in filters if k not in known]
        if wrong:
            return invalid({f"{where}filters": [f"Unknown field {k}" for k in wrong]})
        want = {k: {v.strip() for v in str(x).split(",")} for k, x in filters.items()}

        def pred(attrs: Attrs) -> bool:
            return all(attrs.get(k) in vs for k, vs in want.items())

        fkey = ",".join(sorted(filters)) or None
        fval = ",".join(str(filters[k]) for k in sorted(filters)) or None
        return int(s.timestamp()), int(e.timestamp()), pred, (s.date(), fkey, fval), cost

    def update_costs(self, req: Req) -> Reply:
        """POST /campaigns/{id}/update_costs: schedule a replace of the segment's cost."""
        w = req.world
        c = self._camp(req)
        if c is None:
            return err(404, "Campaign not found")
        body = req.json()
        got = self._cost_item(w, body, {}, "")
        if isinstance(got, Reply):
            return got
        a, b, pred, key, cost = got
        w.schedule(c, lambda: w.apply_cost([c], a, b, pred, key, cost))
        return Reply(200, {"success": True, "message": "Job successfully scheduled"})

    def bulk_costs(self, req: Req) -> Reply:
        """POST /clicks/update_costs: several ranges over the listed campaigns (spec §1.2b)."""
        w = req.world
        body = req.json()
        if not isinstance(body, dict):
            return invalid({"campaign_ids": ["This value should not be blank."]})
        bad: dict[str, list[str]] = {}
        ids, costs = body.get("campaign_ids"), body.get("costs")
        if not ids or not isinstance(ids, list):
            bad["campaign_ids"] = ["This value should not be blank."]
        if not costs or not isinstance(costs, list):
            bad["costs"] = ["This value should not be blank."]
        if bad:
            return invalid(bad)
        limit = int(w.knobs.get("keitaro_bulk_max_items") or 0)
        if limit and len(costs) > limit:
            return invalid({"costs": [f"This collection should contain {limit} elements or less."]})
        camps = []
        for cid in ids:
            c = w.campaigns.get(int(cid))
            if c is None:
                return err(404, f"Campaign #{cid} not found")
            camps.append(c)
        items = []
        for n, item in enumerate(costs):
            got = self._cost_item(w, item, body, f"costs[{n}].")
            if isinstance(got, Reply):
                return got
            items.append(got)
        for a, b, pred, key, cost in items:
            w.schedule(camps[0], lambda a=a, b=b, pred=pred, key=key, cost=cost:
                       w.apply_cost(camps, a, b, pred, key, cost))
        return Reply(200, {"success": True})

    # ------------------------------------------------------------------ reports

    def _filters(self, w: TrackerWorld, raw: Any, names: tuple[str, ...]
                 ) -> tuple[list[tuple[str, Filter]], list[tuple[str, str, Any]]]:
        """Dimension filters (before grouping) and metric filters (on rows)."""
        pre: list[tuple[str, Filter]] = []
        post: list[tuple[str, str, Any]] = []
        for f in raw or []:
            if not isinstance(f, dict) or "name" not in f:
                raise ValueError("each filter needs name, operator, expression")
            name, op = str(f["name"]), str(f.get("operator", "EQUALS")).upper()
            if op not in OPERATORS:
                raise ValueError(f"Unknown operator {op}. Valid: {', '.join(OPERATORS)}")
            expr = f.get("expression")
            if name in METRICS:
                post.append((name, op, expr))
            elif name in names:
                test = compiled(op, expr)
                pre.append((name, lambda v, n=name, t=test: t(v[n])))
            else:
                raise ValueError(f"Unknown filter field {name}")
        return pre, post

    def report(self, req: Req) -> Reply:
        """POST /report/build: grouping+metrics or dimensions+measures (spec §1.3)."""
        w = req.world
        body = req.json()
        if not isinstance(body, dict):
            raise ValueError("body must be an object")
        mode = w.knobs.get("keitaro_report_fields", "both")
        if mode == "grouping" and ("dimensions" in body or "measures" in body):
            raise ValueError("Unknown fields: dimensions, measures")
        if mode == "dimensions" and ("grouping" in body or "metrics" in body):
            raise ValueError("Unknown fields: grouping, metrics")
        grouping = list(body.get("grouping") or body.get("dimensions") or [])
        metrics = list(body.get("metrics") or body.get("measures") or [])
        for col in body.get("columns") or []:
            (metrics if col in METRICS else grouping).append(col)
        names = dims(w)
        for g in grouping:
            if g not in names:
                raise ValueError(f"Unknown column: {g}. Valid: {', '.join(names)}")
        for m in metrics:
            if m not in METRICS:
                raise ValueError(f"Unknown metric: {m}. Valid: {', '.join(METRICS)}")
        a, b, tz = parse_range(w, body.get("range") or {"interval": "today"})
        pre, post = self._filters(w, body.get("filters"), names)
        # Filters on campaign-wide dimensions (they never read a click's fields) pick the
        # campaigns first; they stay in `pre`, where they then always pass.
        camps = [c for c in w.campaigns.values()
                 if all(fn({d: static_value(c, {}, d)}) for d, fn in pre if d in ID_DIMS)]
        groups = aggregate(w, camps, a, b, tz, grouping, static_value, pre)
        rows = []
        total = Facts()
        for key, f in groups.items():
            row = dict(zip(grouping, key, strict=True))
            row.update({m: metric(f, m) for m in metrics})
            if all(compare(op, metric(f, n), e) for n, op, e in post):
                rows.append(row)
                total.add(f)
        sort = body.get("sort") or [{"name": g, "order": "ASC"} for g in grouping]
        for s in reversed(sort if isinstance(sort, list) else [sort]):
            name = s.get("name")
            if name not in grouping and name not in metrics:
                raise ValueError(f"Unknown sort field {name}")
            rows.sort(key=lambda r, n=name: (r[n] is None, r[n] if r[n] is not None else 0),
                      reverse=str(s.get("order", "ASC")).upper() == "DESC")
        off = int(body.get("offset") or 0)
        lim = int(body.get("limit") or 0) or len(rows)
        return Reply(200, {
            "rows": rows[off:off + lim],
            "total": len(rows),
            "meta": grouping + metrics,
            "summary": {m: metric(total, m) for m in metrics},
        })

    def conversions_log(self, req: Req) -> Reply:
        """POST /conversions/log: one row per conversion whose postback falls in the range."""
        w = req.world
        w.run_due()
        body = req.json()
        a, b, tz = parse_range(w, body.get("range") or {"interval": "today"})
        cols = list(body.get("columns") or ["conversion_id", "sub_id", "campaign_id", "status",
                                             "revenue", "click_datetime", "postback_datetime"])
        now = w.clock()

        def fmt(ts: float) -> str:
            return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S")

        rows = []
        for c in w.campaigns.values():
            for cell in w.cells(c, a - 3 * 86400, b):
                attrs = cell.attrs
                for cv in cell.convs:
                    st = cv.status(now)
                    if st is None or not a <= cv.postback_ts < b:
                        continue
                    click_ts = cell.ts(cv.idx)
                    sale = fmt(cv.decided_ts) if st == "sale" else ""
                    row: dict[str, Any] = {
                        "conversion_id": cv.conv_id, "sub_id": f"{u32s(cv.conv_id)[0]:x}",
                        "campaign_id": c.id, "campaign": c.name, "status": st,
                        "previous_status": "lead" if st != "lead" else "",
                        "original_status": "lead", "revenue": money(cv.payout),
                        "click_datetime": fmt(click_ts), "postback_datetime": fmt(cv.postback_ts),
                        "sale_datetime": sale,
                        "sale_period": int(cv.decided_ts - click_ts) if sale else 0,
                        "tid": "", **{k: v for k, v in attrs.items()},
                    }
                    rows.append({col: row.get(col) for col in cols} | {"_row": row})
        for f in body.get("filters") or []:
            name, e = f.get("name"), f.get("expression")
            op = str(f.get("operator", "EQUALS")).upper()
            rows = [r for r in rows if compare(op, r["_row"].get(name), e)]
        for s in reversed(body.get("sort") or [{"name": "postback_datetime", "order": "ASC"}]):
            n = s.get("name")
            rows.sort(key=lambda r, n=n: str(r["_row"].get(n) or ""),
                      reverse=str(s.get("order", "ASC")).upper() == "DESC")
        off = int(body.get("offset") or 0)
        lim = int(body.get("limit") or 0) or len(rows)
        return Reply(200, {"rows": [{k: v for k, v in r.items() if k != "_row"}
                                    for r in rows[off:off + lim]], "total": len(rows)})
