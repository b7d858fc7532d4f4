"""The offline demo: sandbox Telegram and TikTok, the real service against them, a terminal chat.

`python -m sandbox.demo` (what `scripts/dev run` starts when BOT_TOKEN is unset). The service runs
as its own process, exactly as in production, with its log in data/demo-service.log; the chat
runs in this terminal. State is kept in data/ (SQLite and a demo encryption key), so a restart
remembers the user.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

from sandbox.oidc.provider import CLIENT_ID, CLIENT_SECRET, start_provider
from sandbox.telegram.chat import run_chat
from sandbox.telegram.server import start_server
from sandbox.tiktok.server import RunningEmulator, start_emulator
from sandbox.trackers.server import RunningTracker, start_tracker
from storage.vault import generate_key_entry

DEMO_TOKEN = "7000000001:TTPulseDemoToken-offline-sandbox"
DEMO_USER = 1001


def demo_key(data_dir: Path) -> str:
    """The demo's encryption key, generated into data/ once (the demo only)."""
    path = data_dir / "demo.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key_entry("demo1") + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


DEMO_TRACKER_NAMES = {"keitaro": "Demo Keitaro", "binom1": "Demo Binom 1", "binom2": "Demo Binom 2"}


def demo_trackers_env(trackers: list[RunningTracker]) -> str:
    """DEMO_TRACKERS: a JSON list of {kind, name, url, api_key, time_zone, currency}."""
    return json.dumps([
        {"kind": t.kind, "name": DEMO_TRACKER_NAMES[t.kind], "url": t.url, "api_key": t.api_key,
         "time_zone": t.world.time_zone, "currency": t.world.currency}
        for t in trackers
    ])


async def start_demo_trackers(tiktok: RunningEmulator, data: Path) -> list[RunningTracker]:
    """The three demo trackers, each at the address and with the key it had in the last demo
    run (kept in data/demo-trackers.json, as the TikTok emulator keeps its tokens), so a
    tracker connected in one run still answers in the next, holding the costs pushed to it
    (data/tracker-KIND.pickle)."""
    path = data / "demo-trackers.json"
    last: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}
    trackers = []
    for kind in DEMO_TRACKER_NAMES:
        was = last.get(kind, {})
        start = functools.partial(start_tracker, kind, tiktok=tiktok, api_key=was.get("api_key"),
                                  state_file=str(data / f"tracker-{kind}.pickle"))
        try:
            tracker = await start(port=was.get("port", 0))
        except OSError:  # its port is taken now: a new one (a saved tracker needs its new URL)
            tracker = await start()
        trackers.append(tracker)
    path.write_text(json.dumps({
        t.kind: {"port": int(t.base_url.rsplit(":", 1)[1]), "api_key": t.api_key}
        for t in trackers
    }))
    path.chmod(0o600)  # the keys, as data/demo.key
    return trackers


async def _wait_ready(url: str, proc: asyncio.subprocess.Process, log: Path) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if proc.returncode is not None:
                raise SystemExit(f"the service stopped at start; its log is {log}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit(f"the service did not become ready; see {log}")


async def main(user_id: int, web_port: int, data: Path, key: str) -> None:
    """Start the sandbox, the service, and the chat; stop everything when the chat ends."""
    # CLOCK_OFFSET_FILE moves the service's clock; the Telegram sandbox follows the same file,
    # so subscription renewals come due when the demo travels in time.
    # Its chats, files and Stars payments are kept in data/ (so are TikTok's world and tokens).
    telegram = await start_server(token=DEMO_TOKEN,
                                  clock_offset_file=os.environ.get("CLOCK_OFFSET_FILE") or None,
                                  state_file=str(data / "telegram-state.pickle"))
    # An audience made in the demo is computed in a minute, not TikTok's hours.
    # Its world is kept in data/ too: what you paused or launched is still so next time.
    tiktok = await start_emulator(fixture="demo", token_file=str(data / "tiktok-tokens.json"),
                                  world_file=str(data / "tiktok-world.pickle"),
                                  audience_ready_seconds=60)
    trackers = await start_demo_trackers(tiktok, data)
    oidc = await start_provider()  # "Sign in with Google" against a sandbox provider
    env = {
        **os.environ,
        "BOT_TOKEN": DEMO_TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "TIKTOK_API_URL": tiktok.url,
        "TIKTOK_AUTH_URL": tiktok.auth_url,
        "TIKTOK_APP_ID": tiktok.app_id,
        "TIKTOK_APP_SECRET": tiktok.secret,
        "WEB_PORT": str(web_port),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", f"http://127.0.0.1:{web_port}"),
        "ENCRYPTION_KEYS": key,
        # In the demo you are also the operator, so /support can be tried from both sides.
        "ADMIN_IDS": os.environ.get("ADMIN_IDS") or str(user_id),
        # One-tap choices in Integrations → Add tracker (sandbox/trackers).
        "DEMO_TRACKERS": demo_trackers_env(trackers),
        # The dashboard's "Log in with Telegram" confirms at the sandbox Telegram server, and
        # "Sign in with Google" at the sandbox OpenID Connect provider (sandbox/oidc).
        "TELEGRAM_OAUTH_URL": telegram.url,
        "OIDC_ISSUER_URL": oidc.url,
        "GOOGLE_CLIENT_ID": CLIENT_ID,
        "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
    }
    env.pop("WEBHOOK_SECRET", None)
    log = data / "demo-service.log"
    with log.open("ab") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stdout=log_file, stderr=log_file
        )
    try:
        await _wait_ready(f"http://127.0.0.1:{web_port}", proc, log)
        dashboard = env.get("MINI_APP_URL") or f"{env['PUBLIC_URL']}/app/"
        print(f"TTPulse offline demo — service log: {log}. Type /start to begin, /quit to leave.")
        print(f"Web dashboard: {dashboard} — after sign-up, /app prints it signed in as you "
              "(the Mini App's launch link), or send /web for a one-time sign-in link.")
        await run_chat(telegram.url, user_id, first_name="Demo", language_code="en",
                       app_url=dashboard)
    finally:
        if proc.returncode is None:
            proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
            if proc.returncode is None:
                proc.kill()
        for tracker in trackers:
            await tracker.stop()
        await oidc.stop()
        await tiktok.stop()
        await telegram.stop()


def cli() -> None:
    """Parse options and run the demo."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__)
    parser.add_argument("--user-id", type=int, default=DEMO_USER, help="your sandbox user id")
    parser.add_argument("--web-port", type=int, default=int(os.environ.get("WEB_PORT", 8080)))
    args = parser.parse_args()
    data = Path(os.environ.get("DATA_DIR", "data"))
    key = os.environ.get("ENCRYPTION_KEYS") or demo_key(data)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.user_id, args.web_port, data, key))


if __name__ == "__main__":
    cli()
