"""Audiences screens (issue 17): custom and lookalike audiences with size and status, names
escaped, Make lookalike only for a ready unseeded audience big enough, callback data within
Telegram's 64 bytes for TikTok's longest ids, progress steps, in English and Russian."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import audiences as view
from core.audiences import AccountAudiences
from core.tiktok.audiences import Audience
from storage.models import AdAccount

LONG_ID = "9" * 19  # int64 ids as strings (spec §1.7)


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _aud(aid: str, name: str, kind: str = "custom", size: int = 0, ready: bool = False,
         source: str | None = None) -> Audience:
    return Audience(aid, name, kind, size, ready, False, "EMAIL_SHA256", source)


def test_list_shows_sizes_statuses_and_lookalike_buttons(locale: str) -> None:
    found = AccountAudiences(
        AdAccount(id=2147483647, advertiser_id="731", name="Glowly <US>"),
        (
            _aud(LONG_ID, "VIP <buyers>", size=12345, ready=True),
            _aud("2", "Computing list"),
            _aud("3", "Tiny", size=40, ready=True),
            _aud("4", "Seeded", size=500, ready=True),
            _aud("5", "Seeded · lookalike", "lookalike", 4_500_000, True, source="4"),
        ),
    )
    text, markup = view.audience_list(found, many_accounts=True)
    assert "Glowly &lt;US&gt;" in text and "VIP &lt;buyers&gt;" in text
    assert "12,345" in text or "12 345" in text or "12\xa0345" in text
    assert ("computing on TikTok" in text) == (locale == "en")
    assert markup is not None
    labels = [r[0].text for r in markup.inline_keyboard]
    lal = [x for x in labels if x.startswith("🪞")]
    assert len(lal) == 1 and "VIP <buyers>" in lal[0]  # not computing, not tiny, not seeded
    for row in markup.inline_keyboard:
        assert len(row[0].callback_data.encode()) <= 64


def test_progress_and_bad_files(locale: str) -> None:
    assert view.progress("hash", 0).count("\n") == 0
    assert view.progress("create", 150).startswith("✅") and "150" in view.progress("create", 150)
    for code in ("empty", "too_big", "not_text", "no_rows"):
        assert view.bad_file(code)
    text, markup = view.created("vip", 150, 1, "EMAIL_SHA256", 3)
    assert "150" in text and markup is not None


def test_the_created_message_counts_in_the_readers_plurals(locale: str) -> None:
    one, _kb = view.created("fans", 1, 1, "EMAIL_SHA256", 7)
    many, _kb = view.created("fans", 150, 3, "PHONE_SHA256", 7)
    if locale == "en":
        assert "from 1 hashed email." in one and "1 other line was skipped" in one
        assert "from 150 hashed phone numbers." in many and "3 other lines were skipped" in many
    else:
        assert "1 захешированный email." in one and "Пропущена 1 другая строка" in one
        assert "150 захешированных номеров телефона." in many
        assert "Пропущены 3 другие строки" in many


def test_a_full_account_of_long_names_fits_one_message(locale: str) -> None:
    """30 custom audiences named as TTPulse names them (a 60-character file name and the day)
    and their 30 lookalikes: the list stays inside Telegram's 4096 characters (as parsed)."""
    stem = "Customers export from the spring promo & loyalty programme 01"[:60]
    custom = [_aud(f"73{i:017d}", f"{stem} 2026-03-{i % 28 + 1:02d}", size=123_456_789,
                   ready=True) for i in range(30)]
    lookalike = [_aud(f"74{i:017d}", f"{a.name} · lookalike", "lookalike", 456_789_012, True,
                      source=a.audience_id) for i, a in enumerate(custom)]
    found = AccountAudiences(AdAccount(id=7, advertiser_id="731", name="Glowly <US> " * 9),
                             tuple(custom + lookalike))
    text, _markup = view.audience_list(found, many_accounts=True)
    assert len(plain(text).encode("utf-16-le")) // 2 <= 4096
    assert "&amp;" in text  # names still escaped
