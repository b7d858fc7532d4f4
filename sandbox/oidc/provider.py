"""An OpenID Connect provider shaped like Google's, for the demo and the tests, offline.

Endpoints (OpenID Connect Core 1.0 and Discovery 1.0, as Google serves them):
`/.well-known/openid-configuration`, `/authorize` (a consent page where the demo user picks an
email; the authorization code flow only, PKCE S256 honoured), `/token` (client_secret_post or
client_secret_basic), `/jwks` (the RS256 public key), `/userinfo`. ID tokens carry iss, aud,
azp, sub, email, email_verified, name, iat, exp and the request's nonce.

`config.fault` makes the next ID tokens wrong in one way (tests of the client's refusals):
"aud", "iss", "expired", "signature" (signed by a key the JWKS does not have, under its kid),
"nonce". `config.now` is the provider's clock (epoch seconds).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "ttpulse-sandbox.apps.example"
CLIENT_SECRET = "sandbox-oidc-secret"
# The demo's Google accounts: email → display name.
ACCOUNTS = {"demo@example.com": "Demo User", "agency@example.com": "Agency Buyer"}
FAULTS = ("aud", "iss", "expired", "signature", "nonce")


@dataclass
class OidcConfig:
    """The provider's knobs."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    accounts: dict[str, str] = field(default_factory=lambda: dict(ACCOUNTS))
    fault: str | None = None
    now: Callable[[], float] = time.time
    token_seconds: int = 3600


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    email: str
    nonce: str | None
    challenge: str | None
    scope: str


def subject_of(email: str) -> str:
    """A Google-like numeric `sub`, stable for an email (Google's never changes)."""
    return "1" + str(int(hashlib.sha256(email.lower().encode()).hexdigest(), 16))[:20]


class Provider:
    """The provider's state: its signing key, issued codes and access tokens."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self.issuer = ""  # set when the server listens
        self.key = RSAKey.generate_key(2048, parameters={"kid": "sandbox-oidc-1", "use": "sig"})
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, str] = {}  # access token → email

    def discovery(self) -> dict[str, Any]:
        """The discovery document (Discovery 1.0 §3)."""
        i = self.issuer
        return {
            "issuer": i, "authorization_endpoint": f"{i}/authorize",
            "token_endpoint": f"{i}/token", "userinfo_endpoint": f"{i}/userinfo",
            "jwks_uri": f"{i}/jwks", "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "client_secret_basic"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "name",
                                 "sub", "nonce"],
            "code_challenge_methods_supported": ["plain", "S256"],
        }

    def grant(self, grant: _Grant) -> str:
        """A one-time authorization code."""
        code = secrets.token_urlsafe(24)
        self._codes[code] = grant
        return code

    def redeem(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """The token response for a code, or raises web.HTTPException with OAuth's error."""
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id != self.config.client_id or not secrets.compare_digest(
                secret, self.config.client_secret):
            raise _error(401, "invalid_client")
        if form.get("grant_type") != "authorization_code":
            raise _error(400, "unsupported_grant_type")
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.client_id != client_id or \
                grant.redirect_uri != form.get("redirect_uri"):
            raise _error(400, "invalid_grant")
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                raise _error(400, "invalid_grant")
        access = secrets.token_urlsafe(24)
        self._tokens[access] = grant.email
        return {"access_token": access, "token_type": "Bearer",
                "expires_in": self.config.token_seconds, "scope": grant.scope,
                "id_token": self.id_token(grant)}

    def id_token(self, grant: _Grant) -> str:
        """The RS256-signed ID token for the grant (spoiled as `config.fault` says)."""
        now = int(self.config.now())
        fault = self.config.fault
        claims: dict[str, Any] = {
            "iss": "https://elsewhere.example" if fault == "iss" else self.issuer,
            "aud": "someone-else.apps.example" if fault == "aud" else grant.client_id,
            "azp": grant.client_id,
            "sub": subject_of(grant.email), "email": grant.email, "email_verified": True,
            "name": self.config.accounts.get(grant.email, ""),
            "iat": now - 7200 if fault == "expired" else now,
            "exp": now - 3600 if fault == "expired" else now + self.config.token_seconds,
        }
        if grant.nonce is not None:
            claims["nonce"] = "not-the-nonce-sent" if fault == "nonce" else grant.nonce
        key = self.key
        if fault == "signature":  # a forger's key, claiming to be ours
            key = RSAKey.generate_key(2048, parameters={"kid": self.key.kid})
        return jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, key)


def _error(status: int, code: str) -> web.HTTPException:
    cls = web.HTTPUnauthorized if status == 401 else web.HTTPBadRequest
    return cls(text=f'{{"error": "{code}"}}', content_type="application/json")


PROVIDER_KEY = web.AppKey("oidc_provider", Provider)


async def _discovery(request: web.Request) -> web.Response:
    return web.json_response(request.app[PROVIDER_KEY].discovery())


async def _jwks(request: web.Request) -> web.Response:
    return web.json_response(KeySet([request.app[PROVIDER_KEY].key]).as_dict(private=False))


def _authz_params(request: web.Request) -> dict[str, str]:
    p = request.app[PROVIDER_KEY]
    q = dict(request.query)
    if q.get("client_id") != p.config.client_id:
        raise web.HTTPBadRequest(text="Error 401: invalid_client (unknown client_id)")
    if not q.get("redirect_uri", "").startswith(("http://", "https://")):
        raise web.HTTPBadRequest(text="Error 400: redirect_uri_mismatch")
    if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
        raise web.HTTPBadRequest(text="Error 400: invalid_request (response_type, scope)")
    if q.get("code_challenge") and q.get("code_challenge_method") != "S256":
        raise web.HTTPBadRequest(text="Error 400: invalid_request (code_challenge_method)")
    return q


async def _authorize(request: web.Request) -> web.Response:
    """The consent page: "Choose an account" with the demo's emails."""
    p, q = request.app[PROVIDER_KEY], _authz_params(request)
    items = "".join(
        f'<li><a class="account" data-email="{html.escape(email)}" '
        f'href="/authorize/pick?{html.escape(urlencode({**q, "email": email}))}">'
        f"{html.escape(name)} &lt;{html.escape(email)}&gt;</a></li>"
        for email, name in p.config.accounts.items())
    deny = html.escape(f"{q['redirect_uri']}?"
                       + urlencode({"error": "access_denied", "state": q.get("state", "")}))
    body = ("<!doctype html><meta charset='utf-8'><title>Sign in - Sandbox Google</title>"
            "<h1>Choose an account</h1><p>to continue to TTPulse (sandbox provider)</p>"
            f"<ul>{items}</ul><p><a id='deny' href='{deny}'>Cancel</a></p>")
    return web.Response(text=body, content_type="text/html")


async def _pick(request: web.Request) -> web.StreamResponse:
    """The user picked an account: back to the client with a code and the state."""
    p, q = request.app[PROVIDER_KEY], _authz_params(request)
    email = q.get("email", "")
    if email not in p.config.accounts:
        raise web.HTTPBadRequest(text="unknown account")
    code = p.grant(_Grant(q["client_id"], q["redirect_uri"], email, q.get("nonce"),
                          q.get("code_challenge") or None, q.get("scope", "")))
    sep = "&" if "?" in q["redirect_uri"] else "?"
    raise web.HTTPFound(q["redirect_uri"] + sep + urlencode({"code": code,
                                                             "state": q.get("state", "")}))


async def _token(request: web.Request) -> web.Response:
    p = request.app[PROVIDER_KEY]
    form = {k: str(v) for k, v in (await request.post()).items()}
    basic = None
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        from urllib.parse import unquote

        user, _sep, pw = base64.b64decode(auth[6:]).decode().partition(":")
        basic = (unquote(user), unquote(pw))
    return web.json_response(p.redeem(form, basic), headers={"Cache-Control": "no-store"})


async def _userinfo(request: web.Request) -> web.Response:
    p = request.app[PROVIDER_KEY]
    email = p._tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
    if email is None:
        raise web.HTTPUnauthorized()
    return web.json_response({"sub": subject_of(email), "email": email, "email_verified": True,
                              "name": p.config.accounts.get(email, "")})


def build_app(config: OidcConfig | None = None) -> web.Application:
    """The provider's aiohttp application."""
    app = web.Application()
    app[PROVIDER_KEY] = Provider(config or OidcConfig())
    app.router.add_get("/.well-known/openid-configuration", _discovery)
    app.router.add_get("/jwks", _jwks)
    app.router.add_get("/authorize", _authorize)
    app.router.add_get("/authorize/pick", _pick)
    app.router.add_post("/token", _token)
    app.router.add_get("/userinfo", _userinfo)
    return app


@dataclass
class RunningProvider:
    """A started provider: its issuer URL (the discovery base) and client credentials."""

    url: str
    app: web.Application
    runner: web.AppRunner

    @property
    def provider(self) -> Provider:
        return self.app[PROVIDER_KEY]

    @property
    def config(self) -> OidcConfig:
        return self.provider.config

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_provider(host: str = "127.0.0.1", port: int = 0,
                         config: OidcConfig | None = None) -> RunningProvider:
    """Start the provider in the running loop; port 0 picks a free port."""
    app = build_app(config)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound = int(address[1])
            break
    url = f"http://{host}:{bound}"
    app[PROVIDER_KEY].issuer = url
    return RunningProvider(url, app, runner)
