"""Charts: valid phone-sized PNGs in English and Russian, edge cases, the off-loop renderer."""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
import warnings
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.charts import sample_campaigns, sample_hours, sample_labels, sample_series
from core.charts import (
    MAX_CAMPAIGNS,
    PALETTE,
    ChartLabels,
    DailyPoint,
    DailySeries,
    Ratio,
    daily_performance,
    hourly_today_vs_yesterday,
    top_campaigns,
)
from core.charts.renderer import ChartRenderer, ChartRenderError, RendererClosedError
from core.charts.style import (
    PNG_SIGNATURE,
    chart_style,
    day_tick,
    hour_tick,
    money_label,
    money_tick,
    multiple,
    new_figure,
    safe_text,
    to_png,
)

LOCALES = ["en_US", "ru_RU"]
TEN_MB = 10 * 1024 * 1024


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the PNG signature."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_telegram_photo(data: bytes) -> None:
    """A PNG Telegram accepts as a photo and that reads well on a phone."""
    width, height = png_size(data)
    assert 1000 <= width <= 1280 and 600 <= height <= 1280
    assert width + height <= 10_000 and max(width, height) / min(width, height) <= 20
    assert len(data) < TEN_MB
    assert data.endswith(b"IEND\xaeB`\x82")


def render_quietly(fn: Callable[..., bytes], *args: Any) -> bytes:
    """Render, failing on any warning (missing glyphs show up as UserWarnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = fn(*args)
    assert [str(w.message) for w in caught] == []
    return data


def labels(locale: str = "en_US", currency: str = "USD") -> ChartLabels:
    return sample_labels(locale, "Расход и результаты" if locale == "ru_RU" else "Spend",
                         "Кабинет №1 · 1–30 нояб." if locale == "ru_RU" else "Main account",
                         currency=currency)


@pytest.mark.parametrize("locale", LOCALES)
def test_daily_chart_is_a_phone_sized_png(locale: str) -> None:
    assert_telegram_photo(render_quietly(daily_performance, sample_series(30), labels(locale)))


@pytest.mark.parametrize("locale", LOCALES)
def test_hourly_chart_is_a_phone_sized_png(locale: str) -> None:
    today, yesterday = sample_hours(now=15)
    data = render_quietly(hourly_today_vs_yesterday, today, yesterday, labels(locale, "RUB"))
    assert_telegram_photo(data)


@pytest.mark.parametrize("locale", LOCALES)
def test_top_campaigns_chart_is_a_phone_sized_png(locale: str) -> None:
    # The sample names include Cyrillic, a long name and an emoji the font lacks.
    data = render_quietly(top_campaigns, sample_campaigns(12), labels(locale, "EUR"))
    assert_telegram_photo(data)


def test_missing_glyphs_would_be_caught() -> None:
    # Proves the warning capture above can fail: raw emoji in matplotlib text do warn.
    with chart_style(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = new_figure()
        fig.text(0.5, 0.5, "Sale 🚀")
        to_png(fig)
    assert any("missing from font" in str(w.message) for w in caught)


@pytest.mark.parametrize("days", [1, 2, 7, 31, 60, 93])
@pytest.mark.parametrize("ratio", [Ratio.CPA, Ratio.ROAS])
def test_daily_chart_spans_one_to_93_days(days: int, ratio: Ratio) -> None:
    data = render_quietly(daily_performance, sample_series(days, ratio=ratio), labels("ru_RU"))
    assert_telegram_photo(data)


def test_daily_chart_crossing_new_year_and_undefined_ratio() -> None:
    end = date(2027, 1, 10)
    start = end - timedelta(days=20)
    points = tuple(DailyPoint(start + timedelta(days=i), Decimal("12.30"), 0, None)
                   for i in range(0, 21, 2))
    series = DailySeries(start, end, points, Ratio.CPA)
    assert_telegram_photo(render_quietly(daily_performance, series, labels()))


def test_empty_data_renders_the_no_data_image() -> None:
    lab = labels("ru_RU")
    empty_daily = render_quietly(daily_performance,
                                 DailySeries(date(2026, 11, 1), date(2026, 11, 30), ()), lab)
    zero_hours = render_quietly(hourly_today_vs_yesterday, [None] * 24, [Decimal(0)] * 24, lab)
    no_campaigns = render_quietly(top_campaigns, [], lab)
    zero_campaigns = render_quietly(top_campaigns, [("Idle", Decimal(0))], lab)
    assert_telegram_photo(empty_daily)
    # One image for "nothing to show", whatever the chart.
    assert empty_daily == zero_hours == no_campaigns == zero_campaigns
    assert empty_daily != render_quietly(daily_performance, sample_series(3), lab)


@pytest.mark.parametrize("now", [0, 1, 12, 23, 24])
def test_hourly_chart_at_any_hour(now: int) -> None:
    today, yesterday = sample_hours(now=now)
    assert_telegram_photo(render_quietly(hourly_today_vs_yesterday, today, yesterday, labels()))


def test_top_campaigns_edge_cases() -> None:
    one = [("$x$ and ^ not math " * 5, Decimal("0.01"))]
    assert_telegram_photo(render_quietly(top_campaigns, one, labels()))
    huge = [(f"Campaign {i}", Decimal(10) ** (i % 9)) for i in range(30)]
    assert_telegram_photo(render_quietly(top_campaigns, huge, labels("ru_RU", "RUB"), 5))
    with pytest.raises(ValueError):
        top_campaigns(huge, labels(), MAX_CAMPAIGNS + 1)


def test_inputs_are_validated() -> None:
    day = date(2026, 11, 29)
    with pytest.raises(ValueError):
        DailySeries(day, day - timedelta(days=1), ())
    with pytest.raises(ValueError):
        DailySeries(day, day, (DailyPoint(day + timedelta(days=1), Decimal(1)),))
    with pytest.raises(ValueError):
        DailySeries(day, day, (DailyPoint(day, Decimal(1)), DailyPoint(day, Decimal(2))))
    with pytest.raises(ValueError):
        hourly_today_vs_yesterday([Decimal(1)] * 23, [Decimal(1)] * 24, labels())
    gap: list[Decimal | None] = [Decimal(1), None, Decimal(1)] + [None] * 21
    with pytest.raises(ValueError):
        hourly_today_vs_yesterday(gap, [Decimal(1)] * 24, labels())


def test_inputs_pickle_for_worker_processes() -> None:
    series, lab = sample_series(30), labels("ru_RU")
    assert pickle.loads(pickle.dumps(series)) == series
    assert pickle.loads(pickle.dumps(lab)) == lab
    assert pickle.loads(pickle.dumps(daily_performance)) is daily_performance


def test_locale_formatting() -> None:
    assert day_tick(date(2026, 11, 29), "ru_RU") == "29 нояб."
    assert day_tick(date(2026, 11, 29), "en_US") == "Nov 29"
    assert money_tick(1500.0, "USD", "en_US") == "$1,500"
    assert money_tick(1500.0, "RUB", "ru_RU") == "1\xa0500\xa0₽"
    assert money_tick(25000.0, "USD", "en_US") == "$25K"
    assert money_label(Decimal("12.345"), "USD", "en_US") == "$12.34"
    assert money_label(Decimal("1234567"), "RUB", "ru_RU") == "1,2\xa0млн\xa0₽"
    assert hour_tick(6, "en_US") == "6 AM" and hour_tick(6, "ru_RU") == "06:00"
    assert multiple(Decimal("1.5"), "ru_RU") == "1,50×"
    assert multiple(1.5, "en_US", compact=True) == "1.5×"
    assert safe_text("Black Friday 🚀 Sale") == "Black Friday Sale"
    assert len({PALETTE.spend, PALETTE.conversions, PALETTE.ratio, PALETTE.comparison}) == 4


# Worker-side helpers: module-level so they pickle by reference into the worker processes.


def crash_once(marker: str) -> bytes:
    """Kill the worker the first time (no marker yet), render normally afterwards."""
    path = Path(marker)
    if not path.exists():
        path.write_text("crashed")
        os._exit(1)
    return daily_performance(sample_series(7), labels())


def crash_always() -> bytes:
    """Kill the worker every time."""
    os._exit(1)


async def test_renderer_renders_concurrently_with_identical_output() -> None:
    today, yesterday = sample_hours()
    jobs: list[tuple[Callable[..., bytes], tuple[Any, ...]]] = [
        (daily_performance, (sample_series(30), labels("ru_RU"))),
        (daily_performance, (sample_series(93, ratio=Ratio.ROAS), labels())),
        (hourly_today_vs_yesterday, (today, yesterday, labels("ru_RU"))),
        (top_campaigns, (sample_campaigns(), labels())),
        (top_campaigns, ([], labels("ru_RU"))),
    ]
    async with ChartRenderer(max_workers=2) as renderer:
        results = await asyncio.gather(*(renderer.render(fn, *args) for fn, args in jobs))
        first_fn, first_args = jobs[0]
        timed, wall, cpu = await renderer.render_timed(first_fn, *first_args)
    for (fn, args), data in zip(jobs, results, strict=True):
        assert isinstance(data, bytes)
        assert data == fn(*args)  # same bytes as rendering in this process
    assert timed == results[0] and wall > 0 and cpu > 0


async def test_renderer_starts_lazily_and_passes_errors_through() -> None:
    renderer = ChartRenderer(max_workers=1)
    try:
        assert_telegram_photo(await renderer.render(top_campaigns, sample_campaigns(3), labels()))
        with pytest.raises(ValueError):
            await renderer.render(top_campaigns, sample_campaigns(3), labels(), 0)
    finally:
        await renderer.close()


async def test_closed_renderer_refuses_work() -> None:
    renderer = ChartRenderer(max_workers=1)
    await renderer.start()
    await renderer.close()
    assert renderer.closed
    with pytest.raises(RendererClosedError, match="closed"):
        await renderer.render(top_campaigns, sample_campaigns(3), labels())
    with pytest.raises(RendererClosedError):
        await renderer.start()
    await renderer.close()  # closing twice is harmless


async def test_renderer_survives_a_worker_crash(tmp_path: Path) -> None:
    async with ChartRenderer(max_workers=1) as renderer:
        data = await renderer.render(crash_once, str(tmp_path / "crashed"))
        assert_telegram_photo(data)
        assert renderer.restarts == 1
        with pytest.raises(ChartRenderError):
            await renderer.render(crash_always)
        # And the pool still works after giving up on that chart.
        assert_telegram_photo(await renderer.render(top_campaigns, sample_campaigns(), labels()))
