"""The creative library and custom identities, driven through the sandbox Telegram server."""

from __future__ import annotations

import base64
import hashlib

from sandbox.telegram.driver import ChatUser, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_accounts import follow, open_consent
from tests.media import image, mp4


def data_of(user_msg_buttons: list[list[object]], label: str) -> str:
    """The callback data of the button with this label."""
    for row in user_msg_buttons:
        for b in row:
            if getattr(b, "text", None) == label:
                return str(b.callback_data)  # type: ignore[attr-defined]
    raise AssertionError(f"no button {label!r}")


async def get_file_calls(sandbox: SandboxClient) -> int:
    return len(await sandbox.requests("getFile"))


async def test_videos_images_and_links_go_into_the_library(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(911, language_code="en")
    await sign_up(user)
    await user.send("/creatives")
    await user.expect("Your library is empty.")

    video = mp4(12.0)
    thumb = image(320, 180, "JPEG")
    await user.send_file(
        "video", "hook.mp4", video, "video/mp4", duration=12, width=720, height=1280,
        thumbnail_b64=base64.b64encode(thumb).decode(),
    )  # fmt: skip
    added = await user.expect("✅ Added to your library")
    video_md5 = hashlib.md5(video).hexdigest()
    assert "hook.mp4" in added.text and "0:12" in added.text and video_md5[:8] in added.text

    banner = image(600, 600, "PNG")
    await user.send_file("photo", "banner.png", banner, caption="Banner A")
    added = await user.expect("✅ Added to your library")
    assert "Banner A" in added.text and "600×600" in added.text
    assert hashlib.md5(banner).hexdigest()[:8] in added.text
    image_open = data_of(added.buttons, "Open")

    # The same video again (under another name): already there, not a second entry.
    await user.send_file("document", "copy.mp4", video, "video/mp4")
    same = await user.expect("already in your library")
    assert "hook.mp4" in same.text

    # A bigger file shows its progress in one message, which then says the outcome.
    clip = mp4(30.0, payload=bytes(1536 * 1024))
    await user.send_file("document", "long take.mp4", clip, "video/mp4")
    done = await user.wait_for(lambda m: "long take.mp4" in m.text and "Added" in m.text)
    assert done.edit_count >= 1 and "0:30" in done.text and "1.5 MB" in done.text

    # Over the Bot API's 20 MB download limit: said plainly, with the link way; no getFile.
    before = await get_file_calls(sandbox)
    await user.send_file(
        "video", "long.mp4", mp4(95.0), "video/mp4", duration=95, declared_size=25 * 1024 * 1024
    )
    big = await user.expect("up to 20 MB")
    assert "send me the link instead" in big.text and "25" in big.text
    assert await get_file_calls(sandbox) == before

    # A link: its address says video; one that does not say is asked about.
    await user.send("https://cdn.example.com/ads/long%20cut.mp4")
    link = await user.expect("✅ Added to your library")
    assert "long cut.mp4" in link.text and "link" in link.text
    await user.send("https://files.example.com/get?id=42")
    await user.expect("Is this link a video or an image?")
    await user.press("🖼 Image")
    asked = await user.wait_for(lambda m: "files.example.com/get" in m.text and "Added" in m.text)
    assert "🖼" in asked.text

    # The list: newest first, with size, duration or dimensions, and the checksum.
    await user.send("/creatives")
    listing = await user.expect("Creatives (5)")
    lines = listing.text.splitlines()
    video_line = next(line for line in lines if "hook.mp4" in line)
    assert "0:12" in video_line and video_md5[:8] in video_line and "kB" in video_line
    assert any("Banner A" in line and "600×600" in line for line in lines)

    # Open the video: its thumbnail as a photo, the details in the caption.
    number = video_line.split(".", 1)[0]
    await user.press(number)
    card = await user.wait_for(lambda m: m.kind == "photo" and "Checksum (MD5)" in m.text)
    assert video_md5 in card.text and "Duration: 0:12" in card.text
    assert "Dimensions: 720×1280" in card.text and "video (MP4)" in card.text

    await user.press("✏️ Rename", message_id=card.message_id)
    await user.expect("Send the new name")
    await user.send("Hook v2")
    await user.expect("Renamed to Hook v2")
    renamed = await user.wait_for(lambda m: m.kind == "photo" and "Hook v2" in m.text)
    await user.press("🗑 Delete", message_id=renamed.message_id)
    await user.wait_for(lambda m: "Delete Hook v2 from your library?" in m.text)
    await user.press("Yes, delete", message_id=renamed.message_id)
    after = await user.wait_for(lambda m: "Creatives (4)" in m.text)
    assert "Hook v2" not in after.text

    # Someone else's creative in a forged button is refused, and nothing of it is shown.
    stranger = await sandbox.user(912, language_code="en")
    await sign_up(stranger)
    await stranger.send("/creatives")
    own = await stranger.expect("Your library is empty.")
    answer = await press_data_answer(stranger, image_open, own.message_id)
    assert answer["text"] == "That creative is not in your library (or was deleted)."
    delete = image_open.replace(":open:", ":delok:")
    answer = await press_data_answer(stranger, delete, own.message_id)
    assert answer["text"] == "That creative is not in your library (or was deleted)."
    await user.send("/creatives")
    assert "Banner A" in (await user.expect("Creatives (4)")).text


async def test_a_custom_identity_is_created_from_the_chat(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(913, language_code="en")
    await sign_up(user)
    await follow(await open_consent(user))
    await user.expect("✅ TikTok connected.")
    adv = tiktok.state.advertisers[tiktok.state.users[tiktok.state.default_login].advertiser_ids[0]]

    await user.press("📊 Accounts")
    await user.expect("tracked")
    await user.press("🪪 Identities")
    await user.expect("Choose an ad account")
    await user.press(adv.name[:40])
    listing = await user.expect("Identities ·")
    existing = [i for i in tiktok.state.identities.values() if i.advertiser_id == adv.advertiser_id]
    assert all(i.display_name in listing.text for i in existing)

    await user.press("➕ New identity")
    await user.expect("Send the display name")
    await user.send("Hot 🔥 deals")
    await user.expect("without them")
    await user.send("Acme Studio")
    await user.expect("Now send the avatar")
    await user.send_file("photo", "avatar.png", image(400, 300, "PNG"))
    await user.expect("✅ Identity Acme Studio created")
    shown = await user.wait_for(lambda m: "Identities ·" in m.text and "Acme Studio" in m.text)
    assert "custom" in shown.text

    [made] = [
        i
        for i in tiktok.state.identities.values()
        if i.advertiser_id == adv.advertiser_id and i.display_name == "Acme Studio"
    ]
    assert made.identity_type == "CUSTOMIZED_USER" and made.identity_id in shown.text
    avatar = tiktok.state.images[made.profile_image]
    assert avatar.advertiser_id == adv.advertiser_id and avatar.width == avatar.height == 300

    # Another user's press on this user's account id is refused.
    stranger: ChatUser = await sandbox.user(914, language_code="en")
    await sign_up(stranger)
    await stranger.send("/menu")
    menu = await stranger.expect("main menu")
    account_list = data_of(shown.buttons, "➕ New identity").replace(":new:", ":list:")
    answer = await press_data_answer(stranger, account_list, menu.message_id)
    assert answer["text"] == "That account is not among yours (or was disconnected)."
