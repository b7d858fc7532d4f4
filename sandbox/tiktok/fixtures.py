"""Seeded worlds: ``demo`` (5 ad accounts, 3 logins) and ``scale`` (50 accounts, 100k ads)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sandbox.tiktok.model import (
    CURRENCY_RATE,
    DELETE,
    DISABLE,
    ENABLE,
    Ad,
    AdGroup,
    Advertiser,
    App,
    BusinessCenter,
    Campaign,
    History,
    Identity,
    Image,
    User,
    Video,
    World,
    json_number,
)

DAY = 86400
APP_ID = "7311000000000000001"
ADVERTISER_BASE = 7_310_000_000_000_000_000
CAMPAIGN_BASE = 1_790_000_000_000_000
ADGROUP_BASE = 1_791_000_000_000_000
AD_BASE = 1_792_000_000_000_000
IDENTITY_BASE = 7_312_000_000_000_000_000
BC_BASE = 7_313_000_000_000_000_000

# (currency, IANA zone, Etc/GMT name of spec §3.1 with its inverted sign, country, language)
MARKETS = [
    ("USD", "America/Los_Angeles", "Etc/GMT+8", "US", "en"),
    ("EUR", "Europe/Berlin", "Etc/GMT-1", "DE", "de"),
    ("JPY", "Asia/Tokyo", "Etc/GMT-9", "JP", "ja"),
    ("GBP", "Europe/London", "Etc/GMT", "GB", "en"),
    ("BRL", "America/Sao_Paulo", "Etc/GMT+3", "BR", "pt"),
    ("USD", "America/New_York", "Etc/GMT+5", "US", "en"),
    ("MXN", "America/Mexico_City", "Etc/GMT+6", "MX", "es"),
    ("IDR", "Asia/Jakarta", "Etc/GMT-7", "ID", "id"),
    ("TRY", "Europe/Istanbul", "Etc/GMT-3", "TR", "tr"),
    ("AUD", "Australia/Sydney", "Etc/GMT-10", "AU", "en"),
]
VERTICALS = [
    "Skincare",
    "Fitness",
    "Gadgets",
    "Pet Food",
    "Fashion",
    "Home Decor",
    "Coffee",
    "Supplements",
    "Gaming",
    "Finance App",
]
CTAS = ["SHOP_NOW", "LEARN_MORE", "ORDER_NOW", "SIGN_UP", "DOWNLOAD_NOW"]
AUDIENCES = ["Broad", "Interest", "LAL 1%", "Retarget"]
SHOP = "https://shop.example.com"


def _hex(seed: int, text: str, n: int = 32) -> str:
    """Deterministic hex text."""
    return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()[:n]


def round_budget(value: Decimal, rate: Decimal) -> Decimal:
    """A round budget in the account's currency."""
    amount = value * rate
    step = Decimal(10) ** max(0, len(str(int(amount))) - 2)
    return (amount / step).quantize(Decimal(1)) * step


class Builder:
    """Fills a world with accounts, campaigns, ad groups, ads and media."""

    def __init__(self, world: World, now: float, rich: bool) -> None:
        """Prepare a seeded builder; ``rich`` adds status histories and media."""
        self.w = world
        self.now = now
        self.rich = rich
        self.rnd = random.Random(world.seed)
        # Each account's videos, images and custom identity, as media() made them: looking them
        # up in the whole world per account made building 10,000 accounts quadratic (minutes).
        self._media: dict[str, tuple[list[str], list[str], Identity]] = {}

    def app(self) -> App:
        """The one developer app."""
        app = App(app_id=APP_ID, secret=_hex(self.w.seed, "secret", 40), name="TTPulse Demo App")
        self.w.apps[app.app_id] = app
        return app

    def user(self, login: str, name: str) -> User:
        """A TikTok for Business login."""
        user = User(
            login=login,
            display_name=name,
            email=f"{login[0]}***@example.com",
            core_user_id=str(7_314_000_000_000_000_000 + len(self.w.users) + 1),
            advertiser_ids=[],
            bc_ids=[],
        )
        self.w.users[login] = user
        return user

    def bc(
        self, owner: User, name: str, bc_type: str, currency: str, area: str, tz: str
    ) -> BusinessCenter:
        """A Business Center owned (ADMIN) by a login."""
        bc = BusinessCenter(
            bc_id=str(BC_BASE + len(self.w.bcs) + 1),
            name=name,
            company=f"{name} Ltd",
            currency=currency,
            registered_area=area,
            timezone=tz,
            type=bc_type,
            roles={owner.login: "ADMIN"},
            advertiser_ids=[],
        )
        self.w.bcs[bc.bc_id] = bc
        owner.bc_ids.append(bc.bc_id)
        return bc

    def advertiser(
        self, owner: User, name: str, market: int, bc: BusinessCenter | None
    ) -> Advertiser:
        """An ad account in a market (currency + time zone)."""
        cur, zone, etc, country, lang = MARKETS[market % len(MARKETS)]
        adv = Advertiser(
            advertiser_id=str(ADVERTISER_BASE + len(self.w.advertisers) * 104729 + 1),
            name=name,
            company=f"{name.split()[0]} Commerce",
            currency=cur,
            display_timezone=zone,
            timezone=etc,
            country=country,
            owner_login=owner.login,
            create_time=self.now - 400 * DAY + len(self.w.advertisers) * DAY,
            balance=round_budget(Decimal(5000), CURRENCY_RATE.get(cur, Decimal(1))),
            language=lang,
            owner_bc_id=bc.bc_id if bc else "",
        )
        self.w.advertisers[adv.advertiser_id] = adv
        owner.advertiser_ids.append(adv.advertiser_id)
        if bc:
            bc.advertiser_ids.append(adv.advertiser_id)
        self.media(adv)
        return adv

    def media(self, adv: Advertiser) -> None:
        """Videos, cover images and identities of an account."""
        seed = self.w.seed
        created = adv.create_time + DAY
        vids: list[str] = []
        imgs: list[str] = []
        for i in range(3 if self.rich else 1):
            vid = f"v10033g50000{_hex(seed, adv.advertiser_id + 'v' + str(i), 20)}"
            self.w.videos[vid] = Video(
                video_id=vid,
                advertiser_id=adv.advertiser_id,
                file_name=f"clip_{i + 1}.mp4",
                signature=_hex(seed, vid),
                size=2_875_000 + i * 1000,
                width=720,
                height=1280,
                duration=11.5 + i,
                format="mp4",
                create_time=created,
                material_id=str(7_315_000_000_000_000_000 + len(self.w.videos)),
            )
            self.w.material_names[(adv.advertiser_id, "video", f"clip_{i + 1}.mp4")] = vid
            vids.append(vid)
            img = f"ad-site-i18n-sg/{_hex(seed, adv.advertiser_id + 'i' + str(i))}"
            self.w.images[img] = Image(
                image_id=img,
                advertiser_id=adv.advertiser_id,
                file_name=f"cover_{i + 1}.jpg",
                signature=_hex(seed, img),
                size=120_000,
                width=720,
                height=1280,
                format="jpeg",
                create_time=created,
                material_id=str(7_316_000_000_000_000_000 + len(self.w.images)),
            )
            self.w.material_names[(adv.advertiser_id, "image", f"cover_{i + 1}.jpg")] = img
            imgs.append(img)
        base = IDENTITY_BASE + len(self.w.identities) * 10
        custom = Identity(
            identity_id=str(base + 1),
            advertiser_id=adv.advertiser_id,
            identity_type="CUSTOMIZED_USER",
            display_name=adv.name.split()[0],
        )
        self.w.identities[custom.identity_id] = custom
        self._media[adv.advertiser_id] = (vids, imgs, custom)
        if self.rich:
            tt = Identity(
                identity_id=str(base + 2),
                advertiser_id=adv.advertiser_id,
                identity_type="TT_USER",
                display_name=f"{adv.name.split()[0]} Official",
                user_name=f"{adv.name.split()[0].lower()}_official",
            )
            self.w.identities[tt.identity_id] = tt
            if adv.owner_bc_id:
                bct = Identity(
                    identity_id=str(base + 3),
                    advertiser_id=adv.advertiser_id,
                    identity_type="BC_AUTH_TT",
                    display_name=f"{adv.name.split()[0]} Creator",
                    user_name=f"{adv.name.split()[0].lower()}_creator",
                    identity_authorized_bc_id=adv.owner_bc_id,
                )
                self.w.identities[bct.identity_id] = bct

    def _status(self, created: float, p_disable: float, p_delete: float) -> History:
        """A status history: mostly ENABLE, some paused or deleted at a past moment."""
        hist = History(created, ENABLE)
        if not self.rich:
            return hist
        r = self.rnd.random()
        if r < p_delete + p_disable:
            when = created + (self.now - created) * (0.3 + 0.6 * self.rnd.random())
            hist.set(when, DELETE if r < p_delete else DISABLE)
        return hist

    def campaigns(
        self, adv: Advertiser, n_campaigns: int, ags: tuple[int, int], ads: tuple[int, int]
    ) -> None:
        """Campaigns with ad groups and ads, created over the last 60 days."""
        rnd = self.rnd
        w = self.w
        vids, imgs, ident = self._media[adv.advertiser_id]
        for c in range(n_campaigns):
            created = self.now - DAY * (3 + 57 * rnd.random())
            vertical = VERTICALS[(c + len(w.campaigns)) % len(VERTICALS)]
            objective = "WEB_CONVERSIONS" if c % 4 else "TRAFFIC"
            cbo = c % 3 == 1
            when = fmt_day(created)
            camp = Campaign(
                campaign_id=w.next_id("campaign", CAMPAIGN_BASE),
                advertiser_id=adv.advertiser_id,
                name=f"{adv.country} | {vertical} | {'CBO' if cbo else 'ABO'} | {when}",
                objective_type=objective,
                budget_mode="BUDGET_MODE_DAY" if cbo else "BUDGET_MODE_INFINITE",
                budget=History(
                    created,
                    round_budget(Decimal(rnd.choice([100, 150, 250, 400])), adv.rate)
                    if cbo
                    else Decimal(0),
                ),
                status=self._status(created, 0.12, 0.05 if c else 0.0),
                create_time=created,
                modify_time=created,
                extra={"budget_optimize_on": cbo},
            )
            w.add_campaign(camp)
            for g in range(rnd.randint(*ags)):
                ag_created = created + 60 * (g + 1)
                goal = "CONVERT" if objective == "WEB_CONVERSIONS" else "CLICK"
                budget = (
                    Decimal(0)
                    if cbo
                    else round_budget(Decimal(rnd.choice([30, 50, 80, 120, 200, 300])), adv.rate)
                )
                ag = AdGroup(
                    adgroup_id=w.next_id("adgroup", ADGROUP_BASE),
                    campaign_id=camp.campaign_id,
                    advertiser_id=adv.advertiser_id,
                    name=f"{vertical} | {rnd.choice(AUDIENCES)} | {g + 1}",
                    budget_mode="BUDGET_MODE_INFINITE" if cbo else "BUDGET_MODE_DAY",
                    budget=History(ag_created, budget),
                    status=self._status(ag_created, 0.1, 0.03),
                    schedule_type="SCHEDULE_FROM_NOW",
                    schedule_start=ag_created,
                    schedule_end=ag_created + 3650 * DAY,
                    optimization_goal=goal,
                    billing_event="OCPM" if goal == "CONVERT" else "CPC",
                    create_time=ag_created,
                    modify_time=ag_created,
                    extra={
                        "promotion_type": "WEBSITE",
                        "location_ids": [location_id(adv.country)],
                        "optimization_event": "COMPLETE_PAYMENT" if goal == "CONVERT" else None,
                        "pixel_id": str(7_317_000_000_000_000_000 + len(w.advertisers))
                        if goal == "CONVERT"
                        else None,
                    },
                )
                # Every second ad group bids a custom amount (spec §4.6: conversion_bid_price
                # billed OCPM, bid_price otherwise), the rest bid lowest cost (no bid): the demo
                # shows both kinds, in ABO and CBO campaigns alike. No random draw: the rest of
                # the demo stays as it was.
                if g % 2:
                    ag.extra["bid_type"] = "BID_TYPE_CUSTOM"
                    if ag.billing_event == "OCPM":
                        ag.extra["conversion_bid_price"] = json_number(
                            round_budget(Decimal(12), adv.rate)
                        )
                    else:
                        ag.extra["bid_price"] = json_number(round_budget(Decimal(1), adv.rate))
                else:
                    ag.extra["bid_type"] = "BID_TYPE_NO_BID"
                if self.rich and not cbo and rnd.random() < 0.2:
                    ag.budget.set(self.now - DAY * (1 + 2 * rnd.random()), budget * 2)
                w.add_adgroup(ag)
                for a in range(rnd.randint(*ads)):
                    late = self.rich and a > 0 and rnd.random() < 0.15
                    ad_created = (
                        ag_created
                        + 120 * (a + 1)
                        + ((self.now - ag_created) * 0.5 * rnd.random() if late else 0)
                    )
                    extra: dict[str, object] = {}
                    if self.rich:
                        extra = {
                            "ad_text": f"{vertical} you will love. Limited offer!",
                            "video_id": vids[a % len(vids)],
                            "image_ids": [imgs[a % len(imgs)]],
                            "identity_id": ident.identity_id,
                            "identity_type": "CUSTOMIZED_USER",
                            "call_to_action": CTAS[a % len(CTAS)],
                            "landing_page_url": f"{SHOP}/{vertical.lower().replace(' ', '-')}",
                        }
                    ad = Ad(
                        ad_id=w.next_id("ad", AD_BASE),
                        adgroup_id=ag.adgroup_id,
                        campaign_id=camp.campaign_id,
                        advertiser_id=adv.advertiser_id,
                        name=f"{vertical} hook {a + 1} | v{g + 1}",
                        status=self._status(ad_created, 0.1, 0.02),
                        create_time=ad_created,
                        modify_time=ad_created,
                        extra=extra,
                    )
                    w.add_ad(ad)


def fmt_day(ts: float) -> str:
    """A short date for names."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def location_id(country: str) -> str:
    """A GeoNames-style country id (spec §4.5)."""
    return {
        "US": "6252001",
        "DE": "2921044",
        "JP": "1861060",
        "GB": "2635167",
        "BR": "3469034",
        "MX": "3996063",
        "ID": "1643084",
        "TR": "298795",
        "AU": "2077456",
    }.get(country, "6252001")


def build_demo(world: World, now: float) -> None:
    """Five accounts in five currencies/time zones, ~35 campaigns, ~500 ads, two BCs."""
    b = Builder(world, now, rich=True)
    b.app()
    demo = b.user("demo", "Demo Owner")
    agency = b.user("agency", "Northwind Agency")
    b.user("empty", "No Accounts Yet")
    world.default_login = "demo"
    bc = b.bc(demo, "Demo Media BC", "NORMAL", "USD", "US", "America/Los_Angeles")
    bc.roles["agency"] = "STANDARD"
    agency.bc_ids.append(bc.bc_id)
    abc = b.bc(agency, "Northwind Agency BC", "AGENCY", "GBP", "GB", "Europe/London")
    for name, market in (("Glowly US", 0), ("Glowly EU", 1), ("Glowly JP", 2)):
        adv = b.advertiser(demo, name, market, bc)
        b.campaigns(adv, 8, (2, 4), (3, 6))
    for name, market in (("Northwind UK", 3), ("Northwind BR", 4)):
        adv = b.advertiser(agency, name, market, abc)
        b.campaigns(adv, 5, (2, 3), (3, 5))


def parse_shape(shape: str) -> tuple[int, int, int]:
    """ "20x5x20" -> (campaigns, ad groups per campaign, ads per ad group)."""
    parts = [int(p) for p in shape.lower().split("x")]
    if len(parts) != 3 or min(parts) < 1:
        raise ValueError(f"a scale shape is campaigns x ad groups x ads, like 20x5x20: {shape!r}")
    return parts[0], parts[1], parts[2]


def build_scale(
    world: World, now: float, accounts: int = 50, shape: tuple[int, int, int] = (20, 5, 20)
) -> None:
    """50 accounts x 20 campaigns x 5 ad groups x 20 ads = 100,000 ads, one owner login (by
    default; `accounts` and `shape` size it otherwise)."""
    b = Builder(world, now, rich=False)
    b.app()
    owner = b.user("scale", "Scale Owner")
    b.user("empty", "No Accounts Yet")
    world.default_login = "scale"
    bc = b.bc(owner, "Scale Agency BC", "AGENCY", "USD", "US", "America/New_York")
    campaigns, adgroups, ads = shape
    for i in range(accounts):
        adv = b.advertiser(owner, f"Scale{i + 1:02d} Shop", i, bc)
        b.campaigns(adv, campaigns, (adgroups, adgroups), (ads, ads))


FIXTURES: dict[str, Callable[[World, float], None]] = {"demo": build_demo, "scale": build_scale}
