"""Pixels screens (issue 17): each event with its counts today / 7 days, a silent event flagged,
names escaped, in English and Russian."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import pixels as view
from core.pixels import AccountPixels, EventCounts, PixelCounts
from core.tiktok.pixels import Pixel, PixelEvent
from storage.models import AdAccount


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _found() -> AccountPixels:
    buy = PixelEvent("COMPLETE_PAYMENT", "CompletePayment", "Complete payment")
    return AccountPixels(
        AdAccount(id=3, advertiser_id="731", name="Glowly <US>", time_zone="America/New_York"),
        date(2026, 12, 1),
        (
            PixelCounts(Pixel("7317", "C7317", "Shop pixel", (buy,)),
                        (EventCounts(buy, 12, 345),)),
            PixelCounts(Pixel("7817", "C7817", "Landing test pixel", (buy,)),
                        (EventCounts(buy, 0, 0),)),
        ),
    )


def test_pixels_show_counts_and_flag_a_silent_event(locale: str) -> None:
    """Both pixels, their counts, the silent one flagged; the account name escaped."""
    text, markup = view.pixel_list(_found(), many_accounts=True)
    assert "Glowly &lt;US&gt;" in text
    assert "12" in text and "345" in text
    assert "✅ Complete payment" in text and "⚠️ Complete payment" in text
    assert ("has not fired in 7 days" in text) == (locale == "en")
    assert ("не срабатывало 7 дней" in text) == (locale == "ru")
    assert markup is not None
    assert [r[0].callback_data for r in markup.inline_keyboard] == ["px:list:3:0", "px:pick:0:0",
                                                                    "ac:show:0:0"]


def test_switch_off_points_to_the_setting(locale: str) -> None:
    text, markup = view.feature_off()
    assert markup is not None and markup.inline_keyboard[0][0].callback_data == "se:features:"
    assert ("Optional features" in text) == (locale == "en")


def test_an_account_with_many_pixels_and_events_fits_one_message(locale: str) -> None:
    """Four pixels with TikTok's standard events set up, most quiet for a week, long names:
    the screen stays inside Telegram's 4096 characters (as parsed), the rest counted."""
    kinds = ("VIEW_CONTENT", "CLICK_BUTTON", "SEARCH", "ADD_TO_WISHLIST", "ADD_TO_CART",
             "INITIATE_CHECKOUT", "ADD_PAYMENT_INFO", "COMPLETE_PAYMENT", "PLACE_AN_ORDER",
             "CONTACT", "DOWNLOAD", "SUBMIT_FORM", "COMPLETE_REGISTRATION", "SUBSCRIBE")
    events = tuple(PixelEvent(k, k.title().replace("_", ""), f"{k.title()} on the landing")
                   for k in kinds)
    rows = tuple(
        PixelCounts(Pixel(f"73{n:017d}", f"C{n}", f"Main store pixel & checkout {n} " * 3,
                          events),
                    tuple(EventCounts(e, 0, 1234 if i % 4 == 0 else 0)
                          for i, e in enumerate(events)))
        for n in range(4))
    found = AccountPixels(AdAccount(id=3, advertiser_id="731", name="Glowly <US> " * 9,
                                    time_zone="America/New_York"), date(2026, 12, 1), rows)
    text, _markup = view.pixel_list(found, many_accounts=True)
    assert len(plain(text).encode("utf-16-le")) // 2 <= 4096
    assert "&amp;" in text and "America/New_York" in text
