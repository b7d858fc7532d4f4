"""Typed TikTok Marketing API errors, grouped by what the caller must do (spec §8.1)."""

from __future__ import annotations

from core.tiktok.scopes import optional_group_of


class TikTokError(Exception):
    """Base of every error the TikTok client raises."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        request_id: str | None = None,
        path: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.path = path
        self.http_status = http_status

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.path:
            parts.append(f"path={self.path}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class TokenInvalidError(TikTokError):
    """The access token is missing, expired or revoked: the user must reconnect."""

    @property
    def revoked(self) -> bool:
        """TikTok refused the token itself for good (expired or revoked, spec §8.1), as opposed
        to a request that carried no token (40104: our fault, not the user's revocation)."""
        return self.code in REVOKED_CODES


class AuthCodeError(TokenInvalidError):
    """The OAuth auth code is expired or already used: restart the consent flow."""


class PermissionDeniedError(TikTokError):
    """The token has no permission for that advertiser, object or scope."""


class ScopeMissingError(PermissionDeniedError):
    """An optional endpoint refused because the token lacks its scope (40001 or 40130 on a
    comment/pixel/audience/catalog path, spec §8.1, §9): the user must grant it at TikTok by
    reconnecting. Never retried; `group` names the missing feature group."""

    def __init__(self, message: str, *, group: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.group = group


class InvalidRequestError(TikTokError):
    """TikTok rejected the request (validation, unknown object...); TikTok's message says why."""


class RateLimitedError(TikTokError):
    """The app exceeded its request rate (40100 and friends); retry after a back-off."""

    retryable = True


class ServerError(TikTokError):
    """TikTok-side failure (5xxxx codes, HTTP 5xx, non-JSON gateway replies); retryable."""

    retryable = True


class TransportError(ServerError):
    """The request never got a usable reply (connection reset, timeout)."""


# spec §8.1 / §8.2: codes real clients back off and retry on.
_RATE_LIMIT_CODES = frozenset({40100, 40132, 61000})
_RETRYABLE_CODES = frozenset({40200, 40201, 40202, 40700, 50000, 50002, 60001})
_TOKEN_CODES = frozenset({40102, 40103, 40104, 40105, 40107})
# Advertiser tokens do not expire (spec §2.4): these mean the authorization was withdrawn.
REVOKED_CODES = frozenset({40102, 40105})
_PERMISSION_CODES = frozenset(
    {40001, 40003, 40013, 40113, 40114, 40124, 40125, 40130, 40300, 40301}
)

# A missing scope: TikTok's table has both (spec §8.1); which one it sends is not documented.
_SCOPE_CODES = frozenset({40001, 40130})


def error_for_code(
    code: int,
    message: str,
    *,
    request_id: str | None = None,
    path: str | None = None,
) -> TikTokError:
    """Map a non-zero API `code` to the matching error class (spec §8.1)."""
    kwargs = {"code": code, "request_id": request_id, "path": path, "http_status": 200}
    if code in _RATE_LIMIT_CODES:
        return RateLimitedError(message, **kwargs)
    if code in _RETRYABLE_CODES or 51000 <= code <= 52999:
        return ServerError(message, **kwargs)
    if code == 40110:
        return AuthCodeError(message, **kwargs)
    if code in _TOKEN_CODES:
        return TokenInvalidError(message, **kwargs)
    if code in _SCOPE_CODES and (group := optional_group_of(path)) is not None:
        return ScopeMissingError(message, group=group, **kwargs)
    if code in _PERMISSION_CODES:
        return PermissionDeniedError(message, **kwargs)
    return InvalidRequestError(message, **kwargs)
