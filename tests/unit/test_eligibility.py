"""Budget and bid actions only where they can happen: the decision (core.eligibility) and the
rules engine, preview and run log that skip the rest with the reason instead of asking."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.i18n import make_i18n
from bot.views.common import skipped_line
from core import manage
from core.clock import FixedClock
from core.eligibility import Blocked, Shape, bid_blocked, budget_blocked
from core.rules import engine
from core.rules.acting import Change, State
from core.rules.model import Action, ActionKind
from core.rules.service import Draft, preview
from core.rules.settings import Frequency, RuleSettings
from core.users import SignUp, register_user
from storage.models import AdAccount, AdObject, MetricDaily, RuleAction, RuleRun, TikTokConnection
from storage.uow import UnitOfWorkFactory
from tests.unit.test_rules_engine import (
    NOW,
    TODAY,
    TZ,
    USER,
    FakeChanger,
    _rows,
    _rule,
    _run_again,
    uow,
)

__all__ = ["uow"]  # the fixture, shared with the engine's tests
DAY, TOTAL, INF = "BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL", "BUDGET_MODE_INFINITE"
CUSTOM, NO_BID = "BID_TYPE_CUSTOM", "BID_TYPE_NO_BID"


@pytest.mark.parametrize(
    ("shape", "budget", "bid"),
    [
        (Shape("campaign", DAY, Decimal(500), None, None, True), None, Blocked.CAMPAIGN_BID),
        (Shape("campaign", TOTAL, Decimal(900), None, None, False), None, Blocked.CAMPAIGN_BID),
        (
            Shape("campaign", INF, Decimal(0), None, None, False),
            Blocked.ADGROUP_BUDGETS,
            Blocked.CAMPAIGN_BID,
        ),
        (
            Shape("adgroup", INF, Decimal(0), CUSTOM, Decimal(2), True),
            Blocked.CAMPAIGN_BUDGET,
            None,
        ),
        (Shape("adgroup", DAY, Decimal(50), NO_BID, None, False), None, Blocked.NO_CUSTOM_BID),
        (Shape("adgroup", TOTAL, Decimal(900), CUSTOM, Decimal(3), False), None, None),
        (
            Shape("adgroup", INF, Decimal(0), NO_BID, None, False),
            Blocked.UNLIMITED,
            Blocked.NO_CUSTOM_BID,
        ),
        (Shape("adgroup", DAY, None, CUSTOM, None, None), Blocked.UNLIMITED, Blocked.NO_CUSTOM_BID),
        (Shape("ad"), Blocked.AD, Blocked.AD),
    ],
)
def test_the_decision(shape: Shape, budget: Blocked | None, bid: Blocked | None) -> None:
    """CBO, ABO without a campaign budget, daily, lifetime, unlimited; custom and lowest cost."""
    assert (budget_blocked(shape), bid_blocked(shape)) == (budget, bid)


async def _structure(uow: UnitOfWorkFactory) -> int:
    """A CBO campaign (c1: g1, g2) and an ABO one without a budget (c2: g3 with a daily budget
    and a custom bid, g4 unlimited on lowest cost); every ad group spent 25 today."""
    await register_user(
        uow, FixedClock(NOW), SignUp(USER, "Ann", None, None, "en", TZ, None, False)
    )
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="me", status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(
            connection_id=conn.id,
            advertiser_id="adv1",
            name="Shop",
            currency="USD",
            time_zone=TZ,
            fresh_as_of=NOW - timedelta(minutes=10),
        )
        u.session.add(acc)
        await u.session.flush()
        common = {"ad_account_id": acc.id, "operation_status": "ENABLE"}
        u.session.add_all(
            [
                AdObject(**common, level="campaign", object_id="c1", name="CBO", campaign_id="c1",
                         budget_mode=DAY, budget=Decimal(500), budget_optimize_on=True),
                AdObject(**common, level="campaign", object_id="c2", name="ABO", campaign_id="c2",
                         budget_mode=INF, budget=Decimal(0), budget_optimize_on=False),
                AdObject(**common, level="adgroup", object_id="g1", name="G1", campaign_id="c1",
                         budget_mode=INF, budget=Decimal(0), bid_type=NO_BID),
                AdObject(**common, level="adgroup", object_id="g2", name="G2", campaign_id="c1",
                         budget_mode=INF, budget=Decimal(0), bid_type=CUSTOM, bid=Decimal(2)),
                AdObject(**common, level="adgroup", object_id="g3", name="G3", campaign_id="c2",
                         budget_mode=DAY, budget=Decimal(50), bid_type=CUSTOM, bid=Decimal(2)),
                AdObject(**common, level="adgroup", object_id="g4", name="G4", campaign_id="c2",
                         budget_mode=INF, budget=Decimal(0), bid_type=NO_BID),
            ]
        )  # fmt: skip
        for oid in ("g1", "g2", "g3", "g4"):
            u.session.add(
                MetricDaily(ad_account_id=acc.id, level="adgroup", object_id=oid, day=TODAY,
                            spend=Decimal(25), impressions=1000, clicks=50, conversions=0,
                            purchase_value=Decimal(0))
            )  # fmt: skip
        await u.commit()
        return acc.id


async def test_a_budget_rule_asks_only_where_a_budget_exists(uow: UnitOfWorkFactory) -> None:
    await _structure(uow)
    text = "adgroup: spend >= 10 in today -> budget +10%"
    found = await preview(uow, FixedClock(NOW), USER, Draft(text, RuleSettings()))
    assert [h.target.object_id for h in found.hits] == ["g3"]
    assert len(found.matched) == 4
    assert found.skipped_counts() == {"campaign_budget": 2, "unlimited": 1}
    await _rule(uow, text)
    changer = FakeChanger()
    await engine.run_due(uow, FixedClock(NOW), changer, "w1")
    rows = await _rows(uow, RuleAction)
    assert [(r.object_id, r.state) for r in rows] == [("g3", "proposed")]
    assert rows[0].trigger["expected"] == {"field": "budget", "from": "50.00", "to": "55.00"}
    [run] = await _rows(uow, RuleRun)
    assert (run.checked, run.matched, run.proposed, run.acted) == (4, 4, 1, 0)
    assert run.skipped == {"campaign_budget": 2, "unlimited": 1}
    assert changer.writes == []  # nothing is tried on the skipped ones either


async def test_a_bid_rule_skips_strategies_without_a_custom_bid(uow: UnitOfWorkFactory) -> None:
    await _structure(uow)
    await _rule(uow, "adgroup: spend >= 10 in today -> bid -10%")
    changer = FakeChanger()
    changer.state = {g: State("ENABLE", None, Decimal(2)) for g in ("g2", "g3")}
    await engine.run_due(uow, FixedClock(NOW), changer, "w1")
    assert sorted(changer.writes) == [(g, Change("bid", Decimal("1.80"))) for g in ("g2", "g3")]
    rows = await _rows(uow, RuleAction)
    # Lowering a bid is not risky: made at once, on the two ad groups with a custom bid.
    assert sorted((r.object_id, r.state) for r in rows) == [("g2", "applied"), ("g3", "applied")]
    [run] = await _rows(uow, RuleRun)
    assert run.skipped == {"no_custom_bid": 2}


async def test_budget_of_campaign_changes_the_campaign_once_for_its_ad_groups(
    uow: UnitOfWorkFactory,
) -> None:
    await _structure(uow)
    text = "adgroup: spend >= 10 in today -> budget of campaign +10%"
    await _rule(uow, text, frequency=Frequency(1, 24))
    changer = FakeChanger()
    await engine.run_due(uow, FixedClock(NOW), changer, "w1")
    [row] = await _rows(uow, RuleAction)
    assert (row.level, row.object_id, row.object_name, row.state) == (
        "campaign",
        "c1",
        "CBO",
        "proposed",
    )
    assert row.trigger["triggers"] == ["G1", "G2"] and row.trigger["trigger_count"] == 2
    assert row.trigger["expected"] == {"field": "budget", "from": "500.00", "to": "550.00"}
    [run] = await _rows(uow, RuleRun)
    # c2 has no budget of its own (its ad groups do): g3 and g4 are skipped, not asked about.
    assert (run.matched, run.proposed) == (4, 1)
    assert run.skipped == {"adgroup_budgets": 2}
    # An hour later the campaign is still within its once-a-day limit.
    await _run_again(uow, changer, NOW + timedelta(hours=1))
    assert len(await _rows(uow, RuleAction)) == 1


def test_the_skipped_line_says_how_many_and_why() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert skipped_line({}) is None and skipped_line(None) is None
        line = skipped_line({"unlimited": 1, "campaign_budget": 2})
    assert line == (
        "⏭ Skipped 3 (cannot take this change): 2 — the budget is set on the campaign "
        "(campaign budget optimisation); 1 — the budget is unlimited"
    )


async def test_a_manual_bulk_budget_change_leaves_out_what_has_no_budget(
    uow: UnitOfWorkFactory,
) -> None:
    account = await _structure(uow)
    changer = FakeChanger()
    found = await manage.propose(
        uow,
        FixedClock(NOW),
        changer,
        USER,
        account,
        "adgroup",
        ["g1", "g3", "g4"],
        Action(ActionKind.BUDGET, "pct", Decimal(10)),
    )
    assert found is not None
    assert [r.object_id for r in found.rows] == ["g3"]
    assert [(s.object_id, s.reason, s.detail) for s in found.skipped] == [
        ("g1", manage.Skip.NOT_APPLICABLE, "campaign_budget"),
        ("g4", manage.Skip.NOT_APPLICABLE, "unlimited"),
    ]
    assert set(changer.state) == {"g3"}  # TikTok is read only for what can change
