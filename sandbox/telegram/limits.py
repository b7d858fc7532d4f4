"""Flood control for the sandbox Bot API server (spec §2.1).

Telegram does not publish its throttling algorithm; the sandbox uses two token buckets:
one per chat (a small burst, then about 1 message per second) and one per bot across all
chats (about 30 messages per second). A refused call consumes nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Bot API message limits (spec §1), in UTF-16 code units after entity parsing.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_TEXT = 200
MAX_INLINE_BUTTONS = 100
MAX_COMMANDS = 100
MAX_UPLOAD_PHOTO = 10 * 1024 * 1024
MAX_UPLOAD_OTHER = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
INVOICE_TITLE = (1, 32)
INVOICE_DESCRIPTION = (1, 255)
INVOICE_PAYLOAD_BYTES = (1, 128)

# Methods that put a message into a chat (spec §2.1 counts "messages").
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAudio",
        "sendAnimation",
        "sendVoice",
        "sendSticker",
        "sendInvoice",
        "sendMediaGroup",
        "sendLocation",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
    }
)
EDIT_METHODS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"}
)


@dataclass
class _Bucket:
    capacity: float
    rate: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last call."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self) -> float:
        """Seconds until one token is available."""
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass
class FloodControl:
    """Per-chat and global token buckets; `check` returns retry_after seconds or 0."""

    per_chat_burst: int = 3
    per_chat_rate: float = 1.0
    global_rate: float = 30.0
    global_burst: int = 30
    clock: Callable[[], float] = time.monotonic
    _chats: dict[int | str, _Bucket] = field(default_factory=dict)
    _global: _Bucket | None = None

    def reconfigure(
        self,
        per_chat_burst: int,
        per_chat_rate: float,
        global_rate: float,
        global_burst: int,
    ) -> None:
        """Apply new limits; existing buckets start over full."""
        self.per_chat_burst = per_chat_burst
        self.per_chat_rate = per_chat_rate
        self.global_rate = global_rate
        self.global_burst = global_burst
        self.reset()

    def reset(self) -> None:
        """Forget every bucket."""
        self._chats.clear()
        self._global = None

    def refill_chat(self, chat_id: int | str) -> None:
        """Fill the chat's bucket to its burst (used when the user acts in the chat)."""
        self._chats.pop(chat_id, None)

    def check(self, chat_id: int | str) -> int:
        """Take one token for chat_id; return 0 if allowed, else whole seconds to wait (>= 1)."""
        now = self.clock()
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Bucket(self.per_chat_burst, self.per_chat_rate, self.per_chat_burst, now)
            self._chats[chat_id] = chat
        if self._global is None:
            self._global = _Bucket(self.global_burst, self.global_rate, self.global_burst, now)
        chat.refill(now)
        self._global.refill(now)
        wait = max(chat.wait_time(), self._global.wait_time())
        if wait > 0:
            # Telegram always answers with a whole number of seconds, at least 1 (§2.2).
            return max(1, math.ceil(wait))
        chat.tokens -= 1.0
        self._global.tokens -= 1.0
        return 0
