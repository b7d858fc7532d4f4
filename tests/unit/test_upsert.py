"""The bulk upsert's ready-tuple path stores exactly what SQLAlchemy's own executemany stores."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import SystemClock
from core.gc_pause import gc_paused
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import AdAccount, AdObject, MetricHourly, TikTokConnection
from storage.uow import UnitOfWorkFactory
from storage.upsert import _statement, upsert, upsert_columns

KEYS = ("ad_account_id", "level", "object_id", "day", "hour")
SYNCED = datetime(2026, 11, 1, 12, 0, 1, 123456, tzinfo=UTC)


def _rows(account_id: int, spend_step: str) -> list[dict[str, Any]]:
    return [
        {
            "ad_account_id": account_id,
            "level": "ad",
            "object_id": f"ad{i}",
            "day": date(2026, 10, 1) + timedelta(days=d),
            "hour": h,
            "spend": Decimal(spend_step) * (i + d + h),
            "impressions": 1000 * i + h,
            "clicks": i,
            "conversions": d,
            "purchase_value": Decimal("12.5") * i,
            "synced_at": SYNCED,
        }
        for i in range(5)
        for d in range(3)
        for h in (0, 23)
    ]


async def test_upsert_stores_what_sqlalchemy_stores(engine: AsyncEngine) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await register_user(uow, SystemClock(), SignUp(1, "A", None, None, "en", "UTC", None, False))
    async with uow() as u:
        conn = TikTokConnection(user_id=1, display_name="x")
        u.session.add(conn)
        await u.session.flush()
        for account_id in (1, 2):
            u.session.add(
                AdAccount(id=account_id, connection_id=conn.id, advertiser_id=str(account_id))
            )
        await u.commit()
    async with uow() as u:
        # Account 1 through upsert (inserted, then updated by a second pass), account 2
        # through SQLAlchemy's own executemany of the same statement.
        await upsert(u.session, MetricHourly, _rows(1, "0.000001"), KEYS)
        await upsert(u.session, MetricHourly, _rows(1, "1.234567"), KEYS)
        stmt = _statement(
            (await u.session.connection()).dialect,
            MetricHourly.__table__,
            list(_rows(2, "1")[0]),
            KEYS,
        )
        await u.session.execute(stmt, _rows(2, "0.000001"))
        await u.session.execute(stmt, _rows(2, "1.234567"))
        objects = [
            {
                "ad_account_id": 1,
                "level": "adgroup",
                "object_id": "g1",
                "name": "G",
                "budget": Decimal("20.50"),
                "created_time": SYNCED,
                "synced_at": SYNCED,
            }
        ]
        await upsert(u.session, AdObject, objects, ("ad_account_id", "level", "object_id"))
        await u.commit()
    async with engine.connect() as c:
        # As stored, not as read back through the types: SQLite keeps dates and times as text.
        raw = [
            tuple(r)
            for r in await c.execute(
                text(
                    "SELECT ad_account_id, object_id, day, hour, spend, impressions, clicks,"
                    " conversions, purchase_value, synced_at FROM metrics_hourly"
                    " ORDER BY object_id, day, hour, ad_account_id"
                )
            )
        ]
    assert len(raw) == 2 * 30
    for mine, theirs in zip(raw[::2], raw[1::2], strict=True):
        assert mine[0] == 1 and theirs[0] == 2
        assert mine[1:] == theirs[1:]
    async with uow() as u:
        spends = set(await u.session.scalars(select(MetricHourly.spend)))
        obj = await u.session.scalar(select(AdObject))
    assert Decimal("1.234567") in spends
    assert obj is not None and obj.budget == Decimal("20.50") and obj.created_time == SYNCED


def test_gc_pause_nests_and_restores() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds it
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # not ours to switch on
    finally:
        gc.enable()


async def test_upsert_columns_stores_what_upsert_stores(engine: AsyncEngine) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await register_user(uow, SystemClock(), SignUp(1, "A", None, None, "en", "UTC", None, False))
    async with uow() as u:
        conn = TikTokConnection(user_id=1, display_name="x")
        u.session.add(conn)
        await u.session.flush()
        for account_id in (1, 2):
            u.session.add(
                AdAccount(id=account_id, connection_id=conn.id, advertiser_id=str(account_id))
            )
        await u.commit()
    shared = ("ad_account_id", "level", "synced_at")
    async with uow() as u:
        for step in ("0.000001", "1.234567"):  # inserted, then updated
            rows = _rows(1, step)
            # Repeated amounts and days go through the per-value memo; one column of ints in
            # a money column does not (its values are not all Decimal).
            for n, row in enumerate(rows):
                row["purchase_value"] = n % 3 if step == "1.234567" else row["purchase_value"]
            columns = {c: [r[c] for r in rows] for c in rows[0] if c not in shared}
            constants = {c: rows[0][c] for c in shared}
            assert await upsert_columns(u.session, MetricHourly, columns, KEYS, constants) == 30
            theirs = [{**r, "ad_account_id": 2} for r in rows]
            await upsert(u.session, MetricHourly, theirs, KEYS)
        assert await upsert_columns(u.session, MetricHourly, {"object_id": []}, KEYS, {}) == 0
        await u.commit()
    async with engine.connect() as c:
        raw = [
            tuple(r)
            for r in await c.execute(
                text(
                    "SELECT ad_account_id, level, object_id, day, hour, spend, impressions,"
                    " clicks, conversions, purchase_value, synced_at FROM metrics_hourly"
                    " ORDER BY object_id, day, hour, ad_account_id"
                )
            )
        ]
    assert len(raw) == 2 * 30
    for mine, theirs in zip(raw[::2], raw[1::2], strict=True):
        assert mine[0] == 1 and theirs[0] == 2
        assert mine[1:] == theirs[1:]
