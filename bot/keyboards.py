"""An inline keyboard builder whose additions cost one copy of the row list, not of the buttons.

aiogram's `KeyboardBuilder.add` and `adjust` re-export the whole markup through `export()`, which
deep-copies every button (pydantic models) each time: building a keyboard of n buttons one by
one makes about n²/2 button copies. A main menu of nine buttons cost ~5 ms of CPU, half of a
menu press's handling (bench/updates.py profile). Here `export()` copies the rows only and shares
the buttons: the views build a fresh keyboard per screen and never change a button once added.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder as _AiogramBuilder


class InlineKeyboardBuilder(_AiogramBuilder):
    """aiogram's builder without the per-addition deep copy (see the module's docstring)."""

    def export(self) -> list[list[InlineKeyboardButton]]:
        """The rows, as new lists of the same (unchanged) buttons."""
        return [list(row) for row in self._markup]
