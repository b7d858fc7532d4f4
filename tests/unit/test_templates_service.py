"""Template use-cases on a real database (SQLite and PostgreSQL) and the builder's field edits."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import LaunchCb
from bot.i18n import make_i18n
from bot.views import Screen
from bot.views import launch as launch_view
from core.clock import FixedClock
from core.creatives import add_creative
from core.launch import service as launch_service
from core.templates import draft, service
from core.templates.document import from_document, to_document
from core.templates.model import Template
from core.templates.validate import TEMPLATE_NAME_MAX, Problem, validate
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.uow import UnitOfWorkFactory
from tests.media import image
from tests.unit.test_templates import make_template

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ANN, BOB = 501, 502


@pytest.fixture
async def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(session_factory(engine), None)
    for user_id, name in ((ANN, "Ann"), (BOB, "Bob")):
        await register_user(
            factory, FixedClock(NOW), SignUp(user_id, name, None, None, "en", "UTC", None, False)
        )
    return factory


def named(name: str) -> Template:
    return replace(make_template(), name=name)


def codes(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in problems}


# ---- the service ----------------------------------------------------------------------------


async def test_save_get_list_and_owner_checks(uow: UnitOfWorkFactory) -> None:
    saved = await service.save(uow, ANN, named("  Glowly  "))
    assert saved.name == "Glowly"  # trimmed, as the builder trims typed names
    row = await service.get(uow, ANN, saved.id)
    assert row is not None and service.load(row) == named("Glowly")
    assert row.document == to_document(named("Glowly"))
    # Another user's id finds nothing, and cannot be overwritten or removed.
    assert await service.get(uow, BOB, saved.id) is None
    with pytest.raises(service.TemplateNotFound):
        await service.save(uow, BOB, named("Mine now"), saved.id)
    with pytest.raises(service.TemplateNotFound):
        await service.delete(uow, BOB, saved.id)
    with pytest.raises(service.TemplateNotFound):
        await service.export_json(uow, BOB, saved.id)
    with pytest.raises(service.TemplateNotFound):
        await service.duplicate(uow, BOB, saved.id)
    assert (await service.listing(uow, BOB)).total == 0


async def test_listing_is_by_name_and_paged(uow: UnitOfWorkFactory) -> None:
    for name in ("delta", "Alpha", "charlie", "Bravo", "echo"):
        await service.save(uow, ANN, named(name))
    first = await service.listing(uow, ANN, 0, per_page=2)
    assert [r.name for r in first.items] == ["Alpha", "Bravo"]
    assert (first.total, first.page, first.pages) == (5, 0, 3)
    last = await service.listing(uow, ANN, 9, per_page=2)  # clamped to the last page
    assert [r.name for r in last.items] == ["echo"] and last.page == 2


async def test_invalid_template_is_refused_with_its_problems(uow: UnitOfWorkFactory) -> None:
    bad = replace(named("Bad"), campaign=replace(make_template().campaign, budget=Decimal(0)))
    with pytest.raises(service.TemplateInvalid) as info:
        await service.save(uow, ANN, bad)
    assert ("campaign.budget", "not_positive") in codes(info.value.problems)
    assert (await service.listing(uow, ANN)).total == 0


async def test_names_are_unique_per_user(uow: UnitOfWorkFactory) -> None:
    first = await service.save(uow, ANN, named("Same"))
    with pytest.raises(service.TemplateNameTaken) as info:
        await service.save(uow, ANN, named("Same"))
    assert info.value.name == "Same"
    other = await service.save(uow, ANN, named("Other"))
    with pytest.raises(service.TemplateNameTaken):
        await service.save(uow, ANN, named("Same"), other.id)  # renaming onto another
    # Saving a template under its own name is an update; another user may use the name.
    edited = replace(named("Same"), ad=replace(make_template().ad, texts=("New text",)))
    again = await service.save(uow, ANN, edited, first.id)
    assert again.id == first.id
    stored = await service.get(uow, ANN, first.id)
    assert stored is not None and service.load(stored).ad.texts == ("New text",)
    assert (await service.save(uow, BOB, named("Same"))).user_id == BOB


async def test_duplicate_counts_copies(uow: UnitOfWorkFactory) -> None:
    row = await service.save(uow, ANN, named("Glowly"))
    one = await service.duplicate(uow, ANN, row.id)
    two = await service.duplicate(uow, ANN, row.id)
    three = await service.duplicate(uow, ANN, one.id)  # a copy of a copy counts on
    assert [one.name, two.name, three.name] == [
        "Glowly (copy)",
        "Glowly (copy 2)",
        "Glowly (copy 3)",
    ]
    copy = await service.get(uow, ANN, one.id)
    assert copy is not None and service.load(copy) == named("Glowly (copy)")


def test_copy_names_fit_the_name_limit() -> None:
    long = "x" * TEMPLATE_NAME_MAX
    first = service.copy_name(long, {long})
    assert len(first) == TEMPLATE_NAME_MAX and first.endswith(" (copy)")
    second = service.copy_name(long, {long, first})
    assert len(second) == TEMPLATE_NAME_MAX and second.endswith(" (copy 2)")
    assert service.copy_name("(copy)", {"(copy)"}) == "(copy) (copy)"


async def test_delete(uow: UnitOfWorkFactory) -> None:
    row = await service.save(uow, ANN, named("Gone soon"))
    await service.delete(uow, ANN, row.id)
    assert await service.get(uow, ANN, row.id) is None
    with pytest.raises(service.TemplateNotFound):
        await service.delete(uow, ANN, row.id)


async def test_limit_on_the_number_of_templates(
    uow: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_TEMPLATES", 2)
    await service.save(uow, ANN, named("one"))
    row = await service.save(uow, ANN, named("two"))
    with pytest.raises(service.TooManyTemplates):
        await service.save(uow, ANN, named("three"))
    await service.save(uow, ANN, named("two renamed"), row.id)  # editing is not adding


async def test_export_is_the_pretty_utf8_versioned_document(uow: UnitOfWorkFactory) -> None:
    template = replace(named("Сияние — RU"), ad=replace(make_template().ad, texts=("Привет",)))
    row = await service.save(uow, ANN, template)
    data = await service.export_json(uow, ANN, row.id)
    assert json.loads(data.decode("utf-8")) == to_document(template)
    text = data.decode("utf-8")
    assert "Сияние" in text and '\n  "version": 1,' in text  # readable, not \u-escaped
    assert '"budget": "100"' in text  # amounts as strings
    assert service.export_file_name(row.name) == "template-Сияние-RU.json"
    assert service.export_file_name("../../etc/passwd") == "template-etc-passwd.json"
    assert service.export_file_name("🙂") == "template-template.json"


async def test_import_round_trip_and_name_clash(uow: UnitOfWorkFactory) -> None:
    row = await service.save(uow, ANN, named("Glowly"))
    data = await service.export_json(uow, ANN, row.id)
    imported = await service.import_json(uow, ANN, data)
    assert imported.name == "Glowly (copy)" and imported.id != row.id
    stored = await service.get(uow, ANN, imported.id)
    assert stored is not None and service.load(stored) == named("Glowly (copy)")
    # Another user has no clash; a byte-order mark (Windows editors) is fine.
    theirs = await service.import_json(uow, BOB, b"\xef\xbb\xbf" + data)
    assert theirs.name == "Glowly" and theirs.user_id == BOB


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"x" * (service.IMPORT_MAX_BYTES + 1), "too_big"),
        (b"not json at all", "not_json"),
        (b"\xff\xfe{}", "not_json"),
        (b"[" * 100_000 + b"]" * 100_000, "not_json"),
        (b"", "not_json"),
    ],
)
async def test_import_refuses_what_is_not_a_json_document(
    uow: UnitOfWorkFactory, data: bytes, reason: str
) -> None:
    with pytest.raises(service.ImportRejected) as info:
        await service.import_json(uow, ANN, data)
    assert info.value.reason == reason and info.value.problems == []
    assert (await service.listing(uow, ANN)).total == 0


async def test_import_lists_every_problem_with_its_path(uow: UnitOfWorkFactory) -> None:
    doc = to_document(named("Broken"))
    doc["adgroups"][1]["budget"] = 40  # a JSON number: money must be a string
    doc["adgroups"][0]["location_ids"] = ["6252001", "USA"]
    doc["ad"]["colour"] = "red"
    with pytest.raises(service.ImportRejected) as info:
        await service.import_json(uow, ANN, json.dumps(doc).encode())
    assert info.value.reason == "invalid"
    assert codes(info.value.problems) == {
        ("adgroups[1].budget", "wrong_type"),
        ("ad.colour", "unknown_key"),
    }
    doc = to_document(named("Broken"))
    doc["adgroups"][0]["location_ids"] = ["6252001", "USA"]
    doc["ad"]["landing_url"] = "shop"
    with pytest.raises(service.ImportRejected) as info:
        await service.import_json(uow, ANN, json.dumps(doc).encode())
    assert codes(info.value.problems) == {
        ("adgroups[0].location_ids[1]", "invalid"),
        ("ad.landing_url", "url_invalid"),
    }
    with pytest.raises(service.ImportRejected) as info:
        await service.import_json(uow, ANN, b"[1, 2]")
    assert codes(info.value.problems) == {("", "wrong_type")}
    assert (await service.listing(uow, ANN)).total == 0


async def test_a_stored_template_a_newer_rule_rejects_still_opens(
    uow: UnitOfWorkFactory,
) -> None:
    row = await service.save(uow, ANN, named("Old"))
    async with uow() as u:
        stored = await u.templates.get(ANN, row.id)
        assert stored is not None
        doc = dict(stored.document)
        doc["ad"] = {**doc["ad"], "landing_url": "no longer valid"}
        stored.document = doc
        await u.commit()
    reopened = await service.get(uow, ANN, row.id)
    assert reopened is not None
    assert service.load(reopened).ad.landing_url == "no longer valid"


# ---- the builder's field edits --------------------------------------------------------------


def built() -> Template:
    """What the guided builder makes from a blank draft."""
    t = draft.blank()
    t = draft.type_in(t, "name", 0, " Glowly ").template
    t = draft.choose(t, "cbm", 0, "BUDGET_MODE_DAY")
    t = draft.type_in(t, "cb", 0, "100").template
    t = draft.add_geo(t, "US", ("6252001",)).template
    t = draft.type_in(t, "txt", 0, "Glow in 7 days\n\n  Try it  ").template
    t = draft.type_in(t, "url", 0, "https://trk.example.com/c?cid=__CID__").template
    return draft.type_in(t, "idn", 0, "Glowly").template


def test_a_blank_draft_becomes_a_valid_template() -> None:
    assert codes(draft.problems_at(draft.blank(), "name")) == {("name", "required")}
    t = built()
    assert t.name == "Glowly" and t.ad.texts == ("Glow in 7 days", "Try it")
    assert t.adgroups[0].optimization_event == draft.DEFAULT_EVENT  # a conversion goal needs it
    assert validate(t) == []


def test_objective_keeps_goals_and_billing_consistent() -> None:
    t = draft.choose(built(), "obj", 0, "TRAFFIC")
    g = t.adgroups[0]
    assert (g.optimization_goal, g.billing_event, g.optimization_event) == ("CLICK", "CPC", None)
    assert draft.choices(t, "goal", 0) == ("CLICK", "TRAFFIC_LANDING_PAGE_VIEW")
    t = draft.choose(t, "goal", 0, "TRAFFIC_LANDING_PAGE_VIEW")
    assert t.adgroups[0].billing_event == "OCPM"
    with pytest.raises(draft.UnknownField):
        draft.choose(t, "goal", 0, "CONVERT")  # not offered for traffic
    assert validate(t) == []


def test_typed_amounts_are_checked_with_the_same_rules() -> None:
    t = built()
    assert draft.type_in(t, "gb", 0, "1 250,50").template.adgroups[0].budget == Decimal("1250.50")
    for text, code in (
        ("fifty", "amount_invalid"),
        ("1,000", "amount_invalid"),  # a thousand, or one? Neither is guessed
        ("0", "not_positive"),
        ("120.345", "too_many_decimals"),
    ):
        typed = draft.type_in(t, "gb", 0, text)
        assert codes(typed.problems) == {("adgroups[0].budget", code)}, text
        assert typed.template == t  # nothing changed
    # 5 is under TikTok's USD minimum but maybe not in a EUR or JPY account: pre-flight's call.
    typed = draft.type_in(t, "gb", 0, "5")
    assert typed.problems == [] and typed.template.adgroups[0].budget == Decimal(5)
    t = draft.choose(t, "bt", 0, "BID_TYPE_CUSTOM")
    assert codes(draft.problems_at(t, "adgroups[0].bid")) == {("adgroups[0].bid", "bid_required")}
    typed = draft.type_in(t, "bid", 0, "60")
    assert codes(typed.problems) == {("adgroups[0].bid", "bid_not_below_budget")}
    t = draft.type_in(t, "bid", 0, "12.5").template
    assert t.adgroups[0].bid == Decimal("12.5")
    assert draft.choose(t, "bt", 0, "BID_TYPE_NO_BID").adgroups[0].bid is None


def test_typed_lists_and_texts() -> None:
    t = built()
    typed = draft.type_in(t, "loc", 0, "6252001, USA 6252001")
    assert codes(typed.problems) == {("adgroups[0].location_ids[1]", "invalid")}
    t = draft.type_in(t, "loc", 0, "6252001\n6251999;6252001").template
    assert t.adgroups[0].location_ids == ("6252001", "6251999")
    t = draft.type_in(t, "lang", 0, "EN, pt-BR").template
    assert t.adgroups[0].languages == ("en", "pt-BR")
    assert draft.type_in(t, "lang", 0, "-").template.adgroups[0].languages == ()
    assert draft.type_in(t, "ev", 0, "on_web_order").template.adgroups[0].optimization_event == (
        "ON_WEB_ORDER"
    )
    typed = draft.type_in(t, "txt", 0, "Glow ✨")
    assert codes(typed.problems) == {("ad.texts[0]", "emoji_not_allowed")}
    typed = draft.type_in(t, "nc", 0, "{date} {creative}")
    assert codes(typed.problems) == {("naming.campaign", "macro_not_available")}
    typed = draft.type_in(t, "days", 0, "7")  # no end date with "from launch": ignored
    assert typed.template.adgroups[0].run_days is None
    typed = draft.type_in(t, "name", 0, "x" * 65)
    assert codes(typed.problems) == {("name", "too_long")}


def test_geos_ages_placements_and_schedule() -> None:
    t = built()
    assert codes(draft.add_geo(t, "us", ("6252001",)).problems) == {
        ("adgroups[1].geo", "duplicate")
    }
    t = draft.add_geo(t, "DE", ("2921044",)).template
    assert t.adgroups[1].budget == t.adgroups[0].budget  # copied from the last geo
    t = draft.tick(t, "age", 1, "AGE_35_44", True)
    t = draft.tick(t, "age", 1, "AGE_18_24", True)
    assert t.adgroups[1].age_groups == ("AGE_18_24", "AGE_35_44")  # in list order
    # A double tap sends the same wanted state twice: the second changes nothing.
    assert draft.tick(t, "age", 1, "AGE_18_24", True) == t
    once = draft.tick(t, "age", 1, "AGE_18_24", False)
    assert once.adgroups[1].age_groups == ("AGE_35_44",)
    assert draft.tick(once, "age", 1, "AGE_18_24", False) == once
    assert draft.clear(t, "age", 1).adgroups[1].age_groups == ()
    t = draft.choose(t, "pt", 1, "PLACEMENT_TYPE_NORMAL")
    assert t.adgroups[1].placements == ("PLACEMENT_TIKTOK",)
    t = draft.tick(t, "pl", 1, "PLACEMENT_PANGLE", True)
    assert draft.choose(t, "pt", 1, "PLACEMENT_TYPE_AUTOMATIC").adgroups[1].placements == ()
    t = draft.choose(t, "gbm", 1, "BUDGET_MODE_TOTAL")
    g = t.adgroups[1]
    assert (g.schedule_type, g.run_days) == ("SCHEDULE_START_END", draft.DEFAULT_RUN_DAYS)
    assert codes(draft.type_in(t, "days", 1, "0").problems) == {
        ("adgroups[1].run_days", "out_of_range")
    }
    off = draft.switch(t, "cmt", 1, True)
    assert off.adgroups[1].comments_disabled is True and draft.switch(off, "cmt", 1, True) == off
    assert validate(t) == []
    t = draft.remove_group(t, 0)
    assert [g.geo for g in t.adgroups] == ["DE"]
    with pytest.raises(draft.UnknownField):
        draft.type_in(t, "gb", 3, "50")  # a stale button's ad group


def test_audience_fields_are_typed_checked_and_kept_in_the_document() -> None:
    """Include / exclude audience ids: typed with commas, a dash clears, non-digits and an id
    both included and excluded are refused; the JSON document keeps them (issue 17)."""
    t = draft.add_geo(draft.blank(), "US", ("6252001",)).template
    t = draft.type_in(t, "aud", 0, "190001, 190002").template
    assert t.adgroups[0].audience_ids == ("190001", "190002")
    bad = draft.type_in(t, "xaud", 0, "190002")
    assert [p.code for p in bad.problems] == ["duplicate"]
    assert [p.code for p in draft.type_in(t, "xaud", 0, "abc").problems] == ["invalid"]
    t = draft.type_in(t, "xaud", 0, "190009").template
    doc = to_document(t)
    assert doc["adgroups"][0]["excluded_audience_ids"] == ["190009"]
    assert draft.type_in(t, "aud", 0, "-").template.adgroups[0].audience_ids == ()
    filled = replace(t, name="T", ad=replace(t.ad, texts=("x",), identity_name="Me",
                                             landing_url="https://a.io/?c=__CID__"))
    assert from_document(to_document(filled)).adgroups[0].audience_ids == ("190001", "190002")


async def test_every_template_and_creative_can_be_picked_for_a_launch(
    uow: UnitOfWorkFactory,
) -> None:
    """A user with 60 templates (of the 100 allowed) and 70 creatives: the launch offers each
    of them — on pages of the chat's steps 1 and 3, each keyboard within the 100 buttons
    Telegram takes — not only the first 50 by name or the newest 50."""
    for n in range(60):
        await service.save(uow, ANN, named(f"T{n:02}"))
    for n in range(70):
        await add_creative(uow, ANN, "image", f"img{n}", image(8, 8, color=(n, 1, 2)),
                           file_name=f"img{n}.png", tg_file_id=f"f{n}")
    found = await launch_service.choices(uow, ANN)
    assert len(found.templates) == 60 and len(found.creatives) == 70

    def reachable(screen: Callable[[int], Screen], action: str) -> set[int]:
        seen: set[int] = set()
        page: int | None = 0
        while page is not None:
            _, markup = screen(page)
            assert markup is not None
            buttons = [b for row in markup.inline_keyboard for b in row]
            assert len(buttons) <= 100
            presses = [LaunchCb.unpack(b.callback_data or "") for b in buttons]
            seen |= {p.id for p in presses if p.a == action and p.id}
            ahead = [p.n for p in presses if not p.id and p.n > page]
            page = ahead[0] if ahead else None
        return seen

    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        tpls = reachable(lambda p: launch_view.choose_template(found, p), "tpl")
        crs = reachable(lambda p: launch_view.choose_creatives(found, [], p), "cr")
    assert tpls == {t.id for t in found.templates}
    assert crs == {c.id for c in found.creatives}
