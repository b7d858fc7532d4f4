"""Launches on the dashboard: the templates, a new launch (template, accounts, creatives,
options) checked and planned by core.launch.service.propose, approval, live progress (a JSON
endpoint polled by static/poll.js) and the history — the chat's launch use-cases
(bot/routers/launch.py) and texts (bot.views.launch); the background runner does the work."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.views import launch as launch_view
from bot.views import limits as limits_view
from core.billing.limits import LimitReached
from core.billing.plans import Catalogue
from core.launch import service
from core.launch.preflight import Issue
from web.chat import chat_html, in_language, page_number, signed_in
from web.render import id_of, not_found, page, path_id
from web.security import DEPS_KEY, USER

routes = web.RouteTableDef()
FINAL = ("done", "failed", "rejected", "expired")
MAX_PICKS = 200  # ids in one form (an account or creative list is never near it)


def _catalogue(request: web.Request) -> Catalogue | None:
    plans = request.app[DEPS_KEY].plans
    return plans.current() if plans is not None else None


def _ids(values: list[Any]) -> list[int]:
    return list(dict.fromkeys(i for v in values[:MAX_PICKS] if (i := id_of(v)) is not None))


async def _new(request: web.Request, status: int = 200, picked: dict[str, Any] | None = None,
               issues: list[Issue] | None = None, error: Any = None) -> web.Response:
    """The launches page: a new launch's form (with what pre-flight or the plan refused, next
    to the account or creative it concerns), the templates and the history."""
    deps, user = request.app[DEPS_KEY], request[USER]
    choices = await service.choices(deps.uow, user.id)
    rows, pages = await service.history(deps.uow, user.id, page_number(request))
    names = {a.id: a.name for a in choices.accounts}
    by_account: dict[int, list[Any]] = {}
    by_creative: dict[int, list[Any]] = {}
    general: list[Any] = []
    with in_language(request):
        for issue in issues or []:
            text = chat_html(launch_view.issue_text(issue, names))
            if issue.creative_id is not None:
                by_creative.setdefault(issue.creative_id, []).append(text)
            elif issue.account_id is not None:
                by_account.setdefault(issue.account_id, []).append(text)
            else:
                general.append(text)
        empty_templates = chat_html(launch_view.choose_template(choices)[0]) \
            if not choices.templates else None
    history = [(launch, sum(counts.values()), counts.get("created", 0))
               for launch, counts in rows]
    return page(request, "launches.html", status=status, choices=choices,
                picked=picked or {"t": None, "a": [], "c": [], "on": True, "when": ""},
                by_account=by_account, by_creative=by_creative, general=general,
                error=error, empty_templates=empty_templates, history=history,
                page_no=page_number(request), pages=pages, can_launch=deps.tiktok is not None)


@routes.get("/launches")
async def launches_page(request: web.Request) -> web.StreamResponse:
    """Templates, a new launch, and the history."""
    signed_in(request)
    return await _new(request)


@routes.post("/launches/plan")
async def plan_post(request: web.Request) -> web.StreamResponse:
    """Pre-flight and the plan to approve (nothing is created yet); the problems next to their
    fields; a plan limit said as the chat says it. Ids not the user's: 404."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    if deps.tiktok is None:
        raise web.HTTPServiceUnavailable()
    form = await request.post()
    template = str(form.get("template", ""))
    picked = {"t": id_of(template),
              "a": _ids(form.getall("accounts", [])), "c": _ids(form.getall("creatives", [])),
              "on": str(form.get("enabled", "")) == "1", "when": str(form.get("when", ""))[:32]}
    if picked["t"] is None or not picked["a"] or not picked["c"]:
        with in_language(request):
            missing = (_("Choose a template.") if picked["t"] is None
                       else _("Choose at least one ad account.") if not picked["a"]
                       else _("Choose at least one creative."))
        return await _new(request, 422, picked, error=missing)
    run_at = None
    if picked["when"].strip():
        run_at = service.parse_when(picked["when"], deps.clock.now(), user.time_zone)
        if run_at is None:
            with in_language(request):
                return await _new(request, 422, picked,
                                  error=chat_html(launch_view.bad_when()))
    req = service.Request(picked["t"], picked["a"], picked["c"], picked["on"], run_at)
    try:
        result = await service.propose(deps.uow, deps.clock, deps.tiktok, user.id, req,
                                       _catalogue(request))
    except LimitReached as exc:
        with in_language(request):
            return await _new(request, 409, picked,
                              error=chat_html(limits_view.explain(exc.hit)))
    if result is None:  # a template, account or creative that is not the user's
        raise not_found(request)
    if isinstance(result, list):
        return await _new(request, 422, picked, issues=result)
    choices = await service.choices(deps.uow, user.id)
    names = {a.id: a.name for a in choices.accounts}
    with in_language(request):
        text = chat_html(launch_view.proposal(result.launch, result.summary, names,
                                              user.time_zone, result.warnings, result.twin)[0])
    detail = await service.detail(deps.uow, user.id, result.launch.id)
    if detail is None:  # deleted meanwhile
        raise not_found(request)
    return page(request, "launch.html", launch=result.launch, text=text, detail=detail,
                final=False, said=None, progress=_progress(detail))


def _progress(detail: service.Detail) -> dict[str, Any]:
    counts = Counter(i.state for i in detail.items)
    done = counts.get("created", 0) + counts.get("failed", 0)
    return {"state": detail.launch.state, "done": done, "total": len(detail.items),
            "created": counts.get("created", 0), "failed": counts.get("failed", 0),
            "final": detail.launch.state in FINAL}


def _launch_id(request: web.Request) -> int:
    return path_id(request, "launch_id")


@routes.get("/launches/{launch_id:\\d+}")
async def launch_page(request: web.Request) -> web.StreamResponse:
    """One launch: the plan waiting for approval, the progress while it runs (live), or what
    it created and what failed."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    detail = await service.detail(deps.uow, user.id, _launch_id(request))
    if detail is None:
        raise not_found(request)
    state = detail.launch.state
    with in_language(request):
        if state in ("done", "failed"):
            text = chat_html(launch_view.finished(detail)[0])
        elif state == "proposed":
            text = chat_html(launch_view.detail(detail, 0, user.time_zone)[0])
        else:
            text = chat_html(launch_view.decided(detail.launch, user.time_zone))
    return page(request, "launch.html", launch=detail.launch, text=text, detail=detail,
                final=state in FINAL, said=request.query.get("said"),
                progress=_progress(detail))


@routes.get("/launches/{launch_id:\\d+}/progress.json")
async def progress_json(request: web.Request) -> web.StreamResponse:
    """The launch's state and items done of total, for the page's poll."""
    if request[USER] is None:
        raise web.HTTPUnauthorized()
    deps = request.app[DEPS_KEY]
    detail = await service.detail(deps.uow, request[USER].id, _launch_id(request))
    if detail is None:
        raise not_found(request)
    return web.json_response(_progress(detail))


@routes.post("/launches/{launch_id:\\d+}/{decision:approve|reject}")
async def decide(request: web.Request) -> web.StreamResponse:
    """Approve (once: a press here or in the chat, whichever first) or reject; the plan's
    limits are checked again on approval, as in the chat."""
    signed_in(request)
    deps, user = request.app[DEPS_KEY], request[USER]
    launch_id = _launch_id(request)
    if request.match_info["decision"] == "approve":
        try:
            outcome, launch = await service.approve(deps.uow, deps.clock, user.id, launch_id,
                                                    None, _catalogue(request))
        except LimitReached as exc:
            detail = await service.detail(deps.uow, user.id, launch_id)
            if detail is None:
                raise not_found(request) from None
            with in_language(request):
                text = chat_html(limits_view.explain(exc.hit))
            return page(request, "launch.html", status=409, launch=detail.launch, text=text,
                        detail=detail, final=False, said=None, progress=_progress(detail))
    else:
        outcome, launch = await service.reject(deps.uow, deps.clock, user.id, launch_id)
    if launch is None:
        raise not_found(request)
    raise web.HTTPSeeOther(f"/app/launches/{launch_id}?said={outcome.value}")
