"""Shared machinery of the sandbox server: errors, object builders, user-side actions."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import secrets
import time
from typing import Any

from aiohttp import web

from sandbox.telegram.clock import SandboxClock
from sandbox.telegram.limits import EDIT_METHODS, SEND_METHODS, FloodControl
from sandbox.telegram.state import (
    NOT_DEFAULT_UPDATES,
    CallbackRecord,
    InvoiceTerms,
    PreCheckoutRecord,
    SandboxConfig,
    SandboxState,
    StoredMessage,
    SubscriptionRecord,
    UserRecord,
)

_KNOB_TYPES: dict[str, type] = {
    "flood_enabled": bool,
    "per_chat_burst": int,
    "per_chat_rate": float,
    "global_rate": float,
    "global_burst": int,
    "count_edits": bool,
    "user_action_refills": bool,
    "strict_html_attributes": bool,
    "callback_answer_timeout": float,
    "pre_checkout_timeout": float,
    "subscription_updates": bool,
    "refund_cancels_subscription": bool,
    "star_transactions_order": str,
    "drop_payment_updates": int,
    "subscription_edit_any_charge": bool,
    "webhook_chat_order": bool,
    "webhook_retry_base": float,
    "webhook_retry_max": float,
    "webhook_timeout": float,
    "webhook_duplicates": int,
}
STAR_TRANSACTION_ORDERS = ("newest_first", "oldest_first")
# Invoice links look like https://t.me/$<slug> (createInvoiceLink, spec §4).
INVOICE_LINK_RE = re.compile(r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/\$([A-Za-z0-9_-]+)/?$")
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class BotApiError(Exception):
    """A Bot API refusal: HTTP status == error_code (spec §2.2)."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            # §2.3: aiogram needs parameters.retry_after to raise TelegramRetryAfter.
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> BotApiError:
    """400 with Telegram's "Bad Request: " prefix."""
    return BotApiError(400, f"Bad Request: {reason}")


class ControlError(Exception):
    """An error of the /_sandbox/ control API (not a Bot API refusal)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


ENGINE_KEY: web.AppKey[Engine] = web.AppKey("sandbox_telegram_engine")


def update_kind(update: dict[str, Any]) -> str:
    """The update type, i.e. its one key besides update_id."""
    return next(key for key in update if key != "update_id")


class Engine:
    """The sandbox world: state plus the operations both APIs share."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock(config.clock_offset_file)
        self.state = SandboxState(config, self.clock.now)
        self.flood = FloodControl()
        self.closing = False
        self.apply_flood_config()

    # ----------------------------------------------------------------- config / logs
    def apply_flood_config(self) -> None:
        """Push the flood knobs of config into the buckets."""
        self.flood.reconfigure(
            self.config.per_chat_burst,
            self.config.per_chat_rate,
            self.config.global_rate,
            self.config.global_burst or max(1, round(self.config.global_rate)),
        )

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Change run-time knobs; returns the resulting knob values."""
        for key, value in knobs.items():
            if key not in SandboxConfig.RUNTIME_KNOBS:
                raise ControlError(400, f"unknown config knob {key!r}",
                                   known=list(SandboxConfig.RUNTIME_KNOBS))
            value = _KNOB_TYPES[key](value) if value is not None else None
            if key == "star_transactions_order" and value not in STAR_TRANSACTION_ORDERS:
                raise ControlError(400, "star_transactions_order must be one of "
                                        f"{', '.join(STAR_TRANSACTION_ORDERS)}")
            if key == "drop_payment_updates" and (value is None or value < 0):
                raise ControlError(400, "drop_payment_updates must be a non-negative integer")
            setattr(self.config, key, value)
        if {"per_chat_burst", "per_chat_rate", "global_rate", "global_burst"} & set(knobs):
            self.apply_flood_config()
        return self.knobs()

    def knobs(self) -> dict[str, Any]:
        """Current run-time knob values."""
        return {key: getattr(self.config, key) for key in SandboxConfig.RUNTIME_KNOBS}

    def reset(self) -> None:
        """Forget everything except config (the clock's own offset too); wake pollers."""
        for record in self.state.pre_checkouts.values():
            if not record.future.done():
                record.future.cancel()
        self.state.reset()
        self.clock.reset()
        self.flood.reset()
        self.state.wake()

    def bot_user(self) -> dict[str, Any]:
        """The bot as a Bot API User."""
        return {
            "id": self.config.bot_id,
            "is_bot": True,
            "first_name": self.config.bot_first_name,
            "username": self.config.bot_username,
        }

    def check_flood(self, method: str, chat_id: int) -> None:
        """Raise 429 if this message-producing call exceeds the limits (spec §2.1)."""
        if not self.config.flood_enabled:
            return
        counted = method in SEND_METHODS or (self.config.count_edits and method in EDIT_METHODS)
        if not counted:
            return
        retry_after = self.flood.check(chat_id)
        if retry_after:
            raise BotApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def user_acted(self, chat_id: int) -> None:
        """A user action in the chat gives the bot a fresh per-chat burst (if configured)."""
        if self.config.user_action_refills:
            self.flood.refill_chat(chat_id)

    # ----------------------------------------------------------------- chats
    def chat_for_bot(self, raw_chat_id: Any) -> UserRecord:
        """Resolve chat_id of a bot call to a user, enforcing chat-level refusals."""
        if raw_chat_id is None or raw_chat_id == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw_chat_id)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        user = self.state.users.get(chat_id)
        if user is None:
            raise bad_request("chat not found")
        if user.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        if not user.started:
            raise BotApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return user

    # ----------------------------------------------------------------- object builders
    def message_dict(self, msg: StoredMessage, with_reply: bool = True) -> dict[str, Any]:
        """The Bot API Message object for a stored message."""
        user = self.state.users.get(msg.chat_id) or UserRecord(msg.chat_id, "User")
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": user.as_chat(),
            "from": self.bot_user() if msg.from_bot else user.as_user(),
        }
        if msg.kind == "text":
            data["text"] = msg.text or ""
            if msg.entities:
                data["entities"] = msg.entities
        else:
            if msg.text is not None and msg.kind in ("photo", "document", "video"):
                data["caption"] = msg.text
                if msg.entities:
                    data["caption_entities"] = msg.entities
            if msg.kind == "photo":
                data["photo"] = msg.media
            elif msg.kind in ("document", "video"):
                data[msg.kind] = msg.media
            elif msg.kind == "invoice":
                data["invoice"] = msg.invoice
            elif msg.kind == "successful_payment":
                data["successful_payment"] = msg.successful_payment
            elif msg.kind == "refunded_payment":
                data["refunded_payment"] = msg.refunded_payment
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        if with_reply and msg.reply_to_message_id is not None:
            replied = self.state.find_message(msg.chat_id, msg.reply_to_message_id)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self.message_dict(replied, with_reply=False)
        return data

    def view_dict(self, msg: StoredMessage) -> dict[str, Any]:
        """The control API's view of a message (GET /_sandbox/messages)."""
        buttons: list[list[dict[str, Any]]] = []
        reply_keyboard: list[list[str]] | None = None
        markup = msg.reply_markup or {}
        for row in markup.get("inline_keyboard", []):
            buttons.append([dict(button) for button in row])
        if "keyboard" in markup:
            reply_keyboard = [
                [b if isinstance(b, str) else b.get("text", "") for b in row]
                for row in markup["keyboard"]
            ]
        file_info: dict[str, Any] | None = None
        if msg.kind in ("photo", "document", "video") and msg.media:
            main = msg.media[-1] if isinstance(msg.media, list) else msg.media
            stored = self.state.files.get(main["file_id"])
            file_info = dict(main)
            if stored is not None:
                file_info["file_path"] = stored.file_path
                file_info["download_path"] = f"/file/bot{self.config.token}/{stored.file_path}"
                file_info.setdefault("file_name", stored.file_name)
                file_info.setdefault("mime_type", stored.mime_type)
            if isinstance(msg.media, list):
                file_info["sizes"] = msg.media
        invoice = dict(msg.invoice, payload=msg.invoice_payload) if msg.invoice else None
        return {
            "message_id": msg.message_id,
            "from_bot": msg.from_bot,
            "date": msg.date,
            "kind": msg.kind,
            # Invoices have no text; their title and description stand in for it.
            "text": msg.text if msg.invoice is None else
            f"{msg.invoice['title']}\n{msg.invoice['description']}",
            "html": msg.html,
            "parse_mode": msg.parse_mode,
            "entities": msg.entities,
            "buttons": buttons,
            "reply_keyboard": reply_keyboard,
            "file": file_info,
            "invoice": invoice,
            "successful_payment": msg.successful_payment,
            "refunded_payment": msg.refunded_payment,
            "edit_count": msg.edit_count,
            "deleted": msg.deleted,
            "reply_to_message_id": msg.reply_to_message_id,
            "seq": msg.seq,
        }

    # ----------------------------------------------------------------- updates
    def update_allowed(self, update: dict[str, Any]) -> bool:
        """Whether getUpdates/webhook may deliver this update under allowed_updates."""
        kind = update_kind(update)
        allowed = self.state.allowed_updates
        if not allowed:
            return kind not in NOT_DEFAULT_UPDATES
        return kind in allowed

    # ----------------------------------------------------------------- user actions
    def user_sends(
        self, user: UserRecord, text: str, reply_to: int | None = None
    ) -> tuple[StoredMessage, int]:
        """The user types text; returns the message and its update id."""
        if user.blocked or not user.started:
            # Writing to a bot you blocked means pressing "Restart" first.
            self.set_blocked(user, False)
            user.started = True
        if not text:
            raise ControlError(400, "text is empty")
        entities: list[dict[str, Any]] = []
        if text.startswith("/"):
            # A leading command gets a bot_command entity, /cmd@botname included.
            end = 1
            while end < len(text) and not text[end].isspace():
                end += 1
            entities.append({"type": "bot_command", "offset": 0, "length": len(
                text[:end].encode("utf-16-le")) // 2})
        if reply_to is not None and self.state.find_message(user.user_id, reply_to) is None:
            raise ControlError(404, f"message {reply_to} not found in chat {user.user_id}")
        msg = self.state.new_message(
            user.user_id, False, kind="text", text=text, html=None, entities=entities,
            reply_to_message_id=reply_to,
        )
        self.user_acted(user.user_id)
        update_id = self.state.push_update("message", self.message_dict(msg))
        return msg, update_id

    def set_blocked(self, user: UserRecord, blocked: bool) -> int | None:
        """Block or unblock the bot; sends a my_chat_member update when it changes."""
        if user.blocked == blocked:
            return None
        user.blocked = blocked
        member = {"user": self.bot_user()}
        old = {"status": "member", **member}
        new = {"status": "kicked", "until_date": 0, **member}
        if not blocked:
            old, new = new, old
        return self.state.push_update(
            "my_chat_member",
            {
                "chat": user.as_chat(),
                "from": user.as_user(),
                "date": self.clock.now(),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        )

    def press_callback(self, user: UserRecord, msg: StoredMessage, data: str) -> dict[str, Any]:
        """Send a callback_query update for a button press (or a forged payload)."""
        query_id = str(secrets.randbits(63))
        self.user_acted(user.user_id)
        self.state.callbacks[query_id] = CallbackRecord(
            query_id, user.user_id, msg.message_id, data, time.monotonic()
        )
        update_id = self.state.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.as_user(),
                "message": self.message_dict(msg),
                "chat_instance": str(abs(hash((self.config.bot_id, user.user_id)))),
                "data": data,
            },
        )
        return {"callback_query_id": query_id, "data": data, "message_id": msg.message_id,
                "update_id": update_id}

    async def pay(self, user: UserRecord, msg: StoredMessage) -> dict[str, Any]:
        """Pay an invoice message: pre_checkout_query, the bot's answer, successful_payment."""
        if msg.kind != "invoice" or msg.invoice is None or msg.deleted:
            raise ControlError(400, f"message {msg.message_id} is not an invoice")
        terms = InvoiceTerms(
            title=msg.invoice["title"],
            description=msg.invoice["description"],
            payload=msg.invoice_payload or "",
            currency=msg.invoice["currency"],
            amount=msg.invoice["total_amount"],
        )
        return await self.checkout(user, terms, msg.message_id)

    async def pay_link(self, user: UserRecord, url: str) -> dict[str, Any]:
        """Pay an invoice link (createInvoiceLink): the same checkout as an invoice message."""
        match = INVOICE_LINK_RE.match(url.strip())
        if match is None:
            raise ControlError(400, f"{url!r} is not an invoice link (https://t.me/$...)")
        terms = self.state.invoice_links.get(match.group(1))
        if terms is None:
            raise ControlError(404, f"invoice link {url} not found")
        running = self._running_subscription(user.user_id, terms)
        if running is not None:
            # Unconfirmed: Telegram's app shows the running subscription instead of a new
            # payment form; the sandbox refuses a second one from the same link.
            raise ControlError(409, "already subscribed through this link",
                               subscription=running.view())
        return await self.checkout(user, terms, None)

    def _running_subscription(self, user_id: int, terms: InvoiceTerms
                              ) -> SubscriptionRecord | None:
        if not terms.subscription_period or terms.slug is None:
            return None
        return next((sub for sub in self.state.subscriptions.values()
                     if sub.user_id == user_id and sub.terms.slug == terms.slug
                     and not sub.ended), None)

    async def checkout(
        self, user: UserRecord, terms: InvoiceTerms, message_id: int | None
    ) -> dict[str, Any]:
        """pre_checkout_query, wait for the bot's answer, then charge (spec §4 flow)."""
        query_id = str(secrets.randbits(63))
        future: asyncio.Future[tuple[bool, str | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self.state.pre_checkouts[query_id] = PreCheckoutRecord(
            query_id, user.user_id, message_id, future
        )
        self.state.push_update(
            "pre_checkout_query",
            {
                "id": query_id,
                "from": user.as_user(),
                "currency": terms.currency,
                "total_amount": terms.amount,
                "invoice_payload": terms.payload,
            },
        )
        try:
            # §4: the bot must answer within 10 seconds.
            async with asyncio.timeout(self.config.pre_checkout_timeout):
                ok, error_message = await future
        except TimeoutError:
            self.state.pre_checkouts.pop(query_id, None)
            return {"ok": False, "error_message": "the bot did not answer the pre-checkout query"
                    " in time", "pre_checkout_query_id": query_id}
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            return {"ok": False, "error_message": "sandbox was reset"}
        if not ok:
            return {"ok": False, "error_message": error_message,
                    "pre_checkout_query_id": query_id}
        if self._running_subscription(user.user_id, terms) is not None:
            # A second payment of the same link that was approved while the first completed.
            return {"ok": False, "error_message": "already subscribed through this link",
                    "pre_checkout_query_id": query_id}
        now = self.clock.now()
        expires = now + terms.subscription_period if terms.subscription_period else None
        charge_id, paid, update_id = self.charge(user, terms, now, expires=expires, first=True)
        self.user_acted(user.user_id)
        result: dict[str, Any] = {"ok": True, "charge_id": charge_id,
                                  "message_id": paid.message_id, "update_id": update_id,
                                  "pre_checkout_query_id": query_id}
        if update_id is None:
            result["dropped"] = True
        if expires is not None:
            sub = SubscriptionRecord(user.user_id, terms, charge_id, expires, now, [charge_id])
            self.state.subscriptions[charge_id] = sub
            self.state.charge_subscription[charge_id] = charge_id
            result["subscription_expiration_date"] = expires
        return result

    def charge(
        self,
        user: UserRecord,
        terms: InvoiceTerms,
        date: int,
        *,
        expires: int | None = None,
        first: bool = True,
    ) -> tuple[str, StoredMessage, int | None]:
        """Take one payment: the charge, its incoming transaction and the successful_payment
        service message, delivered unless drop_payment_updates swallows it (update id None)."""
        charge_id = f"stxSANDBOX{secrets.token_urlsafe(18)}"
        payment: dict[str, Any] = {
            "currency": terms.currency,
            "total_amount": terms.amount,
            "invoice_payload": terms.payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": "",
        }
        if expires is not None:
            # §4: every payment of a subscription is recurring; the first says so.
            payment["subscription_expiration_date"] = expires
            payment["is_recurring"] = True
            payment["is_first_recurring"] = first
        self.state.charges[charge_id] = {"user_id": user.user_id, "refunded": False,
                                         "date": date, **payment}
        source: dict[str, Any] = {"type": "user", "transaction_type": "invoice_payment",
                                  "user": user.as_user(), "invoice_payload": terms.payload}
        if terms.subscription_period:
            source["subscription_period"] = terms.subscription_period
        # §4: an incoming payment's StarTransaction.id is its telegram_payment_charge_id.
        self.state.transactions.append({"id": charge_id, "amount": terms.amount, "date": date,
                                        "source": source})
        paid = self.state.new_message(user.user_id, False, date=date,
                                      kind="successful_payment", successful_payment=payment)
        if self.config.drop_payment_updates > 0:
            self.config.drop_payment_updates -= 1
            return charge_id, paid, None
        return charge_id, paid, self.state.push_update("message", self.message_dict(paid))

    # ----------------------------------------------------------------- subscriptions
    def subscription_of(self, user_id: int, charge_id: str) -> SubscriptionRecord | None:
        """The subscription one of whose payments has this charge id, if it is this user's."""
        key = self.state.charge_subscription.get(charge_id)
        sub = self.state.subscriptions.get(key) if key is not None else None
        return sub if sub is not None and sub.user_id == user_id else None

    def notify_subscription(self, sub: SubscriptionRecord, state: str) -> int | None:
        """Update.subscription (BotSubscriptionUpdated, Bot API 10.2), if switched on."""
        user = self.state.users.get(sub.user_id)
        if not self.config.subscription_updates or user is None:
            return None
        return self.state.push_update("subscription", {
            "user": user.as_user(), "invoice_payload": sub.terms.payload, "state": state,
        })

    def user_edits_subscription(
        self, user: UserRecord, charge_id: str, action: str
    ) -> dict[str, Any]:
        """The user cancels or re-enables renewal in Telegram's UI, or (a test's lever) makes
        the next renewal's payment fail."""
        sub = self.subscription_of(user.user_id, charge_id)
        if sub is None:
            raise ControlError(404, f"no subscription of user {user.user_id} has charge "
                                    f"{charge_id!r}")
        if sub.ended:
            raise ControlError(409, "the subscription has ended", subscription=sub.view())
        update_id: int | None = None
        if action == "cancel":
            if sub.canceled:
                raise ControlError(409, "the subscription is already canceled",
                                   subscription=sub.view())
            sub.canceled, sub.canceled_by = True, "user"
            update_id = self.notify_subscription(sub, "canceled")
        elif action == "resume":
            if not sub.canceled:
                raise ControlError(409, "the subscription is not canceled",
                                   subscription=sub.view())
            if sub.bot_canceled:
                # starsSubscription.bot_canceled: only the bot can allow it again.
                raise ControlError(409, "the bot canceled this subscription; the user can't "
                                        "re-enable it", subscription=sub.view())
            sub.canceled, sub.canceled_by = False, None
            update_id = self.notify_subscription(sub, "active")
        elif action == "fail_next":
            sub.fail_next = True
        else:
            raise ControlError(400, "action must be cancel, resume or fail_next")
        return {"ok": True, "subscription": sub.view(), "update_id": update_id}

    def process_due(self) -> list[dict[str, Any]]:
        """End every subscription period that is over by the clock, oldest first: renew it, or
        end the subscription (canceled, or its renewal failed). Catches up several periods."""
        now = self.clock.now()
        events: list[dict[str, Any]] = []
        while True:
            due = [s for s in self.state.subscriptions.values()
                   if not s.ended and s.expires_at <= now]
            if not due:
                return events
            events.append(self._period_ends(min(due, key=lambda s: s.expires_at)))

    def _period_ends(self, sub: SubscriptionRecord) -> dict[str, Any]:
        at = sub.expires_at
        event: dict[str, Any] = {"subscription": sub.first_charge_id, "at": at}
        user = self.state.users.get(sub.user_id)
        if sub.canceled or user is None:
            sub.ended = True
            return {**event, "event": "expired"}
        if sub.fail_next:
            sub.fail_next, sub.failed, sub.ended = False, True, True
            return {**event, "event": "failed",
                    "update_id": self.notify_subscription(sub, "failed")}
        period = sub.terms.subscription_period or 0
        # Renewals are charged without a pre_checkout_query, dated when the period ended.
        charge_id, _msg, update_id = self.charge(user, sub.terms, at, expires=at + period,
                                                 first=False)
        sub.charge_ids.append(charge_id)
        sub.expires_at = at + period
        self.state.charge_subscription[charge_id] = sub.first_charge_id
        return {**event, "event": "renewed", "charge_id": charge_id, "update_id": update_id,
                "expires_at": sub.expires_at}

    async def renewal_loop(self, interval: float = 0.5) -> None:
        """Process due renewals every `interval` seconds until the server closes."""
        while not self.closing:
            try:
                self.process_due()
            except Exception:  # a bug here must not stop renewals for the server's lifetime
                logging.getLogger(__name__).exception("processing due subscriptions failed")
            await asyncio.sleep(interval)

    def redeliver(self, update_id: int) -> int:
        """Push an earlier update's payload again, unchanged, under a new update_id (a webhook
        retry, or a second instance seeing it)."""
        logged = self.state.update_log.get(update_id)
        if logged is None:
            raise ControlError(404, f"no update {update_id} in the log")
        kind, payload = logged
        return self.state.push_update(kind, copy.deepcopy(payload))

    # ----------------------------------------------------------------- logs
    def log_request(
        self, method: str, params: dict[str, Any], error: BotApiError | None
    ) -> None:
        """Record a Bot API call, and a refusal if it failed."""
        now = time.time()
        entry: dict[str, Any] = {"method": method, "params": params, "time": now,
                                 "ok": error is None}
        if error is not None:
            entry["error_code"] = error.error_code
            entry["description"] = error.description
            chat_id = params.get("chat_id", params.get("user_id"))
            self.state.refusals.append({
                "method": method,
                "chat_id": _maybe_int(chat_id),
                "error_code": error.error_code,
                "description": error.description,
                "retry_after": error.retry_after,
                "time": now,
            })
        self.state.requests.append(entry)


def _maybe_int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def canonical(value: Any) -> str:
    """Stable JSON text for comparing markups and scopes."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
