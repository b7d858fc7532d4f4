"""Sessions, CSRF and security headers of every dashboard response."""

from __future__ import annotations

from aiohttp import web

from core import web_auth
from storage.models import User
from web.deps import WebDeps

COOKIE = "ttpulse_session"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
# Pages Telegram may frame: the Mini App runs inside web.telegram.org (and the other clients'
# telegram.org origins); nobody else may frame them (clickjacking).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
)
DEPS_KEY = web.AppKey("deps", WebDeps)
USER = web.RequestKey("user", User | None)  # type: ignore[arg-type]
TOKEN = web.RequestKey("token", str)
# Routes a request without a session may POST to (they authenticate by what they carry, or
# only record the visitor's cookie choice); each takes JSON only, which a cross-site form
# cannot send.
NO_CSRF = ("/app/signin/initdata", "/app/signin/telegram", "/app/cookies")


def set_session_cookie(resp: web.StreamResponse, deps: WebDeps, token: str, max_age: int) -> None:
    """The session cookie: HttpOnly; over https Secure and SameSite=None, because the Mini App
    is a third-party frame inside web.telegram.org (a Lax cookie would not be sent there);
    over plain http (the sandbox) Lax, which browsers accept without Secure."""
    resp.set_cookie(
        COOKIE, token, max_age=max_age, path="/app/", httponly=True,
        secure=deps.secure, samesite="None" if deps.secure else "Lax",
    )


def clear_session_cookie(resp: web.StreamResponse, deps: WebDeps) -> None:
    """Drop the cookie in the browser."""
    resp.del_cookie(COOKIE, path="/app/", secure=deps.secure,
                    samesite="None" if deps.secure else "Lax")


@web.middleware
async def headers(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """CSP without inline scripts, framing by Telegram only, no sniffing, no referrer leaks."""
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        resp = exc
        _stamp(resp)
        raise
    _stamp(resp)
    if isinstance(resp, web.Response) and resp.content_type in ("text/html", "text/csv"):
        # A table of 500 ads is ~10x smaller gzipped (bench.web: page_kb); the phone on a
        # mobile network is who waits for it.
        resp.enable_compression()
    return resp


def _stamp(resp: web.StreamResponse) -> None:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def session(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """Load the signed-in user (or None); refuse a POST without the session's CSRF token."""
    if request.path.startswith("/app/static/"):  # files, the same for everyone
        return await handler(request)
    deps = request.app[DEPS_KEY]
    token = request.cookies.get(COOKIE, "")
    request[TOKEN] = token
    request[USER] = await web_auth.session_user(deps.uow, deps.clock, token) if token else None
    if request.method == "POST" and request.path not in NO_CSRF:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type == "application/x-www-form-urlencoded":
            sent = (await request.post()).get(CSRF_FIELD)  # type: ignore[assignment]
        if request[USER] is None or not web_auth.csrf_ok(token, str(sent or "")):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")
    return await handler(request)
