"""The operators' console (ADMIN_IDS): the service's numbers at a glance, looking a user up,
granting time, refunding a Stars payment, and a user's support tickets. Every action is audited
under the operator's id; the Telegram calls a refund needs are injected by the bot side."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.billing import account, limits
from core.billing.ledger import Standing
from core.billing.plans import Catalogue, Plan
from core.clock import Clock
from storage.models import (
    AuditEntry,
    Entitlement,
    OperatorJob,
    Payment,
    SupportTicket,
    TikTokConnection,
    Tracker,
    User,
)
from storage.repos.admin import ErrorRow, OutboxDepth, SyncLag
from storage.uow import UnitOfWorkFactory

# A scheduled sync is claimed within a tick (SYNC_TICK_SECONDS, 20 s) of its due time and runs
# in seconds to minutes; one still waiting this long after it was due is behind schedule (the
# sync lease is as long, so even a crashed worker's job is free again by then).
SYNC_LATE = timedelta(minutes=10)
ERRORS_SINCE = timedelta(days=7)
ERRORS_SHOWN = 8
REVENUE_MONTHS = 6
ACTIVITY_SHOWN = 10
WEEK = timedelta(days=7)
RECONCILE_JOB = "reconcile"
REFUND_REASON = "refunded by an operator"
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"  # Telegram's refusal when the refund was done before


@dataclass(frozen=True)
class MonthRevenue:
    """Stars of one calendar month (UTC): charges made then and not refunded, and refunds made
    then (of charges from any month)."""

    month: date  # its first day
    stars: int
    refunded: int


@dataclass(frozen=True)
class Dashboard:
    """/admin: the service at a glance."""

    now: datetime
    users: int
    new_this_week: int
    paying: dict[str, int]  # plan code -> users in paid time or grace
    ad_accounts: int
    rules_on: int
    sync: SyncLag
    outbox: OutboxDepth
    errors: list[ErrorRow]
    revenue: list[MonthRevenue]  # oldest first, the current month last
    reconciled: OperatorJob | None

    @property
    def paying_total(self) -> int:
        """Users on any paid plan now."""
        return sum(self.paying.values())


def _month_start(moment: datetime) -> date:
    return moment.astimezone(UTC).date().replace(day=1)


def _months_back(first: date, n: int) -> date:
    index = first.year * 12 + first.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


async def dashboard(uow: UnitOfWorkFactory, clock: Clock) -> Dashboard:
    """Users (total, new this week, paying by plan), tracked ad accounts, rules on, syncs behind
    schedule, outbox depth, the newest errors and Stars revenue for the last months."""
    now = clock.now()
    this_month = _month_start(now)
    months = [_months_back(this_month, n) for n in range(REVENUE_MONTHS - 1, -1, -1)]
    since = datetime.combine(months[0], datetime.min.time(), UTC)
    async with uow() as u:
        users, new = await u.admin.user_counts(now - WEEK)
        paying = await u.admin.paying_by_plan(now)
        accounts = await u.admin.tracked_accounts()
        rules_on = await u.admin.rules_on()
        sync = await u.admin.sync_lag(now - SYNC_LATE)
        outbox = await u.admin.outbox_depth(now)
        errors = await u.admin.recent_errors(now - ERRORS_SINCE, ERRORS_SHOWN)
        charges = await u.admin.stars_since(since)
        job = await u.admin.job(RECONCILE_JOB)
    stars = dict.fromkeys(months, 0)
    refunded = dict.fromkeys(months, 0)
    for charged_at, amount, refunded_at in charges:
        if refunded_at is None:
            if (m := _month_start(charged_at)) in stars:
                stars[m] += amount
        elif (m := _month_start(refunded_at)) in refunded:
            refunded[m] += amount
    revenue = [MonthRevenue(m, stars[m], refunded[m]) for m in months]
    return Dashboard(now, users, new, paying, accounts, rules_on, sync, outbox, errors, revenue,
                     job)


# Looking a user up ---------------------------------------------------------------------------

_USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{2,31})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class BadQuery(ValueError):
    """Not a Telegram id, @username or email."""


def parse_query(text: str) -> tuple[str, str | int]:
    """What an operator typed to find a user: ("id", 123), ("username", "ann") or ("email",
    "a@b.co"). BadQuery for anything else."""
    text = text.strip()
    if text.isdigit() and len(text) <= 19:
        return "id", int(text)
    if _EMAIL.fullmatch(text):
        return "email", text
    if match := _USERNAME.fullmatch(text):
        return "username", match.group(1)
    raise BadQuery(text)


async def find_users(uow: UnitOfWorkFactory, text: str) -> list[User]:
    """Users matching a Telegram id, @username or email (deleted accounts too, marked by
    `deleted_at`); BadQuery when the text is none of these."""
    kind, value = parse_query(text)
    async with uow() as u:
        if kind == "id":
            assert isinstance(value, int)
            return await u.admin.find_users(user_id=value)
        if kind == "email":
            return await u.admin.find_users(email=str(value))
        return await u.admin.find_users(username=str(value))


async def user_by_id(uow: UnitOfWorkFactory, user_id: int) -> User | None:
    """A user by Telegram id, deleted or not (None: no such row, e.g. erased entirely)."""
    async with uow() as u:
        return await u.users.get_any(user_id)


@dataclass(frozen=True)
class Connection:
    """A TikTok connection as the console shows it."""

    row: TikTokConnection
    accounts: int
    tracked: int


@dataclass(frozen=True)
class UserCard:
    """Everything an operator needs about one user."""

    user: User
    standing: Standing
    entitlement: Entitlement | None
    plan: Plan  # whose limits apply
    usage: limits.Usage | None  # None for a deleted account
    connections: list[Connection]
    trackers: list[Tracker]
    activity: list[AuditEntry]  # newest first
    payments: list[Payment]  # newest first
    tickets: int
    open_tickets: int


class NoSuchUser(LookupError):
    """No user (live or deleted) with that id."""


async def user_card(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                    operator_id: int, user_id: int) -> UserCard:
    """One user's plan and standing, usage against the limits, connections' health, recent
    activity, payments and tickets; the look-up itself is audited (`admin.viewed`)."""
    async with uow() as u:
        user = await u.users.get_any(user_id)
        if user is None:
            raise NoSuchUser(user_id)
        connections = [Connection(c, n, t) for c, n, t in await u.admin.connections_of(user_id)]
        trackers = await u.trackers.of_user(user_id, include_disconnected=True)
        activity = await u.admin.recent_activity(user_id, ACTIVITY_SHOWN)
        payments = list(reversed(await u.billing.ledger(user_id)))
        tickets = await u.support.for_user(user_id)
        u.audit.record(operator_id, "admin.viewed", "user", user_id)
        await u.commit()
    standing, row = await account.current(uow, catalogue, clock, user_id)
    usage = None
    if user.deleted_at is None:
        usage = await limits.usage(uow, catalogue, clock, user_id)
    plan = catalogue.effective(standing.plan)
    return UserCard(user, standing, row, plan, usage, connections, trackers, activity, payments,
                    len(tickets), sum(1 for t in tickets if t.status == "open"))


async def tickets_of(uow: UnitOfWorkFactory, operator_id: int,
                     user_id: int) -> list[SupportTicket]:
    """A user's support tickets with their messages, newest first (audited: an operator read
    them)."""
    async with uow() as u:
        tickets = await u.support.for_user(user_id)
        u.audit.record(operator_id, "admin.tickets_viewed", "user", user_id,
                       {"tickets": len(tickets)})
        await u.commit()
    return tickets


async def payment(uow: UnitOfWorkFactory, user_id: int, payment_id: int) -> Payment | None:
    """One of the user's ledger entries by our row id (None if it is someone else's)."""
    async with uow() as u:
        row = await u.admin.payment(payment_id)
    return row if row is not None and row.user_id == user_id else None


# Refunds ------------------------------------------------------------------------------------


class TelegramRefusal(Exception):
    """Telegram refused a call; `message` is its description, shown to the operator as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RefundImpossible(Exception):
    """The payment cannot be refunded; `reason` says why (not_stars | refunded | gone)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# (user_id, telegram_payment_charge_id): refundStarPayment and editUserStarSubscription
# (is_canceled=True); they raise TelegramRefusal.
TelegramCall = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True)
class Refund:
    """What a refund did."""

    payment: Payment
    change: account.Change | None
    already: bool  # Telegram had refunded it before (recorded here now)
    subscription: bool  # the charge was a subscription's
    renewal_canceled: bool
    cancel_error: str | None  # Telegram's refusal to cancel the renewal, shown as is


def _subscription_charges(ledger: list[Payment], charge: Payment) -> list[str]:
    """The charge ids Telegram may know the charge's subscription by: its first payment (one
    payload per subscription: core.billing.subscription), then the refunded charge itself."""
    first = account.first_charge(ledger, charge.payload)
    return list(dict.fromkeys(c for c in (first, charge.telegram_charge_id) if c))


async def refund(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, operator_id: int,
                 user_id: int, payment_id: int, refund_at_telegram: TelegramCall,
                 cancel_renewal: TelegramCall) -> Refund:
    """Refund one of the user's Stars payments at Telegram, then take it out of the ledger (the
    period it paid for ends now, without grace; audited under the operator). A charge Telegram
    says was refunded already is recorded as refunded too. A subscription's renewal is
    cancelled as well. TelegramRefusal with Telegram's words when it refuses the refund (audited
    `admin.refund_refused`); RefundImpossible for a grant, a refunded or unknown payment."""
    async with uow() as u:
        charge = await u.admin.payment(payment_id)
        ledger = await u.billing.ledger(user_id) if charge is not None else []
    if charge is None or charge.user_id != user_id:
        raise RefundImpossible("gone")
    if charge.kind != "stars":
        raise RefundImpossible("not_stars")
    if charge.refunded_at is not None:
        raise RefundImpossible("refunded")
    already = False
    try:
        await refund_at_telegram(user_id, charge.telegram_charge_id)
    except TelegramRefusal as refused:
        if ALREADY_REFUNDED not in refused.message.upper():
            async with uow() as u:
                u.audit.record(operator_id, "admin.refund_refused", "payment",
                               charge.telegram_charge_id,
                               {"user_id": user_id, "error": refused.message[:200]})
                await u.commit()
            raise
        already = True
    reason = REFUND_REASON if not already else "already refunded at Telegram"
    change = await account.refunded(uow, catalogue, clock, charge.telegram_charge_id,
                                    operator_id, reason)
    async with uow() as u:
        # Telegram's refunded_payment update may have marked it first (without an operator):
        # the ledger still names who refunded it, and the audit log always does.
        await u.admin.name_refunder(charge.telegram_charge_id, operator_id, reason)
        u.audit.record(operator_id, "admin.refunded", "payment", charge.telegram_charge_id,
                       {"user_id": user_id, "stars": charge.total_amount, "already": already})
        await u.commit()
    canceled, cancel_error = False, None
    if charge.recurring:
        for charge_id in _subscription_charges(ledger, charge):
            try:
                await cancel_renewal(user_id, charge_id)
            except TelegramRefusal as refused:
                cancel_error = refused.message
                if "CHARGE_ID" in cancel_error.upper():
                    continue  # Telegram knows it by the other id: try that one
            else:
                canceled, cancel_error = True, None
            break
        await _renewal_canceled(uow, clock, operator_id, user_id, charge.telegram_charge_id,
                                canceled, cancel_error)
    return Refund(charge, change, already, charge.recurring, canceled, cancel_error)


async def _renewal_canceled(uow: UnitOfWorkFactory, clock: Clock, operator_id: int,
                            user_id: int, charge_id: str, canceled: bool,
                            error: str | None) -> None:
    """Record the cancelled renewal on the entitlement (a refold keeps it off until a newer
    subscription charge), or Telegram's refusal in the audit log."""
    now = clock.now()
    async with uow() as u:
        if canceled and await u.users.get_any(user_id) is not None:
            row = await u.billing.set_renewal(user_id, False, now, now)
            row.due_at = account.next_due(row, now)
        u.audit.record(operator_id, "admin.renewal_canceled" if canceled
                       else "admin.renewal_cancel_refused", "payment", charge_id,
                       {"user_id": user_id, **({"error": error[:200]} if error else {})})
        await u.commit()
