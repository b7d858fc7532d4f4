"""The burst and "tracking broken?" messages (issue 17) stay inside Telegram's limits whatever
TikTok's names and comments hold, escape them, and fit callback data in 64 bytes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.i18n import make_i18n
from bot.views import comments as view
from bot.views import pixels as pixels_view
from storage.models import AdComment, CommentBurst

LIMIT = 4096  # Telegram's message text limit
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _comments(n: int, status: str = "PUBLIC") -> list[AdComment]:
    return [
        AdComment(
            id=i,
            ad_account_id=1,
            comment_id=str(i),
            ad_id="1",
            adgroup_id="2",
            campaign_id="3",
            ad_name="x",
            content="<b>scam " + "y" * 900,
            author="z" * 300,
            status=status,
            created_time=WHEN,
        )
        for i in range(n)
    ]


def test_a_burst_quotes_three_examples_and_offers_hide_all(locale: str) -> None:
    burst = CommentBurst(id=2**40, ad_account_id=1, ad_id="1", ad_name="<i>" * 500, count=999)
    text, markup = view.burst_alert(burst, _comments(999))
    assert len(text) < LIMIT and text.count("• ") == 3 and "&lt;b&gt;" in text
    assert markup is not None
    [[button]] = markup.inline_keyboard
    assert "999" in button.text and len((button.callback_data or "").encode()) <= 64


def test_a_hidden_burst_offers_undo_and_nothing_public_offers_nothing(locale: str) -> None:
    burst = CommentBurst(id=5, ad_account_id=1, ad_id="1", ad_name="Ad", count=4, hidden_at=WHEN)
    _text, markup = view.burst_alert(burst, _comments(4, "HIDDEN"))
    assert markup is not None and markup.inline_keyboard[0][0].callback_data == "cm:bundo:5:"
    burst.hidden_at = None
    _text, markup = view.burst_alert(burst, _comments(4, "HIDDEN"))
    assert markup is not None and markup.inline_keyboard == []


def test_tracking_broken_names_pixel_event_spend_and_campaigns(locale: str) -> None:
    params = {
        "account": "Glowly EU",
        "pixel": "<px>" * 200,
        "event": "Complete payment",
        "since": WHEN.isoformat(),
        "zone": "Etc/GMT-1",
        "spend": "1234.5",
        "currency": "EUR",
        "campaigns": ["C" * 600] * 10,
        "more": 3,
    }
    text, _markup = pixels_view.silent_alert(params)
    assert len(text) < LIMIT and "&lt;px&gt;" in text and "Complete payment" in text
    assert "1,234.50" in text or "234,50" in text
    assert "10:30" in text  # the account's time (UTC+1)
    back, _markup = pixels_view.back_alert(params)
    assert len(back) < LIMIT and "Complete payment" in back
