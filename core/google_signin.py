"""Google sign-in to the web dashboard: OpenID Connect's authorization code flow (with PKCE,
`state` and `nonce`) through Authlib, and the link of a Google account to a Telegram user.

A Google account signs nobody in until its user linked it from the bot: Settings → Web
sign-in → "Link Google account" gives a one-time link (10 minutes, like /web's); opening it
runs the flow and stores the ID token's `sub` (Google's stable account id; the email is shown,
never used as a key) for that user. Then "Sign in with Google" on the sign-in page finds the
user by `sub`. Only users who finished sign-up get a session (core.web_auth.start_session).

The ID token is checked as OpenID Connect Core §3.1.3.7 asks (Authlib's CodeIDToken on a token
joserfc verified against the provider's JWKS): signature (RS256 only), `iss` equal to the
discovered issuer (Google also writes it without https://), `aud` our client id, `exp` not
past, `iat` not in the future, `nonce` the one this browser's flow sent.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet

from core.clock import Clock
from core.users import get_user
from storage.models import WebIdentity, WebOidcFlow
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

PROVIDER = "google"
GOOGLE_ISSUER = "https://accounts.google.com"
OFFER_TTL = timedelta(minutes=10)  # the bot's one-time "link Google" link
FLOW_TTL = timedelta(minutes=10)  # from leaving for the provider to coming back
ALGORITHMS = ("RS256",)  # what Google signs with; "none" and HS256 are never accepted


class Refused(Exception):
    """The round trip did not prove who the user is. `code`: state | provider | token |
    signature | iss | aud | expired | nonce | id_token | not_linked | taken | user."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class OidcConfig:
    """Where the provider is and who we are to it."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str  # PUBLIC_URL/app/google/callback, registered with the provider
    leeway: timedelta = timedelta(seconds=60)  # clock skew allowed on exp / iat


@dataclass(frozen=True)
class Verified:
    """What a checked ID token says."""

    subject: str
    email: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class OidcClient:
    """The provider's metadata and keys (fetched once, keys again on an unknown `kid`)."""

    config: OidcConfig
    timeout: float = 10.0
    _metadata: dict[str, Any] | None = field(default=None, repr=False)
    _jwks: dict[str, Any] | None = field(default=None, repr=False)

    async def _get(self, url: str) -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(self.timeout)) as http, \
                http.get(url) as resp:
            resp.raise_for_status()
            data: dict[str, Any] = await resp.json(content_type=None)
            return data

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (OpenID Connect Discovery 1.0 §4)."""
        if self._metadata is None:
            base = self.config.issuer.rstrip("/")
            try:
                self._metadata = await self._get(f"{base}/.well-known/openid-configuration")
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise Refused("provider", repr(exc)) from None
        return self._metadata

    async def keys(self, force: bool = False) -> KeySet:
        """The provider's signing keys."""
        if self._jwks is None or force:
            meta = await self.metadata()
            try:
                self._jwks = await self._get(str(meta["jwks_uri"]))
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                raise Refused("provider", repr(exc)) from None
        return KeySet.import_key_set(self._jwks)  # type: ignore[arg-type]

    async def authorize_url(self, state: str, nonce: str, verifier: str) -> str:
        """Where the browser goes to sign in at the provider (Core §3.1.2.1)."""
        meta = await self.metadata()
        return add_params_to_uri(str(meta["authorization_endpoint"]), [
            ("response_type", "code"), ("client_id", self.config.client_id),
            ("redirect_uri", self.config.redirect_uri), ("scope", "openid email"),
            ("state", state), ("nonce", nonce),
            ("code_challenge", create_s256_code_challenge(verifier)),
            ("code_challenge_method", "S256"), ("prompt", "select_account"),
        ])

    async def exchange(self, code: str, verifier: str) -> str:
        """The ID token for an authorization code (Core §3.1.3.1, client_secret_post)."""
        meta = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.config.redirect_uri, "client_id": self.config.client_id,
                "client_secret": self.config.client_secret, "code_verifier": verifier}
        try:
            async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(self.timeout)) as http, \
                    http.post(str(meta["token_endpoint"]), data=form,
                              headers={"Accept": "application/json"}) as resp:
                body = await resp.json(content_type=None)
                if resp.status != 200 or not isinstance(body, dict):
                    raise Refused("token", f"{resp.status} {body!r}"[:300])
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Refused("provider", repr(exc)) from None
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise Refused("token", "no id_token")
        return id_token

    async def verify(self, id_token: str, nonce: str, now: datetime) -> Verified:
        """The ID token's subject when every check of Core §3.1.3.7 passes; Refused with the
        first failing check's name otherwise."""
        meta = await self.metadata()
        issuer = str(meta.get("issuer", self.config.issuer))
        issuers = [issuer]
        if issuer == GOOGLE_ISSUER:  # Google's ID tokens may say either (its OIDC docs)
            issuers.append("accounts.google.com")
        try:
            try:
                token = jwt.decode(id_token, await self.keys(), algorithms=list(ALGORITHMS))
            except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
                token = jwt.decode(id_token, await self.keys(force=True),
                                   algorithms=list(ALGORITHMS))
            claims = CodeIDToken(
                token.claims, token.header,
                {"iss": {"essential": True, "values": issuers},
                 "aud": {"essential": True, "value": self.config.client_id}},
                {"nonce": nonce, "client_id": self.config.client_id},
            )
            claims.validate(now=int(now.timestamp()), leeway=int(self.config.leeway.seconds))
        except (BadSignatureError, InvalidKeyIdError):
            raise Refused("signature") from None
        except ExpiredTokenError:
            raise Refused("expired") from None
        except ClaimError as exc:
            code = exc.claim if exc.claim in ("iss", "aud", "nonce") else "id_token"
            raise Refused(code, exc.claim) from None
        except (JoseError, ValueError) as exc:
            raise Refused("id_token", repr(exc)) from None
        if not nonce or claims.get("nonce") != nonce:  # sent with every request: must be back
            raise Refused("nonce")
        email = claims.get("email")
        return Verified(str(claims["sub"]), str(email) if isinstance(email, str) else None)


# ---------------------------------------------------------------- use-cases


async def offer_link(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> str | None:
    """A one-time link token that starts linking a Google account to this (signed-up) user;
    None for anyone else. Only the newest offer works (a double tap leaves one live link)."""
    if await get_user(uow, user_id) is None:
        return None
    token, now = secrets.token_urlsafe(32), clock.now()
    async with uow() as u:
        await u.web.retire_offers(user_id, now)
        u.web.add_flow(WebOidcFlow(id=_digest(token), kind="offer", user_id=user_id,
                                   created_at=now, expires_at=now + OFFER_TTL))
        await u.commit()
    return token


async def take_offer(uow: UnitOfWorkFactory, clock: Clock, token: str) -> int | None:
    """Use a link offer once: its user, or None when unknown, used or expired."""
    async with uow() as u:
        row = await u.web.use_flow(_digest(token), "offer", clock.now())
        await u.commit()
    return row.user_id if row is not None else None


async def begin(uow: UnitOfWorkFactory, clock: Clock, client: OidcClient,
                user_id: int | None) -> tuple[str, str]:
    """Start a round trip: (the provider's URL, the `state` to bind to this browser). With
    `user_id` it links that user's account; without, it signs in."""
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(64)  # PKCE (RFC 7636): 86 characters
    url = await client.authorize_url(state, nonce, verifier)
    now = clock.now()
    async with uow() as u:
        u.web.add_flow(WebOidcFlow(id=_digest(state), kind="link" if user_id else "signin",
                                   user_id=user_id, nonce=nonce, verifier=verifier,
                                   created_at=now, expires_at=now + FLOW_TTL))
        await u.commit()
    return url, state


@dataclass(frozen=True)
class Finished:
    """Who the round trip signed in, and whether it linked their Google account just now."""

    user_id: int
    linked: bool
    email: str | None


async def finish(uow: UnitOfWorkFactory, clock: Clock, client: OidcClient, bound_state: str,
                 query: dict[str, str]) -> Finished:
    """The provider sent the browser back: check the state is the one this browser left with
    (its cookie) and unused, redeem the code, check the ID token, then link or sign in."""
    state = query.get("state", "")
    if not state or not bound_state or not secrets.compare_digest(state, bound_state):
        raise Refused("state")
    now = clock.now()
    async with uow() as u:
        flow = await u.web.use_flow(_digest(state), "link", now) or \
            await u.web.use_flow(_digest(state), "signin", now)
        await u.commit()
    if flow is None:
        raise Refused("state", "unknown, used or expired")
    if query.get("error") or not query.get("code"):
        raise Refused("provider", query.get("error", "no code"))
    id_token = await client.exchange(query["code"], flow.verifier)
    who = await client.verify(id_token, flow.nonce, now)
    if flow.kind == "link":
        assert flow.user_id is not None
        await _link(uow, clock, flow.user_id, who)
        return Finished(flow.user_id, True, who.email)
    async with uow() as u:
        found = await u.web.identity(PROVIDER, who.subject)
        if found is None:
            raise Refused("not_linked")
        found.last_used_at = now
        if who.email:
            found.email = who.email
        user_id = found.user_id
        await u.commit()
    return Finished(user_id, False, who.email)


async def _link(uow: UnitOfWorkFactory, clock: Clock, user_id: int, who: Verified) -> None:
    if await get_user(uow, user_id) is None:
        raise Refused("user")
    now = clock.now()
    async with uow() as u:
        taken = await u.web.identity(PROVIDER, who.subject)
        if taken is not None and taken.user_id != user_id:
            raise Refused("taken")  # one Google account signs in one Telegram user
        mine = await u.web.identity_of(user_id, PROVIDER)
        if mine is not None and mine.subject != who.subject:
            await u.web.remove_identity(user_id, PROVIDER)
            await u.session.flush()
            mine = None
        if mine is None:
            u.web.add_identity(WebIdentity(user_id=user_id, provider=PROVIDER,
                                           subject=who.subject, email=who.email,
                                           created_at=now, last_used_at=now))
        else:
            mine.email, mine.last_used_at = who.email, now
        u.audit.record(user_id, "web.google_linked", "user", user_id,
                       {"email": who.email or ""})
        await u.commit()


async def linked(uow: UnitOfWorkFactory, user_id: int) -> WebIdentity | None:
    """The user's linked Google account, if any."""
    async with uow() as u:
        return await u.web.identity_of(user_id, PROVIDER)


async def unlink(uow: UnitOfWorkFactory, user_id: int) -> bool:
    """Unlink the user's Google account (it signs nobody in any more); whether one was linked.
    Sessions already open stay (Settings → Sign out everywhere ends them)."""
    async with uow() as u:
        gone = await u.web.remove_identity(user_id, PROVIDER)
        if gone:
            u.audit.record(user_id, "web.google_unlinked", "user", user_id)
        await u.commit()
    return bool(gone)
