"""How a template reads as text: names of API values, what is wrong with it (every validation
and import code), and its summary."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from aiogram import html
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.views.common import cut, quoted
from core.money import money
from core.templates.model import PIXEL_GOALS, AdGroupSpec, Template
from core.templates.naming import LEVEL_MACROS, MACROS
from core.templates.validate import Problem

TEXT_LIMIT = 3800  # under Telegram's 4096 (counted after entities; our HTML is longer)
PROBLEMS_SHOWN = 12
_SEG = re.compile(r"^(?P<key>[^\[\]]*)(?:\[(?P<i>\d+)\])?$")


def _loc() -> str:
    return get_i18n().current_locale


def amount(value: Decimal | None) -> str:
    """An amount without a currency (templates are in each ad account's own currency)."""
    if value is None:
        return _("not set")
    return format_decimal(value, format="#,##0.00", locale=_loc())


# ---- names of API values --------------------------------------------------------------------


def choice_name(value: str) -> str:
    """A readable name for an API enum value (the value itself when there is none)."""
    names = {
        "WEB_CONVERSIONS": _("Website conversions"),
        "TRAFFIC": _("Traffic"),
        "REACH": _("Reach"),
        "VIDEO_VIEWS": _("Video views"),
        "PRODUCT_SALES": _("Product sales (catalog)"),
        "BUDGET_MODE_INFINITE": _("No limit"),
        "BUDGET_MODE_DAY": _("Daily"),
        "BUDGET_MODE_TOTAL": _("Lifetime"),
        "BUDGET_MODE_DYNAMIC_DAILY_BUDGET": _("Dynamic daily"),
        "PLACEMENT_TYPE_AUTOMATIC": _("Automatic"),
        "PLACEMENT_TYPE_NORMAL": _("Selected placements"),
        "PLACEMENT_TIKTOK": "TikTok",
        "PLACEMENT_PANGLE": "Pangle",
        "PLACEMENT_GLOBAL_APP_BUNDLE": _("Global App Bundle"),
        "GENDER_UNLIMITED": _("All genders"),
        "GENDER_MALE": _("Men"),
        "GENDER_FEMALE": _("Women"),
        "AGE_13_17": "13–17",
        "AGE_18_24": "18–24",
        "AGE_25_34": "25–34",
        "AGE_35_44": "35–44",
        "AGE_45_54": "45–54",
        "AGE_55_100": "55+",
        "CONVERT": _("Conversions"),
        "CLICK": _("Clicks"),
        "TRAFFIC_LANDING_PAGE_VIEW": _("Landing page views"),
        "VIDEO_VIEW": _("Video views"),
        "OCPM": "oCPM",
        "CPC": "CPC",
        "CPM": "CPM",
        "CPV": "CPV",
        "BID_TYPE_NO_BID": _("Lowest cost"),
        "BID_TYPE_CUSTOM": _("Custom bid"),
        "SCHEDULE_FROM_NOW": _("From launch, no end"),
        "SCHEDULE_START_END": _("From launch for a number of days"),
        "PACING_MODE_SMOOTH": _("Standard pacing"),
        "PACING_MODE_FAST": _("Accelerated pacing"),
        "COMPLETE_PAYMENT": _("Complete payment"),
        "ON_WEB_ORDER": _("Place an order"),
        "INITIATE_ORDER": _("Initiate checkout"),
        "ON_WEB_CART": _("Add to cart"),
        "ON_WEB_REGISTER": _("Complete registration"),
        "FORM": _("Submit form"),
        **_cta_names(),
    }
    return names.get(value, value)


def _cta_names() -> dict[str, str]:
    return {
        "LEARN_MORE": _("Learn more"),
        "SHOP_NOW": _("Shop now"),
        "SIGN_UP": _("Sign up"),
        "DOWNLOAD_NOW": _("Download now"),
        "CONTACT_US": _("Contact us"),
        "APPLY_NOW": _("Apply now"),
        "BOOK_NOW": _("Book now"),
        "ORDER_NOW": _("Order now"),
        "PLAY_GAME": _("Play game"),
        "WATCH_NOW": _("Watch now"),
        "READ_MORE": _("Read more"),
        "VIEW_NOW": _("View now"),
        "GET_QUOTE": _("Get quote"),
        "SUBSCRIBE": _("Subscribe"),
        "INSTALL_NOW": _("Install now"),
        "CALL_NOW": _("Call now"),
        "LISTEN_NOW": _("Listen now"),
        "INTERESTED": _("Interested"),
        "GET_TICKETS_NOW": _("Get tickets now"),
        "GET_SHOWTIMES": _("Get showtimes"),
        "PREORDER_NOW": _("Pre-order now"),
        "VISIT_STORE": _("Visit store"),
        "EXPERIENCE_NOW": _("Experience now"),
        "SEND_MESSAGE": _("Send message"),
        "VIEW_PROFILE": _("View profile"),
        "WATCH_LIVE": _("Watch live"),
    }


def _level_name(level: str) -> str:
    return {"campaign": _("campaign"), "adgroup": _("ad group"), "ad": _("ad")}.get(level, level)


def macros_hint(level: str | None = None) -> str:
    names = [m for m in MACROS if level is None or m in LEVEL_MACROS[level]]
    out = ["{" + m + "}" for m in names]
    if "n" in names:
        out.append("{n:03}")
    return ", ".join(out)


# ---- what is wrong: every validate.CODES and document.IMPORT_CODES code ------------------------


def _field_names() -> dict[str, str]:
    return {
        "objective_type": _("objective"),
        "budget_mode": _("budget type"),
        "budget": _("budget"),
        "geo": _("geo label"),
        "location_ids": _("locations"),
        "languages": _("languages"),
        "gender": _("gender"),
        "age_groups": _("ages"),
        "placement_type": _("placement"),
        "placements": _("placements"),
        "optimization_goal": _("optimization goal"),
        "optimization_event": _("pixel event"),
        "billing_event": _("billing event"),
        "bid_type": _("bid strategy"),
        "bid": _("bid"),
        "schedule_type": _("schedule"),
        "run_days": _("days to run"),
        "pacing": _("pacing"),
        "comments_disabled": _("comments"),
        "audience_ids": _("included audiences"),
        "excluded_audience_ids": _("excluded audiences"),
        "texts": _("ad texts"),
        "call_to_action": _("call to action"),
        "landing_url": _("landing URL"),
        "identity_name": _("identity name"),
        "catalog_id": _("catalog"),
        "product_set_id": _("product set"),
        "bc_id": _("Business Center"),
    }


def _item_name(key: str, n: int) -> str:
    names = {
        "location_ids": _("location {n}"),
        "languages": _("language {n}"),
        "age_groups": _("age group {n}"),
        "placements": _("placement {n}"),
        "audience_ids": _("included audience {n}"),
        "excluded_audience_ids": _("excluded audience {n}"),
        "texts": _("ad text {n}"),
    }
    return names[key].format(n=n) if key in names else f"{html.quote(cut(key, 40))} {n}"


def field_label(path: str, template: Template | None = None) -> str:
    """A dotted path as a reader says it: `Ad group 2 (DE) › budget`."""
    if not path:
        return _("The file")
    top_names = {
        "name": _("Template name"),
        "format": _("Format"),
        "version": _("Version"),
        "campaign": _("Campaign"),
        "adgroups": _("Ad groups"),
        "ad": _("Ad"),
        "naming": _("Names"),
        "catalog": _("Catalog"),
    }
    naming_names = {
        "campaign": _("campaign name pattern"),
        "adgroup": _("ad group name pattern"),
        "ad": _("ad name pattern"),
    }
    labels: list[str] = []
    top = ""
    for seg in path.split("."):
        m = _SEG.match(seg)
        key, index = (m["key"], m["i"]) if m else (seg, None)
        if not labels:
            top = key
            if key == "adgroups" and index is not None:
                label = _("Ad group {n}").format(n=int(index) + 1)
                geo = geo_of(template, int(index))
                labels.append(f"{label} ({quoted(geo, 40)})" if geo else label)
                continue
            labels.append(top_names.get(key) or html.quote(cut(key, 40)))
            continue
        if index is not None:
            labels.append(_item_name(key, int(index) + 1))
            continue
        names = naming_names if top == "naming" else _field_names()
        labels.append(names.get(key) or html.quote(cut(key, 40)))
    return " › ".join(labels)


def geo_of(template: Template | None, index: int) -> str:
    if template is None or not 0 <= index < len(template.adgroups):
        return ""
    return template.adgroups[index].geo.strip()


def _allowed(values: Sequence[Any]) -> str:
    names = [choice_name(str(v)) for v in values]
    shown = ", ".join(html.quote(n) for n in names[:8])
    return shown + (", …" if len(names) > 8 else "")


def problem_what(p: Problem) -> str:
    """What is wrong, as a sentence (without where)."""
    q = p.params
    value = quoted(q.get("value", ""), 40)
    field = p.path.rsplit(".", 1)[-1].split("[", 1)[0]
    simple = {
        "required": _("required — it cannot be empty."),
        "emoji_not_allowed": _("TikTok does not accept emoji here."),
        "not_positive": _("must be a number greater than zero."),
        "bid_required": _("a custom bid needs an amount."),
        "schedule_end_required": _(
            "a lifetime budget needs an end: choose «From launch for a number of days»."
        ),
        "url_invalid": _("not a web address — it must start with https:// (or http://)."),
        "unknown_key": _("unknown key — remove it."),
    }
    if p.code in simple:
        return simple[p.code]
    if p.code == "enum":
        return _("«{value}» is not one of the allowed values: {allowed}.").format(
            value=value, allowed=_allowed(q.get("allowed", []))
        )
    if p.code == "too_long":
        return _("too long — at most {max} characters.").format(max=q.get("max"))
    if p.code == "too_many":
        return _("too many — at most {max}.").format(max=q.get("max"))
    if p.code == "not_allowed":
        return _not_allowed(q)
    if p.code == "too_many_decimals":
        if q.get("currency"):
            return _("at most {max} digits after the decimal point in {currency}.").format(
                max=q.get("max"), currency=quoted(q["currency"], 8)
            )
        return _("at most {max} digits after the decimal point.").format(max=q.get("max"))
    if p.code == "out_of_range":
        return _("must be a whole number from {min} to {max}.").format(
            min=q.get("min"), max=q.get("max")
        )
    if p.code == "invalid":
        return _invalid(field, value)
    if p.code == "duplicate" and field == "excluded_audience_ids":
        return _("«{value}» is also included — an audience cannot be both.").format(value=value)
    if p.code == "duplicate":
        return _("the same geo as ad group {n}.").format(n=int(q.get("index", 0)) + 1)
    if p.code == "budget_below_minimum":
        return _("below TikTok's minimum of {minimum}.").format(
            minimum=money(Decimal(str(q["minimum"])), str(q["currency"]), _loc())
        )
    if p.code == "bid_not_below_budget":
        return _("the bid must be lower than the budget ({budget}).").format(
            budget=amount(Decimal(str(q["budget"])))
        )
    if p.code == "url_macro_missing":
        return _("add a tracker macro ({macros}) so your tracker can match clicks to ads.").format(
            macros=", ".join(q.get("macros", []))
        )
    if p.code == "macro_unknown":
        return _("{macro} is not a macro. Available: {macros}.").format(
            macro=quoted("{" + str(q.get("macro", "")) + "}", 40), macros=macros_hint()
        )
    if p.code == "macro_not_available":
        level = str(q.get("level", ""))
        return _("{macro} has no single value in a {level} name; available: {macros}.").format(
            macro=quoted("{" + str(q.get("macro", "")) + "}", 40),
            level=_level_name(level),
            macros=macros_hint(level) if level in LEVEL_MACROS else macros_hint(),
        )
    return _import_what(p)


def _not_allowed(q: dict[str, Any]) -> str:
    if "allowed" in q and "objective" in q:
        return _("the objective «{objective}» offers only: {allowed}.").format(
            objective=choice_name(str(q["objective"])), allowed=_allowed(q["allowed"])
        )
    if "allowed" in q:
        return _("only this fits here: {allowed}.").format(allowed=_allowed(q["allowed"]))
    setting = next(iter(q.values()), "")
    return _("must be left empty with «{setting}».").format(
        setting=html.quote(choice_name(str(setting)))
    )


def _invalid(field: str, value: str) -> str:
    if field == "location_ids":
        return _("«{value}» is not a TikTok location id (digits only, like 6252001).").format(
            value=value
        )
    if field == "languages":
        return _("«{value}» is not a language code (like en or pt-BR).").format(value=value)
    if field == "optimization_event":
        return _(
            "«{value}» is not a pixel event name (capital letters, digits and _, like "
            "COMPLETE_PAYMENT)."
        ).format(value=value)
    if field == "run_days":
        return _("«{value}» is not a whole number of days.").format(value=value)
    if field in ("audience_ids", "excluded_audience_ids"):
        return _("«{value}» is not a TikTok audience id (digits only; see 👥 Audiences).").format(
            value=value
        )
    return _("«{value}» is not valid here.").format(value=value)


def _import_what(p: Problem) -> str:
    q = p.params
    if p.code == "wrong_type":
        expected = {
            "object": _("a JSON object"),
            "string": _("text (a JSON string)"),
            "boolean": _("true or false"),
            "integer": _("a whole number"),
            "list": _("a list"),
            "amount": _('an amount written as a string, like "50.00"'),
        }.get(str(q.get("expected")), quoted(q.get("expected", ""), 20))
        return _("must be {expected}.").format(expected=expected)
    if p.code == "amount_invalid":
        return _("«{value}» is not an amount — write it like 50 or 12.50.").format(
            value=quoted(q.get("value", ""), 40)
        )
    if p.code == "format_unknown":
        return _("this is not a TTPulse template (the format must be «{expected}»).").format(
            expected=quoted(q.get("expected", ""), 40)
        )
    if p.code == "version_unsupported":
        return _("this template version is not supported (supported: {supported}).").format(
            supported=", ".join(str(v) for v in q.get("supported", []))
        )
    return html.quote(p.code)


def problem_line(p: Problem, template: Template | None = None, with_path: bool = False) -> str:
    """`• <b>Ad group 1 (US) › budget</b>: must be a number greater than zero.`"""
    where = f"<b>{field_label(p.path, template)}</b>"
    if with_path and p.path:
        where += f" (<code>{quoted(p.path, 80)}</code>)"
    return f"• {where}: {problem_what(p)}"


def problems_text(
    problems: Sequence[Problem],
    template: Template | None = None,
    with_path: bool = False,
    limit: int = 1600,
) -> str:
    """The problems one per line, as many as fit in `limit` characters, then how many more."""
    lines: list[str] = []
    used = 0
    for p in problems[:PROBLEMS_SHOWN]:
        line = problem_line(p, template, with_path)
        if used + len(line) > limit:
            break
        lines.append(line)
        used += len(line) + 1
    rest = len(problems) - len(lines)
    if rest:
        lines.append(_("…and {n} more.").format(n=rest))
    return "\n".join(lines)


def typed_problems(problems: Sequence[Problem], template: Template) -> str:
    """A typed value that does not fit: what is wrong, and what to do."""
    return (
        _("⚠️ That does not fit:")
        + "\n"
        + problems_text(problems, template)
        + "\n\n"
        + _("Send it again, or /cancel.")
    )


# ---- the template as text -------------------------------------------------------------------


def listed(values: Sequence[str], empty: str, limit: int = 12) -> str:
    if not values:
        return empty
    shown = ", ".join(quoted(v, 40) for v in values[:limit])
    return shown + (_(" and {n} more").format(n=len(values) - limit) if len(values) > limit else "")


def _budget(mode: str, value: Decimal | None) -> str:
    if mode == "BUDGET_MODE_INFINITE":
        return choice_name(mode)
    return f"{html.quote(choice_name(mode))}, {amount(value)}"


def campaign_lines(t: Template) -> list[str]:
    """The campaign, one line per field."""
    c = t.campaign
    lines = [
        _("Objective: {value}").format(value=choice_name(c.objective_type)),
        _("Budget: {value}").format(value=_budget(c.budget_mode, c.budget)),
    ]
    if t.catalog is not None:
        lines.append(_("Catalog: <code>{catalog}</code> · product set <code>{set}</code>").format(
            catalog=quoted(t.catalog.catalog_id, 24), set=quoted(t.catalog.product_set_id, 24)))
    return lines


def audience_picks(g: AdGroupSpec) -> str:
    """What an ad group picked in each ad account's own audiences, in one line."""
    accounts = len(g.account_audiences)
    return ngettext(
        "Audiences picked for {accounts} ad account: {included} included · {excluded} excluded",
        "Audiences picked for {accounts} ad accounts: {included} included · {excluded} excluded",
        accounts,
    ).format(accounts=accounts,
             included=sum(len(p.include) for p in g.account_audiences),
             excluded=sum(len(p.exclude) for p in g.account_audiences))


def group_lines(g: AdGroupSpec) -> list[str]:
    """One ad group, a few lines covering every field."""
    ages = ", ".join(choice_name(a) for a in g.age_groups) if g.age_groups else _("all ages")
    placement = choice_name(g.placement_type)
    if g.placement_type == "PLACEMENT_TYPE_NORMAL":
        placement += ": " + ", ".join(choice_name(p) for p in g.placements)
    goal = choice_name(g.optimization_goal)
    if g.optimization_goal in PIXEL_GOALS:
        event = g.optimization_event or ""
        goal += f" — {html.quote(choice_name(event))}" if event else " — " + _("not set")
    bid = choice_name(g.bid_type)
    if g.bid_type == "BID_TYPE_CUSTOM":
        bid += f" {amount(g.bid)}"
    schedule = choice_name(g.schedule_type)
    if g.schedule_type == "SCHEDULE_START_END":
        schedule = _("{n} days from launch").format(n=g.run_days or "—")
    return [
        _("Locations: {ids}").format(ids=listed(g.location_ids, _("not set"))),
        _("Audience: {gender} · {ages} · languages: {languages}").format(
            gender=choice_name(g.gender), ages=ages, languages=listed(g.languages, _("any"))
        ),
        *([_("Audiences: include {ids} · exclude {excluded}").format(
            ids=listed(g.audience_ids, "—"), excluded=listed(g.excluded_audience_ids, "—"))]
          if g.audience_ids or g.excluded_audience_ids else []),
        *([audience_picks(g)] if g.account_audiences else []),
        _("Placement: {placement}").format(placement=placement),
        _("Goal: {goal} · billing {billing} · bid: {bid}").format(
            goal=goal, billing=choice_name(g.billing_event), bid=bid
        ),
        _("Budget: {budget} · {schedule} · {pacing} · comments {comments}").format(
            budget=_budget(g.budget_mode, g.budget),
            schedule=schedule,
            pacing=choice_name(g.pacing),
            comments=_("off") if g.comments_disabled else _("on"),
        ),
    ]


def ad_lines(t: Template) -> list[str]:
    """The ad, one line per field."""
    a = t.ad
    texts = " · ".join(f"«{quoted(x, 100)}»" for x in a.texts) if a.texts else _("not set")
    url = f"<code>{quoted(a.landing_url, 300)}</code>" if a.landing_url else _("not set")
    return [
        _("Texts: {texts}").format(texts=texts),
        _("Call to action: {cta}").format(cta=choice_name(a.call_to_action)),
        _("Landing URL: {url}").format(url=url),
        _("Identity: {name}").format(name=quoted(a.identity_name, 100) or _("not set")),
    ]


def naming_lines(t: Template) -> list[str]:
    """The name patterns."""
    n = t.naming
    return [
        _("Campaign: {pattern}").format(pattern=f"<code>{quoted(n.campaign, 120)}</code>"),
        _("Ad group: {pattern}").format(pattern=f"<code>{quoted(n.adgroup, 120)}</code>"),
        _("Ad: {pattern}").format(pattern=f"<code>{quoted(n.ad, 120)}</code>"),
    ]


def summary(t: Template, limit: int = TEXT_LIMIT) -> str:
    """Every field of a template, ad groups cut short when they would not fit."""
    head = [
        _("<i>Amounts are in each ad account's own currency.</i>"),
        "",
        _("<b>🎯 Campaign</b>"),
        *campaign_lines(t),
        "",
    ]
    tail = ["", _("<b>📣 Ad</b>"), *ad_lines(t), "", _("<b>🏷 Names</b>"), *naming_lines(t)]
    room = limit - len("\n".join(head + tail)) - 200
    groups = [_("<b>🌍 Ad groups</b> ({n})").format(n=len(t.adgroups))]
    if not t.adgroups:
        groups.append(_("none yet — add a geo"))
    for i, g in enumerate(t.adgroups):
        block = [f"<b>{i + 1}. {quoted(g.geo, 64)}</b>", *(f"   {line}" for line in group_lines(g))]
        size = len("\n".join(block)) + 1
        if size > room:
            groups.append(_("…and {n} more ad groups.").format(n=len(t.adgroups) - i))
            break
        groups += block
        room -= size
    return "\n".join(head + groups + tail)
