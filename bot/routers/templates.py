"""Templates: the Launch hub, the list, one template (edit, duplicate, export, delete), the
guided builder and field-by-field editing of a draft, and import of an exported file.

Template ids in buttons are lookup keys only, re-checked against the presser; the draft lives
in the presser's own conversation state (as the versioned JSON document)."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks import MenuCb, TemplatesCb, TplEditCb
from bot.filters import TYPED
from bot.routers import audience_picker
from bot.routers import catalogs as catalog_steps
from bot.routers.menu import sign_up_first
from bot.screens import plain, show
from bot.states import TemplateStates
from bot.views import Screen, launch_hub
from bot.views import template_text as tpl_text
from bot.views import templates as view
from bot.views.common import stale
from core.templates import draft as fields
from core.templates import service
from core.templates.document import TemplateImportError, parse_document, to_document
from core.templates.model import PIXEL_GOALS, Template
from core.tiktok import TikTokClient
from core.trackers.connect import list_trackers
from core.trackers.mapping import landing_suffix
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="templates")
DRAFT, ASK = "tpl_draft", "tpl_ask"
# The guided builder's steps, in order; the rest keeps its defaults until edited.
GUIDE = ("name", "obj", "cbm", "cb", "loc", "gb", "ev", "txt", "url", "idn", "cta")
_CAMPAIGN = frozenset({"obj", "cbm", "cb"})
_AD = frozenset({"txt", "cta", "url", "idn"})
_NAMES = frozenset({"nc", "ng", "na"})


@dataclass(frozen=True)
class Draft:
    """A template being built or edited (template_id: the saved one it replaces)."""

    template: Template
    template_id: int | None = None
    guide: int | None = None  # the index in GUIDE while the guided builder runs


class Stale(Exception):
    """A button or typed value that no longer fits the draft."""


# Draft in the conversation state ------------------------------------------------------------


async def _get(state: FSMContext) -> Draft | None:
    raw = (await state.get_data()).get(DRAFT)
    if not raw:
        return None
    try:
        template = parse_document(raw["doc"])
    except (TemplateImportError, KeyError, TypeError):
        return None
    return Draft(template, raw.get("id"), raw.get("guide"))


async def _put(state: FSMContext, d: Draft) -> None:
    doc = {"doc": to_document(d.template), "id": d.template_id, "guide": d.guide}
    await state.update_data({DRAFT: doc})


async def _leave_typing(state: FSMContext) -> None:
    """Stop waiting for a typed value or a file (the draft, if any, stays)."""
    if (await state.get_state() or "").startswith("TemplateStates"):
        await state.set_state(None)


async def _close(state: FSMContext) -> None:
    """Forget the draft and leave any templates typing state (other flows' data stays)."""
    await state.update_data({DRAFT: None, ASK: None})
    await _leave_typing(state)


# The guided builder -------------------------------------------------------------------------


def _applies(step: str, t: Template) -> bool:
    if step == "cb":
        return t.campaign.budget_mode != "BUDGET_MODE_INFINITE"
    if step == "gb":
        return bool(t.adgroups)
    if step == "ev":
        return bool(t.adgroups) and t.adgroups[0].optimization_goal in PIXEL_GOALS
    return True


def _step(d: Draft) -> tuple[int, int] | None:
    """(this step's number, how many steps) while guided."""
    if d.guide is None:
        return None
    steps = [i for i, s in enumerate(GUIDE) if _applies(s, d.template) or i == d.guide]
    return steps.index(d.guide) + 1, len(steps)


def _advance(d: Draft) -> Draft:
    """The draft at its next guided step (guide None after the last)."""
    if d.guide is None:
        return d
    for i in range(d.guide + 1, len(GUIDE)):
        if _applies(GUIDE[i], d.template):
            return replace(d, guide=i)
    return replace(d, guide=None)


def _keepable(t: Template, field: str, g: int) -> bool:
    """Whether the field already holds a valid value (a guided step may keep it)."""
    if field in fields.GROUP_FIELDS and g >= len(t.adgroups):
        return False
    value = fields.value_of(t, field, g)
    if value is None or value == "" or value == ():
        return False
    return not fields.problems_at(t, fields.path_of(field, g))


async def _open_field(
    event: Message | CallbackQuery, state: FSMContext, d: Draft, field: str, g: int
) -> None:
    """Show one field's screen: a choice, a multi-select, the geo picker or a typing prompt."""
    t, step = d.template, _step(d)
    if field in fields.GROUP_FIELDS and not 0 <= g <= len(t.adgroups):
        raise Stale(field)
    if field in fields.GROUP_FIELDS and field != "loc" and g == len(t.adgroups):
        raise Stale(field)
    if field == "loc":
        await state.set_state(None)
        await show(event, view.geo_screen(t, g, step))
        return
    if field in fields.CHOICE_FIELDS | fields.MULTI_FIELDS or field == "ev":
        await state.set_state(None)
        await show(event, view.choice_screen(t, field, g, step))
        return
    await _ask(event, state, d, field, g)


async def _ask(
    event: Message | CallbackQuery,
    state: FSMContext,
    d: Draft,
    field: str,
    g: int,
    extra: dict[str, Any] | None = None,
) -> None:
    """Wait for a typed value of a field."""
    if field not in fields.TYPED_FIELDS:
        raise Stale(field)
    await state.set_state(TemplateStates.value)
    await state.update_data({ASK: {"f": field, "g": g, **(extra or {})}})
    keep = d.guide is not None and _keepable(d.template, field, g)
    await show(event, view.ask(d.template, field, g, _step(d), keep))


async def _continue(event: Message | CallbackQuery, state: FSMContext, d: Draft) -> None:
    """Show the guided step the draft is at, or the draft when the guide is over."""
    await _put(state, d)
    if d.guide is None:
        await state.set_state(None)
        await show(event, view.overview(d.template, d.template_id is not None))
        return
    field = GUIDE[d.guide]
    g = len(d.template.adgroups) if field == "loc" and not d.template.adgroups else 0
    await _open_field(event, state, d, field, g)


async def _after(
    event: Message | CallbackQuery, state: FSMContext, d: Draft, field: str, g: int
) -> None:
    """Where a set value leads: the next guided step, a value the choice needs, or the
    field's section."""
    if d.guide is not None:
        await _continue(event, state, _advance(d))
        return
    await _put(state, d)
    await state.set_state(None)
    t = d.template
    needs = {
        "cbm": ("cb", t.campaign.budget_mode != "BUDGET_MODE_INFINITE" and not t.campaign.budget),
    }
    if field in fields.GROUP_FIELDS and g < len(t.adgroups):
        grp = t.adgroups[g]
        needs["bt"] = ("bid", grp.bid_type == "BID_TYPE_CUSTOM" and grp.bid is None)
        needs["st"] = ("days", grp.schedule_type == "SCHEDULE_START_END")
    follow, needed = needs.get(field, ("", False))
    if needed:
        await _ask(event, state, d, follow, g)
        return
    await show(event, _section(t, field, g, d.template_id is not None))


def _section(t: Template, field: str, g: int, editing: bool) -> Screen:
    if field in fields.GROUP_FIELDS and g < len(t.adgroups):
        return view.group_screen(t, g)
    if field in fields.GROUP_FIELDS:
        return view.groups_screen(t)
    if field in _CAMPAIGN:
        return view.campaign_screen(t)
    if field in _AD:
        return view.ad_screen(t)
    if field in _NAMES:
        return view.names_screen(t)
    return view.overview(t, editing)


# Entry points -------------------------------------------------------------------------------


@router.callback_query(MenuCb.filter(F.section == "launch"))
async def launch_from_menu(query: CallbackQuery, db_user: User | None) -> None:
    """The Launch hub from the main menu."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    await show(query, launch_hub.hub())
    await query.answer()


@router.message(Command("templates"))
async def templates_command(
    message: Message, db_user: User | None, uow: UnitOfWorkFactory, state: FSMContext
) -> None:
    """/templates: the list."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await _leave_typing(state)
    await show(message, view.templates_list(await service.listing(uow, db_user.id)))


@router.callback_query(TemplatesCb.filter())
async def templates_action(
    query: CallbackQuery,
    callback_data: TemplatesCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    state: FSMContext,
    bot: Bot,
) -> None:
    """Every button of the list and of one template."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    a = callback_data.a
    if a == "list":
        await _leave_typing(state)
        await show(
            query, view.templates_list(await service.listing(uow, db_user.id, callback_data.n))
        )
    elif a == "new":
        await _close(state)
        await _continue(query, state, Draft(fields.blank(), None, 0))
    elif a == "imp":
        await state.set_state(TemplateStates.import_file)
        await show(query, view.ask_import())
    elif not await _template_action(query, callback_data, db_user, uow, state, bot):
        return
    await query.answer()


async def _template_action(
    query: CallbackQuery,
    cb: TemplatesCb,
    user: User,
    uow: UnitOfWorkFactory,
    state: FSMContext,
    bot: Bot,
) -> bool:
    """Actions on one template; False (said already) when it is not the presser's."""
    row = await service.get(uow, user.id, cb.id)
    if row is None:
        await query.answer(stale(), show_alert=True)
        return False
    try:
        if cb.a == "view":
            await show(query, view.template_view(row, user.time_zone))
        elif cb.a == "edit":
            await _close(state)
            d = Draft(service.load(row), row.id, None)
            await _put(state, d)
            await show(query, view.overview(d.template, True))
        elif cb.a == "dup":
            copy = await service.duplicate(uow, user.id, row.id)
            await show(query, view.template_view(copy, user.time_zone, view.duplicated(copy.name)))
        elif cb.a == "exp":
            data = await service.export_json(uow, user.id, row.id)
            document = BufferedInputFile(data, service.export_file_name(row.name))
            await bot.send_document(user.id, document, caption=view.export_caption(row.name))
        elif cb.a == "del":
            await show(query, view.confirm_delete(row))
        elif cb.a == "dely":
            await service.delete(uow, user.id, row.id)
            await show(query, view.templates_list(await service.listing(uow, user.id)))
            await query.answer(view.deleted(row.name))
            return False
        else:
            await query.answer(stale(), show_alert=True)
            return False
    except service.TooManyTemplates as exc:
        await query.answer(view.too_many(exc.limit), show_alert=True)
        return False
    except (service.TemplateNotFound, TemplateImportError):
        await query.answer(stale(), show_alert=True)
        return False
    return True


# The draft's buttons ------------------------------------------------------------------------


@router.callback_query(TplEditCb.filter())
async def draft_action(
    query: CallbackQuery,
    callback_data: TplEditCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    state: FSMContext,
    tiktok: TikTokClient | None,
) -> None:
    """Every button of the draft, its sections, choices and prompts."""
    d = await _get(state)
    if db_user is None or d is None:
        await query.answer(stale(), show_alert=True)
        return
    if (await state.get_state()) == TemplateStates.value.state:
        await state.set_state(None)  # a button instead of the value: the prompt is left
    try:
        if callback_data.a in ("cat", "catp", "catn"):  # the catalog product set (issue 17)
            if not await catalog_steps.template_step(query, callback_data, state, uow, db_user,
                                                     tiktok, d, _put):
                return
        elif callback_data.a in audience_picker.ACTIONS:  # audiences per ad account (issue 17)
            if not await audience_picker.template_step(query, callback_data, state, uow,
                                                       db_user, tiktok, d, _put):
                return
        elif not await _draft_step(query, callback_data, state, uow, db_user, d):
            return
    except (Stale, fields.UnknownField, ValueError, IndexError):
        await query.answer(stale(), show_alert=True)
        return
    await query.answer()


async def _draft_step(
    query: CallbackQuery,
    cb: TplEditCb,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    user: User,
    d: Draft,
) -> bool:
    """One draft button; False when it answered the press itself."""
    a, f, g, t = cb.a, cb.f, cb.g, d.template
    if a == "ov":
        d = replace(d, guide=None)
        await _put(state, d)
        await show(query, view.overview(t, d.template_id is not None))
    elif a == "sec":
        screens = {
            "camp": view.campaign_screen,
            "groups": view.groups_screen,
            "ad": view.ad_screen,
            "names": view.names_screen,
        }
        if f not in screens:
            raise Stale(f)
        await show(query, screens[f](t))
    elif a == "grp":
        if not 0 <= g < len(t.adgroups):
            raise Stale(a)
        await show(query, view.group_screen(t, g))
    elif a == "ask":
        await _open_field(query, state, d, f, g)
    elif a == "type" and f in ("ev", "loc"):
        await _ask(query, state, d, f, g)
    elif a == "pick":
        value = fields.choices(t, f, g)[_index(cb.v)]
        await _after(query, state, replace(d, template=fields.choose(t, f, g, value)), f, g)
    elif a in ("tog", "clr", "sw"):
        if a == "tog":
            index, on = _wanted_tick(cb.v)
            t = fields.tick(t, f, g, fields.choices(t, f, g)[index], on)
        elif a == "clr":
            t = fields.clear(t, f, g)
        elif cb.v in ("0", "1"):
            t = fields.switch(t, f, g, cb.v == "1")
        else:
            raise Stale(cb.v)
        await _put(state, replace(d, template=t))
        screen = view.group_screen(t, g) if a == "sw" else view.choice_screen(t, f, g)
        await show(query, screen)
    elif a == "done":
        await _after(query, state, d, f, g)
    elif a == "geo":
        code, location = fields.COMMON_GEOS[_index(cb.v)]
        typed = fields.place(t, g, code, (location,))
        if typed.problems:
            problem = plain(tpl_text.problem_line(typed.problems[0], t))
            await query.answer(problem[:190], show_alert=True)
            return False
        await _after(query, state, replace(d, template=typed.template), "loc", g)
    elif a == "keep" and d.guide is not None:
        await _continue(query, state, _advance(d))
    elif a == "rm":
        if not 0 <= g < len(t.adgroups):
            raise Stale(a)
        await show(query, view.confirm_remove(t, g))
    elif a == "rmy":
        t = fields.remove_group(t, g)
        await _put(state, replace(d, template=t))
        await show(query, view.groups_screen(t))
    elif a in ("sfx", "sfxa"):
        suffixes = await _tracker_suffixes(uow, user)
        if a == "sfx":
            await show(query, view.tracker_suffixes(t, suffixes))
            return True
        if not suffixes or not t.ad.landing_url:
            raise Stale(a)
        url = view.with_suffix(t.ad.landing_url, suffixes[0][1])
        typed = fields.type_in(t, "url", 0, url)
        if typed.problems:
            await query.answer(
                plain(tpl_text.problem_line(typed.problems[0], t))[:190], show_alert=True
            )
            return False
        d = replace(d, template=typed.template)
        await _put(state, d)
        await _ask(query, state, d, "url", 0)
    elif a == "save":
        await _save(query, state, uow, user, d)
        return False
    elif a == "cancel":
        await _close(state)
        await show(query, view.templates_list(await service.listing(uow, user.id)))
        await query.answer(view.cancelled())
        return False
    else:
        raise Stale(a)
    return True


async def _tracker_suffixes(uow: UnitOfWorkFactory, user: User) -> list[tuple[str, str]]:
    """(tracker name, landing-URL suffix) for each of the user's connected trackers."""
    trackers = await list_trackers(uow, user.id)
    return [(t.name or t.url, landing_suffix(t.kind)) for t in trackers]


def _wanted_tick(value: str) -> tuple[int, bool]:
    """A tick button's option index and wanted state ("3+" tick, "3-" untick)."""
    if len(value) < 2 or value[-1] not in "+-":
        raise Stale(value)
    return _index(value[:-1]), value[-1] == "+"


def _index(value: str) -> int:
    """A button's index into a list (a forged one is refused, not wrapped around)."""
    if not value.isascii() or not value.isdigit():
        raise Stale(value)
    return int(value)


async def _save(
    query: CallbackQuery, state: FSMContext, uow: UnitOfWorkFactory, user: User, d: Draft
) -> None:
    """Save the draft, or show what stops it."""
    editing = d.template_id is not None
    try:
        row = await service.save(uow, user.id, d.template, d.template_id)
    except service.TemplateInvalid as exc:
        await show(query, view.overview(d.template, editing, exc.problems))
        await query.answer()
        return
    except service.TemplateNameTaken as exc:
        await show(query, view.overview(d.template, editing, note=view.name_taken(exc.name)))
        await query.answer()
        return
    except service.TooManyTemplates as exc:
        await query.answer(view.too_many(exc.limit), show_alert=True)
        return
    except service.TemplateNotFound:
        await query.answer(stale(), show_alert=True)
        return
    await _close(state)
    await show(query, view.template_view(row, user.time_zone, view.saved()))
    await query.answer(view.saved())


# Typed values -------------------------------------------------------------------------------


@router.message(StateFilter(TemplateStates.value), TYPED)
async def typed_value(message: Message, state: FSMContext, db_user: User | None) -> None:
    """A typed field value: parsed and checked with the template rules, or said what is wrong."""
    d = await _get(state)
    ask = (await state.get_data()).get(ASK) or {}
    if db_user is None or d is None or "f" not in ask:
        await _close(state)
        await message.answer(stale())
        return
    t, field, g, text = d.template, str(ask["f"]), int(ask.get("g", 0)), message.text or ""
    try:
        if field == "loc" and g == len(t.adgroups):
            # A new geo by typed ids: check them, then ask for its label.
            ids, problems = fields.check_locations(t, g, text)
            if problems:
                await message.answer(tpl_text.typed_problems(problems, t))
                return
            await _ask(message, state, d, "geo", g, {"ids": list(ids)})
            return
        if field == "geo" and "ids" in ask:
            typed = fields.add_geo(t, text, tuple(str(i) for i in ask["ids"]))
            field = "loc"
        else:
            typed = fields.type_in(t, field, g, text)
    except fields.UnknownField:
        await _close(state)
        await message.answer(stale())
        return
    if typed.problems:
        await message.answer(tpl_text.typed_problems(typed.problems, t))
        return
    await state.update_data({ASK: None})
    await _after(message, state, replace(d, template=typed.template), field, g)


@router.message(StateFilter(TemplateStates.value), ~F.text)
async def typed_value_not_text(message: Message) -> None:
    """A photo, file or sticker where a value is expected."""
    await message.answer(view.typed_only())


# Import -------------------------------------------------------------------------------------


async def _import(
    message: Message, state: FSMContext, uow: UnitOfWorkFactory, user: User, data: bytes
) -> None:
    """Import the bytes as a template and show it, or say what is wrong (staying in import)."""
    try:
        row = await service.import_json(uow, user.id, data)
    except service.ImportRejected as exc:
        if exc.reason == "too_big":
            await message.answer(view.import_too_big())
        elif exc.reason == "not_json":
            await message.answer(view.import_not_json())
        else:
            await message.answer(view.import_invalid(exc.problems))
        return
    except service.TooManyTemplates as exc:
        await state.set_state(None)
        await message.answer(view.too_many(exc.limit))
        return
    except service.TemplateNameTaken as exc:  # the same name imported twice at once
        await message.answer(view.name_taken(exc.name))
        return
    await state.set_state(None)
    await show(message, view.template_view(row, user.time_zone, view.imported(row.name)))


@router.message(StateFilter(TemplateStates.import_file), F.document)
async def import_document(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory, bot: Bot
) -> None:
    """The exported file, sent as a document: downloaded (when small enough) and imported."""
    if db_user is None or message.document is None:
        return
    size = message.document.file_size or 0
    if size > service.IMPORT_MAX_BYTES:
        await message.answer(view.import_too_big())
        return
    buffer = io.BytesIO()
    await bot.download(message.document, destination=buffer)
    await _import(message, state, uow, db_user, buffer.getvalue())


@router.message(StateFilter(TemplateStates.import_file), TYPED)
async def import_text(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory
) -> None:
    """A document pasted as text is imported too; other text gets a hint."""
    text = message.text or ""
    if db_user is None or not text.lstrip().startswith("{"):
        await message.answer(view.import_send_file())
        return
    await _import(message, state, uow, db_user, text.encode("utf-8"))


@router.message(StateFilter(TemplateStates.import_file), ~F.text)
async def import_other(message: Message) -> None:
    """A photo, sticker or the like while a file is expected."""
    await message.answer(view.import_send_file())
