"""One service instance doing only its background sync, for bench.updates and bench.scale.

    python -m bench.sync_instance      (configured by the environment, like the service)

Builds the service as bot/app.py does (`start_service`: settings, database, the TikTok client
with its limiter shared through REDIS_URL) and runs its `sync` tick — the one in
`background_ticks`, on the same scheduler — until SIGTERM; then stops the tick, gives its
leases back and prints `rss_mb=… cpu_s=… syncs_today=… syncs_window=…` (the process's peak
resident memory, its CPU time, and the syncs it finished, counted from core.sync's log).
No Telegram call is made: the sync tick sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import sys
import time
from collections import Counter

from bot.app import background_ticks, start_service
from core.scheduler import build_scheduler, stop_ticks
from core.settings import load_settings
from core.sync import release_leases


class SyncCounter(logging.Handler):
    """Counts core.sync's `sync.done` records by job kind."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.done: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "sync.done":
            self.done[str(getattr(record, "kind", "?"))] += 1


async def main_async(counter: SyncCounter) -> None:
    """Tick until told to stop."""
    svc = await start_service(load_settings())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler = build_scheduler([t for t in background_ticks(svc) if t.name == "sync"])
    try:
        scheduler.start()
        print("ready", flush=True)
        await stop.wait()
    finally:
        await stop_ticks(scheduler, grace=2.0)
        await release_leases(svc.uow, svc.worker)
        if svc.tiktok is not None:
            await svc.tiktok.close()
        await svc.bot.session.close()
        await svc.charts.close()
        await svc.engine.dispose()
    # ru_maxrss is in KiB on Linux.
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"rss_mb={rss_mb:.1f} cpu_s={time.process_time():.2f} "
        f"syncs_today={counter.done['today']} syncs_window={counter.done['window']}",
        flush=True,
    )


def main() -> int:
    """Entry point."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.ERROR)
    counter = SyncCounter()
    sync_log = logging.getLogger("core.sync")
    sync_log.setLevel(logging.INFO)
    sync_log.addHandler(counter)
    asyncio.run(main_async(counter))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
