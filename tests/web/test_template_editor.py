"""The template editor on the dashboard: the chat builder's checks, each error next to its
field (the typed value kept), a template made and edited, another's refused."""

from __future__ import annotations

import re
from decimal import Decimal

from core.templates import service
from tests.web.conftest import Dash, csrf_of


def errors_of(page: str) -> dict[str, list[str]]:
    """Error text per form field."""
    out: dict[str, list[str]] = {}
    for name, text in re.findall(r'data-error-for="([^"]+)">([^<]*(?:<[^/][^>]*>[^<]*</[^>]+>'
                                 r'[^<]*)*)</p>', page):
        out.setdefault(name, []).append(text)
    return out


async def test_new_template_errors_next_to_fields_then_saved_and_edited(dash: Dash) -> None:
    me = dash.mine.user_id
    client = await dash.client(me)
    assert 'id="template-form"' in await (await client.get("/app/templates/new")).text()
    csrf = await csrf_of(client)

    # Nothing filled in: the whole-template check names each missing field beside it.
    resp = await client.post("/app/templates/save", data={"_csrf": csrf, "f.name": ""})
    page = await resp.text()
    assert resp.status == 422
    errors = errors_of(page)
    assert {"f.name", "f.txt", "f.url", "f.idn"} <= errors.keys()
    assert "required" in errors["f.name"][0]
    assert "note-error" in page  # no ad group yet: said for the template as a whole

    # A geo without location ids: refused at the new ad group's fields, the typed label kept.
    resp = await client.post("/app/templates/save", data={
        "_csrf": csrf, "f.name": "Spring", "f.txt": "Glow all day", "f.idn": "Glowly Brand",
        "f.url": "https://shop.example/spring", "new.geo": "US", "new.loc": ""})
    page = await resp.text()
    assert resp.status == 422 and "new.loc" in errors_of(page)
    assert 'name="new.geo" id="new.geo" maxlength="64" value="US"' in page

    resp = await client.post("/app/templates/save", allow_redirects=False, data={
        "_csrf": csrf, "f.name": "Spring", "f.obj": "TRAFFIC", "f.txt": "Glow all day\nShine",
        "f.idn": "Glowly Brand", "f.url": "https://shop.example/spring", "new.geo": "US",
        "new.loc": "6252001"})
    assert resp.status == 303, await resp.text()
    template_id = int(resp.headers["Location"].split("/")[-1].split("?")[0])
    row = await service.get(dash.uow, me, template_id)
    assert row is not None
    saved = service.load(row)
    assert saved.campaign.objective_type == "TRAFFIC" and saved.ad.texts == ("Glow all day",
                                                                             "Shine")
    assert [g.geo for g in saved.adgroups] == ["US"]
    assert saved.adgroups[0].optimization_goal in ("CLICK", "TRAFFIC_LANDING_PAGE_VIEW")

    # Edit: a budget that is not a number stays out, said beside it, the typed text kept.
    page = await (await client.get(f"/app/templates/{template_id}")).text()
    assert 'name="g0.gb"' in page and 'value="Spring"' in page
    resp = await client.post("/app/templates/save", data={
        "_csrf": csrf, "template_id": str(template_id), "g0.gb": "lots"})
    page = await resp.text()
    assert resp.status == 422 and "g0.gb" in errors_of(page) and 'value="lots"' in page
    resp = await client.post("/app/templates/save", allow_redirects=False, data={
        "_csrf": csrf, "template_id": str(template_id), "g0.gb": "75.50", "f.name": "Spring",
        "new.geo": "DE", "new.loc": "2921044"})
    assert resp.status == 303
    edited = service.load(await service.get(dash.uow, me, template_id))  # type: ignore[arg-type]
    assert edited.adgroups[0].budget == Decimal("75.50")
    assert [g.geo for g in edited.adgroups] == ["US", "DE"]
    # Its name taken by another of mine: said, nothing saved.
    resp = await client.post("/app/templates/save", data={
        "_csrf": csrf, "template_id": str(template_id), "f.name": "Glow traffic"})
    assert resp.status == 409 and "already have a template named" in await resp.text()
    # A Russian reader gets the chat's words.
    from core.users import set_language

    await set_language(dash.uow, dash.clock, me, "ru")
    resp = await client.post("/app/templates/save", data={
        "_csrf": csrf, "template_id": str(template_id), "g0.gb": "много"})
    page = await resp.text()
    assert resp.status == 422 and 'lang="ru"' in page
    assert "g0.gb" in errors_of(page) and "бюджет" in page


async def test_audience_picks_are_shown_and_kept_by_a_web_save(dash: Dash) -> None:
    """Picks made in the chat (per ad account) are summarised on the ad group's card and a
    save from the page, which never posts them, keeps them."""
    from dataclasses import replace

    from core.templates import draft
    from tests.e2e.test_templates import built

    me = dash.mine.user_id
    t = draft.pick_audience(replace(built(), name="Picked"), 0, "7001", "123", "i")
    t = draft.pick_audience(t, 0, "7001", "456", "x")
    row = await service.save(dash.uow, me, t)
    client = await dash.client(me)
    page = await (await client.get(f"/app/templates/{row.id}")).text()
    assert 'data-audiences="0"' in page and "1 included · 1 excluded" in page
    csrf = await csrf_of(client)
    resp = await client.post("/app/templates/save", allow_redirects=False, data={
        "_csrf": csrf, "template_id": str(row.id), "g0.gb": "80"})
    assert resp.status == 303, await resp.text()
    kept = service.load(await service.get(dash.uow, me, row.id))  # type: ignore[arg-type]
    assert kept.adgroups[0].budget == Decimal(80)
    assert kept.adgroups[0].audiences_for("7001") == (("123",), ("456",))


class _Listing:
    """A TikTok transport that lists one audience for any ad account (dmp/custom_audience)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def call(self, method: str, path: str, **_: object) -> object:
        from types import SimpleNamespace

        self.calls.append(path)
        assert path == "dmp/custom_audience/list/"
        return SimpleNamespace(data={"list": [{"audience_id": "111", "name": "Fans <vip>",
                                               "cover_num": 5000, "is_valid": True}],
                                     "page_info": {"total_page": 1}})


async def test_audiences_switched_on_offer_a_select_per_audience_and_save_picks(
        dash: Dash) -> None:
    """With audiences on, each tracked ad account's audiences (read live) get a select per ad
    group; Include saves a pick for that account; a forged audience id is ignored."""
    from dataclasses import replace
    from types import SimpleNamespace

    from core.features import set_feature
    from tests.e2e.test_templates import built
    from web.security import DEPS_KEY

    me = dash.mine.user_id
    row = await service.save(dash.uow, me, replace(built(), name="Selects"))
    await set_feature(dash.uow, dash.clock, me, "audiences", True)
    [dashboard] = [r.get_info()["app"] for r in dash.server.app.router.resources()
                   if "app" in r.get_info()]
    deps = dashboard[DEPS_KEY]
    before = deps.tiktok
    listing = _Listing()
    object.__setattr__(deps, "tiktok", SimpleNamespace(transport=listing))
    try:
        client = await dash.client(me)
        page = await (await client.get(f"/app/templates/{row.id}")).text()
        async with dash.uow() as u:
            [account] = await u.connections.accounts(me, tracked_only=True)
        name = f"g0.aud.{account.id}.111"
        assert f'name="{name}"' in page and "Fans &lt;vip&gt;" in page
        csrf = await csrf_of(client)
        resp = await client.post("/app/templates/save", allow_redirects=False, data={
            "_csrf": csrf, "template_id": str(row.id), name: "i",
            f"g0.aud.{account.id}.222": "x", f"g0.aud.{account.id + 99}.111": "x"})
        assert resp.status == 303, await resp.text()
    finally:
        object.__setattr__(deps, "tiktok", before)
    kept = service.load(await service.get(dash.uow, me, row.id))  # type: ignore[arg-type]
    assert kept.adgroups[0].audiences_for(account.advertiser_id) == (("111",), ())
    assert [p.advertiser_id for p in kept.adgroups[0].account_audiences] == [
        account.advertiser_id]


async def test_an_id_too_big_for_the_database_is_not_found_not_a_server_error(
        dash: Dash) -> None:
    """An id past any the database holds (a mistyped or forged URL) is a 404, as another's
    id is, on every page that takes one; not a 500 from the database refusing the number."""
    client = await dash.client(dash.mine.user_id)
    big = "99999999999999999999999"
    for url in (f"/app/templates/{big}", f"/app/launches/{big}",
                f"/app/launches/{big}/progress.json", f"/app/rules/{big}",
                f"/app/rules/{big}/preview", f"/app/rules/{big}/backtest",
                f"/app/privacy/export/{big}"):
        assert (await client.get(url)).status == 404, url
    for url in (f"/app/launches/{big}/approve", f"/app/rules/{big}/on",
                f"/app/approvals/{big}/approve", f"/app/manage/{big}/cancel"):
        resp = await client.post(url, data={"_csrf": await csrf_of(client)},
                                 allow_redirects=False)
        assert resp.status == 404, url
