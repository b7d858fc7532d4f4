"""Telegram Login Widget data as oauth.telegram.org makes it, for the dashboard's "Log in with
Telegram" in a plain browser.

The real flow (telegram-widget.js, redirect mode): the site sends the browser to
`https://oauth.telegram.org/auth?bot_id=…&origin=…&request_access=write&return_to=…`; the user
confirms in Telegram, and the browser comes back to `return_to` with
`#tgAuthResult=<base64url JSON of the user's data>` in the fragment (the data: id, first_name,
last_name, username, photo_url, auth_date, hash — signed with SHA256(bot token) as the secret,
core.telegram.org/widgets/login#checking-authorization). This server plays oauth.telegram.org:
`/auth` is a confirmation page listing the sandbox's users; confirming redirects as above.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from sandbox.telegram.engine import ENGINE_KEY
from sandbox.telegram.state import UserRecord


def sign_login_data(bot_token: str, user: dict[str, Any], auth_date: int | None = None,
                    photo_base: str = "https://t.me/i/userpic/320") -> dict[str, str]:
    """The Login Widget's fields for `user` (id, first_name, [last_name, username]), signed
    with `bot_token` the way Telegram does (secret = SHA256(token), HMAC-SHA256)."""
    fields = {"id": str(user["id"]), "first_name": str(user.get("first_name", "")),
              "auth_date": str(int(time.time()) if auth_date is None else auth_date)}
    for key in ("last_name", "username"):
        if user.get(key):
            fields[key] = str(user[key])
    if user.get("username"):
        fields["photo_url"] = f"{photo_base}/{user['username']}.jpg"
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hashlib.sha256(bot_token.encode()).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return fields


def auth_result(fields: dict[str, str]) -> str:
    """`tgAuthResult`: the data as JSON (numbers as numbers, as Telegram sends them),
    base64url without padding."""
    data: dict[str, Any] = {k: int(v) if k in ("id", "auth_date") else v
                            for k, v in fields.items()}
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _checked(request: web.Request) -> tuple[str, str]:
    """The request's return_to and origin, refused like Telegram refuses a bot id that is not
    this bot's, or a return_to outside the origin asking."""
    engine = request.app[ENGINE_KEY]
    q = request.query
    return_to, origin = q.get("return_to", ""), q.get("origin", "")
    if q.get("bot_id") != str(engine.config.bot_id):
        raise web.HTTPBadRequest(text="Bot invalid")
    parts = urlsplit(return_to)
    if not origin or f"{parts.scheme}://{parts.netloc}" != origin.rstrip("/"):
        raise web.HTTPBadRequest(text="Origin required")
    return return_to, origin


async def auth_page(request: web.Request) -> web.Response:
    """The confirmation page: "Log in to <bot> as …" for each user the sandbox knows."""
    return_to, origin = _checked(request)
    engine = request.app[ENGINE_KEY]
    rows = []
    for user in engine.state.users.values():
        query = urlencode({**request.query, "user_id": user.user_id})
        name = html.escape(user.first_name + (f" (@{user.username})" if user.username else ""))
        rows.append(f'<li><a class="as" data-user="{user.user_id}" '
                    f'href="/auth/confirm?{html.escape(query)}">{name}</a></li>')
    decline = html.escape(f"{return_to.split('#', 1)[0]}#tgAuthResult=false")
    body = (f"<!doctype html><meta charset='utf-8'><title>Log in</title>"
            f"<h1>Log in to {html.escape(engine.config.bot_first_name)}</h1>"
            f"<p>{html.escape(origin)} asks to see your Telegram name and photo.</p>"
            f"<ul>{''.join(rows) or '<li>No users yet: /start the bot first.</li>'}</ul>"
            f'<p><a id="decline" href="{decline}">Decline</a></p>')
    return web.Response(text=body, content_type="text/html")


async def auth_confirm(request: web.Request) -> web.StreamResponse:
    """The user confirmed: back to return_to with the signed data in the fragment."""
    return_to, _origin = _checked(request)
    engine = request.app[ENGINE_KEY]
    try:
        user: UserRecord = engine.state.users[int(request.query["user_id"])]
    except (KeyError, ValueError):
        raise web.HTTPNotFound(text="no such user") from None
    fields = sign_login_data(engine.config.token, {
        "id": user.user_id, "first_name": user.first_name, "last_name": user.last_name,
        "username": user.username}, int(engine.clock.now()))
    raise web.HTTPFound(f"{return_to.split('#', 1)[0]}#tgAuthResult={auth_result(fields)}")


def add_login_routes(app: web.Application) -> None:
    """oauth.telegram.org's /auth, as far as the Login Widget's redirect mode uses it."""
    app.router.add_get("/auth", auth_page)
    app.router.add_get("/auth/confirm", auth_confirm)
