"""Outbox repository: alerts written first, delivered by the notifier."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.models import OutboxMessage, User
from storage.repos.users import paused_ids

# Kinds still delivered to a paused account: answers to what the user themself started (a
# launch they approved, the receipt of their payment), and operators' notices and service
# notices. Everything else (alerts, digests, news) is held until they resume, and what is older
# than core.users.HELD_FOR then is given up.
WHILE_PAUSED = ("text", "launch_done", "billing_receipt", "service_notice")


class OutboxRepo:
    """Queues alerts once per event key and hands them to the notifier with a lease."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def enqueue(
        self,
        user_id: int,
        kind: str,
        dedup_key: str,
        params: dict[str, Any],
        now: datetime,
        not_before: datetime | None = None,
        batch: str | None = None,
    ) -> None:
        """Queue an alert (held until `not_before`); the same `dedup_key` twice is one.
        Alerts of one `batch` due together go out as one message (`absorb`)."""
        existing = await self._s.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)
        )
        if existing is None:
            self._s.add(
                OutboxMessage(
                    user_id=user_id,
                    kind=kind,
                    dedup_key=dedup_key,
                    params=params,
                    created_at=now,
                    next_attempt_at=not_before or now,
                    batch=batch,
                )
            )
            await self._s.flush()

    async def claim(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        one_per_user: bool = False,
        skip_users: Collection[int] = (),
    ) -> list[OutboxMessage]:
        """Lease alerts that are due and neither sent nor given up.

        With `one_per_user`, at most one alert per user (the oldest due one), none for
        `skip_users`: the notifier sends one chat's alerts one after another, in order.
        """
        free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
        due = [
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.merged_into.is_(None),  # delivered with (or by) its batch's leader
            free,
        ]
        if skip_users:
            due.append(OutboxMessage.user_id.not_in(list(skip_users)))
        # A user who blocked the bot gets nothing until they come back (give_up_held); one who
        # deleted their account nothing at all (an alert queued in the race with the deletion
        # waits for the erasure's purge).
        due.append(
            OutboxMessage.user_id.not_in(
                select(User.id).where(or_(User.blocked_at.is_not(None),
                                          User.deleted_at.is_not(None)))
            )
        )
        # A paused account (restriction) gets only answers to its own requests meanwhile.
        due.append(
            or_(OutboxMessage.kind.in_(WHILE_PAUSED), OutboxMessage.user_id.not_in(paused_ids()))
        )
        if one_per_user:
            # GROUP BY can't take FOR UPDATE; the UPDATE below re-checks `free`, so a row another
            # instance leased meanwhile is simply not ours.
            first = func.min(OutboxMessage.id)
            picked = list(
                await self._s.scalars(
                    select(first)
                    .where(*due)
                    .group_by(OutboxMessage.user_id)
                    .order_by(first)
                    .limit(limit)
                )
            )
            if not picked:
                return []
            pick = select(OutboxMessage.id, OutboxMessage.lease_until).where(
                OutboxMessage.id.in_(picked)
            )
        else:
            pick = (
                select(OutboxMessage.id, OutboxMessage.lease_until)
                .where(*due)
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        # A lapsed lease on an unsent alert is a notifier that died mid-send: a takeover.
        ids = await leases.claim_ids(
            self._s,
            OutboxMessage,
            pick,
            and_(free, OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)),
            {"lease_until": lease_until, "attempts": OutboxMessage.attempts + 1},
            "outbox",
        )
        if not ids:
            return []
        return list(
            await self._s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .order_by(OutboxMessage.id)
                .execution_options(populate_existing=True)
            )
        )

    async def mark_sending(
        self, message_id: int, lease: datetime, now: datetime, new_lease: datetime
    ) -> bool:
        """Note that a send may start (renewing the lease) if our lease still holds; else False."""
        done = await self._s.scalar(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.lease_until == lease,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
            )
            # The first start is kept: the probe's anchor must predate every copy sent.
            .values(
                sending_at=func.coalesce(
                    OutboxMessage.sending_at, literal(now, OutboxMessage.sending_at.type)
                ),
                lease_until=new_lease,
            )
            .returning(OutboxMessage.id)
        )
        return done is not None

    async def last_message_id(self, user_id: int, sent_by: datetime) -> int | None:
        """The highest Telegram message id of the user's alerts marked sent by `sent_by`."""
        return await self._s.scalar(
            select(func.max(OutboxMessage.tg_message_id)).where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.sent_at <= sent_by,
                OutboxMessage.tg_message_id.is_not(None),
            )
        )

    async def message_ids_above(self, user_id: int, above: int) -> set[int]:
        """Telegram message ids of the user's delivered alerts greater than `above`."""
        return set(
            await self._s.scalars(
                select(OutboxMessage.tg_message_id).where(
                    OutboxMessage.user_id == user_id, OutboxMessage.tg_message_id > above
                )
            )
        )

    async def settle(
        self,
        message_id: int,
        *,
        sent_at: datetime | None = None,
        retry_at: datetime | None = None,
        failed_at: datetime | None = None,
        error: str | None = None,
        tg_message_id: int | None = None,
        not_delivered: bool = False,
    ) -> None:
        """Record the outcome of one delivery attempt.

        `not_delivered`: Telegram refused the send, so the next attempt need not check for an
        earlier copy (clears `sending_at`).
        """
        values: dict[str, Any] = {"lease_until": None, "last_error": error[:300] if error else None}
        if sent_at is not None:
            values["sent_at"] = sent_at
        if tg_message_id is not None:
            values["tg_message_id"] = tg_message_id
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        if failed_at is not None:
            values["failed_at"] = failed_at
        if not_delivered:
            values["sending_at"] = None
        await self._s.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
        )
        if sent_at is not None or failed_at is not None:
            # The alerts it carried share its fate (they are never claimed on their own).
            done = {k: v for k, v in values.items() if k in ("sent_at", "failed_at")}
            await self._s.execute(
                update(OutboxMessage).where(OutboxMessage.merged_into == message_id).values(**done)
            )

    # Batches: one tick's rule alerts to a chat, delivered as one digest ------------------------

    async def absorb(self, leader: OutboxMessage, now: datetime) -> list[int]:
        """Fix the set of alerts `leader` delivers: the chat's other due, unsent, unleased
        alerts of its batch are merged into it (never claimed on their own again); their ids.

        Only before a first send (`sending_at` unset): an in-doubt leader keeps the set it
        had, so its re-rendered text matches a copy that may already be in the chat."""
        if leader.batch is None or leader.sending_at is not None:
            return []
        return list(
            await self._s.scalars(
                update(OutboxMessage)
                .where(
                    OutboxMessage.user_id == leader.user_id,
                    OutboxMessage.batch == leader.batch,
                    OutboxMessage.id != leader.id,
                    OutboxMessage.merged_into.is_(None),
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.sending_at.is_(None),
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                )
                .values(merged_into=leader.id)
                .returning(OutboxMessage.id)
            )
        )

    async def members(self, user_id: int, leader_id: int) -> list[OutboxMessage]:
        """The user's alert `leader_id` and those merged into it, oldest first (empty if it
        is someone else's or gone)."""
        return list(
            await self._s.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.user_id == user_id,
                    or_(OutboxMessage.id == leader_id, OutboxMessage.merged_into == leader_id),
                )
                .order_by(OutboxMessage.id)
            )
        )

    async def rule_alerts_since(
        self, user_id: int, kinds: Collection[str], since: datetime
    ) -> list[OutboxMessage]:
        """The user's alerts of these kinds queued since `since`, oldest first (at most 500)."""
        return list(
            await self._s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.user_id == user_id, OutboxMessage.kind.in_(kinds),
                       OutboxMessage.created_at >= since)
                .order_by(OutboxMessage.id)
                .limit(500)
            )
        )

    async def get(self, user_id: int, outbox_id: int) -> OutboxMessage | None:
        """One of the user's alerts."""
        return await self._s.scalar(
            select(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                        OutboxMessage.user_id == user_id)
        )

    async def release_batch(self, batch: str, held_until: datetime, now: datetime) -> int:
        """Make a finished tick's alerts due now: those still held only for the tick to end
        (`next_attempt_at == held_until`; quiet hours hold theirs later); how many."""
        done = await self._s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.batch == batch,
                OutboxMessage.next_attempt_at == held_until,
                OutboxMessage.sent_at.is_(None),
            )
            .values(next_attempt_at=now)
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

    async def move_held(self, user_id: int, held_until: datetime, until: datetime) -> int:
        """Make the user's alerts held until `held_until` (the end of their quiet hours as they
        were) wait until `until` instead (as they are now); how many."""
        done = await self._s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.next_attempt_at == held_until,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
            )
            .values(next_attempt_at=until)
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

    async def give_up_held(
        self,
        user_id: int,
        older_than: datetime,
        now: datetime,
        reason: str = "held while the user had blocked the bot",
    ) -> int:
        """Give up the user's undelivered alerts queued before `older_than` (held while the user
        had blocked the bot or paused their account, too old to matter now); how many."""
        done = await self._s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.created_at < older_than,
            )
            .values(failed_at=now, last_error=reason)
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]
