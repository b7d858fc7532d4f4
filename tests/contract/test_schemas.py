"""The contract schemas themselves: spec records pass, shape drift fails."""

from __future__ import annotations

import json
from typing import Any

from tests.contract.schemas import check_response


def _body(data: Any, code: int = 0) -> bytes:
    return json.dumps(
        {
            "code": code,
            "message": "OK" if code == 0 else "bad",
            "request_id": "2020042715295501023125104093250",
            "data": data,
        }
    ).encode()


CAMPAIGN = {
    "campaign_id": "1714073078669329",
    "advertiser_id": "7002238017842757633",
    "campaign_name": "Website Traffic20211019110444",
    "campaign_type": "REGULAR_CAMPAIGN",
    "objective": "LANDING_PAGE",
    "objective_type": "TRAFFIC",
    "budget": 50,
    "budget_mode": "BUDGET_MODE_DAY",
    "operation_status": "DISABLE",
    "secondary_status": "CAMPAIGN_STATUS_DISABLE",
    "roas_bid": 0,
    "deep_bid_type": None,
    "is_new_structure": True,
    "is_smart_performance_campaign": False,
    "create_time": "2021-10-19 18:18:08",
    "modify_time": "2022-03-28 12:01:56",
}
PAGE = {"page": 1, "page_size": 1000, "total_number": 1, "total_page": 1}
REPORT_QUERY = {
    "dimensions": '["campaign_id", "stat_time_day"]',
    "metrics": '["spend", "impressions", "ctr"]',
    "page_size": "1000",
}
ROW = {
    "dimensions": {"campaign_id": "1714125042508817", "stat_time_day": "2021-10-20 00:00:00"},
    "metrics": {
        "spend": "20.000",
        "impressions": "3765",
        "ctr": "1.41",
        "secondary_goal_result": "-",
    },
}


def test_spec_records_pass() -> None:
    q = {"page_size": "1000"}
    assert (
        check_response(
            "GET", "campaign/get/", q, 200, _body({"list": [CAMPAIGN], "page_info": PAGE})
        )
        == []
    )
    assert (
        check_response(
            "GET",
            "report/integrated/get/",
            REPORT_QUERY,
            200,
            _body({"list": [ROW], "page_info": PAGE}),
        )
        == []
    )
    assert (
        check_response(
            "GET",
            "advertiser/info/",
            {},
            200,
            _body(
                {
                    "list": [
                        {
                            "advertiser_id": "7002238017842757633",
                            "name": "Airbyte0830",
                            "status": "STATUS_ENABLE",
                            "role": "ROLE_ADVERTISER",
                            "currency": "USD",
                            "timezone": "Etc/GMT+8",
                            "display_timezone": "America/Los_Angeles",
                            "balance": 10,
                            "create_time": 1630335591,
                        }
                    ]
                }
            ),
        )
        == []
    )
    assert check_response("POST", "x/", {}, 200, _body({}, code=40105)) == []
    assert check_response("GET", "bc/get/", {}, 504, b"<html>504</html>") == []


def test_drift_fails() -> None:
    q = {"page_size": "1000"}
    int_id = {**CAMPAIGN, "campaign_id": 1714073078669329}
    assert check_response(
        "GET", "campaign/get/", q, 200, _body({"list": [int_id], "page_info": PAGE})
    )
    assert check_response("GET", "campaign/get/", q, 200, _body({"list": [CAMPAIGN]}))
    bad_time = {**CAMPAIGN, "create_time": "2021-10-19T18:18:08Z"}
    assert check_response(
        "GET", "campaign/get/", q, 200, _body({"list": [bad_time], "page_info": PAGE})
    )
    numeric_metric = {**ROW, "metrics": {**ROW["metrics"], "spend": 20.0}}
    assert check_response(
        "GET",
        "report/integrated/get/",
        REPORT_QUERY,
        200,
        _body({"list": [numeric_metric], "page_info": PAGE}),
    )
    bad_money = {**ROW, "metrics": {**ROW["metrics"], "spend": "20"}}
    assert check_response(
        "GET",
        "report/integrated/get/",
        REPORT_QUERY,
        200,
        _body({"list": [bad_money], "page_info": PAGE}),
    )
    missing_metric = {**ROW, "metrics": {"spend": "1.000"}}
    assert check_response(
        "GET",
        "report/integrated/get/",
        REPORT_QUERY,
        200,
        _body({"list": [missing_metric], "page_info": PAGE}),
    )
    wrong_pages = {**PAGE, "total_number": 2500, "total_page": 2}
    assert check_response(
        "GET", "campaign/get/", q, 200, _body({"list": [CAMPAIGN], "page_info": wrong_pages})
    )
    fields_q = {**q, "fields": '["campaign_id", "budget"]'}
    assert check_response(
        "GET",
        "campaign/get/",
        fields_q,
        200,
        _body({"list": [{"campaign_id": "1"}], "page_info": PAGE}),
    )
    assert check_response("POST", "file/video/ad/upload/", {}, 200, _body({"video_id": "v"}))
    assert check_response("POST", "x/", {}, 200, _body({"oops": 1}, code=40002))
    assert check_response("GET", "bc/get/", {}, 404, b"not found")
