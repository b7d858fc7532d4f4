"""bench.web runs end to end on the smallest knobs, so it cannot rot unnoticed."""

from __future__ import annotations

from bench import web as bench_web


async def test_web_bench_runs() -> None:
    p50, wire, raw = await bench_web.run(ads=12, days=3, n=2)
    assert p50 > 0 and 0 < wire < raw
