"""Launch plans: every object's name carries a tag of its own that a resumed launch finds it by,
within TikTok's name limit; pre-flight's warnings read as sentences in every language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.i18n import make_i18n
from bot.screens import plain
from bot.views.launch import issue_text
from core.launch import plan
from core.launch.preflight import Issue
from core.templates.model import AdGroupSpec, AdSpec, CampaignSpec, Naming, Template
from core.templates.naming import NAME_MAX, width
from core.templates.validate import WARNING_CODES


def _template(pattern: str) -> Template:
    return Template(
        name="T",
        campaign=CampaignSpec(objective_type="TRAFFIC"),
        adgroups=(
            AdGroupSpec(geo="US", location_ids=("6252001",), optimization_goal="CLICK",
                        billing_event="CPC", budget=Decimal(50)),
            AdGroupSpec(geo="DE", location_ids=("2921044",), optimization_goal="CLICK",
                        billing_event="CPC", budget=Decimal(50)),
        ),
        ad=AdSpec(texts=("Hi",), landing_url="https://shop.example/", identity_name="Brand"),
        naming=Naming(campaign=pattern, adgroup="{geo}", ad="{creative} #{n}"),
    )  # fmt: skip


def _build(pattern: str, key: str) -> list[plan.Item]:
    return plan.build(
        _template(pattern),
        [plan.PlanAccount(1, "Acme", "USD"), plan.PlanAccount(2, "Beta", "EUR")],
        [plan.PlanCreative(10, "clip"), plan.PlanCreative(11, "photo")],
        key,
        date(2026, 12, 2),
    )


def test_each_name_ends_with_its_own_tag_and_the_pattern_stays_readable() -> None:
    items = _build("{account} {date}", "k1")
    assert [i.name for i in items[:4]] == [
        f"Acme 2026-12-02 {plan.tag('k1', 0)}",
        f"US {plan.tag('k1', 1)}",
        f"clip #1 {plan.tag('k1', 2)}",
        f"photo #2 {plan.tag('k1', 3)}",
    ]
    tags = [i.name.rsplit(" ", 1)[1] for i in items]
    assert len(set(tags)) == len(items)  # unique within the launch
    assert all(t.startswith("~") and len(t) == 9 and t[1:].isalnum() for t in tags)
    # The same plan rebuilt (a resumed launch) has the same tags; another launch, others.
    assert [i.name for i in _build("{account} {date}", "k1")] == [i.name for i in items]
    assert not set(tags) & {i.name.rsplit(" ", 1)[1] for i in _build("{account} {date}", "k2")}


def test_a_long_name_is_cut_to_leave_room_for_the_tag() -> None:
    long = "長" * 400  # CJK counts twice (spec §4.2): 800 > 512
    [campaign] = [i for i in _build(long, "k") if i.level == "campaign"][:1]
    assert width(campaign.name) <= NAME_MAX
    assert campaign.name.endswith(" " + plan.tag("k", 0))


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("code", WARNING_CODES)
def test_every_warning_reads_as_a_sentence(code: str, lang: str) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        line = plain(issue_text(Issue(code, 7, params={"currency": "EUR"}), {7: "Shop EU"}))
    assert line.startswith("• Shop EU: ") and "EUR" in line and code not in line
    assert ("minimum" in line) == (lang == "en")


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("code", ["audience_small", "audience_computing"])
def test_audience_warnings_name_the_audiences(code: str, lang: str) -> None:
    i18n = make_i18n()
    params = {"names": "Fans, Buyers", "min": "1000", "account": "Shop EU"}
    with i18n.context(), i18n.use_locale(lang):
        line = plain(issue_text(Issue(code, 7, params=params), {7: "Shop EU"}))
    assert line.startswith("• Shop EU: ") and "Fans, Buyers" in line and "{" not in line
    assert ("computing" in line) == (code == "audience_computing" and lang == "en")
    assert ("1000" in line) == (code == "audience_small")
