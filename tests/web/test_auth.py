"""Signing in to the dashboard: Mini App initData (valid, tampered, stale, another bot's),
one-time links (single use, expired, only for signed-up users), sessions and sign-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core import web_auth
from core.clock import FixedClock
from core.users import SignUp, register_user
from sandbox.telegram.webapp import sign_init_data
from storage.db import session_factory
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring

TOKEN = "7100000001:WebTestToken"
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LIFE = timedelta(days=30)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def signed_up(uow: UnitOfWorkFactory, uid: int) -> None:
    await register_user(uow, FixedClock(NOW), SignUp(uid, "Ann", None, None, "en",
                                                     "Europe/Berlin", None, False))


def init_data(uid: int = 42, at: datetime = NOW, token: str = TOKEN) -> str:
    return sign_init_data(token, {"id": uid, "first_name": "Ann", "language_code": "en"},
                          int(at.timestamp()))


def test_init_data_valid_tampered_stale_and_foreign() -> None:
    good = web_auth.init_data_user(TOKEN, init_data(), NOW, DAY)
    assert good is not None and good.user_id == 42 and good.language_code == "en"
    # Another user id with the first one's hash: refused.
    fields = dict(parse_qsl(init_data()))
    fields["user"] = fields["user"].replace('"id":42', '"id":43')
    assert web_auth.init_data_user(TOKEN, urlencode(fields), NOW, DAY) is None
    # A later auth_date grafted on: refused.
    fields = dict(parse_qsl(init_data(at=NOW - 2 * DAY)))
    fields["auth_date"] = str(int(NOW.timestamp()))
    assert web_auth.init_data_user(TOKEN, urlencode(fields), NOW, DAY) is None
    # Signed, but older than the bound; or signed by another bot's token; or no hash at all.
    assert web_auth.init_data_user(TOKEN, init_data(at=NOW - DAY - timedelta(seconds=1)),
                                   NOW, DAY) is None
    assert web_auth.init_data_user(TOKEN, init_data(token="1:other"), NOW, DAY) is None
    no_hash = urlencode({k: v for k, v in parse_qsl(init_data()) if k != "hash"})
    assert web_auth.init_data_user(TOKEN, no_hash, NOW, DAY) is None
    assert web_auth.init_data_user(TOKEN, "garbage", NOW, DAY) is None


async def test_init_data_signs_in_only_signed_up_users(uow: UnitOfWorkFactory) -> None:
    clock = FixedClock(NOW)
    assert await web_auth.sign_in_web_app(uow, clock, TOKEN, init_data(42), "ua", DAY,
                                          LIFE) is None
    await signed_up(uow, 42)
    signed = await web_auth.sign_in_web_app(uow, clock, TOKEN, init_data(42), "ua", DAY, LIFE)
    assert signed is not None and signed.user.id == 42
    who = await web_auth.session_user(uow, clock, signed.token)
    assert who is not None and who.id == 42
    await web_auth.sign_out(uow, signed.token)
    assert await web_auth.session_user(uow, clock, signed.token) is None


async def test_link_is_single_use_expires_and_needs_sign_up(uow: UnitOfWorkFactory) -> None:
    clock = FixedClock(NOW)
    assert await web_auth.issue_link(uow, clock, 7) is None  # never signed up
    await signed_up(uow, 7)
    token = await web_auth.issue_link(uow, clock, 7)
    assert token is not None
    signed = await web_auth.redeem_link(uow, clock, token, "ua", LIFE)
    assert signed is not None and signed.user.id == 7
    assert await web_auth.redeem_link(uow, clock, token, "ua", LIFE) is None  # used
    late = await web_auth.issue_link(uow, clock, 7)
    assert late is not None
    after = FixedClock(NOW + web_auth.LINK_TTL + timedelta(seconds=1))
    assert await web_auth.redeem_link(uow, after, late, "ua", LIFE) is None  # expired
    assert await web_auth.redeem_link(uow, clock, "forged", "ua", LIFE) is None


async def test_sessions_expire_and_sign_out_everywhere(uow: UnitOfWorkFactory) -> None:
    clock = FixedClock(NOW)
    await signed_up(uow, 9)
    a = await web_auth.sign_in_web_app(uow, clock, TOKEN, init_data(9), "a", DAY, LIFE)
    b = await web_auth.sign_in_web_app(uow, clock, TOKEN, init_data(9), "b", DAY, LIFE)
    assert a is not None and b is not None
    assert await web_auth.session_user(uow, FixedClock(NOW + LIFE), a.token) is None
    assert await web_auth.sign_out_everywhere(uow, 9) == 2
    assert await web_auth.session_user(uow, clock, b.token) is None


def test_csrf_token_is_the_sessions_own() -> None:
    assert web_auth.csrf_ok("s1", web_auth.csrf_token("s1"))
    assert not web_auth.csrf_ok("s1", web_auth.csrf_token("s2"))
    assert not web_auth.csrf_ok("s1", None) and not web_auth.csrf_ok("s1", "")


async def test_expired_sessions_and_links_are_purged(uow: UnitOfWorkFactory) -> None:
    from sqlalchemy import func, select

    from storage.models import WebSession, WebSigninLink

    clock = FixedClock(NOW)
    await signed_up(uow, 11)
    await web_auth.sign_in_web_app(uow, clock, TOKEN, init_data(11), "ua", DAY, LIFE)
    await web_auth.issue_link(uow, clock, 11)
    await web_auth.purge_expired(uow, FixedClock(NOW + web_auth.LINK_TTL))
    async with uow() as u:
        assert await u.session.scalar(select(func.count()).select_from(WebSigninLink)) == 0
        assert await u.session.scalar(select(func.count()).select_from(WebSession)) == 1
    await web_auth.purge_expired(uow, FixedClock(NOW + LIFE))
    async with uow() as u:
        assert await u.session.scalar(select(func.count()).select_from(WebSession)) == 0
