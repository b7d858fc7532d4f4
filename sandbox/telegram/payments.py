"""The sandbox's Telegram Stars methods: invoices, pre-checkout, refunds, subscriptions and
the bot's Star transactions (spec §6)."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.telegram.engine import (
    QUERY_TOO_OLD,
    Engine,
    bad_request,
)
from sandbox.telegram.limits import (
    INVOICE_DESCRIPTION,
    INVOICE_PAYLOAD_BYTES,
    INVOICE_TITLE,
)
from sandbox.telegram.methods import (
    Params,
    method,
    reply_to_id,
    store_bot_message,
    validate_markup,
)
from sandbox.telegram.state import (
    MAX_SUBSCRIPTION_STARS,
    SUBSCRIPTION_PERIOD,
    InvoiceTerms,
)


def _invoice_terms(params: Params, subscription_period: int | None = None) -> InvoiceTerms:
    """The checks sendInvoice and createInvoiceLink share: Stars only (XTR, exactly one
    price, spec §4); with a subscription_period (createInvoiceLink) its own rules too."""
    title = params.string("title", "") or ""
    description = params.string("description", "") or ""
    payload = params.string("payload", "") or ""
    currency = params.string("currency", "") or ""
    prices = params.obj("prices")
    if not INVOICE_TITLE[0] <= len(title) <= INVOICE_TITLE[1]:
        raise bad_request("INVOICE_TITLE_INVALID: title must be 1-32 characters")
    if not INVOICE_DESCRIPTION[0] <= len(description) <= INVOICE_DESCRIPTION[1]:
        raise bad_request("INVOICE_DESCRIPTION_INVALID: description must be 1-255 characters")
    if not INVOICE_PAYLOAD_BYTES[0] <= len(payload.encode("utf-8")) <= INVOICE_PAYLOAD_BYTES[1]:
        raise bad_request("INVOICE_PAYLOAD_INVALID: payload must be 1-128 bytes")
    # §4: a subscription period must be 30 days and needs XTR. The error names of these
    # refusals are unconfirmed (Telegram documents the rules, not the descriptions).
    if subscription_period is not None:
        if subscription_period != SUBSCRIPTION_PERIOD:
            raise bad_request(
                "SUBSCRIPTION_PERIOD_INVALID: subscription_period must be "
                f"{SUBSCRIPTION_PERIOD} (30 days)"
            )
        if currency != "XTR":
            raise bad_request(
                "SUBSCRIPTION_CURRENCY_INVALID: subscriptions are paid in Telegram Stars (XTR)"
            )
    if currency != "XTR":
        # The sandbox has no payment providers: digital goods are sold for Stars only (§4).
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    if not isinstance(prices, list) or len(prices) != 1:
        raise bad_request("STARS_INVOICE_INVALID: Stars invoices must have exactly one price")
    price = prices[0]
    amount = price.get("amount") if isinstance(price, dict) else None
    if not isinstance(amount, int) or amount < 1 or not str(price.get("label", "")):
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    if subscription_period is not None and amount > MAX_SUBSCRIPTION_STARS:
        # §4: a subscription costs at most 10000 Stars (error name unconfirmed).
        raise bad_request(
            "SUBSCRIPTION_PRICE_INVALID: a subscription costs at most "
            f"{MAX_SUBSCRIPTION_STARS} Stars"
        )
    return InvoiceTerms(title, description, payload, currency, amount, subscription_period)


@method("sendInvoice")
async def send_invoice(engine: Engine, params: Params) -> Any:
    """sendInvoice: Telegram Stars only (XTR, exactly one price, spec §4)."""
    user = engine.chat_for_bot(params.raw("chat_id"))
    # subscription_period is a createInvoiceLink parameter; sendInvoice ignores it (§4).
    terms = _invoice_terms(params)
    markup = validate_markup(params.obj("reply_markup"), invoice=True)
    if markup is None:
        markup = {"inline_keyboard": [[{"text": f"Pay ⭐️{terms.amount}", "pay": True}]]}
    reply_to = reply_to_id(engine, user, params)
    engine.check_flood("sendInvoice", user.user_id)
    invoice = {
        "title": terms.title,
        "description": terms.description,
        "start_parameter": params.string("start_parameter", "") or "",
        "currency": terms.currency,
        "total_amount": terms.amount,
    }
    return store_bot_message(
        engine,
        user,
        kind="invoice",
        invoice=invoice,
        invoice_payload=terms.payload,
        reply_markup=markup,
        reply_to_message_id=reply_to,
    )


@method("createInvoiceLink")
async def create_invoice_link(engine: Engine, params: Params) -> Any:
    """createInvoiceLink: sendInvoice's checks plus subscription_period (spec §4); the link
    is https://t.me/$<slug>, payable through POST /_sandbox/pay_link."""
    terms = _invoice_terms(params, params.integer("subscription_period"))
    slug = secrets.token_urlsafe(12)
    while slug in engine.state.invoice_links:
        slug = secrets.token_urlsafe(12)
    terms.slug = slug
    engine.state.invoice_links[slug] = terms
    return f"https://t.me/${slug}"


@method("answerPreCheckoutQuery")
async def answer_pre_checkout_query(engine: Engine, params: Params) -> Any:
    """answerPreCheckoutQuery: once per query, within the timeout (spec §4)."""
    query_id = params.string("pre_checkout_query_id", "") or ""
    ok = params.flag("ok")
    error_message = params.string("error_message")
    if not ok and not error_message:
        raise bad_request("ERROR_MESSAGE_EMPTY")
    record = engine.state.pre_checkouts.pop(query_id, None)
    if record is None or record.future.done():
        raise bad_request(QUERY_TOO_OLD)
    record.future.set_result((ok, error_message))
    return True


def _user_partner(engine: Engine, user_id: int, payload: str) -> dict[str, Any]:
    """TransactionPartnerUser of an invoice payment (or its refund)."""
    user = engine.state.users[user_id]
    return {
        "type": "user",
        "transaction_type": "invoice_payment",
        "user": user.as_user(),
        "invoice_payload": payload,
    }


@method("refundStarPayment")
async def refund_star_payment(engine: Engine, params: Params) -> Any:
    """refundStarPayment: once per charge; adds a refunded_payment service message and an
    outgoing transaction."""
    user_id = params.integer("user_id")
    charge_id = params.string("telegram_payment_charge_id", "") or ""
    charge = engine.state.charges.get(charge_id)
    if charge is None or charge["user_id"] != user_id:
        raise bad_request("CHARGE_NOT_FOUND")
    if charge["refunded"]:
        raise bad_request("CHARGE_ALREADY_REFUNDED")
    charge["refunded"] = True
    user = engine.state.users[charge["user_id"]]
    refund = {
        "currency": "XTR",
        "total_amount": charge["total_amount"],
        "invoice_payload": charge["invoice_payload"],
        "telegram_payment_charge_id": charge_id,
    }
    msg = engine.state.new_message(
        user.user_id, False, kind="refunded_payment", refunded_payment=refund
    )
    # The docs: a refund's StarTransaction.id is the refunded transaction's id, and a user is
    # the receiver of a purchase refund; its transaction_type is unconfirmed.
    engine.state.transactions.append(
        {
            "id": charge_id,
            "amount": charge["total_amount"],
            "date": msg.date,
            "receiver": _user_partner(engine, user.user_id, charge["invoice_payload"]),
        }
    )
    sub = engine.subscription_of(user.user_id, charge_id)
    if engine.config.refund_cancels_subscription and sub is not None and not sub.ended:
        sub.canceled, sub.canceled_by, sub.bot_canceled = True, "refund", True
    engine.state.push_update("message", engine.message_dict(msg))
    return True


@method("editUserStarSubscription")
async def edit_user_star_subscription(engine: Engine, params: Params) -> Any:
    """editUserStarSubscription: the bot cancels a subscription's renewal, or allows the user
    to re-enable one the bot canceled (spec §4). No Update.subscription: the bot knows."""
    user_id = params.integer("user_id")
    charge_id = params.string("telegram_payment_charge_id", "") or ""
    if params.raw("is_canceled") in (None, ""):
        raise bad_request("is_canceled is empty")
    is_canceled = params.flag("is_canceled")
    if user_id is None or user_id not in engine.state.users:
        raise bad_request("USER_ID_INVALID")
    # MTProto's payments.botCancelStarsSubscription lists CHARGE_ID_INVALID and
    # USER_ID_INVALID; which one Telegram gives for each case below is unconfirmed.
    sub = engine.subscription_of(user_id, charge_id)
    if sub is None:
        # Unknown, another user's, or a one-time payment's charge id.
        raise bad_request("CHARGE_ID_INVALID")
    if charge_id != sub.first_charge_id and not engine.config.subscription_edit_any_charge:
        raise bad_request("CHARGE_ID_INVALID")
    if is_canceled:
        if not sub.ended:
            # starsSubscription.bot_canceled: the user can't re-enable it on their own.
            sub.canceled, sub.canceled_by, sub.bot_canceled = True, "bot", True
        return True
    if sub.ended:
        raise bad_request("SUBSCRIPTION_EXPIRED")  # unconfirmed name
    # "allow the user to re-enable a subscription that was previously canceled by the bot":
    # renewal stays off until the user turns it back on (MTProto: a partial undo).
    sub.bot_canceled = False
    return True


@method("getStarTransactions")
async def get_star_transactions(engine: Engine, params: Params) -> Any:
    """getStarTransactions: the bot's Stars transactions, `offset` skipped, `limit` 1-100."""
    offset = params.integer("offset", 0) or 0
    limit = params.integer("limit", 100)
    limit = 100 if limit is None else limit
    # Refusal descriptions unconfirmed; the docs say limit is 1-100 (spec §4).
    if not 1 <= limit <= 100:
        raise bad_request("LIMIT_INVALID")
    if offset < 0:
        raise bad_request("OFFSET_INVALID")
    # The docs do not promise an order: star_transactions_order picks one (by date, ties in
    # the order they happened).
    ordered = sorted(engine.state.transactions, key=lambda t: t["date"])
    if engine.config.star_transactions_order == "newest_first":
        ordered.reverse()
    return {"transactions": ordered[offset : offset + limit]}


@method("getMyStarBalance")
async def get_my_star_balance(engine: Engine, params: Params) -> Any:
    """getMyStarBalance: incoming payments minus refunds, as a StarAmount."""
    balance = sum(t["amount"] if "source" in t else -t["amount"] for t in engine.state.transactions)
    return {"amount": balance, "nanostar_amount": 0}
