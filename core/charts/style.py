"""Look and formatting shared by every chart: palette, fonts, sizes, Babel formatters."""

from __future__ import annotations

import contextlib
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

import matplotlib
import numpy as np
from babel import Locale
from babel.dates import format_skeleton, format_time
from babel.numbers import (
    format_compact_currency,
    format_compact_decimal,
    format_currency,
    format_decimal,
)
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# No pyplot and no global backend switch: figures are `Figure` objects drawn by an explicit
# `FigureCanvasAgg`, so importing this module never touches a GUI or global matplotlib state.


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours by meaning; the same metric has the same colour on every chart."""

    spend: str
    conversions: str
    ratio: str
    comparison: str
    text: str
    muted: str
    grid: str
    background: str


# Okabe–Ito colours (safe for the common colour-vision deficiencies): spend blue, conversions
# bluish green, CPA/ROAS vermillion; "yesterday" and other comparisons are neutral grey.
PALETTE = Palette(
    spend="#0072B2",
    conversions="#009E73",
    ratio="#D55E00",
    comparison="#8C8C8C",
    text="#1F2328",
    muted="#6E7781",
    grid="#E4E7EB",
    background="#FFFFFF",
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FONT = "DejaVu Sans"  # ships with matplotlib, covers Latin, Cyrillic and currency signs
WIDTH_PX, HEIGHT_PX, DPI = 1280, 800, 100
TITLE_PT, SUBTITLE_PT, LABEL_PT, TICK_PT, ANNOTATION_PT = 28, 19, 19, 18, 18

RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": TICK_PT,
    "text.parse_math": False,  # campaign names and "$" amounts are literal text
    "text.color": PALETTE.text,
    "axes.edgecolor": PALETTE.grid,
    "axes.labelcolor": PALETTE.muted,
    "axes.labelsize": LABEL_PT,
    "axes.linewidth": 1.2,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.spines.left": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": PALETTE.grid,
    "grid.linewidth": 1.2,
    "axes.facecolor": PALETTE.background,
    "axes.axisbelow": True,
    "xtick.color": PALETTE.muted,
    "ytick.color": PALETTE.muted,
    "xtick.labelcolor": PALETTE.text,
    "ytick.labelcolor": PALETTE.text,
    "xtick.labelsize": TICK_PT,
    "ytick.labelsize": TICK_PT,
    "xtick.major.size": 0,
    "ytick.major.size": 0,
    "xtick.major.pad": 8,
    "ytick.major.pad": 8,
    "legend.fontsize": LABEL_PT,
    "legend.frameon": False,
    "figure.facecolor": PALETTE.background,
    "savefig.facecolor": PALETTE.background,
}


_RENDER_LOCK = threading.RLock()


@lru_cache(maxsize=1)
def _charmap() -> frozenset[int]:
    return frozenset(_font(False).get_charmap())


@lru_cache(maxsize=2)
def _font(bold: bool) -> ft2font.FT2Font:
    props = font_manager.FontProperties(family=FONT, weight="bold" if bold else "normal")
    return ft2font.FT2Font(font_manager.findfont(props, fallback_to_default=False))


def text_width_px(text: str, size_pt: float, bold: bool = False) -> float:
    """Width in pixels of one line of text at `size_pt` in the chart font at the chart DPI."""
    with _RENDER_LOCK:  # FT2Font objects are not thread-safe
        font = _font(bold)
        font.set_size(size_pt, DPI)
        font.set_text(text, 0.0)
        return font.get_width_height()[0] / 64


def safe_text(text: str) -> str:
    """Drop characters the font cannot draw (emoji in campaign names) instead of tofu boxes."""
    glyphs = _charmap()
    if all(ord(c) in glyphs for c in text):
        return text
    kept = "".join(c for c in text if ord(c) in glyphs or c in "\n\t")
    return " ".join(kept.split())


@contextlib.contextmanager
def chart_style() -> Iterator[None]:
    """Apply the chart rcParams while one chart is built and drawn.

    rcParams are process-global, so a lock serialises charts rendered in threads of one
    process (each worker process renders one chart at a time anyway).
    """
    with _RENDER_LOCK, matplotlib.rc_context(RC):
        yield


def new_figure() -> Figure:
    """A blank figure of the standard size, not attached to pyplot."""
    return Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)


def to_png(fig: Figure) -> bytes:
    """Draw the figure with Agg and encode it as an 8-bit RGB PNG."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return encode_png(np.asarray(canvas.buffer_rgba()))


def encode_png(rgba: np.ndarray) -> bytes:
    """Encode an opaque (h, w, 4) uint8 image as RGB PNG: no row filter, zlib level 3.

    Charts are large flat areas, so unfiltered rows compress to ~100 KB at half the time of
    Pillow's adaptive filtering (which matplotlib's savefig uses); the alpha channel is
    dropped because the background is opaque.
    """
    h, w, _ = rgba.shape
    rows = np.empty((h, w * 3 + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "None" for every row
    # Copied straight into a view of the rows: `rgba[..., :3].reshape(...)` would first make
    # a temporary copy of the 3 MB image, and `tobytes()` a third (~4 ms of a chart's ~50).
    rows[:, 1:].reshape(h, w, 3)[...] = rgba[:, :, :3]
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return b"".join((PNG_SIGNATURE, _chunk(b"IHDR", ihdr),
                     _chunk(b"IDAT", zlib.compress(rows, 3)), _chunk(b"IEND", b"")))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def header(fig: Figure, title: str, subtitle: str) -> None:
    """Left-aligned title and optional muted subtitle at the top of the figure."""
    fig.text(0.035, 0.955, safe_text(title), fontsize=TITLE_PT, fontweight="bold",
             color=PALETTE.text, va="top", ha="left")
    if subtitle:
        fig.text(0.035, 0.885, safe_text(subtitle), fontsize=SUBTITLE_PT,
                 color=PALETTE.muted, va="top", ha="left")


def no_data(title: str, subtitle: str, message: str) -> bytes:
    """The standard image for an empty period: the header and one centred message."""
    with chart_style():
        fig = new_figure()
        header(fig, title, subtitle)
        fig.text(0.5, 0.45, safe_text(message), fontsize=TITLE_PT, color=PALETTE.muted,
                 ha="center", va="center")
        return to_png(fig)


def money_tick(value: float, currency: str, locale: str, cents: bool = False) -> str:
    """Axis tick for a money value: compact from 10 000, cents only when `cents`."""
    amount = Decimal(str(float(value)))
    if abs(value) >= 10_000:
        return format_compact_currency(amount, currency, locale=locale, fraction_digits=1)
    return _currency_digits(amount, currency, locale, 2 if cents else 0)


def money_label(value: Decimal, currency: str, locale: str) -> str:
    """A money value written on a chart: cents under 100, whole units, compact from 100 000."""
    if abs(value) >= 100_000:
        return format_compact_currency(value, currency, locale=locale, fraction_digits=1)
    return _currency_digits(value, currency, locale, 2 if abs(value) < 100 else 0)


@lru_cache(maxsize=64)
def _currency_pattern(locale: str, digits: int) -> str:
    # The locale's own pattern (sign placement, spacing) with our precision swapped in.
    std = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
    return std.replace("0.00", "0." + "0" * digits if digits else "0")


def _currency_digits(value: Decimal, currency: str, locale: str, digits: int) -> str:
    fmt = _currency_pattern(locale, digits)
    return format_currency(value, currency, format=fmt, locale=locale, currency_digits=False)


def count_tick(value: float, locale: str) -> str:
    """Axis tick for a count (conversions): compact from 10 000."""
    if abs(value) >= 10_000:
        return format_compact_decimal(value, locale=locale, fraction_digits=1)
    return format_decimal(round(value), locale=locale)


def multiple(value: float | Decimal, locale: str, compact: bool = False) -> str:
    """ROAS as a multiple, e.g. "1.85×" / "1,85×"; `compact` drops trailing zeros ("1.5×")."""
    pattern = "#,##0.##" if compact else "#,##0.00"
    return format_decimal(Decimal(str(float(value))), format=pattern, locale=locale) + "×"


def day_tick(day: date, locale: str, with_year: bool = False) -> str:
    """Short day label in the locale: "Nov 29" / "29 нояб."."""
    return format_skeleton("yMMMd" if with_year else "MMMd", day, locale=locale)


@lru_cache(maxsize=32)
def uses_12h(locale: str) -> bool:
    """Whether the locale writes times with AM/PM."""
    return "a" in Locale.parse(locale).time_formats["short"].pattern


def hour_tick(hour: int, locale: str) -> str:
    """Hour-of-day label in the locale: "6 AM" / "06:00"; 24 is midnight at day's end."""
    t = time(hour % 24)
    if uses_12h(locale):
        return format_skeleton("h", t, locale=locale).replace("\u202f", " ")
    return format_time(t, "HH:mm", locale=locale) if hour < 24 else "24:00"
