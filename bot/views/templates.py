"""Templates screens: the list, one template, import, the builder's draft and its sections,
choice and typing prompts (the template as text is in bot.views.template_text)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb, TemplatesCb, TplEditCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, cut, local_stamp, quoted
from bot.views.template_text import (
    TEXT_LIMIT,
    ad_lines,
    amount,
    campaign_lines,
    choice_name,
    geo_of,
    group_lines,
    listed,
    macros_hint,
    naming_lines,
    problems_text,
    summary,
)
from core.templates import draft as fields
from core.templates.document import TemplateImportError
from core.templates.model import PIXEL_GOALS, Template
from core.templates.service import IMPORT_MAX_BYTES, Listing, load
from core.templates.validate import Problem
from storage.models import Template as TemplateRow

# ---- the list and one template --------------------------------------------------------------


def _describe(row: TemplateRow) -> str:
    try:
        t = load(row)
    except TemplateImportError:
        return f"• <b>{quoted(row.name, 64)}</b>"
    geos = ", ".join(g.geo for g in t.adgroups[:6]) + (", …" if len(t.adgroups) > 6 else "")
    return _("• <b>{name}</b> — {objective} · {n} geo(s): {geos}").format(
        name=quoted(row.name, 64),
        objective=choice_name(t.campaign.objective_type),
        n=len(t.adgroups),
        geos=quoted(geos, 100),
    )


def templates_list(listing: Listing) -> Screen:
    """The user's templates with New and Import."""
    kb = InlineKeyboardBuilder()
    if not listing.total:
        text = _(
            "<b>📋 Templates</b>\n\nA template holds a campaign, its ad groups (one per geo), "
            "the ad and name patterns — set once, launched many times. Build one with "
            "buttons, or import a JSON file exported from TTPulse.\n\nYou have no templates yet."
        )
    else:
        text = (
            _("<b>📋 Templates</b> ({n})").format(n=listing.total)
            + "\n\n"
            + "\n".join(_describe(row) for row in listing.items)
        )
    rows = []
    for row in listing.items:
        kb.button(text=cut(row.name, 40), callback_data=TemplatesCb(a="view", id=row.id))
        rows.append(1)
    added = add_pager(kb, listing.page, listing.pages, lambda p: TemplatesCb(a="list", n=p))
    if added:
        rows.append(added)
    kb.button(text=_("➕ New template"), callback_data=TemplatesCb(a="new"))
    kb.button(text=_("📥 Import"), callback_data=TemplatesCb(a="imp"))
    kb.button(text=_("« Launch"), callback_data=MenuCb(section="launch"))
    kb.adjust(*rows, 2, 1)
    return text, kb.as_markup()


def template_view(row: TemplateRow, user_tz: str, note: str = "") -> Screen:
    """One saved template: every field, and what can be done with it."""
    kb = InlineKeyboardBuilder()
    head = f"<b>📋 {quoted(row.name, 64)}</b>"
    try:
        body = summary(load(row), TEXT_LIMIT - 400)
    except TemplateImportError as exc:
        body = _("This template cannot be read:") + "\n" + problems_text(exc.problems)
    text = "\n".join(
        [
            *([note, ""] if note else []),
            head,
            body,
            "",
            _("Changed {when}").format(when=local_stamp(row.updated_at, user_tz)),
        ]
    )
    kb.button(text=_("✏️ Edit"), callback_data=TemplatesCb(a="edit", id=row.id))
    kb.button(text=_("📄 Duplicate"), callback_data=TemplatesCb(a="dup", id=row.id))
    kb.button(text=_("📤 Export"), callback_data=TemplatesCb(a="exp", id=row.id))
    kb.button(text=_("🗑 Delete"), callback_data=TemplatesCb(a="del", id=row.id))
    kb.button(text=_("« Templates"), callback_data=TemplatesCb(a="list"))
    kb.adjust(2, 2, 1)
    return text, kb.as_markup()


def confirm_delete(row: TemplateRow) -> Screen:
    """Are you sure?"""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Yes, delete"), callback_data=TemplatesCb(a="dely", id=row.id))
    kb.button(text=_("« Back"), callback_data=TemplatesCb(a="view", id=row.id))
    text = _(
        "Delete the template «{name}»? Launches already made from it keep their own copy."
    ).format(name=quoted(row.name, 64))
    return text, kb.as_markup()


def deleted(name: str) -> str:
    """After a delete (a short notice)."""
    return _("Deleted «{name}».").format(name=cut(name, 64))


def duplicated(name: str) -> str:
    """After a duplicate (a short notice)."""
    return _("Copied as «{name}».").format(name=cut(name, 64))


def export_caption(name: str) -> str:
    """The caption of an exported template file."""
    return _("📤 Template «{name}». Keep it, share it, or import it again with 📥 Import.").format(
        name=quoted(name, 64)
    )


def too_many(limit: int) -> str:
    """The user has as many templates as allowed (an alert)."""
    return _("You have {n} templates, the most one account can keep. Delete one first.").format(
        n=limit
    )


# ---- import ---------------------------------------------------------------------------------


def ask_import() -> Screen:
    """Waiting for the exported file."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Templates"), callback_data=TemplatesCb(a="list"))
    text = _(
        "<b>📥 Import a template</b>\n\nSend the template's JSON file (exported with 📤 Export) "
        "as a document, up to {size} KB. It is checked with the same rules as the builder; "
        "if you already have a template with its name, it is imported as a copy."
    ).format(size=IMPORT_MAX_BYTES // 1024)
    return text, kb.as_markup()


def import_send_file() -> str:
    """Something other than the file arrived while importing."""
    return _("Please send the template as a .json document (📎 → File), or /cancel.")


def import_too_big() -> str:
    """The file is over the size cap."""
    return _(
        "⚠️ This file is too big for a template (at most {size} KB). Nothing was imported."
    ).format(size=IMPORT_MAX_BYTES // 1024)


def import_not_json() -> str:
    """The file is not JSON text."""
    return _(
        "⚠️ This file is not a JSON document (UTF-8 text). Export a template with 📤 Export "
        "and send that file. Nothing was imported."
    )


def import_invalid(problems: Sequence[Problem]) -> str:
    """The document is JSON but not a valid template: every problem with its path."""
    return (
        _("⚠️ This file is not a valid template. Nothing was imported. Fix these and send it again:")
        + "\n"
        + problems_text(problems, with_path=True, limit=3000)
    )


def imported(name: str) -> str:
    """A notice above the imported template."""
    return _("📥 Imported as «{name}».").format(name=quoted(name, 64))


# ---- the draft ------------------------------------------------------------------------------


def _title(template: Template, editing: bool) -> str:
    name = template.name.strip()
    if editing:
        return _("<b>✏️ Editing «{name}»</b>").format(name=quoted(name, 64))
    if name:
        return _("<b>✏️ New template «{name}»</b>").format(name=quoted(name, 64))
    return _("<b>✏️ New template</b>")


def overview(
    template: Template,
    editing: bool,
    problems: Sequence[Problem] = (),
    note: str = "",
) -> Screen:
    """The draft: every field, the sections to edit, Save."""
    fixes = ""
    if problems:
        fixes = _("⚠️ To fix before saving:") + "\n" + problems_text(problems, template)
    room = TEXT_LIMIT - len(fixes) - len(note) - 200
    parts = [
        *([note] if note else []),
        _title(template, editing),
        summary(template, room),
        *([fixes] if fixes else []),
    ]
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📝 Name"), callback_data=TplEditCb(a="ask", f="name"))
    kb.button(text=_("🎯 Campaign"), callback_data=TplEditCb(a="sec", f="camp"))
    kb.button(
        text=_("🌍 Ad groups ({n})").format(n=len(template.adgroups)),
        callback_data=TplEditCb(a="sec", f="groups"),
    )
    kb.button(text=_("📣 Ad"), callback_data=TplEditCb(a="sec", f="ad"))
    kb.button(text=_("🏷 Names"), callback_data=TplEditCb(a="sec", f="names"))
    kb.button(text=_("✅ Save"), callback_data=TplEditCb(a="save"))
    kb.button(text=_("✖️ Cancel"), callback_data=TplEditCb(a="cancel"))
    kb.adjust(2, 2, 1, 2)
    return "\n\n".join(parts), kb.as_markup()


def name_taken(name: str) -> str:
    """The draft's name is another template's."""
    return _(
        "⚠️ You already have a template named «{name}». Change the name (📝 Name) and save again."
    ).format(name=quoted(name, 64))


def saved() -> str:
    """A short notice after saving."""
    return _("✅ Template saved.")


def cancelled() -> str:
    """A short notice after leaving the draft."""
    return _("Draft closed; nothing was saved.")


def _field_button(field: str, g: int = 0) -> tuple[str, TplEditCb]:
    labels = {
        "obj": _("🎯 Objective"),
        "cbm": _("📅 Budget type"),
        "cb": _("💵 Budget"),
        "loc": _("📍 Geo & locations"),
        "geo": _("🏷 Geo label"),
        "lang": _("🗣 Languages"),
        "gen": _("👤 Gender"),
        "age": _("🎂 Ages"),
        "pt": _("📱 Placement"),
        "pl": _("📱 Placements"),
        "goal": _("🏁 Goal"),
        "ev": _("⚡ Pixel event"),
        "bill": _("🧾 Billing"),
        "bt": _("⚖️ Bid strategy"),
        "bid": _("💲 Bid"),
        "gbm": _("📅 Budget type"),
        "gb": _("💵 Budget"),
        "st": _("🗓 Schedule"),
        "days": _("⏳ Days"),
        "pace": _("🚦 Pacing"),
        "aud": _("👥 Include audiences"),
        "xaud": _("🚫 Exclude audiences"),
        "txt": _("✍️ Texts"),
        "cta": _("🔘 Call to action"),
        "url": _("🔗 Landing URL"),
        "idn": _("👤 Identity"),
        "nc": _("Campaign name"),
        "ng": _("Ad group name"),
        "na": _("Ad name"),
    }
    return labels[field], TplEditCb(a="ask", f=field, g=g)


def _back_to_overview(kb: InlineKeyboardBuilder) -> None:
    kb.button(text=_("« Draft"), callback_data=TplEditCb(a="ov"))


def campaign_screen(t: Template) -> Screen:
    """The campaign's fields, and the catalog product set for shopping ads (issue 17)."""
    kb = InlineKeyboardBuilder()
    keys = ["obj", "cbm"] + (["cb"] if t.campaign.budget_mode != "BUDGET_MODE_INFINITE" else [])
    for key in keys:
        label, payload = _field_button(key)
        kb.button(text=label, callback_data=payload)
    kb.button(text=_("🛍 Catalog product set"), callback_data=TplEditCb(a="cat"))
    _back_to_overview(kb)
    kb.adjust(2, 1)
    text = "\n".join([_("<b>🎯 Campaign</b>"), *campaign_lines(t), "", _hint_currency()])
    return text, kb.as_markup()


def _hint_currency() -> str:
    return _("<i>Amounts are in each ad account's own currency.</i>")


def groups_screen(t: Template) -> Screen:
    """The ad groups (one per geo), with Add."""
    kb = InlineKeyboardBuilder()
    lines = [_("<b>🌍 Ad groups</b> ({n})").format(n=len(t.adgroups))]
    lines.append(
        _("Each geo becomes one ad group in every ad account you launch in.")
        if t.adgroups
        else _("No geos yet. Add one: each geo becomes one ad group.")
    )
    for i, g in enumerate(t.adgroups):
        kb.button(text=cut(f"{i + 1}. {g.geo}", 40), callback_data=TplEditCb(a="grp", g=i))
    if len(t.adgroups) < fields.ADGROUPS_MAX:
        kb.button(
            text=_("➕ Add a geo"), callback_data=TplEditCb(a="ask", f="loc", g=len(t.adgroups))
        )
    _back_to_overview(kb)
    kb.adjust(3)
    return "\n".join(lines), kb.as_markup()


def group_screen(t: Template, g: int) -> Screen:
    """One ad group's fields."""
    group = t.adgroups[g]
    lines = [
        _("<b>🌍 Ad group {n}: {geo}</b>").format(n=g + 1, geo=quoted(group.geo, 64)),
        *group_lines(group),
        "",
        _hint_currency(),
    ]
    keys = ["loc", "geo", "lang", "gen", "age", "pt"]
    if group.placement_type == "PLACEMENT_TYPE_NORMAL":
        keys.append("pl")
    keys += ["goal"]
    if group.optimization_goal in PIXEL_GOALS:
        keys.append("ev")
    keys += ["bill", "bt"]
    if group.bid_type == "BID_TYPE_CUSTOM":
        keys.append("bid")
    keys += ["gbm", "gb", "st"]
    if group.schedule_type == "SCHEDULE_START_END":
        keys.append("days")
    keys += ["pace"]
    if group.audience_ids or group.excluded_audience_ids:  # typed ids of an older template
        keys += ["aud", "xaud"]
    kb = InlineKeyboardBuilder()
    for key in keys:
        label, payload = _field_button(key, g)
        kb.button(text=label, callback_data=payload)
    kb.button(text=_("👥 Audiences"), callback_data=TplEditCb(a="aud", g=g))
    comments = _("💬 Comments: off") if group.comments_disabled else _("💬 Comments: on")
    # The wanted state rides in the button, so a double tap does not flip it back.
    wanted = "0" if group.comments_disabled else "1"
    kb.button(text=comments, callback_data=TplEditCb(a="sw", f="cmt", g=g, v=wanted))
    kb.button(text=_("🗑 Remove this geo"), callback_data=TplEditCb(a="rm", g=g))
    kb.button(text=_("« Ad groups"), callback_data=TplEditCb(a="sec", f="groups"))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


def confirm_remove(t: Template, g: int) -> Screen:
    """Remove an ad group?"""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Yes, remove"), callback_data=TplEditCb(a="rmy", g=g))
    kb.button(text=_("« Back"), callback_data=TplEditCb(a="grp", g=g))
    text = _("Remove the ad group «{geo}» from the template?").format(
        geo=quoted(t.adgroups[g].geo, 64)
    )
    return text, kb.as_markup()


def ad_screen(t: Template) -> Screen:
    """The ad's fields."""
    kb = InlineKeyboardBuilder()
    for key in ("txt", "cta", "url", "idn"):
        label, payload = _field_button(key)
        kb.button(text=label, callback_data=payload)
    _back_to_overview(kb)
    kb.adjust(2, 2, 1)
    return "\n".join([_("<b>📣 Ad</b>"), *ad_lines(t)]), kb.as_markup()


def names_screen(t: Template) -> Screen:
    """The name patterns and their macros."""
    kb = InlineKeyboardBuilder()
    for key in ("nc", "ng", "na"):
        label, payload = _field_button(key)
        kb.button(text=label, callback_data=payload)
    _back_to_overview(kb)
    kb.adjust(1)
    text = "\n".join(
        [
            _("<b>🏷 Names</b>"),
            *naming_lines(t),
            "",
            _(
                "Macros: {date} — the launch date, {account} — the ad account's name, {geo} — "
                "the ad group's geo label, {creative} — the creative's name, {n} — the number "
                "among its siblings ({n3} pads it to 001)."
            ).format(
                date="<code>{date}</code>",
                account="<code>{account}</code>",
                geo="<code>{geo}</code>",
                creative="<code>{creative}</code>",
                n="<code>{n}</code>",
                n3="<code>{n:03}</code>",
            ),
        ]
    )
    return text, kb.as_markup()


# ---- one field: a choice, a multi-select, or typed ------------------------------------------


def _question(field: str, t: Template, g: int) -> str:
    geo = quoted(geo_of(t, g), 64)
    questions = {
        "obj": _("What is the campaign's objective?"),
        "cbm": _("How is the campaign's budget set?"),
        "gen": _("Which gender does ad group {geo} target?"),
        "age": _("Which ages does ad group {geo} target? Tick any; none means all ages."),
        "pt": _("Where do the ads of {geo} show?"),
        "pl": _("Which placements for {geo}? Tick at least one."),
        "goal": _("What does ad group {geo} optimise for?"),
        "ev": _("Which pixel event does ad group {geo} optimise for?"),
        "bill": _("How is ad group {geo} billed?"),
        "bt": _("Which bid strategy for {geo}?"),
        "gbm": _("How is the budget of {geo} set?"),
        "st": _("When do the ads of {geo} run?"),
        "pace": _("How fast does {geo} spend its budget?"),
        "cta": _("Which call to action do the ads show?"),
    }
    return questions[field].format(geo=geo)


def _step(step: tuple[int, int] | None) -> str:
    if step is None:
        return ""
    return _("Step {n} of {total}").format(n=step[0], total=step[1]) + "\n\n"


def _guide_buttons(kb: InlineKeyboardBuilder, keep: bool) -> None:
    if keep:
        kb.button(text=_("⏭ Keep as is"), callback_data=TplEditCb(a="keep"))
    kb.button(text=_("⏩ Skip to the draft"), callback_data=TplEditCb(a="ov"))


def _back_button(kb: InlineKeyboardBuilder, field: str, g: int) -> None:
    if field in fields.GROUP_FIELDS:
        kb.button(text=_("« Back"), callback_data=TplEditCb(a="grp", g=g))
    elif field in ("obj", "cbm", "cb"):
        kb.button(text=_("« Back"), callback_data=TplEditCb(a="sec", f="camp"))
    elif field in ("txt", "cta", "url", "idn"):
        kb.button(text=_("« Back"), callback_data=TplEditCb(a="sec", f="ad"))
    elif field in ("nc", "ng", "na"):
        kb.button(text=_("« Back"), callback_data=TplEditCb(a="sec", f="names"))
    else:
        _back_to_overview(kb)


def choice_screen(t: Template, field: str, g: int, step: tuple[int, int] | None = None) -> Screen:
    """Buttons for a choice (✅ on the current value) or a multi-select (☑️ ticked)."""
    kb = InlineKeyboardBuilder()
    options = fields.choices(t, field, g)
    current = fields.value_of(t, field, g)
    multi = field in fields.MULTI_FIELDS
    for i, value in enumerate(options):
        chosen = value in current if multi else value == current
        mark = ("☑️ " if chosen else "▫️ ") if multi else ("✅ " if chosen else "")
        # A tick button carries the state it asks for ("3+" tick, "3-" untick): a double
        # tap asks for the same state twice instead of flipping it back.
        v = f"{i}{'-' if chosen else '+'}" if multi else str(i)
        kb.button(text=mark + choice_name(value),
                  callback_data=TplEditCb(a="tog" if multi else "pick", f=field, g=g, v=v))
    rows = [2] * (len(options) // 2) + ([1] if len(options) % 2 else [])
    text = _step(step) + _question(field, t, g)
    if field == "ev":
        kb.button(text=_("⌨️ Type another event"), callback_data=TplEditCb(a="type", f="ev", g=g))
        rows.append(1)
    if field == "age":
        kb.button(text=_("All ages"), callback_data=TplEditCb(a="clr", f="age", g=g))
        rows.append(1)
    if multi:
        kb.button(text=_("✅ Done"), callback_data=TplEditCb(a="done", f=field, g=g))
        rows.append(1)
    elif step is not None:
        _guide_buttons(kb, keep=False)
        rows.append(1)
    if step is None and not multi:
        _back_button(kb, field, g)
        rows.append(1)
    kb.adjust(*rows)
    return text, kb.as_markup()


def geo_screen(t: Template, g: int, step: tuple[int, int] | None = None) -> Screen:
    """Common countries as buttons, or typed location ids; g = len(adgroups) adds a geo."""
    kb = InlineKeyboardBuilder()
    adding = g == len(t.adgroups)
    used = {grp.geo.strip().casefold() for grp in t.adgroups}
    for i, (code, _id) in enumerate(fields.COMMON_GEOS):
        mark = "✅ " if code.casefold() in used else ""
        kb.button(text=mark + code, callback_data=TplEditCb(a="geo", g=g, v=str(i)))
    kb.button(text=_("⌨️ Type location ids"), callback_data=TplEditCb(a="type", f="loc", g=g))
    if step is not None:
        _guide_buttons(kb, keep=not adding)
    elif adding:
        kb.button(text=_("« Ad groups"), callback_data=TplEditCb(a="sec", f="groups"))
    else:
        kb.button(text=_("« Back"), callback_data=TplEditCb(a="grp", g=g))
    kb.adjust(4, 4, 4, 1)
    if adding:
        question = _(
            "Which geo? Pick a country, or type TikTok location ids (any country, region or "
            "city). Each geo becomes one ad group."
        )
    else:
        question = _(
            "Which geo for ad group {n} (now {geo}: {ids})? Pick a country, or type TikTok "
            "location ids."
        ).format(
            n=g + 1, geo=quoted(t.adgroups[g].geo, 64), ids=listed(t.adgroups[g].location_ids, "—")
        )
    return _step(step) + question, kb.as_markup()


def _prompt(field: str, t: Template, g: int) -> str:
    geo = quoted(geo_of(t, g), 64)
    prompts = {
        "name": _(
            "Send a name for the template (up to 64 characters). Only you see it; TikTok "
            "never does."
        ),
        "cb": _(
            "Send the campaign's budget: a number in each ad account's own currency, like 100 "
            "or 250.50."
        ),
        "gb": _(
            "Send the budget of ad group {geo}: a number in each ad account's own currency, "
            "like 50 or 75.50."
        ),
        "bid": _(
            "Send the bid for {geo}: a number in each ad account's own currency, lower than "
            "the budget."
        ),
        "days": _("Send how many days the ad groups of {geo} run after the launch (1 to 3650)."),
        "loc": _(
            "Send TikTok location ids for {geo}, separated by commas or spaces. They are "
            "GeoNames ids: the United States is 6252001, Germany 2921044, Austria 2782113."
        ),
        "geo": _(
            "Send a short label for this geo, like US or DACH. Names get it through the {macro} "
            "macro."
        ),
        "lang": _(
            "Send language codes separated by commas, like en, de or pt-BR — or a dash (-) for "
            "any language."
        ),
        "ev": _("Send the pixel event ad group {geo} optimises for, like COMPLETE_PAYMENT."),
        "aud": _(
            "Send the ids of the audiences ad group {geo} is shown to, separated by commas — "
            "or a dash (-) for none. Each ad account you launch to must have them: see "
            "👥 Audiences under Accounts."
        ),
        "xaud": _(
            "Send the ids of the audiences ad group {geo} is kept from (for example your "
            "buyers), separated by commas — or a dash (-) for none."
        ),
        "txt": _(
            "Send the ad texts, one per line: up to 10, each up to 100 characters, no emoji. "
            "Creatives take them in turns."
        ),
        "url": _(
            "Send the landing page URL. Add TikTok's macros, such as {macros}, so your "
            "tracker can match clicks to campaigns and ads."
        ),
        "idn": _("Send the display name the ads show as (up to 100 characters)."),
        "nc": _("Send the pattern for campaign names. Macros: {available}."),
        "ng": _("Send the pattern for ad group names. Macros: {available}."),
        "na": _("Send the pattern for ad names. Macros: {available}."),
    }
    level = {"nc": "campaign", "ng": "adgroup", "na": "ad"}.get(field)
    return prompts[field].format(
        geo=geo,
        macro="<code>{geo}</code>",
        macros="<code>__CAMPAIGN_ID__</code>, <code>__AID__</code>, <code>__CID__</code>",
        available=html.quote(macros_hint(level)) if level else "",
    )


def _current(field: str, t: Template, g: int) -> str:
    if field in fields.GROUP_FIELDS and g >= len(t.adgroups):
        return ""  # a geo being added
    value = fields.value_of(t, field, g)
    if value is None or value == "" or value == ():
        return ""
    if isinstance(value, Decimal):
        shown = amount(value)
    elif isinstance(value, tuple):
        shown = (
            "\n".join(quoted(v, 100) for v in value[:20]) if field == "txt" else listed(value, "")
        )
    else:
        shown = f"<code>{quoted(value, 300)}</code>"
    return _("Now: {value}").format(value=shown)


def ask(
    t: Template,
    field: str,
    g: int,
    step: tuple[int, int] | None = None,
    keep: bool = False,
) -> Screen:
    """The prompt for a typed field, with its current value."""
    now = _current(field, t, g)
    text = _step(step) + _prompt(field, t, g) + (f"\n\n{now}" if now else "")
    kb = InlineKeyboardBuilder()
    if field == "url":
        kb.button(text=_("🔗 Tracker URL suffix"), callback_data=TplEditCb(a="sfx", f="url"))
    if step is not None:
        _guide_buttons(kb, keep=keep)
    elif field in fields.GROUP_FIELDS and g >= len(t.adgroups):
        kb.button(text=_("« Ad groups"), callback_data=TplEditCb(a="sec", f="groups"))
    else:
        _back_button(kb, field, g)
    kb.adjust(1)
    return text, kb.as_markup()


def typed_only() -> str:
    """Something other than text while a value is expected."""
    return _("Please send the value as a text message, or /cancel.")


def tracker_suffixes(t: Template, suffixes: list[tuple[str, str]]) -> Screen:
    """The query suffix that passes TikTok's ids to each connected tracker (name, suffix), and
    a button that appends it to the landing URL."""
    kb = InlineKeyboardBuilder()
    if not suffixes:
        text = _(
            "No tracker is connected yet (Integrations). The usual suffix passes TikTok's "
            "campaign, ad group and ad ids: <code>{suffix}</code>"
        ).format(suffix=html.quote("campaign_id=__CAMPAIGN_ID__&adgroup_id=__AID__&ad_id=__CID__"))
    else:
        lines = [
            _(
                "Add this to your landing URL so your tracker receives TikTok's ids "
                "(set the tracker's parameters or tokens to read them):"
            ),
            "",
        ]
        for name, suffix in suffixes:
            lines.append(f"<b>{html.quote(name[:60])}</b>: <code>{html.quote(suffix)}</code>")
        text = "\n".join(lines)
        if t.ad.landing_url:
            kb.button(text=_("➕ Append to my URL"), callback_data=TplEditCb(a="sfxa", f="url"))
    kb.button(text=_("« Back"), callback_data=TplEditCb(a="ask", f="url"))
    kb.adjust(1)
    return text, kb.as_markup()


def with_suffix(url: str, suffix: str) -> str:
    """The URL with the suffix appended as query parameters (`?` or `&`), once."""
    if suffix in url:
        return url
    base, _sep, fragment = url.partition("#")
    joined = base + ("&" if "?" in base else "?") + suffix
    return joined + (f"#{fragment}" if fragment else "")
