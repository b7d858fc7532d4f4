"""The /_sandbox/ control API: tests and the chat client act as users through it (JSON)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.telegram.engine import ENGINE_KEY, BotApiError, ControlError, Engine
from sandbox.telegram.files import store_media
from sandbox.telegram.html_check import utf16_len
from sandbox.telegram.limits import MAX_CAPTION
from sandbox.telegram.media import Upload, image_size
from sandbox.telegram.state import StoredMessage, UserRecord
from sandbox.telegram.webapp import launch_url, sign_init_data

Route = Callable[[Engine, dict[str, Any]], Awaitable[Any]]


def _engine(request: web.Request) -> Engine:
    return request.app[ENGINE_KEY]


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def _int(body: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ControlError(400, f"{name} is required")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be an integer") from None


def _user(engine: Engine, body: dict[str, Any], create: bool = True) -> UserRecord:
    user_id = _int(body, "user_id")
    assert user_id is not None
    if user_id <= 0:
        raise ControlError(400, "user_id must be positive (private chats only)")
    if not create and user_id not in engine.state.users:
        raise ControlError(404, f"unknown user {user_id}")
    return engine.state.ensure_user(user_id)


def _json_route(func: Route, *, query: bool = False) -> Callable[[web.Request],
                                                              Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        """Decode JSON (or the query string), run the route, encode the answer."""
        engine = _engine(request)
        try:
            body = dict(request.query) if query else await _body(request)
            result = await func(engine, body)
        except ControlError as exc:
            return web.json_response({"ok": False, "error": exc.message, **exc.extra},
                                     status=exc.status)
        except BotApiError as exc:
            return web.json_response({"ok": False, "error": exc.description}, status=400)
        if isinstance(result, dict):
            result.setdefault("seq", engine.state.seq)
        return web.json_response(result)

    return handler


# --------------------------------------------------------------------------- users
async def post_users(engine: Engine, body: dict[str, Any]) -> Any:
    """Create or update a user; the private chat id equals user_id."""
    user = _user(engine, body)
    for key in ("first_name", "last_name", "username", "language_code"):
        if key in body and body[key] is not None:
            setattr(user, key, str(body[key]))
    if "started" in body:
        user.started = bool(body["started"])
    return {"ok": True, "user": user.as_user(), "started": user.started,
            "blocked": user.blocked}


async def get_users(engine: Engine, query: dict[str, Any]) -> Any:
    """All users."""
    return {"ok": True, "users": [
        {**u.as_user(), "blocked": u.blocked, "started": u.started}
        for u in engine.state.users.values()
    ]}


async def post_send(engine: Engine, body: dict[str, Any]) -> Any:
    """The user sends a text message (a leading /command gets a bot_command entity)."""
    user = _user(engine, body)
    msg, update_id = engine.user_sends(user, str(body.get("text") or ""),
                                       _int(body, "reply_to_message_id", required=False))
    return {"ok": True, "message_id": msg.message_id, "update_id": update_id}


async def post_block(engine: Engine, body: dict[str, Any]) -> Any:
    """Mark the user as having blocked (or unblocked) the bot."""
    user = _user(engine, body)
    update_id = engine.set_blocked(user, bool(body.get("blocked", True)))
    return {"ok": True, "blocked": user.blocked, "update_id": update_id}


# --------------------------------------------------------------------------- buttons
def _bot_message(engine: Engine, user: UserRecord, message_id: int) -> StoredMessage:
    msg = engine.state.find_message(user.user_id, message_id)
    if msg is None or msg.deleted:
        raise ControlError(404, f"message {message_id} not found in chat {user.user_id}")
    if not msg.from_bot:
        raise ControlError(400, f"message {message_id} was not sent by the bot")
    return msg


def _buttons(msg: StoredMessage) -> list[dict[str, Any]]:
    markup = msg.reply_markup or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def _match(msg: StoredMessage, label: str, exact: bool) -> list[dict[str, Any]]:
    if exact:
        return [b for b in _buttons(msg) if b.get("text") == label]
    return [b for b in _buttons(msg) if label in str(b.get("text", ""))]


def _as_seen(engine: Engine, user: UserRecord, seen: Any) -> StoredMessage:
    """The message as the user's app still shows it: `seen` is an entry of GET messages taken
    earlier (text, entities, buttons), laid over the stored message with that id.

    This is a double tap (or a press on a screen the app has not redrawn yet): Telegram sends
    the callback_query with the message as it was when the button was pressed, and the bot's
    edit from the first press may already have changed it (shared/spec §2.2, "message is not
    modified" is what an edit to the content it already has then gets)."""
    if not isinstance(seen, dict) or not isinstance(seen.get("message_id"), int):
        raise ControlError(400, "seen must be a message as GET /_sandbox/messages returned it")
    # The tap happened before whatever the bot did since, so an edit or even a deletion of the
    # message in between does not stop it from arriving.
    current = engine.state.find_message(user.user_id, int(seen["message_id"]))
    if current is None or not current.from_bot:
        raise ControlError(404, f"no bot message {seen['message_id']} in chat {user.user_id}")
    rows = seen.get("buttons") or []
    return dataclasses.replace(
        current,
        text=seen.get("text"),
        html=seen.get("html"),
        entities=list(seen.get("entities") or []),
        reply_markup={"inline_keyboard": rows} if rows else None,
    )


async def post_press(engine: Engine, body: dict[str, Any]) -> Any:
    """Press the inline button with that label (exact, else the unique one containing it).

    With `seen` (a message as GET messages returned it, possibly since edited), the button is
    looked up on that copy and the callback_query carries that copy: a press on a stale screen."""
    user = _user(engine, body, create=False)
    label = str(body.get("label", ""))
    message_id = _int(body, "message_id", required=False)
    if body.get("seen") is not None:
        candidates = [_as_seen(engine, user, body["seen"])]
    elif message_id is not None:
        candidates = [_bot_message(engine, user, message_id)]
    else:
        candidates = [m for m in reversed(engine.state.chats.get(user.user_id, []))
                      if m.from_bot and not m.deleted and _buttons(m)]
    found: tuple[StoredMessage, dict[str, Any]] | None = None
    for exact in (True, False):
        for msg in candidates:
            hits = _match(msg, label, exact)
            if len(hits) > 1 and not exact:
                raise ControlError(409, f"label {label!r} matches several buttons of message "
                                        f"{msg.message_id}",
                                   available=[b.get("text") for b in hits])
            if hits:
                found = (msg, hits[0])
                break
        if found:
            break
    if found is None:
        available = sorted({str(b.get("text")) for m in candidates for b in _buttons(m)})
        raise ControlError(404, f"no button labelled {label!r}", available=available)
    msg, button = found
    if "callback_data" in button:
        result = engine.press_callback(user, msg, button["callback_data"])
        return {"ok": True, **result}
    if "url" in button:
        return {"ok": True, "url": button["url"], "message_id": msg.message_id}
    if "web_app" in button:  # a Telegram client opens the Mini App with signed launch data
        return {"ok": True, "web_app_url": _launch(engine, user, button["web_app"]["url"]),
                "message_id": msg.message_id}
    if button.get("pay"):
        paid = await engine.pay(user, msg)
        return {**paid, "pay": True, "message_id": msg.message_id}
    return {"ok": True, "button": button, "message_id": msg.message_id}


def _launch(engine: Engine, user: UserRecord, url: str) -> str:
    return launch_url(url, sign_init_data(engine.config.token, user.as_user()))


async def post_webapp(engine: Engine, body: dict[str, Any]) -> Any:
    """The URL a Telegram client opens for the user's Mini App: `url`, else the chat's menu
    button (setChatMenuButton web_app) — with initData signed by the bot's token."""
    user = _user(engine, body, create=False)
    url = body.get("url")
    if not url:
        menu = engine.state.menu_buttons
        button = menu.get(user.user_id) or menu.get(0) or {}
        url = (button.get("web_app") or {}).get("url") if button.get("type") == "web_app" else None
    if not isinstance(url, str) or not url:
        raise ControlError(404, "no Mini App: give url, or the bot sets a web_app menu button")
    return {"ok": True, "url": _launch(engine, user, url)}


async def post_press_data(engine: Engine, body: dict[str, Any]) -> Any:
    """Send a callback query with any data string (a forged or stale payload)."""
    user = _user(engine, body, create=False)
    message_id = _int(body, "message_id")
    assert message_id is not None
    msg = _bot_message(engine, user, message_id)
    return {"ok": True, **engine.press_callback(user, msg, str(body.get("data", "")))}


# --------------------------------------------------------------------------- files & pay
async def post_send_file(engine: Engine, body: dict[str, Any]) -> Any:
    """The user sends a photo, video or document."""
    user = _user(engine, body)
    kind = str(body.get("kind", "document"))
    if kind not in ("photo", "video", "document"):
        raise ControlError(400, "kind must be photo, video or document")
    try:
        content = base64.b64decode(str(body.get("content_b64", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(400, "content_b64 is not valid base64") from None
    if not content:
        raise ControlError(400, "content is empty")
    caption = body.get("caption")
    if caption is not None and utf16_len(str(caption)) > MAX_CAPTION:
        raise ControlError(400, "caption is longer than 1024 characters")
    filename = str(body.get("filename") or f"{kind}.bin")
    upload = Upload(filename, body.get("mime_type"), content)
    extra = {key: body.get(key) for key in ("width", "height", "duration")}
    declared = _declared_size(body, len(content))
    media = store_media(engine, kind, upload, None, extra, strict_photo=False,
                        declared_size=declared)
    thumb = _thumbnail(engine, body) if kind in ("video", "document") else None
    if thumb is not None and isinstance(media, dict):
        media["thumbnail"] = thumb
    if user.blocked or not user.started:
        engine.set_blocked(user, False)
        user.started = True
    msg = engine.state.new_message(user.user_id, False, kind=kind,
                                   text=str(caption) if caption else None,
                                   html=str(caption) if caption else None, media=media)
    engine.user_acted(user.user_id)
    update_id = engine.state.push_update("message", engine.message_dict(msg))
    main = media[-1] if isinstance(media, list) else media
    return {"ok": True, "message_id": msg.message_id, "update_id": update_id,
            "file_id": main["file_id"]}


# Users (unlike bots, spec §1) may send files of up to 2 GB, 4 GB with Telegram Premium.
MAX_USER_FILE = 4 * 1024 * 1024 * 1024


def _declared_size(body: dict[str, Any], actual: int) -> int | None:
    """`declared_size`: the file_size Telegram reports for the file, when a test sends a small
    stand-in for a big file (e.g. over getFile's 20 MB) instead of storing its bytes. The bot
    sees that size everywhere (message, getFile); getFile refuses over 20 MB, as Telegram does,
    so the stand-in bytes are never served as the big file."""
    value = body.get("declared_size")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < actual <= value:
        raise ControlError(400, "declared_size must be an integer, at least the content's length")
    if value > MAX_USER_FILE:
        raise ControlError(400, "declared_size is over 4 GB, more than a user can send")
    return value


def _thumbnail(engine: Engine, body: dict[str, Any]) -> dict[str, Any] | None:
    """`thumbnail_b64`: the small JPEG Telegram makes for a video or document (its `thumbnail`
    PhotoSize), given by the test since the sandbox does not decode videos."""
    raw = body.get("thumbnail_b64")
    if not raw:
        return None
    try:
        data = base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(400, "thumbnail_b64 is not valid base64") from None
    dims = image_size(data)
    if not data or dims is None:
        raise ControlError(400, "thumbnail_b64 is not an image")
    stored = engine.state.new_file("photo", data, None, "image/jpeg", ".jpg")
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.size, "width": dims[0], "height": dims[1]}


async def post_pay(engine: Engine, body: dict[str, Any]) -> Any:
    """Pay an invoice message: pre_checkout_query, then successful_payment if approved."""
    user = _user(engine, body, create=False)
    message_id = _int(body, "message_id")
    assert message_id is not None
    return await engine.pay(user, _bot_message(engine, user, message_id))


async def post_pay_link(engine: Engine, body: dict[str, Any]) -> Any:
    """Pay an invoice link (https://t.me/$...): the same checkout as POST pay."""
    user = _user(engine, body, create=False)
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise ControlError(400, "url is required")
    return await engine.pay_link(user, url)


# --------------------------------------------------------------------------- subscriptions
async def post_subscription(engine: Engine, body: dict[str, Any]) -> Any:
    """The user cancels or resumes a subscription in Telegram's UI (action cancel / resume),
    or its next renewal's payment will fail (fail_next); charge_id: any of its payments."""
    user = _user(engine, body, create=False)
    charge_id = body.get("charge_id")
    if not isinstance(charge_id, str) or not charge_id:
        raise ControlError(400, "charge_id is required")
    return engine.user_edits_subscription(user, charge_id, str(body.get("action", "")))


async def get_subscriptions(engine: Engine, query: dict[str, Any]) -> Any:
    """The user's subscriptions (all users' without user_id), oldest first."""
    user_id = _int(query, "user_id", required=False)
    return {"ok": True, "subscriptions": [
        sub.view() for sub in engine.state.subscriptions.values()
        if user_id is None or sub.user_id == user_id
    ]}


def _seconds(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ControlError(400, f"{name} must be a number of seconds")
    return float(value)


def _clock_view(engine: Engine) -> dict[str, Any]:
    return {"ok": True, "now": engine.clock.now(), "offset": engine.clock.offset(),
            "file_offset": engine.clock.file_offset()}


async def post_clock(engine: Engine, body: dict[str, Any]) -> Any:
    """Move the clock: {"advance": seconds} or {"offset": seconds} (the total offset from
    real time); due renewals are processed at once and listed as events."""
    if ("advance" in body) == ("offset" in body):
        raise ControlError(400, "give exactly one of advance and offset")
    if "advance" in body:
        engine.clock.advance(_seconds(body, "advance"))
    else:
        engine.clock.set_offset(_seconds(body, "offset"))
    events = engine.process_due()
    return {**_clock_view(engine), "events": events}


async def get_clock(engine: Engine, query: dict[str, Any]) -> Any:
    """The sandbox clock: now (unix) and its offset from real time in seconds."""
    return _clock_view(engine)


async def post_redeliver(engine: Engine, body: dict[str, Any]) -> Any:
    """Push an earlier update again, payload unchanged, under a new update_id."""
    update_id = _int(body, "update_id")
    assert update_id is not None
    return {"ok": True, "update_id": engine.redeliver(update_id), "original": update_id}


# --------------------------------------------------------------------------- reading
async def get_messages(engine: Engine, query: dict[str, Any]) -> Any:
    """Every message of a chat in order, both directions, with edits and deletions."""
    user = _user(engine, query, create=False)
    return {"ok": True, "messages": [engine.view_dict(m)
                                     for m in engine.state.chats.get(user.user_id, [])]}


async def get_callback_answers(engine: Engine, query: dict[str, Any]) -> Any:
    """Answers the bot gave to this user's callback queries."""
    user_id = _int(query, "user_id")
    return {"ok": True, "answers": engine.state.callback_answers.get(user_id or 0, [])}


async def get_chat_actions(engine: Engine, query: dict[str, Any]) -> Any:
    """Chat actions (typing, upload_photo, ...) the bot sent to this chat."""
    user_id = _int(query, "user_id")
    return {"ok": True, "actions": engine.state.chat_actions.get(user_id or 0, [])}


async def get_requests(engine: Engine, query: dict[str, Any]) -> Any:
    """Log of Bot API calls, optionally only one method."""
    method = query.get("method")
    entries = [r for r in engine.state.requests
               if not method or r["method"].lower() == str(method).lower()]
    return {"ok": True, "requests": entries}


async def get_refusals(engine: Engine, query: dict[str, Any]) -> Any:
    """Every refusal the server returned."""
    return {"ok": True, "refusals": list(engine.state.refusals)}


async def get_commands(engine: Engine, query: dict[str, Any]) -> Any:
    """What setMyCommands stored, per scope and language_code."""
    return {"ok": True, "commands": list(engine.state.commands.values())}


async def get_updates_view(engine: Engine, query: dict[str, Any]) -> Any:
    """Updates not yet confirmed by the bot, the webhook state, and every webhook delivery
    attempt ({update_id, status, error, at}; a repeat of an update_id is a re-delivery)."""
    return {"ok": True, "pending": engine.state.updates, "webhook": engine.state.webhook,
            "allowed_updates": engine.state.allowed_updates,
            "in_flight": sorted(engine.state.webhook_in_flight),
            "deliveries": list(engine.state.webhook_deliveries)}


async def post_config(engine: Engine, body: dict[str, Any]) -> Any:
    """Change run-time knobs (flood control and timeouts)."""
    return {"ok": True, "config": engine.configure(**body)}


async def get_config(engine: Engine, query: dict[str, Any]) -> Any:
    """Current knobs, the token and the bot username."""
    return {"ok": True, "config": engine.knobs(), "token": engine.config.token,
            "bot_username": engine.config.bot_username, "bot_id": engine.config.bot_id}


async def post_reset(engine: Engine, body: dict[str, Any]) -> Any:
    """Forget everything except config."""
    engine.reset()
    return {"ok": True}


def add_control_routes(app: web.Application) -> None:
    """Mount the control API under /_sandbox/."""
    posts: dict[str, Route] = {
        "users": post_users,
        "send": post_send,
        "press": post_press,
        "press_data": post_press_data,
        "webapp": post_webapp,
        "send_file": post_send_file,
        "pay": post_pay,
        "pay_link": post_pay_link,
        "subscription": post_subscription,
        "clock": post_clock,
        "redeliver": post_redeliver,
        "block": post_block,
        "config": post_config,
        "reset": post_reset,
    }
    gets: dict[str, Route] = {
        "users": get_users,
        "messages": get_messages,
        "callback_answers": get_callback_answers,
        "chat_actions": get_chat_actions,
        "requests": get_requests,
        "refusals": get_refusals,
        "commands": get_commands,
        "updates": get_updates_view,
        "config": get_config,
        "subscriptions": get_subscriptions,
        "clock": get_clock,
    }
    for name, func in posts.items():
        app.router.add_post(f"/_sandbox/{name}", _json_route(func))
    for name, func in gets.items():
        app.router.add_get(f"/_sandbox/{name}", _json_route(func, query=True))
