"""Rendering a page in the reader's language and time zone (the bot's gettext catalogs)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiogram.utils.i18n import I18n
from aiohttp import web
from babel.dates import format_datetime

from bot.views.common import blocked_reason
from bot.views.stats import period_name
from core import web_auth
from core.money import Formatter, formatter
from core.periods import Period
from core.users import LANGUAGES
from web.cookies import choice_of, language_cookie
from web.deps import HERE
from web.security import DEPS_KEY, TOKEN, USER


def setup_templates(app: web.Application, i18n: I18n) -> None:
    """Jinja2 with autoescape and gettext from the bot's catalogs (the locale of the request)."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: i18n.gettext(s),
        ngettext=lambda s, p, n: i18n.gettext(s, p, n),
        # newstyle: `_("…")` escapes its variables; the catalogs' own `{name}` placeholders
        # are filled with .format(), which Markup escapes too.
        newstyle=True,
    )
    # The picker's fixed periods; their names are the chat's own (bot.views.stats).
    env.globals["periods"] = (
        Period.TODAY, Period.YESTERDAY, Period.LAST_7, Period.LAST_30, Period.THIS_MONTH
    )
    env.globals["period_name"] = period_name
    env.globals["blocked_reason"] = blocked_reason  # the chat's words for core.eligibility
    env.filters["money"] = _money
    env.filters["num"] = (
        lambda v, digits=0, fixed=False: "—" if v is None else _fmt().number(v, digits, fixed)
    )
    env.filters["pct"] = lambda v: "—" if v is None else _fmt().percent(v)
    env.filters["raw"] = lambda v: "" if v is None else str(v)


def _loc() -> str:
    from aiogram.utils.i18n import get_i18n

    return get_i18n().current_locale


def _fmt() -> Formatter:
    """The reader's locale's formatter (a 500-row table formats thousands of values)."""
    return formatter(_loc())


def _money(value: Decimal | str | None, currency: str) -> str:
    # Planned and read-back amounts are stored as strings (exact); shown as money all the same.
    return "—" if value is None else _fmt().money(Decimal(value), currency)


def language(request: web.Request) -> str:
    """The language picked in the page (web/cookies.py); else the signed-in user's; else the
    browser's first supported one; else English."""
    picked = language_cookie(request)
    if picked is not None:
        return picked
    user = request.get(USER)
    if user is not None:
        return str(user.language)
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def local(moment: datetime | None, zone: str, lang: str) -> str:
    """`3 Dec 2026, 14:05` in the reader's language and time zone (— when unknown)."""
    if moment is None:
        return "—"
    return format_datetime(moment.astimezone(ZoneInfo(zone)), "d MMM y, HH:mm", locale=lang)


def page(request: web.Request, template: str, status: int = 200, **ctx: Any) -> web.Response:
    """The template rendered in the reader's locale, with the CSRF token for its forms."""
    deps = request.app[DEPS_KEY]
    lang = language(request)
    user = request.get(USER)
    token = request.get(TOKEN, "")
    zone = str(user.time_zone) if user is not None else "UTC"
    with deps.i18n.context(), deps.i18n.use_locale(lang):
        resp = aiohttp_jinja2.render_template(
            template, request, {
                "lang": lang, "user": user, "zone": zone,
                "csrf": web_auth.csrf_token(token) if token and user else "",
                "local": lambda m: local(m, zone, lang),
                # The cookie banner (web/cookies.py) and the footer's language links.
                "cookie_choice": choice_of(request), "here": request.path_qs,
                **ctx,
            }, status=status,
        )
    return resp


# Ids are BIGINT columns: a number of more digits is no row's id (and the database would refuse
# it, a 500 instead of the not-found page).
ID_DIGITS = 18


def id_of(raw: object) -> int | None:
    """An id as a request wrote it (address, query or form): None unless ASCII digits a row's
    id can be."""
    text = str(raw)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= ID_DIGITS else None


def path_id(request: web.Request, name: str) -> int:
    """The id named `name` in the address; the not-found page when no row can have it."""
    found = id_of(request.match_info[name])
    if found is None:
        raise not_found(request)
    return found


def not_found(request: web.Request) -> web.HTTPNotFound:
    """The one answer to an id that is not the reader's (or does not exist): 404, never a hint
    which of the two it was; a page with the way back, not a bare line."""
    shown = page(request, "not_found.html", status=404)
    return web.HTTPNotFound(text=shown.text, content_type="text/html")


@web.middleware
async def missing_page(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """An address of the dashboard with no page gets the not-found page too (the router's own
    404 is a bare line)."""
    try:
        return await handler(request)
    except web.HTTPNotFound as exc:
        if exc.content_type == "text/html" or not request.path.startswith("/app/"):
            raise
        raise not_found(request) from None
