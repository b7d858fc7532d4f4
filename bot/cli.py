"""Command line: run the service, migrate, rotate encryption keys, make a key."""

from __future__ import annotations

import argparse
import asyncio
import sys

from core.logs import setup_logging
from core.secrets import rotate_secrets
from core.settings import SettingsError, load_settings
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry


async def _migrate() -> None:
    settings = load_settings()
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    print("database is at the newest schema")


async def _rotate() -> None:
    settings = load_settings()
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    uow = UnitOfWorkFactory(session_factory(engine), Vault(settings.keyring))
    count = await rotate_secrets(uow)
    await engine.dispose()
    print(f"re-encrypted {count} secret(s) under key {settings.keyring.current.kid!r}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bot`."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("run", help="run the bot and the web server (default)")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("rotate-keys", help="re-encrypt all secrets under the first ENCRYPTION_KEYS key")
    gen = sub.add_parser("gen-key", help="print a new kid:base64key entry for ENCRYPTION_KEYS")
    gen.add_argument("kid", nargs="?", default="k1")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "gen-key":
            print(generate_key_entry(args.kid))
        elif args.cmd == "migrate":
            asyncio.run(_migrate())
        elif args.cmd == "rotate-keys":
            asyncio.run(_rotate())
        else:
            from bot.app import run

            settings = load_settings()
            asyncio.run(run(settings))
    except SettingsError as exc:
        setup_logging()
        print(f"ttpulse: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
