"""Signing in to the web dashboard: Mini App initData, one-time links from the bot, sessions.

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


async def _start(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, user_agent: str, lifetime: timedelta
) -> Signed | None:
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
    return await _start(uow, clock, row.user_id, user_agent, lifetime)


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
    return await _start(uow, clock, who.user_id, user_agent, lifetime)


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
