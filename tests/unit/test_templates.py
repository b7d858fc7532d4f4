"""Campaign templates: validation codes and paths, naming macros, JSON documents."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.templates.document import (
    IMPORT_CODES,
    TemplateImportError,
    from_document,
    to_document,
)
from core.templates.model import (
    BILLING_BY_GOAL,
    GOALS_BY_OBJECTIVE,
    OBJECTIVE_TYPES,
    PIXEL_GOALS,
    PLACEMENTS,
    AdGroupSpec,
    AdSpec,
    CampaignSpec,
    Naming,
    Template,
)
from core.templates.naming import NameValues, expand, trim, width
from core.templates.validate import (
    CODES,
    WARNING_CODES,
    Problem,
    check_for_launch,
    launch_warnings,
    needs_pixel,
    validate,
)

URL = "https://trk.example.com/AbCd?campaign_id=__CAMPAIGN_ID__&adgroup_id=__AID__&ad_id=__CID__"
DAY = date(2026, 3, 1)


def make_template() -> Template:
    """Two geos of a daily-budget conversion campaign: valid as it stands."""
    return Template(
        name="Glowly conversions",
        campaign=CampaignSpec("WEB_CONVERSIONS", "BUDGET_MODE_DAY", Decimal("100")),
        adgroups=(
            AdGroupSpec(
                geo="US",
                location_ids=("6252001",),
                optimization_event="COMPLETE_PAYMENT",
                budget=Decimal("50"),
            ),
            AdGroupSpec(
                geo="DE",
                location_ids=("2921044",),
                languages=("de",),
                age_groups=("AGE_25_34", "AGE_35_44"),
                optimization_event="COMPLETE_PAYMENT",
                bid_type="BID_TYPE_CUSTOM",
                bid=Decimal("12.50"),
                budget=Decimal("40"),
            ),
        ),
        ad=AdSpec(texts=("Glow in 7 days",), landing_url=URL, identity_name="Glowly"),
    )


def group(t: Template, index: int, **changes: Any) -> Template:
    """The template with one ad group changed."""
    groups = list(t.adgroups)
    groups[index] = replace(groups[index], **changes)
    return replace(t, adgroups=tuple(groups))


def found(problems: list[Problem]) -> set[tuple[str, str]]:
    """(path, code) pairs."""
    return {(p.path, p.code) for p in problems}


def test_the_base_template_is_valid() -> None:
    assert validate(make_template()) == []
    assert needs_pixel(make_template())


# Every validation code at least once: (change to the base template, path, code).
CASES: list[tuple[str, Callable[[Template], Template], str, str]] = [
    ("blank template name", lambda t: replace(t, name="  "), "name", "required"),
    ("no ad groups", lambda t: replace(t, adgroups=()), "adgroups", "required"),
    (
        "daily campaign without budget",
        lambda t: replace(t, campaign=replace(t.campaign, budget=None)),
        "campaign.budget",
        "required",
    ),
    (
        "no locations",
        lambda t: group(t, 1, location_ids=()),
        "adgroups[1].location_ids",
        "required",
    ),
    (
        "conversion goal without pixel event",
        lambda t: group(t, 0, optimization_event=None),
        "adgroups[0].optimization_event",
        "required",
    ),
    (
        "unknown objective",
        lambda t: replace(t, campaign=replace(t.campaign, objective_type="SALES")),
        "campaign.objective_type",
        "enum",
    ),
    ("unknown gender", lambda t: group(t, 1, gender="GENDER_ANY"), "adgroups[1].gender", "enum"),
    (
        "unknown placement",
        lambda t: group(
            t, 0, placement_type="PLACEMENT_TYPE_NORMAL", placements=("PLACEMENT_TOPBUZZ",)
        ),
        "adgroups[0].placements[0]",
        "enum",
    ),
    (
        "unknown call to action",
        lambda t: replace(t, ad=replace(t.ad, call_to_action="BUY")),
        "ad.call_to_action",
        "enum",
    ),
    (
        "ad text over 100 characters",
        lambda t: replace(t, ad=replace(t.ad, texts=("ok", "x" * 101))),
        "ad.texts[1]",
        "too_long",
    ),
    (
        "campaign name pattern over 512 characters",
        lambda t: replace(t, naming=Naming(campaign="c" * 513)),
        "naming.campaign",
        "too_long",
    ),
    (
        "CJK counts double in names",
        lambda t: replace(t, naming=Naming(adgroup="广" * 257)),
        "naming.adgroup",
        "too_long",
    ),
    (
        "more than 3000 locations",
        lambda t: group(t, 0, location_ids=tuple(str(i) for i in range(1, 3002))),
        "adgroups[0].location_ids",
        "too_many",
    ),
    (
        "emoji in an ad text",
        lambda t: replace(t, ad=replace(t.ad, texts=("Glow 🚀",))),
        "ad.texts[0]",
        "emoji_not_allowed",
    ),
    (
        "goal the objective does not offer",
        lambda t: group(t, 0, optimization_goal="CLICK", billing_event="CPC"),
        "adgroups[0].optimization_goal",
        "not_allowed",
    ),
    (
        "billing event the goal is not paid by",
        lambda t: group(t, 0, billing_event="CPC"),
        "adgroups[0].billing_event",
        "not_allowed",
    ),
    (
        "bid with the no-bid strategy",
        lambda t: group(t, 0, bid=Decimal("3")),
        "adgroups[0].bid",
        "not_allowed",
    ),
    (
        "zero budget",
        lambda t: group(t, 0, budget=Decimal("0")),
        "adgroups[0].budget",
        "not_positive",
    ),
    (
        "fractions of a cent",
        lambda t: group(t, 0, budget=Decimal("50.005")),
        "adgroups[0].budget",
        "too_many_decimals",
    ),
    (
        "zero-day run",
        lambda t: group(t, 1, schedule_type="SCHEDULE_START_END", run_days=0),
        "adgroups[1].run_days",
        "out_of_range",
    ),
    (
        "location that is not an id",
        lambda t: group(t, 0, location_ids=("6252001", "US")),
        "adgroups[0].location_ids[1]",
        "invalid",
    ),
    (
        "the same geo twice",
        lambda t: group(t, 1, geo="us"),
        "adgroups[1].geo",
        "duplicate",
    ),
    (
        "custom bid without a bid",
        lambda t: group(t, 1, bid=None),
        "adgroups[1].bid",
        "bid_required",
    ),
    (
        "bid not below the ad group budget",
        lambda t: group(t, 1, bid=Decimal("40")),
        "adgroups[1].bid",
        "bid_not_below_budget",
    ),
    (
        "lifetime budget without an end",
        lambda t: group(t, 0, budget_mode="BUDGET_MODE_TOTAL"),
        "adgroups[0].schedule_type",
        "schedule_end_required",
    ),
    (
        "landing URL without a scheme",
        lambda t: replace(t, ad=replace(t.ad, landing_url="shop.example.com/p")),
        "ad.landing_url",
        "url_invalid",
    ),
    (
        "unknown macro in a name pattern",
        lambda t: replace(t, naming=Naming(campaign="{date} {acount}")),
        "naming.campaign",
        "macro_unknown",
    ),
    (
        "badly written counter",
        lambda t: replace(t, naming=Naming(ad="{creative} {n:x}")),
        "naming.ad",
        "macro_unknown",
    ),
    (
        "creative macro at campaign level",
        lambda t: replace(t, naming=Naming(campaign="{date} {creative}")),
        "naming.campaign",
        "macro_not_available",
    ),
]


@pytest.mark.parametrize(
    ("change", "path", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_validation_finds_each_problem_where_it_is(
    change: Callable[[Template], Template], path: str, code: str
) -> None:
    problems = validate(change(make_template()))
    assert (path, code) in found(problems), problems
    assert all(p.code in CODES for p in problems)


def test_every_validation_code_has_a_case() -> None:
    # Tested with check_for_launch below: they depend on the ad account.
    launch_only = {"url_macro_missing", "budget_below_minimum"}
    assert {c[3] for c in CASES} | launch_only == set(CODES)


def test_problem_params_tell_the_bot_what_to_say() -> None:
    t = replace(make_template(), campaign=replace(make_template().campaign, budget=Decimal(30)))
    [problem] = check_for_launch(t, currency="USD", tracker_connected=False)
    assert problem == Problem(
        "campaign.budget", "budget_below_minimum", {"minimum": Decimal(50), "currency": "USD"}
    )
    [enum] = validate(group(make_template(), 0, pacing="FAST"))
    assert enum.params == {"value": "FAST", "allowed": ["PACING_MODE_SMOOTH", "PACING_MODE_FAST"]}
    [macro] = validate(replace(make_template(), naming=Naming(adgroup="{geo} {creative}")))
    assert macro.params == {"macro": "creative", "level": "adgroup"}


@pytest.mark.parametrize(
    "url",
    ["ftp://trk.example.com/x", "https://", "https://trk example.com/", "https://localhost/x", ""],
)
def test_landing_url_must_be_a_web_address(url: str) -> None:
    codes = {
        p.code
        for p in validate(replace(make_template(), ad=replace(make_template().ad, landing_url=url)))
    }
    assert codes & {"url_invalid", "required"}


def test_a_template_has_no_currency_so_minimums_wait_for_the_account() -> None:
    cheap = replace(make_template(), campaign=replace(make_template().campaign, budget=Decimal(30)))
    small = group(cheap, 1, budget=Decimal(19), bid=Decimal(5))
    # 30 and 19 are fine as amounts: whether they are too low depends on the account.
    assert validate(small) == []
    assert found(check_for_launch(small, currency="USD", tracker_connected=False)) == {
        ("campaign.budget", "budget_below_minimum"),
        ("adgroups[1].budget", "budget_below_minimum"),
    }
    assert launch_warnings(small, currency="USD") == []
    # The spec cites USD minimums only: elsewhere the plan warns and TikTok's refusal decides.
    for currency in ("EUR", "JPY"):  # (whole amounts: JPY has no cents)
        assert check_for_launch(small, currency=currency, tracker_connected=False) == []
        assert launch_warnings(small, currency=currency) == [
            Problem("", "minimum_unknown", {"currency": currency})
        ]
    # A lifetime budget has no known minimum, in USD either.
    total = replace(cheap, campaign=replace(cheap.campaign, budget_mode="BUDGET_MODE_TOTAL"))
    assert validate(total) == []
    assert check_for_launch(total, currency="USD", tracker_connected=False) == []
    assert launch_warnings(total, currency="USD") == [
        Problem("", "lifetime_minimum_unknown", {"currency": "USD"})
    ]
    assert set(WARNING_CODES) == {"minimum_unknown", "lifetime_minimum_unknown"}


def test_launch_checks_cents_against_the_account_currency() -> None:
    t = make_template()  # the DE ad group bids 12.50
    assert check_for_launch(t, currency="USD", tracker_connected=False) == []
    problems = check_for_launch(t, currency="JPY", tracker_connected=False)
    assert found(problems) == {("adgroups[1].bid", "too_many_decimals")}
    assert problems[0].params == {"max": 0, "currency": "JPY"}


def test_tracker_macro_is_required_only_with_a_tracker() -> None:
    plain = replace(
        make_template(), ad=replace(make_template().ad, landing_url="https://shop.example.com/")
    )
    assert validate(plain) == []
    assert check_for_launch(plain, currency="USD", tracker_connected=False) == []
    [problem] = check_for_launch(plain, currency="USD", tracker_connected=True)
    assert (problem.path, problem.code) == ("ad.landing_url", "url_macro_missing")
    assert "__CID__" in problem.params["macros"]
    only_ad = replace(
        plain, ad=replace(plain.ad, landing_url="https://shop.example.com/?a=__CID__")
    )
    assert check_for_launch(only_ad, currency="USD", tracker_connected=True) == []


# ---- naming ---------------------------------------------------------------------------------


def test_macros_expand_with_a_padded_counter() -> None:
    values = NameValues(date=DAY, account="Glowly US", geo="DE", creative="hook_v2.mp4", n=7)
    assert expand("{date}_{account}_{geo}_{creative}_{n:03}", values) == (
        "2026-03-01_Glowly US_DE_hook_v2.mp4_007"
    )
    assert expand("#{n} {creative}", values) == "#7 hook_v2.mp4"
    assert expand("{n:02}", replace(values, n=123)) == "123"  # padding never truncates


def test_values_lose_emoji_and_line_breaks_that_tiktok_refuses() -> None:
    values = NameValues(date=DAY, account="Glowly\nUS", creative="🔥 hook 🔥")
    assert expand("{account} | {creative}", values) == "Glowly US | hook"
    # A name left empty would be refused: it falls back to date and counter.
    assert expand("{creative}", NameValues(date=DAY, creative="🔥🔥", n=3)) == "2026-03-01 3"


def test_unknown_macro_is_an_error_not_a_literal() -> None:
    with pytest.raises(ValueError, match="acount"):
        expand("{acount}", NameValues(date=DAY))


def test_names_are_trimmed_to_512_without_splitting_characters() -> None:
    long = expand("{creative}", NameValues(date=DAY, creative="a" * 600))
    assert long == "a" * 512
    # CJK counts double (spec §4.2): 300 ideographs fit as 256.
    cjk = expand("{creative}", NameValues(date=DAY, creative="广告" * 150))
    assert width(cjk) <= 512 and cjk == ("广告" * 150)[:256]
    # A wide character that would straddle the limit is dropped whole.
    assert trim("a" * 511 + "广") == "a" * 511
    # An accented letter written as letter + combining accent is never cut in two.
    accented = trim("e\u0301" * 300)
    assert accented.endswith("e\u0301") and len(accented) == 512
    assert trim("x" * 511 + "e\u0301") == "x" * 511


# ---- documents ------------------------------------------------------------------------------


def roundtrip(t: Template) -> Template:
    """Export, serialise, parse, import."""
    return from_document(json.loads(json.dumps(to_document(t))))


def test_document_shape_keeps_money_as_strings() -> None:
    doc = to_document(make_template())
    assert doc["format"] == "ttpulse.template" and doc["version"] == 1
    assert doc["campaign"]["budget"] == "100"
    assert doc["adgroups"][1]["bid"] == "12.50"
    assert doc["adgroups"][1]["location_ids"] == ["2921044"]
    assert roundtrip(make_template()) == make_template()


def import_problems(doc: Any) -> set[tuple[str, str]]:
    """(path, code) of an import that must fail."""
    with pytest.raises(TemplateImportError) as info:
        from_document(doc)
    assert info.value.problems
    return found(info.value.problems)


def test_import_rejects_unknown_keys_wrong_types_and_bad_amounts() -> None:
    doc = to_document(make_template())
    doc["adgroups"][0]["colour"] = "red"
    doc["adgroups"][1]["budget"] = 40  # a number, not a string
    doc["campaign"]["budget"] = "-100"
    doc["ad"]["texts"] = "one text"
    assert import_problems(doc) == {
        ("adgroups[0].colour", "unknown_key"),
        ("adgroups[1].budget", "wrong_type"),
        ("campaign.budget", "amount_invalid"),
        ("ad.texts", "wrong_type"),
    }


def test_import_rejects_what_validate_rejects() -> None:
    doc = to_document(make_template())
    doc["adgroups"][1]["bid"] = "45.00"
    doc["naming"]["ad"] = "{creative} {counter}"
    assert import_problems(doc) == {
        ("adgroups[1].bid", "bid_not_below_budget"),
        ("naming.ad", "macro_unknown"),
    }


def test_import_checks_the_header_and_fills_defaults() -> None:
    assert import_problems([]) == {("", "wrong_type")}
    assert import_problems({**to_document(make_template()), "format": "other"}) == {
        ("format", "format_unknown")
    }
    assert import_problems({**to_document(make_template()), "version": 2}) == {
        ("version", "version_unsupported")
    }
    doc = to_document(make_template())
    del doc["ad"]
    assert import_problems(doc) == {("ad", "required")}
    # Keys with a default may be left out of a hand-written document.
    minimal = to_document(make_template())
    del minimal["naming"]
    del minimal["adgroups"][0]["gender"]
    assert from_document(minimal) == make_template()


# ---- properties -----------------------------------------------------------------------------

_words = st.text(
    # Letters and decimal digits of any script (no symbols: TikTok treats dingbats as emoji).
    alphabet=st.characters(categories=("L", "Nd"), max_codepoint=0x2FFF) | st.sampled_from(" -_."),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip())


@st.composite
def templates(draw: st.DrawFn) -> Template:
    """Any valid template."""
    objective = draw(st.sampled_from(OBJECTIVE_TYPES))
    mode = draw(st.sampled_from(["BUDGET_MODE_INFINITE", "BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL"]))
    camp_budget = (
        None if mode == "BUDGET_MODE_INFINITE" else Decimal(draw(st.integers(5000, 10**9))) / 100
    )
    geos = draw(st.lists(_words.map(str.strip), min_size=1, max_size=4, unique_by=str.casefold))
    groups = []
    for geo in geos:
        goal = draw(st.sampled_from(GOALS_BY_OBJECTIVE[objective]))
        budget_mode = draw(st.sampled_from(["BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL"]))
        budget = Decimal(draw(st.integers(2000, 10**9))) / 100
        custom = draw(st.booleans())
        cap = min(b for b in (budget, camp_budget) if b is not None)
        bid = Decimal(draw(st.integers(1, int(cap * 100) - 1))) / 100 if custom else None
        ends = budget_mode == "BUDGET_MODE_TOTAL" or draw(st.booleans())
        placements = draw(st.sampled_from([(), ("PLACEMENT_TIKTOK",), PLACEMENTS]))
        groups.append(
            AdGroupSpec(
                geo=geo,
                location_ids=tuple(
                    draw(st.lists(st.integers(1, 10**8).map(str), min_size=1, max_size=5))
                ),
                languages=tuple(
                    draw(st.lists(st.sampled_from(["en", "de", "pt-BR", "zh-Hant"]), max_size=2))
                ),
                gender=draw(st.sampled_from(["GENDER_UNLIMITED", "GENDER_MALE", "GENDER_FEMALE"])),
                age_groups=tuple(
                    draw(
                        st.lists(
                            st.sampled_from(["AGE_18_24", "AGE_25_34", "AGE_55_100"]),
                            max_size=3,
                            unique=True,
                        )
                    )
                ),
                placement_type="PLACEMENT_TYPE_NORMAL"
                if placements
                else "PLACEMENT_TYPE_AUTOMATIC",
                placements=placements,
                optimization_goal=goal,
                optimization_event="COMPLETE_PAYMENT" if goal in PIXEL_GOALS else None,
                billing_event=draw(st.sampled_from(BILLING_BY_GOAL[goal])),
                bid_type="BID_TYPE_CUSTOM" if custom else "BID_TYPE_NO_BID",
                bid=bid,
                budget_mode=budget_mode,
                budget=budget,
                schedule_type="SCHEDULE_START_END" if ends else "SCHEDULE_FROM_NOW",
                run_days=draw(st.integers(1, 365)) if ends else None,
                pacing=draw(st.sampled_from(["PACING_MODE_SMOOTH", "PACING_MODE_FAST"])),
                comments_disabled=draw(st.booleans()),
            )
        )
    macro = st.sampled_from(["{date}", "{account}", "{n}", "{n:03}", " ", "_", "launch"])
    return Template(
        name=draw(_words.map(lambda s: s[:64])),
        campaign=CampaignSpec(objective, mode, camp_budget),
        adgroups=tuple(groups),
        ad=AdSpec(
            texts=tuple(draw(st.lists(_words, min_size=1, max_size=3))),
            landing_url="https://"
            + draw(st.sampled_from(["trk.example.com", "shop.example.org"]))
            + draw(st.sampled_from(["/", "/?c=__CAMPAIGN_ID__&a=__AID__", "/p?ad=__CID__"])),
            identity_name=draw(_words),
            call_to_action=draw(st.sampled_from(["LEARN_MORE", "SHOP_NOW", "SIGN_UP"])),
        ),
        naming=Naming(
            campaign="".join(draw(st.lists(macro, min_size=1, max_size=4))) + "c",
            adgroup="{geo} " + "".join(draw(st.lists(macro, max_size=3))),
            ad="{creative} {n}",
        ),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(templates())
def test_any_valid_template_roundtrips_through_json(t: Template) -> None:
    assert validate(t) == []
    assert roundtrip(t) == t


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def damaged_documents(draw: st.DrawFn) -> Any:
    """A valid document with one value replaced, one key dropped or one key added."""
    doc = to_document(draw(templates()))
    node: Any = doc
    path: list[Any] = []
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        path.append(key)
        node = node[key]
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "drop", "add"]))
    if not path:
        return draw(_json) if action == "replace" else {**doc, "extra": draw(_json)}
    last = path[-1]
    if action == "replace":
        parent[last] = draw(_json)
    elif action == "drop" and isinstance(parent, dict):
        del parent[last]
    elif isinstance(parent, dict):
        parent[draw(st.text(max_size=8))] = draw(_json)
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_json, damaged_documents()))
def test_garbage_documents_only_ever_raise_import_errors(doc: Any) -> None:
    try:
        template = from_document(doc)
    except TemplateImportError as exc:
        assert exc.problems
        assert all(isinstance(p.path, str) and p.code in CODES + IMPORT_CODES for p in exc.problems)
    else:
        assert validate(template) == []
