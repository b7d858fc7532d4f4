"""Binom 1.x URL-parameter API (spec §2): ``<panel>.php?page=...&api_key=``, string numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from sandbox.trackers.model import Attrs, Facts, TCampaign, TrackerWorld
from sandbox.trackers.reports import aggregate, day_range, ratio, zone
from sandbox.trackers.server import Handler, Reply, Req

# group1..3 codes (spec §2.3; 27 = token 1, 282–290 = tokens 2–10 from client code).
GROUPS: dict[int, str] = {1: "", 2: "path", 3: "offer", 4: "lander", 19: "country", 25: "weekday",
                          26: "hour", 27: "t1", 31: "day"}
GROUPS.update({280 + n: f"t{n}" for n in range(2, 11)})
OLD_KEYS = {"revenue": "rev", "cost": "spend", "ts_name": "ts", "create_date": "date_ct",
            "cr": "CR", "epc": "EPC", "cpc": "CPC", "lp_ctr": "LP_CTR", "url": "link",
            "is_note": "note", "landing_clicks": "lp_cl", "offer_clicks": "off_cl"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def err(req: Req, message: str) -> Reply:
    """``{"error": ...}`` with the status of the knob (spec §2.4: undocumented, 200)."""
    return Reply(int(req.world.knobs.get("binom1_error_status") or 200), {"error": message})


def rename(w: TrackerWorld, row: dict[str, Any]) -> dict[str, Any]:
    """1.8 key names when the knob says so (spec §2.1 renames)."""
    if str(w.knobs.get("binom1_version")) != "1.8":
        return row
    return {OLD_KEYS.get(k, k): v for k, v in row.items()}


def num(value: Fraction | int, places: int, pretty: bool, pct: bool = False) -> str:
    """A number as Binom writes it: a string, with separators and % in report rows."""
    if pretty:
        text = f"{float(value):,.{places}f}" if places else f"{int(value):,}"
        return text + ("%" if pct else "")
    return f"{float(value):.{places}f}" if places else str(int(value))


def stats_fields(f: Facts, pretty: bool) -> dict[str, str]:
    """clicks, leads, revenue, cost, profit, roi, cr, epc, cpc, lander/offer clicks."""
    revenue = f.sale_revenue + f.lead_revenue
    mplaces = 2 if pretty else 5
    return {
        "clicks": num(f.clicks, 0, pretty), "landing_clicks": num(f.clicks, 0, pretty),
        "offer_clicks": num(f.lp_clicks, 0, pretty),
        "lp_ctr": num(ratio(f.lp_clicks, f.clicks, 100), 2, pretty, True),
        "leads": num(f.conversions, 0, pretty),
        "cr": num(ratio(f.conversions, f.clicks, 100), 4 if not pretty else 2, pretty, True),
        "epc": num(ratio(revenue, f.clicks), 4, pretty),
        "cpc": num(ratio(f.cost, f.clicks), 4, pretty),
        "revenue": num(revenue, mplaces, pretty), "cost": num(f.cost, mplaces, pretty),
        "profit": num(revenue - f.cost, mplaces, pretty),
        "roi": num(ratio(revenue - f.cost, f.cost, 100), 2, pretty, True),
    }


def date_range(req: Req, tz: tzinfo) -> tuple[int, int, date]:
    """``date`` code 1–12 (spec §2) -> UTC range and its first day."""
    w = req.world
    q = req.query
    code = int(q.get("date", "1"))
    today = datetime.fromtimestamp(w.clock(), tz).date()
    if code in (10, 12):
        s, e = q.get("date_s"), q.get("date_e")
        if not s or not e:
            raise ValueError("date_s and date_e are required")
        if code == 10:
            a = datetime.fromisoformat(s).replace(tzinfo=tz)
            b = datetime.fromisoformat(e).replace(tzinfo=tz)
            return int(a.timestamp()), int(b.timestamp()) + (60 if len(e) <= 16 else 1), a.date()
        d0, d1 = date.fromisoformat(s[:10]), date.fromisoformat(e[:10])
    elif code == 1:
        d0 = d1 = today
    elif code == 2:
        d0 = d1 = today - timedelta(days=1)
    elif code in (3, 4):
        d0, d1 = today - timedelta(days=6 if code == 3 else 13), today
    elif code == 5:
        d0, d1 = today.replace(day=1), today
    elif code == 6:
        d1 = today.replace(day=1) - timedelta(days=1)
        d0 = d1.replace(day=1)
    elif code == 7:
        d0, d1 = today.replace(month=1, day=1), today
    elif code == 8:
        d0, d1 = date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    elif code == 9:
        d0, d1 = date(2000, 1, 1), today
    elif code == 11:
        d0, d1 = today - timedelta(days=today.weekday()), today
    else:
        raise ValueError(f"unknown date code {code}")
    a, b = day_range(d0, d1, tz)
    return a, b, d0


def offset_zone(req: Req) -> tzinfo:
    """``timezone=`` as a numeric UTC offset (spec §2)."""
    raw = req.query.get("timezone", "0").strip().replace("+", "") or "0"
    try:
        float(raw)
    except ValueError:
        raise ValueError(f"timezone must be a UTC offset in hours, got {raw!r}") from None
    return zone(raw)


def group_value(c: TCampaign, attrs: Attrs, d: str) -> Any:
    """A static group's name."""
    if d.startswith("t"):
        return attrs.get(d, "")
    if d == "path":
        return "Path 1"
    if d == "offer":
        return f"Offer #{c.offer_id}"
    if d == "lander":
        return f"Lander #{c.landing_id}"
    if d == "country":
        return attrs.get("_country", "Unknown")
    return ""


class Binom1Api:
    """Routing, auth and errors of the Binom 1 panel API (also arm.php)."""

    def resolve(self, req: Req) -> tuple[str, Handler] | None:
        """``/<panel>?page=`` or ``/arm.php?action=``."""
        panel = "/" + str(req.world.knobs.get("binom1_panel") or "index.php")
        if req.path == panel:
            page = req.query.get("page", "")
            handler = {"Campaigns": self.campaigns, "save_update_costs": self.save_costs,
                       "Stats": self.stats}.get(page)
            return f"page={page}", handler or self.unknown
        if req.path == "/arm.php" and req.world.knobs.get("binom1_arm"):
            return f"arm.php {req.query.get('action', '')}", self.arm
        return None

    def auth(self, req: Req, api_key: str) -> Reply | None:
        """``api_key`` query parameter."""
        if req.query.get("api_key", "") != api_key:
            return err(req, "Invalid API key" if req.query.get("api_key") else "No API key")
        return None

    def error(self, req: Req, status: int, message: str) -> Reply:
        """``{"error": ...}``; the HTTP status only for route/limit errors."""
        if status in (404, 429):
            return Reply(status, {"error": message})
        return err(req, message)

    def unknown(self, req: Req) -> Reply:
        """An unknown ``page``."""
        return err(req, f"Unknown page {req.query.get('page', '')!r}")

    def _stats(self, req: Req, camps: list[TCampaign], tz: tzinfo, a: int, b: int
               ) -> dict[int, Facts]:
        """Facts per campaign."""
        got = aggregate(req.world, camps, a, b, tz, ["cid"],
                        lambda c, attrs, d: c.id)
        return {k[0]: f for k, f in got.items()}

    def campaigns(self, req: Req) -> Reply:
        """page=Campaigns: every campaign with its stats for ``date`` (spec §2.1)."""
        w = req.world
        tz = offset_zone(req)
        a, b, _ = date_range(req, tz)
        camps = [c for c in w.campaigns.values() if c.state != "deleted"]
        facts = self._stats(req, camps, tz, a, b)
        rows = []
        for c in camps:
            f = facts.get(c.id, Facts())
            row = {
                "id": str(c.id), "status": "1" if c.state == "active" else "0", "name": c.name,
                "keyword": c.key, "group_id": str(c.group_id), "group_name": c.group_name,
                "ts_id": str(c.ts_id), "ts_name": w.sources[c.ts_id].name,
                **stats_fields(f, False), "current_cpc": "0.00000", "auto_cpc": 0,
                "url": w.link(c), "is_note": "0",
                "create_date": datetime.fromtimestamp(c.created, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            }
            rows.append(rename(w, row))
        order = req.query.get("order_name")
        if order:
            rows.sort(key=lambda r: _sortable(r.get(order)),
                      reverse=req.query.get("order_type", "asc").lower() == "desc")
        return Reply(200, _page(req, rows))

    def save_costs(self, req: Req) -> Reply:
        """page=save_update_costs: replace a range's cost, optionally one token's (spec §2.2)."""
        w = req.world
        q = req.query
        c = w.campaigns.get(int(q.get("camp_id", "0") or 0))
        if c is None:
            return err(req, "Campaign not found")
        tz = offset_zone(req)
        a, b, d0 = date_range(req, tz)
        cost: Fraction | None = None
        cpc: Fraction | None = None
        try:
            if q.get("cost"):
                cost = Fraction(q["cost"])
            elif q.get("cpc"):
                cpc = Fraction(q["cpc"])
            elif q.get("value"):
                value = Fraction(q["value"])
                cost, cpc = (value, None) if q.get("type", "1") == "1" else (None, value)
        except (ValueError, ZeroDivisionError):
            return err(req, "cost must be a number")
        if cost is None and cpc is None:
            return err(req, "cost is required")
        if (cost is not None and cost < 0) or (cpc is not None and cpc < 0):
            return err(req, "cost must not be negative")
        number = q.get("token_number") or q.get("token_id")
        value_t = q.get("token_value") if q.get("token_value") is not None else q.get("token_val")
        field = None
        if number:
            if not number.isdigit() or not 1 <= int(number) <= 10:
                return err(req, "token_number must be 1..10")
            field = f"t{int(number)}"
        key = (d0, field, value_t if field else None)

        def pred(attrs: Attrs) -> bool:
            return field is None or attrs.get(field, "") == (value_t or "")

        w.schedule(c, lambda: w.apply_cost([c], a, b, pred, key, cost, cpc))
        return Reply(200, {"check_status": "true", "status": "true"})

    def stats(self, req: Req) -> Reply:
        """page=Stats: rows for group1..3 with ``level`` (spec §2.3), depth first."""
        w = req.world
        q = req.query
        c = w.campaigns.get(int(q.get("camp_id", "0") or 0))
        if c is None:
            return err(req, "Campaign not found")
        tz = offset_zone(req)
        a, b, _ = date_range(req, tz)
        levels = []
        for g in ("group1", "group2", "group3"):
            code = int(q.get(g, "1") or 1)
            if code not in GROUPS:
                return err(req, f"unknown {g} code {code}")
            if GROUPS[code]:
                levels.append(GROUPS[code])
        if not levels:
            levels = ["campaign"]
        got = aggregate(w, [c], a, b, tz, levels,
                        lambda cc, at, d: cc.name if d == "campaign" else group_value(cc, at, d))
        pretty = bool(w.knobs.get("binom1_pretty_numbers"))
        rows: list[dict[str, Any]] = []

        def name_of(d: str, v: Any) -> str:
            if d == "weekday":
                return WEEKDAYS[int(v) - 1]
            return str(v) if v is not None else ""

        def walk(prefix: tuple[Any, ...], depth: int) -> None:
            sub: dict[Any, Facts] = {}
            for key, f in got.items():
                if key[:depth] == prefix:
                    sub.setdefault(key[depth], Facts()).add(f)
            for v in sorted(sub, key=_sortable):
                row = {"level": str(depth + 1), "name": name_of(levels[depth], v),
                       **stats_fields(sub[v], pretty)}
                rows.append(rename(w, row))
                if depth + 1 < len(levels):
                    walk((*prefix, v), depth + 1)

        walk((), 0)
        return Reply(200, _page(req, rows))

    def arm(self, req: Req) -> Reply:
        """arm.php action=campaign@get_all | campaign@get&id= (spec §2.1, unconfirmed)."""
        w = req.world
        action = req.query.get("action", "")

        def conf(c: TCampaign) -> dict[str, Any]:
            ts = w.sources[c.ts_id]
            return {
                "id": str(c.id), "name": c.name, "key": c.key,
                "status": "1" if c.state == "active" else "0",
                "group_id": str(c.group_id), "ts_id": str(ts.id), "url": w.link(c),
                "traffic_source": {"id": str(ts.id), "name": ts.name, "tokens": [
                    {"number": p.field[1:], "name": p.name, "placeholder": p.placeholder}
                    for p in ts.params]},
            }

        if action == "campaign@get_all":
            return Reply(200, [conf(c) for c in w.campaigns.values() if c.state != "deleted"])
        if action == "campaign@get":
            c = w.campaigns.get(int(req.query.get("id", "0") or 0))
            return Reply(200, conf(c)) if c else err(req, "Campaign not found")
        return err(req, f"Unknown action {action!r}")


def _sortable(v: Any) -> tuple[int, Any]:
    """Numbers (also Binom's "1,234" / "5%") before text."""
    s = str(v if v is not None else "").replace(",", "").rstrip("%")
    try:
        return (0, float(s))
    except ValueError:
        return (1, s)


def _page(req: Req, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``val_page`` rows per page (All = every row), ``num_page`` 1-based."""
    per = req.query.get("val_page", "All")
    if per.lower() == "all" or not per.isdigit() or int(per) <= 0:
        return rows
    page = max(1, int(req.query.get("num_page", "1") or 1))
    return rows[(page - 1) * int(per):page * int(per)]
