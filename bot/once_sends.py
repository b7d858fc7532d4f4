"""What an update's handler sent is not sent again when the update is handled a second time.

Behind a webhook an update is handled before it is answered (bot/webhook.py), so an instance
killed in the middle of a handler leaves the update to Telegram's retry, and another instance
handles it again once the claim lapses. Whatever the first handling had already sent (a reply,
an approval) would then reach the chat twice. Here every message-sending call made while an
update is handled is numbered, and its result is kept in Redis for a while (shared by the
instances); a second handling that makes the same call (the same method, chat and text at the
same place in the sequence) gets the kept result instead of sending again. A handler that takes
another path the second time (its first run changed the state) sends what it sends.

A send is marked before it is made. A second handling that finds the mark without a result
(the first was killed while the send was on its way, or is still making it) cannot know
whether the chat got the message: it does not send it again and stops there (SendInDoubt).
In that window a reply can be lost rather than doubled; the user asks again, where a doubled
approval or alert is what this module exists to prevent.

Only sends are numbered: edits and callback answers repeat harmlessly (Telegram answers "not
modified" or "query is too old", which bot/screens.py and bot/late_answers.py take as done).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from pydantic import TypeAdapter

log = logging.getLogger(__name__)
# A second handling comes after the first one's claim lapsed (WEBHOOK_CLAIM_SECONDS) and
# Telegram's next retry: minutes, not hours. Results are kept this long (at Telegram's 30
# messages a second, about 27,000 small JSON documents at most).
KEEP_SECONDS = 900
_NOT_SENDS = frozenset({"sendChatAction"})
_PENDING = "pending"  # a send's mark until its result is kept


class SendInDoubt(Exception):
    """An earlier handling of this update was cut off in the middle of this same send.

    The message may have reached the chat, and Telegram has no way to ask, so it is not sent
    again: this handling stops here, quietly (bot/errors.py)."""


@dataclass
class _Handling:
    update_id: int
    sends: int = 0


_current: ContextVar[_Handling | None] = ContextVar("ttpulse_handling", default=None)


@contextlib.contextmanager
def handling(update_id: int) -> Iterator[None]:
    """Number the sends made (in this task and the ones it starts) while `update_id` is handled."""
    token = _current.set(_Handling(update_id))
    try:
        yield
    finally:
        _current.reset(token)


def is_send(method: TelegramMethod[Any]) -> bool:
    """Whether the call makes a new message (a chat action does not)."""
    name = method.__api_method__
    return (name.startswith("send") and name not in _NOT_SENDS) or name.startswith(
        ("copyMessage", "forwardMessage")
    )


def _fingerprint(method: TelegramMethod[Any]) -> str:
    """The method, its chat and its text or caption: what makes two sends the same send."""
    parts = (
        method.__api_method__,
        str(getattr(method, "chat_id", "")),
        str(getattr(method, "text", None) or getattr(method, "caption", None) or ""),
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@lru_cache(maxsize=64)
def _adapter(returning: Any) -> TypeAdapter[Any]:
    return TypeAdapter(returning)


class OnceSends(BaseRequestMiddleware):
    """Sends of an update already made by an earlier handling of it return the kept result."""

    def __init__(self, redis: Any, bot_id: int, prefix: str = "ttpulse:sent") -> None:
        self.redis = redis
        self.prefix = f"{prefix}:{bot_id}"

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Send, or hand back what the same send of an earlier handling got."""
        current = _current.get()
        if current is None or not is_send(method):
            return await make_request(bot, method)
        key = f"{self.prefix}:{current.update_id}:{current.sends}:{_fingerprint(method)}"
        current.sends += 1
        adapter = _adapter(method.__returning__)
        try:
            # The send is marked before it is made: a handling killed between Telegram taking
            # the message and the result being kept leaves the mark, not nothing.
            fresh = await self.redis.set(key, _PENDING, nx=True, ex=KEEP_SECONDS)
            kept = None if fresh else await self.redis.get(key)
        except Exception as exc:  # Redis down: send (a repeat is better than a loss)
            log.warning("once_sends.redis_unavailable", extra={"error": repr(exc)})
            fresh, kept = True, None
        if not fresh and kept is not None:
            if kept in (_PENDING, _PENDING.encode()):
                log.warning("once_sends.in_doubt", extra={"update_id": current.update_id})
                raise SendInDoubt(current.update_id)
            log.info("once_sends.repeat_skipped", extra={"update_id": current.update_id})
            # The same objects the Bot API's answer gives, bound to the bot (aiogram reads
            # "bot" from the validation context, as its session does with each answer).
            return adapter.validate_json(kept, context={"bot": bot})  # type: ignore[no-any-return]
        try:
            result = await make_request(bot, method)
        except Exception:
            # Refused (a 429 the pacing outside retries, or an error this handling goes on
            # with): the attempt is not a send, and does not take a place in the sequence.
            current.sends -= 1
            with contextlib.suppress(Exception):
                await self.redis.delete(key)
            raise
        try:
            await self.redis.set(key, adapter.dump_json(result, exclude_none=True), ex=KEEP_SECONDS)
        except Exception as exc:
            log.warning("once_sends.redis_unavailable", extra={"error": repr(exc)})
        return result
