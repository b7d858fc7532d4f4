"""Tracker worlds: ``demo`` (TikTok demo campaigns feed tracker campaigns), ``scale``, ``empty``.

Demo, per kind (ids: Keitaro 101–107, Binom 1 201–207, Binom 2 301–307); the TikTok ad account
is the demo login's first (Keitaro: Glowly US), second (Binom 1: Glowly EU) or third (Binom 2:
Glowly JP) account, its 8 campaigns c0..c7 in creation order:

* x01 "<account> | Main": c0, c1, c2; ids passed with the default layout (spec §4:
  campaign_id=__CAMPAIGN_ID__, adgroup_id=__AID__, ad_id=__CID__ -> Keitaro ad_campaign_id /
  sub_id_1 / creative_id; Binom t1 / t2 / t3).
* x02 "<account> | Scale": c3, c4; the same URL parameters, other fields (Keitaro sub_id_3 /
  sub_id_4 / sub_id_5; Binom t4 / t5 / t6 of traffic source 2).
* x03 "<account> | No ids": c5; passes no ids.
* x04 "<account> | Campaign id only": c6; only the campaign id (Keitaro ad_campaign_id; Binom t1).
* c7 feeds nothing (TikTok spend with no tracker campaign).
* x05 "Push traffic (tracker only)": its own clicks and conversions, ids that TikTok does not know.
* x06 "Paused test": disabled, no clicks. x07 "Old campaign": deleted, no clicks.

The ads of the mapped TikTok campaigns get the tracker campaign's link as landing page URL,
as a user would set them, so the link -> campaign match feeds them (model.TrackerWorld.feed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.trackers.model import Param, TCampaign, TrackerWorld, TrafficSource, u32s, unit

DEFAULT_URL = [("campaign_id", "__CAMPAIGN_ID__"), ("adgroup_id", "__AID__"), ("ad_id", "__CID__")]
KEITARO_FIELDS = {
    "default": ["ad_campaign_id", "sub_id_1", "creative_id"],
    "custom": ["sub_id_3", "sub_id_4", "sub_id_5"],
    "campaign": ["ad_campaign_id"],
    "none": [],
}
BINOM_TOKENS = {"default": [1, 2, 3], "custom": [4, 5, 6], "campaign": [1], "none": []}
BINOM_TS = {"default": 1, "custom": 2, "campaign": 3, "none": 4}
ID_BASE = {"keitaro": 100, "binom1": 200, "binom2": 300}
ACCOUNT_INDEX = {"keitaro": 0, "binom1": 1, "binom2": 2}


def layout_params(kind: str, layout: str) -> list[Param]:
    """The click fields of a layout (which TikTok ids land where)."""
    n = len(KEITARO_FIELDS[layout])
    if kind == "keitaro":
        return [Param(f, name, ph) for f, (name, ph) in zip(KEITARO_FIELDS[layout], DEFAULT_URL[:n],
                                                          strict=True)]
    return [Param(f"t{t}", name, ph) for t, (name, ph) in zip(BINOM_TOKENS[layout], DEFAULT_URL[:n],
                                                            strict=True)]


def add_sources(w: TrackerWorld) -> None:
    """Traffic sources: TikTok (default layout), TikTok alt (custom), campaign only, no tokens."""
    names = {"default": "TikTok", "custom": "TikTok (alt tokens)",
             "campaign": "TikTok (campaign id)",
             "none": "TikTok (no tokens)"}
    for layout, ts_id in BINOM_TS.items():
        params = layout_params(w.kind, layout)
        if w.kind != "keitaro" and layout == "custom":
            params = [Param("t1", "placement", "__PLACEMENT__"), *params]
        w.sources[ts_id] = TrafficSource(ts_id, names[layout], params)


def new_campaign(w: TrackerWorld, cid: int, name: str, layout: str, state: str = "active",
                 created: float | None = None, synthetic: int = 0) -> TCampaign:
    """A campaign with a layout's parameters (Binom: its traffic source's tokens)."""
    r = u32s(f"{w.seed}:camp:{w.kind}:{cid}")
    ts = w.sources[BINOM_TS[layout]]
    params = list(ts.params) if w.kind != "keitaro" else layout_params(w.kind, layout)
    camp = TCampaign(
        id=cid,
        name=name,
        alias="".join("abcdefghijkmnpqrstuvwxyz23456789"[x % 32] for x in r[:6]),
        key="".join("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[x % 32] for x in r[2:8]) + str(cid),
        state=state,
        ts_id=ts.id,
        params=params,
        group_id=1 if synthetic == 0 else 2,
        group_name="TikTok" if synthetic == 0 else "Other",
        created=created if created is not None else w.clock() - 70 * 86400,
        payout=Decimal(20 + int(30 * unit(r[1]))),
        offer_id=cid * 10 + 1,
        landing_id=cid * 10 + 2,
        stream_id=cid * 10 + 3,
        synthetic_clicks=synthetic,
    )
    if synthetic:
        camp.synthetic_attrs = {
            p.field: v
            for p, v in zip(params, ("1790999999999001", "1791999999999001", "1792999999999001"),
                            strict=False)
        }
    return w.add_campaign(camp)


def feed_campaigns(w: TrackerWorld, camp: TCampaign, tiktok_campaign_ids: list[str]) -> None:
    """Point every ad of these TikTok campaigns at the tracker campaign's link."""
    if w.tiktok is None:
        return
    tw = w.tiktok.world
    link = w.link(camp)
    for tc in tiktok_campaign_ids:
        for ag_id in tw.campaigns[tc].adgroup_ids:
            for ad_id in tw.adgroups[ag_id].ad_ids:
                tw.ads[ad_id].extra["landing_page_url"] = link
    tw.version += 1


def build_demo(w: TrackerWorld) -> dict[int, list[str]]:
    """The demo world; returns tracker campaign id -> the TikTok campaign ids feeding it."""
    add_sources(w)
    base = ID_BASE[w.kind]
    feeds: dict[int, list[str]] = {}
    cs: list[str] = []
    label = "TikTok"
    if w.tiktok is not None:
        tw = w.tiktok.world
        owner = tw.users.get(tw.default_login)
        advs = owner.advertiser_ids if owner else list(tw.advertisers)
        adv = advs[ACCOUNT_INDEX[w.kind] % len(advs)]
        cs = list(tw.campaigns_by_adv.get(adv, []))
        label = tw.advertisers[adv].name
    plan = [
        (1, f"{label} | Main", "default", cs[0:3]),
        (2, f"{label} | Scale", "custom", cs[3:5]),
        (3, f"{label} | No ids", "none", cs[5:6]),
        (4, f"{label} | Campaign id only", "campaign", cs[6:7]),
    ]
    for n, name, layout, tcs in plan:
        camp = new_campaign(w, base + n, name, layout)
        feed_campaigns(w, camp, tcs)
        feeds[camp.id] = tcs
    new_campaign(w, base + 5, "Push traffic (tracker only)", "default", synthetic=6)
    feeds[base + 5] = []
    new_campaign(w, base + 6, "Paused test", "default", state="disabled")
    new_campaign(w, base + 7, "Old campaign", "default", state="deleted")
    return feeds


def build_scale(w: TrackerWorld, n: int) -> dict[int, list[str]]:
    """One default-layout tracker campaign per TikTok campaign, for the first ``n`` of them."""
    add_sources(w)
    feeds: dict[int, list[str]] = {}
    if w.tiktok is None:
        return feeds
    for i, tc in enumerate(sorted(w.tiktok.world.campaigns)[:n]):
        camp = new_campaign(w, ID_BASE[w.kind] * 100 + i + 1, f"Scale {i + 1:03d}", "default")
        feed_campaigns(w, camp, [tc])
        feeds[camp.id] = [tc]
    return feeds


def build(w: TrackerWorld, fixture: str, knobs: dict[str, Any]) -> dict[int, list[str]]:
    """Fill a world with a fixture."""
    if fixture == "demo":
        return build_demo(w)
    if fixture == "scale":
        return build_scale(w, int(knobs.get("scale_campaigns") or 200))
    if fixture == "empty":
        add_sources(w)
        return {}
    raise ValueError(f"unknown fixture {fixture!r}; choose demo, scale or empty")
