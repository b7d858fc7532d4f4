"""Binom 2 REST API (spec §3): /public/api/v1/..., ``api-key`` header, background cost tasks."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from sandbox.trackers.binom1 import Binom1Api
from sandbox.trackers.model import Attrs, Facts, TCampaign, TrackerWorld, convert
from sandbox.trackers.reports import aggregate, day_range, money, ratio, zone
from sandbox.trackers.server import Handler, Reply, Req

PREFIX = "/public/api/v1"
PRESETS = ("today", "yesterday", "this_week", "last_week", "last_2_days", "last_3_days",
           "last_7_days", "last_14_days", "last_30_days", "this_month", "last_month", "this_year",
           "last_year", "all_time", "custom_time")
# groupings[] of /report/campaign (spec §3.3) -> the engine's dimension.
GROUPINGS: dict[str, str] = {"campaign": "campaign", "offer": "offer", "rotation": "rotation",
                             "geoCountry": "country", "landing": "landing",
                             "trafficSource": "ts", "day": "day", "hour": "hour",
                             "weekday": "weekday", "month": "month"}
GROUPINGS.update({f"token_{n}": f"t{n}" for n in range(1, 11)})
ID_RE = r"(?P<id>\d+)"


def err(req: Req, status: int, message: str) -> Reply:
    """The error body of the ``binom2_error_shape`` knob (spec §3.4: shape unconfirmed)."""
    shape = req.world.knobs.get("binom2_error_shape", "message")
    if shape == "text":
        return Reply(status, text=message, content_type="text/plain")
    key = "error" if shape == "error" else "message"
    return Reply(status, {key: message, "code": status})


def listing(req: Req, rows: list[Any]) -> Reply:
    """A list body, bare or wrapped per ``binom2_list_envelope`` (spec §3.1)."""
    env = req.world.knobs.get("binom2_list_envelope")
    return Reply(200, {env: rows} if env else rows)


def paged(req: Req, rows: list[Any]) -> list[Any]:
    """``limit``/``offset`` paging."""
    off = int(req.query.get("offset", "0") or 0)
    lim = int(req.query.get("limit", "0") or 0)
    return rows[off:off + lim] if lim > 0 else rows[off:]


def date_window(w: TrackerWorld, preset: str, tz: tzinfo, date_from: str | None,
                date_to: str | None) -> tuple[int, int, date]:
    """``datePreset`` (+ dateFrom/dateTo for custom_time, dateTo inclusive to the second)."""
    today = datetime.fromtimestamp(w.clock(), tz).date()
    if preset == "custom_time":
        if not date_from or not date_to:
            raise ValueError("dateFrom and dateTo are required for custom_time")
        a = datetime.fromisoformat(date_from).replace(tzinfo=tz)
        b = datetime.fromisoformat(date_to).replace(tzinfo=tz)
        if len(date_to) <= 10:
            b += timedelta(days=1)
        else:
            b += timedelta(seconds=1)
        return int(a.timestamp()), int(b.timestamp()), a.date()
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    spans = {
        "today": (today, today), "yesterday": (today - timedelta(days=1),) * 2,
        "this_week": (monday, today), "last_week": (monday - timedelta(days=7),
                                                      monday - timedelta(days=1)),
        "last_2_days": (today - timedelta(days=1), today),
        "last_3_days": (today - timedelta(days=2), today),
        "last_7_days": (today - timedelta(days=6), today),
        "last_14_days": (today - timedelta(days=13), today),
        "last_30_days": (today - timedelta(days=29), today),
        "this_month": (first, today), "last_month": (last_month_end.replace(day=1), last_month_end),
        "this_year": (today.replace(month=1, day=1), today),
        "last_year": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        "all_time": (date(2000, 1, 1), today),
    }
    if preset not in spans:
        raise ValueError(f"datePreset must be one of {', '.join(PRESETS)}")
    d0, d1 = spans[preset]
    a, b = day_range(d0, d1, tz)
    return a, b, d0


def stat_row(f: Facts) -> dict[str, Any]:
    """The stats columns of spec §3.3 as JSON numbers."""
    revenue = f.sale_revenue + f.lead_revenue
    return {
        "clicks": f.clicks, "unique_clicks": f.unique, "bots": 0, "leads": f.conversions,
        "revenue": money(revenue), "cost": money(f.cost), "profit": money(revenue - f.cost),
        "roi": money(ratio(revenue - f.cost, f.cost, 100), 2),
        "cr": money(ratio(f.conversions, f.clicks, 100), 2), "epc": money(ratio(revenue, f.clicks)),
        "cpc": money(ratio(f.cost, f.clicks)), "lander_views": f.clicks,
        "lander_clicks": f.lp_clicks, "lander_ctr": money(ratio(f.lp_clicks, f.clicks, 100), 2),
    }


def dim_value(c: TCampaign, attrs: Attrs, d: str) -> Any:
    """A grouping's value for a click group."""
    if d == "campaign":
        return c.id
    if d.startswith("t") and d[1:].isdigit():
        return attrs.get(d, "")
    return {"offer": f"Offer #{c.offer_id}", "landing": f"Lander #{c.landing_id}",
            "rotation": f"Rotation #{c.stream_id}", "country": attrs.get("_country", "Unknown"),
            "ts": "TikTok"}.get(d, "")


class Binom2Api:
    """Routing, auth and errors of Binom 2."""

    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"/campaign/list/filtered", "campaign_list"),
        ("GET", r"/info/campaign", "info_campaign"),
        ("GET", rf"/campaign/{ID_RE}", "campaign"),
        ("GET", rf"/campaign/{ID_RE}/link", "campaign_link"),
        ("GET", rf"/traffic_source/{ID_RE}", "traffic_source"),
        ("GET", r"/traffic_source/list/filtered", "traffic_sources"),
        ("PUT", rf"/clicks/campaign/{ID_RE}", "update_cost"),
        ("GET", r"/monitor/background_tasks", "tasks"),
        ("GET", r"/stats/campaign", "stats_campaign"),
        ("GET", r"/report/campaign", "report_campaign"),
        ("GET", r"/report/campaign/groupings", "groupings"),
        ("GET", r"/date_preset/list", "date_presets"),
        ("GET", r"/info/date_preset", "date_presets"),
    )

    def __init__(self) -> None:
        """The legacy v1 API rides along (knob binom2_legacy_v1)."""
        self.v1 = Binom1Api()

    def resolve(self, req: Req) -> tuple[str, Handler] | None:
        """Match /public/api/v1/<route>; .php paths go to the legacy API when allowed."""
        if req.path.endswith(".php") and req.world.knobs.get("binom2_legacy_v1"):
            got = self.v1.resolve(req)
            if got is not None:
                return f"v1 {got[0]}", got[1]
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
        """``api-key`` header (any case): 401 without, 403 (knob) with a wrong one."""
        if req.path.endswith(".php"):
            return self.v1.auth(req, api_key)
        got = req.headers.get("api-key")
        if not got:
            return err(req, 401, "Unauthorized: api-key header required")
        if got != api_key:
            return err(req, int(req.world.knobs.get("binom2_bad_key_status") or 403),
                       "Access denied: invalid api key")
        return None

    def error(self, req: Req, status: int, message: str) -> Reply:
        """The knob's error shape."""
        return err(req, status, message)

    def _tz(self, req: Req, raw: str | None) -> tzinfo:
        """``timezone`` (IANA), default the tracker's."""
        return zone(raw or req.world.time_zone)

    def _conf(self, w: TrackerWorld, c: TCampaign) -> dict[str, Any]:
        """A campaign's config."""
        ts = w.sources[c.ts_id]
        return {
            "id": c.id, "name": c.name, "key": c.key, "status": c.state,
            "groupId": c.group_id, "groupName": c.group_name, "trafficSourceId": ts.id,
            "trafficSourceName": ts.name, "link": w.link(c), "currency": w.currency,
            "costModel": "CPC", "cost": 0,
            "createdAt": datetime.fromtimestamp(c.created, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "tokens": [{"number": int(p.field[1:]), "name": p.name, "placeholder": p.placeholder}
                       for p in ts.params],
        }

    def _camps(self, w: TrackerWorld) -> list[TCampaign]:
        """Campaigns that are not deleted."""
        return [c for c in w.campaigns.values() if c.state != "deleted"]

    def campaign_list(self, req: Req) -> Reply:
        """GET /campaign/list/filtered?limit&offset."""
        w = req.world
        return listing(req, paged(req, [self._conf(w, c) for c in self._camps(w)]))

    def campaign(self, req: Req) -> Reply:
        """GET /campaign/{id}."""
        c = req.world.campaigns.get(int(req.match["id"]))
        return Reply(200, self._conf(req.world, c)) if c else err(req, 404, "Campaign not found")

    def campaign_link(self, req: Req) -> Reply:
        """GET /campaign/{id}/link."""
        c = req.world.campaigns.get(int(req.match["id"]))
        if c is None:
            return err(req, 404, "Campaign not found")
        return Reply(200, {"link": req.world.link(c)})

    def traffic_source(self, req: Req) -> Reply:
        """GET /traffic_source/{id}: its tokens (not in the spec; shape is a guess)."""
        ts = req.world.sources.get(int(req.match["id"]))
        if ts is None:
            return err(req, 404, "Traffic source not found")
        return Reply(200, self._ts(ts))

    def _ts(self, ts: Any) -> dict[str, Any]:
        """A traffic source's JSON."""
        return {"id": ts.id, "name": ts.name, "tokens": [
            {"number": int(p.field[1:]), "name": p.name, "placeholder": p.placeholder}
            for p in ts.params]}

    def traffic_sources(self, req: Req) -> Reply:
        """GET /traffic_source/list/filtered."""
        return listing(req, paged(req, [self._ts(t) for t in req.world.sources.values()]))

    def _facts(self, req: Req, camps: list[TCampaign]) -> tuple[dict[int, Facts], tzinfo]:
        """Per campaign facts for datePreset/dateFrom/dateTo/timezone."""
        q = req.query
        tz = self._tz(req, q.get("timezone"))
        a, b, _ = date_window(req.world, q.get("datePreset", "today"), tz, q.get("dateFrom"),
                              q.get("dateTo"))
        got = aggregate(req.world, camps, a, b, tz, ["campaign"], dim_value)
        return {k[0]: f for k, f in got.items()}, tz

    def info_campaign(self, req: Req) -> Reply:
        """GET /info/campaign: id, name, group_name, link, current_cpc, clicks, ..."""
        w = req.world
        camps = self._camps(w)
        facts, _ = self._facts(req, camps)
        rows = [{"id": c.id, "name": c.name, "group_name": c.group_name, "link": w.link(c),
                 "current_cpc": 0, **stat_row(facts.get(c.id, Facts()))} for c in camps]
        return listing(req, paged(req, rows))

    def stats_campaign(self, req: Req) -> Reply:
        """GET /stats/campaign: per campaign stats, sortColumn/sortType/limit/offset."""
        w = req.world
        camps = self._camps(w)
        facts, _ = self._facts(req, camps)
        rows = []
        for c in camps:
            f = facts.get(c.id, Facts())
            row = {"id": c.id, "name": c.name, "group_name": c.group_name,
                   "traffic_source": w.sources[c.ts_id].name, **stat_row(f),
                   "FD::5f1c2a4e-0000-4000-8000-000000000001": f.sales}
            rows.append(row)
        col = req.query.get("sortColumn")
        if col:
            rows.sort(key=lambda r: (r.get(col) is None, r.get(col) or 0),
                      reverse=req.query.get("sortType", "asc").lower() == "desc")
        return listing(req, paged(req, rows))

    def report_campaign(self, req: Req) -> Reply:
        """GET /report/campaign: ``{"report": [...]}`` rows with ``level``, depth first."""
        w = req.world
        q = req.query
        ids = [int(x) for v in q.getall("ids[]", []) + q.getall("ids", []) for x in v.split(",")
               if x.strip()]
        camps = [w.campaigns[i] for i in ids if i in w.campaigns] if ids else self._camps(w)
        if ids and not camps:
            return err(req, 404, "Campaign not found")
        groupings = q.getall("groupings[]", []) + q.getall("groupings", [])
        groupings = groupings or ["campaign"]
        dims = []
        for g in groupings:
            if g not in GROUPINGS:
                return err(req, 400, f"Unknown grouping {g}")
            dims.append(GROUPINGS[g])
        tz = self._tz(req, q.get("timezone"))
        a, b, _ = date_window(w, q.get("datePreset", "today"), tz, q.get("dateFrom"),
                              q.get("dateTo"))
        got = aggregate(w, camps, a, b, tz, dims, dim_value)
        name_filter = q.get("nameFilter")
        col = q.get("sortColumn")
        desc = q.get("sortType", "desc").lower() == "desc"
        rows: list[dict[str, Any]] = []

        def walk(prefix: tuple[Any, ...], depth: int) -> None:
            sub: dict[Any, Facts] = {}
            for key, f in got.items():
                if key[:depth] == prefix:
                    sub.setdefault(key[depth], Facts()).add(f)
            items = list(sub.items())
            if col:
                items.sort(key=lambda kv: stat_row(kv[1]).get(col) or 0, reverse=desc)
            else:
                items.sort(key=lambda kv: str(kv[0]))
            for v, f in items:
                d = dims[depth]
                name = w.campaigns[v].name if d == "campaign" else str(v)
                last = depth == len(dims) - 1
                if name_filter and last and name_filter.lower() not in name.lower():
                    continue
                row: dict[str, Any] = {"level": depth + 1, "name": name}
                if d == "campaign":
                    row["entity_id"] = v
                rows.append({**row, **stat_row(f)})
                if depth + 1 < len(dims):
                    walk((*prefix, v), depth + 1)

        walk((), 0)
        return Reply(200, {"report": paged(req, rows), "total": len(rows)})

    def groupings(self, req: Req) -> Reply:
        """GET /report/campaign/groupings."""
        return Reply(200, [{"value": g, "name": g.replace("_", " ").title()} for g in GROUPINGS])

    def date_presets(self, req: Req) -> Reply:
        """The datePreset values (spec §3: the date_preset_list response; path unconfirmed)."""
        return Reply(200, [{"value": p, "name": p.replace("_", " ").capitalize()} for p in PRESETS])

    def update_cost(self, req: Req) -> Reply:
        """PUT /clicks/campaign/{id}: queue an ``update_cost`` background task (spec §3.2)."""
        w = req.world
        c = w.campaigns.get(int(req.match["id"]))
        if c is None:
            return err(req, 404, "Campaign not found")
        body = req.json()
        if not isinstance(body, dict):
            return err(req, 400, "body must be an object")
        tz = self._tz(req, body.get("timezone"))
        a, b, d0 = date_window(w, str(body.get("datePreset") or "custom_time"), tz,
                               body.get("dateFrom"), body.get("dateTo"))
        if "cost" not in body:
            return err(req, 400, "cost is required")
        try:
            amount = Fraction(str(body["cost"]))
        except (ValueError, ZeroDivisionError):
            return err(req, 400, "cost must be a number")
        if amount < 0:
            return err(req, 400, "cost must not be negative")
        try:
            amount = convert(amount, str(body.get("currency") or w.currency).upper(), w.currency)
        except KeyError:
            return err(req, 400, "unknown currency")
        model = str(body.get("model") or "COSTS").upper()
        token_id = body.get("tokenId")
        token_value = body.get("tokenValue")
        field = None
        if token_id not in (None, ""):
            if not str(token_id).isdigit() or not 1 <= int(token_id) <= 10:
                return err(req, 400, "tokenId must be 1..10")
            field = f"t{int(token_id)}"
        key = (d0, field, str(token_value) if field else None)

        def pred(attrs: Attrs) -> bool:
            return field is None or attrs.get(field, "") == str(token_value or "")

        cost, cpc = (amount, None) if model == "COSTS" else (None, amount)
        task = w.schedule(c, lambda: w.apply_cost([c], a, b, pred, key, cost, cpc))
        return Reply(200, {"taskId": task.id, "status": "scheduled"})

    def tasks(self, req: Req) -> Reply:
        """GET /monitor/background_tasks (spec §3.2 entries)."""
        rows = []
        for t in reversed(req.world.tasks):
            rows.append({
                "id": t.id, "type": "update_cost", "subjectIds": [str(t.camp)],
                "status": t.status, "errorMessage": t.error,
                "startedAt": datetime.fromtimestamp(t.started_at, UTC).strftime(
                    "%Y-%m-%d %H:%M:%S"),
            })
        return listing(req, paged(req, rows))
