"""/metrics of the real service after real traffic: sign-up, TikTok connected and synced, stats,
a rule that pauses an ad; every family present with sane values, the token enforced, and the
correlation ids in the JSON log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from core.tiktok import TikTokClient
from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, generous_plans
from tests.e2e.test_rules import Travel, api, new_rule_by_text, pick, travel  # noqa: F401
from tests.e2e.test_stats import connected_and_synced

TOKEN = "metrics-e2e-token"
FAMILIES = {
    # name: type
    "ttpulse_updates": "counter",
    "ttpulse_update_handling_seconds": "histogram",
    "ttpulse_telegram_requests": "counter",
    "ttpulse_telegram_refusals": "counter",
    "ttpulse_telegram_request_seconds": "histogram",
    "ttpulse_tiktok_requests": "counter",
    "ttpulse_tiktok_request_seconds": "histogram",
    "ttpulse_tracker_requests": "counter",
    "ttpulse_tracker_request_seconds": "histogram",
    "ttpulse_rate_limit_waits": "counter",
    "ttpulse_rate_limit_wait_seconds": "counter",
    "ttpulse_sync_lag_seconds": "histogram",
    "ttpulse_sync_lag_max_seconds": "gauge",
    "ttpulse_sync_cadence_seconds": "gauge",
    "ttpulse_rule_runs": "counter",
    "ttpulse_rule_actions": "counter",
    "ttpulse_outbox_depth": "gauge",
    "ttpulse_outbox_oldest_age_seconds": "gauge",
    "ttpulse_launch_items": "gauge",
    "ttpulse_lease_takeovers": "counter",
    "ttpulse_metrics_database_up": "gauge",
}


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "clock-offset"


@pytest.fixture
def service_env(clock_file: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "CLOCK_OFFSET_FILE": str(clock_file),
        "RULES_TICK_SECONDS": "1",
        "SYNC_TICK_SECONDS": "1",
        "NOTIFY_TICK_SECONDS": "0.5",
        "TIKTOK_QPS": "100",
        "METRICS_TOKEN": TOKEN,
        **generous_plans(tmp_path),
    }


async def scrape(service: ServiceProcess, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{service.url}/metrics", headers=headers) as resp,
    ):
        return resp.status, await resp.text()


def total(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def assert_histograms_sane(families: dict[str, list[Sample]], types: dict[str, str]) -> None:
    """Each histogram series: buckets never decrease, +Inf equals _count, _sum ≥ 0."""
    for name, kind in types.items():
        if kind != "histogram":
            continue
        series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        counts: dict[tuple[tuple[str, str], ...], float] = {}
        for s in families[name]:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            if s.name == f"{name}_bucket":
                series.setdefault(key, []).append((float(s.labels["le"]), s.value))
            elif s.name == f"{name}_count":
                counts[key] = s.value
            elif s.name == f"{name}_sum":
                assert s.value >= 0, (name, s)
        for key, buckets in series.items():
            values = [v for _, v in sorted(buckets)]
            assert values == sorted(values), (name, key, buckets)
            assert values[-1] == counts[key], (name, key)


async def test_metrics_after_real_traffic(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,  # noqa: F811
    travel: Travel,  # noqa: F811
) -> None:
    user = await sandbox.user(951, language_code="en")
    await connected_and_synced(user)  # sign-up, TikTok connected, every account synced, /stats
    _, ad_id, name = await pick(api, tiktok, "ad")
    await new_rule_by_text(user, "ad: impressions >= 0 in today -> pause", ad_id)
    travel(timedelta(minutes=16))
    await user.wait_for(lambda m: "— paused" in m.text and name in m.text, timeout=30)

    # The token is required (whatever the peer's address), and only the right one passes.
    assert (await scrape(service, None))[0] == 401
    assert (await scrape(service, "not-the-token"))[0] == 401
    status, text = await scrape(service, TOKEN)
    assert status == 200, text

    parsed = list(text_string_to_metric_families(text))
    types = {f.name: f.type for f in parsed}
    families = {f.name: f.samples for f in parsed}
    samples = [s for f in parsed for s in f.samples]
    for fam, kind in FAMILIES.items():
        assert types.get(fam) == kind, f"{fam} missing or not a {kind}: {types.get(fam)}"
    assert_histograms_sane(families, types)

    # Updates: sign-up taps (callback queries) and typed messages, all handled.
    assert total(samples, "ttpulse_updates_total", type="message", outcome="handled") > 5
    assert total(samples, "ttpulse_updates_total", type="callback_query", outcome="handled") > 5
    assert total(samples, "ttpulse_updates_total", outcome="error") == 0
    handled = total(samples, "ttpulse_updates_total", type="message")
    assert total(samples, "ttpulse_update_handling_seconds_count", type="message") == handled
    # Bot API: messages sent and edited, none refused (the sandbox checks the same).
    assert total(samples, "ttpulse_telegram_requests_total", method="sendMessage", code="200") > 5
    assert total(samples, "ttpulse_telegram_refusals_total") == 0
    # TikTok: the sync's reports answered with code 0; the pause too.
    assert total(samples, "ttpulse_tiktok_requests_total", code="0") > 10
    assert total(samples, "ttpulse_tiktok_requests_total", endpoint="ad/status/update/") >= 1
    assert total(samples, "ttpulse_rate_limit_waits_total") >= 0
    assert total(samples, "ttpulse_rate_limit_wait_seconds_total") >= 0
    # The rule ran on its own and paused the ad.
    assert total(samples, "ttpulse_rule_runs_total", outcome="ok") >= 1
    assert total(samples, "ttpulse_rule_actions_total", outcome="applied") >= 1
    # Database gauges: the demo login's three ad accounts, synced within the 16 minutes the
    # clocks moved plus the test's own time; the outbox drained or draining.
    assert total(samples, "ttpulse_metrics_database_up") == 1
    assert total(samples, "ttpulse_sync_lag_seconds_count") == 3
    lag_max = total(samples, "ttpulse_sync_lag_max_seconds")
    assert 0 <= lag_max < 2 * total(samples, "ttpulse_sync_cadence_seconds")
    assert total(samples, "ttpulse_outbox_depth") >= 0
    assert total(samples, "ttpulse_outbox_oldest_age_seconds") >= 0
    assert {s.labels["state"] for s in families["ttpulse_launch_items"]} >= {"pending", "created"}
    assert total(samples, "ttpulse_lease_takeovers_total") == 0  # one instance, nobody died

    # The JSON log: a sync tick's TikTok calls carry that run's id, an update's lines its own.
    events = service.log_events()
    tiktok_calls = [e for e in events if e.get("event") == "tiktok.call"]
    assert tiktok_calls and all("cid" in e for e in tiktok_calls)
    assert any(str(e["cid"]).startswith("t-sync-") for e in tiktok_calls)
    assert any(str(e["cid"]).startswith("t-rules-") for e in tiktok_calls)  # the pause
    # The OAuth callback (a web request) exchanged the code at TikTok under its own id.
    assert any(str(e["cid"]).startswith("w-") for e in tiktok_calls)
