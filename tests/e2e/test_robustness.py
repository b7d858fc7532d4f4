"""Bad input gets a clear reply: /cancel, stray text, stale and forged buttons, restarts."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from tests.e2e.harness import ADMIN_ID, ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_stats import connected_and_synced


async def test_cancel_in_the_middle_of_sign_up(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(301, language_code="en")
    await user.send("/start")
    await user.expect("Choose your language")
    await user.press("English")
    await user.expect("18 or older")
    await user.send("/cancel")
    await user.expect("Sign-up cancelled. Nothing was stored.")
    await user.send("hello?")
    await user.expect("Send /start to sign up")
    await user.send("/cancel")
    await user.expect("There is nothing to cancel")


async def test_cancel_in_settings_and_support(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(302, language_code="en")
    await sign_up(user)
    await user.send("/support")
    await user.expect("Describe your question")
    await user.send("/cancel")
    await user.expect("Cancelled. Nothing was changed.")
    await user.send("this is not a ticket")
    await user.expect("I didn't understand that")


async def test_text_where_a_button_is_expected(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(303, language_code="en")
    await user.send("/start")
    await user.expect("Choose your language")
    await user.send("english please")
    await user.expect("Please answer with the buttons above")
    await user.press("English")
    await user.expect("18 or older")
    await user.send("yes I am 30")
    await user.expect("Please answer with the buttons above")
    await user.send_file("photo", "me.jpg", b"\xff\xd8\xff\xe0fakejpeg")
    await user.expect("Please answer with the buttons above")


async def test_flow_survives_restart_and_stale_buttons_are_refused(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(304, language_code="en")
    await user.send("/start")
    first = await user.expect("Choose your language")
    await user.press("English")
    await user.expect("18 or older")

    await service.restart()
    # The conversation state was kept: the age step still works after the restart.
    await user.press("✅ I am 18 or older")
    await user.expect("Terms of Use")

    # "English" on the first message is gone (edited); a replayed press of its payload is stale.
    answer = await press_data_answer(user, "su:lang:en", first.message_id)
    assert answer["text"] == "This button is no longer valid. Send /menu to continue."
    assert answer["show_alert"] is True


async def test_forged_and_edited_callback_payloads(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(305, language_code="en")
    await sign_up(user)
    await user.send("/settings")
    screen = await user.expect("Settings")
    stale = "This button is no longer valid."
    for payload, reply in [
        ("mn:../../etc", stale),
        ("se:setlang:xx", stale),
        ("se:settz:Mars/Base", stale),
        ("se:mkt:maybe", stale),
        ("se:nope", stale),
        ("tk:notanumber", stale),
        ("totally-unknown", stale),
        ("su:done", stale),
        ("tk:1:305", "Only TTPulse operators can answer tickets."),
    ]:
        answer = await press_data_answer(user, payload, screen.message_id)
        assert str(answer["text"]).startswith(reply), payload
    # Nothing changed.
    await user.send("/settings")
    after = await user.expect("Settings")
    assert after.text == screen.text


async def test_over_long_input_gets_a_plain_answer(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    operator = await sandbox.user(ADMIN_ID, language_code="en")
    user = await sandbox.user(309, language_code="en")
    await sign_up(user)
    await user.send("/rules")
    await user.expect("Rules watch your ads")
    await user.press("⌨️ Type a rule")
    await user.expect("Send the rule as one line")
    await user.send("x" * 5_000)
    said = await user.expect("a rule is at most 500")
    assert said.text.startswith("That is 5000 characters")
    await user.send("/cancel")
    await user.send("/support")
    await user.expect("Describe your question")
    await user.send("help " * 1_000)
    await user.expect("one message to support holds up to 3000")
    await user.send("My budget did not change")  # still asking: a shorter one is taken
    await user.expect("Ticket #")
    await operator.wait_for(lambda m: "My budget did not change" in m.text)
    assert len([m for m in await operator.bot_messages() if "Ticket #" in m.text]) == 1


async def test_unregistered_user_gets_pointed_to_start(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(306, language_code="ru")
    await user.send("/menu")
    await user.expect("Сначала зарегистрируйтесь")
    await user.send("/support")
    await user.expect("Сначала зарегистрируйтесь")
    await user.send("/privacy")
    await user.expect("Политика конфиденциальности TTPulse")


async def test_health_readiness_and_legal_pages(service: ServiceProcess) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{service.url}/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "ok"
        async with http.get(f"{service.url}/readyz") as resp:
            body = await resp.json()
            assert resp.status == 200 and body == {
                "ready": True,
                "database": "ok",
                "telegram": "ok",
            }
        async with http.get(f"{service.url}/privacy?lang=ru") as resp:
            page = await resp.text()
            assert resp.status == 200 and "Политика конфиденциальности TTPulse" in page
            assert "Несовершеннолетние" in page  # the whole policy, not only its first page
        async with http.get(f"{service.url}/terms") as resp:
            assert "TTPulse Terms of Use" in await resp.text()


async def test_no_secret_reaches_the_log(service: ServiceProcess, sandbox: SandboxClient) -> None:
    user = await sandbox.user(307, language_code="en")
    await sign_up(user)
    log = service.log()
    assert service.env["BOT_TOKEN"] not in log
    assert service.env["BOT_TOKEN"].split(":")[1] not in log
    assert service.env["ENCRYPTION_KEYS"].split(":")[1] not in log


# --------------------------------------------------------------------------- double taps
# Buttons the walk leaves alone: ones that end what the rest of the walk needs (the TikTok
# connection, the reader's language), and ones that only send files or pictures (slow, and no
# screen behind them).
NOT_WALKED = ("Yes, disconnect", "Русский", "📊 Charts", "🔄 Refresh", "📄 CSV")
WALK_DEPTH = 4


def _shape(data: str) -> str:
    """Buttons that lead to the same kind of screen for another object share a shape."""
    return re.sub(r"\d+", "#", data)


async def _answered(user: ChatUser, query_ids: set[str]) -> None:
    """Wait until the bot has answered every one of these callback queries."""
    for _ in range(600):
        answered = {str(a["callback_query_id"]) for a in await user.callback_answers()}
        if query_ids <= answered:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot never answered the presses {query_ids}")


async def _screen_after(user: ChatUser, pressed: MessageView, since: int) -> MessageView:
    """The screen a press led to: the newest bot message with buttons changed since `since`,
    else the pressed message as it is now."""
    messages = await user.bot_messages()
    for msg in reversed(messages):
        if msg.seq > since and msg.buttons:
            return msg
    return next(m for m in messages if m.message_id == pressed.message_id)


@pytest.mark.timeout(600)  # dozens of screens, each tapped twice, on a loaded machine
@pytest.mark.allow_refusals(400)  # only "message is not modified": asserted below
async def test_a_double_tap_on_every_screen_crashes_nothing(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    """Every kind of button on every screen reachable from the main menu, pressed twice on the
    same copy of its message (as a quick double tap arrives), on the copy saved when the screen
    was first seen: the presses carry that copy, so no path is replayed to get back to it."""
    user = await sandbox.user(308, language_code="en")
    await connected_and_synced(user)
    await user.send("/menu")
    queue = [((), await user.expect("main menu"))]
    walked: set[str] = set()
    tapped: list[str] = []
    while queue:
        path, screen = queue.pop(0)
        for button in [b for row in screen.buttons for b in row]:
            data = button.callback_data
            if data is None or _shape(data) in walked or button.text.startswith(NOT_WALKED):
                continue
            walked.add(_shape(data))
            since = user.last_action_seq
            presses = await user.double_tap(button.text, seen=screen)
            await _answered(user, {str(p["callback_query_id"]) for p in presses})
            tapped.append(" › ".join((*path, button.text)))
            if len(path) + 1 < WALK_DEPTH:
                queue.append(((*path, button.text), await _screen_after(user, screen, since)))
            if len(tapped) % 10 == 0:  # the chat still answers
                await user.send("/menu")
                await user.expect("main menu")
    await user.send("/menu")
    await user.expect("main menu")
    assert len(tapped) > 40, tapped
    assert {"📊 Accounts", "📈 Stats", "🚀 Launch", "🤖 Rules", "⚙️ Settings"} <= set(tapped)
    assert "Traceback" not in service.log()
    refused = {r["description"] for r in await sandbox.refusals() if r["error_code"] == 400}
    assert all("message is not modified" in d for d in refused), refused
