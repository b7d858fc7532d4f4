"""The Bot API methods of the sandbox server (spec §1-§5), one async function per method."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.telegram.engine import (
    ENGINE_KEY,
    QUERY_TOO_OLD,
    BotApiError,
    Engine,
    bad_request,
    canonical,
    update_kind,
)
from sandbox.telegram.html_check import HtmlParseError, parse_html, utf16_len
from sandbox.telegram.limits import (
    INVOICE_DESCRIPTION,
    INVOICE_PAYLOAD_BYTES,
    INVOICE_TITLE,
    MAX_CALLBACK_ANSWER_TEXT,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION,
    MAX_COMMANDS,
    MAX_DOWNLOAD,
    MAX_INLINE_BUTTONS,
    MAX_TEXT,
    MAX_UPLOAD_OTHER,
    MAX_UPLOAD_PHOTO,
)
from sandbox.telegram.media import Upload, extension_for, guess_mime, image_size, photo_ladder
from sandbox.telegram.state import (
    MAX_SUBSCRIPTION_STARS,
    SUBSCRIPTION_PERIOD,
    InvoiceTerms,
    StoredFile,
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
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})


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
            values[key] = value if isinstance(value, str) else Upload(
                value.filename, value.content_type, value.file.read()
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
        raise bad_request(f"can't parse entities: parse mode {parse_mode} is not supported "
                          "by the sandbox")
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
                raise bad_request("can't parse inline keyboard button: Text buttons are "
                                  "unallowed in the inline keyboard")
            if len(actions) > 1:
                # §1: text plus exactly one type field.
                raise bad_request("can't parse inline keyboard button: exactly one of the "
                                  f"optional fields must be used, got {', '.join(actions)}")
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
                _web_app_url(button["web_app"], "inline keyboard button")
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
        raise bad_request("BUTTON_TYPE_INVALID: the first button of an invoice must be a pay "
                          "button")
    return raw


def _find_bot_message(engine: Engine, user: UserRecord, params: Params, *, edit: bool
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


def _reply_to(engine: Engine, user: UserRecord, params: Params) -> int | None:
    reply = params.obj("reply_parameters") or {}
    message_id = reply.get("message_id") if isinstance(reply, dict) else None
    if message_id is None:
        message_id = params.integer("reply_to_message_id")
    if message_id is None:
        return None
    msg = engine.state.find_message(user.user_id, int(message_id))
    if msg is None or msg.deleted:
        allow = (isinstance(reply, dict) and reply.get("allow_sending_without_reply")) or \
            params.flag("allow_sending_without_reply")
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return int(message_id)


def _store_bot_message(engine: Engine, user: UserRecord, **fields: Any) -> dict[str, Any]:
    msg = engine.state.new_message(user.user_id, True, **fields)
    return engine.message_dict(msg)


# --------------------------------------------------------------------------- bot & updates
@method("getMe")
async def get_me(engine: Engine, params: Params) -> Any:
    """getMe: the bot user (id is the number before ':' in the token, spec §5.3)."""
    return {
        **engine.bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut")
async def log_out(engine: Engine, params: Params) -> Any:
    """logOut: accepted and ignored."""
    return True


@method("close")
async def close(engine: Engine, params: Params) -> Any:
    """close: accepted and ignored."""
    return True


async def get_updates(engine: Engine, params: Params, request: web.Request) -> Any:
    """getUpdates: long polling with offset confirmation and allowed_updates (spec §5.1)."""
    state = engine.state
    if state.webhook.get("url"):
        raise BotApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                               "use deleteWebhook to delete the webhook first")
    offset = params.integer("offset", 0) or 0
    limit = max(1, min(100, params.integer("limit", 100) or 100))
    timeout = max(0.0, params.number("timeout", 0.0))
    allowed = params.obj("allowed_updates")
    if isinstance(allowed, list):
        state.allowed_updates = [str(kind) for kind in allowed]
    if offset > 0:
        # Calling with an offset confirms (and forgets) every older update.
        state.updates = [u for u in state.updates if u["update_id"] >= offset]
    elif offset < 0:
        state.updates = state.updates[offset:]
    # A newer getUpdates terminates the one still waiting (spec §2.4, 409 Conflict).
    state.poll_generation += 1
    generation = state.poll_generation
    state.wake()
    deadline = time.monotonic() + timeout
    while True:
        ready = [u for u in state.updates if engine.update_allowed(u)]
        if ready:
            return ready[:limit]
        if generation != state.poll_generation:
            transport = request.transport
            if transport is None or transport.is_closing():
                raise _ClientGone()
            raise BotApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                   "that only one bot instance is running")
        remaining = deadline - time.monotonic()
        if remaining <= 0 or state.webhook.get("url") or engine.closing:
            return []
        event = state.update_event
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            async with asyncio.timeout(remaining):
                await event.wait()
        except TimeoutError:
            return []


class _ClientGone(Exception):
    """The poller disconnected; nobody is there to receive an answer."""


@method("deleteWebhook")
async def delete_webhook(engine: Engine, params: Params) -> Any:
    """deleteWebhook: switch back to getUpdates, optionally dropping pending updates."""
    engine.state.webhook = {"url": ""}
    if params.flag("drop_pending_updates"):
        _drop_pending(engine)
    engine.state.wake()
    return True


def _drop_pending(engine: Engine) -> None:
    """drop_pending_updates: forget every update not yet delivered (one in flight finishes)."""
    state = engine.state
    state.updates = [u for u in state.updates if u["update_id"] in state.webhook_in_flight]
    state.webhook_retry.clear()


@method("setWebhook")
async def set_webhook(engine: Engine, params: Params) -> Any:
    """setWebhook: store it; updates are then POSTed to the URL (spec §5.2)."""
    url = params.string("url", "") or ""
    secret = params.string("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    if url and not re.match(r"^https?://[^\s/]+", url):
        raise bad_request("bad webhook: invalid webhook URL specified")
    max_connections = params.integer("max_connections", 40) or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = params.obj("allowed_updates")
    if isinstance(allowed, list):
        engine.state.allowed_updates = [str(kind) for kind in allowed]
    if params.flag("drop_pending_updates"):
        _drop_pending(engine)
    engine.state.webhook = {
        "url": url,
        "secret_token": secret,
        "max_connections": max_connections,
    }
    engine.state.wake()
    return True


@method("getWebhookInfo")
async def get_webhook_info(engine: Engine, params: Params) -> Any:
    """getWebhookInfo."""
    hook = engine.state.webhook
    info: dict[str, Any] = {
        "url": hook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": sum(1 for u in engine.state.updates if engine.update_allowed(u)),
    }
    if hook.get("url"):
        info["max_connections"] = hook.get("max_connections", 40)
        if engine.state.allowed_updates:
            info["allowed_updates"] = engine.state.allowed_updates
    for key in ("last_error_date", "last_error_message"):
        if key in hook:
            info[key] = hook[key]
    return info


# --------------------------------------------------------------------------- commands
def _scope_key(scope: Any) -> str:
    if not scope:
        scope = {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    return canonical(scope)


def _language(params: Params) -> str:
    lang = params.string("language_code", "") or ""
    if lang and not re.match(r"^[a-z]{2}$", lang):
        raise bad_request("invalid language code specified")
    return lang


@method("setMyCommands")
async def set_my_commands(engine: Engine, params: Params) -> Any:
    """setMyCommands: validate (spec §1) and store per scope and language_code."""
    commands = params.obj("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands specified")
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        if not _COMMAND_RE.match(str(item.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(item.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = (_scope_key(params.obj("scope")), _language(params))
    engine.state.commands[key] = {
        "scope": json.loads(key[0]),
        "language_code": key[1],
        "commands": [{"command": c["command"], "description": c["description"]}
                     for c in commands],
    }
    return True


def _web_app_url(info: object, where: str) -> str:
    """A WebAppInfo's URL: Mini Apps open only over HTTPS."""
    url = str(info.get("url", "")) if isinstance(info, dict) else ""
    if not url.startswith("https://"):
        raise bad_request(f"{where} Web App URL '{url}' is invalid: Only HTTPS links are allowed")
    return url


@method("setChatMenuButton")
async def set_chat_menu_button(engine: Engine, params: Params) -> Any:
    """setChatMenuButton: a private chat's (or, without chat_id, every chat's default) menu
    button — commands, default, or web_app (an HTTPS Mini App)."""
    chat_id = params.integer("chat_id", 0) or 0
    button = params.obj("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app",
                                                                   "default"):
        raise bad_request("can't parse menu button JSON object")
    if button["type"] == "web_app":
        if not 1 <= len(str(button.get("text", ""))) <= 64:
            raise bad_request("menu button text is invalid")
        _web_app_url(button.get("web_app"), "menu button")
    engine.state.menu_buttons[chat_id] = button
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(engine: Engine, params: Params) -> Any:
    """getChatMenuButton: the chat's own, else the default, else commands."""
    chat_id = params.integer("chat_id", 0) or 0
    buttons = engine.state.menu_buttons
    return buttons.get(chat_id) or buttons.get(0) or {"type": "commands"}


@method("getMyCommands")
async def get_my_commands(engine: Engine, params: Params) -> Any:
    """getMyCommands: exactly what was stored for that scope and language."""
    key = (_scope_key(params.obj("scope")), _language(params))
    entry = engine.state.commands.get(key)
    return entry["commands"] if entry else []


@method("deleteMyCommands")
async def delete_my_commands(engine: Engine, params: Params) -> Any:
    """deleteMyCommands."""
    engine.state.commands.pop((_scope_key(params.obj("scope")), _language(params)), None)
    return True


def _bot_text_method(field: str, limit: int) -> Handler:
    async def setter(engine: Engine, params: Params) -> Any:
        """Store the bot name/description text per language."""
        value = params.string(field, "") or ""
        if len(value) > limit:
            raise bad_request(f"{field} is too long")
        engine.state.bot_texts.setdefault(field, {})[_language(params)] = value
        return True

    return setter


METHODS["setmyname"] = _bot_text_method("name", 64)
METHODS["setmydescription"] = _bot_text_method("description", 512)
METHODS["setmyshortdescription"] = _bot_text_method("short_description", 120)


@method("getChat")
async def get_chat(engine: Engine, params: Params) -> Any:
    """getChat: ChatFullInfo of a private chat."""
    raw = params.raw("chat_id")
    try:
        user = engine.state.users[int(raw)]
    except (KeyError, TypeError, ValueError):
        raise bad_request("chat not found") from None
    return {
        **user.as_chat(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }


# --------------------------------------------------------------------------- messages
@method("sendMessage")
async def send_message(engine: Engine, params: Params) -> Any:
    """sendMessage: text 1-4096 after parsing (spec §1)."""
    user = engine.chat_for_bot(params.raw("chat_id"))
    html = params.string("text")
    mode = params.string("parse_mode")
    plain, ents = parse_text(engine, html, mode, params.obj("entities"), caption=False)
    markup = validate_markup(params.obj("reply_markup"))
    reply_to = _reply_to(engine, user, params)
    engine.check_flood("sendMessage", user.user_id)
    return _store_bot_message(engine, user, kind="text", text=plain, html=html, parse_mode=mode,
                              entities=ents, reply_markup=markup, reply_to_message_id=reply_to)


def _edit_common(engine: Engine, msg: StoredMessage) -> None:
    msg.edit_count += 1
    msg.edit_date = engine.clock.now()
    msg.seq = engine.state.next_seq()


def _not_modified() -> BotApiError:
    return bad_request("message is not modified: specified new message content and reply "
                       "markup are exactly the same as a current content and reply markup of "
                       "the message")


@method("editMessageText")
async def edit_message_text(engine: Engine, params: Params) -> Any:
    """editMessageText: omitting reply_markup removes the inline keyboard (Bot API)."""
    # The three answers the notifier's duplicate probe relies on (spec §2.2, §2.4): "message to
    # edit not found" for an id that does not exist (or was deleted), "message can't be edited"
    # for a user's message, "message is not modified" only for the bot's own message with the
    # same text, entities and markup. None of them is a sent message, so none takes a flood
    # token (check_flood comes after them, like a refused call in limits.py).
    user = engine.chat_for_bot(params.raw("chat_id"))
    msg = _find_bot_message(engine, user, params, edit=True)
    html = params.string("text")
    mode = params.string("parse_mode")
    plain, ents = parse_text(engine, html, mode, params.obj("entities"), caption=False)
    markup = validate_markup(params.obj("reply_markup"))
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if msg.kind != "text":
        raise bad_request("there is no text in the message to edit")
    if (plain, canonical(ents), canonical(markup)) == (
        msg.text, canonical(msg.entities), canonical(msg.reply_markup)
    ):
        raise _not_modified()
    engine.check_flood("editMessageText", user.user_id)
    msg.text, msg.html, msg.parse_mode, msg.entities = plain, html, mode, ents
    msg.reply_markup = markup
    _edit_common(engine, msg)
    return engine.message_dict(msg)


@method("editMessageCaption")
async def edit_message_caption(engine: Engine, params: Params) -> Any:
    """editMessageCaption: caption 0-1024 after parsing."""
    user = engine.chat_for_bot(params.raw("chat_id"))
    msg = _find_bot_message(engine, user, params, edit=True)
    html = params.string("caption")
    mode = params.string("parse_mode")
    plain, ents = parse_text(engine, html, mode, params.obj("caption_entities"), caption=True)
    markup = validate_markup(params.obj("reply_markup"), invoice=msg.kind == "invoice")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if msg.kind not in ("photo", "document", "video"):
        raise bad_request("there is no caption in the message to edit")
    if (plain, canonical(ents), canonical(markup)) == (
        msg.text, canonical(msg.entities), canonical(msg.reply_markup)
    ):
        raise _not_modified()
    engine.check_flood("editMessageCaption", user.user_id)
    msg.text, msg.html, msg.parse_mode, msg.entities = plain, html, mode, ents
    msg.reply_markup = markup
    _edit_common(engine, msg)
    return engine.message_dict(msg)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(engine: Engine, params: Params) -> Any:
    """editMessageReplyMarkup: omitting reply_markup removes the keyboard."""
    user = engine.chat_for_bot(params.raw("chat_id"))
    msg = _find_bot_message(engine, user, params, edit=True)
    markup = validate_markup(params.obj("reply_markup"), invoice=msg.kind == "invoice")
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("can't parse inline keyboard markup JSON object")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if canonical(markup) == canonical(msg.reply_markup):
        raise _not_modified()
    engine.check_flood("editMessageReplyMarkup", user.user_id)
    msg.reply_markup = markup
    _edit_common(engine, msg)
    return engine.message_dict(msg)


@method("deleteMessage")
async def delete_message(engine: Engine, params: Params) -> Any:
    """deleteMessage: bots may delete both sides of a private chat."""
    user = engine.chat_for_bot(params.raw("chat_id"))
    msg = _find_bot_message(engine, user, params, edit=False)
    msg.deleted = True
    msg.seq = engine.state.next_seq()
    return True


@method("deleteMessages")
async def delete_messages(engine: Engine, params: Params) -> Any:
    """deleteMessages: silently skips ids that can't be found."""
    user = engine.chat_for_bot(params.raw("chat_id"))
    ids = params.obj("message_ids") or []
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must contain 1-100 items")
    for message_id in ids:
        msg = engine.state.find_message(user.user_id, int(message_id))
        if msg is not None and not msg.deleted:
            msg.deleted = True
            msg.seq = engine.state.next_seq()
    return True


@method("answerCallbackQuery")
async def answer_callback_query(engine: Engine, params: Params) -> Any:
    """answerCallbackQuery: once per query, text 0-200 characters (spec §1, §2.4)."""
    query_id = params.string("callback_query_id", "") or ""
    text = params.string("text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER_TEXT:
        raise bad_request("MESSAGE_TOO_LONG")
    record = engine.state.callbacks.get(query_id)
    too_old = record is None or record.answered or (
        time.monotonic() - record.created > engine.config.callback_answer_timeout
    )
    if too_old or record is None:
        raise bad_request(QUERY_TOO_OLD)
    record.answered = True
    engine.state.callback_answers.setdefault(record.user_id, []).append({
        "callback_query_id": query_id,
        "message_id": record.message_id,
        "data": record.data,
        "text": text,
        "show_alert": params.flag("show_alert"),
        "url": params.string("url"),
        "time": time.time(),
    })
    return True


@method("sendChatAction")
async def send_chat_action(engine: Engine, params: Params) -> Any:
    """sendChatAction: recorded for the chat client; never counted as a message."""
    user = engine.chat_for_bot(params.raw("chat_id"))
    action = params.string("action", "") or ""
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    engine.state.chat_actions.setdefault(user.user_id, []).append(
        {"action": action, "time": time.time()}
    )
    return True


# --------------------------------------------------------------------------- files
async def _resolve_file(
    engine: Engine, params: Params, name: str, kind: str
) -> tuple[StoredFile | None, Upload | None]:
    value = params.raw(name)
    if isinstance(value, str) and value.startswith("attach://"):
        value = params.raw(value[len("attach://") :])
    if isinstance(value, Upload):
        return None, value
    if not value:
        raise bad_request(f"there is no {name} in the request")
    if re.match(r"^https?://", value):
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    session.get(value) as resp:
                resp.raise_for_status()
                body = await resp.read()
                filename = value.rstrip("/").rsplit("/", 1)[-1] or name
                return None, Upload(filename, resp.content_type, body)
        except (aiohttp.ClientError, TimeoutError):
            raise bad_request("wrong file identifier/HTTP URL specified") from None
    stored = engine.state.files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        # Spec §1: the file type can't be changed on resend.
        raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
    return stored, None


def store_media(
    engine: Engine,
    kind: str,
    upload: Upload | None,
    stored: StoredFile | None,
    extra: dict[str, Any],
    *,
    strict_photo: bool = True,
    declared_size: int | None = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Store an upload (or reuse a stored file) and build its PhotoSize list / Document / Video.
    `declared_size` (a user's file only) is the size Telegram reports for a stand-in upload."""
    state = engine.state
    if upload is not None:
        size = len(upload.content)
        if kind == "photo" and size > MAX_UPLOAD_PHOTO:
            raise bad_request("file is too big")
        if size > MAX_UPLOAD_OTHER:
            raise BotApiError(413, "Request Entity Too Large")
        if size == 0:
            raise bad_request("file must be non-empty")
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = guess_mime(upload.filename)
        default_ext = {"photo": ".jpg", "video": ".mp4"}.get(kind, ".bin")
        stored = state.new_file(kind, upload.content, upload.filename, mime,
                                extension_for(upload.filename, mime, default_ext))
        stored.declared_size = declared_size
    assert stored is not None
    if kind == "photo":
        dims = image_size(stored.content)
        if dims is None:
            if strict_photo:
                raise bad_request("IMAGE_PROCESS_FAILED")
            dims = (640, 480)
        width, height = dims
        # §1: photos at most 10000 for width + height, aspect ratio at most 20.
        if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        ladder = photo_ladder(width, height)
        sizes = []
        for index, (w, h) in enumerate(ladder):
            # The sandbox does not resize: every size serves the original bytes.
            size_file = stored if index == len(ladder) - 1 else _alias(engine, stored)
            sizes.append({"file_id": size_file.file_id,
                          "file_unique_id": size_file.file_unique_id,
                          "file_size": stored.size, "width": w, "height": h})
        return sizes
    info: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if stored.file_name:
        info["file_name"] = stored.file_name
    if stored.mime_type:
        info["mime_type"] = stored.mime_type
    if kind == "video":
        info["width"] = int(extra.get("width") or 0)
        info["height"] = int(extra.get("height") or 0)
        info["duration"] = int(extra.get("duration") or 0)
    return info


def _alias(engine: Engine, stored: StoredFile) -> StoredFile:
    return engine.state.new_file("photo", stored.content, stored.file_name, stored.mime_type,
                                 "." + stored.file_path.rsplit(".", 1)[-1])


def _media_method(kind: str, api_name: str) -> Handler:
    async def handler(engine: Engine, params: Params) -> Any:
        """Send a photo, document or video: upload, file_id or URL (caption rules, §1)."""
        user = engine.chat_for_bot(params.raw("chat_id"))
        caption = params.string("caption")
        mode = params.string("parse_mode")
        plain, ents = parse_text(engine, caption, mode, params.obj("caption_entities"),
                                 caption=True)
        markup = validate_markup(params.obj("reply_markup"))
        reply_to = _reply_to(engine, user, params)
        stored, upload = await _resolve_file(engine, params, kind, kind)
        engine.check_flood(api_name, user.user_id)
        extra = {key: params.integer(key) for key in ("width", "height", "duration")}
        media = store_media(engine, kind, upload, stored, extra)
        return _store_bot_message(engine, user, kind=kind, text=plain, html=caption,
                                  parse_mode=mode, entities=ents, reply_markup=markup,
                                  media=media, reply_to_message_id=reply_to)

    return handler


METHODS["sendphoto"] = _media_method("photo", "sendPhoto")
METHODS["senddocument"] = _media_method("document", "sendDocument")
METHODS["sendvideo"] = _media_method("video", "sendVideo")


@method("getFile")
async def get_file(engine: Engine, params: Params) -> Any:
    """getFile: file_path for the download route; at most 20 MB (spec §1)."""
    stored = engine.state.files.get(params.string("file_id", "") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.size, "file_path": stored.file_path}


# --------------------------------------------------------------------------- payments
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
            raise bad_request("SUBSCRIPTION_PERIOD_INVALID: subscription_period must be "
                              f"{SUBSCRIPTION_PERIOD} (30 days)")
        if currency != "XTR":
            raise bad_request("SUBSCRIPTION_CURRENCY_INVALID: subscriptions are paid in "
                              "Telegram Stars (XTR)")
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
        raise bad_request("SUBSCRIPTION_PRICE_INVALID: a subscription costs at most "
                          f"{MAX_SUBSCRIPTION_STARS} Stars")
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
    reply_to = _reply_to(engine, user, params)
    engine.check_flood("sendInvoice", user.user_id)
    invoice = {"title": terms.title, "description": terms.description,
               "start_parameter": params.string("start_parameter", "") or "",
               "currency": terms.currency, "total_amount": terms.amount}
    return _store_bot_message(engine, user, kind="invoice", invoice=invoice,
                              invoice_payload=terms.payload, reply_markup=markup,
                              reply_to_message_id=reply_to)


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
    return {"type": "user", "transaction_type": "invoice_payment", "user": user.as_user(),
            "invoice_payload": payload}


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
    refund = {"currency": "XTR", "total_amount": charge["total_amount"],
              "invoice_payload": charge["invoice_payload"],
              "telegram_payment_charge_id": charge_id}
    msg = engine.state.new_message(user.user_id, False, kind="refunded_payment",
                                   refunded_payment=refund)
    # The docs: a refund's StarTransaction.id is the refunded transaction's id, and a user is
    # the receiver of a purchase refund; its transaction_type is unconfirmed.
    engine.state.transactions.append({
        "id": charge_id, "amount": charge["total_amount"], "date": msg.date,
        "receiver": _user_partner(engine, user.user_id, charge["invoice_payload"]),
    })
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
    return {"transactions": ordered[offset:offset + limit]}


@method("getMyStarBalance")
async def get_my_star_balance(engine: Engine, params: Params) -> Any:
    """getMyStarBalance: incoming payments minus refunds, as a StarAmount."""
    balance = sum(t["amount"] if "source" in t else -t["amount"]
                  for t in engine.state.transactions)
    return {"amount": balance, "nanostar_amount": 0}


# --------------------------------------------------------------------------- HTTP glue
def _reply(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


async def handle_bot_api(request: web.Request) -> web.StreamResponse:
    """POST/GET {base}/bot{token}/{method}: the Bot API endpoint (spec §5.3)."""
    engine: Engine = request.app[ENGINE_KEY]
    token = request.match_info["token"]
    name = request.match_info["method"]
    try:
        params = await read_params(request)
    except (ValueError, aiohttp.ClientError):
        params = Params({})
    error: BotApiError | None = None
    result: Any = None
    try:
        if token != engine.config.token:
            raise BotApiError(401, "Unauthorized")
        if name.lower() == "getupdates":
            result = await get_updates(engine, params, request)
        else:
            handler = METHODS.get(name.lower())
            if handler is None:
                raise BotApiError(404, "Not Found")
            result = await handler(engine, params)
    except BotApiError as exc:
        error = exc
    except _ClientGone:
        return _reply({"ok": True, "result": []})
    engine.log_request(name, params.loggable(), error)
    if error is not None:
        return _reply(error.payload(), status=error.error_code)
    return _reply({"ok": True, "result": result})


async def handle_file_download(request: web.Request) -> web.StreamResponse:
    """GET {base}/file/bot{token}/{file_path}: the file bytes."""
    engine: Engine = request.app[ENGINE_KEY]
    if request.match_info["token"] != engine.config.token:
        return _reply({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
    stored = engine.state.files_by_path.get(request.match_info["path"])
    if stored is None:
        return _reply({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
    return web.Response(body=stored.content,
                        content_type=stored.mime_type or "application/octet-stream")


def webhook_queue(update: dict[str, Any]) -> int | None:
    """The chat (or, without one, the user) whose updates are delivered in order; None: any.

    tdlib/telegram-bot-api (WebhookActor.cpp) keeps one queue per chat and sends a queue's next
    update only after the previous one was answered OK; a failed one stays first and is retried.
    """
    payload = update.get(update_kind(update))
    if not isinstance(payload, dict):
        return None
    chat = payload.get("chat")
    if chat is None and isinstance(payload.get("message"), dict):
        chat = payload["message"].get("chat")  # a callback query's message
    if isinstance(chat, dict) and "id" in chat:
        return int(chat["id"])
    sender = payload.get("from") or payload.get("user")
    if isinstance(sender, dict) and "id" in sender:
        return int(sender["id"])
    return None


def _deliverable(engine: Engine, now: float) -> tuple[list[dict[str, Any]], float | None]:
    """Updates that may be POSTed now, in update_id order, and when the next retry falls due.

    With webhook_chat_order only the oldest undelivered update of a chat is a candidate, and
    only while none of that chat's updates is in flight (a failed one keeps its place).
    """
    state = engine.state
    busy_chats: set[int | None] = set()
    if engine.config.webhook_chat_order:
        busy_chats = {webhook_queue(u) for u in state.updates
                      if u["update_id"] in state.webhook_in_flight}
    seen: set[int | None] = set()
    ready: list[dict[str, Any]] = []
    next_retry: float | None = None
    for update in state.updates:
        update_id = update["update_id"]
        if not engine.update_allowed(update) or update_id in state.webhook_in_flight:
            continue
        queue = webhook_queue(update) if engine.config.webhook_chat_order else None
        if queue is not None and (queue in busy_chats or queue in seen):
            continue
        if queue is not None:
            seen.add(queue)
        _, retry_at = state.webhook_retry.get(update_id, (0, 0.0))
        if retry_at > now:
            next_retry = retry_at if next_retry is None else min(next_retry, retry_at)
            continue
        ready.append(update)
    return ready, next_retry


async def _deliver(
    engine: Engine, session: aiohttp.ClientSession, url: str, update: dict[str, Any]
) -> tuple[bool, float | None]:
    """POST one update: (2xx?, the answer's Retry-After seconds if any). Records the attempt
    and any error (§5.2)."""
    state = engine.state
    headers = {}
    if state.webhook.get("secret_token"):
        headers["X-Telegram-Bot-Api-Secret-Token"] = state.webhook["secret_token"]
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    timeout = aiohttp.ClientTimeout(total=engine.config.webhook_timeout)
    try:
        async with session.post(url, json=update, headers=headers, timeout=timeout) as resp:
            status = resp.status
            if 200 <= resp.status < 300:
                await _run_webhook_reply(engine, resp)
            else:
                error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                # telegram-bot-api honours the webhook's Retry-After (WebhookActor.cpp
                # on_update_error, clamped to an hour) instead of its own back-off.
                with contextlib.suppress(KeyError, ValueError):
                    retry_after = min(3600.0, max(0.0, float(resp.headers["Retry-After"])))
    except TimeoutError:
        error = "Read timeout expired"
    except aiohttp.ClientError as exc:
        error = f"Connection failed: {exc}"
    state.webhook_deliveries.append({"update_id": update["update_id"], "status": status,
                                     "error": error, "at": time.monotonic()})
    if error is not None:
        state.webhook["last_error_date"] = engine.clock.now()
        state.webhook["last_error_message"] = error
    return error is None, retry_after


async def _deliver_one(
    engine: Engine, session: aiohttp.ClientSession, url: str, update: dict[str, Any]
) -> None:
    state = engine.state
    update_id = update["update_id"]
    try:
        ok, retry_after = await _deliver(engine, session, url, update)
        if ok and engine.config.webhook_duplicates > 0:
            # Telegram re-sends an update whose answer it did not get in time, even if the bot
            # handled it: the same update_id arrives a second time.
            engine.config.webhook_duplicates -= 1
            await _deliver(engine, session, url, update)
        if ok:
            state.updates = [u for u in state.updates if u["update_id"] != update_id]
            state.webhook_retry.pop(update_id, None)
        else:
            failures, _ = state.webhook_retry.get(update_id, (0, 0.0))
            delay = min(engine.config.webhook_retry_max,
                        engine.config.webhook_retry_base * 2 ** failures)
            if retry_after is not None:
                delay = retry_after
            state.webhook_retry[update_id] = (failures + 1, time.monotonic() + delay)
    finally:
        state.webhook_in_flight.discard(update_id)
        state.wake()


async def webhook_loop(app: web.Application) -> None:
    """Deliver queued updates to the webhook URL with the secret header (§5.2): up to
    max_connections at once, a chat's in order (webhook_chat_order), failures retried with
    doubling back-off, the next N delivered twice (webhook_duplicates)."""
    engine: Engine = app[ENGINE_KEY]
    state = engine.state
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            while not engine.closing:
                url = state.webhook.get("url")
                room = int(state.webhook.get("max_connections", 40)) - len(tasks)
                ready, next_retry = _deliverable(engine, time.monotonic()) if url else ([], None)
                for update in ready[:max(0, room)]:
                    state.webhook_in_flight.add(update["update_id"])
                    task = asyncio.create_task(_deliver_one(engine, session, url, update))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                # Sleep until something changes: a new update, an answer, or a retry falling due.
                wait = 1.0 if url else None
                if next_retry is not None:
                    wait = max(0.01, min(wait or 1.0, next_retry - time.monotonic()))
                event = state.update_event
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await event.wait()
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=2)
            state.webhook_in_flight.clear()


async def _run_webhook_reply(engine: Engine, resp: aiohttp.ClientResponse) -> None:
    """A webhook reply may itself be a method call (spec §5.2, handle_in_background=False)."""
    values: dict[str, Any] = {}
    if resp.content_type == "application/json":
        body = await resp.json(content_type=None)
        if isinstance(body, dict):
            values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    elif resp.content_type.startswith("multipart/"):
        reader = aiohttp.MultipartReader(resp.headers, resp.content)
        while True:
            part = await reader.next()
            if part is None:
                break
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                if part.filename is not None:
                    values[part.name] = Upload(part.filename, part.headers.get("Content-Type"),
                                               bytes(await part.read(decode=False)))
                else:
                    values[part.name] = await part.text()
    name = values.pop("method", None)
    if not isinstance(name, str):
        return
    params = Params(values)
    handler = METHODS.get(name.lower())
    error: BotApiError | None = None
    try:
        if handler is None:
            raise BotApiError(404, "Not Found")
        await handler(engine, params)
    except BotApiError as exc:
        error = exc
    engine.log_request(name, params.loggable(), error)


__all__ = ["METHODS", "Params", "handle_bot_api", "handle_file_download", "update_kind",
           "webhook_loop", "webhook_queue"]
