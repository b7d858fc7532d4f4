"""`python -m sandbox.telegram`: run the sandbox Bot API server standalone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from sandbox.telegram.server import start_server
from sandbox.telegram.state import DEFAULT_BOT_USERNAME, DEFAULT_TOKEN


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Offline Telegram Bot API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default=DEFAULT_BOT_USERNAME)
    parser.add_argument("--no-flood", action="store_true", help="disable flood control")
    parser.add_argument("--clock-offset-file", default=None,
                        help="a file holding a clock offset in seconds (the service's "
                             "CLOCK_OFFSET_FILE), re-read when it changes")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start the server, print its URL and run until SIGINT/SIGTERM."""
    server = await start_server(
        args.host,
        args.port,
        args.token,
        bot_username=args.bot_username,
        flood_enabled=not args.no_flood,
        clock_offset_file=args.clock_offset_file,
    )
    print(f"telegram_api_url={server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
