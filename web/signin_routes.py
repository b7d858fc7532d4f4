"""Signing in from a plain browser: "Log in with Telegram" (the Login Widget's signed data)
and "Sign in with Google" (OpenID Connect), and linking a Google account from the bot's offer.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import web

from core import google_signin, web_auth
from web.deps import WebDeps
from web.render import page
from web.security import DEPS_KEY, TOKEN, USER, set_session_cookie

routes = web.RouteTableDef()
STATE_COOKIE = "ttpulse_oidc"  # the `state` this browser left for the provider with
STATE_PATH = "/app/google/"


def widget_url(deps: WebDeps) -> str:
    """Where "Log in with Telegram" sends the browser: oauth.telegram.org/auth as
    telegram-widget.js's redirect mode does (bot id, our origin, back to the sign-in page,
    which reads `#tgAuthResult`)."""
    public = urlsplit(deps.public_url)
    return f"{deps.telegram_oauth_url}/auth?" + urlencode({
        "bot_id": deps.bot_token.split(":", 1)[0],
        "origin": f"{public.scheme}://{public.netloc}",
        "request_access": "write",
        "return_to": f"{deps.public_url}/app/",
    })


def setup(app: web.Application, deps: WebDeps) -> None:
    """What the sign-in page offers, for every page that shows it (the same for everyone)."""
    env = aiohttp_jinja2.get_env(app)
    env.globals["telegram_login_url"] = widget_url(deps)
    env.globals["google_signin"] = deps.google is not None


def signin_page(request: web.Request, status: int = 200, **ctx: object) -> web.Response:
    """The sign-in page, saying why the last attempt was refused when it was."""
    ctx.setdefault("refused", False)
    return page(request, "signin.html", status=status, **ctx)


@routes.post("/signin/telegram")
async def signin_telegram(request: web.Request) -> web.StreamResponse:
    """The Login Widget's data (posted as JSON by static/telegram_login.js from the
    `#tgAuthResult` Telegram's page came back with): a session, or 403."""
    deps = request.app[DEPS_KEY]
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    try:
        body = await request.json()
        fields = {str(k): str(v) for k, v in dict(body["auth"]).items()}
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest() from None
    signed = await web_auth.sign_in_login_widget(
        deps.uow, deps.clock, deps.bot_token, fields, request.headers.get("User-Agent", ""),
        deps.login_max_age, deps.session_lifetime,
    )
    if signed is None:
        return web.json_response({"ok": False}, status=403)
    resp = web.json_response({"ok": True})
    set_session_cookie(resp, deps, signed.token, int(deps.session_lifetime.total_seconds()))
    return resp


async def _to_provider(request: web.Request, user_id: int | None) -> web.StreamResponse:
    deps = request.app[DEPS_KEY]
    assert deps.google is not None
    try:
        url, state = await google_signin.begin(deps.uow, deps.clock, deps.google, user_id)
    except google_signin.Refused:
        return signin_page(request, status=503, google_refused="provider")
    resp = web.HTTPSeeOther(url)
    # Lax (not Strict): the provider's redirect back is a cross-site top-level GET.
    resp.set_cookie(STATE_COOKIE, state, max_age=int(google_signin.FLOW_TTL.total_seconds()),
                    path=STATE_PATH, httponly=True, secure=deps.secure, samesite="Lax")
    raise resp


@routes.get("/google/start")
async def google_start(request: web.Request) -> web.StreamResponse:
    """"Sign in with Google": off to the provider (a linked account comes back signed in)."""
    if request.app[DEPS_KEY].google is None:
        raise web.HTTPNotFound()
    return await _to_provider(request, None)


@routes.get("/google/link/{token}")
async def google_link(request: web.Request) -> web.StreamResponse:
    """The bot's one-time "Link Google account" link: off to the provider to pick the account
    that will sign this Telegram user in. Refused when used, expired, or when this browser is
    signed in as someone else (the link is theirs)."""
    deps = request.app[DEPS_KEY]
    if deps.google is None:
        raise web.HTTPNotFound()
    user_id = await google_signin.take_offer(deps.uow, deps.clock, request.match_info["token"])
    me = request.get(USER)
    if user_id is None or (me is not None and me.id != user_id):
        return signin_page(request, status=403, google_refused="offer")
    return await _to_provider(request, user_id)


@routes.get("/google/callback")
async def google_callback(request: web.Request) -> web.StreamResponse:
    """The provider sent the browser back: link or sign in, or say why not."""
    deps = request.app[DEPS_KEY]
    if deps.google is None:
        raise web.HTTPNotFound()
    try:
        done = await google_signin.finish(deps.uow, deps.clock, deps.google,
                                          request.cookies.get(STATE_COOKIE, ""),
                                          dict(request.query))
        signed = await web_auth.start_session(deps.uow, deps.clock, done.user_id,
                                              request.headers.get("User-Agent", ""),
                                              deps.session_lifetime)
        if signed is None:
            raise google_signin.Refused("user")
    except google_signin.Refused as exc:
        resp = signin_page(request, status=403, google_refused=exc.code)
        resp.del_cookie(STATE_COOKIE, path=STATE_PATH)
        return resp
    if done.linked:
        request[USER], request[TOKEN] = signed.user, signed.token
        resp = page(request, "google_linked.html", email=done.email or "")
    else:
        resp = web.HTTPSeeOther("/app/")
    set_session_cookie(resp, deps, signed.token, int(deps.session_lifetime.total_seconds()))
    resp.del_cookie(STATE_COOKIE, path=STATE_PATH)
    if isinstance(resp, web.HTTPException):
        raise resp
    return resp
