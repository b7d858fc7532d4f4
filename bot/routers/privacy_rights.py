"""/privacy generated from the inventory, pause/resume, consent withdrawal, the activity list."""

from __future__ import annotations

from aiogram import Router

router = Router(name="privacy_rights")
