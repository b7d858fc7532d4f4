"""/mydata and the export's words: every inventoried table and category has a name a user
reads, the screen stays inside Telegram's limits however much is stored, consents show their
times in the user's zone, and README.txt names every file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import privacy_data as view
from core.privacy.export import FileEntry, Inventory, TableCount, main_category
from storage.inventory import TABLES, Category, Purpose
from storage.models import User

T = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _user() -> User:
    return User(id=5, first_name="Ann <b>", last_name=None, username="ann", language="en",
                time_zone="Asia/Tokyo", email="ann@example.com", adult_confirmed_at=T,
                terms_accepted_at=T, terms_version="2026-11", privacy_accepted_at=T,
                marketing_opt_in=False, marketing_consent_at=T, marketing_withdrawn_at=T,
                created_at=T, paused_at=None)


def test_every_table_category_and_purpose_has_a_name(locale: str) -> None:
    assert set(TABLES) <= set(view.TABLE_LABELS)
    for name in TABLES:
        assert view.table_label(name)
    for category in Category:
        assert view.category_label(category)
    for purpose in Purpose:
        assert view.purpose_label(purpose)


def test_my_data_shows_counts_dates_and_consents_in_the_users_zone(locale: str) -> None:
    found = Inventory({
        Category.AD_DATA: [TableCount("tiktok_connections", 2),
                           TableCount("metrics_daily", 1234, date(2026, 10, 1),
                                      date(2026, 11, 30))],
    })
    text, markup = view.my_data(_user(), found)
    shown = plain(text)
    assert "18:30" in shown  # 09:30 UTC in Tokyo
    assert "2026-11" in shown and "Ann <b>" in shown and "ann@example.com" in shown
    assert ("1,234" if locale == "en" else "1\xa0234") in shown
    assert "01.10.2026 – 30.11.2026" in shown
    assert markup is not None and markup.inline_keyboard[0][0].callback_data == "pd:export"
    if locale == "en":
        assert "Ad data" in shown and "daily statistics rows: 1,234" in shown
        assert "News and offers: withdrawn" in shown


def test_my_data_fits_one_message_with_everything_stored(locale: str) -> None:
    many = {c: [] for c in Category}  # type: dict[Category, list[TableCount]]
    for name, table in TABLES.items():
        many[main_category(table)].append(
            TableCount(name, 10**9, datetime(2020, 1, 1, tzinfo=UTC), T))
    text, _ = view.my_data(_user(), Inventory(many))
    assert len(plain(text)) <= 4096 and len(text) <= 4096 * 2


def test_readme_names_every_file(locale: str) -> None:
    files = [
        FileEntry("ad_data.json", "category", Category.AD_DATA, ("ad_accounts",),
                  (Purpose.TIKTOK,), 3),
        FileEntry("stats/1_Shop.csv", "stats_daily", Category.AD_DATA, ("metrics_daily",),
                  (Purpose.TIKTOK,), 10, "Shop"),
        FileEntry("rules/1-r.json", "rule", Category.AUTOMATION, ("rules",),
                  (Purpose.AUTOMATION,), 1, "r"),
        FileEntry("README.txt", "readme"),
    ]
    text = view.readme(files, T, "Asia/Tokyo")
    for f in files:
        assert f.path in text
    assert "18:30" in text
