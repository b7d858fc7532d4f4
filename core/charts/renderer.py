"""Render charts off the event loop in a small pool of worker processes.

Why processes, not threads. A chart is ~45 ms of CPU, nearly all of it pure-Python matplotlib
work that holds the GIL. `python -m bench.charts` on this 2-core box: ten charts at once, a
1 ms ticker on the loop, worst extra delay of the ticker per burst (median of 5 bursts):

    threads (run_in_executor)          ~30–50 ms  (single bursts up to ~57 ms)
    this pool (2 workers, nice +5)      ~5–6 ms   target < 20 ms
    idle loop, no charts at all         ~0–5 ms   (the VM is shared with other work)

In worker processes the loop only pickles a few KB of inputs and unpickles ~80 KB of PNG.
Pool shapes, 16 bursts each (median / worst burst, ms): 2 workers at nice 0: 7.1 / 15.6;
2 at nice +5: 4.1–4.4 / 12.7–21.7; 2 at nice +19: 4.3 / 43.9; 1 worker: 3.5–5.3 / 8.2–38.8.
Lower worker priority halves the typical stall; the rare 15–40 ms bursts show up in every
shape (the idle ticker has them too), so they are the machine, not the pool. Two workers
render a burst of ten in ~0.35 s instead of ~0.5 s, hence the default.

Design:
- `ProcessPoolExecutor` with the `forkserver` start method (`spawn` where unavailable):
  never `fork` a process that runs an event loop and threads. The fork server preloads
  `core.charts.render` (matplotlib, Babel, numpy), so a fresh worker starts in milliseconds;
  each worker's initializer lowers its priority and renders a tiny image to warm the font
  caches. As with any process pool, the service's entry module must be import-safe (the
  `if __name__ == "__main__":` guard), because workers import it.
- At most `max_workers` processes (default: CPU count, capped at 2) and at most
  `max_pending` charts in flight; callers beyond that wait on a semaphore (backpressure).
- Started by `start()` (the service calls it at startup; it also spawns and warms every
  worker) or lazily by the first `render()`. `close()` refuses new charts, lets queued
  ones finish, then stops the workers.
- A worker crash breaks the whole pool (`BrokenProcessPool`): the first caller to notice
  replaces the broken pool and every affected call is retried once; a chart that breaks
  the fresh pool as well raises `ChartRenderError`.
- Chart functions and their inputs must pickle: module-level functions, frozen dataclasses,
  Decimal, date, lists and tuples.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

_PRELOAD = ["core.charts.render"]


class RendererClosedError(RuntimeError):
    """The renderer was closed; it accepts no more charts."""


class ChartRenderError(RuntimeError):
    """A chart could not be rendered because its worker kept crashing."""


def _init_worker(nice: int) -> None:
    if nice:
        with contextlib.suppress(OSError, AttributeError):
            os.nice(nice)
    from core.charts.style import no_data

    no_data("0", "0", "0")  # load the font and fill the glyph caches before the first chart


def _ping() -> int:
    return os.getpid()


def _timed(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[T, float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - started, time.process_time() - cpu


def _call(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return fn(*args)


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class ChartRenderer:
    """A bounded process pool that renders chart functions without blocking the loop."""

    def __init__(self, max_workers: int | None = None, max_pending: int = 32,
                 nice: int = 5) -> None:
        self.max_workers = max_workers or max(1, min(2, os.cpu_count() or 1))
        self._nice = nice
        self._pending = asyncio.Semaphore(max_pending)
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        self.restarts = 0

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    async def start(self) -> None:
        """Create the pool and wait until every worker is up and has imported matplotlib."""
        self._check_open()
        # One ping per worker: submitting them together spawns every worker now, not later.
        await asyncio.gather(*(self._submit(_call, _ping, ()) for _ in range(self.max_workers)))

    async def render(self, fn: Callable[..., bytes], *args: Any) -> bytes:
        """Run `fn(*args)` (a module-level chart function) in a worker; return its PNG bytes."""
        return await self._submit(_call, fn, args)

    async def render_timed(
        self, fn: Callable[..., bytes], *args: Any
    ) -> tuple[bytes, float, float]:
        """Like render(), plus the wall and CPU seconds the worker spent inside `fn`."""
        return await self._submit(_timed, fn, args)

    async def close(self) -> None:
        """Refuse new charts, let queued ones finish, stop the workers."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True)

    async def __aenter__(self) -> ChartRenderer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _submit(self, worker: Callable[..., T], fn: Callable[..., Any],
                      args: tuple[Any, ...]) -> T:
        self._check_open()
        loop = asyncio.get_running_loop()
        async with self._pending:
            for attempt in (1, 2):
                self._check_open()
                pool = self._ensure_pool()
                try:
                    return await loop.run_in_executor(pool, worker, fn, args)
                except BrokenProcessPool as exc:
                    self._replace(pool)
                    if attempt == 2:
                        raise ChartRenderError(f"chart worker crashed twice: {exc}") from exc
        raise AssertionError("unreachable")

    def _check_open(self) -> None:
        if self._closed:
            raise RendererClosedError("chart renderer is closed")

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.max_workers, mp_context=_context(),
                initializer=_init_worker, initargs=(self._nice,))
        return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        # Only the first caller to see this pool broken swaps it; the others reuse the new one.
        if self._pool is broken:
            self._pool = None
            self.restarts += 1
            broken.shutdown(wait=False, cancel_futures=True)
