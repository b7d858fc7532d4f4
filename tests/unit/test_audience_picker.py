"""The template editor's audience picker (issue 17): picks kept per ad account (include,
exclude, off; a double tap changes nothing; an emptied account dropped), old flat id lists
still loading and serving accounts without picks, the launch body taking the account's own
picks, and the picker and delete screens: names escaped, sizes and statuses shown, the mode
each button asks for, pages under Telegram's limits, in English and Russian."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.callbacks import TplEditCb
from bot.i18n import make_i18n
from bot.views import audience_picker as view
from bot.views import audiences as audiences_view
from core.audiences import TARGETING_MIN_SIZE, AccountAudiences
from core.launch.preflight import not_picked, template_audiences
from core.templates import draft
from core.templates.document import from_document, parse_document, to_document
from core.templates.model import AdGroupSpec, AdSpec, AudiencePicks, CampaignSpec, Template
from core.templates.requests import Account, adgroup_body
from core.templates.validate import validate
from core.tiktok.audiences import Audience
from storage.models import AdAccount

LONG = "9" * 19  # int64 ids as strings (spec §1.7)


@pytest.fixture(params=["en", "ru"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _template(**group: object) -> Template:
    g = AdGroupSpec(geo="US <1>", location_ids=("6252001",), optimization_goal="CLICK",
                    billing_event="CPC", budget=Decimal(50), **group)  # type: ignore[arg-type]
    return Template(name="T", campaign=CampaignSpec(objective_type="TRAFFIC"), adgroups=(g,),
                    ad=AdSpec(texts=("x",), landing_url="https://a.example/", identity_name="I"))


def _aud(aid: str, name: str, size: int = 5000, ready: bool = True,
         kind: str = "custom") -> Audience:
    return Audience(aid, name, kind, size, ready, False, "EMAIL_SHA256", None)


def _account(pk: int = 2147483647, adv: str = LONG, name: str = "Glowly <US>") -> AdAccount:
    return AdAccount(id=pk, advertiser_id=adv, name=name, currency="USD", time_zone="UTC")


def test_picks_toggle_per_account_and_a_double_tap_changes_nothing() -> None:
    t = _template()
    t = draft.pick_audience(t, 0, "A", "1", "i")
    t = draft.pick_audience(t, 0, "A", "2", "x")
    t = draft.pick_audience(t, 0, "B", "3", "i")
    assert draft.pick_audience(t, 0, "A", "1", "i") == t  # the same mode again
    g = t.adgroups[0]
    assert g.audiences_for("A") == (("1",), ("2",)) and g.audiences_for("B") == (("3",), ())
    t = draft.pick_audience(t, 0, "A", "1", "x")  # include → exclude
    assert t.adgroups[0].audiences_for("A") == ((), ("2", "1"))
    assert draft.audience_mode(t, 0, "A", "1") == "x"
    t = draft.pick_audience(draft.pick_audience(t, 0, "A", "1", "o"), 0, "A", "2", "o")
    assert [p.advertiser_id for p in t.adgroups[0].account_audiences] == ["B"]
    with pytest.raises(draft.UnknownField):
        draft.pick_audience(t, 0, "A", "1", "z")
    with pytest.raises(draft.UnknownField):
        draft.pick_audience(t, 3, "A", "1", "i")


def test_picks_survive_the_document_and_old_flat_lists_still_load() -> None:
    t = draft.pick_audience(_template(), 0, "A", LONG, "i")
    doc = to_document(t)
    assert doc["adgroups"][0]["account_audiences"] == [  # type: ignore[index]
        {"advertiser_id": "A", "include": [LONG], "exclude": []}]
    assert from_document(doc) == t
    old = to_document(_template(audience_ids=("5",), excluded_audience_ids=("6",)))
    del old["adgroups"][0]["account_audiences"]  # type: ignore[index, attr-defined]
    loaded = parse_document(old)
    assert loaded.adgroups[0].audiences_for("any") == (("5",), ("6",))
    bad = replace(t.adgroups[0], account_audiences=(
        AudiencePicks("A", ("1",), ("1", "x1")), AudiencePicks("A")))
    codes = {(p.path, p.code) for p in validate(replace(t, adgroups=(bad,)))}
    assert ("adgroups[0].account_audiences[0].exclude[0]", "duplicate") in codes
    assert ("adgroups[0].account_audiences[0].exclude[1]", "invalid") in codes
    assert ("adgroups[0].account_audiences[1].advertiser_id", "duplicate") in codes


def test_launch_uses_each_accounts_own_picks_and_flags_an_account_without() -> None:
    t = draft.pick_audience(draft.pick_audience(_template(), 0, "A", "1", "i"), 0, "A", "2", "x")
    start = datetime(2026, 12, 4, tzinfo=UTC)
    body = adgroup_body(t, 0, Account("A", "USD"), campaign_id="c1", name="g", start=start)
    assert body["audience_ids"] == ["1"] and body["excluded_audience_ids"] == ["2"]
    other = adgroup_body(t, 0, Account("B", "USD"), campaign_id="c1", name="g", start=start)
    assert "audience_ids" not in other and "excluded_audience_ids" not in other
    assert template_audiences(t, "A") == ["1", "2"] and template_audiences(t, "B") == []
    assert template_audiences(t) == ["1", "2"]
    assert not not_picked(t, _account(1, "A"))
    [issue] = not_picked(t, _account(2, "B", "Glowly EU"))
    assert (issue.code, issue.account_id, issue.params["geo"]) == (
        "audience_not_picked", 2, "US <1>")
    flat = replace(t, adgroups=(replace(t.adgroups[0], audience_ids=("9",)),))
    assert not not_picked(flat, _account(2, "B"))  # old flat ids serve an account without


def test_picker_page_shows_modes_sizes_and_asks_the_next_mode(locale: str) -> None:
    account = _account()
    found = AccountAudiences(account, (
        _aud(LONG, "VIP <buyers>", 12345),
        _aud("2", "Tiny", 40),
        _aud("3", "Computing", 0, ready=False),
        *(_aud(str(10 + i), f"A{i}") for i in range(20)),
    ))
    t = draft.pick_audience(draft.pick_audience(_template(), 0, LONG, LONG, "i"),
                            0, LONG, "2", "x")
    t = draft.pick_audience(t, 0, LONG, "77", "i")  # picked, gone at TikTok since
    text, markup = view.audience_page(t, 0, found, 0)
    assert "VIP &lt;buyers&gt;" in text and "Glowly &lt;US&gt;" in text and "US &lt;1&gt;" in text
    assert "12,345" in text or "12\xa0345" in text
    assert "77" in text and len(text) <= 4096
    assert markup is not None
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert len(buttons) < 100
    for b in buttons:
        assert b.callback_data is not None and len(b.callback_data.encode()) <= 64
    asks = {TplEditCb.unpack(b.callback_data).v.split(".")[1]:  # type: ignore[arg-type]
            TplEditCb.unpack(b.callback_data).v.split(".")[2]  # type: ignore[arg-type]
            for b in buttons if b.callback_data and b.callback_data.startswith("te:audt:")}
    assert asks == {LONG: "x", "2": "o", "3": "i", "10": "i", "11": "i", "12": "i", "13": "i",
                    "14": "i", "77": "o"}  # a page of 8 and the gone one
    assert [b.text[0] for b in buttons[:3]] == ["✅", "🚫", "▫"]
    assert "⚠️" in text and str(TARGETING_MIN_SIZE) in text.replace(",", "").replace(
        "\xa0", "")
    nxt = [b for b in buttons if b.text == "›"]
    assert nxt and TplEditCb.unpack(nxt[0].callback_data).v == f"{account.id}.1"  # type: ignore[arg-type]
    last_text, _ = view.audience_page(t, 0, found, 2)
    assert "A19" in last_text and "VIP" not in last_text


def test_account_choice_off_and_empty_screens(locale: str) -> None:
    t = draft.pick_audience(_template(), 0, "7", "1", "i")
    accounts = [_account(i, str(i), f"Acc {i}") for i in range(1, 12)]
    text, markup = view.pick_account(t, 0, accounts)
    assert "US &lt;1&gt;" in text
    assert markup is not None
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert "Acc 7 · ✅ 1 · 🚫 0" in labels and "›" in labels and "Acc 9" not in labels
    off, markup = view.feature_off(0)
    assert "Optional features" in off or "Дополнительные функции" in off
    assert markup is not None and len(markup.inline_keyboard) == 2
    empty, _ = view.audience_page(t, 0, AccountAudiences(_account(), ()))
    assert "👥" in empty


def test_delete_screens(locale: str) -> None:
    account = _account()
    found = AccountAudiences(account, tuple(_aud(str(i), f"<A{i}>") for i in range(12)))
    text, markup = audiences_view.delete_pick(found)
    assert markup is not None and len(markup.inline_keyboard) == 8 + 2
    for row in markup.inline_keyboard:
        for b in row:
            assert b.callback_data is not None and len(b.callback_data.encode()) <= 64
    text, markup = audiences_view.confirm_delete(account, _aud(LONG, "<VIP>"))
    assert "&lt;VIP&gt;" in text and markup is not None
    assert len(markup.inline_keyboard[0][0].callback_data.encode()) <= 64  # type: ignore[union-attr]
    text, _ = audiences_view.in_use([f"T{i}" for i in range(12)], account.id)
    assert "«T0»" in text and "«T11»" not in text and "2" in text
    assert audiences_view.deleted("<x>", 1, True)[0] != audiences_view.deleted("x", 1, False)[0]


def test_web_selects_apply_only_the_users_accounts_and_listed_audiences() -> None:
    from web import template_form as form

    t = _template()
    offered = {5: ("A", frozenset({"1", "2"}))}
    posted = {
        form.audience_name(0, 5, "1"): "i",
        form.audience_name(0, 5, "2"): "x",
        form.audience_name(0, 5, "3"): "i",  # not an audience of that account
        form.audience_name(0, 6, "1"): "i",  # not one of the user's accounts
        form.audience_name(4, 5, "1"): "i",  # no such ad group
        "g0.aud.5.1.extra": "x", "g0.gb": "50",
    }
    got = form.apply_audiences(t, posted, offered)
    assert got.adgroups[0].account_audiences == (AudiencePicks("A", ("1",), ("2",)),)
    assert form.apply_audiences(got, {form.audience_name(0, 5, "1"): "o",
                                      form.audience_name(0, 5, "2"): "q"}, offered
                                ).adgroups[0].account_audiences == (
        AudiencePicks("A", (), ("2",)),)
