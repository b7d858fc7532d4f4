"""Unit tests: TikTok value parsing, error mapping, reports helpers, consent URL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from core.tiktok import errors
from core.tiktok.models import Ad, Advertiser, Campaign, TokenGrant, VideoInfo
from core.tiktok.oauth import auth_code_from_redirect, consent_url
from core.tiktok.parsing import chunks, id_str, to_decimal, to_int, utc_datetime
from core.tiktok.reports import (
    ReportLevel,
    ReportRow,
    TimeGrain,
    max_span_days,
    report_filtering,
    split_range,
)
from core.tiktok.transport import encode_query


def test_decimal_and_dash() -> None:
    assert to_decimal("20.000") == Decimal("20.000")
    assert to_decimal("-") is None
    assert to_decimal("") is None
    assert to_decimal(50) == Decimal(50)
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("1.41%") == Decimal("1.41")
    assert to_int("3765") == 3765
    assert to_int("-") is None


def test_ids_stay_strings() -> None:
    assert id_str(7002238017842757633) == "7002238017842757633"
    ad = Ad.from_api(
        {
            "ad_id": 1714125042508817,
            "adgroup_id": "2",
            "campaign_id": "3",
            "advertiser_id": "4",
            "identity_id": "",
            "identity_type": "UNSET",
        }
    )
    assert ad.ad_id == "1714125042508817"
    assert ad.identity_id is None


def test_timestamps() -> None:
    assert utc_datetime("2021-10-19 18:18:08") == datetime(2021, 10, 19, 18, 18, 8, tzinfo=UTC)
    assert utc_datetime(1630335591) == datetime(2021, 8, 30, 14, 59, 51, tzinfo=UTC)
    assert utc_datetime("2020-06-10T07:39:14Z") == datetime(2020, 6, 10, 7, 39, 14, tzinfo=UTC)
    assert utc_datetime("-") is None


def test_models_from_spec_records() -> None:
    adv = Advertiser.from_api(
        {
            "advertiser_id": "7002238017842757633",
            "name": "Airbyte0830",
            "status": "STATUS_ENABLE",
            "currency": "USD",
            "timezone": "Etc/GMT+8",
            "display_timezone": "America/Los_Angeles",
            "balance": 10,
            "create_time": 1630335591,
        }
    )
    assert adv.balance == Decimal(10)
    assert adv.create_time is not None and adv.create_time.year == 2021
    camp = Campaign.from_api(
        {
            "campaign_id": "1714073078669329",
            "advertiser_id": "7",
            "campaign_name": "x",
            "budget": 50,
            "budget_mode": "BUDGET_MODE_DAY",
            "deep_bid_type": None,
        }
    )
    assert camp.budget == Decimal(50)
    assert camp == Campaign.from_api({**camp.raw})
    grant = TokenGrant.from_api(
        {"access_token": "secret-token", "advertiser_ids": [1, "2"], "scope": [4]}
    )
    assert grant.advertiser_ids == ("1", "2")
    assert "secret-token" not in repr(grant)
    video = VideoInfo.from_api(
        {
            "video_id": "v1",
            "duration": 11.5,
            "width": 720,
            "preview_url_expire_time": "2024-01-01 06:00:00",
        }
    )
    assert video.duration == Decimal("11.5")


def test_report_row() -> None:
    item = {
        "dimensions": {"campaign_id": "1714125042508817", "stat_time_day": "2021-10-20 00:00:00"},
        "metrics": {
            "spend": "20.000",
            "impressions": "3765",
            "clicks": "53",
            "ctr": "1.41",
            "cpc": "0.380",
            "cpm": "5.310",
            "conversion": "0",
            "cost_per_conversion": "0.000",
            "conversion_rate": "0.00",
            "secondary_goal_result": "-",
            "campaign_name": "Website Traffic",
            "complete_payment_roas": "-",
            "total_complete_payment_rate": "12.50",
        },
    }
    row = ReportRow.from_api(item, level=ReportLevel.CAMPAIGN, advertiser_id="7")
    assert row.object_id == "1714125042508817"
    assert row.advertiser_id == "7"
    assert row.stat_time == datetime(2021, 10, 20)
    assert row.spend == Decimal("20.000") and row.impressions == 3765 and row.clicks == 53
    assert row.ctr == Decimal("1.41") and row.cpc == Decimal("0.380")
    assert row.roas is None and row.purchase_value == Decimal("12.50")
    assert row.metrics["secondary_goal_result"] is None
    assert row.metrics["campaign_name"] == "Website Traffic"


def test_split_range_by_span_limits() -> None:
    days = split_range(date(2024, 1, 1), date(2024, 3, 1), max_span_days(TimeGrain.DAY))
    assert days == [
        (date(2024, 1, 1), date(2024, 1, 30)),
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 1)),
    ]
    hours = split_range(date(2024, 1, 1), date(2024, 1, 3), max_span_days(TimeGrain.HOUR))
    assert hours == [(date(2024, 1, d), date(2024, 1, d)) for d in (1, 2, 3)]
    assert len(split_range(date(2023, 1, 1), date(2024, 12, 30), max_span_days(None))) == 2
    with pytest.raises(ValueError):
        split_range(date(2024, 1, 2), date(2024, 1, 1), 30)


def test_report_filtering_is_double_encoded() -> None:
    filters = report_filtering(ReportLevel.AD, ids_field="campaign_ids", ids=["1", "2"])
    assert filters[0] == {
        "field_name": "campaign_ids",
        "filter_type": "IN",
        "filter_value": '["1", "2"]',
    }
    assert json.loads(filters[1]["filter_value"]) == ["STATUS_ALL"]
    assert filters[1]["field_name"] == "ad_status"
    assert report_filtering(ReportLevel.ADVERTISER) == []


def test_encode_query() -> None:
    q = encode_query(
        {
            "advertiser_id": "1",
            "fields": ["a", "b"],
            "filtering": {"x": ["1"]},
            "page": 2,
            "flag": True,
            "skip": None,
        }
    )
    assert q == {
        "advertiser_id": "1",
        "fields": '["a", "b"]',
        "filtering": '{"x": ["1"]}',
        "page": "2",
        "flag": "true",
    }


def test_consent_url() -> None:
    url = consent_url(
        "app1",
        "st ate",
        "http://127.0.0.1:8080/oauth/tiktok/callback",
        "https://business-api.tiktok.com/portal/auth",
    )
    parts = urlsplit(url)
    assert parts.path == "/portal/auth"
    assert parse_qs(parts.query) == {
        "app_id": ["app1"],
        "state": ["st ate"],
        "redirect_uri": ["http://127.0.0.1:8080/oauth/tiktok/callback"],
    }
    assert auth_code_from_redirect({"code": "c", "auth_code": "a"}) == "a"
    assert auth_code_from_redirect({"code": "c"}) == "c"


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (40100, errors.RateLimitedError),
        (40132, errors.RateLimitedError),
        (50002, errors.ServerError),
        (51010, errors.ServerError),
        (40105, errors.TokenInvalidError),
        (40104, errors.TokenInvalidError),
        (40110, errors.AuthCodeError),
        (40001, errors.PermissionDeniedError),
        (40002, errors.InvalidRequestError),
        (40911, errors.InvalidRequestError),
        (40400, errors.InvalidRequestError),
    ],
)
def test_error_for_code(code: int, cls: type[errors.TikTokError]) -> None:
    err = errors.error_for_code(code, "msg", request_id="r", path="p/")
    assert type(err) is cls
    assert err.retryable == (cls in (errors.RateLimitedError, errors.ServerError))
    assert "request_id=r" in str(err)


def test_chunks() -> None:
    assert chunks([str(i) for i in range(5)], 2) == [["0", "1"], ["2", "3"], ["4"]]


def test_config_from_env_and_settings() -> None:
    from types import SimpleNamespace

    from core.tiktok import TikTokConfig

    cfg = TikTokConfig.from_env(
        {
            "TIKTOK_API_URL": "http://127.0.0.1:9000",
            "TIKTOK_APP_ID": "1",
            "TIKTOK_APP_SECRET": "s",
            "TIKTOK_QPS": "20",
            "REDIS_URL": "redis://x",
        }
    )
    assert (cfg.api_url, cfg.app_id, cfg.qps, cfg.redis_url) == (
        "http://127.0.0.1:9000",
        "1",
        20.0,
        "redis://x",
    )
    assert TikTokConfig.from_env({}).api_url == "https://business-api.tiktok.com"
    secret = SimpleNamespace(get_secret_value=lambda: "top")
    settings = SimpleNamespace(
        tiktok_api_url="http://a",
        tiktok_auth_url="http://a/portal/auth",
        tiktok_app_id="7",
        tiktok_app_secret=secret,
        redis_url=None,
    )
    from_settings = TikTokConfig.from_settings(settings, qps=5)
    assert (from_settings.secret, from_settings.qps, from_settings.app_id) == ("top", 5, "7")
    assert "top" not in repr(from_settings)
