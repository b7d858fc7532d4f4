"""The dashboard's pages: overview, stats (table, chart, CSV) and the approvals inbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from aiohttp import web

from core import manage
from core.connections import sync_health
from core.periods import DateRange, Period, PeriodError, local_today, parse_custom
from core.rules import approvals
from core.stats import Breakdown, accounts, breakdown, chart_data, csv_bytes, summary
from core.tracker_metrics import TrackerTotals
from web.render import id_of, not_found, page, path_id
from web.security import DEPS_KEY, USER

routes = web.RouteTableDef()
LEVELS = ("campaign", "adgroup", "ad")
CHILD = {"campaign": "adgroup", "adgroup": "ad"}
MAX_ROWS = 5000  # objects in one table (TikTok allows 999 ads per ad group; accounts vary)


@dataclass(frozen=True)
class Chosen:
    """The period asked for: a named one, or a custom range (`custom`), and why a typed
    range was refused (a core.periods.PeriodError code; then the last 7 days are shown)."""

    period: Period
    custom: DateRange | None = None
    refused: str | None = None

    @property
    def query(self) -> str:
        """The period as query parameters, for links that keep it."""
        if self.custom is None:
            return f"period={self.period.value}"
        return f"period=custom&from={self.custom.start}&to={self.custom.end}"


def period_of(request: web.Request) -> Chosen:
    """The period of the query (`period`, and `from`/`to` for a custom range, in the user's
    days as the chat's custom range is), 7 days by default."""
    try:
        period = Period(request.query.get("period", Period.LAST_7.value))
    except ValueError:
        return Chosen(Period.LAST_7)
    if period is not Period.CUSTOM:
        return Chosen(period)
    deps, user = request.app[DEPS_KEY], request[USER]
    today = local_today(deps.clock.now(), user.time_zone if user is not None else "UTC")
    typed = f"{request.query.get('from', '')} {request.query.get('to', '')}"
    try:
        return Chosen(Period.CUSTOM, parse_custom(typed, today))
    except PeriodError as exc:
        return Chosen(Period.LAST_7, refused=exc.code)


def int_param(request: web.Request, name: str) -> int | None:
    """An id as a query parameter, None when missing or no row's id."""
    return id_of(request.query.get(name, ""))


@routes.get("/")
async def overview(request: web.Request) -> web.StreamResponse:
    """Every tracked ad account: today's and the period's numbers per currency, sync health.
    Without a session: the sign-in page (its script signs in with the Mini App's initData)."""
    user = request[USER]
    if user is None:
        return page(request, "signin.html", refused=False)
    deps = request.app[DEPS_KEY]
    asked = period_of(request)
    today = await summary(deps.uow, deps.clock, user.id, Period.TODAY)
    chosen = await summary(deps.uow, deps.clock, user.id, asked.period, asked.custom)
    of_today = {a.account_id: a for a in today.accounts}
    rows = [(a, of_today.get(a.account_id)) for a in chosen.accounts]
    health = await sync_health(deps.uow, deps.clock, user.id, deps.stale_after)
    return page(request, "overview.html", period=asked.period, chosen=asked, rows=rows,
                health=health,
                totals=chosen.spend_by_currency, today_totals=today.spend_by_currency)


async def _table(request: web.Request) -> tuple[Breakdown, Chosen] | None:
    user = request[USER]
    deps = request.app[DEPS_KEY]
    account_id = int_param(request, "account")
    level = request.query.get("level", "campaign")
    parent = request.query.get("parent") or None
    asked = period_of(request)
    if account_id is None or level not in LEVELS or (parent is not None and level == "campaign"):
        return None
    data = await breakdown(deps.uow, deps.clock, user.id, account_id, level, parent,
                           asked.period, asked.custom, 0, page_size=MAX_ROWS)
    return (data, asked) if data is not None else None


def _signed_in(request: web.Request) -> None:
    if request[USER] is None:
        raise web.HTTPSeeOther("/app/")


@routes.get("/stats")
async def stats(request: web.Request) -> web.StreamResponse:
    """One account's campaigns, an ad group's ads…: a sortable, filterable table and a chart."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    user = request[USER]
    tracked = await accounts(deps.uow, user.id)
    if "account" not in request.query:  # the first tracked account
        if not tracked:
            return page(request, "empty.html")
        raise web.HTTPSeeOther(f"/app/stats?account={tracked[0].id}")
    found = await _table(request)
    if found is None:
        raise not_found(request)
    data, asked = found
    chart = await chart_data(deps.uow, deps.clock, user.id, data.account.account_id,
                             asked.period, asked.custom)
    series: dict[str, list[object]] = {"days": [], "spend": [], "conversions": []}
    if chart is not None:
        for p in chart.daily.points:
            series["days"].append(p.day.isoformat())
            series["spend"].append(str(p.spend))
            series["conversions"].append(p.conversions)
    # Budget / bid links only where they exist (core.eligibility), as the chat's card offers.
    can = (await manage.changeable(deps.uow, user.id, data.account.account_id, data.level,
                                   data.parent_id) if deps.changer is not None else {})
    return page(request, "stats.html", data=data, period=asked.period, chosen=asked,
                changeable=can,
                # The tracker's columns (approved conversions, revenue, profit, ROI), as the
                # chat's cards show them, once any row has the tracker's numbers.
                has_tracker=any(line.tracker is not None for line in data.lines),
                child=CHILD.get(data.level),
                accounts=tracked,
                chart_json=json.dumps(series), query=dict(request.query),
                can_manage=deps.changer is not None)


@routes.get("/stats.csv")
async def stats_csv(request: web.Request) -> web.StreamResponse:
    """The table on screen as CSV: one row per object, amounts exact (Decimal as written)."""
    _signed_in(request)
    found = await _table(request)
    if found is None:
        raise not_found(request)
    data, _period = found
    header = ["object_id", "name", "status", "currency", "spend", "impressions", "clicks",
              "conversions", "purchase_value", "cpa", "ctr", "cpc", "cpm", "roas",
              "tracker_conversions", "tracker_revenue", "profit", "roi_percent"]
    cur = data.account.currency

    def cell(value: Decimal | None) -> str:
        return "" if value is None else str(value.quantize(Decimal("0.0001")))

    # The name filter typed on the page (static/stats.js keeps it in the link as `q`).
    q = request.query.get("q", "").strip().lower()
    shown = [line for line in data.lines if q in line.name.lower()]
    lines = [[line.object_id, line.name, line.status or "", cur, line.current.spend,
              line.current.impressions, line.current.clicks, line.current.conversions,
              line.current.purchase_value, cell(line.current.cpa), cell(line.current.ctr),
              cell(line.current.cpc), cell(line.current.cpm), cell(line.current.roas),
              *_tracker_cells(line.tracker, cell)]
             for line in shown]
    days = data.account.days
    name = f"ttpulse-{data.account.advertiser_id}-{data.level}-{days.start}-{days.end}.csv"
    return web.Response(body=csv_bytes(header, lines), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _tracker_cells(k: TrackerTotals | None, cell: Callable[[Decimal | None], str]) -> list[object]:
    """The tracker's columns of a CSV row, empty where it has nothing for the object."""
    if k is None:
        return ["", "", "", ""]
    return [k.conversions, k.revenue, k.profit, cell(k.roi)]


@routes.get("/approvals")
async def approvals_inbox(request: web.Request) -> web.StreamResponse:
    """Rule actions waiting for Approve / Reject."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    rows = await approvals.pending(deps.uow, deps.clock, request[USER].id)
    return page(request, "approvals.html", rows=rows, said=request.query.get("said"),
                can_apply=deps.changer is not None)


@routes.post("/approvals/{action_id:\\d+}/{decision:approve|reject}")
async def decide(request: web.Request) -> web.StreamResponse:
    """Approve or reject through the same use-case as the chat's buttons: decided once,
    whichever is pressed first; someone else's id is refused (GONE)."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    user_id, action_id = request[USER].id, path_id(request, "action_id")
    if request.match_info["decision"] == "approve":
        if deps.changer is None:
            raise web.HTTPServiceUnavailable()
        result = await approvals.approve(deps.uow, deps.clock, deps.changer, user_id, action_id)
    else:
        result = await approvals.reject(deps.uow, deps.clock, user_id, action_id)
    if result.outcome is approvals.Outcome.GONE:
        raise not_found(request)
    if deps.decided is not None and result.outcome in (
        approvals.Outcome.APPLIED, approvals.Outcome.REJECTED, approvals.Outcome.FAILED,
    ):
        await deps.decided(user_id, action_id)
    raise web.HTTPSeeOther(f"/app/approvals?said={result.outcome.value}")
