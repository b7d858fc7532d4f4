"""Contract: multi_adv_report_in_utc_time (spec §7.1, §7.2): several accounts' reports with days
and hours in UTC instead of each account's own zone, equal to their local hours re-counted."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.contract.conftest import Emu
from tests.contract.raw_api import Api

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
START, END = date(2026, 3, 5), date(2026, 3, 7)  # UTC days, finished in every zone by NOW


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


def _zones(emu: Emu) -> list[str]:
    """An account west of UTC and one east of it."""
    advs = emu.state.advertisers.values()
    return [next(a.advertiser_id for a in advs if a.display_timezone == zone)
            for zone in ("America/Los_Angeles", "Asia/Tokyo")]


async def _all(api: Api, **params: Any) -> list[dict[str, Any]]:
    rows = await api.report_rows(data_level="AUCTION_ADVERTISER", metrics=["spend", "impressions"],
                                 **params)
    return rows


async def _local_hours_in_utc(emu: Emu, api: Api, adv_id: str) -> dict[datetime, tuple[int, int]]:
    """The account's own hourly rows over the local days around the UTC days, keyed by their
    UTC hour: (spend in cents, impressions)."""
    tz = emu.state.advertisers[adv_id].tz
    out: dict[datetime, tuple[int, int]] = {}
    day = START - timedelta(days=1)
    while day <= END + timedelta(days=1):
        for r in await _all(api, advertiser_id=adv_id, dimensions=["advertiser_id",
                                                                     "stat_time_hour"],
                            start_date=str(day), end_date=str(day)):
            local = datetime.strptime(r["dimensions"]["stat_time_hour"], "%Y-%m-%d %H:%M:%S")
            at = local.replace(tzinfo=tz).astimezone(UTC)
            m = r["metrics"]
            out[at] = (round(float(m["spend"]) * 100), int(m["impressions"]))
        day += timedelta(days=1)
    return out


async def test_utc_days_are_the_local_hours_recounted(emu: Emu, api: Api) -> None:
    ids = _zones(emu)
    rows = await _all(api, advertiser_ids=ids, dimensions=["advertiser_id", "stat_time_day"],
                      start_date=str(START), end_date=str(END), multi_adv_report_in_utc_time=True)
    got = {(r["dimensions"]["advertiser_id"], r["dimensions"]["stat_time_day"]):
           (round(float(r["metrics"]["spend"]) * 100), int(r["metrics"]["impressions"]))
           for r in rows}
    assert {r["metrics"]["currency"] for r in rows} == {"USD", "JPY"}
    want: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for adv_id in ids:
        for at, (spend, impressions) in (await _local_hours_in_utc(emu, api, adv_id)).items():
            if START <= at.date() <= END:
                acc = want[(adv_id, f"{at:%Y-%m-%d} 00:00:00")]
                acc[0] += spend
                acc[1] += impressions
    assert got == {k: tuple(v) for k, v in want.items() if any(v)}
    assert len(got) == 6
    # Not the local days: the same dates counted in each account's zone differ.
    local = await _all(api, advertiser_ids=ids, dimensions=["advertiser_id", "stat_time_day"],
                       start_date=str(START), end_date=str(END))
    assert {(r["dimensions"]["advertiser_id"], r["dimensions"]["stat_time_day"]):
            int(r["metrics"]["impressions"]) for r in local} != {k: v[1] for k, v in got.items()}


async def test_utc_hours_are_labelled_in_utc(emu: Emu, api: Api) -> None:
    ids = _zones(emu)
    rows = await _all(api, advertiser_ids=ids, dimensions=["advertiser_id", "stat_time_hour"],
                      start_date=str(END), end_date=str(END), multi_adv_report_in_utc_time=True)
    for adv_id in ids:
        hours = await _local_hours_in_utc(emu, api, adv_id)
        mine = {r["dimensions"]["stat_time_hour"]: int(r["metrics"]["impressions"])
                for r in rows if r["dimensions"]["advertiser_id"] == adv_id}
        assert mine == {f"{at:%Y-%m-%d %H}:00:00": imp
                        for at, (_, imp) in hours.items() if at.date() == END and imp}


async def test_utc_needs_several_accounts(emu: Emu, api: Api) -> None:
    body = await api.report(advertiser_id=_zones(emu)[0], data_level="AUCTION_ADVERTISER",
                            dimensions=["advertiser_id", "stat_time_day"], metrics=["spend"],
                            start_date=str(START), end_date=str(END),
                            multi_adv_report_in_utc_time=True)
    assert body["code"] == 40002 and "advertiser_ids" in body["message"]
