"""The template editor on the dashboard: every field of a template on one page, applied
through the chat builder's own steps (web/template_form.py → core.templates.draft) and saved by
core.templates.service.save (the chat's whole-template check); what is wrong is said next to
its field in the chat's words (bot.views.template_text)."""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.views import audience_picker
from bot.views import template_text as words
from bot.views import templates as templates_view
from bot.views.audiences import audience_status
from core import audiences
from core.feature_access import FeatureError
from core.features import is_on
from core.templates import draft, service
from core.templates.model import Template
from core.templates.validate import Problem
from core.tiktok import ScopeMissingError, TikTokError
from web import template_form as form_of
from web.chat import chat_html, in_language, signed_in
from web.render import id_of, not_found, page, path_id
from web.security import DEPS_KEY, USER

routes = web.RouteTableDef()
TEXTAREAS = frozenset({"txt", "loc"})
MULTI = frozenset(form_of.GROUP_MULTI)
CHOICES = frozenset((*form_of.TOP_CHOICES, *form_of.GROUP_CHOICES))


def _field(t: Template, key: str, g: int | None, errors: dict[str, list[Problem]],
           raw: dict[str, str]) -> dict[str, Any]:
    at = g or 0
    name = form_of.name_of(key, g)
    path = draft.path_of(key, at)
    label = words.field_label(path, t).split(" › ")[-1]
    out: dict[str, Any] = {"name": name, "key": key, "label": chat_html(label),
                           "errors": [chat_html(words.problem_what(p))
                                      for p in errors.get(name, [])]}
    if key == "cmt":
        out.update(kind="check", value=bool(form_of.current(t, key, at)))
    elif key in CHOICES or key in MULTI:
        chosen = form_of.current(t, key, at)
        picked = set(chosen) if key in MULTI else {chosen}
        out.update(kind="multi" if key in MULTI else "select",
                   options=[(v, words.choice_name(v), v in picked)
                            for v in form_of.choices_of(t, key, at)])
    else:
        value = raw[name] if name in raw and out["errors"] else form_of.shown(t, key, at)
        out.update(kind="textarea" if key in TEXTAREAS else "text", value=value)
    return out


async def _offered(request: web.Request) -> list[audiences.AccountAudiences] | None:
    """Each tracked ad account's audiences, read live; None while the user's audiences switch
    is off (then TikTok is asked nothing) or TikTok is not configured."""
    deps, user = request.app[DEPS_KEY], request[USER]
    if not is_on(user, audiences.FEATURE) or deps.tiktok is None:
        return None
    async with deps.uow() as u:
        accounts = list(await u.connections.accounts(user.id, tracked_only=True))
    out = []
    for account in accounts:
        try:
            out.append(await audiences.account_audiences(deps.uow, deps.tiktok, user.id,
                                                         account.id))
        except (FeatureError, ScopeMissingError, TikTokError):
            continue  # this account's audiences cannot be read now: its picks stay as they are
    return out


def _audience_cards(t: Template, offered: list[audiences.AccountAudiences] | None
                    ) -> dict[int, list[tuple[str, list[tuple[str, str, str]]]]]:
    """Per ad group: (ad account, [(select name, audience label, its mode)]) to pick with."""
    cards: dict[int, list[tuple[str, list[tuple[str, str, str]]]]] = {}
    for g in range(len(t.adgroups)):
        cards[g] = [
            (found.account.name, [
                (form_of.audience_name(g, found.account.id, a.audience_id),
                 f"{a.name} · {audience_status(a)}",
                 draft.audience_mode(t, g, found.account.advertiser_id, a.audience_id))
                for a in found.audiences])
            for found in offered or [] if found.audiences]
    return cards


def _render(request: web.Request, t: Template, template_id: int | None,
            problems: list[Problem] | None = None, raw: dict[str, str] | None = None,
            status: int = 200, general: list[str] | None = None,
            offered: list[audiences.AccountAudiences] | None = None) -> web.Response:
    with in_language(request):
        at, rest = form_of.place_problems(t, problems or [], len(t.adgroups))
        raw = raw or {}
        top = [("", ["name"]), (words.field_label("campaign"), ["obj", "cbm", "cb"]),
               (words.field_label("ad"), ["txt", "cta", "url", "idn"]),
               (words.field_label("naming"), ["nc", "ng", "na"])]
        sections = [(chat_html(title), [_field(t, k, None, at, raw) for k in keys])
                    for title, keys in top]
        keys = ("geo", "loc", "lang", "gen", "age", "pt", "pl", "goal", "ev", "bill", "bt",
                "bid", "gbm", "gb", "st", "days", "pace", "cmt")
        groups = [(g, chat_html(words.field_label(f"adgroups[{g}]", t)),
                   [_field(t, k, g, at, raw) for k in keys]) for g in range(len(t.adgroups))]
        # Picks per ad account: a select per audience of each tracked account (read live);
        # with the switch off only what was picked is said (a save leaves the picks be).
        off = "\n" + audience_picker.feature_off(0)[0] if offered is None else ""
        audience_notes = {g: chat_html(audience_picker.picks_note(t.adgroups[g]) + off)
                          for g in range(len(t.adgroups))}
        audience_cards = _audience_cards(t, offered)
        modes = [("i", _("Include")), ("x", _("Exclude")), ("o", _("Off"))]
        new_errors = {k: [chat_html(words.problem_what(p)) for p in at.get(f"new.{k}", [])]
                      for k in ("geo", "loc")}
        notes = [chat_html(x) for x in general or []]
        notes += [chat_html(words.problem_line(p, t)) for p in rest]
        macros = {level: words.macros_hint(level) for level in ("campaign", "adgroup", "ad")}
    return page(request, "template.html", status=status, draft=t, template_id=template_id,
                sections=sections, groups=groups, new_errors=new_errors, notes=notes,
                audience_notes=audience_notes, audience_cards=audience_cards, modes=modes,
                raw=raw, macros=macros, said=request.query.get("said"))


@routes.get("/templates/new")
async def new_template(request: web.Request) -> web.StreamResponse:
    """An empty template (the chat builder's defaults)."""
    signed_in(request)
    return _render(request, draft.blank(), None, offered=await _offered(request))


@routes.get("/templates/{template_id:\\d+}")
async def edit_template(request: web.Request) -> web.StreamResponse:
    """One of the user's templates, every field editable."""
    signed_in(request)
    deps = request.app[DEPS_KEY]
    row = await service.get(deps.uow, request[USER].id, path_id(request, "template_id"))
    if row is None:
        raise not_found(request)
    return _render(request, service.load(row), row.id, offered=await _offered(request))


@routes.post("/templates/save")
async def save(request: web.Request) -> web.StreamResponse:
    """Apply the form field by field, then save after the whole-template check; the form again
    with each problem next to its field, or on to the saved template."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    posted = await request.post()
    raw = {k: str(v) for k, v in posted.items() if isinstance(v, str)}
    raw_id = raw.get("template_id", "")
    template_id = id_of(raw_id)
    base = draft.blank()
    if template_id is not None:
        row = await service.get(deps.uow, user.id, template_id)
        if row is None:
            raise not_found(request)
        base = service.load(row)
    applied = form_of.apply(base, raw, lambda name: [str(v) for v in posted.getall(name, [])])
    offered = await _offered(request)
    # Audience ids posted are re-checked: the user's own account, an audience it has now.
    applied.template = form_of.apply_audiences(applied.template, raw, {
        f.account.id: (f.account.advertiser_id, frozenset(a.audience_id for a in f.audiences))
        for f in offered or []})
    if applied.problems:
        return _render(request, applied.template, template_id, applied.problems, raw, 422,
                       offered=offered)
    try:
        saved = await service.save(deps.uow, user.id, applied.template, template_id)
    except service.TemplateInvalid as exc:
        return _render(request, applied.template, template_id, exc.problems, raw, 422,
                       offered=offered)
    except service.TemplateNameTaken as exc:
        with in_language(request):
            said = templates_view.name_taken(exc.name)
        return _render(request, applied.template, template_id, None, raw, 409, [said],
                       offered)
    except service.TooManyTemplates as exc:
        with in_language(request):
            said = templates_view.too_many(exc.limit)
        return _render(request, applied.template, template_id, None, raw, 409, [said],
                       offered)
    except service.TemplateNotFound:
        raise not_found(request) from None
    raise web.HTTPSeeOther(f"/app/templates/{saved.id}?said=saved")
