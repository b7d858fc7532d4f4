"""The TikTok client's report calls (spec §7): BASIC reports by day or hour, split by span
limits and id batches, every page, parsed as each reply is decoded. A mixin of TikTokClient,
which supplies the paging (`_iter_pages`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from core.tiktok import reports
from core.tiktok.parsing import as_mapping, chunks
from core.tiktok.reports import DEFAULT_METRICS, ReportLevel, ReportRow, TimeGrain

T = TypeVar("T")

REPORT_PAGE_SIZE = 1000  # spec §1.6
FILTER_IDS_BATCH = 100  # spec §1.6: ids per filter
# spec §7.1: a BASIC report takes `advertiser_ids`, up to 5 ad accounts per request.
MULTI_ADVERTISER_MAX = 5


class _Done:
    """The end of a report's pages in its queue (a page may parse to anything, even None)."""


_DONE = _Done()


class ReportCalls:
    """Report endpoints over the client's paging."""

    if TYPE_CHECKING:

        def _iter_pages(
            self, path: str, token: str, params: Mapping[str, Any], page_size: int,
            list_key: str = "list", *, parse: Callable[[list[Any]], T],
        ) -> AsyncIterator[tuple[int, T]]: ...

    async def get_report(
        self,
        token: str,
        advertiser_id: str,
        level: ReportLevel,
        start_date: date,
        end_date: date,
        *,
        grain: TimeGrain | None = TimeGrain.DAY,
        metrics: Sequence[str] = DEFAULT_METRICS,
        ids_field: str | None = None,
        ids: Sequence[str] = (),
        include_deleted: bool = True,
    ) -> list[ReportRow]:
        """A BASIC report by day or hour (or totals), split by span limits, every page.

        Dates are inclusive and in the ad account's time zone (spec §7.2). `ids_field`
        (`campaign_ids`, `adgroup_ids`, `ad_ids`) with `ids` narrows it, ≤100 ids per call.
        """
        rows: list[ReportRow] = []
        async for chunk in self.iter_report(
            token,
            advertiser_id,
            level,
            start_date,
            end_date,
            grain=grain,
            metrics=metrics,
            ids_field=ids_field,
            ids=ids,
            include_deleted=include_deleted,
        ):
            rows.extend(chunk)
        return rows

    async def iter_report(
        self,
        token: str,
        advertiser_id: str,
        level: ReportLevel,
        start_date: date,
        end_date: date,
        *,
        grain: TimeGrain | None = TimeGrain.DAY,
        metrics: Sequence[str] = DEFAULT_METRICS,
        ids_field: str | None = None,
        ids: Sequence[str] = (),
        include_deleted: bool = True,
    ) -> AsyncIterator[list[ReportRow]]:
        """Like get_report, but yields each page's rows as it arrives (for big pulls)."""

        def parse(items: list[Any]) -> list[ReportRow]:
            rows = [as_mapping(i) for i in items]
            return ReportRow.page_from_api(rows, level=level, advertiser_id=advertiser_id)

        pages = self._report_pages(
            token,
            advertiser_id,
            level,
            start_date,
            end_date,
            grain,
            metrics,
            ids_field,
            ids,
            include_deleted,
            parse,
        )
        async for rows in pages:
            yield rows

    async def get_report_table(
        self,
        token: str,
        advertiser_id: str,
        level: ReportLevel,
        start_date: date,
        end_date: date,
        *,
        grain: TimeGrain | None = TimeGrain.DAY,
        metrics: Sequence[str] = DEFAULT_METRICS,
        include_deleted: bool = True,
        advertiser_ids: Sequence[str] = (),
    ) -> reports.ReportTable:
        """Like get_report, as columns: the same rows and values, for bulk pulls (a sync).

        With `advertiser_ids` (2–5 ad accounts, spec §7.1: BASIC reports take up to 5) one
        request covers them all; ask for the `advertiser_id` metric to tell their rows apart.
        Dates are each account's own (spec §7.2), so callers pass accounts of one time zone.
        """
        if len(advertiser_ids) > MULTI_ADVERTISER_MAX:
            raise ValueError(f"at most {MULTI_ADVERTISER_MAX} advertiser_ids per report")
        parser = reports.ReportTableParser(level, advertiser_id, metrics)
        table = reports.ReportTable(level, metrics={n: [] for n in parser.names})
        pages = self._report_pages(
            token,
            advertiser_id,
            level,
            start_date,
            end_date,
            grain,
            metrics,
            None,
            (),
            include_deleted,
            parser.page,
            advertiser_ids,
        )
        async for page in pages:
            table.extend(page)
        return table

    async def _report_pages(
        self,
        token: str,
        advertiser_id: str,
        level: ReportLevel,
        start_date: date,
        end_date: date,
        grain: TimeGrain | None,
        metrics: Sequence[str],
        ids_field: str | None,
        ids: Sequence[str],
        include_deleted: bool,
        parse: Callable[[list[Any]], T],
        advertiser_ids: Sequence[str] = (),
    ) -> AsyncIterator[T]:
        """Every page of a report, parsed by `parse` as its reply is decoded (windows and id
        batches fetched concurrently, in the order they come). `parse` gets the page's list
        as decoded: its items may be anything (spec §1.5), not only objects."""
        windows = reports.split_range(start_date, end_date, reports.max_span_days(grain))
        id_batches: list[list[str]] = chunks(ids, FILTER_IDS_BATCH) if ids else [[]]
        accounts: dict[str, Any] = (
            {"advertiser_ids": list(advertiser_ids)}
            if len(advertiser_ids) > 1
            else {"advertiser_id": advertiser_id}
        )
        base = {
            **accounts,
            "report_type": "BASIC",
            "service_type": "AUCTION",
            "data_level": level.data_level,
            "dimensions": reports.dimensions_for(level, grain),
            "metrics": reports.unique_metrics(metrics),
        }
        queue: asyncio.Queue[T | BaseException | _Done] = asyncio.Queue()

        async def one(window: tuple[date, date], batch: list[str]) -> None:
            filtering = reports.report_filtering(
                level, ids_field=ids_field, ids=batch, include_deleted=include_deleted
            )
            params = {
                **base,
                "start_date": window[0].isoformat(),
                "end_date": window[1].isoformat(),
                "filtering": filtering or None,
            }
            pages = self._iter_pages(
                "report/integrated/get/", token, params, REPORT_PAGE_SIZE, parse=parse
            )
            async for _, page in pages:
                await queue.put(page)

        async def run_all() -> None:
            try:
                await asyncio.gather(*(one(w, b) for w in windows for b in id_batches))
            except Exception as exc:  # handed to the consumer, re-raised there
                await queue.put(exc)
            else:
                await queue.put(_DONE)

        runner = asyncio.create_task(run_all())
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _Done):
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            runner.cancel()
