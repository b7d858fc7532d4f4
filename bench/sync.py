"""Sync the emulator's `scale` world into the database, store metric rows, render charts.

    python -m bench.sync [--qps 50] [--latency-ms 50] [--accounts 0] [--workers 8]
                         [--database-url URL] [--no-warm] [--sync-only] [--profile]

Prints, side by side with their baselines:
- the sync (structure, back window, yesterday and today by hour, every level, and the first
  run's hourly backfill: 3 older days by hour at campaign, ad group and ad level) of every ad
  account, once the emulator has computed its delivery model for the tracked accounts (a real
  TikTok has its numbers before we ask; `--no-warm` skips this): API calls made against the
  fewest the pages allow (every page of every distinct listing once, so the backfill's one-day
  hourly reports count in both), and wall time against what the QPS allows for those fewest
  calls; and our process's CPU per account synced (all its threads, and the event loop's
  thread alone: the sync is bound by it once TikTok answers fast enough);
- metric rows stored per second through the sync's bulk upsert against a plain batched
  `executemany` INSERT of the same rows, in the same run (target: ≥ 70 %);
- chart render time per chart (target: p50 ≤ 60 ms) and the event loop's worst stall while ten
  charts render at once (target: < 20 ms), from bench.charts.

The last line is `sync_calls_ratio=… sync_time_ratio=… sync_cpu_s_per_account=…
sync_loop_cpu_s_per_account=… store_ratio=… chart_ms_p50=… loop_stall_ms_max=…` (`--sync-only`
skips the store and chart phases and their numbers; `--profile` prints a cProfile of our event
loop's thread during the sync, the top 25 by cumulative time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import logging
import pstats
import re
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from sqlalchemy import select

from bench.charts import measure_charts
from bench.tiktok_pull import start_emulator
from core.clock import SystemClock
from core.connections import begin_connect, finish_connect
from core.oauth_state import StateSigner
from core.sync import run_due, worker_id
from core.tiktok import RetryPolicy, TikTokClient, build_limiter
from core.users import SignUp, register_user
from sandbox.tiktok.browser import click, redirect_query
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import AdAccount, MetricDaily, TikTokConnection
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring

USER = 1
REDIRECT = "http://127.0.0.1:9/oauth/tiktok/callback"


# The envelope's code and the page count, read without decoding the whole body: this ledger
# runs in the sync's process, and decoding every report page a second time (~8 µs a row here)
# would be counted as the sync's own CPU.
_CODE = re.compile(rb'^\s*\{\s*"code"\s*:\s*(-?\d+)')
_TOTAL_PAGE = re.compile(rb'"page_info"\s*:\s*\{[^{}]*"total_page"\s*:\s*(\d+)')


def _total_pages(body: bytes) -> int:
    """A successful listing's `total_page` (1 when it has no page_info), else 0."""
    code = _CODE.match(body)
    if code is None:  # not the emulator's usual key order: decode it after all
        return _total_pages_decoded(body)
    if int(code.group(1)) != 0:
        return 0
    found = _TOTAL_PAGE.findall(body)
    return int(found[-1]) if found else _total_pages_decoded(body)


def _total_pages_decoded(body: bytes) -> int:
    try:
        data = json.loads(body)
        info = (data.get("data") or {}).get("page_info") or {}
        return int(info.get("total_page") or 1) if data.get("code") == 0 else 0
    except (ValueError, AttributeError):
        return 0


class CallLedger:
    """Counts requests, and the fewest calls: one per page of every distinct listing."""

    def __init__(self) -> None:
        self.calls = 0
        self.pages: dict[str, int] = {}

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def on_end(session: Any, ctx: SimpleNamespace, params: Any) -> None:
            self.calls += 1
            query = {k: v for k, v in params.url.query.items() if k != "page"}
            key = f"{params.url.path}?{json.dumps(query, sort_keys=True)}"
            total = _total_pages(await params.response.read())
            if total:
                self.pages[key] = max(self.pages.get(key, 0), total)

        config.on_request_end.append(on_end)
        return config

    @property
    def fewest(self) -> int:
        """The calls the pages allow: every page of every listing once."""
        return sum(self.pages.values())


async def connect(uow: UnitOfWorkFactory, client: TikTokClient, keyring: Any) -> None:
    """Connect the fixture's login through the consent page, as a user would."""
    clock, signer = SystemClock(), StateSigner(keyring)
    await register_user(uow, clock, SignUp(USER, "Bench", None, None, "en", "UTC", None, False))
    url = await begin_connect(uow, clock, signer, client, REDIRECT, USER)
    _, location, _ = await click(url)
    q = redirect_query(location)
    await finish_connect(uow, clock, signer, client, q["state"], q["auth_code"])


async def limit_accounts(uow: UnitOfWorkFactory, keep: int) -> int:
    """Track only the first `keep` accounts (0: all); returns how many are tracked."""
    async with uow() as u:
        accounts = await u.connections.accounts(USER)
        for n, acc in enumerate(accounts):
            acc.tracked = keep == 0 or n < keep
        await u.commit()
        return sum(a.tracked for a in accounts)


async def tracked_advertisers(uow: UnitOfWorkFactory) -> list[str]:
    """The advertiser ids of the tracked accounts."""
    async with uow() as u:
        return [a.advertiser_id for a in await u.connections.accounts(USER) if a.tracked]


async def warm_emulator(
    session: aiohttp.ClientSession, base_url: str, advertiser_ids: list[str]
) -> dict[str, Any]:
    """Have the emulator compute its delivery model for these accounts before the timer.

    A real TikTok has its numbers before we ask; the emulator computes them on request, on the
    same two cores as the sync, so without this the bench also timed the emulator's model.
    The answers are the same (tests/sandbox/test_tiktok_emulator.py)."""
    async with session.post(
        f"{base_url}/_emulator/warm", json={"advertiser_ids": advertiser_ids}
    ) as resp:
        resp.raise_for_status()
        return await resp.json()


async def sync_everything(uow: UnitOfWorkFactory, client: TikTokClient, workers: int) -> None:
    """Several workers tick until nothing is due (each account: window job, then today job)."""
    clock = SystemClock()

    async def worker() -> None:
        owner = worker_id()
        while await run_due(uow, clock, client, owner, limit=1):
            pass

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _parents(uow: UnitOfWorkFactory, account_ids: set[int]) -> None:
    """The user, connection and accounts the metric rows point at (foreign keys hold)."""
    await register_user(uow, SystemClock(), SignUp(USER, "B", None, None, "en", "UTC", None, False))
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="bench")
        u.session.add(conn)
        await u.session.flush()
        for account_id in sorted(account_ids):
            u.session.add(
                AdAccount(id=account_id, connection_id=conn.id, advertiser_id=str(account_id))
            )
        await u.commit()


def _driver_value(column: str, value: Any) -> Any:
    """A value as SQLite stores it: money as integer micros, dates and times as ISO text."""
    if column in ("spend", "purchase_value"):
        return int(value * 1_000_000)
    return value.isoformat() if hasattr(value, "isoformat") else value


async def store_rates(url_template: str, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """Rows per second: the sync's upsert vs a plain executemany INSERT, into fresh databases."""
    rates = []
    for name in ("upsert", "plain"):
        engine = create_engine(url_template.format(name=name))
        await upgrade(engine)
        uow = UnitOfWorkFactory(session_factory(engine), None)
        await _parents(uow, {r["ad_account_id"] for r in rows})
        started = time.perf_counter()
        if name == "upsert":
            # As the sync writes them: one step's rows as columns, with the account, level and
            # sync time shared by the step.
            steps: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
            for r in rows:
                steps.setdefault((r["ad_account_id"], r["level"], r["synced_at"]), []).append(r)
            async with uow() as u:
                for (account_id, level, synced_at), step in steps.items():
                    shared = {"ad_account_id": account_id, "level": level, "synced_at": synced_at}
                    columns = {c: [r[c] for r in step] for c in step[0] if c not in shared}
                    await u.sync.upsert_metric_columns(False, columns, shared)
                await u.commit()
        else:
            # The baseline: the driver's own executemany of ready tuples — no ORM, no type
            # processing, no conflict handling: what storing the same rows costs at the least.
            cols = list(rows[0])
            sql = (
                f"INSERT INTO metrics_daily ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' for _ in cols)})"
            )
            plain = [tuple(_driver_value(c, r[c]) for c in cols) for r in rows]
            async with engine.begin() as conn:
                for start in range(0, len(plain), 1000):
                    await conn.exec_driver_sql(sql, plain[start : start + 1000])
        rates.append(len(rows) / (time.perf_counter() - started))
        await engine.dispose()
    return rates[0], rates[1]


async def main_async(args: argparse.Namespace) -> int:
    """Run the three measurements and print them."""
    proc, info = await start_emulator(args)
    tmp = Path(tempfile.mkdtemp(prefix="ttpulse-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/sync.db"
    ledger = CallLedger()
    keyring = parse_keyring(generate_key_entry("bench"))
    engine = create_engine(url)
    try:
        await upgrade(engine)
        uow = UnitOfWorkFactory(session_factory(engine), Vault(keyring))
        async with aiohttp.ClientSession(trace_configs=[ledger.trace()]) as session:
            client_base = info["tiktok_api_url"].split("/open_api")[0]
            client = TikTokClient(
                base_url=client_base,
                app_id=info["app_id"],
                secret=info["secret"],
                session=session,
                auth_url=info["tiktok_auth_url"],
                limiter=build_limiter(info["app_id"], args.qps),
                retry=RetryPolicy(max_attempts=6, max_total_seconds=120),
            )
            await connect(uow, client, keyring)
            tracked = await limit_accounts(uow, args.accounts)
            if args.warm:
                await warm_emulator(session, client_base, await tracked_advertisers(uow))
            ledger.calls, ledger.pages = 0, {}
            profile = cProfile.Profile() if args.profile else None
            started = time.perf_counter()
            # Our process's CPU (every thread: the event loop and SQLite's writer) and the
            # event loop's thread alone (this coroutine runs on it).
            cpu_started, loop_started = time.process_time(), time.thread_time()
            if profile is not None:
                profile.enable()
            try:
                await sync_everything(uow, client, args.workers)
            finally:
                if profile is not None:
                    profile.disable()
            cpu_s = time.process_time() - cpu_started
            loop_s = time.thread_time() - loop_started
            sync_s = time.perf_counter() - started
        if not args.sync_only:
            async with uow() as u:
                rows = [
                    {c.name: getattr(r, c.name) for c in MetricDaily.__table__.columns}
                    for r in await u.session.scalars(select(MetricDaily).limit(args.store_rows))
                ]
            store = f"sqlite+aiosqlite:///{tmp}/{{name}}.db"
            upsert_rate, plain_rate = await store_rates(store, rows)
    finally:
        await engine.dispose()
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()
    charts = None if args.sync_only else await measure_charts()

    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    bound_s = ledger.fewest / args.qps
    calls_ratio = ledger.calls / max(ledger.fewest, 1)
    time_ratio = sync_s / max(bound_s, 1e-9)
    cpu_per, loop_per = cpu_s / max(tracked, 1), loop_s / max(tracked, 1)
    print(f"{'':34}{'measured':>14}{'baseline':>14}{'ratio':>8}")
    print(
        f"{'sync API calls (' + str(tracked) + ' accounts)':34}{ledger.calls:>14,}"
        f"{ledger.fewest:>14,}{calls_ratio:>8.3f}"
    )
    print(f"{'sync wall time, s (QPS bound)':34}{sync_s:>14.1f}{bound_s:>14.1f}{time_ratio:>8.3f}")
    print(f"{'sync CPU per account, s':34}{cpu_per:>14.3f}")
    print(f"{'… of the event loop, s':34}{loop_per:>14.3f}")
    last = (
        f"sync_calls_ratio={calls_ratio:.3f} sync_time_ratio={time_ratio:.3f} "
        f"sync_cpu_s_per_account={cpu_per:.3f} sync_loop_cpu_s_per_account={loop_per:.3f}"
    )
    if charts is not None:
        store_ratio = upsert_rate / plain_rate
        print(
            f"{'metric rows stored / s':34}{upsert_rate:>14,.0f}{plain_rate:>14,.0f}"
            f"{store_ratio:>8.3f}"
        )
        print(
            f"{'chart render p50, ms (≤ 60)':34}{charts['chart_ms_p50']:>14.1f}{60:>14}"
            f"{charts['chart_ms_p50'] / 60:>8.3f}"
        )
        print(
            f"{'loop stall, 10 charts, ms (< 20)':34}{charts['loop_stall_ms_max']:>14.1f}"
            f"{20:>14}{charts['loop_stall_ms_max'] / 20:>8.3f}"
        )
        last += (
            f" store_ratio={store_ratio:.3f} chart_ms_p50={charts['chart_ms_p50']:.1f}"
            f" loop_stall_ms_max={charts['loop_stall_ms_max']:.1f}"
        )
    print(last)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.sync",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--fixture", default="scale", choices=["scale", "demo"])
    ap.add_argument("--qps", type=int, default=50, help="the emulator's per-app QPS limit")
    ap.add_argument("--latency-ms", type=int, default=50, help="the emulator's added latency")
    ap.add_argument("--accounts", type=int, default=0, help="sync only the first N (0: all)")
    ap.add_argument("--workers", type=int, default=8, help="concurrent sync workers")
    ap.add_argument("--store-rows", type=int, default=200_000, help="rows for the store test")
    ap.add_argument(
        "--no-warm",
        dest="warm",
        action="store_false",
        help="skip the emulator's warm-up (its delivery model is then computed while timed)",
    )
    ap.add_argument("--database-url", default="", help="sync into this database instead")
    ap.add_argument("--sync-only", action="store_true", help="skip the store and chart phases")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="print a cProfile of the event loop's thread during the sync (top 25, cumulative)",
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
