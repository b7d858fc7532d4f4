"""Shared magic filters, and how plain-function filters are run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router

# Typed text that is not a command: a command during a flow goes to its own handler.
TYPED = F.text & ~F.text.startswith("/")
NOT_TEXT = ~F.text


def run_sync_filters_inline(root: Router) -> int:
    """Make every plain-function filter under `root` run on the event loop; returns how many.

    aiogram 3 runs a filter that is not a coroutine (every magic filter such as `F.text`, every
    `State` given as a filter, small predicates) through `asyncio.to_thread`: a worker-thread
    round trip for a check that takes microseconds. A typed message passes some thirty of them
    on its way down the routers, which cost more CPU than the rest of its handling. Ours are
    all pure checks of the update and its state, so they are called directly.
    """
    count = 0
    for router in root.chain_tail:
        for observer in router.observers.values():
            # The observer's own handler holds the router-wide filters (`router.message.filter`).
            handlers = [observer._handler, *observer.handlers]
            for handler in handlers:
                for flt in handler.filters or ():
                    if not flt.awaitable:
                        flt.callback, flt.awaitable = _inline(flt.callback), True
                        count += 1
    return count


def _inline(check: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    inline.__wrapped__ = check  # type: ignore[attr-defined]  # what bot/gates.py reads
    return inline
