"""Bot command menus, registered in each supported language (setMyCommands + language_code)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, MenuButtonWebApp, WebAppInfo
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from core.users import LANGUAGES

# Commands only operators (ADMIN_IDS) may use: answered, but kept out of users' menus.
OPERATOR_COMMANDS = frozenset({"admin", "broadcast", "erase"})


def command_list() -> list[BotCommand]:
    """The commands with descriptions in the current locale."""
    return [
        BotCommand(command="menu", description=_("Main menu")),
        BotCommand(command="stats", description=_("Spend and results")),
        BotCommand(command="launch", description=_("Launch campaigns from a template")),
        BotCommand(command="templates", description=_("Campaign templates")),
        BotCommand(command="creatives", description=_("Videos and images for ads")),
        BotCommand(command="rules", description=_("Automation rules")),
        BotCommand(command="web", description=_("Open the web dashboard")),
        BotCommand(command="billing", description=_("Your plan, payments and usage")),
        BotCommand(command="plans", description=_("Plans and prices")),
        BotCommand(command="settings", description=_("Language, time zone, email, news")),
        BotCommand(command="support", description=_("Write to our team")),
        BotCommand(command="paysupport", description=_("Help with a payment")),
        BotCommand(command="privacy", description=_("What we store and why")),
        BotCommand(command="mydata", description=_("What is stored about you")),
        BotCommand(command="export", description=_("All your data as a ZIP")),
        BotCommand(command="delete_account", description=_("Delete your account and data")),
        BotCommand(command="terms", description=_("Terms of the paid plans")),
        BotCommand(command="help", description=_("What TTPulse does")),
        BotCommand(command="cancel", description=_("Stop the current step")),
        BotCommand(command="start", description=_("Sign up or restart")),
    ]


async def register_commands(bot: Bot, i18n: I18n) -> None:
    """English as the default list, then one list per language."""
    with i18n.context():
        with i18n.use_locale("en"):
            await bot.set_my_commands(command_list())
        for lang in LANGUAGES:
            with i18n.use_locale(lang):
                await bot.set_my_commands(command_list(), language_code=lang)


async def register_menu_button(bot: Bot, i18n: I18n, app_url: str) -> None:
    """The bot's menu button opens the dashboard as a Mini App — when its URL is https, the
    only kind Telegram accepts for a Mini App (otherwise /web gives the address)."""
    if not app_url.startswith("https://"):
        return
    with i18n.context(), i18n.use_locale("en"):
        button = MenuButtonWebApp(text=_("Dashboard"), web_app=WebAppInfo(url=app_url))
    await bot.set_chat_menu_button(menu_button=button)
