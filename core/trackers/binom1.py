"""Binom 1.x client: the panel's URL-parameter API (shared/spec/trackers-binom-keitaro.md §2)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

# §2.3 group codes: 31 by days, 27 token 1, 282-290 tokens 2-10 (client code, unconfirmed).
GROUP_DAYS = 31
GROUP_NONE = 1
DATE_CUSTOM = 12  # §2 date=12: custom date range with date_s/date_e
# Binom tells a bad key with an error string in a 2xx body (§2.4); these words mark it.
_KEY_WORDS = re.compile(
    r"api[\s_-]*key|\bkey\b|auth|access denied|forbidden|permission", re.IGNORECASE
)
_LEVEL_BY_MACRO: Mapping[str, Level] = {macro: level for level, macro in MACROS.items()}
# When arm.php is missing (older 1.x), the project's convention of spec §4 applies.
CONVENTION: Mapping[Level, str] = {"campaign": "t1", "adgroup": "t2", "ad": "t3"}


def token_number(field: str) -> int:
    """A Binom token field ("t3", "token_3", "token3", "3") as its number 1..10."""
    match = re.fullmatch(r"(?:t|token_?)?(\d{1,2})", field.strip(), re.IGNORECASE)
    if not match or not 1 <= int(match.group(1)) <= 10:
        raise TrackerError("refused", f"not a Binom token field: {field!r}")
    return int(match.group(1))


def group_code(field: str) -> int:
    """The Stats `group2` code of a token: 27 for token 1, 282..290 for tokens 2..10 (§2.3)."""
    number = token_number(field)
    return 27 if number == 1 else 280 + number


def day_offset(day: date, time_zone: str) -> tuple[int | None, str]:
    """The whole-hour UTC offset Binom 1 takes for the day, or None and why not (§0, §2)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None, f"unknown time zone {time_zone!r}"
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    first, last = start.utcoffset(), (end - timedelta(seconds=1)).utcoffset()
    assert first is not None and last is not None
    if first != last:
        return None, (
            f"the UTC offset of {time_zone} changes on {day:%Y-%m-%d} "
            f"({_fmt(first)} → {_fmt(last)}); Binom 1 takes one whole-hour offset "
            "per day, so this day is not sent"
        )
    seconds = int(first.total_seconds())
    if seconds % 3600:
        return None, (
            f"{time_zone} is {_fmt(first)} on {day:%Y-%m-%d}; Binom 1 takes only "
            "whole-hour UTC offsets, so this day is not sent"
        )
    return seconds // 3600, ""


def _fmt(offset: timedelta) -> str:
    """An offset as UTC+05:30."""
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def cost_params(item: CostItem, offset: int) -> list[tuple[str, str]]:
    """save_update_costs query for one item, with the 1.8 and 1.9 names both (§2.2)."""
    day = f"{item.day:%Y-%m-%d}"
    cost = plain(item.cost)
    params = [
        ("page", "save_update_costs"),
        ("camp_id", item.campaign_id),
        ("date", str(DATE_CUSTOM)),
        ("date_s", day),
        ("date_e", day),
        ("timezone", str(offset)),
        ("type", "1"),
        ("cost", cost),
        ("value", cost),
    ]
    if item.id_field and item.id_value:
        number = str(token_number(item.id_field))
        params += [
            ("token_number", number),
            ("token_value", item.id_value),
            ("token_id", number),
            ("token_val", item.id_value),
        ]
    return params


def campaign_rows(payload: Any) -> list[Mapping[str, Any]]:
    """page=Campaigns rows; wrong_kind when the answer is not Binom 1's array (§2.1)."""
    if isinstance(payload, Mapping) and isinstance(payload.get("campaigns"), list):
        payload = payload["campaigns"]
    if not isinstance(payload, list) or any(
        not isinstance(r, Mapping) or "id" not in r or "name" not in r for r in payload
    ):
        raise TrackerError("wrong_kind", "page=Campaigns is not a list of Binom campaigns")
    return payload


def is_deleted(row: Mapping[str, Any]) -> bool:
    """A campaign the tracker marks deleted (or archived)."""
    for key in ("is_deleted", "isDeleted", "deleted", "is_archived", "isArchived"):
        if str(row.get(key) or "0").lower() not in ("0", "false", ""):
            return True
    return str(row.get("status") or "").lower() in ("deleted", "-1", "archived")


def tokens_id_fields(tokens: Any) -> dict[Level, str]:
    """Levels from a token list/map whose placeholders are TikTok macros → "tN"."""
    found: dict[Level, str] = {}
    entries: list[tuple[int, Any]] = []
    if isinstance(tokens, Mapping):
        for key, value in tokens.items():
            digits = re.sub(r"\D", "", str(key))
            if digits:
                entries.append((int(digits), value))
    elif isinstance(tokens, list):
        for index, value in enumerate(tokens, start=1):
            number = value.get("number") or value.get("id") if isinstance(value, Mapping) else None
            entries.append((to_int(number) if number else index, value))
    for number, value in entries:
        if isinstance(value, Mapping):
            placeholder = value.get("placeholder") or value.get("value") or ""
        else:
            placeholder = value
        level = _LEVEL_BY_MACRO.get(str(placeholder or "").strip())
        if level is not None and level not in found and 1 <= number <= 10:
            found[level] = f"t{number}"
    return found


def stats_rows(payload: Any, campaign_id: str, grouped: bool) -> list[RevenueRow]:
    """page=Stats rows (group1=days, group2=token) as RevenueRows, walking `level` (§2.3)."""
    if isinstance(payload, Mapping) and isinstance(payload.get("stats"), list):
        payload = payload["stats"]
    if not isinstance(payload, list):
        raise TrackerError("wrong_kind", "page=Stats is not a list of rows")
    out: list[RevenueRow] = []
    day: date | None = None
    for row in payload:
        if not isinstance(row, Mapping):
            continue
        level = str(row.get("level") or "1")
        name = row.get("name")
        if level == "1":
            day = parse_day(name)
            if grouped:
                continue
        elif level != "2" or not grouped or day is None:
            continue
        out.append(
            RevenueRow(
                campaign_id=campaign_id,
                day=day,
                id_value=str(name) if grouped and name not in (None, "") else None,
                clicks=to_int(row.get("clicks")),
                conversions=to_int(row.get("leads")),  # §0: Binom's leads are its conversions
                pending=0,
                rejected=0,
                revenue=to_decimal(row.get("revenue", row.get("rev"))),  # 1.9 / 1.8 names (§2.1)
            )
        )
    return out


class Binom1Client(TrackerHttp):
    """TrackerClient for Binom 1.x; `base_url` is the panel's PHP entry URL."""

    kind: TrackerKind = "binom1"
    kind_label = "binom1"
    pull_batch = 1  # one report call per campaign: the use-case sums each as it arrives

    def __init__(self, base_url: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(base_url, api_key, **kwargs)
        parts = urlsplit(self.base_url)
        folder = parts.path.rsplit("/", 1)[0]
        self.arm_url = urlunsplit((parts.scheme, parts.netloc, folder + "/arm.php", "", ""))

    def check_payload(self, payload: Any) -> None:
        """Binom answers errors as `{"error": ...}` with any status (§2.4)."""
        if isinstance(payload, Mapping) and payload.get("error"):
            said = self.redact(trim(str(error_text(payload))))
            if _KEY_WORDS.search(said):
                raise TrackerError("bad_key", said)
            raise TrackerError("not_found" if "not found" in said.lower() else "refused", said)

    def _params(self, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [*params, ("api_key", self._api_key)]

    async def list_campaigns(self) -> list[TrackerCampaign]:
        """page=Campaigns (val_page=All: one page is all), id fields from arm.php if it has them."""
        payload = await self.request(
            "GET",
            op="Campaigns",
            root=True,
            params=self._params([("page", "Campaigns"), ("date", "1"), ("val_page", "All")]),
        )
        rows = [r for r in campaign_rows(payload) if not is_deleted(r)]
        configs = await self._arm_configs()
        out = []
        for row in rows:
            cid = str(row["id"])
            if configs is None:
                # arm.php is absent before the later 1.x versions (§2.1, unconfirmed which):
                # assume the project's token convention of spec §4 (t1/t2/t3).
                id_fields: Mapping[Level, str] = dict(CONVENTION)
            else:
                id_fields = configs.get(cid, {})
            link = row.get("url") or row.get("link")  # 1.9 `url`, 1.8 `link` (§2.1)
            out.append(
                TrackerCampaign(
                    id=cid,
                    name=str(row.get("name") or cid),
                    active=str(row.get("status") or "1") not in ("0", "paused", "false"),
                    id_fields=id_fields,
                    link=str(link) if link else None,
                )
            )
        return out

    async def _arm_configs(self) -> dict[str, dict[Level, str]] | None:
        """Per campaign id, its id fields from arm.php campaign@get_all; None when unavailable."""
        try:
            payload = await self.request(
                "GET",
                op="arm:campaign@get_all",
                url=self.arm_url,
                params=self._params([("action", "campaign@get_all")]),
            )
        except TrackerError as exc:
            if exc.retryable:
                raise
            return None  # no arm.php here (404, HTML, an error body): the convention applies
        if isinstance(payload, Mapping):
            payload = payload.get("campaigns") or payload.get("data") or payload
        if isinstance(payload, Mapping):
            items = list(payload.values())
        elif isinstance(payload, list):
            items = payload
        else:
            return None
        configs: dict[str, dict[Level, str]] = {}
        for config in items:
            if not isinstance(config, Mapping) or "id" not in config:
                continue
            ts = config.get("traffic_source") or config.get("ts") or {}
            tokens = config.get("tokens") or (ts.get("tokens") if isinstance(ts, Mapping) else None)
            configs[str(config["id"])] = tokens_id_fields(tokens)
        return configs if configs else None

    async def push_costs(self, items: Sequence[CostItem]) -> list[PushOutcome]:
        """One GET page=save_update_costs per item (the API takes one segment per call)."""
        # Outcomes per item, in order; a tracker-wide failure (http.PushRun) stops the calls and
        # is raised only when no call got through, so the use-case marks the tracker failing.
        outcomes: list[PushOutcome] = []
        run = PushRun()
        for item in items:
            offset, why = day_offset(item.day, item.time_zone)
            if offset is None:
                outcomes.append(PushOutcome(item, False, trim(why)))
                continue
            skipped = run.skipped()
            if skipped is not None:
                outcomes.append(PushOutcome(item, False, skipped))
                continue
            try:
                params = cost_params(item, offset)
                payload = await self.request(
                    "GET", op="save_update_costs", params=self._params(params)
                )
            except TrackerError as exc:
                outcomes.append(PushOutcome(item, False, run.failed(exc)))
                continue
            run.answered()
            # Success only with check_status "true" (§2.2, §2.4).
            ok = isinstance(payload, Mapping) and str(payload.get("check_status")).lower() == "true"
            answer = self.redact(trim(answer_text(payload) if not ok else "check_status: true"))
            outcomes.append(PushOutcome(item, ok, answer))
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
        """page=Stats per campaign, by days then the token, in runs of one UTC offset."""
        group2 = str(group_code(id_field)) if id_field else str(GROUP_NONE)
        out: list[RevenueRow] = []
        for first, last, offset in offset_runs(start, end, time_zone):
            for campaign_id in campaign_ids:
                payload = await self.request(
                    "GET",
                    op="Stats",
                    params=self._params(
                        [
                            ("page", "Stats"),
                            ("camp_id", campaign_id),
                            ("group1", str(GROUP_DAYS)),
                            ("group2", group2),
                            ("group3", str(GROUP_NONE)),
                            ("date", str(DATE_CUSTOM)),
                            ("date_s", f"{first:%Y-%m-%d}"),
                            ("date_e", f"{last:%Y-%m-%d}"),
                            ("timezone", str(offset)),
                            ("val_page", "All"),
                            ("num_page", "1"),
                        ]
                    ),
                )
                out.extend(stats_rows(payload, campaign_id, grouped=id_field is not None))
        return out


def offset_runs(start: date, end: date, time_zone: str) -> list[tuple[date, date, int]]:
    """Split start..end into runs of days sharing one whole-hour UTC offset (Binom 1 takes one)."""
    # A day whose offset changes (DST) is read with the offset it starts with; a zone that is
    # not whole-hour cannot be read at all and is refused with the reason.
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise TrackerError("refused", f"unknown time zone {time_zone!r}") from None
    runs: list[tuple[date, date, int]] = []
    day = start
    while day <= end:
        seconds = datetime(day.year, day.month, day.day, tzinfo=zone).utcoffset()
        assert seconds is not None
        if int(seconds.total_seconds()) % 3600:
            raise TrackerError(
                "refused",
                f"{time_zone} is {_fmt(seconds)} on {day:%Y-%m-%d}; "
                "Binom 1 takes only whole-hour UTC offsets",
            )
        hours = int(seconds.total_seconds()) // 3600
        if runs and runs[-1][2] == hours and runs[-1][1] == day - timedelta(days=1):
            runs[-1] = (runs[-1][0], day, hours)
        else:
            runs.append((day, day, hours))
        day += timedelta(days=1)
    return runs
