"""Sandbox state kept in a file across restarts (the offline demo keeps its own in data/).

The real TikTok and Telegram remember what happened when TTPulse or they restart: what was
paused or launched, the chats, the files, the Stars payments. An emulator that starts afresh
forgets it, and the demo's next run contradicts the database it shares with the service. So a
stand-in with a state file saves what it knows every few seconds and at stop (pickled, written
atomically), and takes it up at its next start — unless it was saved by code of another shape
(records this code reads could be missing), or for another setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)
SAVE_EVERY = 5.0  # seconds: what a crash of the demo can lose


def shape(module: ModuleType, *names: str) -> str:
    """A fingerprint of the records a module defines (their fields) and of `names`."""
    parts = list(names)
    for value in vars(module).values():
        if dataclasses.is_dataclass(value) and isinstance(value, type):
            parts += [value.__name__, *(f.name for f in dataclasses.fields(value))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def load(path: Path, key: Iterable[object]) -> Any | None:
    """What was saved at `path` under this key, or None (nothing yet, another key, unreadable)."""
    try:
        with path.open("rb") as f:
            saved: Any = pickle.load(f)  # the demo's own file, written by save()
    except FileNotFoundError:
        return None
    except Exception as exc:  # a half-written or foreign file: start afresh
        log.warning("sandbox.state_unreadable", extra={"path": str(path), "error": repr(exc)})
        return None
    if not isinstance(saved, dict) or saved.get("key") != tuple(key):
        return None
    return saved["value"]


def save(path: Path, key: Iterable[object], value: Any) -> None:
    """Write atomically: a crash mid-write leaves the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        pickle.dump({"key": tuple(key), "value": value}, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def saving(
    save_now: Callable[[bool], Awaitable[None]],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context calling `save_now(False)` every SAVE_EVERY seconds and
    `save_now(True)` (the last save: whatever changed) at stop."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async def every() -> None:
            while True:
                await asyncio.sleep(SAVE_EVERY)
                await save_now(False)

        task = asyncio.create_task(every())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await save_now(True)

    return context
