"""The dashboard's stats page for a big account, rendered server-side.

    python -m bench.web [--ads 500] [--days 30] [--n 30]

Seeds a temporary SQLite database with one ad account of `ads` ads (10 per ad group, 5 ad
groups per campaign) with `days` days of numbers at every level, starts the dashboard
in-process (aiohttp's test server, the real middlewares: session lookup, CSRF, headers) and
requests the account's ads for the last 30 days `n` times after 3 warm-ups: the time is the
whole request over loopback (query, Jinja2 render, transfer); its CPU time is printed too.
The page weight is the HTML plus every CSS and JS file it loads; `page_kb` is what goes over
the wire (gzip, as the server sends it to a browser that accepts it), `page_kb_raw`
uncompressed.
The last line is `stats_page_ms_p50=… page_kb=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from bot.i18n import make_i18n
from core import web_auth
from core.clock import FixedClock
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.web.seed import NOW, seed
from web.app import mount
from web.deps import WebDeps

PAGE_TARGET_MS = 150.0
WEIGHT_TARGET_KB = 300.0
ASSET = re.compile(r'(?:src|href)="(/app/static/[^"]+)"')


async def run(ads: int, days: int, n: int) -> tuple[float, float, float]:
    """(p50 ms, page kB over the wire, page kB uncompressed)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(engine)
        uow = UnitOfWorkFactory(session_factory(engine),
                                Vault(parse_keyring(generate_key_entry("k"))))
        clock = FixedClock(NOW)
        started = time.perf_counter()
        seeded = await seed(uow, 4242, ads=ads, days=days, per_group=10, groups_per_campaign=5)
        print(f"seeded {ads} ads x {days} days in {time.perf_counter() - started:.1f} s")
        app = web.Application()
        mount(app, WebDeps(uow, clock, make_i18n(), "1:bench", "http://127.0.0.1",
                           changer=object()))  # type: ignore[arg-type]
        client = TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True))
        await client.start_server()
        try:
            token = await web_auth.issue_link(uow, clock, seeded.user_id)
            await client.get(f"/app/signin/{token}")
            url = f"/app/stats?account={seeded.account_id}&level=ad&period=30d"
            times, cpu = [], []
            for i in range(n + 3):
                t0, c0 = time.perf_counter(), time.process_time()
                resp = await client.get(url, headers={"Accept-Encoding": "identity"})
                body = await resp.read()
                if i >= 3:
                    times.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
            assert resp.status == 200 and body.count(b"<tr data-id=") == ads, "page incomplete"
            raw, wire = len(body), await _wire(client, url)
            for asset in sorted(set(ASSET.findall(body.decode()))):
                data = await (await client.get(asset, headers={"Accept-Encoding": "identity"}
                                               )).read()
                raw += len(data)
                wire += await _wire(client, asset)
        finally:
            await client.close()
            await engine.dispose()
    # CPU time of the whole request (client and server share this process): steadier than
    # wall time on a shared machine, where waiting for a core adds to the latter.
    print(f"cpu per request p50: {statistics.median(cpu):.1f} ms")
    return statistics.median(times), wire / 1024, raw / 1024


async def _wire(client: TestClient, path: str) -> int:
    """Bytes sent for `path` to a browser accepting gzip."""
    resp = await client.get(path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    return len(await resp.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ads", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    p50, wire, raw = asyncio.run(run(args.ads, args.days, args.n))
    print(f"target: p50 < {PAGE_TARGET_MS:.0f} ms, page < {WEIGHT_TARGET_KB:.0f} kB")
    print(f"stats_page_ms_p50={p50:.1f} page_kb={wire:.1f} page_kb_raw={raw:.1f}")


if __name__ == "__main__":
    main()
