"""The dashboard's cookies, as the policy sorts them, and the consent banner's choice.

- strictly necessary: `ttpulse_session` (web/security.py) and, for minutes during a Google
  sign-in, `ttpulse_oidc` (the `state` this browser left with); set without asking;
- functional: `ttpulse_lang`, the language picked in the page's footer (set only when picked);
- analytics: `ttpulse_aid`, a random visitor id for counting visits, set only after the banner's
  "Accept all" and deleted again on "Necessary only" — never before a choice.

The choice itself is kept in `ttpulse_consent` ("necessary" or "all", with the policy's
version), and in the audit log for a signed-in user. The banner offers both answers as equal
buttons; static/cookies.js posts the answer as JSON (like /signin/initdata: a cross-site form
cannot post JSON, and a visitor who is not signed in has no CSRF token yet).
"""

from __future__ import annotations

import secrets

from aiohttp import web

from core.users import LANGUAGES
from web.security import DEPS_KEY, USER

CONSENT = "ttpulse_consent"
ANALYTICS = "ttpulse_aid"
LANG = "ttpulse_lang"
VERSION = "1"  # of the cookie policy the choice was made under; a new one asks again
CHOICES = ("necessary", "all")
YEAR = 365 * 86400
# ePrivacy guidance (and the CNIL's 13 months): consent is asked again after at most this.
CONSENT_MAX_AGE = 180 * 86400

routes = web.RouteTableDef()


def choice_of(request: web.Request) -> str | None:
    """The visitor's recorded choice under the current policy, or None (the banner shows)."""
    raw = request.cookies.get(CONSENT, "")
    choice, _sep, version = raw.partition(".")
    return choice if version == VERSION and choice in CHOICES else None


def language_cookie(request: web.Request) -> str | None:
    """The language picked in the page (functional cookie), when valid."""
    lang = request.cookies.get(LANG)
    return lang if lang in LANGUAGES else None


def _cookie(resp: web.StreamResponse, request: web.Request, name: str, value: str,
            max_age: int, httponly: bool = True) -> None:
    secure = request.app[DEPS_KEY].secure
    resp.set_cookie(name, value, max_age=max_age, path="/app/", httponly=httponly,
                    secure=secure, samesite="None" if secure else "Lax")


def _drop(resp: web.StreamResponse, request: web.Request, name: str) -> None:
    # With the attributes it was set with: inside web.telegram.org's frame a browser ignores a
    # Set-Cookie without SameSite=None (and so Secure), and the cookie would stay.
    secure = request.app[DEPS_KEY].secure
    resp.del_cookie(name, path="/app/", secure=secure, samesite="None" if secure else "Lax")


@web.middleware
async def analytics(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """The analytics cookie on pages only with consent; a leftover one is dropped without."""
    resp = await handler(request)
    if request.path.startswith("/app/static/") or request.path == "/app/cookies":
        return resp
    consented = choice_of(request) == "all"
    if consented and ANALYTICS not in request.cookies and resp.content_type == "text/html":
        _cookie(resp, request, ANALYTICS, secrets.token_urlsafe(16), YEAR)
    elif not consented and ANALYTICS in request.cookies:
        _drop(resp, request, ANALYTICS)
    return resp


@routes.post("/cookies")
async def choose(request: web.Request) -> web.StreamResponse:
    """The banner's answer: {"choice": "necessary" | "all"} as JSON; recorded, and the
    analytics cookie set or dropped at once."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    try:
        choice = (await request.json())["choice"]
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest() from None
    if choice not in CHOICES:
        raise web.HTTPBadRequest()
    resp = web.json_response({"ok": True, "choice": choice})
    _cookie(resp, request, CONSENT, f"{choice}.{VERSION}", CONSENT_MAX_AGE)
    if choice == "all":
        if ANALYTICS not in request.cookies:
            _cookie(resp, request, ANALYTICS, secrets.token_urlsafe(16), YEAR)
    elif ANALYTICS in request.cookies:
        _drop(resp, request, ANALYTICS)
    user = request.get(USER)
    if user is not None:
        deps = request.app[DEPS_KEY]
        async with deps.uow() as u:
            u.audit.record(user.id, "web.cookies", "user", user.id,
                           {"choice": choice, "version": VERSION})
            await u.commit()
    return resp


@routes.get("/lang/{code}")
async def pick_language(request: web.Request) -> web.StreamResponse:
    """The footer's language links: remember the choice (functional cookie), back to the
    page (`next`, a path of the dashboard only: never another site)."""
    code = request.match_info["code"]
    if code not in LANGUAGES:
        raise web.HTTPNotFound()
    back = request.query.get("next", "/app/")
    if not back.startswith("/app/") or back.startswith("//") or "\\" in back:
        back = "/app/"
    resp = web.HTTPSeeOther(back)
    _cookie(resp, request, LANG, code, YEAR)
    raise resp
