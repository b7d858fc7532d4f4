"""``python -m sandbox.tiktok``: run the TikTok Marketing API emulator and print its credentials."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import sys
from typing import Any

from sandbox.tiktok.config import CREATE_KINDS, FAULT_KINDS
from sandbox.tiktok.server import start_emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options: where to listen, which fixture, and the knobs."""
    ap = argparse.ArgumentParser(prog="python -m sandbox.tiktok", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fixture", choices=["demo", "scale"], default="demo")
    ap.add_argument("--scale-accounts", type=int, default=50, help="ad accounts of `scale`")
    ap.add_argument(
        "--scale-shape",
        default="20x5x20",
        help="campaigns x ad groups x ads per account of `scale`",
    )
    ap.add_argument("--qps", type=int, default=0, help="per-app QPS limit (0 = none)")
    ap.add_argument("--qps-window", choices=["sliding", "fixed"], default="sliding")
    ap.add_argument("--qpm", type=int, default=0, help="per-app per-path QPM limit (0 = none)")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument(
        "--fault-kinds",
        default=",".join(FAULT_KINDS),
        help=f"comma-separated subset of {','.join(FAULT_KINDS)}",
    )
    ap.add_argument(
        "--idempotent-creates",
        default="campaign,adgroup",
        help=f"creates whose body request_id de-duplicates, a subset of {','.join(CREATE_KINDS)}"
        " (default: the documented ones)",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--now", default=None, help="start the clock at this ISO-8601 UTC time")
    ap.add_argument("--frozen", action="store_true", help="do not let the clock tick")
    return ap.parse_args(argv)


async def run(ns: argparse.Namespace) -> None:
    """Start, print, serve until interrupted."""
    knobs: dict[str, Any] = {
        "qps": ns.qps,
        "scale_accounts": ns.scale_accounts,
        "scale_shape": ns.scale_shape,
        "qps_window": ns.qps_window,
        "qpm": ns.qpm,
        "latency_ms": ns.latency_ms,
        "fault_rate": ns.fault_rate,
        "fault_kinds": [k for k in ns.fault_kinds.split(",") if k],
        "idempotent_creates": [k for k in ns.idempotent_creates.split(",") if k],
        "seed": ns.seed,
        "now": ns.now,
        "clock_ticking": not ns.frozen,
    }
    emu = await start_emulator(ns.host, ns.port, ns.fixture, **knobs)
    # The world lives as long as the process: keep the garbage collector from walking its
    # million objects on every full collection (those pauses stall every request).
    gc.freeze()
    # Reports are built in a worker thread; hand the GIL back to the event loop sooner so
    # request arrival stamps (the QPS window) stay close to the real arrival times.
    sys.setswitchinterval(0.001)
    print(f"app_id={emu.app_id}")
    print(f"secret={emu.secret}")
    print(f"access_token={emu.access_token}")
    print(f"tiktok_api_url={emu.url}")
    print(f"tiktok_auth_url={emu.auth_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ns = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(ns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
