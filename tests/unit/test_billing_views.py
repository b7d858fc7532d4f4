"""Billing screens and messages as the user reads them, in English and Russian: the overview in
each state with usage against limits, the plans with their prices and Buy buttons, invoices
within Telegram's limits, every pre-checkout refusal said plainly, receipts (one-off, renewal,
unmatched), history pages, and a downgrade listing paused items within one message."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.types import InlineKeyboardMarkup

from bot.callbacks import BillingCb
from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import billing as view
from core.billing import checkout, subscription
from core.billing.ledger import Period, Standing
from core.billing.limits import Usage
from core.billing.overview import History, Overview, Receipt
from core.billing.payload import Offer
from core.billing.plans import DEFAULT, PlanBook, parse
from sandbox.telegram.html_check import parse_html, utf16_len

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CATALOGUE = PlanBook().current()
PRO = CATALOGUE.get("pro")
assert PRO is not None


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


@pytest.fixture
def en() -> Iterator[None]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        yield


def _checked(screen: tuple[str, InlineKeyboardMarkup | None]) -> tuple[str, list[str]]:
    """The text as Telegram shows it (valid HTML within 4096) and the button labels, each
    button's callback data within 64 bytes."""
    text, markup = screen
    parsed = parse_html(text)
    assert 0 < utf16_len(parsed.text) <= 4096
    labels = []
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            assert len((button.callback_data or "").encode()) <= 64
            labels.append(button.text)
    return parsed.text, labels


def _usage(**kw: int) -> Usage:
    values = {"ad_accounts": 1, "rules_on": 3, "launches_this_month": 0, "trackers": 0, **kw}
    return Usage(plan=PRO, **values)  # type: ignore[arg-type]


def _sub(renews: bool = True,
         end: datetime = NOW + timedelta(days=20)) -> subscription.Subscription:
    return subscription.Subscription("pro", 500, "stx1", "stx2", "p", end, renews, None)


def test_overview_says_plan_state_renewal_and_usage(en: None) -> None:
    active = Standing("active", "pro", NOW + timedelta(days=20), NOW + timedelta(days=23))
    ov = Overview(NOW, active, PRO, _sub(), _usage(rules_on=25), 4)
    text, labels = _checked(view.overview(ov, CATALOGUE, "Asia/Tokyo"))
    assert "Plan: Pro — active" in text
    assert "Paid until: 21 Dec 2026, 18:00" in text  # Tokyo time
    assert "Subscription: Pro, ⭐500 every 30 days — renews on 21 Dec 2026, 18:00." in text
    assert "Ad accounts tracked: 1 of 10" in text
    assert "Rules switched on: 25 of 25 ⚠️" in text
    assert "Times in your time zone: Tokyo (UTC+09:00)." in text
    assert labels == ["📋 Plans", "🧾 History (4)", "🚫 Cancel renewal", "« Main menu"]

    off = Overview(NOW, active, PRO, _sub(renews=False), _usage(), 4)
    text, labels = _checked(view.overview(off, CATALOGUE, "UTC"))
    assert "renewal is off; its period ends on 21 Dec 2026, 09:00" in text
    assert "▶ Resume renewal" in labels

    once = Overview(NOW, active, PRO, None, _usage(), 1)
    text, labels = _checked(view.overview(once, CATALOGUE, "UTC"))
    assert "It does not renew" in text and not {"🚫 Cancel renewal", "▶ Resume renewal"} & set(
        labels)

    grace = Standing("grace", "pro", NOW - timedelta(days=1), NOW + timedelta(days=2))
    text, _labels = _checked(view.overview(
        Overview(NOW, grace, PRO, _sub(end=NOW - timedelta(days=1)), _usage(), 1),
        CATALOGUE, "UTC"))
    assert "Plan: Pro — grace period" in text
    assert "Pro's limits stay until 3 Dec 2026, 09:00" in text

    free = CATALOGUE.free
    ended = Standing("free", None, NOW - timedelta(days=9), NOW - timedelta(days=6))
    text, labels = _checked(view.overview(
        Overview(NOW, ended, free, None, Usage(free, 0, 0, 0, 0), 1), CATALOGUE, "UTC"))
    assert "Plan: Free" in text and "Your paid time ended on 22 Nov 2026" in text
    assert "Ad accounts tracked: 0 of 2" in text


def test_plans_list_limits_prices_and_a_button_per_offer(locale: str) -> None:
    never = Standing("free", None, None, None)
    text, labels = _checked(view.plans(CATALOGUE, never, None, NOW))
    if locale == "en":
        assert "Free — your plan" in text
        assert "Ad accounts tracked: 100" in text and "Bulk launches a month: unlimited" in text
        assert ("⭐500 a month (subscription, renews every 30 days); 30 days for ⭐550 (once)"
                in text)
        assert labels == ["Pro · monthly · ⭐500", "Pro · 30 days · ⭐550",
                          "Pro · 90 days · ⭐1,500", "Agency · monthly · ⭐2,000",
                          "Agency · 30 days · ⭐2,200",
                          "Agency · 90 days · ⭐6,000", "« Billing"]
    else:
        assert "Free — ваш тариф" in text and "Pro · помесячно · ⭐500" in labels
    # A Pro subscription that renews already: no second monthly Pro button.
    pro = Standing("active", "pro", NOW + timedelta(days=9), None)
    _text, labels = _checked(view.plans(CATALOGUE, pro, _sub(), NOW))
    assert not any(label.startswith("Pro · monthly") or label.startswith("Pro · помесячно")
                   for label in labels)
    assert len(labels) == 6


def test_the_plans_button_is_the_upgrade_button_everywhere() -> None:
    # The limits branch puts BillingCb(action="plans") under every limit message.
    assert BillingCb.unpack(BillingCb(action="plans").pack()).action == "plans"


def test_invoices_fit_telegrams_limits_and_say_how_they_add_up(locale: str) -> None:
    doc = copy.deepcopy(DEFAULT)
    doc["plans"][2]["name"] = "Agency Platinum Unlimited"[:24]
    long = parse(doc)
    agency = long.get("agency")
    assert agency is not None
    for days, recurring in ((30, True), (90, False)):
        title = view.invoice_title(agency, days, recurring)
        assert 1 <= len(title) <= 32
        assert 1 <= len(view.price_label(agency, days, recurring)) <= 32
    offer = Offer(7, "agency", 90, False, 6000, NOW)
    on_pro = Standing("active", "pro", NOW + timedelta(days=3), None)
    description = view.invoice_description(checkout.Prepared(offer, agency, on_pro), long)
    assert 1 <= len(description) <= 255
    if locale == "en":
        assert description.startswith("90 days of the Agency Platinum Unlimi")
        assert "Starts at once; your remaining Pro time continues after it." in description
        same = view.invoice_description(
            checkout.Prepared(Offer(7, "pro", 30, True, 500, NOW), PRO, on_pro), CATALOGUE)
        assert "renewed every 30 days until you cancel" in same
        assert same.endswith("Adds to your current Pro time.")
    screen = view.subscribe(
        checkout.Prepared(Offer(7, "pro", 30, True, 500, NOW), PRO, on_pro), "https://t.me/$x")
    _text, _labels = _checked(screen)
    assert screen[1] is not None and screen[1].inline_keyboard[0][0].url == "https://t.me/$x"


def test_every_refusal_is_said_plainly(locale: str) -> None:
    offer = Offer(7, "pro", 30, False, 550, NOW)
    said = {reason: view.refusal(checkout.Verdict(reason, offer, "Pro"))
            for reason in checkout.REASONS}
    assert len(set(said.values())) == len(checkout.REASONS)  # each reason its own words
    for text in said.values():
        assert "<" not in text and 0 < len(text) <= 255  # shown as is by Telegram
        assert "/billing" in text or "/start" in text
    if locale == "en":
        assert said[checkout.PRICE_CHANGED] == (
            "The price of Pro changed — open /billing for the current one.")
        assert said[checkout.DELETED].startswith("Your TTPulse account was deleted")
        assert said[checkout.NOT_SOLD].startswith("Pro is no longer sold for 30 days")


def _receipt(**kw: object) -> Receipt:
    values: dict[str, object] = {
        "charge_id": "stxSANDBOX<1>", "kind": "stars", "plan": "pro", "days": 30,
        "stars": 550, "paid_at": NOW, "recurring": False, "renewal": False,
        "refunded_at": None, **kw}
    return Receipt(**values)  # type: ignore[arg-type]


def test_receipts_name_plan_period_stars_end_and_charge(en: None) -> None:
    after = Standing("active", "pro", NOW + timedelta(days=30), None,
                     (Period("pro", NOW, NOW + timedelta(days=30)),))
    text, labels = _checked(view.receipt(_receipt(), after, CATALOGUE, "Europe/Berlin"))
    assert text.splitlines()[0] == "🧾 Payment received — thank you!"
    for line in ("Plan: Pro", "Period: 30 days, paid once", "Paid: ⭐550",
                 "Pro is active until 31 Dec 2026, 10:00.",
                 "Charge id (for support): stxSANDBOX<1>"):
        assert line in text
    assert labels == ["⭐ Billing"]

    renewed = view.receipt(_receipt(recurring=True, renewal=True, stars=500), after, CATALOGUE,
                           "UTC")
    text, _labels = _checked(renewed)
    assert text.startswith("🔄 Subscription renewed: Pro")
    assert "Period: Monthly subscription, renewed" in text

    gift = view.receipt(_receipt(kind="grant", charge_id="grant:ab", stars=0, days=7), after,
                        CATALOGUE, "UTC")
    text, _labels = _checked(gift)
    assert text.startswith("🎁 TTPulse gave you Pro")
    assert "Period: 7 days, free of charge" in text and "Pro is active until" in text
    assert "Paid:" not in text and "grant:ab" not in text  # no Stars, no id to quote

    # An upgrade: Agency now, the rest of Pro after it; each plan's own end is said.
    upgraded = Standing("active", "agency", NOW + timedelta(days=50), None,
                        (Period("agency", NOW, NOW + timedelta(days=30)),
                         Period("pro", NOW + timedelta(days=30), NOW + timedelta(days=50))))
    text, _labels = _checked(view.receipt(_receipt(plan="agency"), upgraded, CATALOGUE, "UTC"))
    assert "Agency is active until 31 Dec 2026, 09:00. Then Pro until 20 Jan 2027, 09:00." in text
    screen = "\n".join(view.standing_lines(upgraded, CATALOGUE.get("agency"), None, CATALOGUE,
                                            "UTC", NOW))
    assert "Paid until: 20 Jan 2027, 09:00" in screen
    assert "Agency is active until 31 Dec 2026, 09:00. Then Pro until 20 Jan 2027" in screen

    unmatched = view.receipt(_receipt(plan=""), Standing("free", None, None, None), CATALOGUE,
                             "UTC")
    text, _labels = _checked(unmatched)
    assert "could not match this payment to a plan, so no time was added" in text
    assert "/paysupport" in text and "stxSANDBOX<1>" in text


def test_history_pages_show_every_payment_with_its_charge_id(en: None) -> None:
    receipts = [_receipt(charge_id=f"stx{n:02d}" + "x" * 80, paid_at=NOW - timedelta(days=n))
                for n in range(6)]
    receipts[1] = _receipt(charge_id="stx01", recurring=True, renewal=True, stars=500,
                           refunded_at=NOW)
    receipts[2] = _receipt(charge_id="grant:ab", kind="grant", stars=0)
    text, labels = _checked(view.history(History(receipts, 0, 3, 15), CATALOGUE, "UTC"))
    assert "Pro · 30 days · ⭐550" in text and "Pro · renewal · ⭐500" in text
    assert "↩️ Refunded on 1 Dec 2026, 09:00" in text
    assert "Pro · 30 days · granted by TTPulse" in text and "grant:ab" not in text
    assert "Page 1 of 3" in text
    assert labels == ["›", "« Billing"]
    text, labels = _checked(view.history(History([], 0, 1, 0), CATALOGUE, "UTC"))
    assert "No payments yet." in text and labels == ["« Billing"]


def test_a_downgrade_lists_what_was_paused_within_one_message(locale: str) -> None:
    items = [["rule", n, "R" * 300 + "<&>"] for n in range(200)]
    text, _labels = _checked(view.downgraded("agency", "free", items, CATALOGUE))
    assert text.count("• ") == view.LIST_MAX
    assert ("…and 160 more" if locale == "en" else "…и ещё 160") in text
    text, _labels = _checked(view.downgraded("pro", "free", [], CATALOGUE))
    if locale == "en":
        assert "nothing was paused" in text
    text, _labels = _checked(view.upgraded("pro", [["tracker", 1, "Keitaro"]], CATALOGUE))
    assert "Keitaro" in text


def test_renewal_outcomes_and_terms(en: None) -> None:
    refused = subscription.Renewal(False, subscription.REFUSED, _sub(),
                                   "Bad Request: CHARGE_ID_INVALID <x>")
    assert "Telegram refused the change: Bad Request: CHARGE_ID_INVALID &lt;x&gt;." in (
        view.renewal_problem(refused))
    text, labels = _checked(view.cancel_confirm(_sub(), CATALOGUE, "UTC"))
    assert "You keep Pro until 21 Dec 2026, 09:00" in text
    assert labels == ["Yes, cancel renewal", "No, keep it"]
    terms = plain(view.paid_terms("https://ttpulse.example"))
    assert "https://ttpulse.example/privacy" in terms and "3 days of grace" in terms
    assert "/support" in plain(view.paysupport()) or "/billing" in plain(view.paysupport())
