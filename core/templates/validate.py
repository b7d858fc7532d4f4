"""Template validation: the rules the builder, the JSON import and the launch share.

Every finding is a `Problem` with a dotted path (`adgroups[1].budget`), a stable `code` and
`params`; the bot turns codes into the user's language. The codes are listed in `CODES`
(the JSON import adds its own, `document.IMPORT_CODES`).

A template has no currency: its amounts are read in each ad account's own currency when it is
launched. So `validate` checks what holds in any currency, and what depends on one — budget
minimums, cents — is checked per account by `check_for_launch` at pre-flight, which also says
where TikTok's minimum is not known (`launch_warnings`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from babel.numbers import get_currency_precision

from core.changes import budget_minimum
from core.templates import naming
from core.templates.model import (
    ADGROUP_BUDGET_MODES,
    AGE_GROUPS,
    BID_TYPES,
    BILLING_BY_GOAL,
    BILLING_EVENTS,
    CALLS_TO_ACTION,
    CAMPAIGN_BUDGET_MODES,
    CATALOG_OBJECTIVES,
    GENDERS,
    GOALS_BY_OBJECTIVE,
    OBJECTIVE_TYPES,
    OPTIMIZATION_GOALS,
    PACINGS,
    PIXEL_GOALS,
    PLACEMENT_TYPES,
    PLACEMENTS,
    SCHEDULE_TYPES,
    AdGroupSpec,
    AdSpec,
    CampaignSpec,
    Template,
)

CODES: tuple[str, ...] = (
    "required",
    "enum",
    "too_long",
    "too_many",
    "emoji_not_allowed",
    "not_allowed",
    "not_positive",
    "too_many_decimals",
    "out_of_range",
    "invalid",
    "duplicate",
    "budget_below_minimum",
    "bid_required",
    "bid_not_below_budget",
    "schedule_end_required",
    "url_invalid",
    "url_macro_missing",
    "macro_unknown",
    "macro_not_available",
)
# Not problems: what pre-flight says about an account without refusing it.
WARNING_CODES: tuple[str, ...] = ("minimum_unknown", "lifetime_minimum_unknown")
TEMPLATE_NAME_MAX = 64  # the template's own name, shown on buttons; never sent to TikTok
GEO_LABEL_MAX = 64
AD_TEXT_MAX = 100  # spec §4.9: ad_text 1–100 characters
AD_TEXTS_MAX = 10  # text variants per template (rotated over the creatives)
# Geos per template: each is an ad group in every chosen account, and the chat lists them as
# buttons (aiogram builds at most 100 per keyboard, telegram spec §1).
ADGROUPS_MAX = 50
IDENTITY_NAME_MAX = 100  # spec §6.2: display_name ≤ 100
LOCATIONS_MAX = 3000  # spec §4.6: location_ids ≤ 3000
AUDIENCES_MAX = 100  # audiences included or excluded per ad group [U: TikTok's limit]
RUN_DAYS_MAX = 3650  # SCHEDULE_FROM_NOW ends after 10 years (spec §4.0); nothing longer
AMOUNT_DECIMALS = 2  # budgets and bids are in cents at most
# TikTok's URL macros (tracker spec §4): any of the id macros lets a tracker match its
# clicks to TikTok's campaigns / ad groups / ads.
TRACKER_MACROS: tuple[str, ...] = ("__CAMPAIGN_ID__", "__AID__", "__CID__")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_EVENT = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template: where (dotted path), what (code), details (params)."""

    path: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


def validate(template: Template) -> list[Problem]:
    """Everything wrong with a template in any currency (minimums are pre-flight's job)."""
    problems = list(_template_name(template.name))
    problems += _naming(template)
    problems += _campaign(template.campaign)
    problems += _catalog(template)
    problems += _adgroups(template)
    problems += _ad(template.ad)
    return problems


def check_for_launch(
    template: Template, *, currency: str, tracker_connected: bool
) -> list[Problem]:
    """What stops this (valid) template from launching in one ad account: its currency's
    budget minimums and cents, and a tracker macro in the URL when a tracker is connected."""
    problems: list[Problem] = []
    amounts = [("campaign.budget", template.campaign.budget)]
    for i, group in enumerate(template.adgroups):
        amounts += [(f"adgroups[{i}].budget", group.budget), (f"adgroups[{i}].bid", group.bid)]
    problems += [p for path, amount in amounts for p in _decimals(path, amount, currency)]
    problems += _minimum("campaign", "campaign.budget", template.campaign, currency)
    for i, group in enumerate(template.adgroups):
        problems += _minimum("adgroup", f"adgroups[{i}].budget", group, currency)
    if tracker_connected:
        problems += _tracker_macro(template.ad.landing_url)
    return problems


def launch_warnings(template: Template, *, currency: str) -> list[Problem]:
    """What pre-flight cannot check in one ad account's currency: budgets whose TikTok minimum
    is not known (spec §4.2 cites USD daily minimums only). TikTok's refusal then tells, when
    that campaign or ad group is created; the plan says so instead of refusing the launch."""
    budgets = [("campaign", template.campaign)] if template.campaign.budget is not None else []
    budgets += [("adgroup", g) for g in template.adgroups if g.budget is not None]
    if all(
        spec.budget_mode == "BUDGET_MODE_INFINITE"
        or budget_minimum(level, currency, spec.budget_mode) is not None
        for level, spec in budgets
    ):
        return []
    # A currency with known daily minimums (USD) lacks only the lifetime ones.
    known = any(budget_minimum(lv, currency, "BUDGET_MODE_DAY") for lv in ("campaign", "adgroup"))
    code = "lifetime_minimum_unknown" if known else "minimum_unknown"
    return [Problem("", code, {"currency": currency})]


def needs_pixel(template: Template) -> bool:
    """Whether the launch must give each account's pixel_id (a pixel-event goal, spec §4.6)."""
    return any(g.optimization_goal in PIXEL_GOALS for g in template.adgroups)


# ---- the template's own name and the name patterns ------------------------------------------


def _template_name(name: str) -> Iterator[Problem]:
    yield from _text("name", name, TEMPLATE_NAME_MAX)


def _naming(template: Template) -> Iterator[Problem]:
    for level in naming.LEVELS:
        path = f"naming.{level}"
        pattern = getattr(template.naming, level)
        # spec §4.2/§4.6/§4.9: names ≤ 512 characters (CJK double), no emoji.
        yield from _text(path, pattern, naming.NAME_MAX, measure=naming.width)
        yield from _macros(path, pattern, level)


def _macros(path: str, pattern: str, level: str) -> Iterator[Problem]:
    for macro in naming.macros_in(pattern):
        name = naming.macro_name(macro)
        if name is None:
            yield Problem(path, "macro_unknown", {"macro": macro})
        elif name not in naming.LEVEL_MACROS[level]:
            yield Problem(path, "macro_not_available", {"macro": macro, "level": level})


# ---- campaign (spec §4.2) -------------------------------------------------------------------


def _campaign(campaign: CampaignSpec) -> Iterator[Problem]:
    objectives = OBJECTIVE_TYPES + CATALOG_OBJECTIVES  # the latter with a catalog (_catalog)
    yield from _enum("campaign.objective_type", campaign.objective_type, objectives)
    yield from _enum("campaign.budget_mode", campaign.budget_mode, CAMPAIGN_BUDGET_MODES)
    # spec §4.2: budget required when mode is DAY, TOTAL or DYNAMIC_DAILY_BUDGET.
    if campaign.budget_mode == "BUDGET_MODE_INFINITE":
        if campaign.budget is not None:
            yield Problem("campaign.budget", "not_allowed", {"budget_mode": campaign.budget_mode})
        return
    if campaign.budget is None:
        yield Problem("campaign.budget", "required")
        return
    yield from _amount("campaign.budget", campaign.budget)


def _catalog(template: Template) -> Iterator[Problem]:
    """A catalog target goes with a catalog objective, and such an objective needs one; its ids
    are TikTok's 64-bit numbers (spec §1.7)."""
    cat, objective = template.catalog, template.campaign.objective_type
    if cat is None:
        if objective in CATALOG_OBJECTIVES:
            yield Problem("catalog", "required")
        return
    if objective not in CATALOG_OBJECTIVES:
        yield Problem("catalog", "not_allowed", {"objective": objective})
    for name in ("bc_id", "catalog_id", "product_set_id"):
        value = getattr(cat, name)
        if not value.isascii() or not value.isdigit() or len(value) > 20:
            yield Problem(f"catalog.{name}", "invalid", {"value": value[:40]})


# ---- ad groups (spec §4.6) ------------------------------------------------------------------


def _adgroups(template: Template) -> Iterator[Problem]:
    if not template.adgroups:
        yield Problem("adgroups", "required")
    elif len(template.adgroups) > ADGROUPS_MAX:
        yield Problem("adgroups", "too_many", {"max": ADGROUPS_MAX})
    seen: dict[str, int] = {}
    for i, group in enumerate(template.adgroups):
        path = f"adgroups[{i}]"
        key = group.geo.strip().casefold()
        if key and key in seen:
            yield Problem(f"{path}.geo", "duplicate", {"index": seen[key]})
        seen.setdefault(key, i)
        yield from _adgroup(path, group, template.campaign)


def _adgroup(path: str, g: AdGroupSpec, campaign: CampaignSpec) -> Iterator[Problem]:
    yield from _text(f"{path}.geo", g.geo, GEO_LABEL_MAX)
    yield from _targeting(path, g)
    yield from _placement(path, g)
    yield from _goal(path, g, campaign.objective_type)
    yield from _budget(path, g)
    yield from _bid(path, g, campaign)
    yield from _schedule(path, g)
    yield from _enum(f"{path}.pacing", g.pacing, PACINGS)


def _targeting(path: str, g: AdGroupSpec) -> Iterator[Problem]:
    # spec §4.6: at least one location, ≤ 3000; ids are numbers sent as strings (§4.5).
    if not g.location_ids:
        yield Problem(f"{path}.location_ids", "required")
    elif len(g.location_ids) > LOCATIONS_MAX:
        yield Problem(f"{path}.location_ids", "too_many", {"max": LOCATIONS_MAX})
    for j, loc in enumerate(g.location_ids):
        if not loc.isascii() or not loc.isdigit():
            yield Problem(f"{path}.location_ids[{j}]", "invalid", {"value": loc})
    for j, lang in enumerate(g.languages):
        if not _LANGUAGE.match(lang):
            yield Problem(f"{path}.languages[{j}]", "invalid", {"value": lang})
    yield from _enum(f"{path}.gender", g.gender, GENDERS)
    for j, age in enumerate(g.age_groups):
        yield from _enum(f"{path}.age_groups[{j}]", age, AGE_GROUPS)
    yield from _audiences(path, g)


def _audiences(path: str, g: AdGroupSpec) -> Iterator[Problem]:
    # Audience ids are numbers sent as strings (spec §1.7); one id cannot be both included
    # and excluded.
    for key in ("audience_ids", "excluded_audience_ids"):
        ids = getattr(g, key)
        if len(ids) > AUDIENCES_MAX:
            yield Problem(f"{path}.{key}", "too_many", {"max": AUDIENCES_MAX})
        for j, aud in enumerate(ids):
            if not aud.isascii() or not aud.isdigit() or len(aud) > 20:
                yield Problem(f"{path}.{key}[{j}]", "invalid", {"value": aud})
    for j, aud in enumerate(g.excluded_audience_ids):
        if aud in g.audience_ids:
            yield Problem(f"{path}.excluded_audience_ids[{j}]", "duplicate", {"value": aud})
    seen: set[str] = set()
    for k, picks in enumerate(g.account_audiences):
        at = f"{path}.account_audiences[{k}]"
        if picks.advertiser_id in seen:
            yield Problem(f"{at}.advertiser_id", "duplicate", {"value": picks.advertiser_id})
        seen.add(picks.advertiser_id)
        for key in ("include", "exclude"):
            ids = getattr(picks, key)
            if len(ids) > AUDIENCES_MAX:
                yield Problem(f"{at}.{key}", "too_many", {"max": AUDIENCES_MAX})
            for j, aud in enumerate(ids):
                if not _numeric_id(aud):
                    yield Problem(f"{at}.{key}[{j}]", "invalid", {"value": aud})
        for j, aud in enumerate(picks.exclude):
            if aud in picks.include:
                yield Problem(f"{at}.exclude[{j}]", "duplicate", {"value": aud})


def _numeric_id(value: str) -> bool:
    """A TikTok id: digits sent as a string (spec §1.7), at most 20 of them."""
    return value.isascii() and value.isdigit() and len(value) <= 20


def _placement(path: str, g: AdGroupSpec) -> Iterator[Problem]:
    yield from _enum(f"{path}.placement_type", g.placement_type, PLACEMENT_TYPES)
    # spec §4.6: placements are required with PLACEMENT_TYPE_NORMAL (and mean nothing with
    # automatic placement).
    if g.placement_type == "PLACEMENT_TYPE_NORMAL" and not g.placements:
        yield Problem(f"{path}.placements", "required")
    if g.placement_type == "PLACEMENT_TYPE_AUTOMATIC" and g.placements:
        yield Problem(f"{path}.placements", "not_allowed", {"placement_type": g.placement_type})
    for j, placement in enumerate(g.placements):
        yield from _enum(f"{path}.placements[{j}]", placement, PLACEMENTS)


def _goal(path: str, g: AdGroupSpec, objective: str) -> Iterator[Problem]:
    goal_path, billing_path = f"{path}.optimization_goal", f"{path}.billing_event"
    goal_problems = list(_enum(goal_path, g.optimization_goal, OPTIMIZATION_GOALS))
    yield from goal_problems
    goals = GOALS_BY_OBJECTIVE.get(objective)
    if not goal_problems and goals is not None and g.optimization_goal not in goals:
        yield Problem(goal_path, "not_allowed", {"allowed": list(goals), "objective": objective})
    billing_problems = list(_enum(billing_path, g.billing_event, BILLING_EVENTS))
    yield from billing_problems
    billings = BILLING_BY_GOAL.get(g.optimization_goal)
    if not billing_problems and billings is not None and g.billing_event not in billings:
        yield Problem(billing_path, "not_allowed", {"allowed": list(billings)})
    event_path = f"{path}.optimization_event"
    # spec §4.6: a website conversion goal needs pixel_id + optimization_event.
    if g.optimization_goal in PIXEL_GOALS:
        if not g.optimization_event:
            yield Problem(event_path, "required")
        elif not _EVENT.match(g.optimization_event):
            yield Problem(event_path, "invalid", {"value": g.optimization_event})
    elif g.optimization_event is not None:
        yield Problem(event_path, "not_allowed", {"optimization_goal": g.optimization_goal})


def _budget(path: str, g: AdGroupSpec) -> Iterator[Problem]:
    yield from _enum(f"{path}.budget_mode", g.budget_mode, ADGROUP_BUDGET_MODES)
    yield from _amount(f"{path}.budget", g.budget)


def _bid(path: str, g: AdGroupSpec, campaign: CampaignSpec) -> Iterator[Problem]:
    yield from _enum(f"{path}.bid_type", g.bid_type, BID_TYPES)
    bid_path = f"{path}.bid"
    if g.bid_type != "BID_TYPE_CUSTOM":
        if g.bid is not None:
            yield Problem(bid_path, "not_allowed", {"bid_type": g.bid_type})
        return
    # spec §4.6: BID_TYPE_CUSTOM needs bid_price (CPC/CPM/CPV) or conversion_bid_price (OCPM).
    if g.bid is None:
        yield Problem(bid_path, "bid_required")
        return
    problems = list(_amount(bid_path, g.bid))
    yield from problems
    if problems:
        return
    # spec §4.6 / §4.11: bids must be below the campaign / ad-group budget.
    for budget in (g.budget, campaign.budget):
        if budget is not None and budget.is_finite() and budget > 0 and g.bid >= budget:
            yield Problem(bid_path, "bid_not_below_budget", {"budget": budget})
            return


def _schedule(path: str, g: AdGroupSpec) -> Iterator[Problem]:
    yield from _enum(f"{path}.schedule_type", g.schedule_type, SCHEDULE_TYPES)
    days_path = f"{path}.run_days"
    # spec §4.6 / §4.11: BUDGET_MODE_TOTAL needs SCHEDULE_START_END (an end date).
    if g.budget_mode == "BUDGET_MODE_TOTAL" and g.schedule_type == "SCHEDULE_FROM_NOW":
        yield Problem(f"{path}.schedule_type", "schedule_end_required")
    if g.schedule_type == "SCHEDULE_START_END":
        if g.run_days is None:
            yield Problem(days_path, "required")
        elif not 1 <= g.run_days <= RUN_DAYS_MAX:
            yield Problem(days_path, "out_of_range", {"min": 1, "max": RUN_DAYS_MAX})
    elif g.run_days is not None:
        yield Problem(days_path, "not_allowed", {"schedule_type": g.schedule_type})


# ---- ad (spec §4.9) -------------------------------------------------------------------------


def _ad(ad: AdSpec) -> Iterator[Problem]:
    if not ad.texts:
        yield Problem("ad.texts", "required")
    elif len(ad.texts) > AD_TEXTS_MAX:
        yield Problem("ad.texts", "too_many", {"max": AD_TEXTS_MAX})
    for j, text in enumerate(ad.texts):
        # spec §4.9: ad_text 1–100 characters, no emoji.
        yield from _text(f"ad.texts[{j}]", text, AD_TEXT_MAX)
    yield from _enum("ad.call_to_action", ad.call_to_action, CALLS_TO_ACTION)
    yield from _url("ad.landing_url", ad.landing_url)
    # spec §6.2: a custom identity's display_name ≤ 100 characters.
    yield from _text("ad.identity_name", ad.identity_name, IDENTITY_NAME_MAX)


def _url(path: str, url: str) -> Iterator[Problem]:
    if not url.strip():
        yield Problem(path, "required")
        return
    if not _is_web_url(url):
        yield Problem(path, "url_invalid")


def _is_web_url(url: str) -> bool:
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and "." in host.strip(".")


def _tracker_macro(url: str) -> Iterator[Problem]:
    if not any(macro in url for macro in TRACKER_MACROS):
        yield Problem("ad.landing_url", "url_macro_missing", {"macros": list(TRACKER_MACROS)})


# ---- shared checks --------------------------------------------------------------------------


def _text(
    path: str, text: str, limit: int, measure: Callable[[str], int] = len
) -> Iterator[Problem]:
    if not text.strip():
        yield Problem(path, "required")
        return
    if measure(text) > limit:
        yield Problem(path, "too_long", {"max": limit})
    if naming.EMOJI.search(text):
        yield Problem(path, "emoji_not_allowed")


def _enum(path: str, value: str, allowed: tuple[str, ...]) -> Iterator[Problem]:
    if not value:
        yield Problem(path, "required")
    elif value not in allowed:
        yield Problem(path, "enum", {"value": value, "allowed": list(allowed)})


def _amount(path: str, amount: Decimal) -> Iterator[Problem]:
    if not amount.is_finite() or amount <= 0:
        yield Problem(path, "not_positive")
    elif _decimal_places(amount) > AMOUNT_DECIMALS:
        yield Problem(path, "too_many_decimals", {"max": AMOUNT_DECIMALS})


def _decimals(path: str, amount: Decimal | None, currency: str) -> Iterator[Problem]:
    # A currency without minor units (JPY, KRW ...) takes whole amounts only.
    digits = min(AMOUNT_DECIMALS, get_currency_precision(currency.upper()))
    if amount is not None and amount.is_finite() and _decimal_places(amount) > digits:
        yield Problem(path, "too_many_decimals", {"max": digits, "currency": currency})


def _minimum(
    level: str, path: str, spec: CampaignSpec | AdGroupSpec, currency: str
) -> Iterator[Problem]:
    # spec §4.2 [U]: daily minimums per currency, kept in core.changes (USD only: the spec
    # cites no other); launch_warnings says where none is known.
    minimum = budget_minimum(level, currency, spec.budget_mode)
    budget = spec.budget
    if minimum is None or budget is None or not budget.is_finite() or budget <= 0:
        return  # no known minimum, or already not_positive
    if budget < minimum:
        yield Problem(path, "budget_below_minimum", {"minimum": minimum, "currency": currency})


def _decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
