"""The privacy policy is generated from the inventory: every enum value has its wording in both
languages, every page fits a Telegram message, and a user's own deletion dates are shown in
their time zone and language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram.types import InlineKeyboardMarkup

from bot.callbacks import NewsCb, PrivacyCb
from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import privacy as view
from core.privacy.rights import PendingPurge
from storage.inventory import CONNECTION_DAYS, TABLES, Basis, Category, Purpose, Retention
from storage.models import AuditEntry, User

NOW = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
LANGS = ("en", "ru")


def _user(zone: str = "Asia/Tokyo", language: str = "en", paused: bool = False) -> User:
    return User(id=42, first_name="Ann", language=language, time_zone=zone,
                marketing_opt_in=True, paused_at=NOW if paused else None)


def _buttons(markup: InlineKeyboardMarkup | None) -> list[tuple[str, str]]:
    assert markup is not None
    return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]


def test_every_inventory_value_has_wording_in_every_language() -> None:
    i18n = make_i18n()
    texts: dict[str, list[str]] = {}
    for lang in LANGS:
        with i18n.context(), i18n.use_locale(lang):
            texts[lang] = [
                *(str(view.CATEGORY_NAMES[c]) for c in Category),
                *(str(view.CATEGORY_WHAT[c]) for c in Category),
                *(str(view.PURPOSES[p]) for p in Purpose),
                *(str(view.BASES[b]) for b in Basis),
                *(view.retention_text(r) for r in Retention),
            ]
    # A missing key raised above; a missing Russian text would equal the English one.
    same = [en for en, ru in zip(texts["en"], texts["ru"], strict=True) if en == ru]
    assert same == []


@pytest.mark.parametrize("lang", LANGS)
def test_policy_names_every_category_purpose_and_retention_in_use(lang: str) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        whole = "\n".join(view.policy_pages(None, [], NOW))
        used = [t for t in TABLES.values()]
        for category in {c.category for t in used for c in t.columns.values()}:
            assert str(view.CATEGORY_NAMES[category]) in whole
        for purpose in {t.purpose for t in used}:
            assert str(view.PURPOSES[purpose]) in whole
        for retention in {t.retention for t in used}:
            assert view.retention_text(retention) in whole
        for command in ("/mydata", "/export", "/delete_account", "/settings", "/support"):
            assert command in whole
        assert f" {CONNECTION_DAYS} " in whole and " 30 " in whole and " 18 " in whole


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_fits_a_message_even_with_many_dates(lang: str) -> None:
    purges = [
        PendingPurge("ad_account", "A" * 100 + f" {n}", NOW, NOW + timedelta(days=7))
        for n in range(40)
    ]
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        for user, found in ((None, []), (_user(language=lang, paused=True), purges)):
            pages = view.policy_pages(user, found, NOW)
            for n in range(len(pages)):
                text, markup = view.policy_page(user, found, NOW, n)
                assert len(text) <= 4096 and len(plain(text)) <= 4096
                for label, data in _buttons(markup):
                    assert len(data.encode()) <= 64 and label
            assert "…" in "\n".join(pages) or user is None  # beyond 25 dates: "and N more"


def test_pages_are_navigable_and_personal_buttons_only_for_users() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        pages = view.policy_pages(None, [], NOW)
        assert len(pages) > 1  # the full policy does not fit one message
        first = _buttons(view.policy_page(None, [], NOW, 0)[1])
        assert first == [("›", PrivacyCb(a="page", n=1).pack())]
        last = _buttons(view.policy_page(None, [], NOW, 99)[1])  # clamped to the last page
        assert last == [("‹", PrivacyCb(a="page", n=len(pages) - 2).pack())]
        mine = [t for t, _ in _buttons(view.policy_page(_user(), [], NOW, 0)[1])]
        assert "🕒 Activity" in mine


def test_a_disconnected_account_shows_its_date_in_the_users_zone() -> None:
    # Disconnected at 23:30 UTC on 2 Dec: in Tokyo that is already 3 Dec, so the purge 7 days
    # later falls on 10 Dec there (9 Dec in UTC).
    purge = PendingPurge("ad_account", "Glowly <EU>", NOW, NOW + timedelta(days=CONNECTION_DAYS))
    tracker = PendingPurge("tracker", "Keitaro", NOW - timedelta(days=8), NOW - timedelta(hours=1))
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text = view.policy_page(_user("Asia/Tokyo"), [purge, tracker], NOW, 0)[0]
        assert "«Glowly &lt;EU&gt;»: its data is deleted on 10 December, 7 days after you " \
               "disconnected it." in text
        assert "Tracker «Keitaro»: its data is being deleted now." in text
        utc = view.policy_page(_user("UTC"), [purge], NOW, 0)[0]
        assert "deleted on 9 December" in utc
    with i18n.context(), i18n.use_locale("ru"):
        text = view.policy_page(_user("Asia/Tokyo", "ru"), [purge], NOW, 0)[0]
        assert "«Glowly &lt;EU&gt;»: его данные будут удалены 10 декабря, через 7 дн." in text
        assert "Политика конфиденциальности TTPulse" in view.policy_text()


def test_a_revoked_login_and_a_lost_account_say_why_their_clock_started() -> None:
    revoked = PendingPurge("ad_account", "Glowly US", NOW, NOW + timedelta(days=CONNECTION_DAYS),
                           "revoked")
    lost = PendingPurge("ad_account", "Glowly JP", NOW, NOW + timedelta(days=CONNECTION_DAYS),
                        "lost")
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text = view.policy_page(_user("UTC"), [revoked, lost], NOW, 0)[0]
    assert "«Glowly US»: its data is deleted on 9 December, 7 days after TikTok stopped " \
           "accepting your login." in text
    assert "«Glowly JP»: its data is deleted on 9 December, 7 days after your TikTok login " \
           "lost access to it." in text
    assert "after you disconnected" not in text


def test_nothing_pending_is_said_and_the_general_policy_has_no_personal_part() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        mine = view.policy_page(_user(), [], NOW, 0)[0]
        assert "For you now" in mine and "Nothing you disconnected is waiting" in mine
        assert "For you now" not in view.policy_text()


def test_activity_labels_and_local_times() -> None:
    entries = [
        AuditEntry(id=3, actor_id=42, action="privacy.paused", target_type="user",
                   target_id="42", details={}, created_at=NOW),
        AuditEntry(id=2, actor_id=42, action="user.marketing", target_type="user",
                   target_id="42", details={"after": {"marketing_opt_in": "False"}},
                   created_at=NOW - timedelta(days=1)),
        AuditEntry(id=1, actor_id=42, action="privacy.something_new", target_type="user",
                   target_id="42", details={}, created_at=NOW - timedelta(days=2)),
    ]
    from core.privacy.rights import ActivityPage

    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text, markup = view.activity(ActivityPage(entries, 23, 0, 3), "Asia/Tokyo", NOW)
    lines = plain(text).splitlines()
    assert lines[3] == "3 Dec 2026, 08:30 — Account paused"  # 23:30 UTC is 08:30 in Tokyo
    assert lines[4] == "2 Dec 2026, 08:30 — News consent withdrawn"
    assert lines[5].endswith("privacy.something_new")  # unknown actions still listed
    assert "Page 1 of 3" in text
    assert ("›", PrivacyCb(a="activity", n=1).pack()) in _buttons(markup)


def test_news_carries_an_unsubscribe_for_its_recipient_and_escapes_the_text() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        text, markup = view.news("<b>Sale</b> & more", 42)
    assert text.startswith("&lt;b&gt;Sale&lt;/b&gt; &amp; more")
    assert _buttons(markup) == [("🔕 Отписаться", NewsCb(a="unsub", u=42).pack())]
