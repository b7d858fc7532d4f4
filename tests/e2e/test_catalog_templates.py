"""A template targeting a catalog's product set from the chat (issue 17): with catalogs on, the
template editor's campaign offers the user's product sets; picking one makes the template
advertise it (objective product sales), saved and exported with the catalog; "No catalog" takes
it back to website ads."""

from __future__ import annotations

import json

from core.templates.document import to_document
from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok import catalogs
from sandbox.tiktok.browser import click
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, sign_up
from tests.e2e.test_accounts import open_consent
from tests.e2e.test_templates import built, tap


async def test_a_template_picks_a_catalog_product_set(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(675, first_name="Tom", language_code="en")
    await sign_up(user)
    await click(await open_consent(user), follow=True)
    await user.expect("✅ TikTok connected.")
    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    await user.expect("Optional TikTok features")
    await user.press("Turn on catalogs")
    await user.expect("Catalogs (product sets and their review status): on")

    await user.send("/templates")
    await user.expect("You have no templates yet")
    await tap(user, "📥 Import", "Send the template's JSON file")
    await user.send(json.dumps(to_document(built())))
    await user.expect("Imported as «Glowly US»")
    await tap(user, "✏️ Edit", "Editing «Glowly US»")
    await tap(user, "🎯 Campaign", "Objective: Traffic")
    sets = await tap(user, "🛍 Catalog product set", "Catalog product set")
    assert "Glowly EU launch › All products ⚠️" in sets.button_labels()
    picked = await tap(user, "Glowly Store US › Bestsellers", "Product sales (catalog)")
    assert "Catalog: " in picked.text and "product set" in picked.text
    await tap(user, "« Draft", "Editing «Glowly US»")
    saved = await tap(user, "✅ Save", "Template saved")
    assert "Product sales (catalog)" in saved.text
    await user.press("📤 Export")
    doc = await user.wait_for(lambda m: m.kind == "document")
    assert doc.file is not None
    exported = json.loads((await sandbox.download(doc.file["download_path"])).decode("utf-8"))
    bestsellers = next(s for c in _demo_catalogs(tiktok) for s in c.sets
                       if s.name == "Bestsellers")
    assert exported["catalog"]["product_set_id"] == bestsellers.product_set_id
    assert exported["campaign"]["objective_type"] == "PRODUCT_SALES"

    await tap(user, "✏️ Edit", "Editing «Glowly US»")
    await tap(user, "🎯 Campaign", "Product sales (catalog)")
    await tap(user, "🛍 Catalog product set", "Catalog product set")
    back = await tap(user, "✖️ No catalog", "Objective: Website conversions")
    assert "Catalog: " not in back.text


def _demo_catalogs(tiktok: RunningEmulator) -> list[catalogs.Catalog]:
    """The demo Business Center's catalogs as the emulator models them."""
    bc = next(b for b in tiktok.state.bcs.values() if b.name == catalogs.DEMO_BC)
    return catalogs.catalogs_in(tiktok.state, bc, 0.0)
