"""The dashboard's HTTP surface: sign-in by link and by initData, sessions, CSRF, security
headers, another user's ids refused on every route (IDOR matrix), CSV contents exact."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from core.clock import FixedClock
from core.users import SignUp, register_user
from sandbox.telegram.webapp import sign_init_data
from storage.models import Tracker, TrackerDaily
from tests.web.conftest import TOKEN, Dash, csrf_of
from tests.web.seed import NOW, spend_of
from web.security import COOKIE, NO_CSRF


async def test_sign_in_by_link_once_and_refusals(dash: Dash) -> None:
    from core import web_auth

    client = await dash.client()
    resp = await client.get("/app/")
    assert "Open the dashboard from the bot" in await resp.text()  # not signed in
    token = await web_auth.issue_link(dash.uow, dash.clock, dash.mine.user_id)
    resp = await client.get(f"/app/signin/{token}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/app/"
    cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/app/"
    assert not cookie["secure"]  # plain http (the sandbox); https gets Secure + SameSite=None
    page = await (await client.get("/app/")).text()
    assert "Glowly 501" in page and "Glowly 502" not in page
    # The same link again, from another browser: refused.
    other = await dash.client()
    resp = await other.get(f"/app/signin/{token}", allow_redirects=False)
    assert resp.status == 403 and "not valid any more" in await resp.text()
    # Sign out: the session is gone server-side too.
    csrf = await csrf_of(client)
    resp = await client.post("/app/signout", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303
    assert "Open the dashboard from the bot" in await (await client.get("/app/")).text()


async def test_sign_in_by_init_data(dash: Dash) -> None:
    client = await dash.client()
    stamp = int(NOW.timestamp())

    async def post(init_data: str) -> int:
        resp = await client.post("/app/signin/initdata", json={"init_data": init_data})
        return resp.status

    user = {"id": dash.mine.user_id, "first_name": "Ann"}
    assert await post(sign_init_data("1:another-bot", user, stamp)) == 403
    assert await post(sign_init_data(TOKEN, user, stamp - 2 * 86400)) == 403  # stale
    forged = sign_init_data(TOKEN, user, stamp).replace("501", "502")
    assert await post(forged) == 403
    stranger = {"id": 777, "first_name": "Eve"}  # valid, but never signed up in the bot
    assert await post(sign_init_data(TOKEN, stranger, stamp)) == 403
    assert "Glowly" not in await (await client.get("/app/")).text()
    assert await post(sign_init_data(TOKEN, user, stamp)) == 200
    assert "Glowly 501" in await (await client.get("/app/")).text()
    # A cross-site form cannot post it: JSON only.
    resp = await client.post("/app/signin/initdata", data={"init_data": "x"})
    assert resp.status == 415


async def test_init_data_of_another_account_ends_this_browsers_session(dash: Dash) -> None:
    """A Mini App launched by another Telegram account of the same app (static/signin.js posts
    its initData): the session there was is not kept, whether the launch signs in or not."""
    stamp = int(NOW.timestamp())
    client = await dash.client(dash.mine.user_id)
    mine = client.session.cookie_jar.filter_cookies(client.make_url("/app/"))[COOKIE].value
    other = {"id": dash.other.user_id, "first_name": "Bo"}
    resp = await client.post("/app/signin/initdata",
                             json={"init_data": sign_init_data(TOKEN, other, stamp)})
    assert resp.status == 200
    page = await (await client.get("/app/")).text()
    assert "Glowly 502" in page and "Glowly 501" not in page
    from core import web_auth

    assert await web_auth.session_user(dash.uow, dash.clock, mine) is None
    stranger = {"id": 777, "first_name": "Eve"}  # never signed up in the bot
    resp = await client.post("/app/signin/initdata",
                             json={"init_data": sign_init_data(TOKEN, stranger, stamp)})
    assert resp.status == 403
    assert "Glowly" not in await (await client.get("/app/")).text()


async def test_posts_without_the_sessions_csrf_token_are_refused(dash: Dash) -> None:
    client = await dash.client(dash.mine.user_id)
    url = f"/app/approvals/{dash.mine.action_id}/reject"
    assert (await client.post(url, allow_redirects=False)).status == 403
    assert (await client.post(url, data={"_csrf": "0" * 64}, allow_redirects=False)).status == 403
    # Another session's token does not fit this one.
    other = await dash.client(dash.mine.user_id)
    wrong = await csrf_of(other)
    assert (await client.post(url, data={"_csrf": wrong}, allow_redirects=False)).status == 403
    resp = await client.post(url, data={"_csrf": await csrf_of(client)}, allow_redirects=False)
    assert resp.status == 303 and "said=rejected" in resp.headers["Location"]
    # Pressed again (here, or the chat's button): decided once.
    resp = await client.post(url, headers={"X-CSRF-Token": await csrf_of(client)},
                             allow_redirects=False)
    assert "said=decided" in resp.headers["Location"]


async def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(dash: Dash) -> None:
    client = await dash.client(dash.mine.user_id)
    other = await dash.client(dash.mine.user_id)
    wrong = await csrf_of(other)  # a real token, of another session
    mine = dash.mine
    posts = set()
    for mounted in dash.server.app.router.resources():
        sub = mounted.get_info().get("app")
        for resource in sub.router.resources() if sub is not None else []:
            if any(r.method == "POST" for r in resource):
                posts.add(resource.canonical)
    assert {"/app/rules/save", "/app/rules/check", "/app/manage/propose",
            "/app/rules/{rule_id}/{switch}"} <= posts
    # The JSON-only routes a visitor without a session may post to (initData and the Login
    # Widget's data carry their own proof; the cookie choice is the visitor's own): a
    # cross-site form cannot reach them — it can only send form encodings.
    assert set(NO_CSRF) <= posts
    for path in NO_CSRF:
        for enc in ({"data": {"x": "1"}}, {"data": "x", "headers": {"Content-Type": "text/plain"}}):
            resp = await client.post(path, allow_redirects=False, **enc)  # type: ignore[arg-type]
            assert resp.status == 415, path
    for path in sorted(posts - set(NO_CSRF)):
        url = (path.replace("{rule_id}", str(mine.rule_id)).replace("{switch}", "off")
               .replace("{action_id}", str(mine.action_id)).replace("{decision}", "reject")
               .replace("{launch_id}", str(mine.launch_id)))
        form = {"account": str(mine.account_id), "level": "ad", "op": f"pause:{mine.ad}",
                "text": "ad: spend > 1 -> pause"}
        for token in (None, wrong):
            data = form if token is None else {**form, "_csrf": token}
            resp = await client.post(url, data=data, allow_redirects=False)
            assert resp.status == 403, (url, token)
        resp = await client.post(url, json={"text": "ad: spend > 1 -> pause"},
                                 headers={"X-CSRF-Token": wrong}, allow_redirects=False)
        assert resp.status == 403, url
    # Nothing happened: the rule is still on, the approval still waits, no rule was added.
    async with dash.uow() as u:
        rules = await u.rules.of_user(mine.user_id)
    assert [(r.id, r.enabled) for r in rules] == [(mine.rule_id, True)]
    assert f'data-action="{mine.action_id}"' in await (await client.get("/app/approvals")).text()
    async with dash.uow() as u:
        launch = await u.launches.get(mine.user_id, mine.launch_id)
        user = await u.users.get(mine.user_id)
    assert launch is not None and launch.state == "proposed"
    async with dash.uow() as u:
        template = await u.templates.get(mine.user_id, mine.template_id)
    assert template is not None and template.name == "Glow traffic"
    assert user is not None and user.deleted_at is None and user.language == "en"


async def test_security_headers_on_every_page(dash: Dash) -> None:
    client = await dash.client(dash.mine.user_id)
    for path in ("/app/", "/app/stats", "/app/approvals", "/app/signin/nope",
                 "/app/rules", "/app/rules/new", f"/app/rules/{dash.mine.rule_id}",
                 f"/app/rules/{dash.mine.rule_id}/backtest", "/app/settings", "/app/privacy",
                 "/app/privacy/activity", "/app/privacy/delete", "/app/billing",
                 "/app/launches", f"/app/launches/{dash.mine.launch_id}", "/app/templates/new",
                 f"/app/templates/{dash.mine.template_id}", "/app/static/app.css"):
        resp = await client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        if path.endswith(".css"):
            continue
        body = await resp.text()
        assert "<script>" not in body and " on" + "click=" not in body  # no inline scripts


async def test_idor_matrix_every_route_with_an_id_refuses_another_users(dash: Dash) -> None:
    client = await dash.client(dash.mine.user_id)
    csrf = await csrf_of(client)
    theirs = dash.other
    gets = [
        f"/app/stats?account={theirs.account_id}",
        f"/app/stats?account={theirs.account_id}&level=adgroup&parent={theirs.campaign}",
        f"/app/stats?account={theirs.account_id}&level=ad&parent={theirs.adgroup}",
        f"/app/stats.csv?account={theirs.account_id}",
        f"/app/stats.csv?account={theirs.account_id}&level=ad",
        # My account with their campaign as the parent.
        f"/app/stats?account={dash.mine.account_id}&level=adgroup&parent={theirs.campaign}",
        f"/app/rules/{theirs.rule_id}",
        f"/app/rules/{theirs.rule_id}/preview",
        f"/app/rules/{theirs.rule_id}/backtest?days=7",
        f"/app/manage/amount?account={theirs.account_id}&level=campaign"
        f"&object={theirs.campaign}&kind=budget",
        # My account with their ad group.
        f"/app/manage/amount?account={dash.mine.account_id}&level=adgroup"
        f"&object={theirs.adgroup}&kind=bid",
        f"/app/launches/{theirs.launch_id}",
        f"/app/launches/{theirs.launch_id}/progress.json",
        f"/app/privacy/export/{theirs.export_id}",
        f"/app/templates/{theirs.template_id}",
    ]
    posts = [
        f"/app/approvals/{theirs.action_id}/approve",
        f"/app/approvals/{theirs.action_id}/reject",
        f"/app/manage/{theirs.action_id}/confirm",
        f"/app/manage/{theirs.action_id}/cancel",
        f"/app/manage/{theirs.action_id}/undo",
        f"/app/rules/{theirs.rule_id}/on",
        f"/app/rules/{theirs.rule_id}/off",
        f"/app/launches/{theirs.launch_id}/approve",
        f"/app/launches/{theirs.launch_id}/reject",
    ]
    proposals = [
        {"account": theirs.account_id, "level": "ad", "op": f"pause:{theirs.ad}"},
        {"account": dash.mine.account_id, "level": "ad", "op": f"pause:{theirs.ad}"},
        {"account": theirs.account_id, "level": "campaign", "op": f"enable:{theirs.campaign}"},
        {"account": theirs.account_id, "level": "campaign", "op": f"budget:{theirs.campaign}",
         "amount": "50"},
        {"account": dash.mine.account_id, "level": "adgroup", "op": f"bid:{theirs.adgroup}",
         "amount": "1.5"},
        # A bulk selection with one of theirs among mine: all refused.
        {"account": dash.mine.account_id, "level": "ad", "op": "pause:*",
         "ids": [dash.mine.ad, theirs.ad]},
    ]
    refused = []
    for url in gets:
        refused.append((url, (await client.get(url, allow_redirects=False)).status))
    for url in posts:
        resp = await client.post(url, data={"_csrf": csrf}, allow_redirects=False)
        refused.append((url, resp.status))
    for form in proposals:
        fields = [("_csrf", csrf)] + [
            (k, str(x)) for k, v in form.items() for x in (v if isinstance(v, list) else [v])]
        resp = await client.post("/app/manage/propose", data=fields, allow_redirects=False)
        refused.append((str(form), resp.status))
    # Saving an edit of their rule (its id in the form).
    resp = await client.post("/app/rules/save", allow_redirects=False, data={
        "_csrf": csrf, "rule_id": str(theirs.rule_id), "text": "ad: spend > 1 -> pause"})
    refused.append(("/app/rules/save", resp.status))
    # A launch planned from their template, accounts or creatives (one of theirs among mine).
    for template, account, creative in (
            (theirs.template_id, dash.mine.account_id, dash.mine.creative_id),
            (dash.mine.template_id, theirs.account_id, dash.mine.creative_id),
            (dash.mine.template_id, dash.mine.account_id, theirs.creative_id)):
        resp = await client.post("/app/launches/plan", allow_redirects=False, data={
            "_csrf": csrf, "template": str(template), "accounts": str(account),
            "creatives": str(creative), "enabled": "1"})
        refused.append(("/app/launches/plan", resp.status))
    # Saving an edit of their template (its id in the form).
    resp = await client.post("/app/templates/save", allow_redirects=False, data={
        "_csrf": csrf, "template_id": str(theirs.template_id), "f.name": "Mine now"})
    refused.append(("/app/templates/save", resp.status))
    assert [r for r in refused if r[1] != 404] == []
    # Every route of the dashboard that takes an id (in its path, or `account` in its query) is
    # in the matrix: a new one must be added here.
    covered = {
        re.sub(r"/\d+/", "/{action_id}/",
               re.sub(r"^/app/(rules|launches|privacy/export|templates)/\d+",
                      lambda m: "/app/" + m[1] + "/{" + ID_NAMES[m[1]] + "}",
                      urlsplit(u).path))
        for u in gets + posts} | {"/app/manage/propose", "/app/rules/save", "/app/launches/plan",
                                  "/app/templates/save"}
    routes = dashboard_routes(dash)
    with_ids = {r for r in routes if "{" in r} | ID_QUERY_ROUTES
    assert routes >= ID_QUERY_ROUTES and "/app/manage/{action_id}/undo" in with_ids
    assert with_ids - covered == set()
    # The other user's approval is still waiting: nothing of theirs was decided.
    other = await dash.client(theirs.user_id)
    assert f'data-action="{theirs.action_id}"' in await (await other.get("/app/approvals")).text()


# Routes whose path holds a one-time token or a language code, not an id of anything stored
# (tests/web/test_web_signin.py: another user's Google link offer is refused).
TOKEN_ROUTES = {"/app/google/link/{token}", "/app/lang/{code}"}
# Routes whose ids come in the query string or the form (the rest have them in the path).
ID_QUERY_ROUTES = {"/app/stats", "/app/stats.csv", "/app/manage/propose",
                   "/app/manage/amount", "/app/rules/save", "/app/launches/plan",
                   "/app/templates/save"}
ID_NAMES = {"rules": "rule_id", "launches": "launch_id", "privacy/export": "export_id",
            "templates": "template_id"}


def dashboard_routes(dash: Dash) -> set[str]:
    """Every route path of the dashboard (`{decision}` expanded to approve and reject,
    `{switch}` to on and off), the static files, the sign-in link (a token, not an id:
    test_sign_in_by_link…) and TOKEN_ROUTES left out."""
    out = set()
    for mounted in dash.server.app.router.resources():
        sub = mounted.get_info().get("app")
        for resource in sub.router.resources() if sub is not None else [mounted]:
            path, info = resource.canonical, resource.get_info()
            if "directory" in info or path.startswith("/app/signin/{") or path in TOKEN_ROUTES:
                continue
            choice = re.search(r"\(\?P<(decision|switch)>([a-z|]+)\)",
                               str(info.get("pattern", "")))
            if choice:
                out |= {path.replace("{" + choice[1] + "}", d) for d in choice[2].split("|")}
            else:
                out.add(path)
    return out


async def test_csv_is_the_table_on_screen_exactly(dash: Dash) -> None:
    client = await dash.client(dash.mine.user_id)
    acc = dash.mine.account_id
    page = await (await client.get(f"/app/stats?account={acc}&level=ad&period=7d")).text()
    assert "Ad 0" in page and "Ad 5" in page
    resp = await client.get(f"/app/stats.csv?account={acc}&level=ad&period=7d&q=ad%205")
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Ad 5"]  # the filter typed on the page
    expected = sum((spend_of(5, d) for d in range(7)), Decimal(0))  # the last 7 full days
    assert Decimal(rows[0]["spend"]) == expected and rows[0]["currency"] == "USD"
    assert rows[0]["impressions"] == str(sum(1000 + d for d in range(7)))
    every = await client.get(f"/app/stats.csv?account={acc}&level=ad&period=7d")
    got = list(csv.DictReader(io.StringIO((await every.read()).decode("utf-8-sig"))))
    assert len(got) == 6


async def test_stats_show_the_trackers_revenue_profit_and_roi(dash: Dash) -> None:
    """Once the tracker has numbers for an ad, the table gains its columns (approved
    conversions, revenue, profit against TikTok's spend, ROI) on the page and in the CSV; an ad
    the tracker knows nothing of shows dashes and empty cells, not zeros."""
    client = await dash.client(dash.mine.user_id)
    acc, ad = dash.mine.account_id, dash.mine.ad
    query = f"account={acc}&level=ad&period=7d"
    assert "Revenue" not in await (await client.get(f"/app/stats?{query}")).text()
    async with dash.uow() as u:
        tracker = Tracker(user_id=dash.mine.user_id, kind="keitaro", base_url="http://k.test")
        u.session.add(tracker)
        await u.session.flush()
        u.session.add(TrackerDaily(ad_account_id=acc, level="ad", object_id=ad,
                                   day=(NOW - timedelta(days=1)).date(), tracker_id=tracker.id,
                                   clicks=90, conversions=3, revenue=Decimal("40.5")))
        await u.commit()
    page = await (await client.get(f"/app/stats?{query}")).text()
    assert "Revenue" in page and "Profit" in page and "$40.50" in page
    rows = {r["object_id"]: r for r in csv.DictReader(io.StringIO(
        (await (await client.get(f"/app/stats.csv?{query}")).read()).decode("utf-8-sig")))}
    spend = Decimal(rows[ad]["spend"])
    assert (rows[ad]["tracker_conversions"], Decimal(rows[ad]["tracker_revenue"])) == (
        "3", Decimal("40.5"))
    assert Decimal(rows[ad]["profit"]) == Decimal("40.5") - spend
    assert Decimal(rows[ad]["roi_percent"]) == ((Decimal("40.5") - spend) * 100 / spend
                                                ).quantize(Decimal("0.0001"))
    others = [r for oid, r in rows.items() if oid != ad]
    assert others and all(r["tracker_revenue"] == r["profit"] == "" for r in others)


@pytest.mark.parametrize("lang, words", [
    ("en", ("Not found", "Back to the overview")), ("ru", ("Не найдено", "Назад к обзору"))])
async def test_another_users_object_is_a_page_with_the_way_back(
    dash: Dash, lang: str, words: tuple[str, ...]
) -> None:
    """Another user's ad account, and one that does not exist, get the same 404 page (no hint
    which it was): in the reader's language, with the menu and a link to the overview."""
    await register_user(dash.uow, FixedClock(NOW), SignUp(601, "Ann", None, None, lang, "UTC",
                                                          None, False))
    client = await dash.client(601)
    theirs = await client.get(f"/app/stats?account={dash.other.account_id}&period=7d")
    nobody = await client.get("/app/stats?account=999999&period=7d")
    assert theirs.status == nobody.status == 404
    assert theirs.headers["Content-Type"].startswith("text/html")
    page = await theirs.text()

    def unhinted(text: str) -> str:  # the language links come back to the asked address
        return re.sub(r"next=[^\"]*", "", text)

    assert unhinted(page) == unhinted(await nobody.text())
    assert all(w in page for w in words) and 'href="/app/"' in page and 'id="signout"' in page
    # An address with no page at all: the same page.
    typo = await client.get("/app/statz")
    assert typo.status == 404 and words[1] in await typo.text()


@pytest.mark.parametrize("lang, word", [("ru", "Обзор"), ("en", "Overview")])
async def test_pages_in_the_users_language(dash: Dash, lang: str, word: str) -> None:
    await register_user(dash.uow, FixedClock(NOW), SignUp(600, "Ivan", None, None, lang,
                                                          "Europe/Moscow", None, False))
    client = await dash.client(600)
    assert word in await (await client.get("/app/")).text()


async def test_sign_out_everywhere_ends_every_session(dash: Dash) -> None:
    phone, laptop = await dash.client(dash.mine.user_id), await dash.client(dash.mine.user_id)
    resp = await phone.post("/app/signout/everywhere", data={"_csrf": await csrf_of(phone)},
                            allow_redirects=False)
    assert resp.status == 303
    for client in (phone, laptop):
        assert "Open the dashboard from the bot" in await (await client.get("/app/")).text()


async def test_https_cookie_is_secure_and_samesite_none(dash: Dash) -> None:
    """Behind https the Mini App is a third-party frame in web.telegram.org: the cookie must be
    SameSite=None (so the frame sends it) and therefore Secure."""
    from aiohttp import CookieJar, web
    from aiohttp.test_utils import TestClient, TestServer

    from bot.i18n import make_i18n
    from core import web_auth
    from web.app import mount
    from web.deps import WebDeps

    app = web.Application()
    mount(app, WebDeps(dash.uow, dash.clock, make_i18n(), TOKEN, "https://ttpulse.example"))
    client = TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True))
    await client.start_server()
    try:
        token = await web_auth.issue_link(dash.uow, dash.clock, dash.mine.user_id)
        resp = await client.get(f"/app/signin/{token}", allow_redirects=False)
        cookie = resp.cookies[COOKIE]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "None"
    finally:
        await client.close()


async def test_custom_range_in_the_table_the_csv_and_a_refused_range(dash: Dash) -> None:
    client = await dash.client(dash.mine.user_id)
    acc = dash.mine.account_id
    # Seeded days are NOW-1 … NOW-30 (day index d = NOW-(d+1)); pick the 3 days d = 2, 3, 4.
    start, end = (NOW - timedelta(days=5)).date(), (NOW - timedelta(days=3)).date()
    query = f"account={acc}&level=ad&period=custom&from={start}&to={end}"
    page = await (await client.get(f"/app/stats?{query}")).text()
    assert f'value="{start}"' in page and "range-refused" not in page
    rows = list(csv.DictReader(io.StringIO(
        (await (await client.get(f"/app/stats.csv?{query}&q=ad%201")).read()).decode("utf-8-sig")
    )))
    assert [r["name"] for r in rows] == ["Ad 1"]
    assert Decimal(rows[0]["spend"]) == sum((spend_of(1, d) for d in (2, 3, 4)), Decimal(0))
    # A range ending in the future: said so, and the last 7 days shown instead.
    future = (NOW + timedelta(days=2)).date()
    page = await (await client.get(
        f"/app/stats?account={acc}&period=custom&from={start}&to={future}")).text()
    assert 'id="range-refused"' in page and "it ends in the future" in page


async def test_overview_says_how_each_accounts_sync_stands(dash: Dash) -> None:
    from sqlalchemy import update

    from storage.models import AdAccount, TikTokConnection

    client = await dash.client(dash.mine.user_id)

    async def health() -> str:
        page = await (await client.get("/app/")).text()
        found = re.search(r'data-health="(\w+)"', page)
        assert found is not None
        return found[1]

    assert await health() == "ok"
    async with dash.uow() as u:
        await u.session.execute(update(AdAccount).where(AdAccount.id == dash.mine.account_id)
                                .values(fresh_as_of=NOW - timedelta(hours=4)))
        await u.commit()
    assert await health() == "stale"
    async with dash.uow() as u:
        await u.session.execute(update(TikTokConnection)
                                .where(TikTokConnection.user_id == dash.mine.user_id)
                                .values(status="broken"))
        await u.commit()
    assert await health() == "broken"
