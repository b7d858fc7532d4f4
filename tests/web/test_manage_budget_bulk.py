"""Manage from the table, beyond one pause: budget and bid offered only where they exist
(core.eligibility), set through confirm → verified → undo with an audit entry, and a bulk
pause of the ticked rows — the chat's flow (core.manage), on a changer kept in memory."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.rules.acting import Change, State, Target
from storage.models import AdObject, AuditEntry
from tests.web.conftest import Dash, csrf_of


class MemoryTikTok:
    """Objects' values in memory: reads what was written (so read-back verifies)."""

    def __init__(self) -> None:
        self.state: dict[str, State] = {}

    async def read(self, target: Target) -> State:
        return self.state.setdefault(target.object_id, State("ENABLE", Decimal("100"),
                                                             Decimal("1.20")))

    async def write(self, target: Target, change: Change) -> State:
        new = replace(await self.read(target), **{change.field: change.value})
        self.state[target.object_id] = new
        return new


@pytest.fixture
def changer() -> MemoryTikTok:
    return MemoryTikTok()


async def _shape(dash: Dash) -> None:
    """Campaign 0 has a daily budget (no CBO); group 0 a custom bid, group 1 lowest cost."""
    uid = dash.mine.user_id
    async with dash.uow() as u:
        objs = (await u.session.scalars(select(AdObject).where(
            AdObject.ad_account_id == dash.mine.account_id))).all()
        for o in objs:
            if o.object_id == f"c{uid}_0":
                o.budget_mode, o.budget = "BUDGET_MODE_DAY", Decimal(100)
                o.budget_optimize_on = False
            if o.object_id == f"g{uid}_0":
                o.bid_type, o.bid, o.budget_mode = "BID_TYPE_CUSTOM", Decimal("1.20"), None
        await u.commit()


def _links(page: str, kind: str) -> set[str]:
    """The objects whose row offers a `kind` ("budget", "bid") change."""
    return set(re.findall(rf"object=(\w+)&amp;kind={kind}&amp;", page))


async def test_budget_and_bid_only_where_they_exist_then_set_and_undo(
        dash: Dash, changer: MemoryTikTok) -> None:
    await _shape(dash)
    uid, acc = dash.mine.user_id, dash.mine.account_id
    client = await dash.client(uid)
    campaigns = await (await client.get(f"/app/stats?account={acc}")).text()
    assert _links(campaigns, "budget") == {f"c{uid}_0"} and not _links(campaigns, "bid")
    groups = await (await client.get(f"/app/stats?account={acc}&level=adgroup")).text()
    assert _links(groups, "bid") == {f"g{uid}_0"} and not _links(groups, "budget")
    ads = await (await client.get(f"/app/stats?account={acc}&level=ad")).text()
    assert not _links(ads, "budget") and not _links(ads, "bid")
    # Asked for anyway: why not, and no form.
    page = await (await client.get(f"/app/manage/amount?account={acc}&level=adgroup"
                                   f"&object=g{uid}_1&kind=bid")).text()
    assert 'id="blocked"' in page and "no custom bid" in page and "amount-form" not in page

    csrf = await csrf_of(client)
    form = {"_csrf": csrf, "account": str(acc), "level": "campaign", "op": f"budget:c{uid}_0",
            "back": f"/app/stats?account={acc}"}
    resp = await client.post("/app/manage/propose", data={**form, "amount": "lots"},
                             allow_redirects=False)
    assert resp.status == 303 and "bad=1" in resp.headers["Location"]
    resp = await client.post("/app/manage/propose", data={**form, "amount": "150,50"})
    page = await resp.text()
    assert "$100.00" in page and "$150.50" in page and 'id="confirm"' in page
    action = re.search(r"/app/manage/(\d+)/confirm", page)[1]  # type: ignore[index]
    page = await (await client.post(f"/app/manage/{action}/confirm", data={"_csrf": csrf})).text()
    assert 'data-state="applied"' in page and changer.state[f"c{uid}_0"].budget == Decimal("150.50")
    async with dash.uow() as u:
        audit = (await u.session.scalars(select(AuditEntry).where(
            AuditEntry.target_id == f"c{uid}_0"))).all()
    assert audit and audit[-1].actor_id == uid and audit[-1].details["after"]["budget"] == "150.50"
    page = await (await client.post(f"/app/manage/{action}/undo", data={"_csrf": csrf})).text()
    assert 'data-state="undone"' in page and changer.state[f"c{uid}_0"].budget == Decimal(100)


async def test_bulk_pause_of_ticked_rows_and_undo(dash: Dash, changer: MemoryTikTok) -> None:
    uid, acc = dash.mine.user_id, dash.mine.account_id
    client = await dash.client(uid)
    page = await (await client.get(f"/app/stats?account={acc}&level=ad")).text()
    # The rows' checkboxes come from static/stats.js (the browser test ticks them).
    assert page.count("<tr data-id=") == 6 and 'id="pause-selected"' in page
    csrf = await csrf_of(client)
    ticked = [f"a{uid}_1", f"a{uid}_4"]
    changer.state[f"a{uid}_4"] = State("DISABLE")  # already paused on TikTok: left out
    fields = [("_csrf", csrf), ("account", str(acc)), ("level", "ad"), ("op", "pause:*"),
              ("back", f"/app/stats?account={acc}&level=ad"), ("ids", ticked[0]),
              ("ids", ticked[1]), ("ids", f"a{uid}_2")]
    page = await (await client.post("/app/manage/propose", data=fields)).text()
    assert page.count("<li>") == 2 and "already so on TikTok" in page
    action = re.search(r"/app/manage/(\d+)/confirm", page)[1]  # type: ignore[index]
    page = await (await client.post(f"/app/manage/{action}/confirm", data={"_csrf": csrf})).text()
    assert page.count('data-state="applied"') == 2
    assert {changer.state[f"a{uid}_{n}"].status for n in (1, 2)} == {"DISABLE"}
    page = await (await client.post(f"/app/manage/{action}/undo", data={"_csrf": csrf})).text()
    assert page.count('data-state="undone"') == 2
    assert {changer.state[f"a{uid}_{n}"].status for n in (1, 2)} == {"ENABLE"}
    # Nothing ticked: back to the table, nothing proposed.
    resp = await client.post("/app/manage/propose", allow_redirects=False, data=[
        ("_csrf", csrf), ("account", str(acc)), ("level", "ad"), ("op", "pause:*")])
    assert resp.status == 303
