"""Settings on the dashboard: language, time zone, email, news consent, quiet hours, the
optional TikTok features; the same core.users / core.features use-cases (and audit) as the
chat's /settings (bot/routers/settings.py). Signing out is web/auth_routes.py's."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.views import permissions as permissions_view
from bot.views import settings as settings_view
from bot.views import signup as signup_view
from bot.views.common import LANGUAGE_NAMES, zone_label
from core.features import FEATURES, enabled, grants, set_feature
from core.timezones import COMMON, parse_time_zone
from core.users import (
    InvalidValue,
    set_email,
    set_language,
    set_marketing,
    set_quiet_hours,
    set_time_zone,
)
from web.chat import chat_html, in_language, signed_in
from web.render import page
from web.security import DEPS_KEY, USER

routes = web.RouteTableDef()
MAX_FIELD = 256


async def _form(request: web.Request) -> dict[str, str]:
    form = await request.post()
    return {k: str(v)[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}


async def _settings(request: web.Request, status: int = 200, said: str | None = None,
                    error: dict[str, object] | None = None) -> web.Response:
    deps, user = request.app[DEPS_KEY], request[USER]
    now = deps.clock.now()
    found = await grants(deps.uow, user.id)
    on = enabled(user)
    with in_language(request):
        zones = [(z, zone_label(z, now)) for z in dict.fromkeys((user.time_zone, *COMMON))]
        features_text = chat_html(permissions_view.features(user, found)[0])
        quiet = [(key, _("No quiet hours") if start is None else f"{start:02d}:00–{end:02d}:00")
                 for key, (start, end) in settings_view.QUIET.items()]
        overview = chat_html(settings_view.overview(user, now)[0])
        names = {f: permissions_view.group_name(f) for f in FEATURES}
    current_quiet = next((k for k, v in settings_view.QUIET.items()
                          if v == (user.quiet_from, user.quiet_to)), "")
    return page(request, "settings.html", status=status, said=said or request.query.get("said"),
                error=error or {}, zones=zones, languages=LANGUAGE_NAMES, quiet=quiet,
                current_quiet=current_quiet, features=FEATURES, on=on, names=names,
                features_text=features_text, overview=overview)


@routes.get("/settings")
async def settings_page(request: web.Request) -> web.StreamResponse:
    """Every setting with its form, and signing out (here or everywhere)."""
    signed_in(request)
    return await _settings(request)


def _saved() -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/app/settings?said=saved")


@routes.post("/settings/language")
async def language_post(request: web.Request) -> web.StreamResponse:
    """The interface language (the chat's too)."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    try:
        await set_language(deps.uow, deps.clock, request[USER].id,
                           (await _form(request)).get("language", ""))
    except InvalidValue:
        return await _settings(request, 422, error={"language": "bad"})
    raise _saved()


@routes.post("/settings/zone")
async def zone_post(request: web.Request) -> web.StreamResponse:
    """A listed time zone, or a typed city or offset (core.timezones.parse_time_zone)."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    form = await _form(request)
    typed = form.get("typed", "").strip()
    zone = parse_time_zone(typed) if typed else form.get("zone", "")
    try:
        await set_time_zone(deps.uow, deps.clock, request[USER].id, zone or "")
    except InvalidValue:
        with in_language(request):
            message = chat_html(signup_view.bad_time_zone())
        return await _settings(request, 422, error={"zone": message, "typed": typed})
    raise _saved()


@routes.post("/settings/email")
async def email_post(request: web.Request) -> web.StreamResponse:
    """Set (validated) or remove the email address."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    form = await _form(request)
    text = None if "remove" in form else form.get("email", "")
    try:
        await set_email(deps.uow, deps.clock, request[USER].id, text)
    except InvalidValue:
        return await _settings(request, 422, error={"email": "bad", "typed": text or ""})
    raise _saved()


@routes.post("/settings/news")
async def news_post(request: web.Request) -> web.StreamResponse:
    """Give or withdraw consent to news and offers."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    value = (await _form(request)).get("news")
    if value not in ("on", "off"):
        return await _settings(request, 422)
    await set_marketing(deps.uow, deps.clock, request[USER].id, value == "on")
    raise _saved()


@routes.post("/settings/quiet")
async def quiet_post(request: web.Request) -> web.StreamResponse:
    """Quiet hours: one of the chat's choices."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    key = (await _form(request)).get("quiet", "")
    if key not in settings_view.QUIET:
        return await _settings(request, 422)
    start, end = settings_view.QUIET[key]
    await set_quiet_hours(deps.uow, deps.clock, request[USER].id, start, end)
    raise _saved()


@routes.post("/settings/feature")
async def feature_post(request: web.Request) -> web.StreamResponse:
    """Switch one optional TikTok feature on or off (audited, as in the chat)."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    form = await _form(request)
    feature, turn = form.get("feature", ""), form.get("turn", "")
    if feature not in FEATURES or turn not in ("on", "off"):
        return await _settings(request, 422)
    await set_feature(deps.uow, deps.clock, request[USER].id, feature, turn == "on")
    raise web.HTTPSeeOther("/app/settings?said=saved#features")
