"""Tracker cost push and revenue pull at scale: the real use-cases, clients and emulators.

    python -m bench.trackers [--campaigns 200] [--days 30] [--rate 20] [--kinds K,K]

For each tracker kind: a service database with one ad account of `campaigns` TikTok campaigns
(one ad group and ad each) and `days` days of campaign spend, one tracker emulator with one
tracker campaign per TikTok campaign (linked by hand, the TikTok ids in the default fields) and
a few clicks per campaign-day carrying those ids, so pushed costs land and pulls return rows.

* `push_calls_ratio` = cost-update calls the push made ÷ the fewest its API allows for
  `campaigns × days` campaign-days: Keitaro's bulk `clicks/update_costs` applies its
  `campaign_ids` to every cost entry (spec §1.2b), so one call per campaign (items ≤ 500);
  Binom 1 `save_update_costs` and Binom 2 `PUT clicks/campaign/{id}` take one range and one cost,
  so one call per campaign-day (spec §2.2, §3.2). Target ≤ 1.05.
* `pull_time_ratio` = the pull's wall time ÷ (the calls the tracker answered ÷ its rate limit,
  `--rate` calls per second enforced by the emulator with 429 + Retry-After; the refused calls
  are not counted in the bound, their waiting is in the time). Target ≤ 1.25.

The last line is `push_calls_ratio=… pull_time_ratio=…` (the worst kind of each).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from core.clock import FixedClock
from core.trackers import connect, mapping
from core.trackers.base import TrackerClient
from core.trackers.factory import make_client
from core.trackers.http import RetryPolicy
from core.trackers.pull import pull_revenue
from core.trackers.push import push_costs
from core.users import SignUp, register_user
from sandbox.trackers.server import RunningTracker, start_tracker
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import AdAccount, AdObject, MetricDaily, TikTokConnection
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring

USER = 501
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
CLICKS_PER_DAY = 3
PUSH_CALL = {
    "keitaro": "POST /admin_api/v1/clicks/update_costs",
    "binom1": "page=save_update_costs",
    "binom2": "PUT /public/api/v1/clicks/campaign/{id}",
}
KEITARO_BULK = 500
# The retry budget must outlast the rate limiter's waits (the client honours Retry-After).
RETRY = RetryPolicy(max_attempts=50, max_total_seconds=600.0)


def fewest_push_calls(kind: str, campaigns: int, days: int) -> int:
    """The fewest cost-update calls the kind's API allows for campaigns × days."""
    if kind == "keitaro":
        return campaigns * math.ceil(days / KEITARO_BULK)
    return campaigns * days


def _cid(i: int) -> str:
    return str(1_790_000_000_000_000 + i)


async def _seed(uow: UnitOfWorkFactory, campaigns: int, days: int) -> int:
    """A user with one UTC ad account: campaigns → one ad group → one ad, daily spend."""
    await register_user(uow, FixedClock(NOW), SignUp(USER, "B", None, None, "en", "UTC", None,
                                                     False))
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="bench", status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id="adv", name="Bench",
                        currency="USD", time_zone="UTC", fresh_as_of=NOW)
        u.session.add(acc)
        await u.session.flush()
        for i in range(campaigns):
            cid = _cid(i)
            u.session.add_all([
                AdObject(ad_account_id=acc.id, level="campaign", object_id=cid, name=f"C{i}"),
                AdObject(ad_account_id=acc.id, level="adgroup", object_id=cid + "1",
                         campaign_id=cid, name=f"G{i}"),
                AdObject(ad_account_id=acc.id, level="ad", object_id=cid + "2",
                         campaign_id=cid, adgroup_id=cid + "1", name=f"A{i}"),
            ])
            for d in range(1, days + 1):
                spend = Decimal(10 + (i * 7 + d * 13) % 90) + Decimal("0.37")
                u.session.add(MetricDaily(ad_account_id=acc.id, level="campaign", object_id=cid,
                                          day=TODAY - timedelta(days=d), spend=spend,
                                          impressions=1000, clicks=CLICKS_PER_DAY,
                                          conversions=1))
        await u.commit()
        return acc.id


def _clicks(tracker: RunningTracker, tracker_campaign: int, i: int, days: int) -> None:
    """A few clicks per day carrying the TikTok ids in the campaign's fields, one converting."""
    camp = tracker.world.campaigns[tracker_campaign]
    names = {"campaign_id": _cid(i), "adgroup_id": _cid(i) + "1", "ad_id": _cid(i) + "2"}
    fields = {p.field: names[p.name] for p in camp.params if p.name in names}
    midnight = datetime.combine(TODAY, datetime.min.time(), UTC).timestamp()
    for d in range(1, days + 1):
        for k in range(CLICKS_PER_DAY):
            when = midnight - d * 86400 + 3600 * (6 + 5 * k)
            payout = Decimal("30.00") if k == 0 else None
            tracker.add_click(tracker_campaign, when, fields, payout)


async def measure(kind: str, campaigns: int, days: int, rate: float) -> tuple[float, float]:
    """One kind: (push calls ÷ fewest, pull wall time ÷ its calls at the rate limit)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp)}/bench.db")
        await upgrade(engine)
        vault = Vault(parse_keyring(generate_key_entry("b")))
        uow = UnitOfWorkFactory(session_factory(engine), vault)
        clock = FixedClock(NOW)
        tracker = await start_tracker(kind, fixture="empty")

        def factory(k: str, url: str, key: str) -> TrackerClient:
            return make_client(k, url, key, retry=RETRY)  # type: ignore[arg-type]

        try:
            account = await _seed(uow, campaigns, days)
            ids = [tracker.add_campaign(f"TT {i}") for i in range(campaigns)]
            for i, tc in enumerate(ids):
                _clicks(tracker, tc, i, days)
            added = await connect.add_tracker(uow, clock, USER, kind, "Bench", tracker.url,
                                              tracker.api_key, "UTC", "USD", factory)
            tid = added.tracker.id
            for i, tc in enumerate(ids):
                await mapping.link_campaign(uow, clock, USER, tid, account, _cid(i), str(tc),
                                            factory)
            push_days = [TODAY - timedelta(days=d) for d in range(1, days + 1)]
            tracker.calls.clear()
            t0 = time.perf_counter()
            pushed = await push_costs(uow, clock, tid, push_days, factory)
            push_s = time.perf_counter() - t0
            push_calls = tracker.calls[PUSH_CALL[kind]]
            assert pushed.ok and pushed.rejected == 0, pushed.error
            tracker.knobs["rate_limit"] = rate
            tracker.calls.clear()
            t0 = time.perf_counter()
            pulled = await pull_revenue(uow, clock, tid, factory, window_days=days)
            pull_s = time.perf_counter() - t0
            refused = tracker.calls.pop("rate_limited", 0)
            pull_calls = sum(tracker.calls.values())
            assert pulled.ok, pulled.error
        finally:
            await tracker.stop()
            await engine.dispose()
    fewest = fewest_push_calls(kind, campaigns, days)
    push_ratio = push_calls / fewest
    bound = pull_calls / rate
    pull_ratio = pull_s / bound
    print(f"{kind:8} push: {push_calls} calls (fewest {fewest}) in {push_s:.1f} s, "
          f"{pushed.accepted} items accepted | pull: {pull_calls} calls in {pull_s:.2f} s "
          f"(bound {bound:.2f} s at {rate:g}/s, {refused} answered 429), {pulled.rows} rows")
    return push_ratio, pull_ratio


async def main(campaigns: int, days: int, rate: float, kinds: list[str]) -> None:
    """Measure each kind and print the worst ratios."""
    push, pull = [], []
    for kind in kinds:
        p, q = await measure(kind, campaigns, days, rate)
        push.append(p)
        pull.append(q)
    print(f"push_calls_ratio={max(push):.3f} pull_time_ratio={max(pull):.3f}")


def cli() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.trackers", description=__doc__)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rate", type=float, default=20.0, help="tracker calls per second")
    parser.add_argument("--kinds", default="keitaro,binom1,binom2")
    args = parser.parse_args()
    asyncio.run(main(args.campaigns, args.days, args.rate, args.kinds.split(",")))


if __name__ == "__main__":
    cli()
