"""Privacy on the dashboard: the data export (the chat's /export, core.privacy.export; built by
the same worker, then downloaded from the page), deleting the account with the chat's typed
confirmation rules (bot/routers/privacy_delete.py), and the activity log, paged."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from bot.views import privacy as privacy_view
from bot.views import privacy_data as data_view
from bot.views import privacy_delete as delete_view
from core import web_auth
from core.privacy import export, rights
from core.privacy.erase import request_erasure
from core.privacy.rights import activity
from web.chat import chat_html, in_language, page_number, signed_in
from web.render import not_found, page, path_id
from web.security import DEPS_KEY, TOKEN, USER, clear_session_cookie

routes = web.RouteTableDef()
ACTIVITY_PAGE = 20


async def _privacy(request: web.Request, status: int = 200, said: str | None = None,
                   notice: str | None = None) -> web.Response:
    deps, user = request.app[DEPS_KEY], request[USER]
    latest = await export.latest(deps.uow, deps.clock, user.id)
    with in_language(request):
        # Pausing explained (or the pause stated) in the chat's words.
        pause = chat_html(privacy_view.pause_confirm()[0] if user.paused_at is None
                          else privacy_view.resume_confirm(user)[0])
    return page(request, "privacy.html", status=status, latest=latest,
                said=said or request.query.get("said"),
                notice=chat_html(notice) if notice else None, pause=pause)


@routes.get("/privacy")
async def privacy_page(request: web.Request) -> web.StreamResponse:
    """Export, deletion and activity."""
    signed_in(request)
    return await _privacy(request)


@routes.post("/privacy/export")
async def export_post(request: web.Request) -> web.StreamResponse:
    """Queue the export, one at a time and PER_DAY a day as in the chat."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    result = await export.request_export(deps.uow, deps.clock, user.id, export.FROM_WEB)
    if isinstance(result, export.Queued):
        raise web.HTTPSeeOther("/app/privacy?said=queued")
    with in_language(request):
        if isinstance(result, export.Busy):
            text = data_view.export_busy(result.requested_at, user.time_zone)
        else:
            text = data_view.export_rate_limited(result.next_at, user.time_zone)
    return await _privacy(request, 429 if isinstance(result, export.RateLimited) else 409,
                          notice=text)


@routes.get("/privacy/export.json")
async def export_state(request: web.Request) -> web.StreamResponse:
    """The newest export's state, for the page's poll (static/poll.js)."""
    if request[USER] is None:
        raise web.HTTPUnauthorized()
    deps = request.app[DEPS_KEY]
    latest = await export.latest(deps.uow, deps.clock, request[USER].id)
    if latest is None:
        return web.json_response({"state": None, "final": True})
    return web.json_response({"state": latest.state, "id": latest.export_id,
                              "final": latest.state not in ("queued", "building")})


@routes.get("/privacy/export/{export_id:\\d+}")
async def export_download(request: web.Request) -> web.StreamResponse:
    """The ZIP of an export asked for on this page, to its owner only (24 hours)."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    found = await export.web_download(deps.uow, deps.clock, deps.export_dir, request[USER].id,
                                      path_id(request, "export_id"))
    if found == "unknown":
        raise not_found(request)
    if found == "expired" or isinstance(found, str):
        raise web.HTTPGone(text="expired")
    return web.FileResponse(found.path, headers={
        "Content-Disposition": f'attachment; filename="{found.file_name}"',
        "Content-Type": "application/zip", "Cache-Control": "no-store"})


def _stamp(token: str, asked: int) -> str:
    """When the deletion was asked, signed with the session (the form cannot move it)."""
    return hmac.new(token.encode(), f"delete:{asked}".encode(), hashlib.sha256).hexdigest()


@routes.get("/privacy/delete")
async def delete_page(request: web.Request) -> web.StreamResponse:
    """What deleting does (the chat's words) and the field for the confirmation word."""
    signed_in(request)
    asked = int(request.app[DEPS_KEY].clock.now().timestamp())
    with in_language(request):
        explain = chat_html(delete_view.explain())
        word = delete_view.confirm_word()
    return page(request, "delete.html", explain=explain, word=word, asked=asked,
                sig=_stamp(request[TOKEN], asked), refused=None)


@routes.post("/privacy/delete")
async def delete_post(request: web.Request) -> web.StreamResponse:
    """Exactly the word (capitals too), typed within CONFIRM_WITHIN of asking, deletes the
    account; anything else deletes nothing (as in the chat)."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    form = await request.post()
    raw = str(form.get("asked", ""))
    asked = int(raw) if raw.isdigit() and len(raw) < 12 else 0
    good = hmac.compare_digest(_stamp(request[TOKEN], asked), str(form.get("sig", "")))
    with in_language(request):
        word = delete_view.confirm_word()
        if str(form.get("word", "")).strip() != word:
            refused = delete_view.not_deleted()
        elif not good or deps.clock.now().timestamp() - asked > delete_view.CONFIRM_WITHIN:
            refused = delete_view.expired()
        else:
            refused = None
            done = delete_view.deleted()
    if refused is not None:
        return page(request, "delete.html", status=422, explain=None, word=word, asked=0,
                    sig="", refused=chat_html(refused))
    if deps.stop_renewal is not None:  # before the erasure, as the chat's deletion does
        with in_language(request):
            renewal = await deps.stop_renewal(user.id)
        if renewal is not None:
            done = f"{done}\n\n{renewal}"
    await request_erasure(deps.uow, deps.clock, deps.tiktok, user.id, pause=deps.erase_pause)
    if deps.forget_chat is not None:  # as the chat's deletion clears it (a tracker draft too)
        await deps.forget_chat(user.id)
    await web_auth.sign_out_everywhere(deps.uow, user.id)
    resp = page(request, "deleted.html", text=chat_html(done), user=None, csrf="")
    clear_session_cookie(resp, deps)
    return resp


@routes.post("/privacy/pause")
async def pause_post(request: web.Request) -> web.StreamResponse:
    """Restrict processing (nothing runs on its own, nothing is deleted), through the chat's
    core.privacy.rights (audited; pressing twice changes nothing)."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    await rights.pause(deps.uow, deps.clock, request[USER].id)
    raise web.HTTPSeeOther("/app/privacy?said=paused#pause")


@routes.post("/privacy/resume")
async def resume_post(request: web.Request) -> web.StreamResponse:
    """Lift the pause (alerts held over 3 days are dropped, as in the chat)."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    await rights.resume(deps.uow, deps.clock, request[USER].id)
    raise web.HTTPSeeOther("/app/privacy?said=resumed#pause")


@routes.get("/privacy/activity")
async def activity_page(request: web.Request) -> web.StreamResponse:
    """The user's own security-relevant events, newest first, a page at a time."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    found = await activity(deps.uow, user.id, page_number(request), ACTIVITY_PAGE)
    with in_language(request):
        rows = [(e.created_at, chat_html(privacy_view.activity_label(e))) for e in found.entries]
    return page(request, "activity.html", rows=rows, found=found)
