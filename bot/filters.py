"""Shared magic filters."""

from __future__ import annotations

from aiogram import F

# Typed text that is not a command: a command during a flow goes to its own handler.
TYPED = F.text & ~F.text.startswith("/")
NOT_TEXT = ~F.text
