"""Our inline keyboard builder (bot/keyboards.py) makes the keyboards aiogram's own builder
makes, button for button, though it copies less and shares the buttons it can."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder as AiogramBuilder

from bot.callbacks import MenuCb, StatsCb
from bot.keyboards import InlineKeyboardBuilder


def _build(kb: AiogramBuilder) -> dict[str, object]:
    for n in range(7):
        kb.button(text=f"Page {n}", callback_data=StatsCb(v="sum", n=n))
    kb.button(text="Open TikTok ↗", url="https://ads.tiktok.com/")
    kb.button(text="Copy", callback_data="plain:data")
    kb.adjust(3, 2)
    kb.row(InlineKeyboardButton(text="« Main menu", callback_data=MenuCb(section="home").pack()))
    return kb.as_markup().model_dump(exclude_none=True)


def test_the_same_keyboard_as_aiograms_builder() -> None:
    assert _build(InlineKeyboardBuilder()) == _build(AiogramBuilder())


def test_a_keyboard_built_later_leaves_an_earlier_one_as_it_was() -> None:
    first = InlineKeyboardBuilder()
    first.button(text="Yes", callback_data="a:yes")
    shown = first.as_markup()
    first.button(text="No", callback_data="a:no")
    second = InlineKeyboardBuilder()
    second.button(text="Yes", callback_data="a:yes")
    second.button(text="Later", callback_data="a:later")
    second.adjust(1)
    assert [[b.text for b in row] for row in shown.inline_keyboard] == [["Yes"]]
    assert [[b.text for b in row] for row in first.as_markup().inline_keyboard] == [["Yes", "No"]]
    assert [[b.text for b in row] for row in second.as_markup().inline_keyboard] == [
        ["Yes"],
        ["Later"],
    ]
