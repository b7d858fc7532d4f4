"""Ready rules built from TikTok's own best practices (its automated-rules templates and
learning-phase guidance): the user picks one, adjusts the numbers, and saves it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """A ready rule: its key (for buttons and translations) and its one-line form."""

    key: str
    text: str


PRESETS = (
    # Stop-loss: spend without any conversion today (TikTok's "stop loss" template).
    Preset("stop_loss", "ad: spend >= 20 and conversions = 0 in today -> pause today"),
    # CPA well above the ad group's own target (its cost cap / target CPA as synced) over three
    # days, once it has had a fair chance. Ad groups on automatic bidding have no target and
    # are never matched; type a number instead (`cpa > 30`) to hold them to one.
    Preset(
        "high_cpa",
        "adgroup: cpa > 1.5 x target and conversions >= 3 in 3d incl today -> pause",
    ),
    # Scale winners slowly: TikTok advises raises of at most ~20–30% at a time so the ad
    # group stays out of the learning phase.
    Preset(
        "scale_roas",
        "adgroup: roas >= 2 in yesterday and spend >= 50 in yesterday -> budget +20% max 500",
    ),
    # Stale creatives: old ads whose click-through fell off.
    Preset("stale_ads", "ad: age_days >= 14 in lifetime and ctr < 0.5 in 3d -> pause"),
    # Overspend warning: most of the daily budget gone early.
    Preset("budget_burn", "campaign: budget_spent_pct >= 80 in today -> notify"),
    # True ROI from the affiliate tracker (issue 12): ads losing over 30% of their spend over
    # three days, once they have spent enough to judge. Ads the tracker has no data for are
    # skipped, never paused for revenue it cannot see.
    Preset("low_roi", "ad: roi < -30 and spend >= 20 in 3d -> pause"),
)


def preset(key: str) -> Preset | None:
    """A preset by key."""
    return next((p for p in PRESETS if p.key == key), None)
