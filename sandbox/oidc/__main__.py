"""`python -m sandbox.oidc [--port N]`: run the sandbox OpenID Connect provider alone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from sandbox.oidc.provider import CLIENT_ID, CLIENT_SECRET, start_provider


async def _main(port: int) -> None:
    running = await start_provider(port=port)
    print(f"sandbox OIDC provider: OIDC_ISSUER_URL={running.url} "
          f"GOOGLE_CLIENT_ID={CLIENT_ID} GOOGLE_CLIENT_SECRET={CLIENT_SECRET}")
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.oidc")
    parser.add_argument("--port", type=int, default=8095)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args().port))


if __name__ == "__main__":
    cli()
