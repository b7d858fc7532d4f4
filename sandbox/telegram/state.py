"""In-memory state of the sandbox Telegram server: config, users, chats, files, updates."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOKEN = "123456789:SANDBOX-TOKEN"
DEFAULT_BOT_USERNAME = "ttpulse_sandbox_bot"

# getUpdates default when allowed_updates is empty (Bot API: all but these three).
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class SandboxConfig:
    """Knobs of the sandbox server; the flood and timeout ones can change at run time."""

    token: str = DEFAULT_TOKEN
    bot_username: str = DEFAULT_BOT_USERNAME
    bot_first_name: str = "TTPulse Sandbox"
    flood_enabled: bool = True
    per_chat_burst: int = 3
    per_chat_rate: float = 1.0
    global_rate: float = 30.0
    global_burst: int | None = None  # None: one second's worth of global_rate
    count_edits: bool = True
    # Each user action (message, button press, payment) refills that chat's burst: the
    # sandbox user acts at machine speed, and replying to a user is not what §2.1 throttles.
    user_action_refills: bool = True
    strict_html_attributes: bool = True
    callback_answer_timeout: float = 15.0
    pre_checkout_timeout: float = 10.0
    log_limit: int = 20000

    @property
    def bot_id(self) -> int:
        """Telegram's bot id is the number before ':' in the token (spec §5.3)."""
        return int(self.token.split(":", 1)[0])

    # Names accepted by POST /_sandbox/config and start_server(**knobs).
    RUNTIME_KNOBS = (
        "flood_enabled",
        "per_chat_burst",
        "per_chat_rate",
        "global_rate",
        "global_burst",
        "count_edits",
        "user_action_refills",
        "strict_html_attributes",
        "callback_answer_timeout",
        "pre_checkout_timeout",
    )


@dataclass
class UserRecord:
    """A simulated Telegram user; the private chat id equals the user id."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    blocked: bool = False
    started: bool = True

    def as_user(self) -> dict[str, Any]:
        """Bot API User object."""
        data: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def as_chat(self) -> dict[str, Any]:
        """Bot API Chat object of the private chat with this user."""
        data: dict[str, Any] = {
            "id": self.user_id,
            "type": "private",
            "first_name": self.first_name,
        }
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class StoredFile:
    """A file known to the server (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    # What Telegram reports as file_size when a test sends a stand-in for a big file (see
    # control.post_send_file); None: the size of `content`.
    declared_size: int | None = None

    @property
    def size(self) -> int:
        """Size in bytes (as declared, for a stand-in)."""
        return len(self.content) if self.declared_size is None else self.declared_size


@dataclass
class StoredMessage:
    """One message of a private chat, in either direction."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    kind: str = "text"
    text: str | None = None  # plain text (or caption) after parsing
    html: str | None = None  # raw text or caption exactly as sent
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    media: dict[str, Any] | list[dict[str, Any]] | None = None
    invoice: dict[str, Any] | None = None
    invoice_payload: str | None = None
    successful_payment: dict[str, Any] | None = None
    refunded_payment: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edit_count: int = 0
    edit_date: int | None = None
    deleted: bool = False
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallbackRecord:
    """A callback query sent to the bot, and whether it was answered."""

    query_id: str
    user_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False


@dataclass
class PreCheckoutRecord:
    """A pre-checkout query waiting for answerPreCheckoutQuery."""

    query_id: str
    user_id: int
    message_id: int
    future: asyncio.Future[tuple[bool, str | None]]


class SandboxState:
    """Everything the server remembers; `reset` forgets all of it except config and ids."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._update_ids = itertools.count(1)
        self._seq = itertools.count(1)
        self.update_event = asyncio.Event()
        self.poll_generation = 0
        self.reset()

    def reset(self) -> None:
        """Forget users, chats, files, updates and logs (update ids keep growing)."""
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, list[StoredMessage]] = {}
        self.next_message_id: dict[int, int] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates: list[str] = []
        self.callbacks: dict[str, CallbackRecord] = {}
        self.callback_answers: dict[int, list[dict[str, Any]]] = {}
        self.pre_checkouts: dict[str, PreCheckoutRecord] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], dict[str, Any]] = {}
        self.bot_texts: dict[str, dict[str, str]] = {}
        self.chat_actions: dict[int, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        self.requests: deque[dict[str, Any]] = deque(maxlen=self.config.log_limit)
        self.refusals: deque[dict[str, Any]] = deque(maxlen=self.config.log_limit)
        self.seq = 0

    def next_seq(self) -> int:
        """Global change counter: every new or changed message takes the next value."""
        self.seq = next(self._seq)
        return self.seq

    def ensure_user(self, user_id: int, **fields: Any) -> UserRecord:
        """Create the user (or update the given fields) and return it."""
        user = self.users.get(user_id)
        if user is None:
            user = UserRecord(user_id=user_id, first_name=fields.pop("first_name", None) or "User")
            self.users[user_id] = user
            self.chats[user_id] = []
        for key, value in fields.items():
            if value is not None:
                setattr(user, key, value)
        return user

    def new_message(self, chat_id: int, from_bot: bool, **fields: Any) -> StoredMessage:
        """Append a message to the chat with the next message id."""
        message_id = self.next_message_id.get(chat_id, 0) + 1
        self.next_message_id[chat_id] = message_id
        msg = StoredMessage(
            message_id=message_id,
            chat_id=chat_id,
            from_bot=from_bot,
            date=int(time.time()),
            seq=self.next_seq(),
            **fields,
        )
        self.chats.setdefault(chat_id, []).append(msg)
        return msg

    def find_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        """The message with that id in that chat, deleted or not."""
        for msg in self.chats.get(chat_id, []):
            if msg.message_id == message_id:
                return msg
        return None

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an update for getUpdates / the webhook and wake waiting pollers."""
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, kind: payload})
        self.wake()
        return update_id

    def wake(self) -> None:
        """Wake every waiting long poll (each waits on the event it saw when it started)."""
        self.update_event.set()
        self.update_event = asyncio.Event()

    def new_file(
        self,
        kind: str,
        content: bytes,
        file_name: str | None,
        mime_type: str | None,
        extension: str,
    ) -> StoredFile:
        """Store file bytes under a fresh file_id and file_path."""
        file_id = f"{_FILE_PREFIX.get(kind, 'BQAC')}{secrets.token_urlsafe(24)}"
        unique = f"AQAD{secrets.token_urlsafe(8)}"
        folder = {"photo": "photos", "video": "videos"}.get(kind, "documents")
        path = f"{folder}/file_{len(self.files_by_path)}{extension}"
        stored = StoredFile(file_id, unique, kind, content, path, file_name, mime_type)
        self.files[file_id] = stored
        self.files_by_path[path] = stored
        return stored


_FILE_PREFIX = {"photo": "AgAC", "video": "BAAC", "document": "BQAC"}
