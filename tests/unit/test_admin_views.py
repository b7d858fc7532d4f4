"""The console's screens stay inside Telegram's limits and valid HTML however much a user holds
(long names, many payments with long charge ids, long errors), in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.i18n import make_i18n
from bot.views import admin as view
from core.admin import Connection, Dashboard, MonthRevenue, UserCard
from core.billing.ledger import Standing
from core.billing.plans import PlanBook
from core.billing.reconcile import Difference, Report
from sandbox.telegram.html_check import parse_html, utf16_len
from storage.models import AuditEntry, Payment, TikTokConnection, Tracker, User
from storage.repos.admin import ErrorRow, OutboxDepth, SyncLag

T = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CATALOGUE = PlanBook().current()
LONG = "<b>&" + "Ж" * 300


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _fits(text: str) -> None:
    parsed = parse_html(text)  # raises on HTML Telegram refuses
    assert utf16_len(parsed.text) <= 4096


def test_a_crowded_user_card_fits_one_message(locale: str) -> None:
    user = User(id=123456789, first_name=LONG, last_name=LONG, username="ann_b",
                language="en", time_zone="Asia/Tokyo", email="ann@example.com",
                created_at=T, marketing_opt_in=True, blocked_at=T, paused_at=T, deleted_at=None)
    payments = [Payment(id=n, user_id=user.id, telegram_charge_id="stx" + "A" * 125,
                        total_amount=500, kind="stars" if n % 2 else "grant", plan="pro",
                        days=30, recurring=True, created_at=T, refunded_at=T, granted_by=900,
                        reason=LONG) for n in range(20)]
    conns = [Connection(TikTokConnection(display_name=LONG, status="broken", broken_at=T,
                                         broken_reason=LONG), 3, 2) for _ in range(8)]
    trackers = [Tracker(name=LONG, kind="keitaro", status="failing", failing_since=T,
                        last_error=LONG) for _ in range(8)]
    activity = [AuditEntry(action="billing.paid", created_at=T) for _ in range(10)]
    card = UserCard(user, Standing("grace", "pro", T, T + timedelta(days=3)), None,
                    CATALOGUE.get("pro"), None, conns, trackers, activity,  # type: ignore[arg-type]
                    payments, 4, 1)
    text, markup = view.user_card(card, CATALOGUE, "Asia/Tokyo")
    _fits(text)
    assert markup is not None
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert len(labels) == 5  # grant, refund, tickets, refresh, console


def test_the_dashboard_and_a_long_reconciliation_report_fit(locale: str) -> None:
    errors = [ErrorRow("sync", T, 1, LONG, LONG) for _ in range(8)]
    months = [MonthRevenue(date(2026, m, 1), 10_000_000, 5_000) for m in range(7, 13)]
    d = Dashboard(T, 10**6, 10**4, {"pro": 10**5, "agency": 10, "gone": 1}, 10**6, 10**6,
                  SyncLag(5, T - timedelta(hours=3), 2), OutboxDepth(10**5, 10**4, T), errors,
                  months, None)
    text, _markup = view.dashboard(d, CATALOGUE, "UTC")
    _fits(text)
    diffs = [Difference("unrecorded", "stx" + "B" * 125, 42, 550, note=LONG)
             for _ in range(30)]
    report = Report(T, 5000, 4000, diffs + [Difference("amount", "x", 1, 5, ours=6)] * 50)
    text, _markup = view.reconcile_report(report.params())
    _fits(text)
    empty, _markup = view.reconcile_report(Report(T, 3, 0, []).params())
    assert ("0 differences" if locale == "en" else "0 расхождений") in empty
