"""``python -m sandbox.trackers --kind keitaro|binom1|binom2``: run a tracker, print its key."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from sandbox.tiktok.server import start_emulator
from sandbox.trackers.server import KINDS, start_tracker


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(prog="python -m sandbox.trackers", description=__doc__)
    ap.add_argument("--kind", choices=KINDS, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fixture", choices=["demo", "scale", "empty"], default="demo")
    ap.add_argument("--api-key", default=None)
    ap.add_argument("--tiktok-url", default=None,
                    help="not supported: clicks come from an in-process TikTok emulator, which "
                         "this command starts and prints (use its URL for the service)")
    ap.add_argument("--tiktok-fixture", choices=["demo", "scale"], default="demo")
    ap.add_argument("--now", default=None, help="start the TikTok clock at this ISO-8601 time")
    ap.add_argument("--rate-limit", type=int, default=0)
    ap.add_argument("--cost-delay-s", type=float, default=0.0)
    return ap.parse_args(argv)


async def run(ns: argparse.Namespace) -> None:
    """Start TikTok and the tracker, print, serve until interrupted."""
    if ns.tiktok_url:
        raise SystemExit("--tiktok-url: the tracker reads TikTok's delivery in process; run "
                         "without it and point the service at the printed tiktok_api_url")
    tiktok = await start_emulator(ns.host, 0, ns.tiktok_fixture, now=ns.now,
                                  clock_ticking=True)
    tr = await start_tracker(ns.kind, tiktok=tiktok, fixture=ns.fixture, api_key=ns.api_key,
                             host=ns.host, port=ns.port, rate_limit=ns.rate_limit,
                             cost_delay_s=ns.cost_delay_s)
    print(f"kind={tr.kind}")
    print(f"tracker_url={tr.url}")
    print(f"api_key={tr.api_key}")
    print(f"tiktok_api_url={tiktok.url}")
    print(f"tiktok_auth_url={tiktok.auth_url}")
    print(f"app_id={tiktok.app_id}")
    print(f"secret={tiktok.secret}")
    print(f"access_token={tiktok.access_token}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await tr.stop()
        await tiktok.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ns = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(ns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
