"""How the sandbox's Bot API methods are registered and read their parameters, and the checks
they share: text and entities, reply markup, the messages they edit (spec §1-§5)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.telegram.engine import (
    Engine,
    bad_request,
)
from sandbox.telegram.html_check import HtmlParseError, parse_html, utf16_len
from sandbox.telegram.limits import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION,
    MAX_INLINE_BUTTONS,
    MAX_TEXT,
)
from sandbox.telegram.media import Upload
from sandbox.telegram.state import (
    StoredMessage,
    UserRecord,
)

_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class Params:
    """Decoded parameters of one Bot API call (every value arrives as a string, spec §5.3)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def loggable(self) -> dict[str, Any]:
        """Parameters for the request log: JSON strings decoded, files summarised."""
        out: dict[str, Any] = {}
        for key, value in self.values.items():
            if isinstance(value, Upload):
                out[key] = f"<file {value.filename!r}, {len(value.content)} bytes>"
            elif isinstance(value, str) and value[:1] in "[{":
                try:
                    out[key] = json.loads(value)
                except ValueError:
                    out[key] = value
            else:
                out[key] = value
        return out

    def raw(self, name: str) -> Any:
        """The value as sent, or None."""
        return self.values.get(name)

    def string(self, name: str, default: str | None = None) -> str | None:
        """A string parameter."""
        value = self.values.get(name)
        if value is None or isinstance(value, Upload):
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"wrong parameter {name} of type Integer") from None

    def number(self, name: str, default: float) -> float:
        """A number parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"wrong parameter {name} of type Float") from None

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter ("true"/"false", spec §5.3)."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def obj(self, name: str) -> Any:
        """A nested object or list parameter, sent as a JSON string (spec §5.3)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None


async def read_params(request: web.Request) -> Params:
    """Decode query string plus a urlencoded, multipart or JSON body."""
    values: dict[str, Any] = dict(request.query)
    ctype = request.content_type
    if ctype == "multipart/form-data":
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                content = await part.read(decode=False)
                values[part.name] = Upload(
                    part.filename, part.headers.get("Content-Type"), bytes(content)
                )
            else:
                values[part.name] = await part.text()
    elif ctype == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            values.update(body)
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            values[key] = (
                value
                if isinstance(value, str)
                else Upload(value.filename, value.content_type, value.file.read())
            )
    return Params(values)


Handler = Callable[[Engine, Params], Awaitable[Any]]
METHODS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register a Bot API method (names are case-insensitive on Telegram)."""

    def register(func: Handler) -> Handler:
        """Add func to METHODS."""
        METHODS[name.lower()] = func
        return func

    return register


def web_app_url(info: object, where: str) -> str:
    """A WebAppInfo's URL: Mini Apps open only over HTTPS."""
    url = str(info.get("url", "")) if isinstance(info, dict) else ""
    if not url.startswith("https://"):
        raise bad_request(f"{where} Web App URL '{url}' is invalid: Only HTTPS links are allowed")
    return url


# --------------------------------------------------------------------------- validation
def parse_text(
    engine: Engine, text: str | None, parse_mode: str | None, entities: Any, *, caption: bool
) -> tuple[str | None, list[dict[str, Any]]]:
    """Parse text or caption per parse_mode and enforce the length limits (spec §1, §3)."""
    if text is None or (caption and text == ""):
        if not caption:
            raise bad_request("message text is empty")
        return None, []
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            parsed = parse_html(text, strict_attributes=engine.config.strict_html_attributes)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        plain, ents = parsed.text, parsed.entities
    elif mode in ("markdown", "markdownv2"):
        # The sandbox does not implement Markdown; the product uses HTML only (design.md).
        raise bad_request(
            f"can't parse entities: parse mode {parse_mode} is not supported by the sandbox"
        )
    elif mode:
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    else:
        plain, ents = text, list(entities or [])
    if not plain.strip():
        raise bad_request("message caption is empty" if caption else "message text is empty")
    # §1: limits count characters after entity parsing, in UTF-16 code units.
    if caption and utf16_len(plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    if not caption and utf16_len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return plain, ents


def validate_markup(raw: Any, *, invoice: bool = False) -> dict[str, Any] | None:
    """Check reply_markup the way Telegram does (spec §1 InlineKeyboardButton rules)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in raw:
        if not any(key in raw for key in ("keyboard", "remove_keyboard", "force_reply")):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return raw
    rows = raw["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard markup JSON object")
    total = 0
    for r, row in enumerate(rows):
        for c, button in enumerate(row):
            total += 1
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise bad_request("can't parse inline keyboard button: Text must be non-empty")
            actions = [key for key in _BUTTON_ACTIONS if key in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are "
                    "unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                # §1: text plus exactly one type field.
                raise bad_request(
                    "can't parse inline keyboard button: exactly one of the "
                    f"optional fields must be used, got {', '.join(actions)}"
                )
            action = actions[0]
            if action == "callback_data":
                data = button["callback_data"]
                # §1: 1-64 bytes of UTF-8.
                size = len(str(data).encode("utf-8"))
                if not isinstance(data, str) or size < 1 or size > MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif action == "url":
                url = str(button["url"])
                if not re.match(r"^(https?|tg)://\S+$", url):
                    raise bad_request("BUTTON_URL_INVALID")
            elif action == "web_app":
                web_app_url(button["web_app"], "inline keyboard button")
            elif action == "pay" and (not invoice or r != 0 or c != 0):
                # §1: pay must be the first button of the first row, and only on invoices.
                raise bad_request("BUTTON_TYPE_INVALID")
            elif action == "copy_text":
                copy = button["copy_text"]
                if not isinstance(copy, dict) or not 1 <= len(str(copy.get("text", ""))) <= 256:
                    raise bad_request("BUTTON_COPY_TEXT_INVALID")
    if total > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    if invoice and rows and rows[0] and "pay" not in rows[0][0]:
        raise bad_request(
            "BUTTON_TYPE_INVALID: the first button of an invoice must be a pay button"
        )
    return raw


def find_bot_message(
    engine: Engine, user: UserRecord, params: Params, *, edit: bool
) -> StoredMessage:
    message_id = params.integer("message_id")
    what = "edit" if edit else "delete"
    if params.string("inline_message_id"):
        raise bad_request(f"message to {what} not found")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    msg = engine.state.find_message(user.user_id, message_id)
    if msg is None or msg.deleted:
        raise bad_request(f"message to {what} not found")
    return msg


def reply_to_id(engine: Engine, user: UserRecord, params: Params) -> int | None:
    reply = params.obj("reply_parameters") or {}
    message_id = reply.get("message_id") if isinstance(reply, dict) else None
    if message_id is None:
        message_id = params.integer("reply_to_message_id")
    if message_id is None:
        return None
    msg = engine.state.find_message(user.user_id, int(message_id))
    if msg is None or msg.deleted:
        allow = (
            isinstance(reply, dict) and reply.get("allow_sending_without_reply")
        ) or params.flag("allow_sending_without_reply")
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return int(message_id)


def store_bot_message(engine: Engine, user: UserRecord, **fields: Any) -> dict[str, Any]:
    msg = engine.state.new_message(user.user_id, True, **fields)
    return engine.message_dict(msg)
