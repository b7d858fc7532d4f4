"""Restriction, consent and activity on SQLite and PostgreSQL: a paused account's syncs, rules,
tracker runs and alerts are claimed by nobody until it resumes; news reaches only those who
opted in; the activity list shows one user's security events, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.privacy import rights
from core.users import (
    SignUp,
    refresh_profile,
    register_user,
    set_email,
    set_marketing,
    set_quiet_hours,
)
from storage.db import session_factory
from storage.models import (
    AdAccount,
    AuditEntry,
    Credential,
    OutboxMessage,
    Rule,
    SyncJob,
    TikTokConnection,
    Tracker,
    User,
)
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PAUSED, ACTIVE = 501, 502
LEASE = NOW + timedelta(minutes=2)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


async def _user(uow: UnitOfWorkFactory, uid: int, opt_in: bool = True) -> None:
    await register_user(uow, FixedClock(NOW - timedelta(days=10)),
                        SignUp(uid, "Ann", None, None, "en", "UTC", None, opt_in))


async def _seed(uow: UnitOfWorkFactory, uid: int) -> None:
    """A user with a due sync job, a due enabled rule, a due tracker and two queued alerts (one
    from 5 days ago, one fresh) plus an operator's notice."""
    await _user(uow, uid)
    async with uow() as u:
        cred = Credential(user_id=uid, kind="tiktok", sealed=b"x", key_id="k1")
        tcred = Credential(user_id=uid, kind="tracker", sealed=b"y", key_id="k1")
        u.session.add_all([cred, tcred])
        await u.session.flush()
        conn = TikTokConnection(user_id=uid, credential_id=cred.id, display_name="G")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id=f"adv{uid}", name="Glowly EU",
                        currency="EUR", time_zone="UTC", status="ACTIVE", tracked=True)
        u.session.add(acc)
        await u.session.flush()
        u.session.add_all([
            SyncJob(ad_account_id=acc.id, kind="today", due_at=NOW - timedelta(minutes=1)),
            Rule(user_id=uid, name="r", text="campaign: spend > 1 in today -> pause",
                 level="campaign", enabled=True, due_at=NOW - timedelta(minutes=1)),
            Tracker(user_id=uid, kind="keitaro", name="T", base_url="https://t.io",
                    credential_id=tcred.id, due_at=NOW - timedelta(minutes=1)),
        ])
        for key, kind, at in (("old", "rule_alert", NOW - timedelta(days=5)),
                              ("new", "rule_alert", NOW - timedelta(minutes=5)),
                              ("note", "text", NOW - timedelta(minutes=5))):
            await u.outbox.enqueue(uid, kind, f"{key}:{uid}", {"text": "x"}, at)
        await u.commit()


async def _claims(uow: UnitOfWorkFactory, now: datetime = NOW) -> dict[str, set[object]]:
    """Who each claim would serve now (leases are rolled back: nothing is kept)."""
    async with uow() as u:
        jobs = await u.sync.claim("w", now, LEASE, 10)
        rules = await u.rules.claim_due("w", now, LEASE, 10)
        trackers = await u.trackers.claim("w", now, LEASE, 10)
        alerts = await u.outbox.claim(now, LEASE, 10)
        owners = {t.id: t.user_id for t in await u.session.scalars(select(Tracker))}
        found: dict[str, set[object]] = {
            "sync": {j.user_id for j in jobs},
            "rules": {r.user_id for r in rules},
            "trackers": {owners[t] for t in trackers},
            "alerts": {(m.user_id, m.dedup_key.split(":")[0]) for m in alerts},
        }
        await u.session.rollback()
    return found


async def test_a_paused_account_is_skipped_by_every_claim_until_it_resumes(
    uow: UnitOfWorkFactory,
) -> None:
    await _seed(uow, PAUSED)
    await _seed(uow, ACTIVE)
    user = await rights.pause(uow, FixedClock(NOW), PAUSED)
    assert user.paused_at == NOW
    again = await rights.pause(uow, FixedClock(NOW + timedelta(hours=1)), PAUSED)
    assert again.paused_at == NOW  # pausing twice keeps the first time and one audit entry

    claimed = await _claims(uow)
    assert claimed["sync"] == claimed["rules"] == claimed["trackers"] == {ACTIVE}
    # Only the operator's notice reaches the paused account.
    assert claimed["alerts"] == {(ACTIVE, "old"), (ACTIVE, "new"), (ACTIVE, "note"),
                                 (PAUSED, "note")}
    async with uow() as u:  # what the user asks for themself still runs (Refresh)
        [job] = await u.session.scalars(
            select(SyncJob.ad_account_id).join(AdAccount).join(TikTokConnection)
            .where(TikTokConnection.user_id == PAUSED))
        assert [j.user_id for j in await u.sync.claim("w", NOW, LEASE, 2, account_id=job,
                                                         force=True)] == [PAUSED]
        await u.session.rollback()

    await rights.resume(uow, FixedClock(NOW + timedelta(hours=2)), PAUSED)
    claimed = await _claims(uow, NOW + timedelta(hours=2))
    assert claimed["sync"] == claimed["rules"] == claimed["trackers"] == {ACTIVE, PAUSED}
    # The alert held for 5 days is given up on resume (HELD_FOR is 3 days); the fresh one goes.
    assert (PAUSED, "new") in claimed["alerts"] and (PAUSED, "old") not in claimed["alerts"]
    async with uow() as u:
        old = await u.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedup_key == f"old:{PAUSED}"))
        assert old is not None and old.last_error == "held while the account was paused"
        actions = list(await u.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.startswith("privacy."))))
        assert actions == ["privacy.paused", "privacy.resumed"]


async def test_news_goes_only_to_consenting_active_users(uow: UnitOfWorkFactory) -> None:
    for uid, opt_in in ((601, True), (602, False), (603, True), (604, True), (605, True),
                        (606, True)):
        await _user(uow, uid, opt_in)
    await set_quiet_hours(uow, FixedClock(NOW), 606, 8, 12)  # 09:00 UTC: quiet until 12:00
    await rights.pause(uow, FixedClock(NOW), 603)
    async with uow() as u:
        blocked = await u.users.get(604)
        deleted = await u.users.get(605)
        assert blocked is not None and deleted is not None
        blocked.blocked_at, deleted.deleted_at = NOW, NOW
        await u.commit()
    draft = await rights.draft_broadcast(uow, FixedClock(NOW), 1, "news", "  Big news  ")
    # Previewed first: nothing is queued until the operator confirms.
    assert (draft.kind, draft.text, draft.audience) == ("news", "Big news", 3)
    async with uow() as u:
        assert await u.session.scalar(select(func.count(OutboxMessage.id))) == 0
    sent = await rights.send_broadcast(uow, FixedClock(NOW), 1, draft.key)
    assert sent.recipients == 3
    with pytest.raises(rights.NotADraft):  # a second press sends nothing more
        await rights.send_broadcast(uow, FixedClock(NOW), 1, draft.key)
    async with uow() as u:
        rows = list(await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == rights.MARKETING_KIND)
            .order_by(OutboxMessage.user_id)))
        assert [(r.user_id, r.params, r.next_attempt_at) for r in rows] == [
            (601, {"text": "Big news"}, NOW),
            (604, {"text": "Big news"}, NOW),
            (606, {"text": "Big news"}, NOW.replace(hour=12)),  # after their quiet hours
        ]
        # The user who blocked the bot is counted as blocked at once, never tried.
        assert rows[1].failed_at == NOW and rows[1].sent_at is None
        audit = await u.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "marketing.broadcast"))
        assert audit is not None and audit.details == {"recipients": 3, "chars": 8}
        assert audit.actor_id == 1
    status = await rights.broadcast_status(uow, draft.key)
    assert status is not None
    assert (status.delivery.delivered, status.delivery.blocked, status.delivery.failed,
            status.delivery.pending) == (0, 1, 0, 2)
    with pytest.raises(ValueError):
        await rights.draft_broadcast(uow, FixedClock(NOW), 1, "news",
                                     "x" * (rights.BROADCAST_MAX + 1))

    assert await rights.unsubscribe(uow, FixedClock(NOW), 601) is True
    assert await rights.unsubscribe(uow, FixedClock(NOW), 601) is False
    async with uow() as u:
        user = await u.session.get(User, 601)
        assert user is not None and not user.marketing_opt_in
        assert user.marketing_withdrawn_at == NOW


async def test_activity_lists_one_users_security_events_newest_first(
    uow: UnitOfWorkFactory,
) -> None:
    await _user(uow, 701)
    await _user(uow, 702)
    clock = FixedClock(NOW)
    await set_email(uow, clock, 701, "a@example.com")
    await set_marketing(uow, clock, 701, False)
    async with uow() as u:
        u.audit.record(701, "tiktok.connected", "connection", 9, {})
        u.audit.record(702, "tiktok.connected", "connection", 8, {})
        u.audit.record(701, "tracker.connected", "tracker", 8, {})
        u.audit.record(None, "tiktok.revoked", "connection", 9)  # seen at TikTok, for 701
        u.audit.record(None, "tiktok.revoked", "connection", 8)  # for 702, not 701
        u.audit.record(None, "tiktok.purged", "connection", 9)  # the system, for 701
        u.audit.record(None, "tiktok.purged", "connection", 8)  # for 702, not 701
        u.audit.record(701, "rule.created", "rule", 1, {})  # not a security event
        u.audit.record(701, "privacy.export_requested", "user", 701, {})
        u.audit.record(701, "privacy.erasure_requested", "user", 702, {})  # as an operator
        await u.commit()
    page = await rights.activity(uow, 701, 0, size=4)
    assert page.total == 8 and page.pages == 2
    assert [e.action for e in page.entries] == [
        "privacy.export_requested", "tiktok.purged", "tiktok.revoked", "tracker.connected"]
    rest = await rights.activity(uow, 701, 5, size=4)  # past the end: the last page
    assert rest.page == 1
    assert [e.action for e in rest.entries] == ["tiktok.connected", "user.marketing",
                                                "user.email", "user.registered"]


async def test_name_and_username_follow_telegram_and_the_change_is_audited(
    uow: UnitOfWorkFactory,
) -> None:
    await _user(uow, 801)
    clock = FixedClock(NOW)
    same = await refresh_profile(uow, clock, 801, "Ann", None, None)
    assert same is not None and same.first_name == "Ann"
    user = await refresh_profile(uow, clock, 801, "Anna", "Lee", "anna_l")
    assert user is not None and (user.first_name, user.last_name, user.username) == (
        "Anna", "Lee", "anna_l")
    async with uow() as u:
        entries = [e for e in await u.audit.for_target("user", 801) if e.action == "user.profile"]
    assert len(entries) == 1  # nothing changed the first time: no write, no entry
    assert entries[0].details["before"] == {"first_name": "Ann", "last_name": None,
                                            "username": None}
    assert await refresh_profile(uow, clock, 999, "X", None, None) is None  # not signed up
