"""The scale benches run end to end on the smallest knobs, so they cannot rot unnoticed."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bench import scale
from tests.services import PG_ADMIN_DSN, REDIS_URL, fresh_postgres, redis_client


async def test_updates_bench_runs() -> None:
    # Its own process, as it is run: the bench builds the service's dispatcher, and the routers
    # are module-level (one dispatcher per process; other tests here built theirs already).
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.updates",
        "--users", "4", "--updates", "28", "--rounds", "1", "--skip-scale", "--by-kind",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    raw, _ = await proc.communicate()
    out = raw.decode()
    assert proc.returncode == 0, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("updates_ratio=")
    ratio = float(last.split()[0].partition("=")[2])
    assert 0 < ratio < 10
    # The service answered every kind of update through the stub (menus edit, /start sends).
    assert "editMessageText" in out and "answerCallbackQuery" in out and "sendMessage" in out
    # The replaying side made the calls the service made (the same mix, so the same counts).
    calls = {line.partition("(")[2].partition(")")[0]: line.partition(": ")[2]
             for line in out.splitlines() if line.strip().startswith("Bot API calls")}
    assert calls["same calls"] == calls["service"], calls
    floor = float(last.split()[1].removeprefix("floor_ratio="))
    assert 0 < floor < 10
    # Per kind: the service, the same calls replayed, and the excess of the one over the other.
    rows = [line.split() for line in out.splitlines() if line.startswith("    ")]
    kinds = {" ".join(row[:-3]): row[-3:] for row in rows}
    assert {"/start", "menu home", "stats campaigns", "typed text"} <= set(kinds), kinds
    for service, same, excess in kinds.values():
        assert float(service) > 0 and float(same) > 0
        assert abs(float(service) - float(same) - float(excess)) < 0.011


# Its instances are separate interpreters importing the whole service: ~30 s on a quiet machine,
# minutes on a loaded one (an instance took 70 s to start at a load average of 12).
@pytest.mark.timeout(600)
async def test_scale_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    async with fresh_postgres():  # skips (or fails in CI) without PostgreSQL
        pass
    await (await redis_client()).aclose()  # the same for Redis
    args = scale.parse_args(
        [
            "--accounts", "3", "--instances", "1", "--minutes", "0.2", "--today-minutes", "0.1",
            "--tick-seconds", "1", "--sample-seconds", "2", "--shape", "1x1x1",
            "--postgres-dsn", PG_ADMIN_DSN, "--redis-url", REDIS_URL,
        ]
    )  # fmt: skip
    assert await scale.main_async(args) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    values = dict(part.split("=") for part in last.split())
    assert set(values) == {"sync_lag_ratio", "calls_per_sync", "fewest_per_sync", "rss_mb_max"}
    assert float(values["rss_mb_max"]) > 0
    # Three small accounts, each synced at least once: calls were made and counted.
    assert float(values["fewest_per_sync"]) > 0
