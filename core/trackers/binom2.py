"""Binom 2 REST API client (shared/spec/trackers-binom-keitaro.md §3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from core.trackers.base import (
    CostItem,
    Level,
    PushOutcome,
    RevenueRow,
    TrackerCampaign,
    TrackerError,
    TrackerKind,
)
from core.trackers.binom1 import is_deleted, token_number, tokens_id_fields
from core.trackers.http import (
    PushRun,
    TrackerHttp,
    answer_text,
    error_text,
    parse_day,
    to_decimal,
    to_int,
    trim,
)

API_PREFIX = "/public/api/v1"
CAMPAIGNS_PAGE = 500
REPORT_PAGE = 500
TRAFFIC_SOURCE_PATH = "/traffic_source/{id}"  # the source's token table (§3.1, §4)


def listed(payload: Any) -> list[Mapping[str, Any]]:
    """A list body, bare or under `data`/`items` (§3.1: accept both)."""
    if isinstance(payload, Mapping):
        for key in ("data", "items", "campaigns"):
            if isinstance(payload.get(key), list):
                payload = payload[key]
                break
    if not isinstance(payload, list) or any(
        not isinstance(c, Mapping) or "id" not in c for c in payload
    ):
        raise TrackerError("wrong_kind", "campaign list is not Binom 2's shape")
    return payload


def is_active(row: Mapping[str, Any]) -> bool:
    """Whether a listed campaign runs (Binom 2 spells it several ways; default yes)."""
    for key in ("isActive", "is_active", "active", "enabled"):
        if key in row:
            return str(row[key]).lower() not in ("0", "false", "")
    status = str(row.get("status") or "active").lower()
    return status not in ("paused", "disabled", "inactive", "stopped", "0")


def cost_body(item: CostItem) -> dict[str, Any]:
    """PUT /clicks/campaign/{id} body: the item's day in its zone, total cost (§3.2)."""
    day = f"{item.day:%Y-%m-%d}"
    body: dict[str, Any] = {
        "datePreset": "custom_time",
        "dateFrom": f"{day} 00:00:00",
        "dateTo": f"{day} 23:59:59",
        "timezone": item.time_zone,
        "cost": item.cost,
        "currency": item.currency,
        "model": "COSTS",  # §3.2: cost is the total for the range
    }
    if item.id_field and item.id_value:
        body["tokenId"] = token_number(item.id_field)
        body["tokenValue"] = item.id_value
    return body


def report_params(
    campaign_id: str, id_field: str | None, start: date, end: date, time_zone: str, offset: int
) -> list[tuple[str, str]]:
    """GET /report/campaign query: one campaign, by day then token N, custom range (§3.3)."""
    params = [("ids[]", campaign_id), ("groupings[]", "day")]
    if id_field:
        params.append(("groupings[]", f"token_{token_number(id_field)}"))
    params += [
        ("datePreset", "custom_time"),
        ("dateFrom", f"{start:%Y-%m-%d} 00:00:00"),
        ("dateTo", f"{end:%Y-%m-%d} 23:59:59"),
        ("timezone", time_zone),
        ("limit", str(REPORT_PAGE)),
        ("offset", str(offset)),
    ]
    return params


def report_list(payload: Any) -> list[Mapping[str, Any]]:
    """The rows of a report answer (`{"report": [...]}` or a bare list)."""
    if isinstance(payload, Mapping):
        payload = payload.get("report", payload.get("data"))
    if not isinstance(payload, list):
        raise TrackerError("wrong_kind", "report/campaign answered without a report list")
    return [r for r in payload if isinstance(r, Mapping)]


class ReportWalker:
    """Turns level-tagged report rows into RevenueRows; keeps the day across pages (§3.3)."""

    def __init__(self, campaign_id: str, grouped: bool) -> None:
        self.campaign_id = campaign_id
        self.grouped = grouped
        self.day: date | None = None

    def feed(self, rows: Sequence[Mapping[str, Any]]) -> list[RevenueRow]:
        """RevenueRows for the rows of one page, in order."""
        out: list[RevenueRow] = []
        for row in rows:
            level = str(row.get("level", 1))
            if level == "1":
                self.day = parse_day(row.get("name"))
                if self.grouped:
                    continue
            elif level != "2" or not self.grouped or self.day is None:
                continue
            name = row.get("name")
            out.append(
                RevenueRow(
                    campaign_id=self.campaign_id,
                    day=self.day,
                    id_value=str(name) if self.grouped and name not in (None, "") else None,
                    clicks=to_int(row.get("clicks")),
                    conversions=to_int(row.get("leads")),  # §0: Binom's leads are its conversions
                    pending=0,
                    rejected=0,
                    revenue=to_decimal(row.get("revenue")),
                )
            )
        return out


class Binom2Client(TrackerHttp):
    """TrackerClient for Binom 2; `base_url` is the tracker's address (https://host)."""

    kind: TrackerKind = "binom2"
    kind_label = "binom2"
    pull_batch = 1  # one report call per campaign: the use-case sums each as it arrives

    def __init__(self, base_url: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(base_url.rstrip("/") + API_PREFIX, api_key, **kwargs)

    def auth_headers(self) -> dict[str, str]:
        """Binom 2's key header (§3: `api-key`, not Bearer)."""
        return {"api-key": self._api_key}

    async def list_campaigns(self) -> list[TrackerCampaign]:
        """All pages of campaign/list/filtered; id fields from each campaign's traffic source."""
        rows: list[Mapping[str, Any]] = []
        seen: set[str] = set()
        offset = 0
        while True:
            page = listed(
                await self.request(
                    "GET",
                    "/campaign/list/filtered",
                    op="campaign_list",
                    root=True,
                    params={"limit": CAMPAIGNS_PAGE, "offset": offset},
                )
            )
            fresh = [r for r in page if str(r["id"]) not in seen]
            seen.update(str(r["id"]) for r in fresh)
            rows.extend(fresh)
            if len(page) < CAMPAIGNS_PAGE or not fresh:
                break
            offset += CAMPAIGNS_PAGE
        sources: dict[str, dict[Level, str]] = {}
        out = []
        for row in rows:
            if is_deleted(row):
                continue
            cid = str(row["id"])
            config: Mapping[str, Any] = row
            if not any(k in row for k in ("tokens", "trafficSource", "trafficSourceId")):
                got = await self.request("GET", f"/campaign/{cid}", op="campaign")
                config = got if isinstance(got, Mapping) else {}
            id_fields = await self._id_fields(config, sources)
            link = row.get("link") or row.get("url") or config.get("link") or config.get("url")
            if not link:
                link = _link_text(
                    await self.request("GET", f"/campaign/{cid}/link", op="campaign_link")
                )
            out.append(
                TrackerCampaign(
                    id=cid,
                    name=str(row.get("name") or config.get("name") or cid),
                    active=is_active({**config, **row}),
                    id_fields=id_fields,
                    link=str(link) if link else None,
                )
            )
        return out

    async def _id_fields(
        self, config: Mapping[str, Any], sources: dict[str, dict[Level, str]]
    ) -> dict[Level, str]:
        """Levels from the campaign's traffic-source tokens (fetched once per source)."""
        if isinstance(config.get("tokens"), list | Mapping):
            return tokens_id_fields(config["tokens"])  # an empty list: the source passes none
        source = config.get("trafficSource")
        ts_id = config.get("trafficSourceId") or config.get("traffic_source_id")
        if isinstance(source, Mapping):
            if source.get("tokens"):
                return tokens_id_fields(source["tokens"])
            ts_id = ts_id or source.get("id")
        if not ts_id:
            return {}
        key = str(ts_id)
        if key not in sources:
            payload = await self.request(
                "GET", TRAFFIC_SOURCE_PATH.format(id=key), op="traffic_source"
            )
            tokens = payload.get("tokens") if isinstance(payload, Mapping) else None
            sources[key] = tokens_id_fields(tokens)
        return dict(sources[key])

    async def push_costs(self, items: Sequence[CostItem]) -> list[PushOutcome]:
        """One PUT /clicks/campaign/{id} per item (the API takes one segment per call)."""
        # Outcomes per item, in order; a tracker-wide failure (http.PushRun) stops the calls and
        # is raised only when no call got through, so the use-case marks the tracker failing.
        outcomes: list[PushOutcome] = []
        run = PushRun()
        for item in items:
            skipped = run.skipped()
            if skipped is not None:
                outcomes.append(PushOutcome(item, False, skipped))
                continue
            try:
                payload = await self.request(
                    "PUT",
                    f"/clicks/campaign/{item.campaign_id}",
                    op="update_cost",
                    body=cost_body(item),
                )
            except TrackerError as exc:
                outcomes.append(PushOutcome(item, False, run.failed(exc)))
                continue
            run.answered()
            problem = error_text(payload) if isinstance(payload, Mapping) else None
            if problem and not (isinstance(payload, Mapping) and payload.get("success")):
                outcomes.append(PushOutcome(item, False, self.redact(trim(problem))))
            else:
                outcomes.append(PushOutcome(item, True, trim(_answer(payload))))
        run.finish()
        return outcomes

    async def pull(
        self,
        campaign_ids: Sequence[str],
        id_field: str | None,
        start: date,
        end: date,
        time_zone: str,
    ) -> list[RevenueRow]:
        """GET /report/campaign per campaign, paged with offset until a short page (§3.3)."""
        out: list[RevenueRow] = []
        for campaign_id in campaign_ids:
            walker = ReportWalker(campaign_id, grouped=id_field is not None)
            offset = 0
            while True:
                rows = report_list(
                    await self.request(
                        "GET",
                        "/report/campaign",
                        op="report_campaign",
                        params=report_params(campaign_id, id_field, start, end, time_zone, offset),
                    )
                )
                out.extend(walker.feed(rows))
                if len(rows) < REPORT_PAGE:
                    break
                offset += len(rows)
        return out


def _link_text(payload: Any) -> str | None:
    """The link of a campaign/{id}/link answer (text or {"link"|"url"})."""
    if isinstance(payload, str):
        return payload or None
    if isinstance(payload, Mapping):
        value = payload.get("link") or payload.get("url")
        return str(value) if value else None
    return None


def _answer(payload: Any) -> str:
    """What an accepted cost update said, for the push log."""
    if payload is None or payload == "" or payload == {}:
        return "accepted"
    if isinstance(payload, Mapping) and payload.get("message"):
        return str(payload["message"])
    return answer_text(payload)
