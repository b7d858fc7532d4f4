"""Signing in (a one-time link from /web, the Mini App's initData) and signing out."""

from __future__ import annotations

from aiohttp import web

from core import web_auth
from web.render import page
from web.security import DEPS_KEY, TOKEN, USER, clear_session_cookie, set_session_cookie

routes = web.RouteTableDef()


def _signed_in(request: web.Request, signed: web_auth.Signed, to: str) -> web.Response:
    deps = request.app[DEPS_KEY]
    resp = web.HTTPSeeOther(to)
    set_session_cookie(resp, deps, signed.token, int(deps.session_lifetime.total_seconds()))
    return resp


@routes.get("/signin/{token}")
async def signin_link(request: web.Request) -> web.StreamResponse:
    """A one-time link from /web: a session and on to the overview, or a refusal page."""
    deps = request.app[DEPS_KEY]
    signed = await web_auth.redeem_link(
        deps.uow, deps.clock, request.match_info["token"],
        request.headers.get("User-Agent", ""), deps.session_lifetime,
    )
    if signed is None:
        return page(request, "signin.html", status=403, refused=True)
    raise _signed_in(request, signed, "/app/")


@routes.post("/signin/initdata")
async def signin_init_data(request: web.Request) -> web.StreamResponse:
    """The Mini App's initData (posted as JSON by static/signin.js, which reads it from the
    launch URL's fragment): a session, or 403. JSON only, so a cross-site form cannot post it."""
    deps = request.app[DEPS_KEY]
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    try:
        body = await request.json()
        init_data = str(body["init_data"])[:4096]
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest() from None
    if request[TOKEN]:
        # A launch by another Telegram account than this browser's session (static/signin.js:
        # accounts of one Telegram app share its cookies): that session is not theirs to keep.
        await web_auth.sign_out(deps.uow, request[TOKEN])
    signed = await web_auth.sign_in_web_app(
        deps.uow, deps.clock, deps.bot_token, init_data, request.headers.get("User-Agent", ""),
        deps.init_data_max_age, deps.session_lifetime,
    )
    if signed is None:
        resp = web.json_response({"ok": False}, status=403)
        clear_session_cookie(resp, deps)
        return resp
    resp = web.json_response({"ok": True})
    set_session_cookie(resp, deps, signed.token, int(deps.session_lifetime.total_seconds()))
    return resp


@routes.post("/signout")
async def signout(request: web.Request) -> web.StreamResponse:
    """End this session (the CSRF check ran in the middleware)."""
    deps = request.app[DEPS_KEY]
    await web_auth.sign_out(deps.uow, request[TOKEN])
    resp = web.HTTPSeeOther("/app/")
    clear_session_cookie(resp, deps)
    raise resp


@routes.post("/signout/everywhere")
async def signout_everywhere(request: web.Request) -> web.StreamResponse:
    """End every session of the user, on every device."""
    deps = request.app[DEPS_KEY]
    await web_auth.sign_out_everywhere(deps.uow, request[USER].id)
    resp = web.HTTPSeeOther("/app/")
    clear_session_cookie(resp, deps)
    raise resp
