"""Chart render time and event-loop stall while charts render.

    python -m bench.charts [--n 30]

Renders each chart type `n` times through the ChartRenderer (one at a time) and reports the
render time measured inside the worker process (pure matplotlib + PNG encode, no IPC) and
around the awaited call (adds pickling and the hop between processes). Then runs a 1 ms ticker
on the event loop while ten charts render at once and reports its worst extra delay, through
the renderer and, as a baseline, with naive in-thread rendering (`asyncio.to_thread`-style).
The burst is repeated BURSTS times and the median burst is reported (all bursts are printed):
on this shared 2-core VM a lone burst now and then catches a 20–40 ms scheduling hiccup that
the idle loop shows too, whatever renders the charts.
The last line is `chart_ms_p50=… loop_stall_ms_max=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.charts import (
    ChartLabels,
    DailyPoint,
    DailySeries,
    Ratio,
    daily_performance,
    hourly_today_vs_yesterday,
    top_campaigns,
)
from core.charts.renderer import ChartRenderer

CHART_TARGET_MS = 60.0
STALL_TARGET_MS = 20.0
CONCURRENT = 10
BURSTS = 5

ChartJob = tuple[str, Callable[..., bytes], tuple[Any, ...]]

_LABELS = {
    "en_US": dict(
        spend="Spend",
        conversions="Conversions",
        cpa="CPA",
        roas="ROAS",
        today="Today",
        yesterday="Yesterday",
        no_data="No data for this period",
    ),
    "ru_RU": dict(
        spend="Расход",
        conversions="Конверсии",
        cpa="CPA",
        roas="ROAS",
        today="Сегодня",
        yesterday="Вчера",
        no_data="Нет данных за этот период",
    ),
}
_SUBTITLES = {
    "en_US": ("Nov 1 – Nov 30 · Main account", "Main account", "Last 7 days"),
    "ru_RU": ("1–30 нояб. · Основной кабинет", "Основной кабинет", "Последние 7 дней"),
}
_TITLES = {
    "en_US": ("Spend and results", "Hour by hour: today vs yesterday", "Top campaigns by spend"),
    "ru_RU": ("Расход и результаты", "По часам: сегодня и вчера", "Топ кампаний по расходу"),
}


def sample_labels(
    locale: str, title: str, subtitle: str = "", currency: str = "USD"
) -> ChartLabels:
    """Labels as the bot layer would pass them, in English or Russian."""
    return ChartLabels(
        locale=locale, currency=currency, title=title, subtitle=subtitle, **_LABELS[locale]
    )


def sample_series(
    days: int = 30, end: date = date(2026, 11, 29), ratio: Ratio = Ratio.CPA, gaps: bool = True
) -> DailySeries:
    """A believable period: weekly rhythm, a ramp, a few days with no delivery."""
    start = end - timedelta(days=days - 1)
    points = []
    for i in range(days):
        day = start + timedelta(days=i)
        if gaps and days > 5 and i % 11 == 4:
            continue  # missing day: drawn as zero spend
        base = 180 + 9 * i + (60 if day.weekday() >= 5 else 0) + (i * 37 % 53)
        spend = Decimal(base * 7).quantize(Decimal("0.01")) / 3
        conv = max(0, int(base / 14) + (i * 13 % 7) - 3)
        if ratio is Ratio.CPA:
            value = (spend / conv).quantize(Decimal("0.01")) if conv else None
        else:
            value = (Decimal(conv * 41) / spend).quantize(Decimal("0.01"))
        points.append(DailyPoint(day, spend.quantize(Decimal("0.01")), conv, value))
    return DailySeries(start, end, tuple(points), ratio)


def sample_hours(now: int = 15) -> tuple[list[Decimal | None], list[Decimal]]:
    """Today up to hour `now` (exclusive) and all of yesterday, in a daily delivery shape."""
    shape = [2, 1, 1, 1, 1, 2, 4, 7, 9, 11, 12, 12, 13, 13, 12, 12, 13, 14, 16, 17, 15, 11, 7, 4]
    yesterday = [Decimal(v * 9) + Decimal("0.35") for v in shape]
    today: list[Decimal | None] = [
        Decimal(v * 11) + Decimal("0.10") if h < now else None for h, v in enumerate(shape)
    ]
    return today, yesterday


def sample_campaigns(count: int = 10) -> list[tuple[str, Decimal]]:
    """Campaign names as buyers write them: long, mixed scripts, some emoji."""
    names = [
        "US | Spark Ads | Nutra Keto Gummies | Broad | CBO 01",
        "Летняя распродажа — ретаргетинг 30 дней",
        "DE_Gambling_Android_Lookalike_1%",
        "Black Friday 🚀 Sale — UGC creatives v3",
        "BR | App Install | iOS 17+",
        "Crypto_offer_Tier1_test",
        "Дейтинг | Казахстан | широкая",
        "Smart+ Catalog — Shoes",
        "MX Lead Gen",
        "Test",
        "Overflow campaign 11",
    ]
    return [
        (names[i % len(names)], Decimal(9000 - i * i * 80) + Decimal("0.45")) for i in range(count)
    ]


def sample_jobs(locale: str = "en_US") -> list[ChartJob]:
    """One job per chart type, with realistic inputs in the locale."""
    t1, t2, t3 = _TITLES[locale]
    s1, s2, s3 = _SUBTITLES[locale]
    today, yesterday = sample_hours()
    return [
        (
            "daily",
            daily_performance,
            (sample_series(30), sample_labels(locale, t1, s1)),
        ),
        (
            "hourly",
            hourly_today_vs_yesterday,
            (today, yesterday, sample_labels(locale, t2, s2)),
        ),
        ("top", top_campaigns, (sample_campaigns(), sample_labels(locale, t3, s3))),
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _worst_stall(
    render: Callable[[Callable[..., bytes], tuple[Any, ...]], Awaitable[bytes]],
    jobs: list[ChartJob],
) -> float:
    """Worst extra delay (ms) of a 1 ms ticker on the loop while `CONCURRENT` charts render."""
    stop = asyncio.Event()
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, (time.perf_counter() - started - 0.001) * 1000)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)  # ticker running before the burst
    batch = [jobs[i % len(jobs)] for i in range(CONCURRENT)]
    await asyncio.gather(*(render(fn, args) for _, fn, args in batch))
    stop.set()
    await tick
    return worst


async def _idle_stall() -> float:
    async def nothing(fn: Callable[..., bytes], args: tuple[Any, ...]) -> bytes:
        await asyncio.sleep(0.3)
        return b""

    return await _worst_stall(nothing, [("idle", bytes, ())])


async def measure_charts(n: int = 30, baseline: bool = False) -> dict[str, Any]:
    """Render each chart type `n` times and measure the loop stall during a burst of ten.

    `chart_ms_p50` is the median over all charts of the time spent inside the chart function
    in the worker process (matplotlib draw + PNG encode; no IPC). `loop_stall_ms_max` is the
    worst ticker delay during a burst of ten charts through the ChartRenderer (median burst of
    BURSTS; every burst is in `loop_stall_ms_bursts`). With `baseline=True` the result also
    holds `thread_stall_ms_max`/`_bursts`, the same bursts rendered in threads in this process.
    """
    jobs = sample_jobs("en_US") + sample_jobs("ru_RU")
    per_type: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    around: dict[str, list[float]] = {}
    async with ChartRenderer() as renderer:
        for _, fn, args in jobs:  # warm both workers' font and glyph caches
            await renderer.render(fn, *args)
            await renderer.render(fn, *args)
        for i in range(n):
            for name, fn, args in jobs[:3] if i % 2 == 0 else jobs[3:]:
                started = time.perf_counter()
                _, inside, cpu_s = await renderer.render_timed(fn, *args)
                around.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                per_type.setdefault(name, []).append(inside * 1000)
                cpu.setdefault(name, []).append(cpu_s * 1000)

        async def via_pool(fn: Callable[..., bytes], args: tuple[Any, ...]) -> bytes:
            return await renderer.render(fn, *args)

        bursts = [await _worst_stall(via_pool, jobs) for _ in range(BURSTS)]

    result: dict[str, Any] = {
        "chart_ms_p50": statistics.median(v for vs in per_type.values() for v in vs),
        "loop_stall_ms_max": statistics.median(bursts),
        "loop_stall_ms_bursts": bursts,
        "per_type": {
            name: {
                "p50": _percentile(vs, 0.5),
                "p95": _percentile(vs, 0.95),
                "call_p50": _percentile(around[name], 0.5),
                "cpu_p50": _percentile(cpu[name], 0.5),
            }
            for name, vs in per_type.items()
        },
        "idle_stall_ms_max": await _idle_stall(),
    }
    if baseline:
        with ThreadPoolExecutor(max_workers=2) as threads:
            loop = asyncio.get_running_loop()

            async def in_thread(fn: Callable[..., bytes], args: tuple[Any, ...]) -> bytes:
                return await loop.run_in_executor(threads, fn, *args)

            for _, fn, args in jobs:
                await in_thread(fn, args)
            thread_bursts = [await _worst_stall(in_thread, jobs) for _ in range(BURSTS)]
            result["thread_stall_ms_max"] = statistics.median(thread_bursts)
            result["thread_stall_ms_bursts"] = thread_bursts
    return result


def _print_report(r: dict[str, Any]) -> None:
    print("render time per chart, ms. p50/p95: wall time inside the worker (matplotlib build,")
    print("draw, PNG encode); cpu: CPU time of the same; await: the call as the event loop sees")
    print("it, including the hop between processes")
    print(f"{'chart':<8} {'p50':>7} {'p95':>7} {'cpu p50':>8} {'await p50':>10}")
    for name, row in r["per_type"].items():
        print(
            f"{name:<8} {row['p50']:>7.1f} {row['p95']:>7.1f} {row['cpu_p50']:>8.1f} "
            f"{row['call_p50']:>10.1f}"
        )
    p50 = r["chart_ms_p50"]
    verdict = "OK" if p50 <= CHART_TARGET_MS else "OVER"
    print(f"{'all':<8} {p50:>7.1f}   target ≤ {CHART_TARGET_MS:.0f}  {verdict}")
    print()
    stall, thread = r["loop_stall_ms_max"], r.get("thread_stall_ms_max")
    print(
        f"event-loop stall, ms: worst extra delay of a 1 ms ticker while {CONCURRENT} charts "
        f"render at once (median of {BURSTS} bursts; each burst below)"
    )
    verdict = "OK" if stall < STALL_TARGET_MS else "OVER"
    print(f"{'':<10} {'pool':>7} {'threads':>8} {'threads/pool':>13} {'target':>8}")
    threads = (
        f"{thread:>8.1f} {thread / max(stall, 1e-3):>12.1f}×"
        if thread is not None
        else (f"{'-':>8} {'-':>13}")
    )
    print(f"{'stall':<10} {stall:>7.1f} {threads} {'< ' + str(int(STALL_TARGET_MS)):>8}  {verdict}")
    print(f"{'idle loop':<10} {r['idle_stall_ms_max']:>7.1f}   (ticker alone, no charts)")
    print("bursts, pool:    " + "  ".join(f"{v:.1f}" for v in r["loop_stall_ms_bursts"]))
    if "thread_stall_ms_bursts" in r:
        print("bursts, threads: " + "  ".join(f"{v:.1f}" for v in r["thread_stall_ms_bursts"]))
    print(f"chart_ms_p50={p50:.1f} loop_stall_ms_max={stall:.1f}")


def main() -> None:
    """Command-line entry: print the table and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="renders per chart type")
    args = parser.parse_args()
    _print_report(asyncio.run(measure_charts(args.n, baseline=True)))


if __name__ == "__main__":
    main()
