"""Rules at scale, and alerts at Telegram's rate, side by side with their baselines.

    python -m bench.rules [--users 100] [--alerts 3000] [--scale 1]

1. Evaluation: `users` users, each with one ad account of 50 ads × 20 days of daily rows
   (100 users: 100,000 ad-days) plus today's hourly rows, and 10 enabled rules each (1,000
   rules) mixing every window kind (last hour, today, yesterday, 3/7 days with and without
   today, lifetime), per-object and summed, metric × factor operands. All rules are evaluated
   the way the engine does it (core.rules.engine.evaluate, in claims of engine.BATCH).
   `rules_eval_s` is that time (target < 1 s); `rules_linearity` is the time for twice the
   rules over twice the ad-days divided by four times the base time (target ≤ 1.2: the time
   grows no faster than rules × rows).
2. Alerts: bench.alerts delivers `alerts` alerts through the real notifier to the sandbox
   Telegram server: `alerts_rate_share` is the achieved rate as a share of the rate Telegram
   allows (target ≥ 0.95), `alerts_429` the flood refusals (target 0). By default at Telegram's
   own rate (`--scale 1`: 3,000 alerts take about 100 s). A higher scale shortens the run but
   measures this machine's CPU instead of the pacing: the notifier and the sandbox server share
   one process, ~10 ms of CPU per alert together, so at `--scale 4` (120/s) they need more than
   a core (see bench/alerts.py for `--scale`).

The last line is `rules_eval_s=… rules_linearity=… alerts_rate_share=… alerts_429=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.alerts import measure_alerts
from core.rules.engine import BATCH, evaluate
from core.rules.settings import RuleSettings, to_json
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import AdAccount, Rule, TikTokConnection, User
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
ADS, DAYS, RULES_PER_USER = 50, 20, 10
TEXTS = (
    "ad: spend >= 20 and conversions = 0 in today -> pause today",
    "ad: cpa > 1.5 x cpa in 7d and conversions >= 3 in 7d -> pause",
    "adgroup: roas >= 2 in yesterday and spend >= 50 in yesterday -> budget +20% max 500",
    "ad: ctr < 0.5 in 3d incl today -> notify",
    "ad: spend > 5 in last hour -> notify",
    "ad: spend between 10 and 100 in lifetime or clicks > 1000 in 14d -> notify",
    "campaign: budget_spent_pct >= 80 in today -> notify",
    "ad: cpc > 0.8 in 30d and impressions > 10000 in 30d -> pause",
    "ad: conversions = 0 in 3d and spend >= 30 in 3d -> pause",
    "ad: cvr < 1 in yesterday -> notify",
)


def _metrics(rng: random.Random) -> dict[str, Any]:
    impressions = rng.randint(0, 20_000)
    clicks = impressions * rng.randint(0, 30) // 1000
    conversions = clicks * rng.randint(0, 8) // 100
    return {
        "spend": Decimal(rng.randint(0, 20_000)) / 100,
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "purchase_value": Decimal(conversions * rng.randint(500, 5000)) / 100,
        "synced_at": NOW,
    }


async def build(uow: UnitOfWorkFactory, users: int, first_user: int) -> list[Rule]:
    """Users with one account, 50 ads over 20 days, today's hours, and 10 rules each."""
    rng = random.Random(first_user)
    rules: list[Rule] = []
    for k in range(users):
        uid = first_user + k
        async with uow() as u:
            u.session.add(
                User(
                    id=uid,
                    first_name="B",
                    time_zone="UTC",
                    adult_confirmed_at=NOW,
                    terms_accepted_at=NOW,
                    terms_version="1",
                    privacy_accepted_at=NOW,
                )
            )
            await u.session.flush()
            conn = TikTokConnection(user_id=uid, status="active")
            u.session.add(conn)
            await u.session.flush()
            acc = AdAccount(
                connection_id=conn.id,
                advertiser_id=str(uid),
                name=f"A{uid}",
                currency="USD",
                time_zone="America/New_York",
                fresh_as_of=NOW - timedelta(minutes=5),
            )
            u.session.add(acc)
            await u.session.flush()
            objects, daily, hourly = [], [], []
            for level, count in (("campaign", 1), ("adgroup", 5), ("ad", ADS)):
                for i in range(count):
                    objects.append(
                        {
                            "ad_account_id": acc.id,
                            "level": level,
                            "object_id": f"{level}{i}",
                            "campaign_id": "campaign0",
                            "adgroup_id": f"adgroup{i % 5}",
                            "name": f"{level} {i}",
                            "operation_status": "ENABLE",
                            "budget_mode": "BUDGET_MODE_DAY",
                            "budget": Decimal(100),
                            "created_time": NOW - timedelta(days=40),
                            "synced_at": NOW,
                        }
                    )
                    if level == "adgroup":
                        continue
                    for d in range(DAYS):
                        day = (NOW - timedelta(days=d)).date()
                        daily.append(
                            {
                                "ad_account_id": acc.id,
                                "level": level,
                                "object_id": f"{level}{i}",
                                "day": day,
                                **_metrics(rng),
                            }
                        )
                    if level == "ad":
                        for h in range(10):
                            hourly.append(
                                {
                                    "ad_account_id": acc.id,
                                    "level": level,
                                    "object_id": f"{level}{i}",
                                    "day": NOW.date(),
                                    "hour": h,
                                    **_metrics(rng),
                                }
                            )
            await u.sync.upsert_objects(objects)
            await u.sync.upsert_daily(daily)
            # As the sync's daily writes do (core.sync): the rule sums as of the local today.
            await u.sync.refresh_rule_sums(acc.id, NOW.astimezone(ZoneInfo(acc.time_zone)).date())
            await u.sync.upsert_hourly(hourly)
            for n in range(RULES_PER_USER):
                text = TEXTS[n % len(TEXTS)]
                settings = RuleSettings(aggregate="sum" if n == 6 else "each")
                rule = Rule(
                    user_id=uid,
                    name=f"r{n}",
                    text=text,
                    level=text.split(":")[0],
                    settings=to_json(settings),
                    enabled=True,
                    due_at=NOW,
                )
                u.rules.add(rule)
                rules.append(rule)
            await u.commit()
    return rules


async def eval_time(users: int) -> tuple[float, int, int]:
    """(seconds to evaluate every rule, rules, ad-days) for `users` users, median of 3."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp)}/rules.db")
        await upgrade(engine)
        uow = UnitOfWorkFactory(session_factory(engine), None)
        rules = await build(uow, users, 1000)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            for i in range(0, len(rules), BATCH):
                async with uow() as u:
                    await evaluate(u, rules[i : i + BATCH], NOW)
            times.append(time.perf_counter() - started)
        await engine.dispose()
    return sorted(times)[1], len(rules), users * ADS * DAYS


async def main_async(args: argparse.Namespace) -> None:
    """Run both parts and print them side by side."""
    base, rules, days = await eval_time(args.users)
    double, rules2, days2 = await eval_time(args.users * 2)
    linearity = double / (4 * base)
    print(f"rules: {rules} rules × {days} ad-days: {base:.3f} s (target < 1 s)")
    print(
        f"rules: {rules2} rules × {days2} ad-days: {double:.3f} s "
        f"→ linearity {linearity:.2f} (target ≤ 1.2)"
    )
    share, flood = await measure_alerts(args.alerts, args.scale)
    print(
        f"alerts: {args.alerts} delivered at {share:.1%} of the allowed rate, {flood} × 429 "
        "(target ≥ 95 %, no 429)"
    )
    print(
        f"rules_eval_s={base:.3f} rules_linearity={linearity:.2f} "
        f"alerts_rate_share={share:.3f} alerts_429={flood}"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--alerts", type=int, default=3_000)
    parser.add_argument("--scale", type=float, default=1.0)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
