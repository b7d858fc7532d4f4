"""In-memory state of the sandbox Telegram server: config, users, chats, files, updates."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
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
    # A file holding a clock offset in seconds (the service's CLOCK_OFFSET_FILE), see clock.py.
    clock_offset_file: str | None = None
    # Where users, chats, files and Stars payments are kept across restarts (None: in memory
    # only). The offline demo sets it, as Telegram remembers them when the service restarts.
    state_file: str | None = None
    # Update.subscription (BotSubscriptionUpdated) came with Bot API 10.2 (spec §4); off, the
    # sandbox behaves like a server from before it (aiogram < 3.30 can't parse it).
    subscription_updates: bool = True
    # The docs do not say that refundStarPayment stops a subscription's renewals; on, a refund
    # of any of its charges cancels renewal as editUserStarSubscription(is_canceled) would.
    refund_cancels_subscription: bool = False
    # The docs do not promise an order for getStarTransactions: "newest_first" or
    # "oldest_first", so a client can be tested against both.
    star_transactions_order: str = "newest_first"
    # The next N successful_payment updates are charged and listed by getStarTransactions but
    # never delivered (a lost update, for reconciliation tests); counts down as it drops.
    drop_payment_updates: int = 0
    # editUserStarSubscription accepts the charge id of any payment of the subscription
    # (unconfirmed: MTProto's payments.botCancelStarsSubscription documents the first one);
    # off, only the first payment's charge id is accepted.
    subscription_edit_any_charge: bool = True
    # Webhook delivery (spec §5.2; issue 15). One chat's updates go one at a time, the next only
    # after the previous was answered 2xx, as tdlib/telegram-bot-api's WebhookActor queues them
    # by chat (the spec does not say so, hence a knob); other chats' in parallel up to
    # setWebhook's max_connections.
    webhook_chat_order: bool = True
    # Seconds before the first retry of a failed delivery (non-2xx, refused, timed out); it
    # doubles per failure of the same update, up to webhook_retry_max (Telegram's own server:
    # up to 60-120 s). A Retry-After header on the failed answer is honoured instead.
    webhook_retry_base: float = 0.5
    webhook_retry_max: float = 8.0
    # Seconds a delivery may take before it counts as failed (Telegram waits about a minute).
    webhook_timeout: float = 30.0
    # The next N updates delivered are delivered once more after their first 2xx answer, as
    # Telegram does when an answer came too late for it; counts down as it repeats.
    webhook_duplicates: int = 0

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
        "subscription_updates",
        "refund_cancels_subscription",
        "star_transactions_order",
        "drop_payment_updates",
        "subscription_edit_any_charge",
        "webhook_chat_order",
        "webhook_retry_base",
        "webhook_retry_max",
        "webhook_timeout",
        "webhook_duplicates",
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
    message_id: int | None  # None: paid through an invoice link
    future: asyncio.Future[tuple[bool, str | None]]


# Spec §4: the only subscription period Telegram accepts (30 days), and the price cap.
SUBSCRIPTION_PERIOD = 2592000
MAX_SUBSCRIPTION_STARS = 10000


@dataclass
class InvoiceTerms:
    """What a user pays: an invoice message's or an invoice link's terms (spec §4)."""

    title: str
    description: str
    payload: str
    currency: str
    amount: int
    subscription_period: int | None = None
    slug: str | None = None  # set for invoice links


@dataclass
class SubscriptionRecord:
    """A Stars subscription bought through a subscription invoice link (spec §4)."""

    user_id: int
    terms: InvoiceTerms
    first_charge_id: str
    expires_at: int  # end of the current period (unix, sandbox clock)
    started_at: int
    charge_ids: list[str] = field(default_factory=list)
    canceled: bool = False
    canceled_by: str | None = None  # "user", "bot" or "refund"
    # Telegram's starsSubscription.bot_canceled: the user can't re-enable it until the bot
    # allows it again (editUserStarSubscription with is_canceled=false).
    bot_canceled: bool = False
    fail_next: bool = False
    failed: bool = False
    ended: bool = False

    @property
    def state(self) -> str:
        """active, canceled (renewal off, period still running) or expired."""
        if self.ended:
            return "expired"
        return "canceled" if self.canceled else "active"

    def view(self) -> dict[str, Any]:
        """The control API's view of the subscription."""
        return {
            "first_charge_id": self.first_charge_id,
            "charge_ids": list(self.charge_ids),
            "user_id": self.user_id,
            "title": self.terms.title,
            "invoice_payload": self.terms.payload,
            "amount": self.terms.amount,
            "period": self.terms.subscription_period,
            "link": f"https://t.me/${self.terms.slug}" if self.terms.slug else None,
            "started_at": self.started_at,
            "expires_at": self.expires_at,
            "state": self.state,
            "canceled": self.canceled,
            "canceled_by": self.canceled_by,
            "bot_canceled": self.bot_canceled,
            "fail_next": self.fail_next,
            "failed": self.failed,
        }


class SandboxState:
    """Everything the server remembers; `reset` forgets all of it except config and ids."""

    def __init__(self, config: SandboxConfig, now: Callable[[], int]) -> None:
        self.config = config
        self.now = now  # the sandbox clock (clock.py): message dates follow it
        self._update_ids = itertools.count(1)
        self._seq = itertools.count(1)
        self.update_event = asyncio.Event()
        self.poll_generation = 0
        self.last_update_id = 0
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
        self.invoice_links: dict[str, InvoiceTerms] = {}
        # Keyed by the first payment's charge id; charge_subscription maps every charge id.
        self.subscriptions: dict[str, SubscriptionRecord] = {}
        self.charge_subscription: dict[str, str] = {}
        # getStarTransactions: StarTransaction objects, in the order they happened.
        self.transactions: list[dict[str, Any]] = []
        # Every update pushed (for /_sandbox/redeliver), the newest log_limit of them.
        self.update_log: OrderedDict[int, tuple[str, dict[str, Any]]] = OrderedDict()
        self.commands: dict[tuple[str, str], dict[str, Any]] = {}
        self.bot_texts: dict[str, dict[str, str]] = {}
        # setChatMenuButton: per chat id, 0 for the default of every private chat.
        self.menu_buttons: dict[int, dict[str, Any]] = {}
        self.chat_actions: dict[int, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        # Webhook delivery bookkeeping: update_id -> (failed attempts, monotonic retry time),
        # the ids being POSTed now, and every attempt made (for tests and /_sandbox/webhook).
        self.webhook_retry: dict[int, tuple[int, float]] = {}
        self.webhook_in_flight: set[int] = set()
        self.webhook_deliveries: deque[dict[str, Any]] = deque(maxlen=self.config.log_limit)
        self.requests: deque[dict[str, Any]] = deque(maxlen=self.config.log_limit)
        self.refusals: deque[dict[str, Any]] = deque(maxlen=self.config.log_limit)
        self.seq = 0

    # What `kept()` saves and `take_up()` restores: what Telegram itself would still know.
    # Pending updates, callbacks, webhooks and the logs are left out.
    KEPT = (
        "users", "chats", "next_message_id", "files", "files_by_path", "charges",
        "invoice_links", "subscriptions", "charge_subscription", "transactions", "commands",
        "bot_texts", "menu_buttons",
    )

    def kept(self) -> dict[str, Any]:
        """What outlives a restart, with the id counters to go on from."""
        return {
            **{name: getattr(self, name) for name in self.KEPT},
            "update_id": self.last_update_id,
            "seq": self.seq,
        }

    def changes(self) -> tuple[object, ...]:
        """What moves when anything `kept()` saves changes (cheap to compare)."""
        subscriptions = tuple(
            (k, v.expires_at, v.canceled, v.bot_canceled, v.fail_next, v.ended)
            for k, v in self.subscriptions.items()
        )
        return (
            self.seq, self.last_update_id, len(self.files), len(self.charges),
            len(self.transactions), len(self.invoice_links), len(self.users), subscriptions,
            repr(self.commands), repr(self.bot_texts), repr(self.menu_buttons),
        )

    def take_up(self, saved: dict[str, Any]) -> None:
        """Restore what `kept()` gave; update ids and message changes go on counting."""
        for name in self.KEPT:
            setattr(self, name, saved[name])
        self.last_update_id, self.seq = saved["update_id"], saved["seq"]
        self._update_ids = itertools.count(self.last_update_id + 1)
        self._seq = itertools.count(self.seq + 1)

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

    def new_message(
        self, chat_id: int, from_bot: bool, date: int | None = None, **fields: Any
    ) -> StoredMessage:
        """Append a message to the chat with the next message id (dated now by default)."""
        message_id = self.next_message_id.get(chat_id, 0) + 1
        self.next_message_id[chat_id] = message_id
        msg = StoredMessage(
            message_id=message_id,
            chat_id=chat_id,
            from_bot=from_bot,
            date=self.now() if date is None else date,
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
        update_id = self.last_update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, kind: payload})
        self.update_log[update_id] = (kind, payload)
        while len(self.update_log) > self.config.log_limit:
            self.update_log.popitem(last=False)
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
