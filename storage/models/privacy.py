"""Privacy bookkeeping: account erasures and data exports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Erasure(Base):
    """An account deletion in progress, from the request to the last anonymised row.

    Stages (core/privacy/erase.py): `requested` → `stopped` (at once: rules, launches,
    approvals, tokens, keys, alerts) → `purged` (ad and tracker data, by `purge_after`) →
    `done` (personal data, by `anonymise_after`). Claimed with a lease like sync jobs, so a crash
    halfway is finished by the next run. `user_id` has no foreign key: the user row goes first
    thing at `done`, and the id itself is wiped then; `pseudonym` replaces it where rows are kept.
    """

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    pseudonym: Mapped[int] = mapped_column(BigInteger, unique=True)  # negative: never a real id
    reason: Mapped[str] = mapped_column(String(16))  # user | support | minor
    requested_by: Mapped[int | None] = mapped_column(BigInteger)  # None: the user; else operator
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purge_after: Mapped[datetime] = mapped_column(UTCDateTime)
    anonymise_after: Mapped[datetime] = mapped_column(UTCDateTime)
    stage: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))


class DataExport(Base):
    """One /export request: built in the background, sent as a document or a signed link."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued|building|sent|failed
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # of the download link
    size: Mapped[int | None] = mapped_column(BigInteger)
    token: Mapped[str | None] = mapped_column(String(64), unique=True)  # download link secret
    error: Mapped[str | None] = mapped_column(String(300))
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
