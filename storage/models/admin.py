"""The operators' console: broadcasts sent (news or service notices) and the leases of jobs
that run once for the whole service (reconciliation with Telegram's Stars transactions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Broadcast(Base):
    """An operator's message to many users: a draft until it is confirmed from the preview, then
    queued through the outbox (one row per recipient, dedup key `<prefix>:<key>:<user>`), then
    reported back to the operator once the last delivery settled."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # news | service
    text: Mapped[str] = mapped_column(Text)
    operator_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: still a draft
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # The delivery report to the operator is queued once, when nothing is left to deliver.
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class OperatorJob(Base):
    """A job that runs for the whole service rather than per user (e.g. `reconcile`): its lease,
    so two instances never run it at once, and what its last run found (counts only)."""

    __tablename__ = "operator_jobs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[int | None] = mapped_column(BigInteger)  # the operator; None: the schedule
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
