"""Campaign templates end to end: the real bot process driven through the sandbox Telegram
server — build one with buttons, save, export, edit, duplicate, import back, refuse bad files
and other users' buttons."""

from __future__ import annotations

import json
from decimal import Decimal

from core.templates.document import to_document
from core.templates.model import AdGroupSpec, AdSpec, CampaignSpec, Template
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from tests.e2e.harness import ServiceProcess, press_data_answer, sign_up

URL = "https://trk.example.com/c?cid=__CID__&aid=__AID__"


async def tap(user: ChatUser, label: str, then: str) -> MessageView:
    """Press a button and wait for the screen it leads to (`then` in its text or a button)."""
    await user.press(label)
    since = user.last_action_seq
    return await user.wait_for(
        lambda m: m.seq > since and (then in m.text or any(then in b for b in m.button_labels()))
    )


async def reply(user: ChatUser, text: str, then: str) -> MessageView:
    """Type a value and wait for the bot's answer containing `then`."""
    await user.send(text)
    return await user.expect(then)


def built() -> Template:
    """What the steps of the first test build."""
    group = {"optimization_goal": "CLICK", "billing_event": "CPC", "budget": Decimal("50")}
    return Template(
        name="Glowly US",
        campaign=CampaignSpec("TRAFFIC", "BUDGET_MODE_DAY", Decimal("100")),
        adgroups=(
            AdGroupSpec(geo="US", location_ids=("6252001",), **group),  # type: ignore[arg-type]
            AdGroupSpec(
                geo="DACH",
                location_ids=("2921044", "2782113", "2658434"),
                age_groups=("AGE_25_34",),
                **group,  # type: ignore[arg-type]
            ),
        ),
        ad=AdSpec(
            texts=("Glow in 7 days", "Try it today"),
            landing_url=URL,
            identity_name="Glowly",
            call_to_action="SHOP_NOW",
        ),
    )


def template_id(screen: MessageView, label: str) -> int:
    """Our id of a template, from its button on the list."""
    data = screen.button(label).callback_data or ""
    return int(data.split(":")[2])


async def test_build_export_edit_duplicate_and_import(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(811, language_code="en")
    await sign_up(user)
    await tap(user, "🚀 Launch", "Launch campaigns in bulk")
    await tap(user, "📋 Templates", "You have no templates yet")

    # The guided builder: a step per field group, typed values checked on the spot.
    await tap(user, "➕ New template", "Send a name for the template")
    await reply(user, "Glowly US", "What is the campaign's objective?")
    await tap(user, "Traffic", "How is the campaign's budget set?")
    await tap(user, "Daily", "Send the campaign's budget")
    await reply(user, "fifty", "«fifty» is not an amount")
    # A template has no currency: minimums are checked per ad account at pre-flight.
    await reply(user, "0", "must be a number greater than zero")
    await reply(user, "100", "Which geo?")
    await tap(user, "US", "Send the budget of ad group US")
    await reply(user, "50", "Send the ad texts")
    await reply(user, "Glow in 7 days\nTry it today", "Send the landing page URL")
    bad = await reply(user, "shop", "not a web address")
    assert "Ad › landing URL" in bad.text
    await reply(user, URL, "Send the display name")
    await reply(user, "Glowly", "Which call to action")
    draft = await tap(user, "Shop now", "New template «Glowly US»")
    assert "Objective: Traffic" in draft.text and "Budget: Daily, 100.00" in draft.text
    assert "in each ad account's own currency" in draft.text

    # A second geo by typed location ids, with an age group ticked.
    await tap(user, "🌍 Ad groups (1)", "Each geo becomes one ad group")
    await tap(user, "➕ Add a geo", "Which geo?")
    await tap(user, "⌨️ Type location ids", "Send TikTok location ids")
    await reply(user, "2921044, Austria", "«Austria» is not a TikTok location id")
    await reply(user, "2921044 2782113, 2658434", "Send a short label for this geo")
    await reply(user, "us", "the same geo as ad group 1")
    await reply(user, "DACH", "Ad group 2: DACH")
    await tap(user, "🎂 Ages", "Which ages does ad group DACH target?")
    await tap(user, "▫️ 25–34", "☑️ 25–34")
    await tap(user, "✅ Done", "Audience: All genders · 25–34")
    await tap(user, "« Ad groups", "Ad groups")
    await tap(user, "« Draft", "New template «Glowly US»")
    saved = await tap(user, "✅ Save", "Template saved")
    assert "Glowly US" in saved.text and "DACH" in saved.text

    # Export: the file is the versioned document of exactly what was built.
    await user.press("📤 Export")
    doc = await user.wait_for(lambda m: m.kind == "document")
    assert doc.file is not None and doc.file["file_name"] == "template-Glowly-US.json"
    exported = await sandbox.download(doc.file["download_path"])
    assert json.loads(exported.decode("utf-8")) == to_document(built())
    assert "Glowly US" in doc.text  # the caption

    # Edit one field of the saved template.
    await tap(user, "✏️ Edit", "Editing «Glowly US»")
    await tap(user, "🎯 Campaign", "Objective: Traffic")
    await tap(user, "💵 Budget", "Send the campaign's budget")
    await reply(user, "150", "Budget: Daily, 150.00")
    await tap(user, "« Draft", "Editing «Glowly US»")
    edited = await tap(user, "✅ Save", "Template saved")
    assert "Budget: Daily, 150.00" in edited.text

    # Duplicate, then import the exported file back: both come in under copy names.
    copied = await tap(user, "📄 Duplicate", "Copied as «Glowly US (copy)»")
    assert "Budget: Daily, 150.00" in copied.text
    await tap(user, "« Templates", "Templates (2)")
    await tap(user, "📥 Import", "Send the template's JSON file")
    await user.send_file("document", "glowly.json", exported, "application/json")
    imported = await user.expect("Imported as «Glowly US (copy 2)»")
    assert "Budget: Daily, 100.00" in imported.text  # as exported, before the edit
    listing = await tap(user, "« Templates", "Templates (3)")
    names = {"Glowly US", "Glowly US (copy)", "Glowly US (copy 2)"}
    assert set(listing.button_labels()[:3]) == names


async def test_invalid_files_and_forged_buttons_are_refused(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    owner = await sandbox.user(821, language_code="en")
    await sign_up(owner)
    await owner.send("/templates")
    await owner.expect("You have no templates yet")
    await tap(owner, "📥 Import", "Send the template's JSON file")

    await owner.send_file("document", "notes.json", b"this is not json", "application/json")
    await owner.expect("This file is not a JSON document")
    await owner.send_file("document", "big.json", b" " * (300 * 1024), "application/json")
    await owner.expect("too big for a template (at most 256 KB)")

    doc = to_document(built())
    doc["adgroups"][0]["location_ids"] = ["USA"]
    doc["ad"]["landing_url"] = "shop"
    doc["campaign"]["budget"] = "100.005"
    await owner.send_file("document", "broken.json", json.dumps(doc).encode(), "application/json")
    refused = await owner.expect("This file is not a valid template. Nothing was imported.")
    assert (
        "Ad group 1 › location 1 (adgroups[0].location_ids[0]): «USA» is not a TikTok "
        "location id" in refused.text
    )
    assert "Ad › landing URL (ad.landing_url): not a web address" in refused.text
    assert "Campaign › budget (campaign.budget): at most 2 digits after the decimal point" in (
        refused.text
    )
    doc = to_document(built())
    doc["adgroups"][1]["budget"] = 50
    doc["ad"]["colour"] = "red"
    await owner.send_file("document", "broken.json", json.dumps(doc).encode(), "application/json")
    refused = await owner.expect("This file is not a valid template")
    assert "Ad group 2 › budget (adgroups[1].budget): must be an amount written as a string" in (
        refused.text
    )
    assert "Ad › colour (ad.colour): unknown key" in refused.text

    # A good file (pasted as text works too) is imported.
    await owner.send(json.dumps(to_document(built())))
    shown = await owner.expect("Imported as «Glowly US»")
    await tap(owner, "« Templates", "Templates (1)")
    listing = await owner.last_bot_message()
    assert listing is not None
    tid = template_id(listing, "Glowly US")

    # Someone else pressing (forged) buttons with the owner's template id gets nothing.
    other = await sandbox.user(822, language_code="en")
    await sign_up(other)
    menu = await other.last_bot_message()
    assert menu is not None
    for action in ("view", "exp", "edit", "dup", "dely"):
        answer = await press_data_answer(other, f"tp:{action}:{tid}:0", menu.message_id)
        assert answer["text"] == "This button is no longer valid. Send /menu to continue."
    answer = await press_data_answer(other, "te:save:::", menu.message_id)  # no draft of theirs
    assert answer["text"] == "This button is no longer valid. Send /menu to continue."
    assert not [m for m in await other.bot_messages() if m.kind == "document"]
    again = await tap(owner, "Glowly US", "Changed")
    assert again.message_id == listing.message_id and "Glowly US" in shown.text
