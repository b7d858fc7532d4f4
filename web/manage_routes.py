"""Pause / enable from the stats table: propose → confirm → verified → undo, through
core.manage exactly as the chat's Manage screens (bot/routers/manage.py) do, audit included."""

from __future__ import annotations

from aiohttp import web

from core import manage
from core.rules.acting import Changer
from core.rules.model import Action, ActionKind
from web.render import not_found, page
from web.security import DEPS_KEY, USER

routes = web.RouteTableDef()
KINDS = {"pause": ActionKind.PAUSE, "enable": ActionKind.ENABLE}


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
        # The table's buttons send "<action>:<object id>" (one form for all rows).
        action, _, object_id = str(form["op"]).partition(":")
        kind = KINDS[action]
    except (KeyError, ValueError):
        raise not_found(request) from None
    proposal = await manage.propose(deps.uow, deps.clock, changer, request[USER].id,
                                    account_id, level, [object_id], Action(kind))
    if proposal is None:
        raise not_found(request)
    back = str(form.get("back", "/app/stats"))
    if not back.startswith("/app/"):  # only our own pages (no open redirect)
        back = "/app/stats"
    return page(request, "manage.html", step="confirm", rows=proposal.rows,
                skipped=proposal.skipped, account=proposal.account, back=back)


async def _decided(request: web.Request, decision: manage.Decision) -> web.StreamResponse:
    if decision.outcome is manage.Outcome.GONE:
        raise not_found(request)
    return page(request, "manage.html", step=decision.outcome.value, rows=decision.rows,
                skipped=[], account=decision.account, back=request.query.get("back", ""))


@routes.post("/manage/{action_id:\\d+}/confirm")
async def confirm(request: web.Request) -> web.StreamResponse:
    """Apply once (another press, here or in the chat, finds it decided), verified by reading
    back."""
    changer = _changer(request)
    deps = request.app[DEPS_KEY]
    return await _decided(request, await manage.confirm(
        deps.uow, deps.clock, changer, request[USER].id, int(request.match_info["action_id"])))


@routes.post("/manage/{action_id:\\d+}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    """Drop the proposal: nothing changes on TikTok."""
    _changer(request)
    deps = request.app[DEPS_KEY]
    return await _decided(request, await manage.cancel(
        deps.uow, deps.clock, request[USER].id, int(request.match_info["action_id"])))


@routes.post("/manage/{action_id:\\d+}/undo")
async def undo(request: web.Request) -> web.StreamResponse:
    """Put back what the change did, within its 24 hours."""
    changer = _changer(request)
    deps = request.app[DEPS_KEY]
    return await _decided(request, await manage.undo(
        deps.uow, deps.clock, changer, request[USER].id, int(request.match_info["action_id"])))
