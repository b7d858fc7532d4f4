"""Library and identity screens stay inside Telegram's limits with the longest data, in both
languages, and escape what users typed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import creatives as view
from bot.views import identities as id_view
from core.creatives import Added, CreativeCard, LibraryPage
from core.identities import AccountIdentities
from core.tiktok import Identity
from storage.models import AdAccount, Creative

TEXT_MAX, CAPTION_MAX, CALLBACK_MAX = 4096, 1024, 64  # telegram-bot-platform §1


def creative(n: int, *, url: str | None = None) -> Creative:
    return Creative(
        id=10**9 + n,
        user_id=1,
        kind="video" if n % 2 else "image",
        name=("<b>&" + "Ж" * 200)[:100],
        file_name="f" * 256,
        mime_type="video/mp4" if n % 2 else "image/png",
        size=499 * 1024 * 1024,
        duration=3599,
        width=1080,
        height=1920,
        md5="0123456789abcdef" * 2,
        source_url=url,
        created_at=datetime(2026, 5, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_longest_library_card_and_identity_list_fit(lang: str) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        items = [creative(n) for n in range(8)]
        text, _markup = view.library(LibraryPage(items, 3, 9, 70))
        assert len(plain(text)) < TEXT_MAX and "&lt;b&gt;&amp;" in text
        long_link = "https://cdn.example.com/" + "a" * 2000 + ".mp4"
        for c in (creative(1), creative(2, url=long_link)):
            caption, kb = view.card(CreativeCard(c, 12), "Asia/Tokyo", 3)
            assert len(plain(caption)) <= CAPTION_MAX
            for row in kb.inline_keyboard:
                for b in row:
                    assert len((b.callback_data or "").encode()) <= CALLBACK_MAX
        assert len(plain(view.added(Added(creative(3), False))[0])) < TEXT_MAX

        account = AdAccount(id=5, name="<Acme> " + "x" * 250, advertiser_id="7" * 19)
        idents = [
            Identity(str(7 * 10**18 + n), "CUSTOMIZED_USER", "Я" * 100, available_status="X" * 30)
            for n in range(60)
        ]
        text, _ = id_view.identity_list(AccountIdentities(account, idents), True)
        assert len(plain(text)) < TEXT_MAX and "&lt;Acme&gt;" in text
