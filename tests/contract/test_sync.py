"""Sync against the emulator: stored numbers equal TikTok's own totals; faults change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

import core.sync
from core import changes, manage
from core.clock import FixedClock
from core.connections import begin_connect, finish_connect
from core.metrics import Totals
from core.oauth_state import StateSigner
from core.periods import local_today
from core.rules.model import MULTI_DAY, SPANS, Action, ActionKind, Window
from core.rules.tiktok_changer import TikTokChanger
from core.rules.windows import window_range
from core.sync import refresh_now, run_due, worker_id
from core.tiktok import NoLimiter, ReportLevel, RetryPolicy, TikTokClient, TimeGrain
from core.users import SignUp, register_user
from sandbox.tiktok.browser import click, redirect_query
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    MetricHourly,
    ObjectValue,
    OutboxMessage,
    RuleSum,
)
from storage.repos.rule_reads import DayRange
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.contract.test_changes import make_objects, usd_account

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REDIRECT = "http://127.0.0.1:9/oauth/tiktok/callback"
USER = 700


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


class Db:
    """One service database, connected to the emulator's demo login."""

    def __init__(self, uow: UnitOfWorkFactory, clock: FixedClock) -> None:
        self.uow, self.clock = uow, clock

    async def accounts(self) -> list[AdAccount]:
        async with self.uow() as u:
            return await u.connections.accounts(USER)

    async def dump(self) -> list[tuple[Any, ...]]:
        """Every synced row, without the times they were written."""
        out: list[tuple[Any, ...]] = []
        async with self.uow() as u:
            for model in (AdObject, MetricDaily, MetricHourly):
                cols = [c for c in model.__table__.columns if c.name not in ("synced_at", "id")]
                rows = await u.session.execute(select(*cols))
                out += sorted((model.__tablename__, *r) for r in rows)
        return out

    async def hourly_days(self, account_id: int, level: str) -> set[date]:
        """Days with at least one hourly row at a level."""
        async with self.uow() as u:
            return set(
                await u.session.scalars(
                    select(MetricHourly.day)
                    .where(MetricHourly.ad_account_id == account_id, MetricHourly.level == level)
                    .distinct()
                )
            )

    async def active_days(self, account_id: int, level: str) -> set[date]:
        """Days whose stored daily rows at a level show delivery."""
        async with self.uow() as u:
            return set(
                await u.session.scalars(
                    select(MetricDaily.day)
                    .where(
                        MetricDaily.ad_account_id == account_id,
                        MetricDaily.level == level,
                        (MetricDaily.impressions > 0) | (MetricDaily.spend > 0),
                    )
                    .distinct()
                )
            )


async def connected_db(url: str, client: TikTokClient, engines: list[Any]) -> Db:
    keyring = parse_keyring(generate_key_entry("k"))
    engine = create_engine(url)
    engines.append(engine)
    await upgrade(engine)
    uow = UnitOfWorkFactory(session_factory(engine), Vault(keyring))
    clock = FixedClock(NOW)
    signer = StateSigner(keyring)
    await register_user(uow, clock, SignUp(USER, "A", None, None, "en", "UTC", None, False))
    url = await begin_connect(uow, clock, signer, client, REDIRECT, USER)
    q = redirect_query((await click(url))[1])
    await finish_connect(uow, clock, signer, client, q["state"], q["auth_code"])
    return Db(uow, clock)


@pytest.fixture
async def engines() -> AsyncIterator[list[Any]]:
    made: list[Any] = []
    yield made
    for engine in made:
        await engine.dispose()


async def sync_all(db: Db, client: TikTokClient) -> None:
    owner = worker_id()
    while await run_due(db.uow, db.clock, client, owner, limit=10):
        pass


async def test_stored_numbers_equal_tiktok_totals_at_every_level(
    db_url: str, client: TikTokClient, emu: Any, engines: list[Any]
) -> None:
    db = await connected_db(db_url, client, engines)
    await sync_all(db, client)
    accounts = await db.accounts()
    assert len({a.currency for a in accounts}) >= 2 and len({a.time_zone for a in accounts}) >= 2
    token = emu.access_token
    async with db.uow() as u:
        for acc in accounts:
            assert acc.fresh_as_of == NOW
            today = local_today(NOW, acc.time_zone)
            for start, end in (
                (today - timedelta(days=7), today - timedelta(days=1)),
                (today - timedelta(days=60), today),
                (today, today),
            ):
                for level, name in (
                    (ReportLevel.ADVERTISER, "advertiser"),
                    (ReportLevel.CAMPAIGN, "campaign"),
                    (ReportLevel.ADGROUP, "adgroup"),
                    (ReportLevel.AD, "ad"),
                ):
                    rows = await client.get_report(
                        token, acc.advertiser_id, level, start, end, grain=None
                    )
                    want_spend = sum((r.spend or Decimal(0) for r in rows), Decimal(0))
                    want_clicks = sum(r.clicks or 0 for r in rows)
                    got_spend, got_clicks = (
                        await u.session.execute(
                            select(
                                func.coalesce(func.sum(MetricDaily.spend), 0),
                                func.coalesce(func.sum(MetricDaily.clicks), 0),
                            ).where(
                                MetricDaily.ad_account_id == acc.id,
                                MetricDaily.level == name,
                                MetricDaily.day >= start,
                                MetricDaily.day <= end,
                            )
                        )
                    ).one()
                    assert (Decimal(got_spend), got_clicks) == (want_spend, want_clicks), (
                        acc.advertiser_id,
                        name,
                        start,
                        end,
                    )
            # Today's hours add up to today's day.
            hours = await u.session.scalar(
                select(func.sum(MetricHourly.spend)).where(
                    MetricHourly.ad_account_id == acc.id,
                    MetricHourly.level == "advertiser",
                    MetricHourly.day == today,
                )
            )
            day = await u.session.scalar(
                select(MetricDaily.spend).where(
                    MetricDaily.ad_account_id == acc.id,
                    MetricDaily.level == "advertiser",
                    MetricDaily.day == today,
                )
            )
            assert (hours or Decimal(0)) == (day or Decimal(0))
            # Every campaign's spend is listed (deleted ones too): the lines add up to the account.
            start = today - timedelta(days=30)
            lines, _ = await u.stats.objects(acc.id, "campaign", None, start, today, 10_000, 0)
            account = await u.stats.by_account([acc.id], start, today)
            assert sum((line.sums.spend for line in lines), Decimal(0)) == account[acc.id].spend
            # The sync's writes kept the rules' sums (storage.rule_sums) as of the local today,
            # and every window reads from them as from the rows themselves.
            assert set(
                await u.session.scalars(
                    select(RuleSum.as_of).where(RuleSum.ad_account_id == acc.id).distinct()
                )
            ) == {today}
            windows = {}
            for n, w in enumerate(
                Window(span, incl)
                for span in SPANS
                if span != "last_hour"
                for incl in ((False, True) if span in MULTI_DAY else (False,))
            ):
                rng = window_range(w, NOW, acc.time_zone)
                windows[str(n)] = DayRange(rng.start, rng.end)
            for name in ("campaign", "adgroup", "ad"):
                table = await u.rules.window_sums([acc.id], name, windows, {}, Totals, today)
                rows_ = await u.rules.window_sums([acc.id], name, windows, {}, Totals, None)
                assert table, (acc.advertiser_id, name)
                assert _reprs(table) == _reprs(rows_), (acc.advertiser_id, name)
        ads = await u.session.scalar(
            select(func.count()).select_from(AdObject).where(AdObject.level == "ad")
        )
        assert ads and ads >= 100  # the demo fixture has hundreds of ads


def _reprs(sums: dict[Any, dict[str, Totals]]) -> dict[Any, list[tuple[str, str]]]:
    """Window sums as text (Decimal exponents included), in a fixed order."""
    return {obj: sorted((k, repr(t)) for k, t in per.items()) for obj, per in sums.items()}


def _older_hours(
    rows: list[tuple[Any, ...]], yesterday: dict[int, date]
) -> tuple[dict[tuple[Any, ...], list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    """Backfilled hourly rows (days before each account's yesterday) grouped by (account,
    level, day), and every other row. Rows are (table, account, level, object, day, ...)."""
    older: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    rest: list[tuple[Any, ...]] = []
    for row in rows:
        if row[0] == "metrics_hourly" and row[4] < yesterday[row[1]]:
            older.setdefault((row[1], row[2], row[4]), []).append(row)
        else:
            rest.append(row)
    return older, rest


async def test_faults_delay_but_never_corrupt(
    tmp_path: Path,
    client: TikTokClient,
    emu: Any,
    session: aiohttp.ClientSession,
    engines: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One backfill day per run (not 3) keeps whole window jobs likely to succeed at 20 % faults.
    monkeypatch.setattr(core.sync, "HOURLY_BACKFILL_PER_RUN", 1)
    clean = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/clean.db", client, engines)
    await sync_all(clean, client)
    clean.clock.set(NOW + timedelta(hours=1))
    await sync_all(clean, client)  # the second window run starts the hourly backfill
    clean.clock.set(NOW)

    # The same world through a flaky TikTok: 20 % of calls fail (50002, 5xx, timeouts,
    # HTML 504), and the client gives up after 2 attempts, so whole jobs fail and are redone.
    flaky_client = TikTokClient(
        base_url=emu.url,
        app_id=emu.app_id,
        secret=emu.secret,
        session=session,
        limiter=NoLimiter(),
        request_timeout=1.0,
        auth_url=emu.auth_url,
        retry=RetryPolicy(max_attempts=2, max_total_seconds=5, base_delay=0.01, max_delay=0.05),
    )
    flaky = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/flaky.db", flaky_client, engines)
    await emu.ctl("POST", "config", {"fault_rate": 0.2})
    owner = worker_id()
    failures = 0
    done: set[int] = set()  # accounts whose two jobs both succeeded in one refresh
    for _ in range(60):
        for acc in await flaky.accounts():
            if acc.id in done:
                continue
            outcomes = await refresh_now(flaky.uow, flaky.clock, flaky_client, owner, acc.id)
            failures += sum(not o.ok for o in outcomes)
            if len(outcomes) == 2 and all(o.ok for o in outcomes):
                done.add(acc.id)
        async with flaky.uow() as u:
            missing = [a for a in await u.connections.accounts(USER) if a.fresh_as_of is None]
        if len(done) == len(await flaky.accounts()) and not missing:
            break
    await emu.ctl("POST", "config", {"fault_rate": 0.0})
    assert failures > 0, "the fault injection never made a job fail"
    yesterday = {
        a.id: local_today(NOW, a.time_zone) - timedelta(days=1) for a in await flaky.accounts()
    }
    assert yesterday == {
        a.id: local_today(NOW, a.time_zone) - timedelta(days=1) for a in await clean.accounts()
    }
    clean_old, clean_rest = _older_hours(await clean.dump(), yesterday)
    flaky_old, flaky_rest = _older_hours(await flaky.dump(), yesterday)
    assert flaky_rest == clean_rest
    # How far each database's backfill got depends on how many window runs succeeded; where
    # both hold a day's hours they are the same rows.
    assert clean_old
    assert all(flaky_old[key] == rows for key, rows in clean_old.items() if key in flaky_old)
    async with flaky.uow() as u:
        assert await u.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_revoked_token_breaks_the_connection_and_alerts_once(
    tmp_path: Path, client: TikTokClient, emu: Any, engines: list[Any]
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/r.db", client, engines)
    async with db.uow() as u:
        [conn] = await u.connections.connections(USER)
        token = await u.credentials.reveal(conn.credential_id)
    await emu.ctl("POST", "revoke", {"access_token": token})
    outcomes = await run_due(db.uow, db.clock, client, worker_id(), limit=10)
    # The first job finds the revocation; the others already claimed find no token left.
    assert outcomes and outcomes[0].reason == "revoked"
    assert {o.reason for o in outcomes} <= {"revoked", "token"}
    db.clock.set(NOW + timedelta(hours=3))
    assert await run_due(db.uow, db.clock, client, worker_id(), limit=10) == []  # stopped
    async with db.uow() as u:
        [conn] = await u.connections.connections(USER)
        assert conn.status == "broken"
        alerts = list(await u.session.scalars(select(OutboxMessage)))
    assert [(a.user_id, a.kind) for a in alerts] == [(USER, "connection_broken")]


async def test_two_workers_never_sync_the_same_account(
    db_url: str, client: TikTokClient, engines: list[Any]
) -> None:
    db = await connected_db(db_url, client, engines)
    async with db.uow() as u:
        first = await u.sync.claim("w1", NOW, NOW + timedelta(minutes=10), 100)
        await u.commit()
    async with db.uow() as u:
        second = await u.sync.claim("w2", NOW, NOW + timedelta(minutes=10), 100)
        await u.commit()
    assert first and second == []
    # A crashed worker's lease expires and the work is claimed again.
    later = NOW + timedelta(minutes=11)
    async with db.uow() as u:
        third = await u.sync.claim("w3", later, later + timedelta(minutes=10), 100)
    assert {j.job_id for j in third} == {j.job_id for j in first}


async def test_hourly_backfill_starts_after_the_first_run_and_never_refetches(
    tmp_path: Path, client: TikTokClient, emu: Any, engines: list[Any], monkeypatch: Any
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/h.db", client, engines)
    asked: list[tuple[str, str, date]] = []
    get_report = client.get_report_table

    async def recording(
        token: str, advertiser_id: str, level: ReportLevel, *args: Any, **kwargs: Any
    ) -> Any:
        if kwargs.get("grain") is TimeGrain.HOUR:
            assert args[0] == args[1]  # spec §7.1: one day per hourly request
            asked.append((advertiser_id, core.sync.LEVELS[level], args[0]))
        return await get_report(token, advertiser_id, level, *args, **kwargs)

    monkeypatch.setattr(client, "get_report_table", recording)
    levels = ("campaign", "adgroup", "ad")
    present: dict[int, set[date]] = {}
    for run, now in enumerate((NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=2))):
        asked.clear()
        db.clock.set(now)
        await sync_all(db, client)
        for acc in await db.accounts():
            today = local_today(now, acc.time_zone)
            yesterday = today - timedelta(days=1)
            older = [today - timedelta(days=n) for n in range(2, 31)]  # newest first
            asked_older = [
                (lvl, d) for a, lvl, d in asked if a == acc.advertiser_id and d < yesterday
            ]
            # One report per day at the ad level, summed up to ad groups and campaigns.
            assert {lvl for lvl, _ in asked_older} <= {"ad"}
            if run == 0:
                # The first run only brings the stats in: no older hours yet.
                assert asked_older == []
                present[acc.id] = await db.hourly_days(acc.id, "ad")
                for level in levels:
                    assert await db.hourly_days(acc.id, level) == present[acc.id], level
                continue
            before = present[acc.id]
            active = await db.active_days(acc.id, "ad")
            want = [d for d in older if d in active and d not in before][:3]
            assert len(want) == 3, acc.advertiser_id  # the demo delivers daily
            got = [d for _, d in asked_older]
            # The three newest missing days, each asked once; present days never again.
            assert sorted(got) == sorted(want) and not set(got) & before
            stored = await db.hourly_days(acc.id, "ad")
            assert set(want) <= stored and yesterday in stored
            # Every level holds the same days (the account level only yesterday's and today's).
            for level in levels:
                assert await db.hourly_days(acc.id, level) == stored, (acc.advertiser_id, level)
            assert await db.hourly_days(acc.id, "advertiser") == {yesterday, today}
            present[acc.id] = stored
            assert len(stored & set(older)) >= 3 * run, run


async def test_bids_follow_the_bid_strategy_and_their_changes_are_recorded(
    tmp_path: Path, client: TikTokClient, emu: Any, engines: list[Any]
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/b.db", client, engines)
    token = emu.access_token
    adv = await usd_account(client, token)
    made = await make_objects(client, token, adv)  # CPC and OCPM custom bids, one automatic
    await sync_all(db, client)
    acc = next(a for a in await db.accounts() if a.advertiser_id == adv)

    async def stored() -> tuple[dict[str, AdObject], list[ObjectValue]]:
        async with db.uow() as u:
            objects = await u.session.scalars(
                select(AdObject).where(AdObject.ad_account_id == acc.id)
            )
            history = await u.session.scalars(
                select(ObjectValue).where(ObjectValue.ad_account_id == acc.id)
            )
            return {o.object_id: o for o in objects}, list(history)

    synced, history = await stored()
    # The bid the strategy uses (spec §4.6): bid_price for CPC, conversion_bid_price for OCPM,
    # none under automatic bidding.
    assert synced[made["cpc"]].bid == Decimal("1.50")
    assert synced[made["ocpm"]].bid == Decimal("12.00")
    assert synced[made["under_cbo"]].bid is None
    for g in await client.get_adgroups(token, adv):
        assert synced[g.adgroup_id].bid == g.custom_bid[1], g.adgroup_id
    # The history starts with what the first sync saw, campaigns' and ad groups' budgets too.
    first = {(h.object_id, h.field): h.value for h in history}
    assert first[(made["ocpm"], "bid")] == Decimal(12)
    assert (made["under_cbo"], "bid") not in first
    assert first[(made["cbo"], "budget")] == Decimal(100)
    assert {h.level for h in history} == {"campaign", "adgroup"}
    # A bid changed at TikTok is recorded once by the next sync; unchanged values are not.
    await changes.apply_change(
        client, token, adv, "adgroup", made["ocpm"], changes.Change("bid", Decimal("9.40"))
    )
    later = NOW + timedelta(hours=1, minutes=5)
    db.clock.set(later)
    await sync_all(db, client)
    _, history = await stored()
    assert [(h.object_id, h.field, h.value) for h in history if h.valid_from == later] == [
        (made["ocpm"], "bid", Decimal("9.40"))
    ]


async def test_a_pause_made_while_a_sync_lists_stays_on_the_synced_campaign(
    db_url: str, client: TikTokClient, emu: Any, engines: list[Any], monkeypatch: Any
) -> None:
    """The sync lists the campaigns, the user pauses one (read back at TikTok), then the sync
    writes what it listed: the campaign stays paused here, as at TikTok, until a sync that
    listed after the pause finds it paused too."""
    db = await connected_db(db_url, client, engines)
    await sync_all(db, client)
    acc = (await db.accounts())[0]
    async with db.uow() as u:
        camp = await u.session.scalar(
            select(AdObject).where(
                AdObject.ad_account_id == acc.id,
                AdObject.level == "campaign",
                AdObject.operation_status == "ENABLE",
            )
        )
    assert camp is not None
    changer = TikTokChanger(db.uow, client)
    get_campaigns = client.get_campaigns
    paused: list[manage.Decision] = []

    async def listed_then_paused(token: str, advertiser_id: str, **kwargs: Any) -> Any:
        found = await get_campaigns(token, advertiser_id, **kwargs)
        # The sync's listing (the pause reads the campaign live through here too).
        if advertiser_id == acc.advertiser_id and kwargs.get("include_deleted") and not paused:
            assert any(c.campaign_id == camp.object_id and c.operation_status == "ENABLE"
                       for c in found)
            db.clock.set(db.clock.now() + timedelta(seconds=1))  # the press comes a moment later
            proposal = await manage.propose(db.uow, db.clock, changer, USER, acc.id, "campaign",
                                            [camp.object_id], Action(ActionKind.PAUSE))
            assert proposal is not None and proposal.rows
            paused.append(await manage.confirm(db.uow, db.clock, changer, USER,
                                               proposal.rows[0].id))
        return found

    monkeypatch.setattr(client, "get_campaigns", listed_then_paused)
    db.clock.set(NOW + timedelta(hours=1, minutes=5))
    await sync_all(db, client)
    assert paused

    async def status() -> str | None:
        async with db.uow() as u:
            row = await u.session.get(AdObject, camp.id, populate_existing=True)
            assert row is not None
            return row.operation_status

    assert await status() == "DISABLE"
    monkeypatch.undo()
    db.clock.set(db.clock.now() + timedelta(hours=1, minutes=5))
    await sync_all(db, client)
    assert await status() == "DISABLE"


async def test_days_missed_while_no_window_run_succeeded_are_pulled_on_the_next(
    tmp_path: Path, client: TikTokClient, emu: Any, engines: list[Any]
) -> None:
    """A week without a good back-window run (paused plan, broken token, TikTok down): the
    next run pulls every day since the last good one, not only the last 3, so "Last 7 days"
    holds each of its days as TikTok reports them."""
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/g.db", client, engines)
    await sync_all(db, client)
    later = NOW + timedelta(days=8)
    await emu.ctl("POST", "clock", {"now": later.isoformat()})
    db.clock.set(later)
    await sync_all(db, client)
    token = emu.access_token
    for acc in await db.accounts():
        today = local_today(later, acc.time_zone)
        first, last = today - timedelta(days=7), today - timedelta(days=1)
        table = await client.get_report_table(
            token, acc.advertiser_id, ReportLevel.ADVERTISER, first, last, grain=TimeGrain.DAY,
            metrics=("spend",),
        )
        theirs = {t.date(): s for t, s in zip(table.stat_times, table.metrics["spend"],
                                               strict=True) if t is not None and s}
        async with db.uow() as u:
            ours = await u.stats.daily(acc.id, "advertiser", acc.advertiser_id, first, last)
        assert theirs, acc.advertiser_id
        assert {d: s.spend for d, s in ours.items() if s.spend} == theirs, acc.advertiser_id

