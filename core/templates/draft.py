"""Editing a template one field at a time, as the chat's builder does (pure; no I/O).

A draft starts blank with sensible defaults; each field has a short key (used in buttons) and
is either chosen from a list, ticked in a multi-select, or typed. A typed value is parsed and
then checked with `validate`'s own rules for that field only, so the builder, the JSON import
and the launch agree on what is valid. Choices keep the template consistent: a goal the
objective offers, a billing event the goal is paid by, no bid without a custom bid type...
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from core.money import ambiguous_comma
from core.templates.model import (
    ADGROUP_BUDGET_MODES,
    AGE_GROUPS,
    BID_TYPES,
    BILLING_BY_GOAL,
    CALLS_TO_ACTION,
    CAMPAIGN_BUDGET_MODES,
    CATALOG_OBJECTIVES,
    GENDERS,
    GOALS_BY_OBJECTIVE,
    OBJECTIVE_TYPES,
    PACINGS,
    PIXEL_GOALS,
    PLACEMENT_TYPES,
    PLACEMENTS,
    SCHEDULE_TYPES,
    AdGroupSpec,
    AdSpec,
    AudiencePicks,
    CampaignSpec,
    CatalogTarget,
    Naming,
    Template,
)
from core.templates.validate import ADGROUPS_MAX, Problem, validate

# A few countries as GeoNames ids (spec §4.5), offered as buttons; any id can be typed.
COMMON_GEOS: tuple[tuple[str, str], ...] = (
    ("US", "6252001"),
    ("GB", "2635167"),
    ("DE", "2921044"),
    ("FR", "3017382"),
    ("CA", "6251999"),
    ("AU", "2077456"),
    ("BR", "3469034"),
    ("MX", "3996063"),
    ("ES", "2510769"),
    ("IT", "3175395"),
    ("JP", "1861060"),
    ("TR", "298795"),
)
# TikTok pixel events a website conversion ad group commonly optimises for; any can be typed.
COMMON_EVENTS: tuple[str, ...] = (
    "COMPLETE_PAYMENT",
    "ON_WEB_ORDER",
    "INITIATE_ORDER",
    "ON_WEB_CART",
    "ON_WEB_REGISTER",
    "FORM",
)
DEFAULT_EVENT = "COMPLETE_PAYMENT"
DEFAULT_RUN_DAYS = 7

# Field keys: where each lives in the template ({g}: the ad group's index).
PATHS: dict[str, str] = {
    "name": "name",
    "obj": "campaign.objective_type",
    "cbm": "campaign.budget_mode",
    "cb": "campaign.budget",
    "geo": "adgroups[{g}].geo",
    "loc": "adgroups[{g}].location_ids",
    "lang": "adgroups[{g}].languages",
    "gen": "adgroups[{g}].gender",
    "age": "adgroups[{g}].age_groups",
    "pt": "adgroups[{g}].placement_type",
    "pl": "adgroups[{g}].placements",
    "goal": "adgroups[{g}].optimization_goal",
    "ev": "adgroups[{g}].optimization_event",
    "bill": "adgroups[{g}].billing_event",
    "bt": "adgroups[{g}].bid_type",
    "bid": "adgroups[{g}].bid",
    "gbm": "adgroups[{g}].budget_mode",
    "gb": "adgroups[{g}].budget",
    "st": "adgroups[{g}].schedule_type",
    "days": "adgroups[{g}].run_days",
    "pace": "adgroups[{g}].pacing",
    "cmt": "adgroups[{g}].comments_disabled",
    "aud": "adgroups[{g}].audience_ids",
    "xaud": "adgroups[{g}].excluded_audience_ids",
    "txt": "ad.texts",
    "cta": "ad.call_to_action",
    "url": "ad.landing_url",
    "idn": "ad.identity_name",
    "nc": "naming.campaign",
    "ng": "naming.adgroup",
    "na": "naming.ad",
}
# The model attribute behind each field key.
_ATTR: dict[str, str] = {key: path.rsplit(".", 1)[-1] for key, path in PATHS.items()}
GROUP_FIELDS = frozenset(k for k, p in PATHS.items() if p.startswith("adgroups"))
CHOICE_FIELDS = frozenset(
    {"obj", "cbm", "gen", "pt", "goal", "bill", "bt", "gbm", "st", "pace", "cta"}
)
MULTI_FIELDS = frozenset({"age", "pl"})
TYPED_FIELDS = frozenset(
    {"name", "cb", "geo", "loc", "lang", "ev", "bid", "gb", "days", "txt", "url", "idn"}
    | {"nc", "ng", "na", "aud", "xaud"}
)
_AMOUNTS = frozenset({"cb", "gb", "bid"})
_SPLIT = re.compile(r"[\s,;]+")
_NUMBER = re.compile(r"^[0-9]+([.,][0-9]+)?$")


class UnknownField(ValueError):
    """A field key, ad group index or choice the template does not have (a stale button)."""


@dataclass(frozen=True)
class Typed:
    """A typed value applied: the new template, or the problems that kept it out."""

    template: Template
    problems: list[Problem]


def blank() -> Template:
    """A new draft: a website conversions campaign without a budget cap, nothing else yet."""
    return Template(
        name="",
        campaign=CampaignSpec(),
        adgroups=(),
        ad=AdSpec(texts=(), landing_url="", identity_name=""),
        naming=Naming(),
    )


def path_of(field: str, g: int = 0) -> str:
    """The field's dotted path, as `validate` names it."""
    if field not in PATHS:
        raise UnknownField(field)
    return PATHS[field].format(g=g)


def problems_at(template: Template, path: str) -> list[Problem]:
    """What `validate` finds at a path or inside it (`adgroups[0].location_ids[2]`)."""
    return [
        p
        for p in validate(template)
        if p.path == path or p.path.startswith((path + ".", path + "["))
    ]


def choices(template: Template, field: str, g: int = 0) -> tuple[str, ...]:
    """The values a choice or multi-select field offers (goals: those of the objective)."""
    if field == "goal":
        return GOALS_BY_OBJECTIVE.get(template.campaign.objective_type, ())
    if field == "bill":
        return BILLING_BY_GOAL.get(_group(template, g).optimization_goal, ())
    lists: dict[str, tuple[str, ...]] = {
        "obj": OBJECTIVE_TYPES,
        "cbm": CAMPAIGN_BUDGET_MODES,
        "gen": GENDERS,
        "pt": PLACEMENT_TYPES,
        "bt": BID_TYPES,
        "gbm": ADGROUP_BUDGET_MODES,
        "st": SCHEDULE_TYPES,
        "pace": PACINGS,
        "cta": CALLS_TO_ACTION,
        "age": AGE_GROUPS,
        "pl": PLACEMENTS,
        "ev": COMMON_EVENTS,
    }
    if field not in lists:
        raise UnknownField(field)
    return lists[field]


def value_of(template: Template, field: str, g: int = 0) -> Any:
    """The field's current value."""
    return getattr(_owner(template, field, g), _ATTR[field])


def choose(template: Template, field: str, g: int, value: str) -> Template:
    """The template with a choice made (or a common pixel event picked), kept consistent."""
    if field not in CHOICE_FIELDS | {"ev"} or value not in choices(template, field, g):
        raise UnknownField(f"{field}={value}")
    return _set(template, field, g, value)


def tick(template: Template, field: str, g: int, value: str, on: bool) -> Template:
    """The template with one value of a multi-select ticked (`on`) or unticked, list order
    kept. The wanted state, not a flip: a double tap on a button does not undo itself."""
    if field not in MULTI_FIELDS or value not in choices(template, field, g):
        raise UnknownField(f"{field}={value}")
    current = set(value_of(template, field, g))
    current = current | {value} if on else current - {value}
    return _set(template, field, g, tuple(v for v in choices(template, field, g) if v in current))


def clear(template: Template, field: str, g: int) -> Template:
    """The template with a multi-select emptied (all ages; no placement picked)."""
    if field not in MULTI_FIELDS:
        raise UnknownField(field)
    return _set(template, field, g, ())


def switch(template: Template, field: str, g: int, on: bool) -> Template:
    """The template with a yes/no field set (comments off: `on` True), not flipped."""
    if field != "cmt":
        raise UnknownField(field)
    return _set(template, field, g, on)


def type_in(template: Template, field: str, g: int, text: str) -> Typed:
    """A typed value parsed, applied and checked with the field's own rules."""
    if field not in TYPED_FIELDS:
        raise UnknownField(field)
    path = path_of(field, g)
    if field in GROUP_FIELDS:
        _group(template, g)  # raises UnknownField for a group that is gone
    text = text.strip()
    try:
        value = _parse(field, text)
    except ValueError:
        code = "amount_invalid" if field in _AMOUNTS else "invalid"
        return Typed(template, [Problem(path, code, {"value": text[:40]})])
    changed = _set(template, field, g, value)
    problems = problems_at(changed, path)
    return Typed(template if problems else changed, problems)


def add_geo(template: Template, geo: str, location_ids: tuple[str, ...]) -> Typed:
    """A new ad group for a geo, with the targeting, bid and budget of the last one (or the
    defaults for the objective); problems at its geo or locations keep it out."""
    g = len(template.adgroups)
    if g >= ADGROUPS_MAX:
        return Typed(template, [Problem("adgroups", "too_many", {"max": ADGROUPS_MAX})])
    if template.adgroups:
        group = replace(template.adgroups[-1], geo=geo.strip(), location_ids=location_ids)
    else:
        group = AdGroupSpec(geo=geo.strip(), location_ids=location_ids)
    changed = _consistent(replace(template, adgroups=(*template.adgroups, group)))
    problems = [
        p for path in (path_of("geo", g), path_of("loc", g)) for p in problems_at(changed, path)
    ]
    return Typed(template if problems else changed, problems)


def place(template: Template, g: int, geo: str, location_ids: tuple[str, ...]) -> Typed:
    """Ad group g set to a geo and its locations (g = the number of ad groups: a new one)."""
    if g == len(template.adgroups):
        return add_geo(template, geo, location_ids)
    _group(template, g)
    groups = list(template.adgroups)
    groups[g] = replace(groups[g], geo=geo.strip(), location_ids=location_ids)
    changed = replace(template, adgroups=tuple(groups))
    problems = [p for f in ("geo", "loc") for p in problems_at(changed, path_of(f, g))]
    return Typed(template if problems else changed, problems)


def check_locations(template: Template, g: int, text: str) -> tuple[tuple[str, ...], list[Problem]]:
    """Typed location ids for ad group g (or a new one at g = the number of ad groups), and
    what is wrong with them."""
    ids = parse_locations(text)
    if g == len(template.adgroups):
        probe = AdGroupSpec(geo="\u2063", location_ids=ids)  # an invisible, unique label
        template = replace(template, adgroups=(*template.adgroups, probe))
    else:
        _group(template, g)
        template = _set(template, "loc", g, ids)
    return ids, problems_at(template, path_of("loc", g))


def parse_locations(text: str) -> tuple[str, ...]:
    """Location ids as typed (commas, spaces or lines between them), duplicates dropped."""
    return tuple(dict.fromkeys(v for v in _SPLIT.split(text) if v))


def remove_group(template: Template, g: int) -> Template:
    """The template without its g-th ad group."""
    _group(template, g)
    return replace(template, adgroups=template.adgroups[:g] + template.adgroups[g + 1 :])


# ---- internals ------------------------------------------------------------------------------


def _group(template: Template, g: int) -> AdGroupSpec:
    if not 0 <= g < len(template.adgroups):
        raise UnknownField(f"adgroups[{g}]")
    return template.adgroups[g]


def _owner(template: Template, field: str, g: int) -> Any:
    path = path_of(field, g)
    if field in GROUP_FIELDS:
        return _group(template, g)
    if path.startswith("campaign."):
        return template.campaign
    if path.startswith("ad."):
        return template.ad
    if path.startswith("naming."):
        return template.naming
    return template


def _set(template: Template, field: str, g: int, value: Any) -> Template:
    attr, path = _ATTR[field], path_of(field, g)
    if field in GROUP_FIELDS:
        groups = list(template.adgroups)
        groups[g] = replace(_group(template, g), **{attr: value})
        changed = replace(template, adgroups=tuple(groups))
    elif path.startswith("campaign."):
        changed = replace(template, campaign=replace(template.campaign, **{attr: value}))
    elif path.startswith("ad."):
        changed = replace(template, ad=replace(template.ad, **{attr: value}))
    elif path.startswith("naming."):
        changed = replace(template, naming=replace(template.naming, **{attr: value}))
    else:
        changed = replace(template, **{attr: value})
    return _consistent(changed)


def _parse(field: str, text: str) -> Any:
    if field in _AMOUNTS:
        return _amount(text)
    if field == "days":
        if not text.isascii() or not text.isdigit() or len(text) > 6:
            raise ValueError(text)
        return int(text)
    if field == "loc":
        return parse_locations(text)
    if field in ("aud", "xaud"):  # audience ids as typed; a dash clears them
        return () if text in ("", "-") else parse_locations(text)
    if field == "lang":
        if text in ("", "-"):
            return ()
        return tuple(dict.fromkeys(_language(v) for v in _SPLIT.split(text) if v))
    if field == "ev":
        return text.upper()
    if field == "txt":
        return tuple(line.strip() for line in text.splitlines() if line.strip())
    return text


def _amount(text: str) -> Decimal:
    # Spaces group thousands in many locales ("1 000,50"); a comma may be the decimal mark.
    compact = "".join(ch for ch in text if not ch.isspace())
    if not _NUMBER.match(compact) or len(compact) > 20 or ambiguous_comma(compact):
        raise ValueError(text)
    try:
        return Decimal(compact.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise ValueError(text) from exc


def _language(code: str) -> str:
    head, sep, tail = code.partition("-")
    return head.lower() + sep + tail


AUDIENCE_MODES = ("i", "x", "o")  # include, exclude, off (the audience picker's buttons)


def audience_mode(template: Template, g: int, advertiser_id: str, audience_id: str) -> str:
    """How the ad group uses one of an ad account's audiences: "i", "x" or "o"."""
    picks = _group(template, g).picks_for(advertiser_id)
    if picks is None:
        return "o"
    if audience_id in picks.include:
        return "i"
    return "x" if audience_id in picks.exclude else "o"


def pick_audience(template: Template, g: int, advertiser_id: str, audience_id: str,
                  mode: str) -> Template:
    """The ad group including ("i"), excluding ("x") or no longer using ("o") one of an ad
    account's audiences, in that account's own picks. Setting the mode it already has changes
    nothing (a double tap); an account left with no picks is dropped."""
    if mode not in AUDIENCE_MODES:
        raise UnknownField(mode)
    group = _group(template, g)
    old = group.picks_for(advertiser_id) or AudiencePicks(advertiser_id)
    include = tuple(a for a in old.include if a != audience_id)
    exclude = tuple(a for a in old.exclude if a != audience_id)
    if mode == "i":
        include += (audience_id,)
    elif mode == "x":
        exclude += (audience_id,)
    if mode == audience_mode(template, g, advertiser_id, audience_id):
        return template
    picks = AudiencePicks(advertiser_id, include, exclude)
    listed = [p.advertiser_id for p in group.account_audiences]
    kept = tuple(picks if p.advertiser_id == advertiser_id else p
                 for p in group.account_audiences)
    if advertiser_id not in listed:
        kept += (picks,)
    kept = tuple(p for p in kept if p.include or p.exclude)
    groups = list(template.adgroups)
    groups[g] = replace(group, account_audiences=kept)
    return replace(template, adgroups=tuple(groups))


def with_catalog(template: Template, target: CatalogTarget | None) -> Template:
    """The template advertising a catalog's product set (shopping ads: PRODUCT_SALES), or, with
    None, no longer (back to website conversions); goals kept to what the objective offers."""
    if target is None:
        if template.catalog is None:
            return template
        campaign = replace(template.campaign, objective_type=OBJECTIVE_TYPES[0])
    else:
        campaign = replace(template.campaign, objective_type=CATALOG_OBJECTIVES[0])
    return _consistent(replace(template, campaign=campaign, catalog=target))


def _consistent(t: Template) -> Template:
    """Fix what a choice made contradictory, the way a person would expect."""
    if t.catalog is not None and t.campaign.objective_type not in CATALOG_OBJECTIVES:
        t = replace(t, catalog=None)  # another objective picked: no more shopping ads
    campaign = t.campaign
    if campaign.budget_mode == "BUDGET_MODE_INFINITE" and campaign.budget is not None:
        campaign = replace(campaign, budget=None)
    goals = GOALS_BY_OBJECTIVE.get(campaign.objective_type, ())
    groups = []
    for group in t.adgroups:
        g = group
        if goals and g.optimization_goal not in goals:
            g = replace(g, optimization_goal=goals[0])
        billings = BILLING_BY_GOAL.get(g.optimization_goal, ())
        if billings and g.billing_event not in billings:
            g = replace(g, billing_event=billings[0])
        if g.optimization_goal in PIXEL_GOALS and g.optimization_event is None:
            g = replace(g, optimization_event=DEFAULT_EVENT)
        elif g.optimization_goal not in PIXEL_GOALS and g.optimization_event is not None:
            g = replace(g, optimization_event=None)
        if g.placement_type == "PLACEMENT_TYPE_AUTOMATIC" and g.placements:
            g = replace(g, placements=())
        elif g.placement_type == "PLACEMENT_TYPE_NORMAL" and not g.placements:
            g = replace(g, placements=("PLACEMENT_TIKTOK",))
        if g.bid_type != "BID_TYPE_CUSTOM" and g.bid is not None:
            g = replace(g, bid=None)
        # A lifetime budget needs an end (spec §4.6): switching to it sets one.
        if g.budget_mode == "BUDGET_MODE_TOTAL" and g.schedule_type == "SCHEDULE_FROM_NOW":
            g = replace(g, schedule_type="SCHEDULE_START_END")
        if g.schedule_type == "SCHEDULE_START_END" and g.run_days is None:
            g = replace(g, run_days=DEFAULT_RUN_DAYS)
        elif g.schedule_type == "SCHEDULE_FROM_NOW" and g.run_days is not None:
            g = replace(g, run_days=None)
        groups.append(g)
    return replace(t, campaign=campaign, adgroups=tuple(groups))
