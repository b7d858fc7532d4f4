"""An inline keyboard builder whose additions cost one copy of the row list, not of the buttons.

aiogram's `KeyboardBuilder.add` and `adjust` re-export the whole markup through `export()`, which
deep-copies every button (pydantic models) each time: building a keyboard of n buttons one by
one makes about n²/2 button copies. A main menu of nine buttons cost ~5 ms of CPU, half of a
menu press's handling (bench/updates.py profile). Here `export()` copies the rows only and shares
the buttons: the views build a fresh keyboard per screen and never change a button once added.

A button with only a text and callback data (nearly all of ours) is also made once and shared
(`_callback_button`): aiogram's types are frozen, and validating a new one cost ~5 µs, a tenth
of a settings screen's CPU (bench/README.md, "Updates, fourth pass").
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder as _AiogramBuilder


class InlineKeyboardBuilder(_AiogramBuilder):
    """aiogram's builder without the per-addition deep copy (see the module's docstring)."""

    def export(self) -> list[list[InlineKeyboardButton]]:
        """The rows, as new lists of the same (unchanged) buttons."""
        return [list(row) for row in self._markup]

    def _button(self, **kwargs: Any) -> _AiogramBuilder:
        """Add a button; one of text and callback data only comes from the shared ones."""
        text, data = kwargs.pop("text"), kwargs.pop("callback_data", None)
        if isinstance(data, CallbackData):
            data = data.pack()
        if isinstance(text, str) and isinstance(data, str) and all(
            v is None for v in kwargs.values()
        ):
            return self.add(_callback_button(text, data))
        return super()._button(text=text, callback_data=data, **kwargs)


@lru_cache(maxsize=8192)
def _callback_button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)
