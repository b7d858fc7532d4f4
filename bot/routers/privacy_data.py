"""/mydata and /export: what is stored about the user, and all of it as a ZIP."""

from __future__ import annotations

from aiogram import Router

router = Router(name="privacy_data")
