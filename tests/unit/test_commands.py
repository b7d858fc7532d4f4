"""The registered command menu: every command the bot answers, in every language."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.filters import Command
from aiogram.methods import SetMyCommands

from bot.commands import OPERATOR_COMMANDS, register_commands
from bot.i18n import make_i18n
from bot.routers import all_routers
from core.users import LANGUAGES
from tests.unit.test_dispatcher import RecordingSession


def _answered_commands() -> set[str]:
    """Every /command some router has a handler for."""
    found: set[str] = set()
    for router in all_routers():
        for handler in router.message.handlers:
            for flt in handler.filters or []:
                if isinstance(flt.callback, Command):
                    found.update(str(c) for c in flt.callback.commands)
    return found


async def _registered() -> dict[str, dict[str, str]]:
    session = RecordingSession()
    await register_commands(Bot("42:TEST", session=session), make_i18n())
    menus: dict[str, dict[str, str]] = {}
    for call in session.calls:
        assert isinstance(call, SetMyCommands)
        menus[call.language_code or ""] = {c.command: c.description for c in call.commands}
    return menus


async def test_every_answered_command_is_in_every_languages_menu() -> None:
    menus = await _registered()
    assert set(menus) == {"", *LANGUAGES}
    answered = _answered_commands() - OPERATOR_COMMANDS
    assert {"launch", "templates", "creatives", "rules", "stats"} <= answered
    for lang, menu in menus.items():
        assert answered <= set(menu), lang
        assert not OPERATOR_COMMANDS & set(menu), lang


async def test_menu_descriptions_are_translated() -> None:
    menus: dict[str, Any] = await _registered()
    en, ru = menus["en"], menus["ru"]
    assert menus[""] == en
    assert en["launch"] == "Launch campaigns from a template"
    assert ru["launch"] == "Запуск кампаний по шаблону"
    assert ru["rules"] == "Правила автоматизации"
    assert all(ru[c] != en[c] for c in en)
