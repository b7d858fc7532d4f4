"""Storage on SQLite and PostgreSQL: migrations match models, repositories and use-cases work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.clock import FixedClock
from core.support import TicketNotFound, open_ticket, reply_to_ticket
from core.users import (
    InvalidValue,
    SignUp,
    get_user,
    register_user,
    set_email,
    set_marketing,
    set_time_zone,
)
from storage.db import session_factory
from storage.migrate import upgrade
from storage.models import AdObject, Base, ObjectValue, User
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _form(user_id: int = 42, **kw: object) -> SignUp:
    base = dict(
        user_id=user_id,
        first_name="Ann",
        last_name=None,
        username="ann",
        language="ru",
        time_zone="Europe/Moscow",
        email="Ann@Example.COM",
        marketing_opt_in=False,
        start_payload="ref_abc",
    )
    base.update(kw)
    return SignUp(**base)  # type: ignore[arg-type]


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    """A model change without a migration (or the reverse) fails here."""

    def diff(conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


async def test_register_user_keeps_consents_and_is_idempotent(uow: UnitOfWorkFactory) -> None:
    clock = FixedClock(NOW)
    user = await register_user(uow, clock, _form())
    again = await register_user(uow, FixedClock(NOW + timedelta(hours=1)), _form(language="en"))
    assert again.created_at == user.created_at and again.language == "ru"

    stored = await get_user(uow, 42)
    assert stored is not None
    assert stored.email == "Ann@example.com"  # domain lower-cased, local part kept
    assert stored.adult_confirmed_at == NOW and stored.terms_accepted_at == NOW
    assert stored.privacy_accepted_at == NOW and stored.terms_version
    assert stored.marketing_opt_in is False and stored.marketing_consent_at is None
    assert stored.start_payload == "ref_abc"
    assert stored.created_at.tzinfo is not None  # aware UTC back from both backends
    async with uow() as u:
        entries = await u.audit.for_target("user", 42)
    assert [e.action for e in entries] == ["user.registered"]


async def test_settings_changes_are_validated_and_audited(uow: UnitOfWorkFactory) -> None:
    clock = FixedClock(NOW)
    await register_user(uow, clock, _form())
    with pytest.raises(InvalidValue):
        await set_email(uow, clock, 42, "not-an-email")
    with pytest.raises(InvalidValue):
        await set_time_zone(uow, clock, 42, "Mars/Olympus")
    await set_time_zone(uow, clock, 42, "Asia/Tokyo")
    clock.set(NOW + timedelta(minutes=5))
    user = await set_marketing(uow, clock, 42, True)
    assert user.marketing_opt_in and user.marketing_consent_at == NOW + timedelta(minutes=5)
    clock.set(NOW + timedelta(minutes=9))
    user = await set_marketing(uow, clock, 42, False)
    assert not user.marketing_opt_in
    assert user.marketing_withdrawn_at == NOW + timedelta(minutes=9)
    user = await set_email(uow, clock, 42, None)
    assert user.email is None
    async with uow() as u:
        actions = [e.action for e in await u.audit.for_target("user", 42)]
        tz_entry = next(
            e for e in await u.audit.for_target("user", 42) if e.action == "user.time_zone"
        )
    assert actions == [
        "user.registered",
        "user.time_zone",
        "user.marketing",
        "user.marketing",
        "user.email",
    ]
    assert tz_entry.details == {
        "before": {"time_zone": "Europe/Moscow"},
        "after": {"time_zone": "Asia/Tokyo"},
    }


async def test_support_ticket_round_trip(uow: UnitOfWorkFactory) -> None:
    await register_user(uow, FixedClock(NOW), _form())
    ticket_id = await open_ticket(uow, 42, "My stats are empty")
    ref = await reply_to_ticket(uow, ticket_id, 900, "Connect an ad account first")
    assert (ref.ticket_id, ref.user_id, ref.user_language) == (ticket_id, 42, "ru")
    async with uow() as u:
        [ticket] = await u.support.for_user(42)
        assert ticket.status == "answered"
        assert [(m.from_operator, m.text) for m in ticket.messages] == [
            (False, "My stats are empty"),
            (True, "Connect an ad account first"),
        ]
    with pytest.raises(TicketNotFound):
        await reply_to_ticket(uow, ticket_id + 100, 900, "?")


async def test_naive_datetimes_are_refused(uow: UnitOfWorkFactory) -> None:
    """Storing a naive time would silently shift it by the server's offset; refuse it."""
    async with uow() as u:
        u.session.add(
            User(
                id=7,
                first_name="N",
                language="en",
                time_zone="UTC",
                adult_confirmed_at=datetime(2026, 1, 1),
                terms_accepted_at=NOW,
                terms_version="v",
                privacy_accepted_at=NOW,
            )
        )
        with pytest.raises(Exception, match="naive datetime"):
            await u.session.flush()


async def test_offset_datetimes_are_stored_as_utc(uow: UnitOfWorkFactory) -> None:
    moscow = timezone(timedelta(hours=3))
    local = datetime(2026, 11, 29, 15, 0, tzinfo=moscow)
    await register_user(uow, FixedClock(local), _form(user_id=5))
    user = await get_user(uow, 5)
    assert (
        user is not None and user.created_at == NOW and user.created_at.utcoffset() == timedelta(0)
    )


async def test_money_is_exact_in_storage_and_in_sql_sums(uow: UnitOfWorkFactory) -> None:
    """0.1 + 0.2 must be 0.3 on SQLite too (its NUMERIC would go through float)."""
    from datetime import date
    from decimal import Decimal

    from sqlalchemy import func, select

    from storage.models import AdAccount, MetricDaily, TikTokConnection

    await register_user(uow, FixedClock(NOW), _form())
    async with uow() as u:
        conn = TikTokConnection(user_id=42, display_name="x")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id="700", currency="USD")
        u.session.add(acc)
        await u.session.flush()
        for n, spend in enumerate(["0.1", "0.2", "1234567.891234"]):
            u.session.add(
                MetricDaily(
                    ad_account_id=acc.id,
                    level="ad",
                    object_id=str(n),
                    day=date(2026, 11, 1),
                    spend=Decimal(spend),
                )
            )
        await u.commit()
        total = await u.session.scalar(select(func.sum(MetricDaily.spend)))
        first = await u.session.scalar(
            select(MetricDaily.spend).where(MetricDaily.object_id == "0")
        )
    assert total == Decimal("1234568.191234")
    assert first == Decimal("0.10")
    with pytest.raises(Exception, match="money must be Decimal, not float"):
        async with uow() as u:
            u.session.add(
                MetricDaily(
                    ad_account_id=acc.id,
                    level="ad",
                    object_id="f",
                    day=date(2026, 11, 2),
                    spend=0.5,
                )
            )  # type: ignore[arg-type]
            await u.session.flush()


async def test_bid_history_migration_keeps_only_custom_bids_and_starts_the_history(
    tmp_path: Path,
) -> None:
    """0007: bids synced under automatic bidding are dropped; what is synced seeds history."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/m.db")  # no FK checks
    try:
        await upgrade(engine, "0006")
        seen = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
        rows = [
            ("adgroup", "g1", "BID_TYPE_CUSTOM", "12.5", "50"),
            ("adgroup", "g2", "BID_TYPE_NO_BID", "0", None),
            ("campaign", "c1", None, None, "100"),
            ("ad", "a1", None, None, None),
        ]
        async with engine.begin() as conn:
            await conn.execute(
                insert(AdObject.__table__),
                [
                    {
                        "ad_account_id": 1,
                        "level": level,
                        "object_id": oid,
                        "name": oid,
                        "bid_type": bid_type,
                        "bid": Decimal(bid) if bid is not None else None,
                        "budget": Decimal(budget) if budget is not None else None,
                        "synced_at": seen,
                    }
                    for level, oid, bid_type, bid, budget in rows
                ],
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            bids = dict(
                (await conn.execute(select(AdObject.object_id, AdObject.bid))).tuples().all()
            )
            history = (
                await conn.execute(
                    select(
                        ObjectValue.object_id,
                        ObjectValue.field,
                        ObjectValue.value,
                        ObjectValue.valid_from,
                    )
                )
            ).all()
        assert bids == {"g1": Decimal("12.5"), "g2": None, "c1": None, "a1": None}
        assert sorted((o, f, v) for o, f, v, _ in history) == [
            ("c1", "budget", Decimal(100)),
            ("g1", "bid", Decimal("12.5")),
            ("g1", "budget", Decimal(50)),
        ]
        assert {at for *_, at in history} == {seen}
    finally:
        await engine.dispose()


async def test_a_long_typed_start_payload_does_not_break_sign_up(uow: UnitOfWorkFactory) -> None:
    """`/start <text>` typed by hand carries any text, not a deep link's 64 characters: the
    account is still created (PostgreSQL refused the whole row), with the payload cut."""
    payload = "please help me connect my tiktok ads account, it does not work " * 2
    user = await register_user(uow, FixedClock(NOW), _form(start_payload=payload))
    stored = await get_user(uow, user.id)
    assert stored is not None and stored.start_payload == payload[:64]


async def test_alerts_held_for_quiet_hours_follow_a_change_of_them(uow: UnitOfWorkFactory) -> None:
    """An alert held until the quiet hours end waits for the hours the user has now: turned
    off, or a time zone where it is morning already, it goes at once; not until the old end."""
    from core.rules.engine import enqueue_alert
    from core.users import set_quiet_hours
    from storage.models import OutboxMessage

    night = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 01:00 UTC
    clock = FixedClock(night)
    await register_user(uow, clock, _form(time_zone="UTC"))
    await set_quiet_hours(uow, clock, 42, 23, 7)

    async def held(key: str) -> datetime:
        async with uow() as u:
            row = await u.session.scalar(select(OutboxMessage)
                                         .where(OutboxMessage.dedup_key == key))
            assert row is not None
            return row.next_attempt_at

    async def alert(key: str) -> None:
        async with uow() as u:
            await enqueue_alert(u, 42, "rule_fired", key, {}, clock.now(), urgent=False)
            await u.commit()

    await alert("a")
    assert await held("a") == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    clock.set(night + timedelta(minutes=5))
    await set_quiet_hours(uow, clock, 42, None, None)  # awake: no quiet hours now
    assert await held("a") == clock.now()

    await set_quiet_hours(uow, clock, 42, 23, 7)
    await alert("b")
    assert await held("b") == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    clock.set(night + timedelta(minutes=10))
    await set_time_zone(uow, clock, 42, "Asia/Tokyo")  # 10:10 there: morning already
    assert await held("b") == clock.now()

    clock.set(datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # 00:00 in Tokyo: quiet until 07:00
    await alert("c")
    await set_time_zone(uow, clock, 42, "Europe/Moscow")  # 18:00 there: not quiet
    assert await held("c") == clock.now()
