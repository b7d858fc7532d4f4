"""Audiences from the chat (issue 17): off, Accounts shows no Audiences button; switched on, a
customer file of emails sent in the chat becomes an audience at the emulator whose rows are
SHA-256 hashes of the normalised emails (never the emails), and once TikTok has computed it a
lookalike is made from it with one tap (a second tap makes no second one)."""

from __future__ import annotations

import hashlib

from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.browser import click
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_accounts import open_consent

EMAILS = [f"Client{i}@Shop.example " for i in range(150)]


async def test_audience_from_sent_file_arrives_hashed_and_seeds_a_lookalike(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(673, first_name="Aud", language_code="en")
    await sign_up(user)
    await click(await open_consent(user), follow=True)
    await user.expect("✅ TikTok connected.")
    await user.press("📊 Accounts")
    screen = await user.expect("Permissions:")
    assert "👥 Audiences" not in screen.button_labels()

    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    await user.expect("Optional TikTok features")
    await user.press("Turn on audiences")
    await user.expect("Audiences (custom from your customer files, lookalikes, template "
                      "targeting): on")
    await user.press("👥 Audiences")
    screen = await user.expect("Choose an ad account")
    first = next(b for b in screen.button_labels() if not b.startswith("«"))
    await user.press(first)
    await user.expect("No audiences yet")
    await user.press("➕ New audience from file")
    await user.expect("New audience")

    raw = ("email\n" + "\n".join(EMAILS) + "\nnot an email\n").encode()
    await user.send_file("document", "vip.csv", raw, mime_type="text/csv")
    done = await user.wait_for(lambda m: "created from 150 hashed emails" in m.text, timeout=30)
    assert "Audience “vip " in done.text
    [upload] = tiktok.state.audience_files.values()
    assert upload["calculate_type"] == "EMAIL_SHA256"
    assert sorted(upload["rows"]) == sorted(
        hashlib.sha256(e.strip().lower().encode()).hexdigest() for e in EMAILS)
    assert not any("@" in r or "client" in r for r in upload["rows"])
    [audience] = tiktok.state.audiences.values()
    assert audience["name"].startswith("vip ")
    # The raw file went nowhere on our side: not the database, the log or any other file.
    for path in service.log_path.parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            assert b"client0@shop.example" not in data, path

    await user.press("👥 Audiences", done.message_id)
    screen = await user.expect("computing on TikTok")
    assert not [b for b in screen.button_labels() if b.startswith("🪞")]
    tiktok.clock.advance(tiktok.emulator.config.audience_ready_seconds + 1)
    await user.press("🔄 Refresh", screen.message_id)
    screen = await user.wait_for(
        lambda m: m.message_id == screen.message_id and "ready · 105 people" in m.text)
    [make] = [b for b in screen.button_labels() if b.startswith("🪞 Make lookalike")]
    lal_data = screen.button(make).callback_data
    assert lal_data is not None

    # Another user (audiences on) replaying those buttons is refused; nothing is made.
    other = await sandbox.user(674, first_name="Eve", language_code="en")
    await sign_up(other)
    await other.send("/settings")
    await other.expect("Settings")
    await other.press("🧩 Optional features")
    seen = await other.expect("Optional TikTok features")
    await other.press("Turn on audiences")
    await other.expect("Audiences (custom")
    for data in (lal_data, lal_data.replace(":lal:", ":new:"), lal_data.replace(":lal:", ":list:")):
        answer = await press_data_answer(other, data, seen.message_id)
        assert "not among yours" in str(answer.get("text")), answer
    assert not [a for a in tiktok.state.audiences.values() if a["lookalike_spec"]]

    await user.double_tap(make, seen=screen)  # a quick double tap makes one lookalike
    await user.wait_for(lambda m: m.message_id == screen.message_id
                        and "already has a lookalike" in m.text)
    lookalikes = [a for a in tiktok.state.audiences.values() if a["lookalike_spec"]]
    assert [a["lookalike_spec"]["source_audience_id"] for a in lookalikes] == [
        audience["audience_id"]]
