"""Contract: asynchronous report tasks (spec §7.3): create, check, download, cancel."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.contract.conftest import Emu
from tests.contract.raw_api import Api

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
METRICS = [
    "spend",
    "impressions",
    "registration",
    "cost_per_app_install",
    "cta_purchase",
    "ad_name",
]


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


def accounts(emu: Emu) -> tuple[str, str, date]:
    """Two ad accounts of the demo login and the first one's yesterday."""
    first, second = list(emu.state.advertisers.values())[:2]
    return first.advertiser_id, second.advertiser_id, NOW.astimezone(first.tz).date() - timedelta(1)


def task_body(adv_id: str, day: date, **extra: Any) -> dict[str, Any]:
    """A BASIC ad-level task over three days."""
    return {
        "advertiser_id": adv_id,
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": ["ad_id", "stat_time_day"],
        "metrics": METRICS,
        "start_date": (day - timedelta(days=2)).isoformat(),
        "end_date": day.isoformat(),
        "enable_report_title_translation": False,
        **extra,
    }


async def fetch(url: str) -> tuple[int, str]:
    """GET a download URL as a browser would (no Access-Token)."""
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.text()


async def test_task_runs_to_a_csv_equal_to_the_synchronous_report(emu: Emu, api: Api) -> None:
    adv_id, _, day = accounts(emu)
    created = await api.post("report/task/create/", task_body(adv_id, day))
    assert created["code"] == 0, created
    task_id = created["data"]["task_id"]
    ref = {"advertiser_id": adv_id, "task_id": task_id}
    early = await api.get("report/task/download/", **ref)
    assert (early["code"], early["data"]) == (40201, {})
    seen = [(await api.get("report/task/check/", **ref))["data"]["status"] for _ in range(4)]
    assert seen == ["QUEUING", "PROCESSING", "SUCCESS", "SUCCESS"]
    download = await api.get("report/task/download/", **ref)
    assert download["code"] == 0, download
    assert download["data"]["output_format"] == "CSV_DOWNLOAD"
    assert download["data"]["file_name"].endswith(".csv")
    status, text = await fetch(download["data"]["download_url"])
    assert status == 200
    table = list(csv.DictReader(io.StringIO(text)))
    assert table and list(table[0]) == ["ad_id", "stat_time_day", *METRICS]
    skip = ("report_type", "enable_report_title_translation")
    sync = await api.report_rows(
        **{k: v for k, v in task_body(adv_id, day).items() if k not in skip}
    )
    assert [
        {**r["dimensions"], **r["metrics"]} for r in sync
    ] == table  # the same rows, values and order as report/integrated/get
    # the link is valid for an hour; a new download gives a new one
    await emu.ctl("POST", "clock", {"advance_seconds": 3601})
    assert (await fetch(download["data"]["download_url"]))[0] == 404
    again = await api.get("report/task/download/", **ref)
    assert (await fetch(again["data"]["download_url"]))[0] == 200


async def test_an_audience_task_holds_the_synchronous_audience_rows(emu: Emu, api: Api) -> None:
    adv_id, _, day = accounts(emu)
    body = task_body(adv_id, day, report_type="AUDIENCE", data_level="AUCTION_CAMPAIGN",
                     dimensions=["campaign_id", "age", "gender", "stat_time_day"],
                     metrics=["spend", "impressions", "clicks"])
    ref = {"advertiser_id": adv_id,
           "task_id": (await api.post("report/task/create/", body))["data"]["task_id"]}
    while (await api.get("report/task/check/", **ref))["data"]["status"] != "SUCCESS":
        pass
    download = await api.get("report/task/download/", **ref)
    table = list(csv.DictReader(io.StringIO((await fetch(download["data"]["download_url"]))[1])))
    sync = await api.get("report/integrated/get/", page_size=1000, **{
        k: v for k, v in body.items() if k != "enable_report_title_translation"})
    assert sync["data"]["page_info"]["total_page"] == 1
    assert table and [{**r["dimensions"], **r["metrics"]} for r in sync["data"]["list"]] == table
    assert {r["gender"] for r in table} == {"MALE", "FEMALE", "NONE"}


async def test_task_of_several_accounts_carries_currency_and_account(emu: Emu, api: Api) -> None:
    first, second, day = accounts(emu)
    body = task_body(first, day, advertiser_ids=[first, second], data_level="AUCTION_CAMPAIGN")
    body |= {"dimensions": ["campaign_id", "stat_time_day"], "metrics": ["spend"]}
    created = await api.post("report/task/create/", body)
    assert created["code"] == 0, created
    ref = {"advertiser_id": second, "task_id": created["data"]["task_id"]}  # either account
    for _ in range(3):
        await api.get("report/task/check/", **ref)
    url = (await api.get("report/task/download/", **ref))["data"]["download_url"]
    table = list(csv.DictReader(io.StringIO((await fetch(url))[1])))
    assert {r["advertiser_id"] for r in table} == {first, second}
    assert all(r["currency"] and r["timezone"] for r in table)


async def test_cancel_and_the_refusals(emu: Emu, api: Api) -> None:
    adv_id, other, day = accounts(emu)
    created = await api.post("report/task/create/", task_body(adv_id, day))
    ref = {"advertiser_id": adv_id, "task_id": created["data"]["task_id"]}
    cancelled = await api.post("report/task/cancel/", ref)
    assert cancelled["data"]["status"] == "CANCELED"
    assert (await api.get("report/task/check/", **ref))["data"]["status"] == "CANCELED"
    assert (await api.get("report/task/download/", **ref))["code"] == 40201
    cases = [
        (task_body(adv_id, day, metrics=["billed_cost"]), "only available in synchronous"),
        (task_body(adv_id, day, output_format="XLSX_DOWNLOAD"), "XLSX_DOWNLOAD"),
        (task_body(adv_id, day, output_format="PDF"), "output_format"),
        (task_body(adv_id, day, metrics=["no_such_metric"]), "not a valid metric"),
        (task_body(adv_id, day, metrics=["campaign_name"], data_level="AUCTION_ADVERTISER",
                   dimensions=["advertiser_id"]), "not available at data_level"),
    ]  # fmt: skip
    for body, words in cases:
        reply = await api.post("report/task/create/", body)
        assert reply["code"] == 40002 and words in reply["message"], reply
    # a task is visible only to the accounts it covers
    stranger = await api.get("report/task/check/", advertiser_id=other, task_id=ref["task_id"])
    assert stranger["code"] == 40002 and "does not exist" in stranger["message"]
    unknown = await api.get("report/task/check/", advertiser_id=adv_id, task_id="123")
    assert unknown["code"] == 40002
