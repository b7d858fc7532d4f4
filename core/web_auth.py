"""Signing in to the web dashboard: Mini App initData, the Telegram Login Widget, one-time links
from the bot, sessions (Google sign-in: core/google_signin.py).

Only users who completed sign-up in the bot get in (a `users` row exists only after age, terms
and privacy were accepted, core.users.register_user; a deleted user has none live). Sessions and
links are random tokens of which only the SHA-256 is stored (storage.models.web).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from core.clock import Clock
from core.users import get_user
from storage.models import User, WebSession, WebSigninLink
from storage.uow import UnitOfWorkFactory

LINK_TTL = timedelta(minutes=10)


def digest(token: str) -> str:
    """The stored form of a session or link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The session's CSRF token: derived from the cookie's secret, so nothing more is stored,
    and unguessable without it (double submit: the page echoes it in a form field or header)."""
    return hmac.new(session_token.encode(), b"csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, sent: str | None) -> bool:
    """Whether a request's CSRF token is this session's (constant-time)."""
    return bool(sent) and hmac.compare_digest(csrf_token(session_token), sent or "")


# ---------------------------------------------------------------- Mini App initData


@dataclass(frozen=True)
class WebAppUser:
    """Who Telegram says opened the Mini App."""

    user_id: int
    auth_date: datetime
    language_code: str | None = None


def init_data_user(
    bot_token: str, init_data: str, now: datetime, max_age: timedelta
) -> WebAppUser | None:
    """The user of a Mini App's initData when Telegram signed it and it is not older than
    `max_age`; None when tampered with, stale, or malformed.

    Telegram's algorithm (spec §6.8): secret = HMAC-SHA256(key="WebAppData", msg=bot_token);
    hash = hex HMAC-SHA256(key=secret, msg=data-check-string), the data-check-string being every
    field but `hash`, sorted by key, as `key=value` lines joined with "\\n". Telegram does not
    bound `auth_date`: a leaked initData would sign in forever, hence `max_age`.
    """
    try:
        fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return None
    sent = fields.pop("hash", "")
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not sent or not hmac.compare_digest(expected, sent):
        return None
    try:
        auth = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        return None
    if auth > now + timedelta(minutes=5) or now - auth > max_age:
        return None
    return WebAppUser(user_id, auth, user.get("language_code"))


# ---------------------------------------------------------------- Login Widget

# The fields Telegram's Login Widget sends (core.telegram.org/widgets/login, "Receiving
# authorization data"); anything else in a request is not signed by Telegram and is refused.
WIDGET_FIELDS = frozenset(
    {"id", "first_name", "last_name", "username", "photo_url", "auth_date", "hash"}
)


@dataclass(frozen=True)
class WidgetUser:
    """Who the Login Widget says signed in."""

    user_id: int
    auth_date: datetime
    first_name: str = ""
    username: str | None = None


def login_widget_user(
    bot_token: str, fields: dict[str, str], now: datetime, max_age: timedelta
) -> WidgetUser | None:
    """The user of the Login Widget's data when Telegram signed it and it is not older than
    `max_age`; None when tampered with, stale, malformed or carrying unknown fields.

    Telegram's check (core.telegram.org/widgets/login#checking-authorization): the
    data-check-string is every received field but `hash`, sorted by key, as `key=value` lines
    joined with "\\n"; secret_key = SHA256(bot_token) (unlike initData's HMAC with
    "WebAppData"); hash = hex HMAC-SHA256(key=secret_key, msg=data-check-string). `auth_date`
    must be checked by the site ("to prevent the use of outdated data"), hence `max_age`.
    """
    if not fields.keys() <= WIDGET_FIELDS or not all(isinstance(v, str) for v in fields.values()):
        return None
    data = dict(fields)
    sent = data.pop("hash", "")
    check = "\n".join(f"{k}={v}" for k, v in sorted(data.items()))
    secret = hashlib.sha256(bot_token.encode()).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not sent or not hmac.compare_digest(expected, sent):
        return None
    try:
        auth = datetime.fromtimestamp(int(data["auth_date"]), UTC)
        user_id = int(data["id"])
    except (KeyError, ValueError, OverflowError, OSError):
        return None
    if auth > now + timedelta(minutes=5) or now - auth > max_age:
        return None
    return WidgetUser(user_id, auth, data.get("first_name", ""), data.get("username"))


async def sign_in_login_widget(
    uow: UnitOfWorkFactory,
    clock: Clock,
    bot_token: str,
    fields: dict[str, str],
    user_agent: str,
    max_age: timedelta,
    lifetime: timedelta,
) -> Signed | None:
    """A session from the Login Widget's data; None when it is not Telegram's, is stale, or
    the user has not signed up in the bot."""
    who = login_widget_user(bot_token, fields, clock.now(), max_age)
    if who is None:
        return None
    return await start_session(uow, clock, who.user_id, user_agent, lifetime)


# ---------------------------------------------------------------- links and sessions


@dataclass(frozen=True)
class Signed:
    """A new session: the cookie's token (shown once, never stored) and who it is."""

    token: str
    user: User
    expires_at: datetime


async def issue_link(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> str | None:
    """A one-time sign-in token for a signed-up user (None otherwise), valid for LINK_TTL."""
    if await get_user(uow, user_id) is None:
        return None
    token, now = secrets.token_urlsafe(32), clock.now()
    async with uow() as u:
        u.web.add_link(WebSigninLink(id=digest(token), user_id=user_id, created_at=now,
                                     expires_at=now + LINK_TTL))
        await u.commit()
    return token


async def start_session(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, user_agent: str, lifetime: timedelta
) -> Signed | None:
    """A new session for a signed-up user (None for anyone else), however they proved who
    they are."""
    user = await get_user(uow, user_id)
    if user is None:
        return None
    token, now = secrets.token_urlsafe(32), clock.now()
    async with uow() as u:
        u.web.add_session(WebSession(id=digest(token), user_id=user_id, created_at=now,
                                     last_seen_at=now, expires_at=now + lifetime,
                                     user_agent=user_agent[:256]))
        await u.commit()
    return Signed(token, user, now + lifetime)


async def redeem_link(
    uow: UnitOfWorkFactory, clock: Clock, token: str, user_agent: str, lifetime: timedelta
) -> Signed | None:
    """Use a sign-in link once: a session for its user, or None when the link is unknown,
    used, expired, or its user is not (any more) signed up."""
    async with uow() as u:
        row = await u.web.use_link(digest(token), clock.now())
        await u.commit()
    if row is None:
        return None
    return await start_session(uow, clock, row.user_id, user_agent, lifetime)


async def sign_in_web_app(
    uow: UnitOfWorkFactory,
    clock: Clock,
    bot_token: str,
    init_data: str,
    user_agent: str,
    max_age: timedelta,
    lifetime: timedelta,
) -> Signed | None:
    """A session from a Mini App's initData; None when it is not Telegram's, is stale, or the
    user has not signed up in the bot."""
    who = init_data_user(bot_token, init_data, clock.now(), max_age)
    if who is None:
        return None
    return await start_session(uow, clock, who.user_id, user_agent, lifetime)


async def session_user(uow: UnitOfWorkFactory, clock: Clock, token: str) -> User | None:
    """The signed-up user of a live session cookie, or None."""
    if not token:
        return None
    now = clock.now()
    async with uow() as u:
        row = await u.web.session(digest(token), now)
        if row is None:
            return None
        if now - row.last_seen_at > timedelta(minutes=5):  # not a write per request
            await u.web.touch(row.id, now)
            await u.commit()
        user_id = row.user_id
    return await get_user(uow, user_id)


async def sign_out(uow: UnitOfWorkFactory, token: str) -> None:
    """End this session."""
    async with uow() as u:
        await u.web.end(digest(token))
        await u.commit()


async def sign_out_everywhere(uow: UnitOfWorkFactory, user_id: int) -> int:
    """End every session of the user; how many ended."""
    async with uow() as u:
        n = await u.web.end_all(user_id)
        await u.commit()
    return n


async def purge_expired(uow: UnitOfWorkFactory, clock: Clock) -> None:
    """Forget expired sessions and sign-in links (the hourly tick)."""
    async with uow() as u:
        await u.web.purge(clock.now())
        await u.commit()
