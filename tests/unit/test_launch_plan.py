"""Launch plans: every object's name carries a tag of its own that a resumed launch finds it by,
within TikTok's name limit; pre-flight's warnings read as sentences in every language."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.callbacks import LaunchCb
from bot.i18n import make_i18n
from bot.screens import plain
from bot.views.launch import choose_accounts, detail, issue_text, proposal
from core.launch import plan
from core.launch.preflight import Issue
from core.launch.service import Choices, Detail, parse_when
from core.money import money
from core.templates.model import AdGroupSpec, AdSpec, CampaignSpec, Naming, Template
from core.templates.naming import NAME_MAX, width
from core.templates.validate import WARNING_CODES
from sandbox.telegram.html_check import parse_html, utf16_len
from storage.models import AdAccount, Launch, LaunchItem


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


def test_a_start_typed_without_a_year_in_early_january_is_next_years() -> None:
    """On 20 December "5.1 09:00" is 5 January of the next year (16 days ahead, within the
    30 days the prompt offers), not a day of this year's past that is refused."""
    now = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
    assert parse_when("5.1 09:00", now, "Europe/Berlin") == datetime(2027, 1, 5, 8, 0,
                                                                     tzinfo=UTC)
    # A date of this year's past with no such date ahead within 30 days stays refused.
    assert parse_when("5.6 09:00", now, "Europe/Berlin") is None
    assert parse_when("5.1.2026 09:00", now, "Europe/Berlin") is None


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_plan_into_many_accounts_still_shows_its_budget_and_deadline(lang: str) -> None:
    """An agency's launch into 90 ad accounts: the plan to approve stays one valid message
    that still says the daily budget, when it starts and until when it can be approved (the
    accounts past the first few are counted, not cut off mid-line with what follows them)."""
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    launch = Launch(id=5, template_name="Summer", enabled=True, run_at=None,
                    expires_at=now, state="proposed")
    per_account = {n: (1, 2, 20) for n in range(1, 91)}
    names = {n: f"Shop & Co · Client account number {n:02}" for n in per_account}
    summary = plan.Summary(per_account, {"USD": Decimal(9000)})
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        # Each account in a currency whose minimums TTPulse does not know warns of it.
        warnings = [Issue("minimum_unknown", n, params={"currency": "EUR"}) for n in names]
        text, _ = proposal(launch, summary, names, "UTC", warnings)
        budget = money(Decimal(9000), "USD", lang)
    parsed = parse_html(text)  # raises on HTML Telegram refuses
    assert utf16_len(parsed.text) <= 4096
    shown = plain(text)
    assert budget in shown
    assert "2070" in shown  # the total number of objects
    assert "02.12 12:00" in shown  # approve by
    assert "Client account number 01" in shown


def test_a_launchs_detail_says_its_state_in_the_users_language() -> None:
    """The detail screen names the launch's state as the history does, in Russian for a
    Russian user, not as the raw English state of the database."""
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    launch = Launch(id=5, template_name="Summer", state="done", created_at=now)
    item = LaunchItem(seq=0, level="campaign", ad_account_id=1, name="Acme ~abc",
                      state="created")
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        text, _ = detail(Detail(launch, [item], {1: "Acme"}), 0, "UTC")
    assert "выполнено" in plain(text) and "· done" not in plain(text)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_plan_of_lifetime_budgets_says_what_it_commits(lang: str) -> None:
    """Ad groups with lifetime budgets (300 each, two geos) commit 600 per account: the plan
    to approve says so per currency, instead of only a daily budget of zero."""
    base = _template("{account}")
    groups = tuple(replace(g, budget_mode="BUDGET_MODE_TOTAL", budget=Decimal(300),
                           schedule_type="SCHEDULE_START_END", run_days=10)
                   for g in base.adgroups)
    t = replace(base, adgroups=groups)
    accounts = [plan.PlanAccount(1, "Acme", "USD"), plan.PlanAccount(2, "Beta", "EUR")]
    items = plan.build(t, accounts, [plan.PlanCreative(10, "clip")], "k", date(2026, 12, 2))
    summary = plan.summarize(t, accounts, items)
    launch = Launch(id=5, template_name="Summer", enabled=True, run_at=None, expires_at=None,
                    state="proposed")
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        text = plain(proposal(launch, summary, {1: "Acme", 2: "Beta"}, "UTC")[0])
        usd, eur = money(Decimal(600), "USD", lang), money(Decimal(600), "EUR", lang)
    assert usd in text and eur in text


def test_every_account_of_a_big_agency_can_be_picked_within_telegrams_button_limit() -> None:
    """The top plan tracks 100 ad accounts: step 2 lists them in pages, each keyboard within
    the 100 buttons Telegram takes (telegram-bot-platform.md: "reply markup is too long"),
    every account on some page, and toggling one keeps its page."""
    accounts = [AdAccount(id=n, name=f"Client {n:03}", currency="USD") for n in range(1, 101)]
    choices = Choices([], accounts, [])
    i18n = make_i18n()
    seen: set[int] = set()
    page, pages = 0, 0
    with i18n.context(), i18n.use_locale("en"):
        while page is not None:
            _, markup = choose_accounts(choices, "Summer", [1], page)
            buttons = [b for row in markup.inline_keyboard for b in row]
            assert len(buttons) <= 100
            picks = [LaunchCb.unpack(b.callback_data or "") for b in buttons]
            seen |= {p.id for p in picks if p.a == "acc" and p.id}
            assert all(p.n == page for p in picks if p.a == "acc" and p.id)
            ahead = [p.n for p in picks if p.a == "acc" and not p.id and p.n > page]
            page, pages = (ahead[0] if ahead else None), pages + 1
    assert seen == {a.id for a in accounts} and pages > 1


def test_a_launchs_detail_shows_every_item_with_tiktoks_message_as_written() -> None:
    """A launch whose 30 ad groups TikTok refused with a long message: paging through the
    detail shows every item (none cut off the end of a page by the message limit), each
    page valid for Telegram, and TikTok's words as it wrote them (not escaped twice)."""
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    launch = Launch(id=5, template_name="Summer", state="failed", created_at=now)
    why = "Invalid param: bid_price must be < budget & above the floor. " * 3
    items = [LaunchItem(seq=0, level="campaign", ad_account_id=1, name="Acme ~c0",
                        state="created")]
    items += [LaunchItem(seq=n, level="adgroup", ad_account_id=1, parent_seq=0,
                         name=f"Geo number {n:02} with a long name for its ad group ~g{n}",
                         state="failed", error=why[:500]) for n in range(1, 31)]
    i18n = make_i18n()
    shown = ""
    with i18n.context(), i18n.use_locale("en"):
        for page in range(10):
            text, _ = detail(Detail(launch, items, {1: "Acme"}), page, "UTC")
            parse_html(text)  # raises on HTML Telegram refuses
            assert utf16_len(plain(text)) <= 4096
            shown += plain(text)
    assert all(f"Geo number {n:02}" in shown for n in range(1, 31))
    assert "must be < budget & above" in shown and "&lt;" not in shown
