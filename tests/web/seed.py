"""A signed-up user with one synced ad account (campaigns → ad groups → ads with daily numbers),
and a rule action waiting for approval: the dashboard's tests and bench.web start from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.clock import FixedClock
from core.users import SignUp, register_user
from storage.models import (
    AdAccount,
    AdObject,
    Creative,
    DataExport,
    Launch,
    LaunchItem,
    MetricDaily,
    Rule,
    RuleAction,
    TikTokConnection,
)
from storage.models import Template as TemplateRow
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    """Ids of what was made, for the requests of a test."""

    user_id: int
    account_id: int
    campaign: str
    adgroup: str
    ad: str
    action_id: int
    rule_id: int = 0
    template_id: int = 0
    creative_id: int = 0
    launch_id: int = 0  # a launch waiting for approval (one campaign item)
    export_id: int = 0  # an export asked for on the web page, built (its file not written)


def spend_of(n: int, day: int) -> Decimal:
    """An ad's spend on a day: cents that do not add up to round numbers in float."""
    return Decimal(f"{1 + (n * 7 + day * 3) % 50}.{(n * 13 + day) % 100:02d}")


async def seed(uow: UnitOfWorkFactory, uid: int, ads: int = 6, days: int = 30,
               per_group: int = 3, groups_per_campaign: int = 2,
               now: datetime = NOW) -> Seeded:
    """One user, one tracked USD account synced at `now`, `ads` ads over the last `days` days
    (ads, ad groups, campaigns and the advertiser each with their own daily rows)."""
    await register_user(uow, FixedClock(now), SignUp(uid, "Ann", None, None, "en",
                                                     "Europe/Berlin", None, False))
    async with uow() as u:
        cred = await u.credentials.add(uid, "tiktok_token", f"token-{uid}")
        conn = TikTokConnection(user_id=uid, credential_id=cred.id, display_name="Glowly")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id=f"adv{uid}", name=f"Glowly {uid}",
                        currency="USD", time_zone="UTC", tracked=True, fresh_as_of=now)
        u.session.add(acc)
        await u.session.flush()
        sums: dict[tuple[str, str, int], Decimal] = {}
        first = {}
        for n in range(ads):
            g = n // per_group
            c = g // groups_per_campaign
            cid, gid, aid = f"c{uid}_{c}", f"g{uid}_{g}", f"a{uid}_{n}"
            first.setdefault("campaign", cid)
            first.setdefault("adgroup", gid)
            first.setdefault("ad", aid)
            if n % per_group == 0:
                if g % groups_per_campaign == 0:
                    u.session.add(AdObject(ad_account_id=acc.id, level="campaign", object_id=cid,
                                           name=f"Campaign {c}", operation_status="ENABLE"))
                u.session.add(AdObject(ad_account_id=acc.id, level="adgroup", object_id=gid,
                                       campaign_id=cid, name=f"Group {g}",
                                       operation_status="ENABLE"))
            u.session.add(AdObject(ad_account_id=acc.id, level="ad", object_id=aid,
                                   campaign_id=cid, adgroup_id=gid, name=f"Ad {n}",
                                   operation_status="ENABLE"))
            for d in range(days):
                spend = spend_of(n, d)
                u.session.add(MetricDaily(
                    ad_account_id=acc.id, level="ad", object_id=aid,
                    day=(now - timedelta(days=d + 1)).date(), spend=spend, impressions=1000 + d,
                    clicks=10 + n % 7, conversions=n % 3, purchase_value=Decimal(0)))
                for level, oid in (("adgroup", gid), ("campaign", cid),
                                   ("advertiser", acc.advertiser_id)):
                    key = (level, oid, d)
                    sums[key] = sums.get(key, Decimal(0)) + spend
        for (level, oid, d), spend in sums.items():
            u.session.add(MetricDaily(
                ad_account_id=acc.id, level=level, object_id=oid,
                day=(now - timedelta(days=d + 1)).date(), spend=spend, impressions=0, clicks=0,
                conversions=0, purchase_value=Decimal(0)))
        rule = Rule(user_id=uid, name="Stop losers", text="ad: spend > 10 -> pause",
                    level="ad", enabled=True)
        u.session.add(rule)
        await u.session.flush()
        action = RuleAction(key=f"seed:{uid}", rule_id=rule.id, user_id=uid,
                            ad_account_id=acc.id, level="ad", object_id=first["ad"],
                            object_name="Ad 0", kind="pause", state="proposed", params={},
                            trigger={}, before={}, after={}, created_at=now,
                            expires_at=now + timedelta(hours=12))
        u.session.add(action)
        template = TemplateRow(user_id=uid, name="Glow traffic", document=_template_doc())
        creative = Creative(user_id=uid, kind="image", name="look0", md5="0" * 32)
        u.session.add_all([template, creative])
        await u.session.flush()
        launch = Launch(user_id=uid, template_id=template.id, template_name=template.name,
                        document=template.document, params={}, state="proposed",
                        expires_at=now + timedelta(minutes=30), created_at=now)
        u.session.add(launch)
        await u.session.flush()
        u.session.add(LaunchItem(launch_id=launch.id, seq=0, level="campaign",
                                 ad_account_id=acc.id, name="Glowly · plan", request_id=f"r{uid}"))
        done = DataExport(user_id=uid, state="sent", requested_at=now, finished_at=now,
                          progress_message_id=0, expires_at=now + timedelta(hours=24))
        u.session.add(done)
        await u.commit()
        return Seeded(uid, acc.id, first["campaign"], first["adgroup"], first["ad"], action.id,
                      rule.id, template.id, creative.id, launch.id, done.id)


def _template_doc() -> dict[str, object]:
    """A one-geo traffic template (tests/e2e/test_launch.py's shape)."""
    from core.templates.document import to_document
    from core.templates.model import AdGroupSpec, AdSpec, CampaignSpec, Naming, Template

    return to_document(Template(
        name="Glow traffic", campaign=CampaignSpec(objective_type="TRAFFIC"),
        adgroups=(AdGroupSpec(geo="US", location_ids=("6252001",), optimization_goal="CLICK",
                              billing_event="CPC", budget=Decimal(50)),),
        ad=AdSpec(texts=("Glow all day",), identity_name="Glowly Brand",
                  landing_url="https://shop.example/glow"),
        naming=Naming(campaign="{account} · {date}", adgroup="{geo}", ad="{creative} #{n}"),
    ))
