"""The Bot API endpoint of the sandbox server (spec §5.3) and its bot, update, command and
message methods; files.py and payments.py add theirs."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.telegram import files, payments  # noqa: F401 - their methods register
from sandbox.telegram.engine import (
    ENGINE_KEY,
    QUERY_TOO_OLD,
    BotApiError,
    Engine,
    bad_request,
    canonical,
)
from sandbox.telegram.limits import (
    MAX_CALLBACK_ANSWER_TEXT,
    MAX_COMMANDS,
)
from sandbox.telegram.methods import (
    METHODS,
    Handler,
    Params,
    find_bot_message,
    method,
    parse_text,
    read_params,
    reply_to_id,
    store_bot_message,
    validate_markup,
    web_app_url,
)
from sandbox.telegram.state import (
    StoredMessage,
)

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


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
        raise BotApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
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
            raise BotApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure "
                "that only one bot instance is running",
            )
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
        "commands": [{"command": c["command"], "description": c["description"]} for c in commands],
    }
    return True


@method("setChatMenuButton")
async def set_chat_menu_button(engine: Engine, params: Params) -> Any:
    """setChatMenuButton: a private chat's (or, without chat_id, every chat's default) menu
    button — commands, default, or web_app (an HTTPS Mini App)."""
    chat_id = params.integer("chat_id", 0) or 0
    button = params.obj("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if button["type"] == "web_app":
        if not 1 <= len(str(button.get("text", ""))) <= 64:
            raise bad_request("menu button text is invalid")
        web_app_url(button.get("web_app"), "menu button")
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
    reply_to = reply_to_id(engine, user, params)
    engine.check_flood("sendMessage", user.user_id)
    return store_bot_message(
        engine,
        user,
        kind="text",
        text=plain,
        html=html,
        parse_mode=mode,
        entities=ents,
        reply_markup=markup,
        reply_to_message_id=reply_to,
    )


def _edit_common(engine: Engine, msg: StoredMessage) -> None:
    msg.edit_count += 1
    msg.edit_date = engine.clock.now()
    msg.seq = engine.state.next_seq()


def _not_modified() -> BotApiError:
    return bad_request(
        "message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of "
        "the message"
    )


@method("editMessageText")
async def edit_message_text(engine: Engine, params: Params) -> Any:
    """editMessageText: omitting reply_markup removes the inline keyboard (Bot API)."""
    # The three answers the notifier's duplicate probe relies on (spec §2.2, §2.4): "message to
    # edit not found" for an id that does not exist (or was deleted), "message can't be edited"
    # for a user's message, "message is not modified" only for the bot's own message with the
    # same text, entities and markup. None of them is a sent message, so none takes a flood
    # token (check_flood comes after them, like a refused call in limits.py).
    user = engine.chat_for_bot(params.raw("chat_id"))
    msg = find_bot_message(engine, user, params, edit=True)
    html = params.string("text")
    mode = params.string("parse_mode")
    plain, ents = parse_text(engine, html, mode, params.obj("entities"), caption=False)
    markup = validate_markup(params.obj("reply_markup"))
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if msg.kind != "text":
        raise bad_request("there is no text in the message to edit")
    if (plain, canonical(ents), canonical(markup)) == (
        msg.text,
        canonical(msg.entities),
        canonical(msg.reply_markup),
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
    msg = find_bot_message(engine, user, params, edit=True)
    html = params.string("caption")
    mode = params.string("parse_mode")
    plain, ents = parse_text(engine, html, mode, params.obj("caption_entities"), caption=True)
    markup = validate_markup(params.obj("reply_markup"), invoice=msg.kind == "invoice")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if msg.kind not in ("photo", "document", "video"):
        raise bad_request("there is no caption in the message to edit")
    if (plain, canonical(ents), canonical(markup)) == (
        msg.text,
        canonical(msg.entities),
        canonical(msg.reply_markup),
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
    msg = find_bot_message(engine, user, params, edit=True)
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
    msg = find_bot_message(engine, user, params, edit=False)
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
    too_old = (
        record is None
        or record.answered
        or (time.monotonic() - record.created > engine.config.callback_answer_timeout)
    )
    if too_old or record is None:
        raise bad_request(QUERY_TOO_OLD)
    record.answered = True
    engine.state.callback_answers.setdefault(record.user_id, []).append(
        {
            "callback_query_id": query_id,
            "message_id": record.message_id,
            "data": record.data,
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.string("url"),
            "time": time.time(),
        }
    )
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
    return web.Response(
        body=stored.content, content_type=stored.mime_type or "application/octet-stream"
    )
