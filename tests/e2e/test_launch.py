# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Bulk launches end to end: the real bot process, the sandbox Telegram server and the TikTok
emulator (with its clock moved for expiry and schedules); what the chat says is checked against
what the emulator then holds."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.callbacks import LaunchCb
from core.templates.document import to_document
from core.templates.model import AdGroupSpec, AdSpec, CampaignSpec, Naming, Template
from core.tiktok import TikTokClient
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_rules import (  # noqa: F401 - fixtures used by name
    Travel,
    api,
    clock_file,
    service_env,
    tap,
    travel,
)
from tests.e2e.test_stats import connected_and_synced
from tests.media import image

IDENTITY = "Glowly Brand"
ACCOUNTS = ("Glowly US", "Glowly EU", "Glowly JP")  # USD, EUR, JPY


def template(name: str, budget: Decimal, geos: int = 1) -> dict[str, object]:
    """A traffic template; the same amount is read in each account's own currency."""
    groups = tuple(
        AdGroupSpec(
            geo=f"Geo{g + 1}",
            location_ids=("6252001",),
            optimization_goal="CLICK",
            billing_event="CPC",
            budget=budget,
        )
        for g in range(geos)
    )
    return to_document(
        Template(
            name=name,
            campaign=CampaignSpec(objective_type="TRAFFIC"),
            adgroups=groups,
            ad=AdSpec(
                texts=("Glow all day",),
                identity_name=IDENTITY,
                landing_url="https://shop.example/glow?cid=__CAMPAIGN_ID__&aid=__AID__",
            ),
            naming=Naming(campaign="{account} · {date}", adgroup="{geo}", ad="{creative} #{n}"),
        )
    )


async def import_template(user: ChatUser, doc: dict[str, object]) -> None:
    """Templates → Import → the JSON file."""
    await user.send("/templates")
    await user.expect("Templates")
    await tap(user, "📥 Import", "Import a template")
    await user.send_file("document", "template.json", json.dumps(doc).encode(), "application/json")
    await user.expect("Imported as")


async def add_images(user: ChatUser, count: int) -> None:
    """Send `count` different images to the library."""
    await user.send("/creatives")
    await user.expect("Creatives")
    for n in range(count):
        await user.send_file(
            "photo",
            f"look{n}.png",
            image(96, 96, color=(n * 7 % 256, 90, 40)),
            "image/png",
            caption=f"look{n}",
        )
        await user.expect("Added to your library")


async def identities(
    api: TikTokClient,
    tiktok: RunningEmulator,
    names: tuple[str, ...],
) -> None:
    for adv in tiktok.state.users[tiktok.state.default_login].advertiser_ids:
        if tiktok.state.advertisers[adv].name in names:
            await api.create_identity(tiktok.access_token, adv, IDENTITY)


async def prepare(
    user: ChatUser, template_name: str, accounts: tuple[str, ...], creatives: int
) -> MessageView:
    """The wizard up to the options step."""
    await user.send("/launch")
    await user.expect("Which template?")
    await tap(user, template_name, "Which ad accounts?")
    for name in accounts:
        await tap(user, f"▫️ {name}", f"✅ {name}")
    await tap(user, "Next ›", "Which creatives?")
    for n in range(creatives):
        await tap(user, f"▫️ 🖼 look{n}", f"✅ 🖼 look{n}")
    return await tap(user, "Next ›", "step 4 of 4")


def untagged(name: str) -> str:
    """A launched object's name without the tag the launch put at its end (core.launch.plan)."""
    base, sep, mark = name.rpartition(" ~")
    assert sep and len(mark) == 8 and mark.isalnum(), name
    return base


async def made(
    api: TikTokClient,
    tiktok: RunningEmulator,
    prefix: str,
) -> dict[str, list[str]]:
    """What exists on the emulator under campaigns whose name starts with one of our
    accounts' names and `prefix` (the naming pattern)."""
    out: dict[str, list[str]] = {"campaign": [], "adgroup": [], "ad": []}
    token = tiktok.access_token
    for adv in tiktok.state.users[tiktok.state.default_login].advertiser_ids:
        name = tiktok.state.advertisers[adv].name
        camps = [
            c
            for c in await api.get_campaigns(token, adv)
            if c.campaign_name.startswith(f"{name} · {prefix}")
        ]
        ids = {c.campaign_id for c in camps}
        groups = [g for g in await api.get_adgroups(token, adv) if g.campaign_id in ids]
        gids = {g.adgroup_id for g in groups}
        out["campaign"] += [c.campaign_name for c in camps]
        out["adgroup"] += [g.adgroup_name for g in groups]
        out["ad"] += [a.ad_name for a in await api.get_ads(token, adv) if a.adgroup_id in gids]
    return out


async def test_preflight_then_launch_across_three_accounts_with_approval(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
) -> None:
    user = await sandbox.user(901, language_code="en")
    await connected_and_synced(user)
    await identities(api, tiktok, (ACCOUNTS[0], ACCOUNTS[2]))  # none in Glowly EU yet
    await import_template(user, template("Cents", Decimal("3500.50")))
    await add_images(user, 2)

    # Pre-flight: yen have no cents, so the budget cannot be set in JP; EU has no identity.
    await prepare(user, "Cents", ACCOUNTS, 2)
    problems = await tap(user, "🛫 Check and plan", "Pre-flight found")
    lines = problems.text.splitlines()
    assert any("Glowly JP" in x and "adgroups[0].budget" in x and "decimals" in x for x in lines)
    assert any("Glowly EU" in x and f"No identity named «{IDENTITY}»" in x for x in lines)
    assert not any("Glowly US" in x for x in lines)
    assert (await made(api, tiktok, ""))["campaign"] == []

    # Fixed: the identity exists everywhere; a template sized for all three currencies.
    await identities(api, tiktok, ACCOUNTS[1:2])
    await import_template(user, template("Main", Decimal(3500)))
    await prepare(user, "Main", ACCOUNTS, 2)
    plan = await tap(user, "🛫 Check and plan", "please approve")
    for name in ACCOUNTS:
        assert f"{name}: 1 campaign, 1 ad group, 2 ads" in plan.text
    # Only USD minimums are known (spec §4.2): EUR and JPY get a warning, not a refusal.
    lines = plan.text.splitlines()
    assert "Not checked before the launch:" in plan.text
    for name, currency in (("Glowly EU", "EUR"), ("Glowly JP", "JPY")):
        assert any(name in x and f"minimum budgets in {currency}" in x for x in lines)
    assert not any("Glowly US" in x and "minimum" in x for x in lines)
    assert "$3,500.00" in plan.text and "€3,500.00" in plan.text and "¥3,500" in plan.text
    approve = plan.button("✅ Approve").callback_data
    assert approve is not None

    await tap(user, "✅ Approve", "Launching")
    summary = await user.wait_for(lambda m: "finished" in m.text, timeout=60)
    assert "12 of 12 created" in summary.text
    assert {b for b in summary.button_labels() if b.startswith("📈")} == {
        f"📈 {name}" for name in ACCOUNTS
    }
    objects = await made(api, tiktok, "")
    assert (len(objects["campaign"]), len(objects["adgroup"]), len(objects["ad"])) == (3, 3, 6)
    assert sorted(map(untagged, objects["ad"])) == sorted(
        f"look{n} #{n + 1}" for n in range(2) for _ in "abc"
    )

    # Approve pressed again, and by someone else: nothing more is created.
    again = await press_data_answer(user, approve, plan.message_id)
    assert "Already decided" in str(again["text"])
    intruder = await sandbox.user(902, language_code="en")
    await sign_up(intruder)
    menu = await intruder.last_bot_message()
    assert menu is not None
    said = await press_data_answer(intruder, approve, menu.message_id)
    assert "no longer valid" in str(said["text"])
    await asyncio.sleep(2)
    assert len((await made(api, tiktok, ""))["campaign"]) == 3
    summaries = [m for m in await user.bot_messages() if "finished" in m.text]
    assert len(summaries) == 1

    # History lists it with its items.
    await user.send("/launch")
    await user.expect("Which template?")
    await tap(user, "« Back", "🕘 Launch history")
    history = await tap(user, "🕘 Launch history", "Launch history")
    assert "«Main» · done · 12/12" in history.text


async def test_rejected_expired_and_scheduled_launches(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
    travel: Travel,
) -> None:
    user = await sandbox.user(903, language_code="en")
    await connected_and_synced(user)
    await identities(api, tiktok, ACCOUNTS)
    await import_template(user, template("Main", Decimal(3500)))
    await add_images(user, 1)

    # A pre-flight slower than Telegram waits for a button's answer (a slow TikTok): the press
    # is answered at once and the plan still arrives (answering after it failed: query too old).
    await prepare(user, "Main", ACCOUNTS[:2], 1)
    await sandbox.configure(callback_answer_timeout=2.0)
    tiktok.emulator.config.latency_ms = 2500  # pre-flight waits for TikTok at least this long
    try:
        await tap(user, "🛫 Check and plan", "please approve")
    finally:
        tiktok.emulator.config.latency_ms = 0
        await sandbox.configure(callback_answer_timeout=15.0)
    check = LaunchCb(a="check").pack()
    answered = [a for a in await user.callback_answers() if a["data"] == check]
    assert len(answered) == 1 and answered[0]["text"] is None
    await tap(user, "✖ Reject", "rejected: nothing was created")

    await prepare(user, "Main", ACCOUNTS[:2], 1)
    await tap(user, "🛫 Check and plan", "please approve")
    travel(timedelta(minutes=31))
    await tap(user, "✅ Approve", "expired unapproved")
    assert (await made(api, tiktok, ""))["campaign"] == []

    # A start two hours ahead in the user's time zone: nothing until the clock gets there.
    options = await prepare(user, "Main", ACCOUNTS[:2], 1)
    assert "step 4 of 4" in options.text
    await tap(user, "⏰ Start: now, once approved", "When should it start?")
    start = (travel.now() + timedelta(hours=2)).astimezone(ZoneInfo("Europe/Berlin"))
    await user.send(start.strftime("%d.%m %H:%M"))
    label = f"⏰ Start: {start.strftime('%d.%m %H:%M')}"
    await user.wait_for(lambda m: label in m.button_labels())
    await tap(user, "🛫 Check and plan", "please approve")
    await tap(user, "✅ Approve", "approved; it starts at")
    await asyncio.sleep(3)
    assert (await made(api, tiktok, ""))["campaign"] == []
    travel(timedelta(hours=2, minutes=1))
    summary = await user.wait_for(lambda m: "finished" in m.text, timeout=60)
    assert "6 of 6 created" in summary.text
    assert len((await made(api, tiktok, ""))["campaign"]) == 2


async def test_killed_mid_launch_resumes_without_duplicates(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
    travel: Travel,
) -> None:
    user = await sandbox.user(904, language_code="en")
    await connected_and_synced(user)
    await identities(api, tiktok, ACCOUNTS)
    await import_template(user, template("Big", Decimal(3500), geos=2))
    await add_images(user, 10)
    await prepare(user, "Big", ACCOUNTS, 10)
    plan = await tap(user, "🛫 Check and plan", "please approve")
    assert "Total: 69 objects" in plan.text  # 3 campaigns, 6 ad groups, 60 ads
    # TikTok's usual pace (a creation call takes a while), so the kill lands mid-launch.
    tiktok.emulator.config.latency_ms = 150
    await tap(user, "✅ Approve", "Launching")

    def halfway(m: MessageView) -> bool:
        if "Launching" not in m.text:
            return False
        done = int(m.text.rsplit(" ", 1)[-1].split("/")[0])
        return 15 <= done < 69

    await user.wait_for(halfway, timeout=60)
    assert service.proc is not None
    service.proc.send_signal(signal.SIGKILL)  # no clean shutdown: the lease is left behind
    await service.proc.wait()
    await service.start()
    travel(timedelta(minutes=3))  # the dead worker's lease lapses; a new one resumes

    summary = await user.wait_for(lambda m: "finished" in m.text, timeout=240)
    assert "69 of 69 created" in summary.text
    objects = await made(api, tiktok, "")
    assert (len(objects["campaign"]), len(objects["adgroup"]), len(objects["ad"])) == (3, 6, 60)
    # Each creative's ad once in each of the 6 ad groups: none twice, none missing.
    assert Counter(map(untagged, objects["ad"])) == {f"look{n} #{n + 1}": 6 for n in range(10)}
    assert len(set(objects["ad"])) == 60  # each with its own tag
    await asyncio.sleep(2)
    assert len([m for m in await user.bot_messages() if "finished" in m.text]) == 1


async def test_sigkill_after_tiktok_made_an_ad_but_before_the_service_heard_adopts_it(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
    travel: Travel,
) -> None:
    """TikTok's documented terms (no request_id idempotency for ads, spec §4.9): the service
    dies just after TikTok created the 3rd ad and before its answer arrived; the restarted
    service finds that ad by its name tag instead of creating it again."""
    config = tiktok.emulator.config
    assert "ad" not in config.idempotent_creates
    user = await sandbox.user(905, language_code="en")
    await connected_and_synced(user)
    await identities(api, tiktok, ACCOUNTS[:1])
    await import_template(user, template("Eight", Decimal(3500), geos=2))
    await add_images(user, 4)
    await prepare(user, "Eight", ACCOUNTS[:1], 4)
    plan = await tap(user, "🛫 Check and plan", "please approve")
    assert "Total: 11 objects" in plan.text  # 1 campaign, 2 ad groups, 8 ads
    # The 3rd ad/create is carried out, then its answer is held back (lost_reply).
    stats = tiktok.emulator.stats
    config.fault_paths = ["/open_api/v1.3/ad/create/"]
    config.fault_queue = ["ok", "ok", "lost_reply"]
    config.timeout_seconds = 120.0
    await tap(user, "✅ Approve", "Launching")
    for _ in range(1200):
        if stats.faults.get("lost_reply"):
            break
        await asyncio.sleep(0.05)
    assert stats.faults.get("lost_reply") == 1, "the 3rd ad was never created"
    assert service.proc is not None
    service.proc.send_signal(signal.SIGKILL)  # TikTok made the ad; the service never heard
    await service.proc.wait()
    assert len((await made(api, tiktok, ""))["ad"]) == 3
    creates = stats.requests["/open_api/v1.3/ad/create/"]
    assert creates == 3

    await service.start()
    travel(timedelta(minutes=3))  # the dead worker's lease lapses; a new one resumes
    summary = await user.wait_for(lambda m: "finished" in m.text, timeout=240)
    assert "11 of 11 created" in summary.text
    objects = await made(api, tiktok, "")
    assert (len(objects["campaign"]), len(objects["adgroup"]), len(objects["ad"])) == (1, 2, 8)
    assert Counter(map(untagged, objects["ad"])) == {f"look{n} #{n + 1}": 2 for n in range(4)}
    # The 3rd ad was adopted, not sent again: 8 ads, 8 ad/create calls in all.
    assert stats.requests["/open_api/v1.3/ad/create/"] == 8
    assert [e for e in service.log_events() if e.get("event") == "launch.item_adopted"]
    assert len([m for m in await user.bot_messages() if "finished" in m.text]) == 1
