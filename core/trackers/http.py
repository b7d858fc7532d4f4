"""One HTTP base for the tracker clients: timeouts, error reasons, bounded retries, redaction.

Every tracker call goes through `TrackerHttp.request`, which turns whatever happened on the wire
into a decoded JSON value or a `TrackerError` with one of the reasons of core/trackers/base.py.
The API key never reaches a log line, an exception text or a `detail`: Binom 1 carries it in the
query string (spec §2), so every text that could hold the URL is redacted first.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp
from yarl import URL

from core import observe
from core.trackers.base import TrackerError

logger = logging.getLogger(__name__)

# Any api_key=… in a text (an echoed URL) is hidden even when the key was encoded unexpectedly.
_KEY_PARAM = re.compile(r"(api[_-]?key=)[^&\s\"'<>]+", re.IGNORECASE)
ANSWER_LIMIT = 300  # PushOutcome.answer and TrackerError.detail are trimmed to this
DEFAULT_TIMEOUT_S = 20.0
# Failures that concern the whole tracker, not one item: after one, a push stops calling.
TRACKER_WIDE = frozenset(
    {"bad_url", "bad_key", "wrong_kind", "edition", "timeout", "unavailable", "not_json"}
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with jitter for retryable failures, bounded in count and time."""

    max_attempts: int = 4
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is left to the next schedule

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based), equal jitter."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


DEFAULT_RETRY = RetryPolicy()


def trim(text: str, limit: int = ANSWER_LIMIT) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def loads(raw: bytes | str) -> Any:
    """Decode JSON keeping every non-integer number as Decimal (money never passes a float)."""
    return json.loads(raw, parse_float=Decimal, parse_constant=Decimal)


_DEC_MARK = "\u0000dec:"


def dumps(body: Any) -> bytes:
    """Encode JSON with each Decimal written as its exact digits (a JSON number, no float)."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return _DEC_MARK + plain(value)
        if isinstance(value, Mapping):
            return {str(k): mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body), ensure_ascii=False)
    text = re.sub(r'"\\u0000dec:(-?[0-9.]+)"', r"\1", text)
    return text.encode()


def answer_text(payload: Any) -> str:
    """A tracker's answer as its own words for the push log: JSON as JSON (never Python's
    repr of the decoded value), anything else as text."""
    if isinstance(payload, Mapping | list):
        return dumps(payload).decode()
    return str(payload)


def plain(value: Decimal) -> str:
    """A Decimal as fixed-point digits, never in exponent form ("1E+2" → "100")."""
    return format(value, "f")


_NUMBER_JUNK = str.maketrans("", "", ",% \u00a0$")


def to_decimal(value: Any) -> Decimal:
    """A tracker number (int, Decimal or text like "2,038" / "4.51%" / "-") as Decimal."""
    if value is None or isinstance(value, bool):
        return Decimal(int(value or 0))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # only reachable when a caller decoded JSON itself
        return Decimal(repr(value))
    text = str(value).translate(_NUMBER_JUNK)  # spec §2.1: thousands separators and %
    if text in ("", "-", "—", "null", "None"):
        return Decimal(0)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise TrackerError("wrong_kind", trim(f"not a number: {value!r}")) from None


def to_int(value: Any) -> int:
    """A tracker count as int (text or number)."""
    if type(value) is int:
        return value
    return int(to_decimal(value))


_DAY_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y.%m.%d", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%Y")


def parse_day(value: Any) -> date:
    """A report's day label ("2026-07-01", "01.07.2026", "2026-07-01 00:00:00") as a date."""
    text = str(value).strip()
    head = text[:10]
    if len(head) == 10 and head[4] == "-" and head[7] == "-":
        try:  # ISO, what Keitaro and Binom 2 send: no format parsing per row
            return date.fromisoformat(head)
        except ValueError:
            pass
    for fmt in _DAY_FORMATS:
        try:
            return datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise TrackerError("wrong_kind", trim(f"not a day: {value!r}"))


def retry_after_seconds(header: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_text(payload: Any) -> str | None:
    """The message of a JSON error body (`{"error": ...}`, `{"message": ...}`), if it is one."""
    if not isinstance(payload, dict):
        return None
    for key in ("error", "errors", "message"):
        value = payload.get(key)
        if value:
            if isinstance(value, dict | list):
                return json.dumps(value, ensure_ascii=False, default=str)
            return str(value)
    return None


Sleep = Callable[[float], Awaitable[None]]


class PushRun:
    """One push's calls: after a tracker-wide failure no more calls; raised if none got through."""

    def __init__(self) -> None:
        self.stopped: TrackerError | None = None
        self.reached = False  # some call got the tracker's own answer (even a refusal)

    def skipped(self) -> str | None:
        """The answer for an item not sent because the tracker already failed, else None."""
        if self.stopped is None:
            return None
        return trim(f"not sent: {self.stopped.reason}: {self.stopped.detail}")

    def failed(self, exc: TrackerError) -> str:
        """Record a failed call; the answer for its items."""
        if exc.reason in TRACKER_WIDE:
            self.stopped = exc
        else:
            self.reached = True
        return trim(f"{exc.reason}: {exc.detail}" if exc.detail else exc.reason)

    def answered(self) -> None:
        """Record a call the tracker answered."""
        self.reached = True

    def finish(self) -> None:
        """Raise the tracker-wide failure when nothing reached the tracker (status: failing)."""
        if self.stopped is not None and not self.reached:
            raise self.stopped


class TrackerHttp:
    """The HTTP side shared by the three clients: one logical call with retries and logging."""

    kind_label = "tracker"
    # How the pull use-case batches a report's campaigns: this many per `pull` call (None: all
    # in one) with up to `pull_parallel` calls in flight.
    pull_batch: int | None = None
    pull_parallel = 1

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = DEFAULT_TIMEOUT_S,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._session = session
        self._owns_session = session is None
        self.retry = retry
        self.timeout = timeout
        self._rng = rng or random.Random()
        self._sleep = sleep
        variants = {api_key, quote(api_key, safe=""), quote(api_key, safe="/"), quote_plus(api_key)}
        built = URL.build(query={"k": api_key})  # as aiohttp encodes it in a query
        variants.update((built.query_string[2:], built.raw_query_string[2:]))
        self._secrets = tuple(sorted((v for v in variants if v), key=len, reverse=True))

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session (created on first use when none was given)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the session if this client created it (a given session belongs to its owner)."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None if self._owns_session else self._session

    def redact(self, text: str) -> str:
        """The text with the API key (raw or URL-encoded) replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _KEY_PARAM.sub(r"\1***", text)

    def auth_headers(self) -> dict[str, str]:
        """Headers that carry the key; Binom 1 has none (the key is a query parameter)."""
        return {}

    async def request(
        self,
        method: str,
        path: str = "",
        *,
        op: str,
        params: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        body: Any = None,
        url: str | None = None,
        root: bool = False,
    ) -> Any:
        """One API call, retried within the policy; the decoded JSON, or TrackerError."""
        # `root` marks the call that proves the API is there (listing): a 404 on it means the
        # URL is not this kind's API (wrong_kind); elsewhere a 404 is a missing entity.
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(
                    method, url or self.base_url + path, op, params, body, root, attempt
                )
            except TrackerError as exc:
                if not exc.retryable or attempt >= self.retry.max_attempts:
                    raise
                delay = self.retry.delay(attempt, self._rng)
                if exc.retry_after is not None:
                    if exc.retry_after > self.retry.max_retry_after:
                        raise  # spec §3.4: honour it; the next schedule comes back later
                    delay = max(delay, exc.retry_after)
                if time.monotonic() - started + delay > self.retry.max_total_seconds:
                    raise
                logger.warning(
                    "tracker.retry",
                    extra={
                        "tracker": self.kind_label,
                        "op": op,
                        "attempt": attempt,
                        "delay_s": round(delay, 3),
                        "reason": exc.reason,
                    },
                )
                if exc.retry_after is not None:
                    # The tracker asked us to wait (429/503 Retry-After): a rate-limit wait.
                    observe.current().waited(self.kind_label, delay)
                await self._sleep(delay)

    async def _once(
        self,
        method: str,
        url: str,
        op: str,
        params: Mapping[str, Any] | list[tuple[str, str]] | None,
        body: Any,
        root: bool,
        attempt: int,
    ) -> Any:
        headers = {"Accept": "application/json", **self.auth_headers()}
        data: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = dumps(body)
        start = time.monotonic()
        status: int | None = None
        failure: TrackerError | None = None
        try:
            async with self.session.request(
                method,
                url,
                params=_query(params),
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                status = resp.status
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
                content_type = resp.headers.get("Content-Type", "")
                raw = await resp.read()
        except TimeoutError:
            failure = TrackerError(
                "timeout", f"no answer within {self.timeout:g} s", retryable=True
            )
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL, aiohttp.TooManyRedirects) as exc:
            # DNS failure, connection refused, unreachable host, a URL aiohttp cannot use.
            failure = TrackerError("bad_url", self._exc_text(exc))
        except aiohttp.ClientError as exc:
            # A reset or a broken reply mid-way: the tracker is there but faltered.
            failure = TrackerError("unavailable", self._exc_text(exc), retryable=True)
        if failure is not None:
            # Raised outside the except block: no __context__ holding the keyed URL.
            self._log(op, status, start, attempt, failure.reason)
            raise failure
        assert status is not None
        self._log(op, status, start, attempt, None if status < 400 else f"http_{status}")
        return self._decode(status, content_type, raw, retry_after, root)

    def _decode(
        self, status: int, content_type: str, raw: bytes, retry_after: float | None, root: bool
    ) -> Any:
        text = raw.decode("utf-8", "replace")
        if 200 <= status < 300 and not raw.strip():
            return None  # an empty success (204): nothing to decode
        try:
            payload: Any = loads(raw) if raw.strip() else None
            is_json = raw.strip() != b""
        except ValueError:
            payload, is_json = None, False
        said = self.redact(trim(error_text(payload) or (text if is_json else _html_title(text))))
        if is_json and status >= 400 and status != 429:
            try:
                self.check_payload(payload)  # Binom's key error comes with any status (§2.4)
            except TrackerError as exc:
                if exc.reason == "bad_key":
                    raise
        if status == 429 or status >= 500:
            raise TrackerError(
                "unavailable",
                f"HTTP {status}" + (f": {said}" if said else ""),
                retryable=True,
                retry_after=retry_after,
            )
        if status in (401, 403):
            raise TrackerError("bad_key", f"HTTP {status}" + (f": {said}" if said else ""))
        if status == 402:  # spec §1: Admin API only in PRO/Business editions
            raise TrackerError("edition", said or "HTTP 402")
        if status == 404:
            if root:  # the listing proves the API: nothing there, so not this kind's API
                raise TrackerError("wrong_kind", f"HTTP 404 at the API address: {said}".strip())
            raise TrackerError("not_found", said or "HTTP 404")
        if status >= 400:
            if not is_json and "json" not in content_type:
                raise TrackerError("refused", f"HTTP {status}: {said}")
            raise TrackerError("refused", said or f"HTTP {status}")
        if not is_json:
            what = "an HTML page" if _looks_html(text) else "no JSON"
            raise TrackerError("not_json", trim(f"answered {what}: {said}" if said else what))
        self.check_payload(payload)
        return payload

    def check_payload(self, payload: Any) -> None:
        """Raise for an error the tracker reports inside a 2xx JSON body (per kind)."""

    def _exc_text(self, exc: BaseException) -> str:
        return self.redact(trim(f"{type(exc).__name__}: {exc}"))

    def _log(
        self, op: str, status: int | None, start: float, attempt: int, failure: str | None
    ) -> None:
        # Never the URL, query or body: Binom 1 carries the key in the query (spec §2).
        seconds = time.monotonic() - start
        code = failure if failure is not None and status is None else str(status)
        observe.current().call(self.kind_label, op, code, seconds)
        logger.info(
            "tracker.call",
            extra={
                "tracker": self.kind_label,
                "op": op,
                "http_status": status,
                "attempt": attempt,
                "latency_ms": round(seconds * 1000, 1),
                "failure": failure,
            },
        )


def _query(params: Mapping[str, Any] | list[tuple[str, str]] | None) -> list[tuple[str, str]]:
    """Query pairs as text (Decimal as plain digits, bools as true/false, None left out)."""
    if params is None:
        return []
    items = params if isinstance(params, list) else list(params.items())
    out: list[tuple[str, str]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        elif isinstance(value, Decimal):
            out.append((key, plain(value)))
        else:
            out.append((key, str(value)))
    return out


def _looks_html(text: str) -> bool:
    """Whether a body is an HTML page (a login form, a proxy's error page)."""
    head = text.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or "<html" in head or head.startswith("<")


def _html_title(text: str) -> str:
    """A page's title, or its text without tags, to quote in an error."""
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if match:
        return match.group(1).strip()
    return re.sub(r"<[^>]+>", " ", text)
