"""The stats header during the first sync: what is in already, and what is still loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import make_i18n
from bot.views import stats as view
from core.clock import FixedClock
from core.periods import Period
from core.stats import summary
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import AdAccount, SyncJob, TikTokConnection
from storage.uow import UnitOfWorkFactory

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
