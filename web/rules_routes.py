"""Rules on the dashboard: the list with on/off, the text form (live parse errors through a JSON
endpoint running the chat's parser), preview, backtest with a chart and the run log — through
core.rules.service / backtest exactly as the chat's rules router (bot/routers/rules.py) does."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from markupsafe import Markup

from bot.callbacks import RulesCb
from bot.views import limits as limits_view
from bot.views import rule_checks as checks_view
from bot.views import rules as rules_view
from core.billing.limits import LimitReached, plan_of
from core.billing.plans import Catalogue
from core.rules import service
from core.rules.backtest import backtest
from core.rules.schedule import at_cadence
from core.rules.settings import RuleSettings
from core.rules.text import RuleSyntaxError
from web.render import id_of, not_found, page, path_id
from web.security import DEPS_KEY, USER

routes = web.RouteTableDef()
RUNS_PER_PAGE = 20
BACKTEST_DAYS = (7, 14, 30)  # the chat's choices
MAX_TEXT = 2000  # the parser refuses long rules itself; this only bounds the request


def _signed_in(request: web.Request) -> None:
    if request[USER] is None:
        raise web.HTTPSeeOther("/app/")


def _catalogue(request: web.Request) -> Catalogue | None:
    plans = request.app[DEPS_KEY].plans
    return plans.current() if plans is not None else None


def _rule_id(request: web.Request) -> int:
    return path_id(request, "rule_id")


def _chat_html(text: str) -> Markup:
    """A text the chat's views wrote (Telegram HTML: <b>, <i>, <code>, values already escaped
    by them) shown as it is; the page keeps its line breaks (CSS white-space: pre-line)."""
    return Markup(text)  # escaped by the chat's views, which send it to Telegram


def explain_error(text: str, exc: Exception) -> dict[str, Any]:
    """Why a typed rule cannot be saved, in the reader's language: a syntax error with its
    column (1-based) and what would fit there, or a rule that parses but cannot work."""
    if isinstance(exc, RuleSyntaxError):
        col = max(1, min(exc.column, len(text) + 1))
        return {"ok": False, "column": col,
                "message": _("At column {col}: expected {expected}.").format(
                    col=col, expected=rules_view.expected_words(exc)),
                "before": text[:col - 1], "after": text[col - 1:]}
    reason = exc.reason if isinstance(exc, service.RuleInvalid) else str(exc)
    return {"ok": False, "column": None, "message": rules_view.invalid(reason)}


@routes.get("/rules")
async def rules_list(request: web.Request) -> web.StreamResponse:
    """The user's rules, each with on/off."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    rules = await service.rules_of(deps.uow, request[USER].id)
    return page(request, "rules.html", rules=rules, said=request.query.get("said"), limit=None)


@routes.post("/rules/{rule_id:\\d+}/{switch:on|off}")
async def toggle(request: web.Request) -> web.StreamResponse:
    """Switch a rule on or off; one more rule on than the plan allows is refused as in the
    chat (the limit's explanation is shown)."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    user = request[USER]
    on = request.match_info["switch"] == "on"
    try:
        rule = await service.set_enabled(deps.uow, deps.clock, user.id, _rule_id(request), on,
                                         _catalogue(request))
    except LimitReached as exc:
        rules = await service.rules_of(deps.uow, user.id)
        with deps.i18n.context(), deps.i18n.use_locale(user.language):
            limit = _chat_html(limits_view.explain(exc.hit))
        return page(request, "rules.html", status=409, rules=rules, said=None, limit=limit)
    if rule is None:
        raise not_found(request)
    raise web.HTTPSeeOther(f"/app/rules?said={'on' if on else 'off'}")


@routes.post("/rules/check")
async def check(request: web.Request) -> web.StreamResponse:
    """The live check of the form (static/rule_form.js): the chat's parser and checks on the
    typed text; JSON with the canonical text, or the error and its column."""
    _signed_in(request)
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    try:
        text = str((await request.json())["text"])[:MAX_TEXT]
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest() from None
    deps = request.app[DEPS_KEY]
    with deps.i18n.context(), deps.i18n.use_locale(request[USER].language):
        try:
            return web.json_response({"ok": True, "canonical": service.canonical(text)})
        except (RuleSyntaxError, service.RuleInvalid) as exc:
            return web.json_response(explain_error(text, exc))


async def _form(request: web.Request, rule_id: int | None, text: str, name: str,
                error: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    deps = request.app[DEPS_KEY]
    user = request[USER]
    rule = await service.get(deps.uow, user.id, rule_id) if rule_id is not None else None
    log = await service.runs(deps.uow, user.id, rule_id, RUNS_PER_PAGE, 0) if rule else None
    runs, total = log or ([], 0)
    return page(request, "rule.html", status=status, rule=rule, text=text, name=name,
                error=error, runs=runs, total=total, said=request.query.get("said"))


async def _unusable(request: web.Request, rule_id: int, text: str,
                    exc: Exception) -> web.Response:
    """The rule's form with why its text cannot run (to fix it there)."""
    deps = request.app[DEPS_KEY]
    with deps.i18n.context(), deps.i18n.use_locale(request[USER].language):
        error = explain_error(text, exc)
    return await _form(request, rule_id, text, "", error, status=422)


@routes.get("/rules/new")
async def new_rule(request: web.Request) -> web.StreamResponse:
    """An empty form for a new rule."""
    _signed_in(request)
    return await _form(request, None, "", "")


@routes.get("/rules/{rule_id:\\d+}")
async def edit_rule(request: web.Request) -> web.StreamResponse:
    """One rule: its text to edit, preview, backtest and its run log."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    rule = await service.get(deps.uow, request[USER].id, _rule_id(request))
    if rule is None:
        raise not_found(request)
    draft = service.draft_of(rule)
    return await _form(request, rule.id, rule.text, draft.name)


@routes.post("/rules/save")
async def save(request: web.Request) -> web.StreamResponse:
    """Create a rule (switched off, as in the chat) or save an edit of one of the user's
    rules; an unparsable text comes back with its error."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    user = request[USER]
    form = await request.post()
    text = str(form.get("text", ""))[:MAX_TEXT]
    name = str(form.get("name", "")).strip()
    raw_id = str(form.get("rule_id", ""))
    rule_id = id_of(raw_id)
    settings = RuleSettings()
    if rule_id is not None:
        rule = await service.get(deps.uow, user.id, rule_id)
        if rule is None:
            raise not_found(request)
        settings = service.draft_of(rule).settings  # the chat's settings stay as they were
    draft = service.Draft(text, settings, name, rule_id)
    try:
        saved = await service.save(deps.uow, deps.clock, user.id, draft, _catalogue(request))
    except (RuleSyntaxError, service.RuleInvalid) as exc:
        with deps.i18n.context(), deps.i18n.use_locale(user.language):
            error = explain_error(text, exc)
        return await _form(request, rule_id, text, name, error, status=422)
    raise web.HTTPSeeOther(f"/app/rules/{saved.id}?said=saved")


@routes.get("/rules/{rule_id:\\d+}/preview")
async def preview(request: web.Request) -> web.StreamResponse:
    """What the rule matches right now (nothing is changed): the chat's preview."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    user = request[USER]
    rule = await service.get(deps.uow, user.id, _rule_id(request))
    if rule is None:
        raise not_found(request)
    try:
        ev = await service.preview(deps.uow, deps.clock, user.id, service.draft_of(rule))
    except (RuleSyntaxError, service.RuleInvalid) as exc:  # a rule saved by an older parser
        return await _unusable(request, rule.id, rule.text, exc)
    async with deps.uow() as u:
        tracked = await u.connections.accounts(user.id, tracked_only=True)
    currencies = {a.id: a.currency for a in tracked}
    with deps.i18n.context(), deps.i18n.use_locale(user.language):
        text = _chat_html(checks_view.preview(ev, currencies, user.time_zone))
    return page(request, "rule_check.html", rule=rule, text=text, chart_json=None)


@routes.get("/rules/{rule_id:\\d+}/backtest")
async def backtest_page(request: web.Request) -> web.StreamResponse:
    """What the rule would have done over 7, 14 or 30 days, run at no faster a cadence than the
    plan allows (as the chat's backtest); a chart of its firings per day."""
    _signed_in(request)
    deps = request.app[DEPS_KEY]
    user = request[USER]
    rule = await service.get(deps.uow, user.id, _rule_id(request))
    if rule is None:
        raise not_found(request)
    days = int(request.query.get("days", "7")) if request.query.get("days") in ("7", "14",
                                                                                 "30") else 7
    draft = service.draft_of(rule)
    catalogue = _catalogue(request)
    settings = draft.settings
    if catalogue is not None:
        floor = (await plan_of(deps.uow, catalogue, deps.clock, user.id)).limits
        settings = replace(settings, schedule=at_cadence(settings.schedule,
                                                         floor.rule_every_minutes))
    try:
        service.check(draft.text)
    except (RuleSyntaxError, service.RuleInvalid) as exc:  # a rule saved by an older parser
        return await _unusable(request, rule.id, rule.text, exc)
    async with deps.uow() as u:
        result = await backtest(u, user.id, draft.text, settings, deps.clock.now(), days)
    with deps.i18n.context(), deps.i18n.use_locale(user.language):
        # The chat's text (its keyboard is dropped: the page has its own links).
        text = _chat_html(checks_view.backtest(
            result, days, user.time_zone, lambda d: RulesCb(a="bt", id=rule.id, v=d),
            RulesCb(a="view", id=rule.id))[0])
    # Firings per local day of the user (the newest FIRINGS_SHOWN the backtest lists).
    zone = ZoneInfo(user.time_zone)
    per_day = Counter(f.at.astimezone(zone).date().isoformat() for f in result.firings)
    today = deps.clock.now().astimezone(zone).date()
    # The replayed days are each account's own; in the user's zone they may spill a day over.
    seen = sorted(per_day)
    first = min([(today - timedelta(days=days)).isoformat(), *seen[:1]])
    last = max([(today - timedelta(days=1)).isoformat(), *seen[-1:]])
    span = (date.fromisoformat(last) - date.fromisoformat(first)).days
    axis = [(date.fromisoformat(first) + timedelta(days=n)).isoformat() for n in range(span + 1)]
    chart = {"days": axis, "firings": [per_day.get(d, 0) for d in axis]}
    return page(request, "rule_check.html", rule=rule, text=text, days=days,
                choices=BACKTEST_DAYS, chart_json=json.dumps(chart))
