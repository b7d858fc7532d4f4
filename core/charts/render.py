"""The chart functions: plain data in, PNG bytes out; pure, picklable, safe in any process.

Money stays `Decimal` for every number a person reads (tick labels, value labels are
formatted with Babel from Decimal); it is turned into float only for pixel positions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from core.charts.model import MAX_CAMPAIGNS, ChartLabels, DailySeries, ProfitSeries, Ratio
from core.charts.style import (
    ANNOTATION_PT,
    DPI,
    HEIGHT_PX,
    LABEL_PT,
    PALETTE,
    TICK_PT,
    WIDTH_PX,
    chart_style,
    count_tick,
    day_tick,
    header,
    hour_tick,
    money_label,
    money_tick,
    multiple,
    new_figure,
    no_data,
    safe_text,
    text_width_px,
    to_png,
)

NAME_CHARS = 28  # campaign names longer than this end with "…"
_TICK_STEPS = (1, 2, 3, 4, 5, 7, 14, 21, 28, 35, 42, 56, 91)
_MAX_DAY_TICKS = 8
_HOURLY_AXES_H = 0.66  # of the figure height


def daily_performance(series: DailySeries, labels: ChartLabels) -> bytes:
    """Daily spend bars, conversions line (right axis) and a CPA or ROAS panel below."""
    by_day = {p.day: p for p in series.points}
    days = [series.start + timedelta(days=i) for i in range(series.days)]
    if not any(p.spend > 0 or p.conversions > 0 for p in series.points):
        return no_data(labels.title, labels.subtitle, labels.no_data)
    n = len(days)
    x = np.arange(n)
    spend = [by_day[d].spend if d in by_day else Decimal(0) for d in days]
    conv = [by_day[d].conversions if d in by_day else 0 for d in days]
    ratio = [by_day[d].ratio if d in by_day else None for d in days]
    ratio_f = np.array([math.nan if r is None else float(r) for r in ratio])
    ratio_name = labels.cpa if series.ratio is Ratio.CPA else labels.roas
    loc, cur = labels.locale, labels.currency
    markers = n <= 31

    with chart_style():
        fig = new_figure()
        header(fig, labels.title, labels.subtitle)
        # Spend bars on the left axis; the conversions axis is scaled so gridlines coincide.
        spend_f = np.array([float(s) for s in spend])
        ticks = _ticks(float(spend_f.max()), nbins=4)
        cents = any(not float(t).is_integer() for t in ticks)
        k = len(ticks) - 1
        conv_step = _nice_int_step(max(conv) * 1.08 / k)
        defined = ratio_f[~np.isnan(ratio_f)]
        rmax = float(defined.max()) if defined.size else 0.0
        widest_left = [money_tick(t, cur, loc, cents) for t in ticks]
        widest_left.append(money_tick(rmax, cur, loc, cents=True) if series.ratio is Ratio.CPA
                           else multiple(rmax, loc))
        left = _left_margin(widest_left, minimum=0.08)
        right = 1 - _left_margin([count_tick(conv_step * k, loc)], minimum=0.05)
        top_ax = fig.add_axes((left, 0.37, right - left, 0.44))
        low_ax = fig.add_axes((left, 0.08, right - left, 0.2))

        top_ax.set_ylim(0, ticks[-1])
        top_ax.yaxis.set_major_locator(FixedLocator(ticks))
        top_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money_tick(v, cur, loc, cents)))
        top_ax.tick_params(axis="y", labelcolor=PALETTE.spend)
        _bars(top_ax, x, spend_f, width=0.72 if n > 1 else 0.5)

        # Conversions share the spend gridlines: tick i of each axis sits on the same line, so
        # they are drawn in spend units and labelled on the right (a twin axes costs ~8 ms).
        scale = float(ticks[-1]) / (conv_step * k)
        right_side = top_ax.get_yaxis_transform()
        for i in range(k + 1):
            top_ax.text(1.012, float(ticks[i]), count_tick(conv_step * i, loc),
                        transform=right_side, ha="left", va="center", fontsize=TICK_PT,
                        color=PALETTE.conversions)
        top_ax.plot(x, np.array(conv, dtype=float) * scale, color=PALETTE.conversions,
                    linewidth=3.5, zorder=3, marker="o" if markers else None,
                    markersize=9 if n <= 14 else 7, markeredgecolor=PALETTE.background,
                    markeredgewidth=1.5)

        # The efficiency panel: gaps where the metric is undefined.
        if defined.size:
            rmax *= 1.15
            if series.ratio is Ratio.ROAS:
                rmax = max(rmax, 1.2)
                low_ax.axhline(1.0, color=PALETTE.muted, linewidth=1.5, linestyle=(0, (4, 4)),
                               zorder=1)
            low_ax.set_ylim(0, rmax or 1)
            low_ax.plot(x, ratio_f, color=PALETTE.ratio, linewidth=3.5, zorder=3,
                        marker="o" if markers or defined.size < 3 else None,
                        markersize=9 if n <= 14 else 7,
                        markeredgecolor=PALETTE.background, markeredgewidth=1.5)
            low_ax.yaxis.set_major_locator(
                MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10], min_n_ticks=3))
        else:
            low_ax.set_ylim(0, 1)
            low_ax.set_yticks([])
            low_ax.text(0.5, 0.5, "—", transform=low_ax.transAxes, ha="center", va="center",
                        color=PALETTE.muted, fontsize=LABEL_PT)
        if series.ratio is Ratio.CPA:
            low_ax.yaxis.set_major_formatter(FuncFormatter(
                lambda v, _: money_tick(v, cur, loc, cents=not float(v).is_integer())))
        else:
            low_ax.yaxis.set_major_formatter(
                FuncFormatter(lambda v, _: multiple(v, loc, compact=True)))
        low_ax.tick_params(axis="y", labelcolor=PALETTE.ratio)

        # Day ticks: at most eight, counted back from the last day so "today" is labelled.
        step = next((s for s in _TICK_STEPS if math.ceil(n / s) <= _MAX_DAY_TICKS), 91)
        idx = list(range(n - 1, -1, -step))[::-1]
        years_differ = days[0].year != days[-1].year
        names = []
        for j, i in enumerate(idx):
            new_year = j == 0 or days[idx[j - 1]].year != days[i].year
            names.append(day_tick(days[i], loc, with_year=years_differ and new_year))
        low_ax.set_xticks(idx, names)
        top_ax.set_xticks([])
        pad = max(0.0, (7 - n) / 2)
        for ax in (top_ax, low_ax):
            ax.set_xlim(-0.6 - pad, n - 0.4 + pad)

        fig.legend(
            handles=[
                Patch(color=PALETTE.spend, label=safe_text(labels.spend)),
                Line2D([], [], color=PALETTE.conversions, linewidth=3.5,
                       label=safe_text(labels.conversions)),
                Line2D([], [], color=PALETTE.ratio, linewidth=3.5, label=safe_text(ratio_name)),
            ],
            loc="upper right", bbox_to_anchor=(0.985, 0.975), ncol=3, handlelength=1.4,
            columnspacing=1.4, borderaxespad=0,
        )
        return to_png(fig)


def daily_profit(series: ProfitSeries, labels: ChartLabels) -> bytes:
    """Daily profit bars (tracker revenue minus TikTok spend: green above zero, vermillion
    below) with the revenue as a line, and the period's total profit written on top."""
    by_day = {p.day: p for p in series.points}
    days = [series.start + timedelta(days=i) for i in range(series.days)]
    if not any(p.revenue != 0 or p.spend != 0 for p in series.points):
        return no_data(labels.title, labels.subtitle, labels.no_data)
    n = len(days)
    x = np.arange(n)
    profit = [by_day[d].profit if d in by_day else Decimal(0) for d in days]
    revenue = [by_day[d].revenue if d in by_day else Decimal(0) for d in days]
    loc, cur = labels.locale, labels.currency
    profit_f = np.array([float(v) for v in profit])
    revenue_f = np.array([float(v) for v in revenue])

    with chart_style():
        fig = new_figure()
        header(fig, labels.title, labels.subtitle)
        low = min(0.0, float(profit_f.min()))
        high = max(float(profit_f.max()), float(revenue_f.max()), 0.0)
        span = (high - low) or 1.0
        locator = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10], min_n_ticks=3)
        ticks = locator.tick_values(low - span * 0.04, high + span * 0.08)
        cents = any(not float(t).is_integer() for t in ticks)
        left = _left_margin([money_tick(t, cur, loc, cents) for t in ticks], minimum=0.08)
        ax = fig.add_axes((left, 0.1, 0.95 - left, 0.66))
        ax.set_ylim(float(ticks[0]), float(ticks[-1]))
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money_tick(v, cur, loc, cents)))
        ax.axhline(0.0, color=PALETTE.muted, linewidth=1.5, zorder=1)
        colors = [PALETTE.conversions if v >= 0 else PALETTE.ratio for v in profit_f]
        ax.bar(x, profit_f, width=0.72 if n > 1 else 0.5, color=colors, zorder=2)
        ax.plot(x, revenue_f, color=PALETTE.spend, linewidth=3.0, zorder=3,
                marker="o" if n <= 31 else None, markersize=7,
                markeredgecolor=PALETTE.background, markeredgewidth=1.5)
        step = next((s for s in _TICK_STEPS if math.ceil(n / s) <= _MAX_DAY_TICKS), 91)
        idx = list(range(n - 1, -1, -step))[::-1]
        years_differ = days[0].year != days[-1].year
        ax.set_xticks(idx, [day_tick(days[i], loc, with_year=years_differ and j == 0)
                            for j, i in enumerate(idx)])
        pad = max(0.0, (7 - n) / 2)
        ax.set_xlim(-0.6 - pad, n - 0.4 + pad)
        total = sum(profit, Decimal(0))
        ax.text(0.0, 1.03, f"{safe_text(labels.profit)}: {money_label(total, cur, loc)}",
                transform=ax.transAxes, ha="left", va="bottom", fontsize=LABEL_PT,
                fontweight="bold", color=PALETTE.conversions if total >= 0 else PALETTE.ratio)
        fig.legend(
            handles=[
                Patch(color=PALETTE.conversions, label=safe_text(labels.profit)),
                Line2D([], [], color=PALETTE.spend, linewidth=3.0,
                       label=safe_text(labels.revenue)),
            ],
            loc="upper right", bbox_to_anchor=(0.985, 0.975), ncol=2, handlelength=1.4,
            borderaxespad=0,
        )
        return to_png(fig)


def hourly_today_vs_yesterday(
    today: Sequence[Decimal | None], yesterday: Sequence[Decimal], labels: ChartLabels
) -> bytes:
    """Cumulative spend by hour, today against yesterday; today stops at the current hour.

    Cumulative, not per hour: the question a buyer asks at 15:00 is "am I spending faster or
    slower than yesterday", which is the gap between two running totals; per-hour bars are
    noisy (delivery is bursty, TikTok backfills late hours) and hide the pace.
    Hour h's value is the spend during h:00–h:59, so running totals are drawn at h+1.
    """
    if len(today) != 24 or len(yesterday) != 24:
        raise ValueError("today and yesterday need 24 hourly values each")
    reached = [v for v in today if v is not None]
    if any(v is not None for v in today[len(reached):]):
        raise ValueError("today may have None only for hours not reached yet (at the end)")
    if not any(v > 0 for v in reached) and not any(v > 0 for v in yesterday):
        return no_data(labels.title, labels.subtitle, labels.no_data)
    loc, cur = labels.locale, labels.currency
    run_today = _running(reached)
    run_yday = _running(list(yesterday))

    with chart_style():
        fig = new_figure()
        header(fig, labels.title, labels.subtitle)
        top = max(run_yday[-1], run_today[-1] if run_today else Decimal(0))
        ticks = _ticks(float(top), nbins=5)
        cents = any(not float(t).is_integer() for t in ticks)
        left = _left_margin([money_tick(t, cur, loc, cents) for t in ticks], minimum=0.08)
        ax = fig.add_axes((left, 0.1, 0.95 - left, _HOURLY_AXES_H))
        ax.set_ylim(0, ticks[-1])
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money_tick(v, cur, loc, cents)))
        hours = list(range(0, 25, 3))
        ax.set_xticks(hours, [hour_tick(h, loc) for h in hours])
        ax.set_xlim(-0.8, 24.3)

        y_f = [0.0] + [float(v) for v in run_yday]
        ax.plot(range(25), y_f, color=PALETTE.comparison, linewidth=3.5,
                linestyle=(0, (5, 3)), zorder=2)
        now = len(reached)
        if now:
            t_f = [0.0] + [float(v) for v in run_today]
            ax.fill_between(range(now + 1), t_f, color=PALETTE.spend, alpha=0.10, zorder=1,
                            linewidth=0)
            ax.plot(range(now + 1), t_f, color=PALETTE.spend, linewidth=4.5, zorder=3)
            t_now, y_now = run_today[-1], run_yday[now - 1]
            ax.plot([now], [float(t_now)], "o", color=PALETTE.spend, markersize=11, zorder=4,
                    markeredgecolor=PALETTE.background, markeredgewidth=2)
            ax.plot([now], [float(y_now)], "o", color=PALETTE.comparison, markersize=9,
                    zorder=4, markeredgecolor=PALETTE.background, markeredgewidth=2)
            _pair_labels(ax, now, float(ticks[-1]),
                         (t_now, money_label(t_now, cur, loc), PALETTE.spend, "bold"),
                         (y_now, money_label(y_now, cur, loc), PALETTE.muted, "normal"))
        if now < 24:
            ax.annotate(money_label(run_yday[-1], cur, loc), (24, float(run_yday[-1])),
                        xytext=(0, 12), textcoords="offset points", color=PALETTE.muted,
                        fontsize=ANNOTATION_PT, ha="right", va="bottom")

        fig.legend(
            handles=[
                Line2D([], [], color=PALETTE.spend, linewidth=4.5, label=safe_text(labels.today)),
                Line2D([], [], color=PALETTE.comparison, linewidth=3.5, linestyle=(0, (5, 3)),
                       label=safe_text(labels.yesterday)),
            ],
            loc="upper right", bbox_to_anchor=(0.985, 0.975), ncol=2, handlelength=2.2,
            borderaxespad=0,
        )
        return to_png(fig)


def top_campaigns(
    items: Sequence[tuple[str, Decimal]], labels: ChartLabels, limit: int = MAX_CAMPAIGNS
) -> bytes:
    """Horizontal bars of the top campaigns by spend (at most 10), values at the bar ends."""
    if not 1 <= limit <= MAX_CAMPAIGNS:
        raise ValueError(f"limit must be 1..{MAX_CAMPAIGNS}")
    ranked = sorted((it for it in items if it[1] > 0), key=lambda it: it[1], reverse=True)
    ranked = ranked[:limit]
    if not ranked:
        return no_data(labels.title, labels.subtitle, labels.no_data)
    loc, cur = labels.locale, labels.currency
    names = [_ellipsize(safe_text(name)) or "—" for name, _ in ranked]
    values = [float(v) for _, v in ranked]
    n = len(ranked)

    with chart_style():
        fig = new_figure()
        header(fig, labels.title, labels.subtitle)
        left = _left_margin(names, minimum=0.12, size_pt=LABEL_PT)
        ax = fig.add_axes((left, 0.04, 0.97 - left, 0.76))
        ax.spines[:].set_visible(False)
        ax.xaxis.set_visible(False)
        ax.grid(False)
        y = np.arange(n)
        _bars(ax, y, np.array(values), width=0.66, horizontal=True)
        ax.set_yticks([])  # names as plain text: ten Tick objects cost more than the bars
        left_side = ax.get_yaxis_transform()
        for i, name in enumerate(names):
            ax.text(-0.012, i, name, transform=left_side, ha="right", va="center",
                    fontsize=LABEL_PT, color=PALETTE.text)
        ax.set_ylim(max(n, 6) - 0.5, -0.5)  # largest on top; few bars stay bar-shaped
        vmax = max(values)
        ax.set_xlim(0, vmax * 1.22)
        for i, (_, v) in enumerate(ranked):
            ax.text(float(v) + vmax * 0.015, i, money_label(v, cur, loc), va="center",
                    ha="left", fontsize=ANNOTATION_PT, color=PALETTE.text, fontweight="bold")
        return to_png(fig)


def _bars(ax: Any, at: np.ndarray, heights: np.ndarray, width: float,
          horizontal: bool = False) -> None:
    # One compound path instead of one Rectangle artist per bar: 93 daily bars draw in one
    # call, which keeps the render time flat across 1..93 days.
    half = width / 2
    n = len(at)
    verts = np.zeros((n, 5, 2))
    verts[:, :, 0] = (at[:, None] + np.array([-half, -half, half, half, -half]))
    verts[:, :, 1] = heights[:, None] * np.array([0, 1, 1, 0, 0])
    if horizontal:
        verts = verts[:, :, ::-1]
    codes = np.tile([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], n)
    # add_artist, not add_patch: both callers set the axis limits, so skip autoscaling work.
    ax.add_artist(PathPatch(Path(verts.reshape(-1, 2), codes), facecolor=PALETTE.spend,
                            edgecolor="none", zorder=2))


def _ticks(top: float, nbins: int) -> Any:
    locator = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10], min_n_ticks=3)
    ticks = locator.tick_values(0, max(top * 1.08, 1e-9))
    return ticks[ticks >= 0]


def _running(values: Sequence[Decimal]) -> list[Decimal]:
    total, out = Decimal(0), []
    for v in values:
        total += v
        out.append(total)
    return out


def _nice_int_step(raw: float) -> int:
    if raw <= 1:
        return 1
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw and float(m * mag).is_integer():
            return int(m * mag)
    return int(10 * mag)


def _ellipsize(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1].rstrip() + "…"


def _left_margin(texts: Sequence[str], minimum: float, size_pt: float = TICK_PT) -> float:
    widest = max((text_width_px(t, size_pt) for t in texts), default=0.0)
    return max(minimum, min(0.45, (widest + 40) / WIDTH_PX))


def _pair_labels(
    ax: Any, x: int, y_top: float, today: tuple[Decimal, str, str, str],
    yesterday: tuple[Decimal, str, str, str],
) -> None:
    """Label today's and yesterday's running totals at hour x without overlapping.

    The higher value is labelled above its point and the lower one below; when the lower
    label would sink into the x axis (early hours, small numbers) both go above, stacked.
    Text leans towards the middle of the day so it never leaves the plot.
    """
    hi, lo = (today, yesterday) if today[0] >= yesterday[0] else (yesterday, today)
    pt_per_unit = _HOURLY_AXES_H * HEIGHT_PX * 72 / DPI / y_top
    gap = float(hi[0] - lo[0]) * pt_per_unit  # vertical distance of the two points, in pt
    line = ANNOTATION_PT * 1.35
    lean_left = x > 4
    dx, ha = (-10, "right") if lean_left else (10, "left")
    hi_dy, lo_dy, lo_va = 12.0, -12.0, "top"
    if float(lo[0]) * pt_per_unit < 12 + line:
        hi_dy, lo_dy, lo_va = 12 + line, gap + 12, "bottom"
    elif lean_left:
        lo_dy = -20.0  # the rising line to the left of the point passes just below it
    for (value, text, color, weight), dy, va in ((hi, hi_dy, "bottom"), (lo, lo_dy, lo_va)):
        ax.annotate(text, (x, float(value)), xytext=(dx, dy), textcoords="offset points",
                    ha=ha, va=va, color=color, fontsize=ANNOTATION_PT, fontweight=weight)
