"""The stats header during the first sync: what is in already, and what is still loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.types import Chat, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import StatsCb
from bot.i18n import make_i18n
from bot.views import stats as view
from core.billing.plans import PlanBook
from core.clock import FixedClock
from core.periods import Period
from core.settings import load_settings
from core.stats import summary
from core.sync import Cadence
from core.tiktok import TikTokClient
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import AdAccount, SyncJob, TikTokConnection
from storage.uow import UnitOfWorkFactory
from tests.unit.test_dispatcher import DP, RecordingSession

USER = 8
# Just past midnight: a time from before it is shown with its day.
NOW = datetime(2026, 11, 30, 0, 4, tzinfo=UTC)


async def _accounts(uow: UnitOfWorkFactory) -> None:
    """Three accounts: synced fully, today in and history loading, nothing in yet."""
    await register_user(
        uow, FixedClock(NOW), SignUp(USER, "Ann", None, None, "en", "UTC", None, False)
    )
    today_ok = NOW - timedelta(minutes=3)
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="me", status="active")
        u.session.add(conn)
        await u.session.flush()
        for name, fresh, kinds in (
            ("Synced", NOW - timedelta(minutes=5), {"today": today_ok, "window": today_ok}),
            ("Loading", None, {"today": today_ok, "window": None}),
            ("Waiting", None, {"today": None, "window": None}),
        ):
            acc = AdAccount(
                connection_id=conn.id,
                advertiser_id=name,
                name=name,
                currency="USD",
                time_zone="UTC",
                fresh_as_of=fresh,
            )
            u.session.add(acc)
            await u.session.flush()
            for kind, ok in kinds.items():
                u.session.add(SyncJob(ad_account_id=acc.id, kind=kind, due_at=NOW, last_ok_at=ok))
        await u.commit()


async def test_first_sync_says_what_is_in_and_what_is_loading(engine: AsyncEngine) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await _accounts(uow)
    data = await summary(uow, FixedClock(NOW), USER, Period.TODAY)
    by_name = {a.name: a for a in data.accounts}
    assert by_name["Loading"].today_as_of == NOW - timedelta(minutes=3)
    assert by_name["Waiting"].today_as_of is None
    i18n: I18n = make_i18n()
    for lang, loading, waiting, synced in (
        ("en", "today as of {t} · history loading", "not synced yet", "data as of {t}"),
        ("ru", "сегодня на {t} · история загружается", "ещё не синхронизирован", "данные на {t}"),
    ):
        with i18n.context(), i18n.use_locale(lang):
            text, _ = view.summary(data, Period.TODAY, "UTC", 0, NOW)
        blocks = {b.split("\n")[0].split(" · ")[0]: b for b in text.split("\n\n")[1:]}
        loaded, fresh = "00:01", "29.11 23:59"
        assert loading.format(t=loaded) in blocks["<b>Loading</b>"], lang
        assert waiting in blocks["<b>Waiting</b>"], lang
        assert synced.format(t=fresh) in blocks["<b>Synced</b>"], lang
        assert "history loading" not in blocks["<b>Synced</b>"]


class _Chat(RecordingSession):
    """Answers a sent message with the message (the refresh edits its own progress message)."""

    async def make_request(self, bot: Bot, method: TelegramMethod[Any],
                           timeout: int | None = None) -> Any:  # noqa: ASYNC109
        self.calls.append(method)
        if isinstance(method, SendMessage):
            return Message(message_id=len(self.calls), date=NOW,
                           chat=Chat(id=USER, type="private"), text=method.text).as_(bot)
        return True


def _refresh(account_id: int) -> dict[str, Any]:
    return {"update_id": 1, "callback_query": {
        "id": "cb", "chat_instance": "x", "data": StatsCb(v="refresh", a=account_id, p="7d").pack(),
        "from": {"id": USER, "is_bot": False, "first_name": "Ann", "language_code": "en"},
        "message": {"message_id": 5, "date": 0, "text": "Stats",
                    "chat": {"id": USER, "type": "private"}}}}


async def test_refresh_of_an_account_tiktok_refuses_says_to_reconnect(engine: AsyncEngine) -> None:
    """"Refresh" on a connection whose token TikTok refuses (found before, or by this very
    refresh) says to reconnect: not that another worker is syncing it, nor that the sync will
    be retried shortly — neither will bring fresh numbers."""
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await _accounts(uow)
    async with uow() as u:
        [synced] = [a for a in await u.connections.accounts(USER) if a.name == "Synced"]
        conn = await u.connections.connection(USER, synced.connection_id)
        assert conn is not None and conn.credential_id is None  # refused on the first call
        await u.commit()
    tiktok = TikTokClient(base_url="http://127.0.0.1:9", app_id="a", secret="s")
    said: list[str] = []
    for _ in range(2):  # active (this refresh finds out), then broken (found out before)
        session = _Chat()
        bot = Bot("42:TEST", session=session)
        await DP.feed_raw_update(bot, _refresh(synced.id), uow=uow, settings=load_settings(),
                                 clock=FixedClock(NOW), plans=PlanBook(), worker="test",
                                 tiktok=tiktok, charts=None, cadence=Cadence())
        texts = [c.text for c in session.calls if isinstance(c, SendMessage | EditMessageText)]
        said.append(texts[-1])
    await tiktok.close()
    for text in said:
        assert "reconnect" in text.lower(), said
        assert "another worker" not in text and "retried shortly" not in text, said
