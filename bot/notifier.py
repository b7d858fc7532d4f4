"""The notifier: delivers queued alerts (the outbox) within Telegram's limits, exactly once.

Each alert is written to the outbox first (in the same transaction as the event), then leased
here, rendered in the owner's language at delivery time, sent, and marked sent. A 429 waits the
`retry_after` Telegram asked for (telegram-bot-platform.md §2.3), a 5xx or network error backs
off. A 403 (the user blocked the bot) marks the user blocked: their alerts wait, unsent and not
tried again one by one, until they come back (core.users.mark_returned). Nothing is dropped
silently, and one event is one message — except that one tick's rule alerts to a chat are
delivered together as one digest (`absorb`, see core.rules.engine's Tick).

**Exactly once across a crash.** Sending and recording are two systems, so a crash between
Telegram accepting a sendMessage and our commit of `sent_at` would, with a plain lease, send the
alert again once the lease expires. So:

1. `sending_at` is committed just before each send (conditionally on our lease still holding,
   which also renews it for the send), and the send's answer is stored as `sent_at` plus
   `tg_message_id`. A refusal (429, 400, 403) clears `sending_at` again: nothing was delivered.
2. A leased row that already has `sending_at` but no `sent_at` is *in doubt*: a previous attempt
   may have delivered it. Before sending it again we look for it. Every message the bot makes in
   a private chat is recorded with its id, when it was asked for and answered, and the alert it
   delivered (bot/sent_ledger.py, the `sent_messages` table). If the previous attempt lived to
   record its message, that is the copy. Otherwise, in a private chat message ids are
   sequential, so the copy, if any, has an id above the last message known to be older than the
   in-doubt send, and below the first one made after that attempt's lease ended. We walk those
   ids, skipping every message the bot is known to have made (replies, other alerts: never
   edited), and probe each other id, up to `PROBE_WINDOW` of them, with `editMessageText`
   carrying exactly the text and reply markup we would send. Telegram's answers (§2.2, §2.4):
   - "message is not modified" — only for the bot's own message with identical content: that is
     our copy; mark the row sent with that id, send nothing.
   - "message to edit not found" — the id does not exist (yet): no copy; stop and send.
   - "message can't be edited" (a user's message), "there is no text in the message to edit"
     (a photo): not ours; try the next id.
   - the edit succeeds: our copy, rendered differently then (the user switched language, the
     subject changed); it now shows the current text, so it is not sent again.
   Probes are paced like any message call (bot/pacing.py); a refused edit costs the chat nothing.
3. Within one chat alerts go out one after another, in order, and different chats are served
   concurrently, so the global rate is what binds.

Limits, chosen knowingly: a probe can't tell "not found yet" from a message the user deleted,
so a user deleting a message inside the window during a crash can still cause a resend; and a
bot message whose sender died before recording it (a reply on its way at the crash), or that
another instance is recording at the very moment of the probe, is not known, so the probe would
edit it into the alert text (logged as `notify.probe_overwrote`; the alert is then that
message). Both need a crash inside a sub-second window plus user activity in the same chat at
that moment. Render is deterministic, so the re-rendered text matches the first send unless
the subject changed meanwhile (then the copy is edited to the new text: the user sees current
information, once).

Leases: a row waits at most a few seconds in this process before its send starts; the send
renews the lease to `OUTBOX_LEASE_SECONDS` (2 min), longer than its worst case (`SEND_TIMEOUT`
per attempt plus the pacer's bounded waits), so no other instance can take an in-flight row
over. After a crash, the dead process's rows are retried once their leases expire.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.sent_ledger import delivering
from bot.views import alerts as view
from core.billing.account import SUPERSEDE_KIND
from core.billing.plans import PlanBook
from core.clock import Clock
from core.users import mark_blocked
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
PROBE_WINDOW = 20  # ids probed (edited) at most; the bot's own known messages are skipped free
# Instances' clocks may differ this much (bot/sent_ledger.py's times against `sending_at`).
CLOCK_SKEW = timedelta(seconds=2)
SEND_TIMEOUT = 20  # seconds per Bot API call (aiogram's default is 60): keeps a send inside LEASE
WINDOW = 100  # alerts in hand at once (one per chat): enough chats for ~30/s at 1/s per chat
CLAIM_PAUSE = 0.25  # seconds between claims that came back short


class _Refused(Exception):
    """Telegram answered the send itself with a refusal, so nothing was delivered."""


class Notifier:
    """Delivers due outbox messages; `tick()` is called by the scheduler."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        bot: Bot,
        i18n: I18n,
        *,
        window: int = WINDOW,
        plans: PlanBook | None = None,
        lease: timedelta = LEASE,
        pin: bool = True,
    ) -> None:
        self._uow, self._clock, self._bot, self._i18n = uow, clock, bot, i18n
        self._window = window
        # A send must end inside its lease, or another instance could take the row over while
        # it is still on its way (OUTBOX_LEASE_SECONDS shorter than 2 × SEND_TIMEOUT).
        self._lease = lease
        self._send_timeout = min(SEND_TIMEOUT, lease.total_seconds() / 2)
        self._plans = plans  # plan names in billing messages (built-in plans without it)
        self._pin = pin  # comment cards offer Pin (off: Settings.tiktok_comment_pin "off")

    async def tick(self, limit: int | None = None) -> int:
        """Send everything due (concurrently across chats, in order within one); returns sent."""
        window = limit or self._window
        loop = asyncio.get_running_loop()
        running: dict[int, asyncio.Task[bool]] = {}
        sent, last_claim = 0, -CLAIM_PAUSE
        try:
            while True:
                room = window - len(running)
                # Claim in batches: when half the window is free, or a short pause has passed.
                if room >= max(1, window // 2) or (
                    room > 0 and loop.time() - last_claim >= CLAIM_PAUSE
                ):
                    last_claim = loop.time()
                    for message in await self._claim(room, set(running)):
                        running[message.user_id] = asyncio.create_task(self._deliver(message))
                if not running:
                    return sent
                done, _ = await asyncio.wait(
                    running.values(),
                    timeout=CLAIM_PAUSE if len(running) < window else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for user_id in [u for u, t in running.items() if t in done]:
                    sent += await self._result(running.pop(user_id))
        finally:
            for task in running.values():
                task.cancel()

    async def _claim(self, room: int, busy: set[int]) -> list[OutboxMessage]:
        """Lease up to `room` due alerts, at most one per chat, none for chats already busy."""
        now = self._clock.now()
        async with self._uow() as u:
            batch = await u.outbox.claim(
                now, now + self._lease, room, one_per_user=True, skip_users=busy
            )
            await u.commit()
        return batch

    @staticmethod
    async def _result(task: asyncio.Task[bool]) -> int:
        """1 if the task delivered its alert; a bug in one delivery does not stop the others."""
        try:
            return int(await task)
        except Exception:  # the row's lease expires and it is retried later
            log.exception("notify.delivery_crashed")
            return 0

    async def _render(
        self, message: OutboxMessage, params: dict[str, object]
    ) -> view.Screen | None:
        """The alert's text and keyboard in the owner's language, or None if nothing to say."""
        async with self._uow() as u:
            user = await u.users.get(message.user_id)
            if user is None:
                return None
            with self._i18n.context(), self._i18n.use_locale(user.language):
                return await view.render(
                    u,
                    message.kind,
                    message.user_id,
                    params,
                    self._clock.now(),
                    outbox_id=message.id,
                    catalogue=self._plans.current() if self._plans is not None else None,
                    pin=self._pin,
                )

    async def _deliver(self, message: OutboxMessage) -> bool:
        """Check an in-doubt alert, send it if needed, and record the outcome; True if sent."""
        lease = message.lease_until
        in_doubt = message.sending_at if message.sent_at is None else None
        now = self._clock.now()
        assert lease is not None
        async with self._uow() as u:
            mine = await u.outbox.mark_sending(message.id, lease, now, now + self._lease)
            if mine:
                # One tick's rule alerts to this chat go out as this one digest: the set is
                # fixed here, before the send, under our lease (core.rules.engine, Tick).
                await u.outbox.absorb(message, now)
            await u.commit()
        if not mine:
            return False  # the lease ran out and another instance has the row now
        outcome: dict[str, object]
        try:
            params = dict(message.params)
            if message.kind == SUPERSEDE_KIND:
                params["refused"] = await self._stop_renewal(message)
            screen = await self._render(message, params)
            if screen is None:
                outcome = {"failed_at": now, "error": "nothing to send (user or object gone)"}
            else:
                text, markup = screen
                found = None
                if in_doubt is not None:
                    found = await self._probe(message, in_doubt, text, markup)
                    if found is not None:
                        log.info(
                            "notify.already_delivered",
                            extra={"outbox_id": message.id, "message_id": found},
                        )
                if found is None:
                    with delivering(message.id):
                        found = await self._send(message.user_id, text, markup)
                outcome = {"sent_at": self._clock.now(), "tg_message_id": found}
        except _Refused as refused:
            outcome = {**self._failure(message, refused.__cause__, now), "not_delivered": True}
        except (
            TelegramRetryAfter,
            TelegramServerError,
            TelegramNetworkError,
            TelegramForbiddenError,
            TelegramBadRequest,
        ) as exc:
            outcome = self._failure(message, exc, now)
        blocked = outcome.pop("blocked", False)
        async with self._uow() as u:
            await u.outbox.settle(message.id, **outcome)  # type: ignore[arg-type]
            await u.commit()
        if blocked:
            await mark_blocked(self._uow, self._clock, message.user_id)
            log.info("notify.user_blocked", extra={"outbox_id": message.id})
        if "failed_at" in outcome:
            log.warning(
                "notify.given_up",
                extra={"outbox_id": message.id, "error": str(outcome.get("error"))},
            )
        return outcome.get("sent_at") is not None

    async def _stop_renewal(self, message: OutboxMessage) -> str | None:
        """editUserStarSubscription(is_canceled) for a subscription a new one replaced: None when
        Telegram agreed, else its refusal (the message then tells the user how to stop it).
        Timeouts and 429s raise, so the row is retried; cancelling again is harmless."""
        try:
            ok = await self._bot.edit_user_star_subscription(
                message.user_id, str(message.params["charge_id"]), is_canceled=True,
                request_timeout=SEND_TIMEOUT,
            )
        except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError):
            raise
        except TelegramAPIError as exc:
            log.error("billing.subscription_superseded_refused",
                      extra={"user_id": message.user_id, "error": exc.message})
            return exc.message
        log.info("billing.subscription_superseded", extra={"user_id": message.user_id})
        return None if ok else "False"

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> int:
        """sendMessage; a refusal (nothing delivered) is raised as `_Refused`."""
        try:
            sent = await self._bot.send_message(
                chat_id, text, reply_markup=markup, request_timeout=self._send_timeout
            )
        except (TelegramRetryAfter, TelegramForbiddenError, TelegramBadRequest) as exc:
            raise _Refused() from exc
        return sent.message_id

    def _failure(
        self, message: OutboxMessage, exc: BaseException | None, now: datetime
    ) -> dict[str, object]:
        """How to settle a failed attempt: retry after a 429 or a back-off, hold it for a user
        who blocked the bot, or give up."""
        if isinstance(exc, TelegramRetryAfter):
            return {"retry_at": now + timedelta(seconds=exc.retry_after), "error": "429"}
        error = getattr(exc, "message", None) or repr(exc)
        if isinstance(exc, TelegramForbiddenError):
            return {"error": error, "blocked": True}  # waits for the user's return
        if isinstance(exc, (TelegramServerError, TelegramNetworkError)):
            # The outcome is unknown: sending_at stays, so the next attempt checks first.
            if message.attempts >= MAX_ATTEMPTS:
                return {"failed_at": now, "error": error}
            backoff = timedelta(seconds=min(600, 5 * 2 ** min(message.attempts, 7)))
            return {"retry_at": now + backoff, "error": error}
        return {"failed_at": now, "error": error}

    async def _probe(
        self,
        message: OutboxMessage,
        since: datetime,
        text: str,
        markup: InlineKeyboardMarkup | None,
    ) -> int | None:
        """The id of an earlier delivered copy of this alert in its chat, or None if there is none.

        Walks the chat's ids from the last message known to be older than the in-doubt send,
        skipping every message the bot is known to have made (bot/sent_ledger.py), up to the first
        one made after the send's lease ended; each unknown id is probed with an edit to exactly
        the same content (see the module docstring for the answers).
        """
        chat_id = message.user_id
        made_by = since + self._lease + CLOCK_SKEW  # no copy was made later than this
        async with self._uow() as u:
            recorded = await u.sent.of_alert(chat_id, message.id)
            if recorded is not None:
                return recorded  # its sender recorded the message, then died before settling
            anchor = max(
                await u.outbox.last_message_id(chat_id, since) or 0,
                await u.sent.last_before(chat_id, since) or 0,
            )
            ours = await u.outbox.message_ids_above(chat_id, anchor)
            ours |= await u.sent.ids_above(chat_id, anchor)
            stop = await u.sent.first_after(chat_id, made_by)
        message_id, probed = anchor, 0
        while probed < PROBE_WINDOW:
            message_id += 1
            if stop is not None and message_id >= stop:
                return None  # made after any copy could have been: there is none
            if message_id in ours:
                continue  # the bot's own message (a reply, another alert): never edit it
            probed += 1
            try:
                await self._bot.edit_message_text(
                    text=text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=markup,
                    request_timeout=self._send_timeout,
                )
            except TelegramBadRequest as exc:
                reason = exc.message.lower()
                if "message is not modified" in reason:
                    return message_id  # the bot's own message with identical content: ours
                if "message to edit not found" in reason:
                    return None  # nothing at this id yet: the alert never arrived
                continue  # "message can't be edited" (the user's) or not a text message
            # The edit took: an unknown bot message of this window is, all but surely, our copy
            # rendered differently then (language, an approval's state); it says the alert now,
            # so sending it again would show it twice.
            log.warning(
                "notify.probe_overwrote", extra={"outbox_id": message.id, "message_id": message_id}
            )
            return message_id
        log.warning(
            "notify.probe_window_exhausted", extra={"outbox_id": message.id, "from_id": anchor + 1}
        )
        return None
