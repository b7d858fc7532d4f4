"""Comment and permission screens (issue 17): long comments stay inside Telegram's limits, the
permissions read in words, and a missing permission offers a reconnect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.i18n import make_i18n
from bot.views import comments as view
from bot.views import permissions as permissions_view
from core.comments import matching, parse_words
from core.features import Grant
from storage.models import AdAccount, AdComment, AdObject, User

LIMIT = 4096  # Telegram's message text limit (telegram-bot-platform.md)


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _comment(**kw: object) -> AdComment:
    base: dict[str, object] = dict(
        id=7, ad_account_id=1, comment_id="74", ad_id="1", adgroup_id="2", campaign_id="3",
        ad_name="Coffee hook", content="Where?", author="mia", status="PUBLIC",
        created_time=datetime(2026, 12, 1, tzinfo=UTC))
    base.update(kw)
    return AdComment(**base)


def test_a_huge_comment_is_cut_and_escaped(locale: str) -> None:
    """Whatever TikTok sends, the card fits one message and its HTML stays intact."""
    text, markup = view.card(_comment(content="<b>" + "x" * 9000, ad_name="<i>" * 300,
                                      author="a" * 500))
    assert len(text) < LIMIT and "&lt;b&gt;" in text and "…" in text
    assert markup is not None and len(markup.inline_keyboard[0]) == 2


def test_an_auto_hidden_comment_names_its_word_and_offers_unhide(locale: str) -> None:
    text, markup = view.card(_comment(status="HIDDEN", matched="scam",
                                      auto_hidden_at=datetime(2026, 12, 1, tzinfo=UTC)))
    assert "scam" in text
    assert markup is not None
    assert markup.inline_keyboard[0][0].callback_data == "cm:unhide:7:"


def test_permissions_in_words_and_a_reconnect_for_what_is_missing(locale: str) -> None:
    grant = Grant(4, "Demo BC", frozenset({"pixels"}))
    line = permissions_view.scope_line(grant)
    assert ("comments" in line) if locale == "en" else ("комментарии" in line)
    user = User(id=1, features="comments", comment_words="scam", negative_words="",
                burst_threshold=5)
    text, markup = permissions_view.features(user, [grant])
    assert "Comment management" in text and "scam" in text
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert "ac:reconnect:4:0" in data and "se:cwords:" in data
    unknown = permissions_view.scope_line(Grant(5, "Old", None))
    assert "reconnect" in unknown.lower() or "переподключите" in unknown


def test_hide_words_match_any_case_and_language() -> None:
    words = parse_words("Scam, РАЗВОД")
    assert matching(words, "This is a SCAM") == "scam"
    assert matching(words, "Это развод, не покупайте") == "развод"
    assert matching(words, "Love it") is None


def test_the_campaign_picker_pages_and_keeps_callbacks_short(locale: str) -> None:
    """45 campaigns: 20 a page with ‹ › and the page kept in each toggle; callback data
    within Telegram's 64 bytes even for 19-digit ids."""
    base = 1_800_000_000_000_000_000
    camps = [AdObject(ad_account_id=123456, level="campaign", object_id=str(base + i),
                      name=f"Campaign {i:02d} " + "x" * 60) for i in range(45)]
    accounts = {123456: AdAccount(id=123456, name="Glowly US", advertiser_id="7")}
    text, markup = view.picker(camps, accounts, {(123456, camps[21].object_id)}, 2.5, page=1)
    assert "(2/3)" in text and markup is not None
    # The pull's cadence as configured (COMMENTS_PULL_MINUTES), in the reader's number format.
    assert ("every 2.5 min" if locale == "en" else "каждые 2,5 мин") in text
    labels = [b.text for row in markup.inline_keyboard for b in row]
    data = [b.callback_data or "" for row in markup.inline_keyboard for b in row]
    assert sum(label.startswith(("✅", "⬜")) for label in labels) == 20
    assert any(label.startswith("✅ Campaign 21") for label in labels)
    assert "‹" in labels and "›" in labels
    assert all(len(d.encode()) <= 64 for d in data)
    assert f"cm:watch:123456:{camps[20].object_id}.1" in data


async def test_a_reply_over_tiktoks_length_is_refused_and_kept_asking(
    locale: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typed reply longer than TikTok's 150 characters (the prompt says so) is not cut
    mid-word and posted as if whole: the bot says how long it is and still waits for the
    reply; one that fits goes out whole."""
    from aiogram.fsm.context import FSMContext
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.storage.memory import MemoryStorage

    from bot.routers import comments as router
    from bot.states import CommentStates
    from core import comments

    sent: list[str] = []

    async def reply_to(_uow: object, _clock: object, _tiktok: object, _user: int, _row: int,
                       text: str) -> AdComment:
        sent.append(text)
        return _comment()

    monkeypatch.setattr(comments, "reply_to", reply_to)

    class Typed:
        def __init__(self, text: str) -> None:
            self.text, self.answers = text, []

        async def answer(self, text: str, **_kw: object) -> None:
            self.answers.append(text)

    state = FSMContext(MemoryStorage(), StorageKey(bot_id=1, chat_id=7, user_id=7))
    await state.set_state(CommentStates.reply)
    await state.update_data(comment=7)
    user = User(id=7, features="comments")
    long = Typed("Thanks for asking! " * 10)
    await router.typed_reply(long, state, user, None, None, object())  # type: ignore[arg-type]
    assert sent == [] and "189" in long.answers[0]
    assert await state.get_state() == CommentStates.reply.state
    assert await state.get_data() == {"comment": 7}
    short = Typed("Thanks for asking!")
    await router.typed_reply(short, state, user, None, None, object())  # type: ignore[arg-type]
    assert sent == ["Thanks for asking!"] and await state.get_state() is None
