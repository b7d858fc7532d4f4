"""HTTP transport for the Marketing API: encoding, envelope, errors, retries, logging."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp

from core import observe
from core.gc_pause import gc_paused
from core.tiktok.errors import (
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TikTokError,
    TransportError,
    error_for_code,
)
from core.tiktok.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

API_PREFIX = "/open_api/v1.3/"
PARTIAL_SUCCESS = 20001  # spec §1.5: batch partly applied; the caller inspects data


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with jitter for retryable errors, bounded in count and time."""

    max_attempts: int = 5
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based), equal jitter."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class Reply:
    """A decoded successful envelope."""

    data: Any
    code: int
    request_id: str | None


FormFactory = Callable[[], aiohttp.FormData]


def encode_query(params: Mapping[str, Any]) -> dict[str, str]:
    """Encode GET params: lists/objects as one JSON value each, bools as true/false (§1.4)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple | dict):
            out[key] = json.dumps(value, default=_json_default)
        else:
            out[key] = str(value)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Mapping[str, Any]) -> bytes:
    """JSON-encode a request body; Decimal money becomes a JSON number."""
    return json.dumps(body, default=_json_default).encode()


class Transport:
    """Sends one logical API call with rate limiting, retries and structured logging."""

    def __init__(
        self,
        *,
        base_url: str,
        session: aiohttp.ClientSession | None,
        limiter: RateLimiter,
        retry: RetryPolicy,
        request_timeout: float,
        secrets: tuple[str, ...] = (),
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/") + API_PREFIX
        self._session = session
        self._owns_session = session is None
        self.limiter = limiter
        self.retry = retry
        self.request_timeout = request_timeout
        self._secrets = tuple(s for s in secrets if s)
        self._rng = rng or random.Random()
        self._sleep = sleep

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared session (created on first use when none was given)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the session if this transport created it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        form: FormFactory | None = None,
        idempotent: bool = True,
        parse: Callable[[Any], Any] | None = None,
    ) -> Reply:
        """Perform one API call, retrying retryable failures within the retry policy.

        `parse`, if given, turns a successful reply's `data` into what the caller keeps, right
        as the body is decoded (a report page into its rows: the decoded page is dropped then,
        not kept and walked again); `Reply.data` is its result.

        `idempotent=False` is for writes TikTok does not de-duplicate (ad creation, uploads):
        a timeout or a 5xx may come after TikTok carried the call out, so sending it again
        could make a second object. Only a rate-limit refusal (nothing was done) is retried
        here; anything else goes to the caller, who looks before sending again."""
        started: float | None = None
        attempt = 0
        while True:
            attempt += 1
            asked = time.monotonic()
            await self.limiter.acquire()
            observe.current().waited("tiktok", time.monotonic() - asked)
            if started is None:
                # The time budget covers retries, not the first wait for a rate-limit slot.
                started = time.monotonic()
            remaining = self.retry.max_total_seconds - (time.monotonic() - started)
            timeout = min(self.request_timeout, max(remaining, 1.0))
            try:
                return await self._send(
                    method, path, token, params, body, form, attempt, timeout, parse
                )
            except TikTokError as exc:
                if not exc.retryable or attempt >= self.retry.max_attempts:
                    raise
                if not idempotent and not isinstance(exc, RateLimitedError):
                    raise
                delay = self.retry.delay(attempt, self._rng)
                if time.monotonic() - started + delay > self.retry.max_total_seconds:
                    raise
                logger.warning(
                    "tiktok.retry",
                    extra={
                        "path": path,
                        "attempt": attempt,
                        "delay_s": round(delay, 3),
                        "error": type(exc).__name__,
                        "code": exc.code,
                    },
                )
                if isinstance(exc, RateLimitedError):  # TikTok said slow down: a rate-limit wait
                    observe.current().waited("tiktok", delay)
                await self._sleep(delay)

    async def _send(
        self,
        method: str,
        path: str,
        token: str | None,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        form: FormFactory | None,
        attempt: int,
        timeout_s: float,
        parse: Callable[[Any], Any] | None = None,
    ) -> Reply:
        headers: dict[str, str] = {}
        if token:
            headers["Access-Token"] = token  # spec §1.2: a header, not Bearer
        data: Any = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = dumps(body)
        elif form is not None:
            data = form()  # rebuilt per attempt: a FormData payload is single-use
        start = time.monotonic()
        status: int | None = None
        try:
            async with self.session.request(
                method,
                self.base_url + path,
                params=encode_query(params or {}),
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError as exc:
            self._log(path, None, None, start, attempt, status, "timeout")
            raise TransportError(f"timeout after {timeout_s:.1f}s", path=path) from exc
        except aiohttp.ClientError as exc:
            self._log(path, None, None, start, attempt, status, type(exc).__name__)
            msg = self._redact(f"{type(exc).__name__}: {exc}", token)
            raise TransportError(msg, path=path) from exc
        # A report page of 1,000 rows decodes into thousands of small dicts and parses into
        # columns at once: so many short-lived containers set off the cyclic collector's
        # generation-0 passes (and older ones) over and over, for nothing (they are freed by
        # reference counting). It is held off for this synchronous piece (no await inside).
        with gc_paused():
            return self._decode(path, status, raw, start, attempt, parse)

    def _decode(
        self,
        path: str,
        status: int,
        raw: bytes,
        start: float,
        attempt: int,
        parse: Callable[[Any], Any] | None = None,
    ) -> Reply:
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or "code" not in payload:
            # spec §1.5: gateways answer with non-JSON bodies (HTML 504...); retry those.
            self._log(path, None, None, start, attempt, status, "non_json")
            snippet = raw[:120].decode("utf-8", "replace")
            kwargs = {"path": path, "http_status": status}
            if status == 429:
                raise RateLimitedError(f"HTTP 429: {snippet}", **kwargs)
            if status == 403:
                raise PermissionDeniedError(f"HTTP 403: {snippet}", **kwargs)
            if 400 <= status < 500:
                raise InvalidRequestError(f"HTTP {status}: {snippet}", **kwargs)
            raise ServerError(f"HTTP {status}: non-JSON reply: {snippet}", **kwargs)
        request_id = payload.get("request_id")
        request_id = str(request_id) if request_id is not None else None
        try:
            code = int(payload.get("code"))
        except (TypeError, ValueError):
            code = -1
        message = str(payload.get("message") or "")
        self._log(path, request_id, code, start, attempt, status, None)
        if status >= 500:
            raise ServerError(
                f"HTTP {status}: {message}",
                code=code,
                request_id=request_id,
                path=path,
                http_status=status,
            )
        if code in (0, PARTIAL_SUCCESS):
            data = payload.get("data")
            return Reply(data if parse is None else parse(data), code, request_id)
        if code == -1:
            raise ServerError("reply without a numeric code", request_id=request_id, path=path)
        raise error_for_code(code, message, request_id=request_id, path=path)

    def _log(
        self,
        path: str,
        request_id: str | None,
        code: int | None,
        start: float,
        attempt: int,
        status: int | None,
        failure: str | None,
    ) -> None:
        # Never the token, the secret, the query or the body: they can carry credentials.
        seconds = time.monotonic() - start
        if failure is not None:
            outcome = failure
        elif status is not None and status >= 500:
            outcome = f"http_{status}"
        else:
            outcome = str(code)
        observe.current().call("tiktok", path, outcome, seconds)
        logger.info(
            "tiktok.call",
            extra={
                "path": path,
                "request_id": request_id,
                "code": code,
                "latency_ms": round(seconds * 1000, 1),
                "attempt": attempt,
                "http_status": status,
                "failure": failure,
            },
        )

    def _redact(self, text: str, token: str | None) -> str:
        for secret in (*self._secrets, token or ""):
            if secret:
                text = text.replace(secret, "***")
        return text
