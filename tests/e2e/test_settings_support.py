"""Settings changes and the support round trip between a user and an operator."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core.clock import SystemClock
from sandbox.telegram.driver import SandboxClient
from storage.db import create_engine, session_factory
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.e2e.harness import ADMIN_ID, ServiceProcess, press_data_answer, sign_up


async def test_settings_language_zone_email_and_news(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(201, language_code="en")
    await sign_up(user, email="first@example.com")
    await user.send("/settings")
    screen = await user.expect("Settings")
    assert "News and offers: off" in screen.text

    await user.press("🌐 Language")
    await user.expect("Choose the interface language")
    await user.press("Русский")
    ru = await user.expect("Настройки")
    assert ru.message_id == screen.message_id and "Язык: Русский" in ru.text
    await user.send("/help")
    await user.expect("Команды")  # every later reply is in the new language

    await user.send("/settings")
    await user.expect("Настройки")
    await user.press("🕒 Часовой пояс")
    await user.expect("Выберите часовой пояс")
    await user.send("UTC+5:30")
    zone = await user.expect("Часовой пояс: Калькутта")
    assert "UTC+05:30" in zone.text
    assert zone.text.startswith("✅ Часовой пояс: Asia/Kolkata, UTC+05:30.")

    await user.press("✉️ Email")
    await user.expect("Отправьте ваш адрес email")
    await user.send("no at sign")
    await user.expect("не похоже на адрес email")
    await user.send("second@example.org")
    await user.expect("Email: second@example.org")
    await user.press("✉️ Email")
    await user.expect("Отправьте ваш адрес email")
    await user.press("Удалить мой email")
    await user.expect("Email: —")

    await user.press("📣 Новости: выкл.")
    await user.expect("Новости и предложения: вкл.")
    answers = await user.callback_answers()
    assert answers[-1]["text"] == "Сохранено ✓"

    await user.press("🔔 Уведомления")
    await user.expect("Тихие часы: выкл.")
    await user.press("23:00–07:00")
    await user.expect("Тихие часы: 23:00–07:00")
    await user.press("« Назад")
    screen = await user.expect("Новости и предложения: вкл.")
    assert "Тихие часы: 23:00–07:00" in screen.text


async def test_support_ticket_round_trip(service: ServiceProcess, sandbox: SandboxClient) -> None:
    operator = await sandbox.user(ADMIN_ID, first_name="Olga", language_code="en")
    user = await sandbox.user(202, first_name="Rita", username="rita_ads", language_code="ru")
    await sign_up(user, language="Русский", zone="Москва")

    await user.send("/support")
    await user.expect("Опишите вопрос")
    await user.send("Где моя статистика? <b>срочно</b> & быстро")
    opened = await user.expect("Обращение №1 создано")
    assert opened.button_labels() == []

    forwarded = await operator.expect("Ticket #1 from Rita (@rita_ads), id 202")
    assert "Где моя статистика? <b>срочно</b> & быстро" in forwarded.text  # escaped, shown as typed
    assert forwarded.button_labels() == ["↩️ Reply"]

    # The user cannot answer their own ticket with a forged operator button.
    answer = await press_data_answer(user, "tk:1:202", opened.message_id)
    assert answer["text"] == "Отвечать на обращения могут только операторы TTPulse."

    await operator.press("↩️ Reply")
    await operator.expect("Write your answer to ticket #1")
    await operator.send("Подключите рекламный аккаунт в разделе «Аккаунты».")
    await operator.expect("Your answer to ticket #1 was sent")
    reply = await user.expect("Ответ поддержки TTPulse (обращение №1)")
    assert "Подключите рекламный аккаунт" in reply.text


async def test_support_answer_to_a_user_who_blocked_the_bot(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    operator = await sandbox.user(ADMIN_ID, language_code="en")
    user = await sandbox.user(203, first_name="Max", language_code="en")
    await sign_up(user)
    await user.send("/support")
    await user.expect("Describe your question")
    await user.send("help")
    await user.expect("Ticket #1 is open")
    await operator.expect("Ticket #1 from Max")
    await user.block(True)
    await operator.press("↩️ Reply")
    await operator.expect("Write your answer")
    await operator.send("Hello Max")
    await operator.expect("could not be delivered")


async def test_alerts_wait_while_the_bot_is_blocked_and_arrive_on_return(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(204, language_code="en")
    await sign_up(user)
    engine = create_engine(service.env["DATABASE_URL"])
    uow = UnitOfWorkFactory(session_factory(engine), None)

    async def queue(key: str, text: str) -> None:
        async with uow() as u:
            await u.outbox.enqueue(204, "text", key, {"text": text}, SystemClock().now())
            await u.commit()

    async def blocked() -> bool:
        async with uow() as u:
            found = await u.users.get(204)
            return found is not None and found.blocked_at is not None

    try:
        await user.block(True)  # the service hears of it through a my_chat_member update
        for _ in range(50):
            if await blocked():
                break
            await asyncio.sleep(0.1)
        assert await blocked()
        await queue("while-blocked", "Spend alert while you were away")
        await asyncio.sleep(2)  # a few notifier ticks: nothing is tried, nothing is lost
        async with uow() as u:
            [row] = await u.session.scalars(
                select(OutboxMessage).where(OutboxMessage.dedup_key == "while-blocked"))
            assert (row.attempts, row.sent_at, row.failed_at) == (0, None, None)

        await user.block(False)
        await user.expect("Spend alert while you were away")
        assert not await blocked()
    finally:
        await engine.dispose()
