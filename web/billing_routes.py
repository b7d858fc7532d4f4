"""Billing on the dashboard: the plan and its standing, usage against the plan's limits, the
plans with their prices, and the payment history (core.billing.overview, the chat's texts from
bot.views.billing). Paying stays in Telegram Stars: a Buy button sends the offer's invoice into
the chat (WebDeps.invoice → bot.routers.billing.send_offer), nothing is paid on the web."""

from __future__ import annotations

from aiohttp import web

from bot.views import billing as billing_view
from core.billing import overview
from core.billing.plans import SUBSCRIPTION_DAYS, Catalogue
from web.chat import chat_html, in_language, page_number, signed_in
from web.render import page
from web.security import DEPS_KEY, USER

routes = web.RouteTableDef()


def _catalogue(request: web.Request) -> Catalogue:
    plans = request.app[DEPS_KEY].plans
    if plans is None:  # a service that sells nothing has no billing page
        raise web.HTTPNotFound()
    return plans.current()


@routes.get("/billing")
async def billing_page(request: web.Request) -> web.StreamResponse:
    """Plan, usage, plans with Buy buttons, and one page of the payment history."""
    signed_in(request)
    return await _billing(request)


async def _billing(request: web.Request, status: int = 200,
                   notice: str | None = None) -> web.Response:
    deps, user = request.app[DEPS_KEY], request[USER]
    catalogue = _catalogue(request)
    zone = user.time_zone
    facts = await overview.overview(deps.uow, catalogue, deps.clock, user.id)
    history = await overview.history(deps.uow, user.id, page_number(request))
    sub = facts.subscription
    renewing = sub.plan if sub is not None and sub.renews and sub.running(facts.now) else None
    current = (facts.standing.plan if facts.standing.state != "free"
               else catalogue.free.code)
    with in_language(request):
        standing = [chat_html(line) for line in billing_view.standing_lines(
            facts.standing, facts.plan, sub, catalogue, zone, facts.now)]
        usage = [chat_html(line) for line in billing_view.usage_lines(
            facts.usage, facts.plan.limits)]
        offers = []
        for plan in catalogue.plans:
            buys = []
            if plan.monthly is not None and plan.code != renewing:
                buys.append((SUBSCRIPTION_DAYS, 1, billing_view.price_label(
                    plan, SUBSCRIPTION_DAYS, True) + " · " + billing_view.stars(plan.monthly)))
            buys += [(days, 0, billing_view.price_label(plan, days, False) + " · "
                      + billing_view.stars(price)) for days, price in plan.periods.items()]
            offers.append((plan, [chat_html(x) for x in billing_view.limit_lines(plan.limits)],
                           buys))
        receipts = [[chat_html(x) for x in billing_view.receipt_lines(r, catalogue, zone)]
                    for r in history.receipts]
        renewal = None  # the chat's question before cancelling or resuming renewal
        if sub is not None and sub.running(facts.now) and deps.renewal is not None:
            ask = (billing_view.cancel_confirm(sub, catalogue, zone, facts.standing) if sub.renews
                   else billing_view.resume_confirm(sub, catalogue, zone))
            renewal = (sub.renews, chat_html(ask[0]))
    return page(request, "billing.html", status=status, standing=standing, usage=usage,
                offers=offers, current=current, receipts=receipts, history=history,
                said=request.query.get("said"), can_buy=deps.invoice is not None,
                renewal=renewal, notice=chat_html(notice) if notice else None)


@routes.post("/billing/renewal")
async def renewal(request: web.Request) -> web.StreamResponse:
    """Cancel the subscription's renewal (or allow it again) through Telegram, as the chat's
    buttons do; the billing page with what happened."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    _catalogue(request)
    if deps.renewal is None:
        raise web.HTTPServiceUnavailable()
    cancel = str((await request.post()).get("cancel", "")) == "1"
    return await _billing(request, notice=await deps.renewal(user, cancel))


@routes.post("/billing/buy")
async def buy(request: web.Request) -> web.StreamResponse:
    """One offer's Stars invoice into the user's chat with the bot (as the chat's Buy)."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    _catalogue(request)
    if deps.invoice is None:
        raise web.HTTPServiceUnavailable()
    form = await request.post()
    days = str(form.get("days", ""))
    if not days.isdigit() or len(days) > 4:
        raise web.HTTPSeeOther("/app/billing?said=not_on_sale")
    said = await deps.invoice(user, str(form.get("plan", ""))[:32], int(days),
                              str(form.get("r", "")) == "1")
    raise web.HTTPSeeOther(f"/app/billing?said={said}")
