"""Billing: the ledger of Stars charges and operator grants, and each user's entitlement (the
ledger folded by core.billing.ledger, kept for quick reads and for the billing tick)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Payment(Base):
    """One ledger entry: a Telegram Stars charge (Bot API SuccessfulPayment, keyed by its
    `telegram_payment_charge_id`) or an operator's grant (`kind` grant, id `grant:<hex>`, 0 Stars).
    Kept for the legal period after an account is erased, `user_id` then replaced by the erasure's
    pseudonym — hence no foreign key to users."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    telegram_charge_id: Mapped[str] = mapped_column(String(128), unique=True)
    provider_charge_id: Mapped[str | None] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(8), default="XTR")
    total_amount: Mapped[int] = mapped_column(Integer)  # Stars are whole numbers
    payload: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the charge time
    kind: Mapped[str] = mapped_column(String(8), default="stars")  # stars | grant
    plan: Mapped[str] = mapped_column(String(16), default="")
    days: Mapped[int] = mapped_column(Integer, default=0)  # the period bought or granted
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)  # a subscription charge
    first_recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    # Telegram's subscription_expiration_date: the end of the period this charge pays for.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_by: Mapped[int | None] = mapped_column(BigInteger)  # the operator
    granted_by: Mapped[int | None] = mapped_column(BigInteger)  # the operator, for grants
    reason: Mapped[str | None] = mapped_column(String(200))  # the operator's, for grants/refunds


class Entitlement(Base):
    """A user's standing now, as the ledger says (state free | active | grace) plus what the
    billing tick must still do: remind before the end, apply a plan's limits once it changed."""

    __tablename__ = "entitlements"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(8), default="free")
    plan: Mapped[str] = mapped_column(String(16), default="free")  # whose limits apply now
    paid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Telegram subscription that renews this plan: its newest charge id (what
    # editUserStarSubscription takes), whether it will renew, and when the user cancelled it.
    subscription_charge_id: Mapped[str | None] = mapped_column(String(128))
    renews: Mapped[bool] = mapped_column(Boolean, default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Reminders before a non-renewing end: the end they were sent for and the last one sent
    # (days before: 3, then 1), so each goes once per end however many instances tick.
    reminded_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_days: Mapped[int | None] = mapped_column(Integer)
    # The plan whose limits were last enforced (pause on the way down, restore on the way up).
    applied_plan: Mapped[str] = mapped_column(String(16), default="free")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # next tick work
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
