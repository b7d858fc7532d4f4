"""Billing: the screen (/billing, /plans, the menu's ⭐ Billing), buying a plan for Telegram Stars
(an invoice, or a subscription's invoice link), the payment updates (pre-checkout, successful
and refunded payments, Update.subscription), cancelling or resuming renewal, /paysupport and
/terms (telegram-bot-platform.md §4)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BotSubscriptionUpdated,
    CallbackQuery,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)

from bot.callbacks import BillingCb
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.states import SupportStates
from bot.views import Screen
from bot.views import billing as view
from bot.views.common import stale
from core.billing import checkout, overview, subscription
from core.billing.payload import encode
from core.billing.plans import SUBSCRIPTION_DAYS, PlanBook
from core.clock import Clock
from core.settings import Settings
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="billing")
log = logging.getLogger(__name__)

SUBSCRIPTION_PERIOD = SUBSCRIPTION_DAYS * 86400  # createInvoiceLink accepts only 2592000 (§4)


def _secrets(settings: Settings) -> list[bytes]:
    """Every key still on the keyring verifies a payload (keys rotate)."""
    return [k.secret for k in settings.keyring.keys]


async def billing_screen(uow: UnitOfWorkFactory, plans: PlanBook, clock: Clock,
                         user: User) -> Screen:
    """The Billing overview for `user` (also opened from the main menu)."""
    catalogue = plans.current()
    facts = await overview.overview(uow, catalogue, clock, user.id)
    return view.overview(facts, catalogue, user.time_zone)


async def _plans_screen(uow: UnitOfWorkFactory, plans: PlanBook, clock: Clock,
                        user: User) -> Screen:
    catalogue = plans.current()
    standing, sub = await overview.standing(uow, catalogue, clock, user.id)
    return view.plans(catalogue, standing, sub, clock.now())


@router.message(Command("billing"))
async def billing_command(message: Message, db_user: User | None, uow: UnitOfWorkFactory,
                          plans: PlanBook, clock: Clock) -> None:
    """The Billing screen."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await show(message, await billing_screen(uow, plans, clock, db_user))


@router.message(Command("plans"))
async def plans_command(message: Message, db_user: User | None, uow: UnitOfWorkFactory,
                        plans: PlanBook, clock: Clock) -> None:
    """What each plan allows and costs, with Buy buttons."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await show(message, await _plans_screen(uow, plans, clock, db_user))


def editor(bot: Bot, user_id: int) -> subscription.Edit:
    """editUserStarSubscription for this user: None when Telegram agreed, else its refusal."""

    async def edit(charge_id: str, is_canceled: bool) -> str | None:
        try:
            ok = await bot.edit_user_star_subscription(user_id, charge_id, is_canceled)
        except TelegramAPIError as exc:
            log.warning("billing.subscription_edit_refused",
                        extra={"user_id": user_id, "error": exc.message})
            return exc.message
        return None if ok else "False"

    return edit


@router.callback_query(BillingCb.filter())
async def billing_action(query: CallbackQuery, callback_data: BillingCb, db_user: User | None,
                         uow: UnitOfWorkFactory, plans: PlanBook, clock: Clock,
                         settings: Settings, bot: Bot) -> None:
    """Billing screens, Buy buttons, and cancelling or resuming renewal (the presser's own)."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    action, catalogue, zone = callback_data.action, plans.current(), db_user.time_zone
    if action in ("open", "offers") and isinstance(query.message, Message):
        # From a receipt or a billing alert: that message is a record, so the screen comes as a
        # new message below it instead of replacing it.
        screen = (await billing_screen(uow, plans, clock, db_user) if action == "open"
                  else await _plans_screen(uow, plans, clock, db_user))
        await query.message.answer(screen[0], reply_markup=screen[1])
    elif action == "home":
        await show(query, await billing_screen(uow, plans, clock, db_user))
    elif action == "plans":
        await show(query, await _plans_screen(uow, plans, clock, db_user))
    elif action == "history":
        page = await overview.history(uow, db_user.id, callback_data.page)
        await show(query, view.history(page, catalogue, zone))
    elif action == "buy":
        await _buy(query, callback_data, db_user, uow, plans, clock, settings, bot)
        return
    elif action in ("cancel", "resume"):
        standing, sub = await overview.standing(uow, catalogue, clock, db_user.id)
        if sub is None or not sub.running(clock.now()) or sub.renews != (action == "cancel"):
            await show(query, await billing_screen(uow, plans, clock, db_user))
        elif action == "cancel":
            await show(query, view.cancel_confirm(sub, catalogue, zone, standing))
        else:
            await show(query, view.resume_confirm(sub, catalogue, zone))
    elif action in ("cancel_ok", "resume_ok"):
        change = subscription.cancel if action == "cancel_ok" else subscription.resume
        outcome = await change(uow, clock, db_user.id, editor(bot, db_user.id))
        if outcome.done and outcome.subscription is not None:
            standing, _sub = await overview.standing(uow, catalogue, clock, db_user.id)
            notice = (view.canceled(outcome.subscription, catalogue, zone, standing)
                      if action == "cancel_ok" else view.resumed())
        else:
            notice = view.renewal_problem(outcome)
        text, markup = await billing_screen(uow, plans, clock, db_user)
        await show(query, (notice + "\n\n" + text, markup))
    else:
        await query.answer(stale(), show_alert=True)
        return
    await query.answer()


async def _buy(query: CallbackQuery, cb: BillingCb, user: User, uow: UnitOfWorkFactory,
               plans: PlanBook, clock: Clock, settings: Settings, bot: Bot) -> None:
    """A Buy button: the offer's invoice into the chat (send_offer), or why not."""
    catalogue = plans.current()
    try:
        await send_offer(bot, settings, uow, plans, clock, user, cb.plan, cb.days, bool(cb.r))
    except checkout.AlreadySubscribed as exc:
        await query.answer(view.already_subscribed(exc.subscription, catalogue,
                                                   user.time_zone)[:200], show_alert=True)
        return
    except checkout.NotOnSale:
        await query.answer(view.not_on_sale(), show_alert=True)
        await show(query, await _plans_screen(uow, plans, clock, user))
        return
    await query.answer()


async def send_offer(bot: Bot, settings: Settings, uow: UnitOfWorkFactory, plans: PlanBook,
                     clock: Clock, user: User, plan: str, days: int, recurring: bool) -> None:
    """Send the invoice for one offer into the user's chat: a subscription's invoice link
    (createInvoiceLink with the 30-day period) or a one-off period's invoice (sendInvoice),
    Stars only (§4). Raises checkout.AlreadySubscribed / NotOnSale. The chat's Buy buttons
    and the web dashboard's (bot/web_invoice.py) both come here."""
    catalogue = plans.current()
    ready = await checkout.prepare(uow, catalogue, clock, user.id, plan, days, recurring)
    offer = ready.offer
    payload = encode(offer, settings.keyring.current.secret)
    title = view.invoice_title(ready.plan, offer.days, offer.recurring)
    description = view.invoice_description(ready, catalogue)
    prices = [LabeledPrice(label=view.price_label(ready.plan, offer.days, offer.recurring),
                           amount=offer.stars)]
    if offer.recurring:
        url = await bot.create_invoice_link(title=title, description=description,
                                            payload=payload, currency="XTR", prices=prices,
                                            subscription_period=SUBSCRIPTION_PERIOD)
        text, markup = view.subscribe(ready, url)
        await bot.send_message(user.id, text, reply_markup=markup)
    else:
        await bot.send_invoice(chat_id=user.id, title=title, description=description,
                               payload=payload, currency="XTR", prices=prices)
    log.info("billing.invoice_sent", extra={"user_id": user.id, "plan": offer.plan,
                                            "days": offer.days, "recurring": offer.recurring,
                                            "stars": offer.stars})


@router.pre_checkout_query()
async def pre_checkout(query: PreCheckoutQuery, uow: UnitOfWorkFactory, plans: PlanBook,
                       clock: Clock, settings: Settings) -> None:
    """Accept or refuse a payment within Telegram's 10 seconds (one core check, one answer)."""
    verdict = await checkout.pre_checkout(uow, plans.current(), clock, _secrets(settings),
                                          query.from_user.id, query.currency,
                                          query.total_amount, query.invoice_payload)
    if verdict.ok:
        await query.answer(ok=True)
        return
    log.info("billing.checkout_refused",
             extra={"user_id": query.from_user.id, "reason": verdict.reason})
    await query.answer(ok=False, error_message=view.refusal(verdict))


@router.message(F.successful_payment)
async def successful_payment(message: Message, uow: UnitOfWorkFactory, plans: PlanBook,
                             clock: Clock, settings: Settings, worker: str) -> None:
    """Record the payment once by its charge id; the receipt, and stopping the renewal of a
    subscription the new one replaces, go through the outbox (core.billing.account)."""
    paid = message.successful_payment
    assert paid is not None
    payer = message.from_user.id if message.from_user is not None else message.chat.id
    received = checkout.Received(
        charge_id=paid.telegram_payment_charge_id,
        provider_charge_id=paid.provider_payment_charge_id or None,
        currency=paid.currency, stars=paid.total_amount, payload=paid.invoice_payload,
        paid_at=message.date, expires_at=checkout.expiration(paid.subscription_expiration_date),
        is_recurring=bool(paid.is_recurring), is_first_recurring=bool(paid.is_first_recurring),
    )
    await checkout.complete(uow, plans.current(), clock, _secrets(settings), payer, received,
                            worker)


@router.message(F.refunded_payment)
async def refunded_payment(message: Message, uow: UnitOfWorkFactory, plans: PlanBook,
                           clock: Clock, worker: str) -> None:
    """A refund took a payment back: its time ends now (once), and the plan follows."""
    refund = message.refunded_payment
    assert refund is not None
    await checkout.refund_seen(uow, plans.current(), clock, message.chat.id,
                               refund.telegram_payment_charge_id, worker)


@router.subscription()
async def subscription_updated(event: BotSubscriptionUpdated, uow: UnitOfWorkFactory,
                               clock: Clock) -> None:
    """Telegram says the user cancelled, re-enabled or failed to pay their subscription."""
    known = await subscription.telegram_changed(uow, clock, event.user.id, event.invoice_payload,
                                                event.state)
    log.info("billing.subscription_update",
             extra={"user_id": event.user.id, "state": event.state, "applied": known})


@router.message(Command("paysupport"))
async def paysupport(message: Message, state: FSMContext, db_user: User | None) -> None:
    """Help with a payment: the next message becomes a support ticket."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await state.set_state(SupportStates.question)
    await message.answer(view.paysupport())


@router.message(Command("terms"))
async def terms(message: Message, settings: Settings) -> None:
    """The short terms of the paid plans, with links to the full terms and the privacy page."""
    await message.answer(view.paid_terms(settings.public_url))
