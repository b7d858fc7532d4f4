"""TikTok's clicks and conversions against the tracker's, per mapped campaign per day.

A gap beyond the tracker's `discrepancy_pct` (default 20 %) suggests a broken redirect (clicks)
or a broken postback (conversions): one outbox alert per tracker, campaign and day, ever.

Compared: TikTok's campaign-level daily clicks / conversions (metrics_daily) and the tracker's
pulled campaign-level clicks / conversions (TrackerDaily; conversions there are approved +
pending: every conversion the postback delivered, whatever its approval). Only complete days
are checked (yesterday and the CHECK_DAYS - 1 before it, in the ad account's zone), and only
when TikTok's number is large enough to judge (MIN_CLICKS / MIN_CONVERSIONS): 3 clicks against
1 is noise, not a broken redirect. A gap is flagged only when it is beyond the threshold AND
beyond chance: more than NOISE_SIGMAS standard deviations of a Poisson count (√n) — 7 conversions
against 5 is 29 % but well inside what two honest counters differ by, while a broken redirect
loses far more. Conversions are judged only on days CONVERSION_SETTLE_DAYS or more behind
today: postbacks arrive hours or days after the click and land on the click's day (spec §0,
"Attribution date"), so yesterday's tracker count is still growing.

Outbox alert: kind "tracker_discrepancy", dedup key
"trk_disc:<tracker id>:<ad account id>:<campaign id>:<YYYY-MM-DD>", params (JSON):

    {"tracker_id": int, "tracker_name": str, "tracker_kind": str,
     "ad_account_id": int, "campaign_id": str, "campaign_name": str,
     "tracker_campaign_id": str, "tracker_campaign_name": str,
     "day": "YYYY-MM-DD", "threshold_pct": int,
     "tiktok_clicks": int, "tracker_clicks": int,
     "clicks_gap_pct": float | None,        # (tracker − TikTok) / TikTok × 100, 1 decimal;
                                            # None when not judged (too few)
     "tiktok_conversions": int, "tracker_conversions": int,
     "conversions_gap_pct": float | None,
     "clicks_flagged": bool, "conversions_flagged": bool}

At least one of clicks_flagged / conversions_flagged is true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.clock import Clock
from core.periods import local_today
from core.trackers.connect import TrackerNotFound
from core.trackers.mapping import effective_links
from storage.uow import UnitOfWorkFactory

KIND = "tracker_discrepancy"
CHECK_DAYS = 3
MIN_CLICKS = 20
MIN_CONVERSIONS = 5
NOISE_SIGMAS = 3
CONVERSION_SETTLE_DAYS = 2


@dataclass(frozen=True)
class Gap:
    """One campaign-day compared."""

    ad_account_id: int
    campaign_id: str
    day: date
    tiktok_clicks: int
    tracker_clicks: int
    tiktok_conversions: int
    tracker_conversions: int


def gap_pct(tiktok: int, tracker: int, minimum: int) -> float | None:
    """(tracker − TikTok) / TikTok × 100 to one decimal; None below `minimum` TikTok units."""
    if tiktok < minimum or tiktok <= 0:
        return None
    value = (Decimal(tracker - tiktok) * 100 / Decimal(tiktok)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    return float(value)


def beyond(gap: float | None, tiktok: int, tracker: int, threshold_pct: int) -> bool:
    """Whether a judged gap is beyond the user's threshold and beyond counting noise."""
    if gap is None or abs(gap) <= threshold_pct:
        return False
    return Decimal(abs(tracker - tiktok)) > NOISE_SIGMAS * Decimal(tiktok).sqrt()


def dedup_key(tracker_id: int, ad_account_id: int, campaign_id: str, day: date) -> str:
    """The outbox key that makes an alert once per tracker, campaign and day."""
    return f"trk_disc:{tracker_id}:{ad_account_id}:{campaign_id}:{day.isoformat()}"


async def check_discrepancies(
    uow: UnitOfWorkFactory, clock: Clock, tracker_id: int, days: list[date] | None = None
) -> int:
    """Queue an alert for each mapped campaign-day whose clicks or conversions differ beyond the
    threshold (None `days`: the last CHECK_DAYS complete days of each ad account); how many
    alerts were new. Run it after a successful pull (both sides are then fresh)."""
    now = clock.now()
    queued = 0
    async with uow() as u:
        tracker = await u.trackers.by_id(tracker_id)
        if tracker is None or tracker.status == "disconnected":
            raise TrackerNotFound(tracker_id)
        links = await effective_links(u, tracker)
        wanted: dict[tuple[int, str], list[date]] = {}
        for lk in links:
            if days is not None:
                wanted[(lk.ad_account_id, lk.campaign_id)] = sorted(days)
            else:
                yesterday = local_today(now, lk.time_zone) - timedelta(days=1)
                wanted[(lk.ad_account_id, lk.campaign_id)] = [
                    yesterday - timedelta(days=n) for n in range(CHECK_DAYS - 1, -1, -1)
                ]
        every = [d for ds in wanted.values() for d in ds]
        if not every:
            return 0
        first, last = min(every), max(every)
        tiktok = {
            (n.ad_account_id, n.object_id, n.day): n
            for n in await u.trackers.tiktok_days(wanted, first, last)
        }
        theirs = {
            (n.ad_account_id, n.object_id, n.day): n
            for n in await u.trackers.tracker_days(tracker_id, "campaign", first, last)
        }
        by_pair = {(lk.ad_account_id, lk.campaign_id): lk for lk in links}
        for pair, pair_days in sorted(wanted.items()):
            lk = by_pair[pair]
            for day in pair_days:
                ours = tiktok.get((*pair, day))
                if ours is None:
                    continue
                got = theirs.get((*pair, day))
                t_clicks = got.clicks if got else 0
                t_conv = got.conversions if got else 0
                clicks_gap = gap_pct(ours.clicks, t_clicks, MIN_CLICKS)
                settled = local_today(now, lk.time_zone) - day >= timedelta(
                    days=CONVERSION_SETTLE_DAYS
                )
                conv_gap = gap_pct(ours.conversions, t_conv, MIN_CONVERSIONS) if settled else None
                threshold = tracker.discrepancy_pct
                clicks_flag = beyond(clicks_gap, ours.clicks, t_clicks, threshold)
                conv_flag = beyond(conv_gap, ours.conversions, t_conv, threshold)
                if not (clicks_flag or conv_flag):
                    continue
                params: dict[str, Any] = {
                    "tracker_id": tracker.id,
                    "tracker_name": tracker.name,
                    "tracker_kind": tracker.kind,
                    "ad_account_id": lk.ad_account_id,
                    "campaign_id": lk.campaign_id,
                    "campaign_name": lk.campaign_name,
                    "tracker_campaign_id": lk.tracker_campaign_id,
                    "tracker_campaign_name": lk.tracker_campaign_name,
                    "day": day.isoformat(),
                    "threshold_pct": threshold,
                    "tiktok_clicks": ours.clicks,
                    "tracker_clicks": t_clicks,
                    "clicks_gap_pct": clicks_gap,
                    "tiktok_conversions": ours.conversions,
                    "tracker_conversions": t_conv,
                    "conversions_gap_pct": conv_gap,
                    "clicks_flagged": clicks_flag,
                    "conversions_flagged": conv_flag,
                }
                key = dedup_key(tracker.id, lk.ad_account_id, lk.campaign_id, day)
                if await u.trackers.alert_queued(key):
                    continue
                await u.outbox.enqueue(tracker.user_id, KIND, key, params, now)
                queued += 1
        await u.commit()
    return queued
