# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Audiences in templates from the chat (issue 17): a user switches audiences on, makes an
audience from a sent file, picks it as Include for a template's ad group in one ad account
(a double tap leaves it included; another user's replay is refused); launching into that
account and another stops with audience_not_picked naming the other; launching into that
account alone warns of the small audience and the ad group made at the emulator targets it;
deleting the audience while the template uses it is refused, naming the template."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.tiktok import TikTokClient
from sandbox.telegram.driver import ChatUser, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_launch import add_images, identities, import_template, prepare, template
from tests.e2e.test_rules import (  # noqa: F401 - fixtures used by name
    api,
    clock_file,
    service_env,
    tap,
)
from tests.e2e.test_stats import connected_and_synced

US, EU = "Glowly US", "Glowly EU"
EMAILS = [f"fan{i}@shop.example" for i in range(40)]


async def _audiences_on(user: ChatUser) -> None:
    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    await user.expect("Optional TikTok features")
    await user.press("Turn on audiences")
    await user.expect("Audiences (custom")


@pytest.mark.allow_refusals(400)  # only "message is not modified" (the double tap): asserted
async def test_a_picked_audience_is_targeted_at_launch_and_cannot_be_deleted_while_used(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
) -> None:
    user = await sandbox.user(931, language_code="en")
    await connected_and_synced(user)
    await identities(api, tiktok, (US, EU))
    await _audiences_on(user)

    # An audience from a customer file, in Glowly US.
    await tap(user, "👥 Audiences", "Choose an ad account")
    await tap(user, US, "No audiences yet")
    await tap(user, "➕ New audience from file", "New audience")
    await user.send_file("document", "fans.csv", "\n".join(EMAILS).encode(), "text/csv")
    await user.wait_for(lambda m: "created from 40 hashed emails" in m.text, timeout=30)
    [audience] = tiktok.state.audiences.values()
    aud_id = audience["audience_id"]

    # The template's ad group picks it as Include in Glowly US.
    await import_template(user, template("Fans", Decimal(50)))
    await tap(user, "✏️ Edit", "Editing «Fans»")
    await tap(user, "🌍 Ad groups (1)", "Ad groups")
    await tap(user, "1. Geo1", "Ad group 1: Geo1")
    await tap(user, "👥 Audiences", "Choose an ad account")
    picker = await tap(user, US, "Tap an audience")
    [label] = [b for b in picker.button_labels() if b.startswith("▫️ fans ")]
    assert "computing on TikTok" in picker.text
    toggle = picker.button(label).callback_data
    assert toggle is not None and len(toggle.encode()) <= 64
    await user.double_tap(label, seen=picker)  # both presses ask for Include
    picked = await user.wait_for(lambda m: m.message_id == picker.message_id
                                 and any(b.startswith("✅ fans ") for b in m.button_labels()))
    assert not any(b.startswith("🚫") for b in picked.button_labels())

    # Someone else replaying the toggle is refused and changes nothing of ours.
    eve = await sandbox.user(932, language_code="en")
    await sign_up(eve)
    await _audiences_on(eve)
    seen = await eve.last_bot_message()
    assert seen is not None
    said = await press_data_answer(eve, toggle.replace(".i.", ".x."), seen.message_id)
    assert "no longer valid" in str(said.get("text")), said

    group = await tap(user, "« Ad group", "Ad group 1: Geo1")
    assert "Audiences picked for 1 ad account: 1 included · 0 excluded" in group.text
    await tap(user, "« Ad groups", "Ad groups")
    await tap(user, "« Draft", "Editing «Fans»")
    await tap(user, "✅ Save", "Template saved")

    # Glowly US and Glowly EU: EU has no picks, so nothing starts.
    await add_images(user, 1)
    await prepare(user, "Fans", (US, EU), 1)
    problems = await tap(user, "🛫 Check and plan", "Pre-flight found")
    lines = problems.text.splitlines()
    assert any(EU in x and "none for this account" in x for x in lines), problems.text
    assert not any(US in x for x in lines)

    # Glowly US alone: TikTok is still computing the audience (its size is not known yet), which
    # is said as a warning, not called small; then the ad group targets it.
    await prepare(user, "Fans", (US,), 1)
    plan = await tap(user, "🛫 Check and plan", "please approve")
    assert "TikTok is still computing these audiences: fans" in plan.text, plan.text
    assert "fewer than" not in plan.text
    await tap(user, "✅ Approve", "Launching")
    summary = await user.wait_for(lambda m: "finished" in m.text, timeout=60)
    assert "3 of 3 created" in summary.text
    targeting = [g.extra.get("audience_ids") for g in tiktok.state.adgroups.values()
                 if g.extra.get("audience_ids")]
    assert targeting == [[aud_id]]

    # Deleting it while the template uses it: refused, naming the template.
    await user.send("/settings")
    await user.expect("Settings")
    await tap(user, "🧩 Optional features", "Optional TikTok features")
    await tap(user, "👥 Audiences", "Choose an ad account")
    await tap(user, US, "🗑 Delete an audience")
    which = await tap(user, "🗑 Delete an audience", "Which one?")
    [fans] = [b for b in which.button_labels() if b.startswith("🗑 fans")]
    delete_data = which.button(fans).callback_data
    assert delete_data is not None
    for data in (delete_data, delete_data.replace(":delc:", ":dely:")):  # not Eve's account
        said = await press_data_answer(eve, data, seen.message_id)
        assert "not among yours" in str(said.get("text")), said
    refused = await tap(user, fans, "is not deleted")
    assert "«Fans»" in refused.text
    assert aud_id in tiktok.state.audiences
    refused = {r["description"] for r in await sandbox.refusals() if r["error_code"] == 400}
    assert all("message is not modified" in d for d in refused), refused
