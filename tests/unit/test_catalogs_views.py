"""Catalogs screen and comment pins in the chat (issue 17): a screen of many catalogs with long
names and many product sets stays inside Telegram's limits in both languages; a catalog with
nothing approved is flagged; a comment card offers Pin / Unpin only on a visible comment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.i18n import make_i18n
from bot.views import catalogs as view
from bot.views import comments as comments_view
from bot.views import launch as launch_view
from bot.views import template_text
from core.catalogs import CatalogSummary, UserCatalogs
from core.launch.preflight import Issue
from core.tiktok.catalogs import Catalog, ProductSet, Review, is_approved
from tests.contract.test_catalog_launch import shopping
from tests.unit.test_comments_views import _comment

LIMIT = 4096  # Telegram's message text limit (telegram-bot-platform.md)


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _summary(n: int, approved: int = 5, sets: int = 3) -> CatalogSummary:
    cat = Catalog(str(7300 + n), "<Shop> " + "x" * 300, "1", "BC " + "y" * 300, "US", "USD")
    return CatalogSummary(cat, Review(approved, 2, 1),
                          tuple(ProductSet(str(90 + i), "Set " + "z" * 300, i * 3)
                                for i in range(sets)))


def _buttons(markup: object) -> list[tuple[str, str]]:
    rows = markup.inline_keyboard  # type: ignore[attr-defined]
    return [(b.text, b.callback_data) for row in rows for b in row]


def test_many_catalogs_fit_one_message_and_page(locale: str) -> None:
    """Nine catalogs of 40 sets each: pages of four, every page under 4096 characters, names
    escaped, the extra sets counted, callback data within 64 bytes."""
    found = UserCatalogs(tuple(_summary(n, sets=40) for n in range(9)),
                         tuple("<Conn> " * 50 for _ in range(30)))
    for page in range(3):
        text, markup = view.catalog_list(found, page)
        assert len(text) < LIMIT and "&lt;Shop&gt;" in text
        assert ("32 more sets" in text) if locale == "en" else ("ещё 32 набора" in text)
        assert all(len(data.encode()) <= 64 for _t, data in _buttons(markup))
    text, markup = view.catalog_list(found, 2)
    assert "(3/3)" in text and ("‹", "ct:list:1") in _buttons(markup)


def test_counts_plurals_and_nothing_approved(locale: str) -> None:
    found = UserCatalogs((_summary(1, approved=0, sets=2),), ())
    text, _markup = view.catalog_list(found)
    if locale == "en":
        assert "✅ 0 approved · ⏳ 2 in review · ❌ 1 rejected" in text
        assert "0 products" in text and "3 products" in text
        assert "No approved product yet" in text
    else:
        assert "одобрено 0" in text and "3 товара" in text and "0 товаров" in text
    empty, _m = view.catalog_list(UserCatalogs((), ()))
    assert "Catalog Manager" in empty


def test_pin_buttons_on_visible_comments_only(locale: str) -> None:
    _text, markup = comments_view.card(_comment())
    assert ("cm:pin:7:" in [d for _t, d in _buttons(markup)])
    text, markup = comments_view.card(_comment(pinned_at=datetime(2026, 12, 1, tzinfo=UTC)))
    assert "cm:unpin:7:" in [d for _t, d in _buttons(markup)] and "📌" in text
    _text, markup = comments_view.card(_comment(status="HIDDEN"))
    assert not {"cm:pin:7:", "cm:unpin:7:"} & {d for _t, d in _buttons(markup)}
    _text, markup = comments_view.card(_comment(), pin=False)
    assert "cm:pin:7:" not in [d for _t, d in _buttons(markup)]


def test_a_shopping_template_and_its_preflight_read_in_words(locale: str) -> None:
    """The template card names the catalog and set; each catalog pre-flight issue has its own
    text with the ids, never the generic "not valid"."""
    text = template_text.summary(shopping("1", "7300000000000000001", "7310000000000000101"))
    assert "7310000000000000101" in text
    assert ("Product sales (catalog)" in text) if locale == "en" else ("каталог" in text)
    for code in ("catalogs_off", "catalog_scope_missing", "catalog_missing",
                 "product_set_missing", "product_set_unapproved"):
        line = launch_view.issue_text(
            Issue(code, 3, params={"account": "A", "catalog": "71", "set": "72"}), {3: "A"})
        assert "(" + code + ")" not in line and "{" not in line


def test_the_builder_sets_and_drops_a_catalog() -> None:
    """Picking a set makes the objective product sales with goals it offers; another
    objective picked drops the catalog; "No catalog" goes back to website conversions."""
    from dataclasses import replace

    from core.templates import draft
    from core.templates.model import CatalogTarget
    from core.templates.validate import validate

    base = shopping("1", "2", "3")
    plain = replace(base, catalog=None, campaign=replace(base.campaign, objective_type="REACH"))
    plain = draft.choose(plain, "obj", 0, "REACH")
    picked = draft.with_catalog(plain, CatalogTarget("1", "2", "3"))
    assert picked.campaign.objective_type == "PRODUCT_SALES" and validate(picked) == []
    assert picked.adgroups[0].optimization_goal in ("CONVERT", "CLICK")
    assert draft.choose(picked, "obj", 0, "TRAFFIC").catalog is None
    dropped = draft.with_catalog(picked, None)
    assert dropped.catalog is None and dropped.campaign.objective_type == "WEB_CONVERSIONS"
    assert validate(dropped) == []


def test_a_product_counts_as_approved_in_either_documented_shape() -> None:
    """catalog_product_delete.yml's top-level audit_status or the Go SDK Product's nested
    audit.audit_status (lower case): both mean a product TikTok approved."""
    assert is_approved({"audit_status": "APPROVED"})
    assert is_approved({"audit": {"audit_status": "approved"}})
    assert not is_approved({"audit": {"audit_status": "processing"}})
    assert not is_approved({"audit_status": "REJECTED", "audit": {"audit_status": "rejected"}})
    assert not is_approved({})
