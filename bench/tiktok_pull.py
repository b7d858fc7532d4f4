"""Pull the emulator's `scale` world through TikTokClient and compare with the ideal.

    python -m bench.tiktok_pull [--qps 30] [--latency-ms 50] [--days 30] [--redis]

Starts `python -m sandbox.tiktok --fixture scale` in a subprocess (its own CPU), pulls every
ad account's structure (campaigns, ad groups, ads) and `--days` of daily ad-level reports,
then prints the API calls made against the fewest the pages allow and the wall time against
what the QPS allows. The last line is `calls_ratio=… time_ratio=… errors=…` (errors: calls
that still failed after retries; retried rejections are shown above it and cost calls).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from core.tiktok import (
    Advertiser,
    RedisRateLimiter,
    ReportLevel,
    RetryPolicy,
    TikTokClient,
    TikTokError,
    TimeGrain,
    build_limiter,
)
from core.tiktok.reports import max_span_days, split_range

PAGE = 1000


@dataclass
class Tally:
    """What the pull saw."""

    calls: Counter[str] = field(default_factory=Counter)
    fewest: Counter[str] = field(default_factory=Counter)
    objects: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    spend: dict[str, Any] = field(default_factory=dict)


def pages(n: int) -> int:
    """Fewest calls for a listing of n items (an empty listing still costs one call)."""
    return max(1, math.ceil(n / PAGE))


def call_counter(tally: Tally) -> aiohttp.TraceConfig:
    """Count every HTTP request the client sends, per API path."""
    config = aiohttp.TraceConfig()

    async def on_start(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
        path = params.url.path.split("/open_api/v1.3/", 1)[-1]
        tally.calls[path] += 1

    config.on_request_start.append(on_start)
    return config


async def start_emulator(args: argparse.Namespace) -> tuple[asyncio.subprocess.Process, dict]:
    """Run the emulator in its own process; return it and its printed credentials."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.tiktok",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--fixture",
        args.fixture,
        "--qps",
        str(args.qps),
        "--latency-ms",
        str(args.latency_ms),
        stdout=asyncio.subprocess.PIPE,
    )
    return proc, await emulator_credentials(proc, wait_s=300)


async def emulator_credentials(proc: asyncio.subprocess.Process, wait_s: float) -> dict[str, str]:
    """The `key=value` lines the emulator prints at start, up to its consent page's URL."""
    info: dict[str, str] = {}
    assert proc.stdout is not None
    while "tiktok_auth_url" not in info:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=wait_s)
        if not line:
            raise RuntimeError("the emulator exited before printing its URL")
        key, _, value = line.decode().strip().partition("=")
        if value:
            info[key] = value
    return info


async def pull_advertiser(
    client: TikTokClient,
    token: str,
    adv: Advertiser,
    days: int,
    tally: Tally,
    report_gate: asyncio.Semaphore,
) -> None:
    """Structure and daily ad-level reports of one ad account."""
    adv_id = adv.advertiser_id
    tz = ZoneInfo(adv.display_timezone or "UTC")
    end = datetime.now(UTC).astimezone(tz).date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)

    async def structure() -> None:
        campaigns, adgroups, ads = await asyncio.gather(
            client.get_campaigns(token, adv_id, include_deleted=True),
            client.get_adgroups(token, adv_id, include_deleted=True),
            client.get_ads(token, adv_id, include_deleted=True),
        )
        for path, items in (
            ("campaign/get/", campaigns),
            ("adgroup/get/", adgroups),
            ("ad/get/", ads),
        ):
            tally.objects[path] += len(items)
            tally.fewest[path] += pages(len(items))

    async def report() -> None:
        async with report_gate:
            await report_pages()

    windows = split_range(start, end, max_span_days(TimeGrain.DAY))

    window_of = {
        w_start + timedelta(days=i): w_start
        for w_start, w_end in windows
        for i in range((w_end - w_start).days + 1)
    }

    async def report_pages() -> None:
        rows_per_window: Counter[date] = Counter()
        spend = 0
        async for chunk in client.iter_report(
            token, adv_id, ReportLevel.AD, start, end, grain=TimeGrain.DAY
        ):
            for row in chunk:
                assert row.stat_time is not None
                rows_per_window[window_of[row.stat_time.date()]] += 1
                spend += row.spend or 0
        tally.fewest["report/integrated/get/"] += sum(pages(rows_per_window[w]) for w, _ in windows)
        tally.objects["report rows"] += sum(rows_per_window.values())
        tally.spend[adv_id] = (spend, adv.currency)

    try:
        await asyncio.gather(structure(), report())
    except TikTokError as exc:
        tally.errors.append(f"{adv_id}: {exc}")


async def pull(args: argparse.Namespace, info: dict[str, str], tally: Tally) -> float:
    """Run the whole pull; return its wall time in seconds."""
    redis_url = os.environ.get("REDIS_URL") if args.redis else None
    limiter = build_limiter(
        info["app_id"],
        args.qps,
        redis_url=redis_url,
        headroom=args.headroom,
        key_prefix=f"bench:{os.getpid()}",
    )
    retry = RetryPolicy(max_attempts=6, max_total_seconds=120)
    async with aiohttp.ClientSession(trace_configs=[call_counter(tally)]) as session:
        client = TikTokClient(
            base_url=info["tiktok_api_url"],
            app_id=info["app_id"],
            secret=info["secret"],
            session=session,
            limiter=limiter,
            retry=retry,
            page_concurrency=args.page_concurrency,
        )
        token = info["access_token"]
        started = time.monotonic()
        listed = await client.get_authorized_advertisers(token)
        tally.fewest["oauth2/advertiser/get/"] += 1
        ids = [a.advertiser_id for a in listed]
        advertisers = await client.get_advertisers(token, ids)
        tally.fewest["advertiser/info/"] += math.ceil(len(ids) / 100)
        tally.objects["advertisers"] = len(advertisers)
        # A few accounts' reports at a time: each report's pages then arrive close together,
        # the way a sync job walks one account after another, while structure pulls overlap.
        gate = asyncio.Semaphore(args.report_concurrency)
        await asyncio.gather(
            *(pull_advertiser(client, token, a, args.days, tally, gate) for a in advertisers)
        )
        wall = time.monotonic() - started
    if isinstance(limiter, RedisRateLimiter):
        await limiter.aclose()
    return wall


def cpu_seconds(pid: int) -> float | None:
    """User+system CPU seconds of a process (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def emulator_stats(url: str) -> dict[str, Any]:
    """The emulator's own counters."""
    async with aiohttp.ClientSession() as s, s.get(url + "/_emulator/stats") as resp:
        return await resp.json()


async def main_async(args: argparse.Namespace) -> int:
    """Start the emulator, pull, print the comparison."""
    t0 = time.monotonic()
    proc, info = await start_emulator(args)
    print(
        f"emulator: fixture={args.fixture} qps={args.qps} latency_ms={args.latency_ms} "
        f"ready in {time.monotonic() - t0:.1f}s at {info['tiktok_api_url']}"
    )
    tally = Tally()
    try:
        emu_cpu_start = cpu_seconds(proc.pid)
        own_cpu_start = time.process_time()
        wall = await pull(args, info, tally)
        own_cpu = time.process_time() - own_cpu_start
        emu_cpu_end = cpu_seconds(proc.pid)
        stats = await emulator_stats(info["tiktok_api_url"])
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()

    calls, fewest = sum(tally.calls.values()), sum(tally.fewest.values())
    bound = fewest / args.qps
    rejected = int(stats.get("rate_limited", 0))
    bad_codes = sum(v for k, v in stats.get("codes", {}).items() if str(k) != "0")
    # errors = calls that failed for the caller after the retry policy. Rejected replies that
    # a retry then answered (40100, injected faults) are listed below and already cost their
    # share of calls_ratio.
    errors = len(tally.errors)
    print(
        f"pulled: {tally.objects['advertisers']} advertisers, "
        f"{tally.objects['campaign/get/']} campaigns, {tally.objects['adgroup/get/']} ad groups, "
        f"{tally.objects['ad/get/']} ads, {tally.objects['report rows']} report rows "
        f"({args.days} days, ad level, daily)"
    )
    print(f"{'path':<26}{'calls':>8}{'fewest':>8}")
    for path in sorted(set(tally.calls) | set(tally.fewest)):
        print(f"{path:<26}{tally.calls[path]:>8}{tally.fewest[path]:>8}")
    print(f"{'':<26}{'actual':>10}{'ideal':>10}{'ratio':>8}")
    print(f"{'API calls':<26}{calls:>10}{fewest:>10}{calls / fewest:>8.3f}")
    print(f"{'wall time (s)':<26}{wall:>10.1f}{bound:>10.1f}{wall / bound:>8.3f}")
    print(
        f"emulator: requests={stats.get('total')} rate_limited={rejected} "
        f"codes={stats.get('codes')} faults={stats.get('faults')}"
    )
    emu_cpu = (
        f"{emu_cpu_end - emu_cpu_start:.1f}s"
        if emu_cpu_start is not None and emu_cpu_end is not None
        else "n/a"
    )
    print(f"cpu: client {own_cpu:.1f}s, emulator {emu_cpu} over {wall:.1f}s wall")
    print(
        f"rejected replies retried: {bad_codes} ({rejected} x 40100), "
        f"calls failed after retries: {errors}"
    )
    for line in tally.errors[:10]:
        print(f"error: {line}")
    print(f"calls_ratio={calls / fewest:.3f} time_ratio={wall / bound:.3f} errors={errors}")
    return 0 if errors == 0 else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.tiktok_pull",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--fixture", default="scale", choices=["scale", "demo"])
    ap.add_argument("--qps", type=int, default=30, help="the emulator's per-app QPS limit")
    ap.add_argument("--latency-ms", type=int, default=50, help="the emulator's added latency")
    ap.add_argument("--days", type=int, default=30, help="days of daily ad-level reports")
    ap.add_argument(
        "--headroom", type=float, default=0.9, help="client rate as a fraction of the QPS limit"
    )
    ap.add_argument("--page-concurrency", type=int, default=8)
    ap.add_argument(
        "--report-concurrency",
        type=int,
        default=4,
        help="ad accounts whose reports are paged at the same time",
    )
    ap.add_argument("--redis", action="store_true", help="share the limiter through REDIS_URL")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    # Retries are visible in the emulator's code counts; keep the table readable.
    logging.getLogger("core.tiktok").setLevel(logging.ERROR)
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
