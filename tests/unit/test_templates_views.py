"""Template screens: every problem code reads as a sentence with a readable place, and every
screen stays inside Telegram's limits (text, callback data, buttons) even for a big template."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest

from bot.callbacks import TplEditCb
from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import Screen
from bot.views import template_text as tpl_text
from bot.views import templates as view
from core.templates import draft
from core.templates.document import IMPORT_CODES
from core.templates.model import AdGroupSpec, Template
from core.templates.validate import ADGROUPS_MAX, CODES, Problem
from tests.unit.test_templates import make_template

PARAMS = {
    "enum": {"value": "SALES", "allowed": ["WEB_CONVERSIONS", "TRAFFIC"]},
    "too_long": {"max": 100},
    "too_many": {"max": 10},
    "not_allowed": {"budget_mode": "BUDGET_MODE_INFINITE"},
    "too_many_decimals": {"max": 0, "currency": "JPY"},
    "out_of_range": {"min": 1, "max": 3650},
    "invalid": {"value": "USA"},
    "duplicate": {"index": 0},
    "budget_below_minimum": {"minimum": Decimal(20), "currency": "USD"},
    "bid_not_below_budget": {"budget": Decimal(50)},
    "url_macro_missing": {"macros": ["__CAMPAIGN_ID__", "__AID__", "__CID__"]},
    "macro_unknown": {"macro": "country"},
    "macro_not_available": {"macro": "creative", "level": "campaign"},
    "wrong_type": {"expected": "amount"},
    "amount_invalid": {"value": "1e5"},
    "format_unknown": {"expected": "ttpulse.template"},
    "version_unsupported": {"supported": [1]},
}


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        yield


@pytest.mark.parametrize("code", CODES + IMPORT_CODES)
def test_every_problem_code_has_its_own_sentence(code: str) -> None:
    line = plain(
        tpl_text.problem_line(Problem("adgroups[1].location_ids[2]", code, PARAMS.get(code, {})))
    )
    assert line.startswith("• Ad group 2 (DE) › location 3: ") or line.startswith(
        "• Ad group 2 › location 3: "
    )
    what = line.split(": ", 1)[1]
    assert what != code and what.endswith("."), line


def test_places_read_like_a_person_says_them() -> None:
    t = make_template()
    assert tpl_text.field_label("adgroups[1].budget", t) == "Ad group 2 (DE) › budget"
    assert tpl_text.field_label("ad.texts[0]") == "Ad › ad text 1"
    assert tpl_text.field_label("naming.campaign") == "Names › campaign name pattern"
    assert tpl_text.field_label("name") == "Template name"
    assert tpl_text.field_label("") == "The file"
    assert tpl_text.field_label("ad.<b>colour</b>") == "Ad › &lt;b&gt;colour&lt;/b&gt;"
    line = plain(tpl_text.problem_line(Problem("ad.texts[0]", "too_long", {"max": 100}), t, True))
    assert line == "• Ad › ad text 1 (ad.texts[0]): too long — at most 100 characters."
    line = plain(tpl_text.problem_line(Problem("campaign.budget", "not_positive")))
    assert line == "• Campaign › budget: must be a number greater than zero."


def _check(screen: Screen) -> None:
    text, markup = screen
    assert 0 < len(plain(text).encode("utf-16-le")) // 2 <= 4096
    buttons = [b for row in (markup.inline_keyboard if markup else []) for b in row]
    assert len(buttons) <= 100
    for b in buttons:
        assert b.callback_data and len(b.callback_data.encode()) <= 64, b.callback_data


def big() -> Template:
    """The biggest template the rules allow."""
    t = make_template()
    long_ids = tuple(str(6000000 + i) for i in range(3000))
    groups = tuple(
        AdGroupSpec(
            geo=f"{i:02d}" + "Ж" * 62,
            location_ids=long_ids,
            languages=("en", "de", "pt-BR"),
            age_groups=("AGE_18_24", "AGE_25_34"),
            optimization_event="COMPLETE_PAYMENT",
            budget=Decimal("123456789.12"),
        )
        for i in range(ADGROUPS_MAX)
    )
    ad = replace(t.ad, texts=tuple("t" * 100 for _ in range(10)), identity_name="i" * 100)
    return replace(t, name="N" * 64, adgroups=groups, ad=ad)


def test_every_screen_of_a_big_template_fits() -> None:
    t = big()
    problems = [Problem(f"adgroups[{i}].budget", "not_positive") for i in range(40)]
    _check(view.overview(t, True, problems, view.name_taken(t.name)))
    _check(view.groups_screen(t))
    _check(view.group_screen(t, 3))
    _check(view.campaign_screen(t))
    _check(view.ad_screen(t))
    _check(view.names_screen(t))
    _check(view.geo_screen(t, 2))
    _check((view.import_invalid(problems), None))
    for field in ("cta", "age", "ev", "goal", "pl"):
        _check(view.choice_screen(t, field, 49, (3, 11)))
    for field in sorted(draft.TYPED_FIELDS):
        _check(view.ask(t, field, 49, (5, 11), keep=True))


def test_tick_buttons_ask_for_a_state_so_a_double_tap_keeps_it() -> None:
    """Each age button says what it wants (tick an unticked one, untick a ticked one), and the
    comments switch says the state it sets: two presses of one button land the same."""
    t = draft.tick(make_template(), "age", 0, "AGE_25_34", True)
    _, markup = view.choice_screen(t, "age", 0)
    assert markup is not None
    wants = {b.text: TplEditCb.unpack(b.callback_data).v
             for row in markup.inline_keyboard for b in row
             if b.callback_data and TplEditCb.unpack(b.callback_data).a == "tog"}
    index = draft.choices(t, "age", 0).index("AGE_25_34")
    assert [v for text, v in wants.items() if text.startswith("☑️")] == [f"{index}-"]
    assert all(v.endswith("+") for text, v in wants.items() if text.startswith("▫️"))
    _, group = view.group_screen(t, 0)
    assert group is not None
    [switch] = [TplEditCb.unpack(b.callback_data) for row in group.inline_keyboard for b in row
                if b.callback_data and b.callback_data.startswith("te:sw")]
    assert switch.v == ("0" if t.adgroups[0].comments_disabled else "1")
