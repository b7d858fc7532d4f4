"""Sign-up through the real service and the sandbox Telegram server, as a new user would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.timezones import zone_and_offset
from sandbox.telegram.driver import SandboxClient
from tests.e2e.harness import ServiceProcess, sign_up


@pytest.mark.fresh_interpreter  # started exactly as the README says, not from the fork server
@pytest.mark.telegram_pace  # and paced at Telegram's own per-chat limit
async def test_full_sign_up_in_english_then_restart(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(101, first_name="Ann", language_code="en")
    await user.send("/start ref_partner42")
    first = await user.expect("Choose your language")
    assert first.button_labels() == ["English", "Русский"]

    await user.press("English")
    age = await user.expect("18 or older")
    assert age.message_id == first.message_id  # the same message, edited in place

    await user.press("✅ I am 18 or older")
    terms = await user.expect("Terms of Use")
    links = [b for row in terms.buttons for b in row if b.url]
    assert [b.url for b in links] == [
        f"{service.url}/terms?lang=en",
        f"{service.url}/privacy?lang=en",
    ]

    await user.press("✅ I accept")
    await user.expect("Which time zone")
    await user.send("Atlantis")
    await user.expect("don't recognise that time zone")
    await user.send("new york")
    step = await user.expect("Optionally, send your email")
    # Said back: which zone the typed city became, with its offset now.
    said = zone_and_offset("America/New_York", datetime.now(UTC))
    assert step.text.startswith(f"✅ Time zone: {said}.") and said.endswith(("-05:00", "-04:00"))
    await user.send("ann@@example")
    await user.expect("doesn't look like an email")
    await user.send("Ann@Example.com")
    news = await user.expect("news and offers")
    assert news.button_labels() == ["☐ Send me product news and offers", "Finish sign-up"]
    await user.press("☐ Send me product news and offers")
    await user.wait_for(lambda m: "☑ Send me product news and offers" in m.button_labels())
    await user.press("Finish sign-up")
    menu = await user.expect("You're all set, Ann!")
    assert menu.button_labels() == [
        "📊 Accounts",
        "📈 Stats",
        "🚀 Launch",
        "🎞 Creatives",
        "🤖 Rules",
        "🔗 Integrations",
        "⭐ Billing",
        "⚙️ Settings",
        "❓ Help",
    ]

    await user.send("/settings")
    settings = await user.expect("Settings")
    assert "Time zone: New York" in settings.text
    assert "Email: Ann@example.com" in settings.text
    assert "News and offers: on" in settings.text

    await service.restart()
    await user.send("/start")
    again = await user.expect("main menu. Choose a section")
    assert "Choose your language" not in again.text


async def test_full_sign_up_in_russian(service: ServiceProcess, sandbox: SandboxClient) -> None:
    user = await sandbox.user(102, first_name="Иван", language_code="ru")
    await user.send("/start")
    await user.expect("Выберите язык")
    await user.press("Русский")
    await user.expect("18 лет")
    await user.press("✅ Мне 18 или больше")
    terms = await user.expect("Условия использования")
    assert terms.button_labels() == [
        "📄 Условия использования",
        "🔒 Политика конфиденциальности",
        "✅ Принимаю",
        "✖️ Отказаться",
    ]
    await user.press("✅ Принимаю")
    await user.expect("В каком вы часовом поясе")
    await user.send("Москва")
    await user.expect("адрес email")
    await user.press("Пропустить")
    news = await user.expect("новости продукта")
    assert news.button_labels()[0].startswith("☐")  # the opt-in starts unticked
    await user.press("Завершить регистрацию")
    await user.expect("Всё готово, Иван!")

    await user.send("/settings")
    settings = await user.expect("Настройки")
    assert "Часовой пояс: Москва (UTC+03:00)" in settings.text
    assert "Email: —" in settings.text and "Новости и предложения: выкл." in settings.text


async def test_under_18_ends_sign_up_and_stores_nothing(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(103, language_code="en")
    await user.send("/start")
    await user.expect("Choose your language")
    await user.press("English")
    await user.expect("18 or older")
    await user.press("I am under 18")
    refused = await user.expect("only for people aged 18 and over")
    assert refused.button_labels() == []
    await user.send("/settings")
    await user.expect("Please send /start to sign up first")
    await user.send("/start")
    await user.expect("Choose your language")  # starts over: nothing was kept


async def test_declining_terms_ends_sign_up(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(104, language_code="en")
    await user.send("/start")
    await user.expect("Choose your language")
    await user.press("English")
    await user.expect("18 or older")
    await user.press("✅ I am 18 or older")
    await user.expect("Terms of Use")
    await user.press("✖️ Decline")
    await user.expect("Nothing was stored")
    await user.send("/menu")
    await user.expect("Please send /start to sign up first")


async def test_commands_are_registered_per_language(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    stored = await sandbox.commands()
    by_lang = {entry.get("language_code") or "": entry["commands"] for entry in stored}
    assert set(by_lang) >= {"", "en", "ru"}
    assert {c["command"] for c in by_lang["ru"]} == {
        "menu",
        "stats",
        "launch",
        "templates",
        "creatives",
        "rules",
        "web",
        "billing",
        "plans",
        "settings",
        "support",
        "paysupport",
        "privacy",
        "mydata",
        "export",
        "delete_account",
        "terms",
        "help",
        "cancel",
        "start",
    }
    # Operators' commands are answered but never offered in a user's menu.
    assert not {"broadcast", "erase"} & {c["command"] for c in by_lang[""]}
    ru = {c["command"]: c["description"] for c in by_lang["ru"]}
    en = {c["command"]: c["description"] for c in by_lang["en"]}
    assert ru["menu"] == "Главное меню" and en["menu"] == "Main menu"
    assert ru["launch"] == "Запуск кампаний по шаблону" and en["rules"] == "Automation rules"


async def test_sign_up_helper_and_menu_sections(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(105, language_code="en")
    await sign_up(user)
    menu = await user.last_bot_message()
    assert menu is not None
    await user.press("⭐ Billing")
    billing = await user.expect("Plan: Free")
    assert billing.message_id == menu.message_id
    assert billing.button_labels() == ["📋 Plans", "🧾 History (0)", "« Main menu"]
    await user.press("« Main menu")
    await user.expect("main menu. Choose a section")
    await user.press("❓ Help")
    await user.expect("/support — write to our team")
