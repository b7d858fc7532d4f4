"""Charts for the chat: frozen inputs, pure PNG renderers, and an off-loop renderer."""

from core.charts.model import (
    MAX_CAMPAIGNS,
    ChartLabels,
    DailyPoint,
    DailySeries,
    ProfitPoint,
    ProfitSeries,
    Ratio,
)
from core.charts.render import (
    daily_performance,
    daily_profit,
    hourly_today_vs_yesterday,
    top_campaigns,
)
from core.charts.renderer import ChartRenderer, ChartRenderError, RendererClosedError
from core.charts.style import PALETTE, Palette

__all__ = [
    "MAX_CAMPAIGNS",
    "PALETTE",
    "ChartLabels",
    "ChartRenderError",
    "ChartRenderer",
    "DailyPoint",
    "DailySeries",
    "Palette",
    "ProfitPoint",
    "ProfitSeries",
    "Ratio",
    "RendererClosedError",
    "daily_performance",
    "daily_profit",
    "hourly_today_vs_yesterday",
    "top_campaigns",
]
