"""The Telegram calls the operators' console makes, wrapped for core: refundStarPayment,
editUserStarSubscription (cancel a renewal) and getStarTransactions (reconciliation)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import StarTransaction, TransactionPartnerUser

from core.admin import TelegramCall, TelegramRefusal
from core.billing.reconcile import Fetch, StarTx


def refund_call(bot: Bot) -> TelegramCall:
    """refundStarPayment; Telegram's refusal (e.g. CHARGE_ALREADY_REFUNDED) as TelegramRefusal."""

    async def call(user_id: int, charge_id: str) -> None:
        try:
            await bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
        except TelegramBadRequest as exc:
            raise TelegramRefusal(exc.message) from exc

    return call


def cancel_renewal_call(bot: Bot) -> TelegramCall:
    """editUserStarSubscription(is_canceled=True): the subscription does not renew."""

    async def call(user_id: int, charge_id: str) -> None:
        try:
            await bot.edit_user_star_subscription(
                user_id=user_id, telegram_payment_charge_id=charge_id, is_canceled=True)
        except TelegramBadRequest as exc:
            raise TelegramRefusal(exc.message) from exc

    return call


def as_star_tx(t: StarTransaction) -> StarTx:
    """A user's invoice payment (the user is its source), a refund of one (the user is its
    receiver), or anything else (withdrawals, ads, gifts: not our payments)."""
    for kind, partner in (("payment", t.source), ("refund", t.receiver)):
        if isinstance(partner, TransactionPartnerUser) and partner.transaction_type in (
                None, "invoice_payment"):
            return StarTx(t.id, kind, t.amount, t.date, partner.user.id,
                          partner.invoice_payload, partner.subscription_period)
    return StarTx(t.id, "other", t.amount, t.date)


def star_transactions(bot: Bot) -> Fetch:
    """getStarTransactions(offset, limit) as reconciliation reads it."""

    async def fetch(offset: int, limit: int) -> Sequence[StarTx]:
        page = await bot.get_star_transactions(offset=offset, limit=limit)
        return [as_star_tx(t) for t in page.transactions]

    return fetch
