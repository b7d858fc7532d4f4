"""Keitaro Admin API v1 client (shared/spec/trackers-binom-keitaro.md §1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from core.trackers.base import (
    MACROS,
    CostItem,
    Level,
    PushOutcome,
    RevenueRow,
    TrackerCampaign,
    TrackerError,
    TrackerKind,
)
from core.trackers.http import (
    PushRun,
    TrackerHttp,
    answer_text,
    error_text,
    parse_day,
    plain,
    to_decimal,
    to_int,
    trim,
)

API_PREFIX = "/admin_api/v1"
MAX_COSTS_PER_REQUEST = 500  # items per bulk update_costs call; larger pushes are chunked
CAMPAIGNS_PAGE = 500
REPORT_PAGE = 5000
# A pull asks one report per this many campaigns, a few at a time (see KeitaroClient.pull).
REPORT_CAMPAIGNS = 25
REPORT_PARALLEL = 4
METRICS = (
    "clicks",
    "conversions",
    "leads",
    "sales",
    "rejected",
    "revenue",
    "sale_revenue",
    "lead_revenue",
)
# spec §1.3: the 2022 API says grouping/metrics, newer trackers dimensions/measures.
REPORT_NAMES: tuple[tuple[str, str], ...] = (("grouping", "metrics"), ("dimensions", "measures"))
_LEVEL_BY_MACRO: Mapping[str, Level] = {macro: level for level, macro in MACROS.items()}


def id_fields_from_parameters(parameters: Any) -> dict[Level, str]:
    """Which Keitaro field receives each TikTok id, from the campaign's `parameters` (§1.1)."""
    found: dict[Level, str] = {}
    entries: Iterable[tuple[str, Any]]
    if isinstance(parameters, Mapping):
        entries = parameters.items()
    elif isinstance(parameters, list):  # tolerate a list of {"field"/"key", "placeholder"}
        entries = [
            (str(p.get("field") or p.get("key") or ""), p)
            for p in parameters
            if isinstance(p, Mapping)
        ]
    else:
        return found
    for field_name, config in entries:
        if not field_name or not isinstance(config, Mapping):
            continue
        placeholder = str(config.get("placeholder") or "").strip()
        level = _LEVEL_BY_MACRO.get(placeholder)
        if level is not None and level not in found:
            found[level] = field_name
    return found


def day_range(day: date) -> tuple[str, str]:
    """A day as Keitaro's start/end: midnight to the next midnight (§1.2, never overlapping)."""
    return f"{day:%Y-%m-%d} 00:00", f"{day + timedelta(days=1):%Y-%m-%d} 00:00"


def cost_entry(item: CostItem) -> dict[str, Any]:
    """One `costs[]` entry of the bulk call; timezone and currency sent per item too (§1.2b)."""
    start, end = day_range(item.day)
    entry: dict[str, Any] = {
        "start_date": start,
        "end_date": end,
        "cost": plain(item.cost),
        "timezone": item.time_zone,
        "currency": item.currency,
    }
    if item.id_field and item.id_value:
        entry["filters"] = {item.id_field: item.id_value}
    return entry


def report_rows(payload: Any) -> tuple[list[Mapping[str, Any]], int | None]:
    """The rows and `total` of a report/build answer; wrong_kind for another shape."""
    if isinstance(payload, Mapping) and isinstance(payload.get("rows"), list):
        total = payload.get("total")
        rows = [r for r in payload["rows"] if isinstance(r, Mapping)]
        return rows, to_int(total) if total is not None else None
    raise TrackerError("wrong_kind", "report/build answered without rows")


def revenue_row(row: Mapping[str, Any], id_field: str | None) -> RevenueRow:
    """A report row as RevenueRow: conversions=sales, pending=leads, revenue=sale_revenue."""
    value = row.get(id_field) if id_field else None
    return RevenueRow(
        campaign_id=str(row.get("campaign_id")),
        day=parse_day(row.get("day")),
        id_value=None if value in (None, "") else str(value),
        clicks=to_int(row.get("clicks")),
        conversions=to_int(row.get("sales")),
        pending=to_int(row.get("leads")),
        rejected=to_int(row.get("rejected")),
        revenue=to_decimal(row.get("sale_revenue")),
        pending_revenue=to_decimal(row.get("lead_revenue")),
    )


class KeitaroClient(TrackerHttp):
    """TrackerClient for Keitaro; `base_url` is what the user typed (see factory.normalize_url)."""

    kind: TrackerKind = "keitaro"
    kind_label = "keitaro"
    pull_batch = REPORT_CAMPAIGNS
    pull_parallel = REPORT_PARALLEL

    def __init__(self, base_url: str, api_key: str, **kwargs: Any) -> None:
        origin = base_url.rstrip("/")
        super().__init__(origin + API_PREFIX, api_key, **kwargs)
        self.origin = origin
        self.report_names: tuple[str, str] | None = None  # which pair this instance accepted

    def auth_headers(self) -> dict[str, str]:
        """Keitaro's key header (§1: `Api-Key`)."""
        return {"Api-Key": self._api_key}

    async def list_campaigns(self) -> list[TrackerCampaign]:
        """Every campaign not deleted, with its id fields from `parameters` and its link."""
        seen: dict[str, TrackerCampaign] = {}
        offset = 0
        while True:
            page = await self.request(
                "GET",
                "/campaigns",
                op="campaigns",
                root=True,
                params={"offset": offset, "limit": CAMPAIGNS_PAGE},
            )
            if not isinstance(page, list) or any(
                not isinstance(c, Mapping) or "id" not in c for c in page
            ):
                raise TrackerError("wrong_kind", "campaigns is not a list of Keitaro campaigns")
            fresh = 0
            for raw in page:
                cid = str(raw["id"])
                if cid in seen:
                    continue
                fresh += 1
                campaign = self._campaign(raw)
                if campaign is not None:
                    seen[cid] = campaign
            # An instance that ignores offset/limit returns everything at once: stop then too.
            if len(page) != CAMPAIGNS_PAGE or fresh == 0:
                return list(seen.values())
            offset += CAMPAIGNS_PAGE

    def _campaign(self, raw: Mapping[str, Any]) -> TrackerCampaign | None:
        state = str(raw.get("state") or "active")
        if state == "deleted":
            return None
        link = raw.get("url") or raw.get("link")
        if not link and raw.get("alias"):
            # Keitaro's campaign link is the tracker's domain plus the alias (§4 example).
            parts = urlsplit(self.origin)
            link = f"{parts.scheme}://{parts.netloc}/{raw['alias']}"
        return TrackerCampaign(
            id=str(raw["id"]),
            name=str(raw.get("name") or raw.get("alias") or raw["id"]),
            active=state == "active",
            id_fields=id_fields_from_parameters(raw.get("parameters")),
            link=str(link) if link else None,
        )

    async def push_costs(self, items: Sequence[CostItem]) -> list[PushOutcome]:
        """Bulk POST /clicks/update_costs, one call per campaign (and zone/currency) chunk."""
        # Outcomes per item, in order; a tracker-wide failure (http.PushRun) stops the calls and
        # is raised only when no call got through, so the use-case marks the tracker failing.
        outcomes: dict[int, PushOutcome] = {}
        groups: dict[tuple[str, str, str], list[int]] = {}
        for index, item in enumerate(items):
            groups.setdefault((item.campaign_id, item.time_zone, item.currency), []).append(index)
        run = PushRun()
        for (campaign_id, zone, currency), indexes in groups.items():
            # campaign_ids applies to every costs[] entry (§1.2b), so campaigns never share a call.
            for at in range(0, len(indexes), MAX_COSTS_PER_REQUEST):
                chunk = indexes[at : at + MAX_COSTS_PER_REQUEST]
                skipped = run.skipped()
                if skipped is not None:
                    outcomes.update({i: PushOutcome(items[i], False, skipped) for i in chunk})
                    continue
                body = {
                    "campaign_ids": [_id_value(campaign_id)],
                    "timezone": zone,
                    "currency": currency,
                    "only_campaign_uniques": 0,
                    "costs": [cost_entry(items[i]) for i in chunk],
                }
                try:
                    payload = await self.request(
                        "POST", "/clicks/update_costs", op="update_costs", body=body
                    )
                except TrackerError as exc:
                    answer = run.failed(exc)
                    outcomes.update({i: PushOutcome(items[i], False, answer) for i in chunk})
                    continue
                run.answered()
                ok, answer = _bulk_answer(payload)
                outcomes.update({i: PushOutcome(items[i], ok, answer) for i in chunk})
        run.finish()
        return [outcomes[i] for i in range(len(items))]

    async def pull(
        self,
        campaign_ids: Sequence[str],
        id_field: str | None,
        start: date,
        end: date,
        time_zone: str,
    ) -> list[RevenueRow]:
        """POST /report/build grouped by campaign, day and `id_field`, all pages (§1.3)."""
        # The use-case asks for REPORT_CAMPAIGNS campaigns at a time, up to REPORT_PARALLEL at
        # once: each answer is then a page or two (a report over a whole account is one large
        # query the tracker rebuilds for every page), and its rows are summed while the tracker
        # builds the next. Pages are sorted on every grouping column, so a page boundary falls
        # in the same place each time, and a row seen on an earlier page (one that moved down
        # when the report grew between two pages) is not counted twice.
        if not campaign_ids:
            return []
        grouping = ["campaign_id", "day", *([id_field] if id_field else [])]
        base: dict[str, Any] = {
            "range": {"from": f"{start:%Y-%m-%d}", "to": f"{end:%Y-%m-%d}", "timezone": time_zone},
            "filters": [
                {
                    "name": "campaign_id",
                    "operator": "IN_LIST",
                    "expression": [_id_value(c) for c in campaign_ids],
                }
            ],
            "sort": [
                {"name": name, "order": "ASC"} for name in ("day", *grouping[:1], *grouping[2:])
            ],
            "limit": REPORT_PAGE,
        }
        out: list[RevenueRow] = []
        seen: set[tuple[str, str, str]] = set()
        offset = 0
        while True:
            payload = await self._report({**base, "offset": offset}, grouping)
            rows, total = report_rows(payload)
            paged = offset > 0 or (total is not None and len(rows) < total)
            for r in rows:
                if paged:
                    key = (
                        repr(r.get("campaign_id")),
                        repr(r.get("day")),
                        repr(r.get(id_field or "")),
                    )
                    if key in seen:
                        continue
                    seen.add(key)
                out.append(revenue_row(r, id_field))
            offset += len(rows)
            if not rows or total is None or offset >= total:
                return out

    async def _report(self, body: dict[str, Any], grouping: list[str]) -> Any:
        """One report/build call, trying the other field-name pair on a 400 that names them."""
        pairs = [self.report_names] if self.report_names else list(REPORT_NAMES)
        last: TrackerError | None = None
        for group_key, metric_key in pairs:
            try:
                payload = await self.request(
                    "POST",
                    "/report/build",
                    op="report_build",
                    body={**body, group_key: grouping, metric_key: list(METRICS)},
                )
            except TrackerError as exc:
                named = exc.detail.lower()
                if exc.reason == "refused" and any(n in named for p in REPORT_NAMES for n in p):
                    last = exc
                    continue
                raise
            self.report_names = (group_key, metric_key)
            return payload
        assert last is not None
        raise last


def _bulk_answer(payload: Any) -> tuple[bool, str]:
    """Whether the bulk call was accepted (§1.2b: `{"success": true}`), and its words."""
    if isinstance(payload, Mapping):
        problem = error_text(payload)
        if payload.get("success") is True or (
            problem is None and payload.get("success") in (None, 1, "true")
        ):
            return True, trim(str(payload.get("message") or "Job successfully scheduled"))
        return False, trim(problem or answer_text(payload))
    if isinstance(payload, str):
        return True, trim(payload)
    return False, trim(f"unexpected answer: {payload!r}")


def _id_value(campaign_id: str) -> int | str:
    """Keitaro campaign ids are integers; keep anything else as given."""
    return int(campaign_id) if campaign_id.isdigit() else campaign_id
