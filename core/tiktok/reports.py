"""Synchronous report helpers: levels, span limits, metric parsing (spec §7.1)."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import partial
from typing import Any

from core.tiktok.parsing import (
    EMPTY,
    as_mapping,
    id_str,
    local_datetime,
    opt_str,
    to_decimal,
    to_int,
)


class ReportLevel(Enum):
    """Report data level and the id dimension that goes with it."""

    ADVERTISER = ("AUCTION_ADVERTISER", "advertiser_id")
    CAMPAIGN = ("AUCTION_CAMPAIGN", "campaign_id")
    ADGROUP = ("AUCTION_ADGROUP", "adgroup_id")
    AD = ("AUCTION_AD", "ad_id")

    @property
    def data_level(self) -> str:
        """The `data_level` query value."""
        return self.value[0]

    @property
    def id_dimension(self) -> str:
        """The id dimension for this level."""
        return self.value[1]

    @property
    def status_filter(self) -> str | None:
        """The `*_status` filter field that includes deleted objects (spec §10.6)."""
        return {
            ReportLevel.CAMPAIGN: "campaign_status",
            ReportLevel.ADGROUP: "adgroup_status",
            ReportLevel.AD: "ad_status",
        }.get(self)


class TimeGrain(Enum):
    """Time dimension of a report and its maximal date span in days (spec §7.1)."""

    DAY = ("stat_time_day", 30)
    HOUR = ("stat_time_hour", 1)

    @property
    def dimension(self) -> str:
        """The time dimension name."""
        return self.value[0]

    @property
    def max_span_days(self) -> int:
        """Most days (inclusive) one request may cover."""
        return self.value[1]


# Counts come back as integer strings; everything else we show is money or a percent rate.
COUNT_METRICS = frozenset({"impressions", "clicks", "conversion", "complete_payment", "reach"})

# The metrics TTPulse shows (spec §7.1 names). Purchase value / ROAS come from the web
# (pixel) family: total_complete_payment_rate is the total purchase value despite its name.
DEFAULT_METRICS: tuple[str, ...] = (
    "spend",
    "impressions",
    "clicks",
    "ctr",
    "cpc",
    "cpm",
    "conversion",
    "cost_per_conversion",
    "conversion_rate",
    "complete_payment",
    "total_complete_payment_rate",
    "complete_payment_roas",
    "value_per_complete_payment",
)


# spec §7.1: without a time dimension one request may cover up to 365 days.
NO_TIME_MAX_SPAN_DAYS = 365


def max_span_days(grain: TimeGrain | None) -> int:
    """Most days one report request may cover for a time grain (None: no time dimension)."""
    return NO_TIME_MAX_SPAN_DAYS if grain is None else grain.max_span_days


def split_range(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """Split an inclusive date range into windows of at most `max_days` (spec §7.1)."""
    if end < start:
        raise ValueError(f"end_date {end} is before start_date {start}")
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    step = timedelta(days=max_days)
    windows: list[tuple[date, date]] = []
    cursor = start
    while cursor <= end:
        window_end = min(end, cursor + step - timedelta(days=1))
        windows.append((cursor, window_end))
        cursor = window_end + timedelta(days=1)
    return windows


def in_filter(field_name: str, values: Sequence[str]) -> dict[str, str]:
    """One report filter; `filter_value` is JSON inside JSON (spec §1.4)."""
    return {"field_name": field_name, "filter_type": "IN", "filter_value": json.dumps(list(values))}


def report_filtering(
    level: ReportLevel,
    *,
    ids_field: str | None = None,
    ids: Sequence[str] = (),
    include_deleted: bool = True,
) -> list[dict[str, str]]:
    """Build the report `filtering` array for an id subset and deleted objects."""
    filters: list[dict[str, str]] = []
    if ids_field and ids:
        filters.append(in_filter(ids_field, ids))
    # spec §10.6: reports exclude deleted objects unless *_status IN ["STATUS_ALL"].
    if include_deleted and level.status_filter:
        filters.append(in_filter(level.status_filter, ["STATUS_ALL"]))
    return filters


# Attribute metrics that are ids (spec §7.1: ids are strings, §10.3): kept as text, never
# read as numbers (a 19-digit id is not an amount).
ID_METRICS = frozenset({"advertiser_id", "campaign_id", "adgroup_id", "ad_id"})

# Money and rate metrics that have a typed field on ReportRow: always Decimal or None.
DECIMAL_METRICS = frozenset(
    {
        "spend",
        "ctr",
        "cpc",
        "cpm",
        "cost_per_conversion",
        "conversion_rate",
        "total_complete_payment_rate",
        "complete_payment_roas",
        "value_per_complete_payment",
    }
)


def _metric_value(name: str, value: Any) -> Decimal | int | str | None:
    # Fast paths first (a sync parses millions of these): counts come as digit strings and
    # money and rates as decimal strings (spec §7.1); anything else takes the lenient path.
    if name in ID_METRICS:
        return opt_str(value)  # "-" (not applicable at this level) is None
    if type(value) is str:
        if name in COUNT_METRICS:
            if value.isdigit():
                return int(value)
        elif value not in EMPTY:
            try:
                return Decimal(value)
            except InvalidOperation:
                pass
    if name in COUNT_METRICS:
        return to_int(value)
    number = to_decimal(value)
    if number is None and name not in DECIMAL_METRICS and opt_str(value) is not None:
        # attribute metrics (campaign_name, currency...) stay text, spec §7.1
        return str(value)
    return number


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One report row. `stat_time` is naive, in the ad account's time zone (spec §7.2).

    Money (spend, cpc, cpm, cost_per_conversion, purchase value) and rates (ctr,
    conversion_rate in percent, ROAS) are Decimal; counts are int; "-" is None.
    """

    level: ReportLevel
    advertiser_id: str
    object_id: str
    stat_time: datetime | None
    spend: Decimal | None = None
    impressions: int | None = None
    clicks: int | None = None
    ctr: Decimal | None = None
    cpc: Decimal | None = None
    cpm: Decimal | None = None
    conversion: int | None = None
    cost_per_conversion: Decimal | None = None
    conversion_rate: Decimal | None = None
    purchases: int | None = None
    purchase_value: Decimal | None = None
    roas: Decimal | None = None
    value_per_purchase: Decimal | None = None
    metrics: Mapping[str, Decimal | int | str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(
        cls, item: Mapping[str, Any], *, level: ReportLevel, advertiser_id: str
    ) -> ReportRow:
        """Build from a `report/integrated/get` list item."""
        return cls._parse(item, level, level.id_dimension, advertiser_id)

    @classmethod
    def page_from_api(
        cls, items: Iterable[Mapping[str, Any]], *, level: ReportLevel, advertiser_id: str
    ) -> list[ReportRow]:
        """Build a page of rows (the level's lookups done once per page)."""
        id_dimension = level.id_dimension
        return [cls._parse(i, level, id_dimension, advertiser_id) for i in items]

    @classmethod
    def _parse(
        cls, item: Mapping[str, Any], level: ReportLevel, id_dimension: str, advertiser_id: str
    ) -> ReportRow:
        dims = as_mapping(item.get("dimensions"))
        raw_metrics = as_mapping(item.get("metrics"))
        metrics = {name: _metric_value(name, value) for name, value in raw_metrics.items()}
        stat = dims.get("stat_time_day") or dims.get("stat_time_hour")
        get: Any = metrics.get  # typed names only ever hold Decimal / int / None (see above)
        return cls(
            level=level,
            advertiser_id=id_str(dims.get("advertiser_id") or advertiser_id),
            object_id=id_str(dims.get(id_dimension) or advertiser_id),
            stat_time=local_datetime(stat),
            spend=get("spend"),
            impressions=get("impressions"),
            clicks=get("clicks"),
            ctr=get("ctr"),
            cpc=get("cpc"),
            cpm=get("cpm"),
            conversion=get("conversion"),
            cost_per_conversion=get("cost_per_conversion"),
            conversion_rate=get("conversion_rate"),
            purchases=get("complete_payment"),
            purchase_value=get("total_complete_payment_rate"),
            roas=get("complete_payment_roas"),
            value_per_purchase=get("value_per_complete_payment"),
            metrics=metrics,
        )


class _Memo(dict[Hashable, Any]):
    """A converter that computes each distinct input once (a dict whose misses call it)."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self._convert = convert

    def __missing__(self, key: Hashable) -> Any:
        value = self[key] = self._convert(key)
        return value


# Types whose equal values are the same input to a converter (so a memo keyed by value is
# exact). Not int/float/bool: 1 == 1.0 == True, yet a count parses True as None.
_MEMO_TYPES = frozenset({str, type(None)})


def _column(raw: list[Any], memo: _Memo) -> list[Any]:
    """Convert one column: through the memo when its values allow it, else one by one."""
    if set(map(type, raw)) <= _MEMO_TYPES:
        return list(map(memo.__getitem__, raw))
    convert = memo._convert
    return [convert(v) for v in raw]


@dataclass(slots=True)
class ReportTable:
    """A report's rows as columns, for bulk pulls (a sync reads hundreds of thousands).

    Row i holds what `ReportRow` row i would: `object_ids[i]`, `stat_times[i]` and, for each
    metric asked for, `metrics[name][i]` (parsed like ReportRow.metrics; None when absent).
    """

    level: ReportLevel
    object_ids: list[str] = field(default_factory=list)
    stat_times: list[datetime | None] = field(default_factory=list)
    metrics: dict[str, list[Decimal | int | str | None]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.object_ids)

    def extend(self, other: ReportTable) -> None:
        """Append another table's rows (same level and metrics)."""
        self.object_ids.extend(other.object_ids)
        self.stat_times.extend(other.stat_times)
        for name, values in self.metrics.items():
            values.extend(other.metrics[name])


class ReportTableParser:
    """Parses pages of one report into ReportTables, exactly as ReportRow parses each row.

    TikTok repeats most values (times, zero counts, "0.000" money), so each column's values
    are converted once per distinct value (per report), and a page is read column by column
    instead of building a row object per item.
    """

    def __init__(self, level: ReportLevel, advertiser_id: str, metrics: Sequence[str]) -> None:
        self.level = level
        self.advertiser_id = advertiser_id
        self.names = unique_metrics(metrics)
        self._times = _Memo(local_datetime)
        self._values = {n: _Memo(partial(_metric_value, n)) for n in self.names}

    def page(self, items: Sequence[Any]) -> ReportTable:
        """One page of `report/integrated/get` list items as a table (a non-object item
        reads as an empty one, as ReportRow reads it through as_mapping)."""
        try:
            dims = [i["dimensions"] for i in items]
            mets = [i["metrics"] for i in items]
            if not set(map(type, dims)) | set(map(type, mets)) <= {dict}:
                raise TypeError("not an object")
        except (KeyError, TypeError):
            return self._slow(items)  # a shape TikTok does not send: ReportRow's lenient path
        id_dimension, fallback = self.level.id_dimension, self.advertiser_id
        ids = [d.get(id_dimension) for d in dims]
        if set(map(type, ids)) != {str} or not all(ids):
            ids = [id_str(v or fallback) for v in ids]
        stats = [d.get("stat_time_day") or d.get("stat_time_hour") for d in dims]
        return ReportTable(
            self.level,
            ids,
            _column(stats, self._times),
            {n: _column([m.get(n) for m in mets], self._values[n]) for n in self.names},
        )

    def _slow(self, items: Iterable[Any]) -> ReportTable:
        rows = ReportRow.page_from_api(
            [as_mapping(i) for i in items], level=self.level, advertiser_id=self.advertiser_id
        )
        return ReportTable(
            self.level,
            [r.object_id for r in rows],
            [r.stat_time for r in rows],
            {n: [r.metrics.get(n) for r in rows] for n in self.names},
        )


def dimensions_for(level: ReportLevel, grain: TimeGrain | None) -> list[str]:
    """Dimensions for a level and optional time grain."""
    dims = [level.id_dimension]
    if grain is not None:
        dims.append(grain.dimension)
    return dims


def unique_metrics(metrics: Iterable[str]) -> list[str]:
    """De-duplicate metric names keeping order."""
    return list(dict.fromkeys(metrics))
