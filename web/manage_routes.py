"""Pause / enable (one row or the ticked ones), budget and bid from the stats table:
propose → confirm → verified → undo, through core.manage exactly as the chat's Manage screens
(bot/routers/manage.py) do, audit included."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from core import manage
from core.money import parse_amount
from core.periods import Period
from core.rules.acting import Changer
from core.rules.model import Action, ActionKind
from web.render import id_of, not_found, page, path_id
from web.security import DEPS_KEY, USER

routes = web.RouteTableDef()
KINDS = {"pause": ActionKind.PAUSE, "enable": ActionKind.ENABLE,
         "budget": ActionKind.BUDGET, "bid": ActionKind.BID}


def _changer(request: web.Request) -> Changer:
    """The TikTok changer, for a signed-in user (else to the sign-in page)."""
    if request[USER] is None:
        raise web.HTTPSeeOther("/app/")
    deps = request.app[DEPS_KEY]
    if deps.changer is None:  # no TikTok app configured
        raise web.HTTPServiceUnavailable()
    return deps.changer




@routes.post("/manage/propose")
async def propose(request: web.Request) -> web.StreamResponse:
    """Read the object live and ask to confirm; the account and object must be the user's."""
    changer = _changer(request)
    deps = request.app[DEPS_KEY]
    form = await request.post()
    try:
        account_id = int(str(form["account"]))
        level = str(form["level"])
        # The table's buttons send "<action>:<object id>" (one form for all rows), or
        # "<action>:*" for the rows ticked (`ids`, the bulk change).
        action, _, object_id = str(form["op"]).partition(":")
        kind = KINDS[action]
    except (KeyError, ValueError):
        raise not_found(request) from None
    ids = [str(i) for i in form.getall("ids", [])] if object_id == "*" else [object_id]
    back = str(form.get("back", "/app/stats"))
    if not back.startswith("/app/"):  # only our own pages (no open redirect)
        back = "/app/stats"
    if not ids:
        raise web.HTTPSeeOther(back)
    if len(ids) > manage.MAX_SELECTION:
        return page(request, "manage.html", status=413, step="too_many", rows=[], skipped=[],
                    account=None, back=back, limit=manage.MAX_SELECTION)
    action_ = Action(kind)
    if kind in (ActionKind.BUDGET, ActionKind.BID):
        if len(ids) != 1:
            raise not_found(request)
        value = parse_amount(str(form.get("amount", "")))
        if value is None:  # the amount page again, saying so
            raise web.HTTPSeeOther(
                f"/app/manage/amount?account={account_id}&level={level}&object={ids[0]}"
                f"&kind={action}&bad=1&back={quote(back)}")
        action_ = Action(kind, "set", value)  # a typed amount is set, as in the chat
    proposal = await manage.propose(deps.uow, deps.clock, changer, request[USER].id,
                                    account_id, level, ids, action_)
    if proposal is None:
        raise not_found(request)
    return page(request, "manage.html", step="confirm", rows=proposal.rows,
                skipped=proposal.skipped, account=proposal.account, back=back, limit=0)


@routes.get("/manage/amount")
async def amount(request: web.Request) -> web.StreamResponse:
    """The new budget or bid of one object, with its current one; only where core.eligibility
    says it exists (else why not)."""
    _changer(request)
    deps = request.app[DEPS_KEY]
    user = request[USER]
    kind = request.query.get("kind", "")
    try:
        account_id = id_of(request.query["account"])
        level, object_id = request.query["level"], request.query["object"]
    except KeyError:
        raise not_found(request) from None
    if account_id is None:
        raise not_found(request)
    if kind not in ("budget", "bid"):
        raise not_found(request)
    card = await manage.object_card(deps.uow, deps.clock, user.id, account_id, level,
                                    object_id, Period.TODAY, None)
    if card is None:
        raise not_found(request)
    why = card.budget_blocked if kind == "budget" else card.bid_blocked
    back = request.query.get("back", "/app/stats")
    if not back.startswith("/app/"):
        back = "/app/stats"
    return page(request, "amount.html", card=card, kind=kind, why=why, back=back,
                bad=request.query.get("bad") == "1")


async def _decided(request: web.Request, decision: manage.Decision) -> web.StreamResponse:
    if decision.outcome is manage.Outcome.GONE:
        raise not_found(request)
    return page(request, "manage.html", step=decision.outcome.value, rows=decision.rows,
                skipped=[], account=decision.account, back=request.query.get("back", ""),
                limit=0)


@routes.post("/manage/{action_id:\\d+}/confirm")
async def confirm(request: web.Request) -> web.StreamResponse:
    """Apply once (another press, here or in the chat, finds it decided), verified by reading
    back."""
    changer = _changer(request)
    deps = request.app[DEPS_KEY]
    return await _decided(request, await manage.confirm(
        deps.uow, deps.clock, changer, request[USER].id, path_id(request, "action_id")))


@routes.post("/manage/{action_id:\\d+}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    """Drop the proposal: nothing changes on TikTok."""
    _changer(request)
    deps = request.app[DEPS_KEY]
    return await _decided(request, await manage.cancel(
        deps.uow, deps.clock, request[USER].id, path_id(request, "action_id")))


@routes.post("/manage/{action_id:\\d+}/undo")
async def undo(request: web.Request) -> web.StreamResponse:
    """Put back what the change did, within its 24 hours."""
    changer = _changer(request)
    deps = request.app[DEPS_KEY]
    return await _decided(request, await manage.undo(
        deps.uow, deps.clock, changer, request[USER].id, path_id(request, "action_id")))
