"""Integrations screens stay inside Telegram's limits with the longest data, in English and
Russian, escape what users and trackers wrote, and give each failure reason its own words."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from aiogram.types import InlineKeyboardMarkup

from bot.callbacks import TrackerCb
from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import Screen
from bot.views import templates as tpl_view
from bot.views.integrations import alerts, common, fx, mapping, overview, push_log, tracker, wizard
from core.money import money
from core.trackers.base import TrackerCampaign
from core.trackers.connect import TrackerInfo
from core.trackers.fx import Rate
from core.trackers.mapping import Linked

TEXT_MAX, CALLBACK_MAX, ALERT_MAX = 4096, 64, 200  # telegram-bot-platform §1
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
EVIL = "<b>&" + "Ж" * 300
REASONS = ("bad_url", "bad_key", "wrong_kind", "edition", "timeout", "not_json", "unavailable",
           "not_found", "refused")


def info(n: int = 1, status: str = "failing") -> TrackerInfo:
    return TrackerInfo(10**9 + n, "binom1", EVIL[:128], "https://t.example/" + "p" * 480 + ".php",
                       "America/Argentina/Buenos_Aires", "USD", status,
                       "pull: not_json: " + "<html>" * 60, NOW, NOW, 20, None)


@dataclass(frozen=True)
class Push:
    tracker_campaign_id: str
    id_field: str | None
    id_value: str | None
    spend: Decimal
    spend_currency: str
    cost: Decimal | None
    currency: str
    ok: bool
    answer: str
    unattributed: bool | None


def screens() -> Iterator[Screen]:
    """Every screen with the longest data."""
    t = info()
    rows = [overview.TrackerRow(info(n), NOW, None) for n in range(25)]
    yield overview.overview(rows, "Europe/Berlin")
    yield overview.overview([], "UTC")
    demo = [{"kind": "keitaro", "name": EVIL, "url": "https://x", "api_key": "k"}] * 8
    yield wizard.choose_kind(demo)
    for kind in ("keitaro", "binom1", "binom2"):
        yield wizard.ask_url(kind)
        yield wizard.ask_key(kind)
        yield wizard.ask_zone(kind, NOW, True)
        yield wizard.ask_currency(kind)
    draft = {"kind": "binom2", "url": EVIL, "key": "sealed", "tz": "Asia/Tokyo", "cur": "EUR"}
    yield wizard.review(draft, NOW)
    campaigns = [TrackerCampaign("9" * 60, EVIL, n % 2 == 0) for n in range(500)]
    yield wizard.test_ok("keitaro", campaigns)
    yield wizard.test_ok("keitaro", [])
    for reason in (*REASONS, "something_new"):
        yield wizard.test_failed(reason, "<html>" * 500)
    yield tracker.card(overview.TrackerRow(t, NOW, NOW), 999, "Asia/Tokyo", NOW)
    yield tracker.card(overview.TrackerRow(info(status="disconnected"), None, None), 0, "UTC",
                       NOW)
    yield tracker.edit_menu(t)
    for field in tracker.EDIT_FIELDS:
        yield tracker.ask_field(t, field, NOW)
    yield tracker.confirm_disconnect(t)
    yield tracker.disconnected(t, NOW, "UTC")
    yield tracker.failed("push", t, "timeout", EVIL)
    links = [Linked(5, "1" * 19, EVIL, "USD", "UTC", "7" * 60, EVIL, {}, src, 10**9 + n)
             for n, src in zip(range(60), ["auto", "manual", "pattern"] * 20, strict=True)]
    patterns = [(10**9 + n, EVIL[:128], EVIL) for n in range(20)]
    spend = [(EVIL, "USD", Decimal("123456.78"))] * 30
    yield mapping.overview(t, links, patterns, spend, {"USD": Decimal("99.5")}, 3,
                           common.reason_text("refused", EVIL))
    yield mapping.overview(t, [], [], [], {}, 0)

    @dataclass(frozen=True)
    class Row:
        name: str
        campaign_id: str
        currency: str

    yield mapping.pick_tiktok(t, [Row(EVIL, "1" * 19, "USD")] * 300, 37)
    yield mapping.pick_tracker(t, EVIL, campaigns, 61, EVIL[:60])
    yield mapping.ask_pattern(t)
    pushes = [Push("9" * 64, "sub_id_1", "1" * 64, Decimal("12345.67"), "USD",
                   Decimal("11111.11") if n % 2 else None, "EUR", n % 2 == 1, EVIL, n % 3 == 0)
              for n in range(200)]
    yield push_log.day_log(t, date(2026, 12, 1), pushes, date(2026, 12, 3))
    yield push_log.day_log(t, date(2026, 12, 3), [], date(2026, 12, 3))
    rates = [Rate("EUR", "USD", Decimal("1.0842"), NOW)] * 40
    yield fx.rates(rates, "UTC")
    yield fx.ask_rate()
    params = {"tracker_id": 10**9, "tracker_name": EVIL, "tracker_kind": "keitaro",
              "ad_account_id": 5, "campaign_id": "1" * 19, "campaign_name": EVIL,
              "tracker_campaign_id": "7", "tracker_campaign_name": EVIL, "day": "2026-12-02",
              "threshold_pct": 20, "tiktok_clicks": 1000, "tracker_clicks": 400,
              "clicks_gap_pct": -60.0, "tiktok_conversions": 3, "tracker_conversions": 0,
              "conversions_gap_pct": None, "clicks_flagged": True, "conversions_flagged": False}
    yield alerts.discrepancy(params)


def _buttons(markup: InlineKeyboardMarkup | None) -> list[str]:
    if markup is None:
        return []
    return [b.callback_data or "" for row in markup.inline_keyboard for b in row]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_screen_fits_and_escapes(lang: str) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        for text, markup in screens():
            assert 0 < len(plain(text)) <= TEXT_MAX, text[:200]
            assert "<html>" not in text and "<b>&Ж" not in text  # their text escaped
            for data in _buttons(markup):
                assert len(data.encode()) <= CALLBACK_MAX, data
            for row in (markup.inline_keyboard if markup else []):
                for b in row:
                    assert len(b.text) <= 64


def test_each_failure_reason_has_its_own_translated_message() -> None:
    i18n = make_i18n()
    said: dict[str, set[str]] = {}
    for lang in ("en", "ru"):
        with i18n.context(), i18n.use_locale(lang):
            texts = [common.reason_text(r) for r in REASONS]
            said[lang] = set(texts)
            assert len(set(texts)) == len(REASONS), lang
            shorts = [common.short_reason(r) for r in REASONS]
            assert len(set(shorts)) == len(REASONS)
    assert said["en"].isdisjoint(said["ru"])  # Russian readers get Russian, not a fallback


def test_russian_screens_are_russian() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        text, _ = overview.overview([overview.TrackerRow(info(), NOW, NOW)], "UTC")
        assert "Интеграции" in text and "сбои с" in text and "получение: " in text
        text, _ = wizard.choose_kind([])
        assert "Добавить трекер" in text


def test_status_line_words_the_stored_error() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        line = common.status_line(info(), "UTC")
    assert "failing since 03.12 10:00" in line
    assert "pull: a web page instead of API data" in line and "&lt;html&gt;" in line


def test_callback_payloads_round_trip() -> None:
    cb = TrackerCb(a="etz", id=2**31, v="America/Argentina/Buenos_Aires", n=999)
    assert len(cb.pack().encode()) <= CALLBACK_MAX
    assert TrackerCb.unpack(cb.pack()) == cb


def test_url_suffix_is_appended_once() -> None:
    suffix = "campaign_id=__CAMPAIGN_ID__&adgroup_id=__AID__&ad_id=__CID__"
    assert tpl_view.with_suffix("https://a.example/p", suffix) == f"https://a.example/p?{suffix}"
    assert tpl_view.with_suffix("https://a.example/p?x=1#top", suffix) == (
        f"https://a.example/p?x=1&{suffix}#top"
    )
    once = tpl_view.with_suffix("https://a.example/p", suffix)
    assert tpl_view.with_suffix(once, suffix) == once


def test_alert_text_fits_the_answer_limit() -> None:
    i18n = make_i18n()
    for lang in ("en", "ru"):
        with i18n.context(), i18n.use_locale(lang):
            assert len(plain(tracker.busy(info()))) < TEXT_MAX
            assert len(wizard.draft_gone()) <= ALERT_MAX
            assert len(common.not_found()) <= ALERT_MAX


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_unmapped_spend_totals_every_campaign_per_currency(lang: str) -> None:
    """Eight campaigns are listed, and the total counts the ones behind "…and 2 more" too,
    each currency on its own."""
    spend = [(f"Camp {n}", "BRL" if n % 2 else "GBP", Decimal(100 + n)) for n in range(10)]
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        text, _kb = mapping.overview(info(), [], [], spend, {})
        brl = money(Decimal(sum(100 + n for n in range(1, 10, 2))), "BRL", common.loc())
        gbp = money(Decimal(sum(100 + n for n in range(0, 10, 2))), "GBP", common.loc())
    total_line = next(line for line in text.splitlines() if line.startswith("Σ"))
    assert brl in total_line and gbp in total_line, total_line
    assert "Camp 9" not in text  # beyond the list: counted in the total only


def test_push_log_tells_refused_by_the_tracker_from_not_sent() -> None:
    """A cost that could not be made (no exchange rate) was never sent: the day's count says so
    rather than blaming the tracker."""
    def push(cost: Decimal | None, ok: bool) -> Push:
        return Push("101", None, None, Decimal("84.29"), "EUR", cost, "USD", ok, "", False)

    pushes = [push(Decimal("90"), True), push(Decimal("91"), False), push(None, False),
              push(None, False)]
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text, _kb = push_log.day_log(info(), date(2026, 12, 1), pushes, date(2026, 12, 3))
    assert "Sent: 1 · refused by the tracker: 1 · not sent: 2" in text, text


def test_push_log_of_a_busy_day_shows_the_latest_attempts() -> None:
    """Hourly pushes re-send a day's growing spend dozens of times: the log shows the newest
    attempts (what the tracker holds now), not the first ones of the morning."""
    pushes = [Push("101", "ad_campaign_id", "c1", Decimal(n), "USD", Decimal(n), "USD", True,
                   "ok", False) for n in range(1, 41)]
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text, _kb = push_log.day_log(info(), date(2026, 12, 1), pushes, date(2026, 12, 3))
    assert "sent $40.00" in text, text
    assert "…and " in text and "sent $1.00" not in text, text
