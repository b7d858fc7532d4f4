"""The template editor's form as the chat's builder edits a template (core.templates.draft):
each posted field goes through the same choose / toggle / type_in the chat's buttons and typed
answers use, so the editor, the chat, the JSON import and the launch agree on what is valid.
Pure: no I/O, no web framework."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.templates import draft
from core.templates.model import Template
from core.templates.validate import Problem

# Fields outside the ad groups, and inside each, in the order they are applied: a choice before
# the fields it governs (objective → goal → billing event; bid type → bid; schedule → days).
TOP_CHOICES = ("obj", "cbm", "cta")
GROUP_CHOICES = ("gen", "pt", "goal", "bill", "bt", "gbm", "st", "pace")
GROUP_MULTI = ("age", "pl")
TOP_TYPED = ("name", "cb", "txt", "url", "idn", "nc", "ng", "na")
GROUP_TYPED = ("geo", "loc", "lang", "ev", "bid", "gb", "days")
MAX_FIELD = 4000


def name_of(key: str, g: int | None = None) -> str:
    """The form field's name: `f.obj` for the campaign, ad and names; `g2.gb` in ad group 3."""
    return f"f.{key}" if g is None else f"g{g}.{key}"


def shown(template: Template, key: str, g: int = 0) -> str:
    """A field's value as the form shows it."""
    value = draft.value_of(template, key, g)
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ("\n" if key == "txt" else ", ").join(str(v) for v in value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


@dataclass
class Applied:
    """The edited template, and what kept typed values out of it (each at its field's path)."""

    template: Template
    problems: list[Problem] = field(default_factory=list)


def apply(template: Template, form: Mapping[str, str],
          getall: Callable[[str], Sequence[str]]) -> Applied:
    """The posted form applied to `template` field by field (only what changed is typed in, so
    an untouched empty field is not an error until the whole template is checked)."""
    t = template
    problems: list[Problem] = []

    def choose(key: str, g: int | None) -> None:
        nonlocal t
        value = form.get(name_of(key, g))
        at = g or 0
        if value is not None and value != draft.value_of(t, key, at) \
                and value in draft.choices(t, key, at):
            t = draft.choose(t, key, at, value)

    for key in TOP_CHOICES:
        choose(key, None)
    groups = len(t.adgroups)
    for g in range(groups):
        for key in GROUP_CHOICES:
            choose(key, g)
        for key in GROUP_MULTI:
            offered = draft.choices(t, key, g)
            wanted = {v for v in getall(name_of(key, g)) if v in offered}
            for value in wanted ^ set(draft.value_of(t, key, g)):
                t = draft.tick(t, key, g, value, value in wanted)
        t = draft.switch(t, "cmt", g, name_of("cmt", g) in form)

    def type_in(key: str, g: int | None) -> None:
        nonlocal t
        text = form.get(name_of(key, g))
        at = g or 0
        if text is None or _same(text, shown(t, key, at)):
            return
        typed = draft.type_in(t, key, at, text[:MAX_FIELD])
        problems.extend(typed.problems)
        t = typed.template

    for key in TOP_TYPED:
        type_in(key, None)
    for g in range(groups):
        for key in GROUP_TYPED:
            type_in(key, g)
    for g in sorted((g for g in range(groups) if name_of("remove", g) in form), reverse=True):
        t = draft.remove_group(t, g)
    geo, locations = form.get("new.geo", "").strip(), form.get("new.loc", "").strip()
    if geo or locations:
        added = draft.add_geo(t, geo, draft.parse_locations(locations))
        problems.extend(added.problems)
        t = added.template
    return Applied(t, problems)


def fields_of(template: Template) -> list[tuple[str, int | None, str]]:
    """Every form field: (key, ad group or None, its path as `validate` names it)."""
    out: list[tuple[str, int | None, str]] = [
        (k, None, draft.path_of(k)) for k in (*TOP_CHOICES, *TOP_TYPED)]
    for g in range(len(template.adgroups)):
        out += [(k, g, draft.path_of(k, g))
                for k in (*GROUP_CHOICES, *GROUP_MULTI, *GROUP_TYPED, "cmt")]
    return out


def place_problems(template: Template, problems: Sequence[Problem],
                   new_group: int | None = None) -> tuple[dict[str, list[Problem]], list[Problem]]:
    """Each problem next to its field (by form field name; inside a list, at the list), the
    rest (the template as a whole, a new ad group's) apart."""
    paths = {path: name_of(key, g) for key, g, path in fields_of(template)}
    at: dict[str, list[Problem]] = {}
    rest: list[Problem] = []
    for p in problems:
        target = next((name for path, name in sorted(paths.items(), key=lambda x: -len(x[0]))
                       if p.path == path or p.path.startswith((path + ".", path + "["))), None)
        if target is None and new_group is not None and p.path.startswith(
                f"adgroups[{new_group}]"):
            target = "new.loc" if "location" in p.path else "new.geo"
        if target is None:
            rest.append(p)
        else:
            at.setdefault(target, []).append(p)
    return at, rest


AUDIENCE_FIELD = "aud"  # g{g}.aud.{our ad account id}.{TikTok audience id} = i | x | o


def audience_name(g: int, account_id: int, audience_id: str) -> str:
    """The select of one audience of one ad account in ad group g."""
    return f"g{g}.{AUDIENCE_FIELD}.{account_id}.{audience_id}"


def apply_audiences(template: Template, form: Mapping[str, str],
                    offered: Mapping[int, tuple[str, frozenset[str]]]) -> Template:
    """The posted audience selects applied, each only if its ad account is one of the user's
    and the audience one that account has at TikTok (`offered`: our account id → its
    advertiser id and audience ids, read live); anything else posted is ignored."""
    t = template
    for name, mode in form.items():
        parts = name.split(".")
        if len(parts) != 4 or parts[1] != AUDIENCE_FIELD or not parts[0][1:].isdigit() \
                or not parts[2].isdigit() or mode not in draft.AUDIENCE_MODES:
            continue
        g, account_id, audience_id = int(parts[0][1:]), int(parts[2]), parts[3]
        if not 0 <= g < len(t.adgroups) or account_id not in offered:
            continue
        advertiser_id, listed = offered[account_id]
        if audience_id in listed:
            t = draft.pick_audience(t, g, advertiser_id, audience_id, mode)
    return t


def choices_of(template: Template, key: str, g: int = 0) -> tuple[str, ...]:
    """The values a choice or multi-select offers now."""
    return draft.choices(template, key, g)


def current(template: Template, key: str, g: int = 0) -> Any:
    """A field's value (for selected options and ticked boxes)."""
    return draft.value_of(template, key, g)
