"""Async test driver for the sandbox Telegram server: act as users, wait for the bot."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class SandboxError(RuntimeError):
    """The control API refused a request."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        extra = {k: v for k, v in body.items() if k not in ("ok", "error", "seq")}
        detail = f" {extra}" if extra else ""
        super().__init__(f"sandbox control API {status}: {body.get('error', body)}{detail}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Button:
    """One inline keyboard button."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    pay: bool = False
    web_app: str | None = None  # a Mini App button's URL
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Button:
        """Build from the server's JSON."""
        return cls(
            text=str(data.get("text", "")),
            callback_data=data.get("callback_data"),
            url=data.get("url"),
            pay=bool(data.get("pay", False)),
            web_app=(data.get("web_app") or {}).get("url"),
            raw=data,
        )


@dataclass(frozen=True)
class MessageView:
    """A message of the chat as the sandbox sees it (`text` is plain, `html` as sent)."""

    message_id: int
    from_bot: bool
    kind: str
    text: str
    html: str | None
    parse_mode: str | None
    buttons: list[list[Button]]
    edit_count: int
    deleted: bool
    date: int
    seq: int
    reply_to_message_id: int | None = None
    file: dict[str, Any] | None = None
    invoice: dict[str, Any] | None = None
    successful_payment: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MessageView:
        """Build from one entry of GET /_sandbox/messages."""
        return cls(
            message_id=int(data["message_id"]),
            from_bot=bool(data["from_bot"]),
            kind=str(data["kind"]),
            text=data.get("text") or "",
            html=data.get("html"),
            parse_mode=data.get("parse_mode"),
            buttons=[[Button.from_dict(b) for b in row] for row in data.get("buttons") or []],
            edit_count=int(data.get("edit_count", 0)),
            deleted=bool(data.get("deleted", False)),
            date=int(data.get("date", 0)),
            seq=int(data.get("seq", 0)),
            reply_to_message_id=data.get("reply_to_message_id"),
            file=data.get("file"),
            invoice=data.get("invoice"),
            successful_payment=data.get("successful_payment"),
            raw=data,
        )

    def button_labels(self) -> list[str]:
        """Labels of all inline buttons, row by row."""
        return [b.text for row in self.buttons for b in row]

    def button(self, label: str) -> Button:
        """The button with exactly this label (KeyError if absent)."""
        for row in self.buttons:
            for b in row:
                if b.text == label:
                    return b
        raise KeyError(f"no button {label!r}; have {self.button_labels()}")

    def describe(self) -> str:
        """One transcript line."""
        who = "bot" if self.from_bot else "user"
        flags = "".join([
            f" (edited x{self.edit_count})" if self.edit_count else "",
            " (deleted)" if self.deleted else "",
        ])
        body = self.text or f"<{self.kind}>"
        labels = self.button_labels()
        buttons = f"  buttons: {labels}" if labels else ""
        return f"#{self.message_id} {who}{flags}: {body}{buttons}"


def transcript(messages: list[MessageView]) -> str:
    """The chat as text, one message per line."""
    return "\n".join(m.describe() for m in messages) or "(empty chat)"


class SandboxClient:
    """HTTP client of the sandbox control API; use as an async context manager."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> SandboxClient:
        """Open the HTTP session."""
        self.session  # noqa: B018 - creates the session inside the running loop
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the HTTP session if this client created it."""
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session (created on first use)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Close the session if owned."""
        if self._session is not None and self._own_session:
            await self._session.close()
            self._session = None

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One control API call; raises SandboxError on a non-2xx answer."""
        url = f"{self.base_url}/_sandbox/{path}"
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        async with self.session.request(method, url, json=body, params=query) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 300:
                raise SandboxError(resp.status, data if isinstance(data, dict) else {})
            return data

    async def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str = "en",
        last_name: str | None = None,
        username: str | None = None,
    ) -> ChatUser:
        """Create (or update) a user and return its handle."""
        await self.call("POST", "users", {
            "user_id": user_id, "first_name": first_name, "language_code": language_code,
            "last_name": last_name, "username": username,
        })
        return ChatUser(self, user_id)

    async def refusals(self) -> list[dict[str, Any]]:
        """Every refusal the server returned to the bot."""
        return (await self.call("GET", "refusals"))["refusals"]

    async def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt: {update_id, status, error, at}, oldest first."""
        return (await self.call("GET", "updates"))["deliveries"]

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        """Bot API calls the bot made (optionally one method)."""
        return (await self.call("GET", "requests", params={"method": method}))["requests"]

    async def commands(self) -> list[dict[str, Any]]:
        """What setMyCommands stored, per scope and language."""
        return (await self.call("GET", "commands"))["commands"]

    async def configure(self, **knobs: Any) -> dict[str, Any]:
        """Change run-time knobs (flood_enabled, per_chat_burst, per_chat_rate, ...)."""
        return (await self.call("POST", "config", knobs))["config"]

    async def reset(self) -> None:
        """Forget everything except config (and the clock offset set through advance_clock /
        set_clock)."""
        await self.call("POST", "reset", {})

    async def clock(self) -> dict[str, Any]:
        """The sandbox clock: {now (unix), offset (seconds from real time), file_offset}."""
        return await self.call("GET", "clock")

    async def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the sandbox clock forward (or back); due renewals happen at once. Returns
        {now, offset, events}: one event per subscription period that ended."""
        return await self.call("POST", "clock", {"advance": seconds})

    async def set_clock(self, offset: float) -> dict[str, Any]:
        """Set the sandbox clock's total offset from real time, in seconds (as advance_clock)."""
        return await self.call("POST", "clock", {"offset": offset})

    async def redeliver(self, update_id: int) -> int:
        """Push an earlier update again, unchanged, under a new update_id; returns that id."""
        return int((await self.call("POST", "redeliver", {"update_id": update_id}))["update_id"])

    async def subscriptions(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Subscriptions (one user's, or everyone's), oldest first."""
        data = await self.call("GET", "subscriptions", params={"user_id": user_id})
        return data["subscriptions"]

    async def download(self, download_path: str) -> bytes:
        """Fetch a file by the download_path of a message view."""
        async with self.session.get(self.base_url + download_path) as resp:
            resp.raise_for_status()
            return await resp.read()


class ChatUser:
    """One simulated user talking to the bot in a private chat."""

    def __init__(self, client: SandboxClient, user_id: int) -> None:
        self.client = client
        self.user_id = user_id
        self.last_action_seq = 0

    def _acted(self, response: dict[str, Any]) -> dict[str, Any]:
        self.last_action_seq = max(self.last_action_seq, int(response.get("seq", 0)))
        return response

    async def send(self, text: str, reply_to: int | None = None) -> dict[str, Any]:
        """Send a text message; returns {message_id, update_id}."""
        return self._acted(await self.client.call("POST", "send", {
            "user_id": self.user_id, "text": text, "reply_to_message_id": reply_to,
        }))

    async def press(
        self, label: str, message_id: int | None = None, seen: MessageView | None = None
    ) -> dict[str, Any]:
        """Press an inline button by label; returns {callback_query_id, data} or {url}.

        `seen`: press it on this copy of a message, as the user's app showed it then, even if
        the bot has edited the message since (a double tap: two presses on the same copy)."""
        return self._acted(await self.client.call("POST", "press", {
            "user_id": self.user_id, "label": label, "message_id": message_id,
            "seen": seen.raw if seen is not None else None,
        }))

    async def double_tap(self, label: str, seen: MessageView) -> list[dict[str, Any]]:
        """Press one button twice on the same copy of a message, before the bot can redraw it
        (the second press carries the message as it was before the first press's edit)."""
        return [await self.press(label, seen=seen), await self.press(label, seen=seen)]

    async def press_data(self, data: str, message_id: int) -> dict[str, Any]:
        """Send a callback query with arbitrary data on a bot message."""
        return self._acted(await self.client.call("POST", "press_data", {
            "user_id": self.user_id, "message_id": message_id, "data": data,
        }))

    async def send_file(
        self,
        kind: str,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Send a photo, video or document; returns {message_id, file_id}.

        `extra`: width, height, duration (a video); declared_size (the file_size Telegram
        reports, for a small stand-in of a big file: getFile refuses it over 20 MB);
        thumbnail_b64 (the JPEG thumbnail Telegram makes for a video or document)."""
        return self._acted(await self.client.call("POST", "send_file", {
            "user_id": self.user_id, "kind": kind, "filename": filename,
            "content_b64": base64.b64encode(content).decode(), "mime_type": mime_type,
            "caption": caption, **extra,
        }))

    async def pay(self, message_id: int) -> dict[str, Any]:
        """Pay an invoice; returns {ok, error_message?, charge_id?}."""
        return self._acted(await self.client.call("POST", "pay", {
            "user_id": self.user_id, "message_id": message_id,
        }))

    async def web_app_url(self, url: str | None = None) -> str:
        """The URL Telegram would open for my Mini App (`url`, else the bot's menu button),
        launch data signed with the bot's token."""
        got = await self.client.call("POST", "webapp", {"user_id": self.user_id, "url": url})
        return str(got["url"])

    async def pay_link(self, url: str) -> dict[str, Any]:
        """Pay an invoice link (https://t.me/$...); returns as pay, plus
        subscription_expiration_date for a subscription."""
        return self._acted(await self.client.call("POST", "pay_link", {
            "user_id": self.user_id, "url": url,
        }))

    async def subscription(self, charge_id: str, action: str) -> dict[str, Any]:
        """Act on my subscription (any of its charge ids) as in Telegram's UI: "cancel" or
        "resume"; or "fail_next" (its next renewal fails). Returns {subscription, update_id}."""
        return self._acted(await self.client.call("POST", "subscription", {
            "user_id": self.user_id, "charge_id": charge_id, "action": action,
        }))

    async def subscriptions(self) -> list[dict[str, Any]]:
        """My subscriptions, oldest first (state active / canceled / expired, expires_at)."""
        return await self.client.subscriptions(self.user_id)

    async def block(self, blocked: bool = True) -> dict[str, Any]:
        """Block (or unblock) the bot."""
        return self._acted(await self.client.call("POST", "block", {
            "user_id": self.user_id, "blocked": blocked,
        }))

    async def messages(self) -> list[MessageView]:
        """Every message of the chat, both directions, in order."""
        data = await self.client.call("GET", "messages", params={"user_id": self.user_id})
        return [MessageView.from_dict(m) for m in data["messages"]]

    async def bot_messages(self, include_deleted: bool = False) -> list[MessageView]:
        """The bot's messages, oldest first."""
        return [m for m in await self.messages()
                if m.from_bot and (include_deleted or not m.deleted)]

    async def last_bot_message(self) -> MessageView | None:
        """The newest bot message that is not deleted."""
        messages = await self.bot_messages()
        return messages[-1] if messages else None

    async def callback_answers(self) -> list[dict[str, Any]]:
        """The bot's answers to this user's callback queries."""
        data = await self.client.call("GET", "callback_answers",
                                      params={"user_id": self.user_id})
        return data["answers"]

    async def wait_for(
        self,
        predicate: Callable[[MessageView], bool],
        timeout: float = 10,  # noqa: ASYNC109 - the test-facing API takes seconds
        include_deleted: bool = False,
    ) -> MessageView:
        """Poll until a bot message (newest first) satisfies predicate; return it."""
        deadline = time.monotonic() + timeout
        messages: list[MessageView] = []
        while True:
            messages = await self.messages()
            for msg in reversed(messages):
                if msg.from_bot and (include_deleted or not msg.deleted) and predicate(msg):
                    return msg
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"no bot message matched within {timeout}s. Chat {self.user_id}:\n"
                    + transcript(messages)
                )
            await asyncio.sleep(0.05)

    async def expect(
        self, substring: str, timeout: float = 10  # noqa: ASYNC109 - seconds, as wait_for
    ) -> MessageView:
        """Wait for a bot message, new or edited since my last action, containing substring."""
        since = self.last_action_seq
        try:
            return await self.wait_for(lambda m: m.seq > since and substring in m.text, timeout)
        except AssertionError as exc:
            raise AssertionError(f"expected a bot message containing {substring!r} after my "
                                 f"last action; {exc}") from None
