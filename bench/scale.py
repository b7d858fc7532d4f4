"""Many ad accounts, several instances, TikTok's QPS: do syncs keep their cadence?

    python -m bench.scale [--accounts 10000] [--instances 3] [--minutes 35] [--qps 50]
                          [--shape 2x2x3] [--latency-ms 50] [--today-minutes 15]
                          [--window-minutes 60] [--sample-seconds 30]

Starts the TikTok emulator's `scale` fixture with `--accounts` ad accounts (each `--shape`
campaigns x ad groups x ads) and its QPS limit (`--qps`; TikTok's observed tiers are 10, 20
and 50 per app, spec §8.2), one PostgreSQL database, and connects the fixture's login (every
account tracked). Then `--instances` service instances (`bench.sync_instance`: the service's
own sync tick, their TikTok limiter shared through Redis) run for `--minutes`, every account
due at the start as after connecting. Prints:

- sync lag (now − the account's last successful intraday sync, or − the start if none yet),
  sampled for every account every `--sample-seconds` after the first cadence: its p95 against
  the intraday cadence (`sync_lag_ratio`, target ≤ 1.0);
- TikTok calls per account-sync (every request the emulator saw, rejections included) against
  the fewest (the requests it answered with data: one per page of each listing the sync asks
  for), and what the QPS limit allows at all for the cadence;
- each instance's peak resident memory (`rss_mb_max`, target ≤ 300 MB).

Short smoke run: `python -m bench.scale --accounts 20 --minutes 0.5 --today-minutes 0.2`.
The last line is `sync_lag_ratio=… calls_per_sync=… fewest_per_sync=… rss_mb_max=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bench.fleet import (
    PG_ADMIN_DSN,
    fleet,
    make_due,
    park_all,
    start_instances,
    stop_instances,
)
from core.sync import TODAY_BATCH, Cadence
from storage.models import SyncJob
from storage.uow import UnitOfWorkFactory

# The fewest requests of each job kind for an account whose listings fit one page
# (core/sync.py): today = a day and an hour report at the ad level, shared by up to
# TODAY_BATCH accounts of one login and time zone (the fixture's accounts are in 10 zones);
# window = 3 structure listings, the back window by day and yesterday by hour at the ad level,
# then up to 3 older days by hour (rule backtests) on the runs after the first.
TODAY_CALLS = 2 / TODAY_BATCH
WINDOW_CALLS = 3 + 2
SYNC_PATHS = ("report/integrated/get/", "campaign/get/", "adgroup/get/", "ad/get/")


async def lags(uow: UnitOfWorkFactory, now: datetime, start: datetime) -> list[float]:
    """Every tracked account's seconds since its last good intraday sync (or since `start`)."""
    async with uow() as u:
        stamps = list(
            await u.session.scalars(select(SyncJob.last_ok_at).where(SyncJob.kind == "today"))
        )
    return [(now - (s if s is not None and s > start else start)).total_seconds() for s in stamps]


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


async def main_async(args: argparse.Namespace) -> int:
    """Run the fleet and print what it did."""
    cadence = Cadence(timedelta(minutes=args.today_minutes), timedelta(minutes=args.window_minutes))
    await _clear_limiter(args.redis_url)
    prepared = time.perf_counter()
    async with fleet(
        args.accounts, args.shape, args.qps, args.latency_ms, args.redis_url, args.postgres_dsn
    ) as f:
        print(f"prepared {args.accounts} accounts in {time.perf_counter() - prepared:.0f} s")
        await park_all(f.uow)
        instances = await start_instances(
            args.instances, f.env(args.qps, cadence, args.tick_seconds)
        )
        samples: list[float] = []
        try:
            await f.emulator("reset_stats", "POST")
            start = datetime.now(UTC)
            await make_due(f.uow, ("today", "window"), start)
            end = time.monotonic() + args.minutes * 60
            warm = time.monotonic() + cadence.today.total_seconds()
            worst = 0.0
            while time.monotonic() < end:
                await asyncio.sleep(min(args.sample_seconds, max(0.0, end - time.monotonic())))
                if time.monotonic() >= warm:
                    batch = await lags(f.uow, datetime.now(UTC), start)
                    samples += batch
                    worst = max(worst, max(batch, default=0.0))
            stats = await f.emulator("stats")
        finally:
            await stop_instances(instances)
    syncs = {k: sum(i.syncs.get(k, 0) for i in instances) for k in ("today", "window")}
    done = sum(syncs.values())
    sync_calls = sum(n for path, n in stats["requests"].items() if path.endswith(SYNC_PATHS))
    rejected = int(stats.get("rate_limited", 0))
    fewest = max(0, sync_calls - rejected - sum(stats.get("faults", {}).values()))
    calls_per_sync = sync_calls / max(done, 1)
    fewest_per_sync = fewest / max(done, 1)
    lag_ratio = p95(samples) / cadence.today.total_seconds() if samples else float("inf")
    rss_max = max((i.rss_mb for i in instances), default=0.0)
    need = args.accounts * (
        TODAY_CALLS / cadence.today.total_seconds() + WINDOW_CALLS / cadence.window.total_seconds()
    )

    print(f"{'':38}{'measured':>14}{'target':>14}{'ratio':>8}")
    print(
        f"{'sync lag p95, s (intraday cadence)':38}{p95(samples):>14.0f}"
        f"{cadence.today.total_seconds():>14.0f}{lag_ratio:>8.3f}"
    )
    print(
        f"{'TikTok calls per account-sync':38}{calls_per_sync:>14.2f}{fewest_per_sync:>14.2f}"
        f"{calls_per_sync / max(fewest_per_sync, 1e-9):>8.3f}"
    )
    print(f"{'peak RSS per instance, MB (max)':38}{rss_max:>14.1f}{300:>14}{rss_max / 300:>8.3f}")
    print(
        f"  {args.accounts} accounts, {args.instances} instances, {args.minutes:g} min, "
        f"QPS limit {args.qps}: {syncs['today']} intraday and {syncs['window']} window syncs, "
        f"{sync_calls} sync calls ({rejected} refused by the QPS limit); worst lag {worst:.0f} s"
    )
    print(
        f"  the fewest calls for these cadences: {need:.1f}/s "
        f"({TODAY_CALLS:g} per intraday sync, {WINDOW_CALLS}+ per window sync) against "
        f"{args.qps * 0.9:.1f}/s the limiter allows: at most "
        f"{int(args.accounts * args.qps * 0.9 / max(need, 1e-9)):,} accounts keep the cadence"
    )
    print(
        "  instances: "
        + ", ".join(
            f"rss {i.rss_mb:.0f} MB cpu {i.cpu_s:.0f} s syncs {sum(i.syncs.values())}"
            for i in instances
        )
    )
    print(
        f"sync_lag_ratio={lag_ratio:.3f} calls_per_sync={calls_per_sync:.2f} "
        f"fewest_per_sync={fewest_per_sync:.2f} rss_mb_max={rss_max:.1f}"
    )
    return 0


async def _clear_limiter(redis_url: str) -> None:
    """Forget an earlier run's rate-limit window (the bench's own Redis database)."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        async for key in client.scan_iter("ttpulse:tiktok:*"):
            await client.delete(key)
    finally:
        await client.aclose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--accounts", type=int, default=10_000, help="ad accounts on the emulator")
    ap.add_argument("--shape", default="2x2x3", help="campaigns x ad groups x ads per account")
    ap.add_argument("--instances", type=int, default=3, help="service instances (processes)")
    ap.add_argument("--minutes", type=float, default=35, help="how long the instances run")
    ap.add_argument("--qps", type=int, default=50, help="the emulator's per-app QPS limit")
    ap.add_argument("--latency-ms", type=int, default=50, help="the emulator's answer time")
    ap.add_argument("--today-minutes", type=float, default=15, help="SYNC_TODAY_MINUTES")
    ap.add_argument("--window-minutes", type=float, default=60, help="SYNC_WINDOW_MINUTES")
    ap.add_argument("--tick-seconds", type=float, default=20, help="SYNC_TICK_SECONDS")
    ap.add_argument("--sample-seconds", type=float, default=30, help="how often lag is read")
    ap.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/10", help="the shared rate limiter"
    )
    ap.add_argument("--postgres-dsn", default=PG_ADMIN_DSN, help="where to make the database")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
