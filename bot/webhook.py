"""The Telegram webhook route when several instances serve one bot behind a balancer (issue 15).

Why each piece is here (telegram-bot-platform.md §5.2):

- **Handled before answering.** aiogram's SimpleRequestHandler answers `{}` at once and handles
  the update in a background task. Then an instance stopped or killed mid-handler has already
  told Telegram "delivered", and the update is lost. Here an update is handled first and
  answered after, so Telegram (or the balancer) retries what an instance did not finish.
  It also keeps a chat's order across instances: Telegram's Bot API server delivers one chat's
  updates one at a time, the next after the previous was answered (tdlib/telegram-bot-api
  WebhookActor queues by chat; the sandbox does the same, `webhook_chat_order`), and the FSM
  lock (RedisEventIsolation, taken for every update type, callback queries and payments
  included) keeps two instances off one chat even if that ever fails. A handler slower than
  `answer_within` is answered anyway and goes on in the background, as aiogram's
  feed_webhook_update does after 55 s: Telegram re-sends an unanswered update after about
  a minute.
- **Once by update_id.** Telegram re-sends an update it had no answer for in time, even if we
  handled it. The first instance to see an update_id claims it (Redis SET NX with a TTL when
  REDIS_URL is set, shared by instances; in-process otherwise, which is enough for the single
  instance a SQLite database allows). A repeat of a handled update is answered 200 and
  dropped; a repeat of one still being handled somewhere gets 503, so Telegram asks again
  later. A claim is a lease kept alive while the handler runs: an instance that dies
  mid-update loses it within `lease` seconds, and Telegram's next retry is handled elsewhere;
  what the first handling had sent is not sent again (bot/once_sends.py).
- **Draining.** After SIGTERM (`drain`) new updates get 503 (Telegram retries; the balancer
  moves on to another instance), the ones in hand get the grace period, and whatever is cut
  short gives its claim back and is answered 503 too, so it is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiohttp import web

from bot.once_sends import handling

log = logging.getLogger(__name__)

Claim = Literal["new", "busy", "done"]


class UpdateClaims(Protocol):
    """Who handles which update_id: claimed while handled, remembered once handled."""

    lease: float  # seconds a claim lives unless extended

    async def claim(self, update_id: int) -> Claim:
        """Claim an update for this instance: "new" (ours now), "busy" or "done" elsewhere."""

    async def extend(self, update_id: int) -> None:
        """Keep our claim alive while the handler runs."""

    async def finish(self, update_id: int) -> None:
        """Mark the update handled (remembered for the dedup period)."""

    async def release(self, update_id: int) -> None:
        """Give the claim back unhandled, so a retry is handled (here or elsewhere)."""

    async def close(self) -> None:
        """Free connections."""


class MemoryClaims:
    """Claims in this process: enough for one instance (SQLite allows no more). At most
    `keep` update ids are remembered (the oldest go first), so memory stays bounded however
    busy the bot; Telegram re-sends within minutes, long before that many newer updates."""

    def __init__(self, lease: float = 30.0, remember: float = 86400.0, keep: int = 100_000) -> None:
        self.lease, self.remember, self.keep = lease, remember, keep
        self._claims: OrderedDict[int, tuple[Claim, float]] = OrderedDict()
        self._next_prune = 0.0

    def _prune(self, now: float) -> None:
        # Amortised: at most once a minute walk the table and drop what expired.
        if now < self._next_prune:
            return
        self._next_prune = now + 60.0
        for update_id in [u for u, (_, until) in self._claims.items() if until <= now]:
            del self._claims[update_id]

    async def claim(self, update_id: int) -> Claim:
        """See UpdateClaims."""
        now = time.monotonic()
        self._prune(now)
        held = self._claims.get(update_id)
        if held is not None and held[1] > now:
            return held[0]
        self._claims[update_id] = ("busy", now + self.lease)
        while len(self._claims) > self.keep:
            self._claims.popitem(last=False)
        return "new"

    async def extend(self, update_id: int) -> None:
        """See UpdateClaims."""
        if self._claims.get(update_id, ("done", 0.0))[0] == "busy":
            self._claims[update_id] = ("busy", time.monotonic() + self.lease)

    async def finish(self, update_id: int) -> None:
        """See UpdateClaims."""
        self._claims[update_id] = ("done", time.monotonic() + self.remember)

    async def release(self, update_id: int) -> None:
        """See UpdateClaims."""
        self._claims.pop(update_id, None)

    async def close(self) -> None:
        """Nothing to free."""


# KEYS[1] claim key; ARGV[1] "busy:<owner>", ARGV[2] lease ms. Returns "new", "done" or "busy".
_CLAIM_LUA = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'new'
end
if v == 'done' then return 'done' end
return 'busy'
"""
# Only while the claim is still ours: KEYS[1]; ARGV[1] "busy:<owner>"; ARGV[2] "extend"|"release".
_OURS_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'release' then return redis.call('DEL', KEYS[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


class RedisClaims:
    """Claims shared by every instance through Redis; in-process while Redis is unreachable
    (a repeat delivery may then be handled twice, never lost)."""

    def __init__(
        self,
        redis: Any,
        bot_id: int,
        owner: str,
        lease: float = 30.0,
        remember: float = 86400.0,
        prefix: str = "ttpulse:update",
    ) -> None:
        self.redis, self.owner, self.lease = redis, owner, lease
        self.prefix = f"{prefix}:{bot_id}"
        self.lease_ms, self.remember_ms = int(lease * 1000), int(remember * 1000)
        self._claim = redis.register_script(_CLAIM_LUA)
        self._ours = redis.register_script(_OURS_LUA)
        self._fallback = MemoryClaims(lease, remember)

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:{update_id}"

    def _degraded(self, exc: BaseException) -> None:
        log.warning("webhook.claims_redis_unavailable", extra={"error": repr(exc)})

    async def claim(self, update_id: int) -> Claim:
        """See UpdateClaims."""
        try:
            got = await self._claim(
                keys=[self._key(update_id)], args=[f"busy:{self.owner}", self.lease_ms]
            )
        except Exception as exc:  # any Redis failure: handle rather than lose the update
            self._degraded(exc)
            return await self._fallback.claim(update_id)
        return "new" if got in (b"new", "new") else "done" if got in (b"done", "done") else "busy"

    async def extend(self, update_id: int) -> None:
        """See UpdateClaims."""
        with contextlib.suppress(Exception):
            await self._ours(
                keys=[self._key(update_id)],
                args=[f"busy:{self.owner}", "extend", self.lease_ms],
            )

    async def finish(self, update_id: int) -> None:
        """See UpdateClaims."""
        try:
            await self.redis.set(self._key(update_id), "done", px=self.remember_ms)
        except Exception as exc:  # the repeat, if any, is then handled again
            self._degraded(exc)
        await self._fallback.finish(update_id)

    async def release(self, update_id: int) -> None:
        """See UpdateClaims."""
        with contextlib.suppress(Exception):
            await self._ours(keys=[self._key(update_id)], args=[f"busy:{self.owner}", "release", 0])
        await self._fallback.release(update_id)

    async def close(self) -> None:
        """Close the Redis connection."""
        with contextlib.suppress(Exception):
            await self.redis.aclose()


@dataclass
class WebhookStats:
    """Counters for the metrics endpoint (observability reads them; nothing resets them)."""

    handled: int = 0
    duplicates: int = 0  # a repeat of an update already handled: answered, not handled again
    busy: int = 0  # a repeat while another delivery of it is being handled: 503
    refused_draining: int = 0  # updates answered 503 because this instance is stopping
    released: int = 0  # updates cut short by the shutdown grace, claim given back


@dataclass
class WebhookHandler:
    """POST handler of WEBHOOK_PATH: secret check, claim by update_id, handle, then answer."""

    dp: Dispatcher
    bot: Bot
    secret: str
    claims: UpdateClaims
    answer_within: float = 50.0
    draining: bool = False
    stats: WebhookStats = field(default_factory=WebhookStats)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        """Take one update from Telegram (or the balancer in front of us)."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(body="Unauthorized", status=401)
        if self.draining:
            self.stats.refused_draining += 1
            return _unavailable("draining")
        try:
            update = await request.json()
            update_id = int(update["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(body="Bad Request", status=400)
        claim = await self.claims.claim(update_id)
        if claim == "done":
            self.stats.duplicates += 1
            log.info("webhook.duplicate", extra={"update_id": update_id})
            return web.json_response({})
        if claim == "busy":
            self.stats.busy += 1
            log.info("webhook.busy", extra={"update_id": update_id})
            return _unavailable("busy")
        if self.draining:
            # The drain began while the claim was being taken: it waits only for the handlers
            # it saw start, so this one is handed back, not begun.
            await self.claims.release(update_id)
            self.stats.refused_draining += 1
            return _unavailable("draining")
        task = asyncio.create_task(self._handle(update_id, update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # asyncio.wait, not wait_for: a client that hangs up must not cancel the handler.
        await asyncio.wait({task}, timeout=self.answer_within)
        if task.cancelled():
            # Cut short by the drain, its claim given back: not answered 200, or Telegram
            # would take it as delivered and never send it again.
            return _unavailable("draining")
        return web.json_response({})

    async def _keep_claim(self, update_id: int) -> None:
        while True:
            await asyncio.sleep(self.claims.lease / 3)
            await self.claims.extend(update_id)

    async def _handle(self, update_id: int, update: dict[str, Any]) -> None:
        keeper = asyncio.create_task(self._keep_claim(update_id))
        finished = False
        try:
            with handling(update_id):  # a second handling of it sends nothing twice
                result = await self.dp.feed_raw_update(self.bot, update)
                if isinstance(result, TelegramMethod):
                    await self.dp.silent_call_request(self.bot, result)
            finished = True
        except asyncio.CancelledError:
            raise
        except Exception:  # dp.errors handles what it can; the rest is a bug, handled once
            log.exception("webhook.update_failed", extra={"update_id": update_id})
            finished = True
        finally:
            keeper.cancel()
            if finished:
                self.stats.handled += 1
                await asyncio.shield(self.claims.finish(update_id))
            else:
                self.stats.released += 1
                await asyncio.shield(self.claims.release(update_id))

    @property
    def in_flight(self) -> int:
        """Updates being handled right now."""
        return sum(1 for t in self._tasks if not t.done())

    async def drain(self, grace: float) -> None:
        """Refuse new updates; wait up to `grace` s for those in hand, then cut the rest short."""
        self.draining = True
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            log.info("webhook.draining", extra={"in_flight": len(pending), "grace": grace})
            await asyncio.wait(pending, timeout=grace)
        cut = [t for t in self._tasks if not t.done()]
        for task in cut:
            task.cancel()
        if cut:
            log.warning("webhook.cut_short", extra={"updates": len(cut)})
            await asyncio.wait(cut, timeout=5)


def _unavailable(reason: str) -> web.Response:
    # Telegram retries a non-2xx answer later; a balancer tries the next instance.
    return web.json_response(
        {"ok": False, "reason": reason}, status=503, headers={"Retry-After": "1"}
    )


def make_claims(
    redis_url: str | None, bot_id: int, owner: str, remember: float, lease: float = 30.0
) -> UpdateClaims:
    """Shared claims in Redis when configured, else in this process."""
    if redis_url:
        from redis.asyncio import Redis

        return RedisClaims(Redis.from_url(redis_url), bot_id, owner, lease, remember)
    return MemoryClaims(lease, remember)
