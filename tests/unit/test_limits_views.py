"""Limit messages say which limit, the use and the allowance, in English and in Russian with the
right plural form, and always carry the ⭐ Upgrade button to the plans."""

from __future__ import annotations

import pytest

from bot.callbacks import BillingCb, RulesCb
from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import limits as view
from core.billing.limits import LimitHit
from core.billing.plans import PlanBook

CATALOGUE = PlanBook().current()
FREE = CATALOGUE.free


def test_each_limit_says_the_use_and_the_allowance_with_an_upgrade_button() -> None:
    i18n = make_i18n()
    cases = {
        "ad_accounts": ("2 ad accounts", "you track 2"),
        "rules_on": ("3 rules", "switched on now: 3"),
        "rule_every_minutes": ("every 60 min", "every 15 min"),
        "launches_per_month": ("5 bulk launches a month", "you started 5"),
        "ads_per_launch": ("20 ads per launch", "would create 21"),
        "trackers": ("1 tracker", "connected now: 1"),
    }
    used = {"rule_every_minutes": 15, "ads_per_launch": 21}
    with i18n.context(), i18n.use_locale("en"):
        for limit, words in cases.items():
            allowed = getattr(FREE.limits, limit)
            text, markup = view.reached(LimitHit(limit, used.get(limit, allowed), allowed, FREE),
                                        RulesCb(a="list"))
            assert "Free" in text and all(w in plain(text) for w in words), (limit, text)
            assert markup is not None
            upgrade = markup.inline_keyboard[0][0]
            assert upgrade.text == "⭐ Upgrade"
            assert upgrade.callback_data == BillingCb(action="plans").pack()
            assert markup.inline_keyboard[1][0].text == "« Back"
            assert len(text) < 1024


@pytest.mark.parametrize(("n", "rules", "accounts"), [
    (1, "1 правило", "1 рекламный аккаунт"),
    (3, "3 правила", "3 рекламных аккаунта"),
    (5, "5 правил", "5 рекламных аккаунтов"),
    (21, "21 правило", "21 рекламный аккаунт"),
    (12, "12 правил", "12 рекламных аккаунтов"),
])
def test_russian_counts_take_their_plural_form(n: int, rules: str, accounts: str) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        assert view.amount("rules_on", n) == rules
        assert view.amount("ad_accounts", n) == accounts
        text = view.explain(LimitHit("rules_on", n, n, FREE))
        assert rules in text and "Достигнут лимит включённых правил" in text
        assert view.upgrade_kb().inline_keyboard[0][0].text == "⭐ Повысить тариф"


def test_paused_by_plan_marks_and_the_cadence_note() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert view.paused_mark(FREE, "rules_on") == "⏸ paused by plan (Free allows 3 rules)"
        assert view.paused_mark(FREE, "ad_accounts") == (
            "⏸ paused by plan (Free allows 2 ad accounts)")
        assert view.paused_mark(FREE, "trackers") == "⏸ paused by plan (Free allows 1 tracker)"
        assert view.cadence_note(FREE) == "⏱ runs every 60 min on Free"
        said = view.left_untracked(["Glowly JP", "<b>x</b>"], LimitHit("ad_accounts", 2, 2, FREE))
        assert "«Glowly JP»" in said and "&lt;b&gt;" in said and "Free lets you track 2" in said
    with i18n.context(), i18n.use_locale("ru"):
        assert view.paused_mark(FREE, "trackers") == (
            "⏸ на паузе по тарифу (Free разрешает 1 трекер)")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_agencys_connection_is_confirmed_in_one_message_within_telegrams_limit(
    lang: str,
) -> None:
    """50 ad accounts with long (≤100 characters, TikTok's limit) names, 47 left untracked by
    the plan: the chat's confirmation still fits 4096 characters and says how many it left out."""
    from datetime import UTC, datetime

    from bot.views import accounts as accounts_view
    from core.connections import AccountInfo
    from sandbox.telegram.html_check import parse_html, utf16_len
    from sandbox.telegram.limits import MAX_TEXT

    accounts = [
        AccountInfo(f"73100000000000{i:05d}", f"Northwind Performance {i:02d} " + "x" * 70, "USD",
                    "America/Los_Angeles", "STATUS_ENABLE", "Northwind Agency BC " + "y" * 60)
        for i in range(50)
    ]
    hit = LimitHit("ad_accounts", 3, 3, FREE)
    with make_i18n().context() as i18n, i18n.use_locale(lang):
        text, _markup = accounts_view.connected(accounts, False, datetime(2026, 3, 1, tzinfo=UTC),
                                                accounts[3:], hit)
    parsed = parse_html(text).text
    assert utf16_len(parsed) <= MAX_TEXT, utf16_len(parsed)
    listed = parsed.count("• Northwind Performance")
    more = parsed.split("\n")[3 + listed]  # "…and N more." after the listed ones
    assert listed >= 5 and more.startswith("…") and str(50 - listed) in more
