"""With `state_file`, the sandbox Bot API server keeps what Telegram would across a restart:
the chats and their message ids, files, update ids and Stars payments (sandbox/keep.py)."""

from __future__ import annotations

from pathlib import Path

from aiogram.types import BufferedInputFile

from sandbox.telegram.driver import SandboxClient
from sandbox.telegram.server import start_server
from tests.sandbox.test_telegram_stars import USER, Feed, make_bot, sub_link


async def test_chats_files_updates_and_a_subscription_survive_a_restart(tmp_path: Path) -> None:
    kept = str(tmp_path / "telegram.pickle")
    server = await start_server(flood_enabled=False, state_file=kept)
    bot = make_bot(server)
    try:
        async with SandboxClient(server.url) as client:
            user = await client.user(USER)
            await user.send("/start")
            sent = await bot.send_message(USER, "hello")
            doc = await bot.send_document(USER, BufferedInputFile(b"creative bytes", "brief.txt"))
            async with Feed(bot, user) as feed:
                await user.pay_link(await sub_link(bot))
                await feed.wait_for(lambda u: u.message is not None
                                    and u.message.successful_payment is not None, timeout=3)
            last_update = feed.updates[-1].update_id
            paid = await bot.get_star_transactions()
    finally:
        await bot.session.close()
        await server.stop()

    again = await start_server(flood_enabled=False, state_file=kept)
    bot = make_bot(again)
    try:
        assert doc.document is not None
        file = await bot.get_file(doc.document.file_id)
        assert file.file_path is not None
        assert (await bot.download_file(file.file_path)).read() == b"creative bytes"
        assert await bot.get_star_transactions() == paid
        later = await bot.send_message(USER, "again")
        assert later.message_id > doc.message_id > sent.message_id
        async with SandboxClient(again.url) as client:
            user = await client.user(USER)
            texts = [m.text for m in await user.bot_messages()]
            assert texts[:1] == ["hello"] and texts[-1] == "again"
            await user.send("/help")
        [update] = await bot.get_updates(timeout=1)
        assert update.update_id > last_update
    finally:
        await bot.session.close()
        await again.stop()

