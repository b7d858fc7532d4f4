"""The instances' change bus: Redis pub/sub carrying which cached rows a commit changed.

Each instance publishes what its commits changed (storage/changes.py) and drops its copies of
what the others publish. Pub/sub delivers only to connected listeners, so an instance caches
nothing until its subscription is confirmed and drops every copy whenever the connection is
lost (what was published meanwhile is unknown); the health check notices a silent connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from redis.asyncio import Redis

from storage.changes import Changed, Changes

log = logging.getLogger(__name__)

CHANNEL = "ttpulse:row-changes"


class ChangeBus:
    """Publishes this instance's changes and applies the others' while `run()` runs."""

    def __init__(self, redis_url: str, changes: Changes, channel: str = CHANNEL) -> None:
        self._redis: Redis = Redis.from_url(redis_url, health_check_interval=5)
        self._changes = changes
        self._channel = channel
        self._me = uuid.uuid4().hex
        changes.require_bus(self.publish)

    async def publish(self, changed: Changed) -> None:
        """Tell the other instances (a failure is logged: their copies still age out)."""
        message = json.dumps({
            "from": self._me,
            "changed": {t: None if k is None else sorted(k, key=str) for t, k in changed.items()},
        })
        try:
            await self._redis.publish(self._channel, message)
        except Exception:  # the commit stands; the bus is best effort
            log.warning("change_bus.publish_failed", exc_info=True)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Listen until cancelled (or `stop` is set), reconnecting after a lost connection."""
        delay = 0.5
        while stop is None or not stop.is_set():
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while stop is None or not stop.is_set():
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self._changes.bus_up(True)
                        delay = 0.5
                    elif message["type"] == "message":
                        self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # reconnect after any failure of the connection
                log.warning("change_bus.disconnected", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                self._changes.bus_up(False)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _apply(self, raw: bytes | str) -> None:
        try:
            body: dict[str, Any] = json.loads(raw)
            if body.get("from") == self._me:
                return  # applied locally at commit already
            changed = body["changed"]
            self._changes.apply(
                {t: None if k is None else set(k) for t, k in changed.items()}
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            # Unreadable: assume anything changed.
            log.warning("change_bus.bad_message")
            self._changes.drop_all()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
